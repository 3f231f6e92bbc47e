package main

// Processes the harness starts, and the CPU time they use.
//
// Every process is started by the harness, recorded, and stopped by its PID
// (SIGTERM, then SIGKILL after a grace period); nothing is found or stopped by
// name. CPU time is utime+stime from /proc/PID/stat of a process and all its
// descendants (Kamailio forks its workers), read at the start and at the end
// of the load, as clock ticks.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start runs argv in dir with its output in logPath.
func start(name, dir, logPath string, argv ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait waits for the process to end by itself, at most d; false on timeout.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop ends the process and every descendant it left: SIGTERM, then SIGKILL
// after grace.
func (p *proc) stop(grace time.Duration) {
	if p == nil || !p.alive() {
		return
	}
	tree := descendants(p.pid())
	p.cmd.Process.Signal(syscall.SIGTERM)
	if !p.wait(grace) {
		p.cmd.Process.Kill()
		p.wait(grace)
	}
	for _, pid := range tree[1:] { // children that outlived their parent
		if syscall.Kill(pid, 0) == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// tail returns the last lines of the process's log.
func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// statFields returns the fields of /proc/PID/stat after the command name.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, errors.New("bad stat")
	}
	return strings.Fields(string(b[i+1:])), nil
}

// descendants returns pid and every process below it.
func descendants(pid int) []int {
	kids := map[int][]int{}
	ents, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, e := range ents {
		p, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil {
			continue
		}
		f, err := statFields(p)
		if err != nil || len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		kids[pp] = append(kids[pp], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}()

// cpuTree is the CPU time (seconds) used so far by pid and its descendants,
// keyed by PID so that processes ending between two readings are noticed.
func cpuTree(pid int) map[int]float64 {
	out := map[int]float64{}
	for _, p := range descendants(pid) {
		f, err := statFields(p)
		if err != nil || len(f) < 13 {
			continue
		}
		// fields after ")": state(0) ppid(1) ... utime(11) stime(12)
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		out[p] = (u + s) / clkTck
	}
	return out
}

// cpuDelta is the CPU time used between two readings by the processes alive
// at the second (a process born in between counts from zero).
func cpuDelta(a, b map[int]float64) float64 {
	var d float64
	for p, v := range b {
		d += v - a[p]
	}
	return d
}

// rusageCPU is the user+system time of an ended process.
func rusageCPU(p *proc) float64 {
	if p.cmd.ProcessState == nil {
		return 0
	}
	return (p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()).Seconds()
}

// hostBusy is the CPU time (seconds, all cores) the whole machine has spent
// busy since boot, from /proc/stat: what the harness's processes did not use
// of it between two readings is other work on the machine (noise).
func hostBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line := strings.SplitN(string(b), "\n", 2)[0]
	f := strings.Fields(line)
	var busy float64
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 7 { // steal, guest: not ours either way
			break
		}
		busy += x
	}
	return busy / clkTck
}

// hostSoftirq is the CPU time (seconds, all cores) spent in softirq since
// boot (the seventh column of the cpu line of /proc/stat): where the kernel
// receives packets, XDP programs included. The kernel samples it at its tick
// like the other columns.
func hostSoftirq() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	if len(f) < 8 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[7], 64) // cpu user nice system idle iowait irq softirq
	return v / clkTck
}

// ksoftirqds returns the PIDs of the ksoftirqd/N kernel threads, which run
// softirq work the kernel defers (their CPU time is softirq time, not other
// programs').
func ksoftirqds() []int {
	var out []int
	ents, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, e := range ents {
		b, err := os.ReadFile(e)
		if err != nil || !strings.HasPrefix(string(b), "ksoftirqd/") {
			continue
		}
		if p, err := strconv.Atoi(filepath.Base(filepath.Dir(e))); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// cpuOf is the CPU time (seconds) used so far by the given processes
// (without their descendants).
func cpuOf(pids []int) float64 {
	var sum float64
	for _, p := range pids {
		f, err := statFields(p)
		if err != nil || len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		sum += (u + s) / clkTck
	}
	return sum
}

// udpDrops sums the receive drops (last column of /proc/net/udp) of the
// sockets bound to the given local ports: datagrams the kernel threw away
// because the socket's receive buffer was full (its reader fell behind).
func udpDrops(ports ...uint16) int64 {
	return udpDropsIn("/proc/net/udp", ports...)
}

// udpDropsIn is udpDrops over the table at path: /proc/PID/net/udp is that
// of the network namespace PID runs in.
func udpDropsIn(path string, ports ...uint16) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	want := map[uint16]bool{}
	for _, p := range ports {
		want[p] = true
	}
	var sum int64
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || !want[uint16(p)] {
			continue
		}
		d, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		sum += d
	}
	return sum
}

package lb

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

// BenchmarkIdleTLSConnMemory opens 500 TLS connections to sipfront from a
// helper process (so only sipfront's side is in this process), lets them go
// idle, and reports sipfront's heap and stack growth per connection
// (bytes/conn). The target from issue 8: under 20 KB (Kamailio documents
// about 65 KB per idle TLS connection with OpenSSL).
func BenchmarkIdleTLSConnMemory(b *testing.B) {
	const n = 500
	uas := newPeer(b, "uas")
	se := startStreamEngine(b, "127.0.0.1", "1 sip:"+uas.addr.String()+"\n", StreamConfig{MaxConnsPerIP: n + 10})
	mem := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	for b.Loop() {
		before := mem()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTLSClients$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("SIPFRONT_TLS_CLIENTS=%s,%d", se.addr["tls"], n))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		ready := make([]byte, 5)
		if _, err := io.ReadFull(stdout, ready); err != nil || string(ready) != "ready" {
			b.Fatalf("helper: %q %v", ready, err)
		}
		time.Sleep(100 * time.Millisecond) // every server goroutine parked in Read
		if got := se.e.streams.connections(); got != n {
			b.Fatalf("%d connections open, want %d", got, n)
		}
		after := mem()
		b.ReportMetric(float64(after-before)/n, "bytes/conn")
		stdin.Close()
		cmd.Wait()
	}
}

// TestHelperTLSClients is the client side of BenchmarkIdleTLSConnMemory,
// run in its own process; a plain test run skips it.
func TestHelperTLSClients(t *testing.T) {
	spec := os.Getenv("SIPFRONT_TLS_CLIENTS")
	if spec == "" {
		t.Skip("helper process for BenchmarkIdleTLSConnMemory")
	}
	addr, count, _ := strings.Cut(spec, ",")
	n, _ := strconv.Atoi(count)
	to := netip.MustParseAddrPort(addr)
	var conns []net.Conn
	for i := 0; i < n; i++ {
		nc := dialTCP(t, "127.0.0.2", to)
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, tc)
	}
	os.Stdout.WriteString("ready")
	io.Copy(io.Discard, os.Stdin) // until the benchmark closes stdin
	for _, c := range conns {
		c.Close()
	}
}

// benchCalls places calls through sipfront over tr (udp, tcp or tls): the
// phone and the back end are in this process, sipfront runs in a helper
// process of its own (this test binary, TestHelperEngine), and its CPU time
// (every thread's, from /proc/PID/task/*/schedstat, in nanoseconds) is
// reported per call: INVITE, 100, 180, 200, ACK, BYE, 200 over the phone's
// transport, UDP to the back end.
func benchCalls(b *testing.B, tr string) {
	uas := newPeer(b, "uas")
	uas.serveUAS()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEngine$")
	cmd.Env = append(os.Environ(), "SIPFRONT_HELPER_ENGINE="+uas.addr.String())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	var line [256]byte
	n, err := stdout.Read(line[:])
	if err != nil {
		b.Fatal(err)
	}
	addrs := map[string]netip.AddrPort{}
	for _, f := range strings.Fields(string(line[:n])) {
		k, v, _ := strings.Cut(f, "=")
		addrs[k] = netip.MustParseAddrPort(v)
	}
	token := strings.ToUpper(tr)
	// Callers in parallel, each with its own socket or connection, so the
	// engine sees a load (batches, several connections) and not one
	// message at a time.
	const callers = 16
	type caller struct {
		send   func(string)
		expect func(string, func(rx) bool) rx
		from   netip.AddrPort
	}
	cs := make([]caller, callers)
	for c := range cs {
		switch tr {
		case "udp":
			p := newPhone(b, "phone")
			cs[c] = caller{func(m string) { p.send(addrs["udp"], m) }, p.expect, p.addr}
		case "tcp", "tls":
			nc := dialTCP(b, "127.0.0.2", addrs[tr])
			if tr == "tls" {
				tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
				if err := tc.Handshake(); err != nil {
					b.Fatal(err)
				}
				nc = tc
			}
			p := newStreamPeer(b, nc)
			cs[c] = caller{p.send, p.expect, p.addr}
		}
	}
	call := func(c caller, id string) {
		callID := "bench-" + tr + "-" + id
		c.send(invite(token, c.from, callID, ""))
		ok := c.expect("200", isStatus(200))
		routes := reversed(rrValues(ok))
		contact := "sip:uas@" + uas.addr.String()
		c.send(inDialog("ACK", token, c.from, contact, callID, 1, routes))
		c.send(inDialog("BYE", token, c.from, contact, callID, 2, routes))
		c.expect("200 to BYE", func(r rx) bool { return isStatus(200)(r) && strings.Contains(r.header(parser.KindCSeq), "BYE") })
	}
	for c := range cs {
		call(cs[c], fmt.Sprint("warm-", c)) // connections and caches warm
	}
	cpu0 := processCPU(b, cmd.Process.Pid)
	calls := 0
	for b.Loop() {
		var wg sync.WaitGroup
		for c := range cs {
			wg.Add(1)
			go func() { defer wg.Done(); call(cs[c], fmt.Sprint(calls, "-", c)) }()
		}
		wg.Wait()
		calls += callers
	}
	cpu := processCPU(b, cmd.Process.Pid) - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(calls), "sipfront-cpu-µs/call")
}

// processCPU sums the CPU time of every thread of a process.
func processCPU(tb testing.TB, pid int) time.Duration {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		tb.Fatalf("no threads of %d: %v", pid, err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that just ended
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}

// TestHelperEngine runs sipfront (UDP, TCP and TLS listeners on 127.0.0.1)
// for benchCalls in a process of its own; a plain test run skips it.
func TestHelperEngine(t *testing.T) {
	backend := os.Getenv("SIPFRONT_HELPER_ENGINE")
	if backend == "" {
		t.Skip("helper process for the call benchmarks")
	}
	se := startStreamEngine(t, "127.0.0.1", "1 sip:"+backend+"\n", StreamConfig{})
	fmt.Printf("udp=%s tcp=%s tls=%s\n", se.addr["udp"], se.addr["tcp"], se.addr["tls"])
	io.Copy(io.Discard, os.Stdin)
}

func BenchmarkCallUDP(b *testing.B) { benchCalls(b, "udp") }
func BenchmarkCallTCP(b *testing.B) { benchCalls(b, "tcp") }
func BenchmarkCallTLS(b *testing.B) { benchCalls(b, "tls") }

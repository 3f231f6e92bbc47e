package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// msgsPerCall is what one call costs the subject: INVITE, 100, 180, 200, ACK,
// BYE and 200, each received and sent once.
const msgsPerCall = 7

// sweepRow is one point of the sweep.
type sweepRow struct {
	Subject, Load            string
	Rate, Rep                int
	DurationS                float64
	Attempted, Completed     int64
	FailedPct                float64
	OfferedCPS, CompletedCPS float64
	SubjectCPU               float64 // s, subject tree, load start to end
	UsPerCall                float64
	MsgsPerCoreS             float64 // messages forwarded per CPU-second
	SubjectCPUPct            float64 // % of one core over the load
	LoadCPU, UASCPU          float64 // s
	OtherCPUPct              float64 // % of one core used by other work on the host meanwhile
	SubjectDrops, UASDrops   int64   // datagrams dropped on the listen sockets (receive buffer full)
	Tries                    int     // runs of this point (more when the host was busy with other work)
	P50, P90, P99, P999      float64 // ms, INVITE → 200
	ByeP99                   float64 // ms
	Retrans                  int64
}

// env of one run: ports and files.
type runEnv struct {
	dir      string
	listen   netip.AddrPort
	backends []netip.AddrPort
	list     string
}

func newRunEnv(c *config, name string, nBackends int) (*runEnv, error) {
	e := &runEnv{}
	var err error
	if e.dir, err = os.MkdirTemp(c.work, name+"-"); err != nil {
		return nil, err
	}
	if e.listen, err = freePort(); err != nil {
		return nil, err
	}
	var list strings.Builder
	list.WriteString("# written by bench/harness: set 1, sipbench uas back ends\n")
	for i := 0; i < nBackends; i++ {
		b, err := freePort()
		if err != nil {
			return nil, err
		}
		e.backends = append(e.backends, b)
		fmt.Fprintf(&list, "1 sip:%s 0 0 duid=uas%d\n", b, i)
	}
	e.list = filepath.Join(e.dir, "dispatcher.list")
	return e, os.WriteFile(e.list, []byte(list.String()), 0o644)
}

// pin prefixes argv with taskset when cpu >= 0.
func pin(cpu int, argv ...string) []string {
	if cpu < 0 {
		return argv
	}
	return append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
}

// startUAS starts one sipbench uas process serving every back end.
func startUAS(c *config, e *runEnv, cpu int) (*proc, error) {
	argv := []string{filepath.Join(c.bin, "sipbench"), "uas", "-json", filepath.Join(e.dir, "uas.json")}
	for _, b := range e.backends {
		argv = append(argv, "-listen", b.String())
	}
	p, err := start("uas", e.dir, filepath.Join(e.dir, "uas.log"), pin(cpu, argv...)...)
	if err != nil {
		return nil, err
	}
	for _, b := range e.backends {
		if err := probe(b, 10*time.Second); err != nil {
			p.stop(2 * time.Second)
			return nil, fmt.Errorf("uas: %w\n%s", err, p.tail(10))
		}
	}
	return p, nil
}

// startSubject starts a subject on e.listen forwarding to e.backends, with
// workers worker threads/processes (0: its default), and waits until it
// forwards.
func startSubject(c *config, e *runEnv, subject string, workers, cpu int) (*proc, error) {
	var argv []string
	switch subject {
	case "sipfront":
		argv = []string{filepath.Join(c.bin, "sipfront"), "-listen", "udp:" + e.listen.String(), "-dispatcher-list", e.list,
			"-cookie-key", "bench", "-log-level", "warn", "-rpc", "off"}
		if workers > 0 {
			argv = append(argv, "-workers", strconv.Itoa(workers))
		}
	case "relay":
		if workers == 0 {
			workers = 2
		}
		argv = []string{filepath.Join(c.bin, "sipbench"), "relay", "-listen", e.listen.String(), "-dispatcher-list", e.list,
			"-workers", strconv.Itoa(workers)}
	case "kamailio":
		if workers == 0 {
			workers = c.children
		}
		argv = []string{"kamailio", "-DD", "-E", "-f", filepath.Join(c.bench, "kamailio", "stateless.cfg"),
			"-A", "LISTEN_SOCK=udp:" + e.listen.String(), "-A", `DS_LIST="` + e.list + `"`,
			"-A", "CHILDREN=" + strconv.Itoa(workers), "-A", "DS_PING_INTERVAL=" + strconv.Itoa(c.dsPing),
			"-Y", e.dir, "-P", filepath.Join(e.dir, "kamailio.pid"), "-m", "512", "-M", "16"}
	default:
		return nil, fmt.Errorf("unknown subject %q", subject)
	}
	p, err := start(subject, e.dir, filepath.Join(e.dir, subject+".log"), pin(cpu, argv...)...)
	if err != nil {
		return nil, err
	}
	if err := probe(e.listen, 20*time.Second); err != nil {
		p.stop(3 * time.Second)
		return nil, fmt.Errorf("%s: %w\n%s", subject, err, p.tail(20))
	}
	time.Sleep(time.Second) // settle: probes, first reload, caches
	if !p.alive() {
		return nil, fmt.Errorf("%s exited:\n%s", subject, p.tail(20))
	}
	return p, nil
}

// uacSummary is the part of sipbench uac's JSON the harness reads.
type uacSummary struct {
	Attempted     int64              `json:"attempted"`
	OK            int64              `json:"ok"`
	FailedPct     float64            `json:"failed_pct"`
	OfferedRate   float64            `json:"offered_rate"`
	CompletedRate float64            `json:"completed_rate"`
	SendingS      float64            `json:"sending_s"`
	Retrans       map[string]int64   `json:"retransmissions"`
	Messages      map[string]int64   `json:"messages"`
	Failures      map[string]int64   `json:"failures"`
	Latency       map[string]latency `json:"latency"`
}

type latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p999_us"`
}

// runUAC runs sipbench uac to the end and reads its summary.
func runUAC(c *config, dir string, target netip.AddrPort, cpu int, args ...string) (*uacSummary, float64, error) {
	p, out, err := startUAC(c, dir, "uac", pin(cpu), target, args...)
	if err != nil {
		return nil, 0, err
	}
	return waitUAC(p, out)
}

// startUAC starts sipbench uac with its log and JSON summary in dir (named
// after name), its command line prefixed by wrap (taskset, ip netns exec;
// nil for none).
func startUAC(c *config, dir, name string, wrap []string, target netip.AddrPort, args ...string) (*proc, string, error) {
	out := filepath.Join(dir, name+".json")
	argv := append([]string{filepath.Join(c.bin, "sipbench"), "uac", "-target", target.String(), "-json", out, "-progress", "off"}, args...)
	p, err := start(name, dir, filepath.Join(dir, name+".log"), append(append([]string(nil), wrap...), argv...)...)
	return p, out, err
}

// waitUAC waits for a uac started by startUAC to end by itself and reads its
// summary and CPU time.
func waitUAC(p *proc, out string) (*uacSummary, float64, error) {
	if !p.wait(10 * time.Minute) { // the uac bounds itself; this is a backstop
		p.stop(2 * time.Second)
		return nil, 0, fmt.Errorf("sipbench uac did not end")
	}
	if p.err != nil {
		return nil, 0, fmt.Errorf("sipbench uac: %v\n%s", p.err, p.tail(10))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, 0, err
	}
	var s uacSummary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, 0, err
	}
	return &s, rusageCPU(p), nil
}

// sippResult is what a SIPp UAC run gives.
type sippResult struct {
	created, ok, failed, retrans int64
	elapsed                      float64   // s, SIPp's start to its last statistics line
	rtt1, rtt2                   []float64 // ms
}

// runSIPp runs c.sippUACs SIPp UACs (bench/sipp/uac.xml), each with its own
// socket and an equal share of the rate and calls, to the end.
func runSIPp(c *config, dir string, target netip.AddrPort, rate int, calls int64) (*sippResult, float64, error) {
	n := max(1, c.sippUACs)
	holdMs := int(c.hold / time.Millisecond)
	hard := int(c.duration/time.Second) + holdMs/1000 + 40
	var procs []*proc
	var dirs []string
	for k := 0; k < n; k++ {
		port, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		share := calls / int64(n)
		if int64(k) < calls%int64(n) {
			share++
		}
		r := float64(rate) / float64(n)
		limit := int(r)*(holdMs+2000)/1000 + 1000
		d := filepath.Join(dir, fmt.Sprintf("sipp%d", k))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, 0, err
		}
		argv := []string{"sipp", "-sf", filepath.Join(c.bench, "sipp", "uac.xml"), "-i", "127.0.0.1", "-p", strconv.Itoa(int(port.Port())),
			"-s", "1000", "-r", strconv.FormatFloat(r, 'f', 3, 64), "-rp", "1000", "-m", strconv.FormatInt(share, 10), "-d", strconv.Itoa(holdMs),
			"-l", strconv.Itoa(limit), "-recv_timeout", "8000", "-timeout", strconv.Itoa(hard), "-nostdin", "-buff_size", "4194304",
			"-trace_stat", "-stf", "stat.csv", "-fd", "1", "-trace_rtt", "-rtt_freq", "1000", "-trace_err", target.String()}
		p, err := start("sipp", d, filepath.Join(d, "sipp.log"), argv...)
		if err != nil {
			for _, q := range procs {
				q.stop(3 * time.Second)
			}
			return nil, 0, err
		}
		procs, dirs = append(procs, p), append(dirs, d)
	}
	total := &sippResult{}
	var cpu float64
	for k, p := range procs {
		if !p.wait(time.Duration(hard+20) * time.Second) {
			p.stop(3 * time.Second)
		}
		r := &sippResult{}
		if err := readSIPpStat(filepath.Join(dirs[k], "stat.csv"), r); err != nil {
			return nil, 0, fmt.Errorf("sipp: %v\n%s", err, p.tail(10))
		}
		total.created += r.created
		total.ok += r.ok
		total.failed += r.failed
		total.retrans += r.retrans
		total.elapsed = max(total.elapsed, r.elapsed)
		rtts, _ := filepath.Glob(filepath.Join(dirs[k], "*_rtt.csv"))
		for _, f := range rtts {
			readSIPpRTT(f, total)
		}
		cpu += rusageCPU(p)
	}
	return total, cpu, nil
}

// readSIPpStat takes the cumulative counters of the last line of SIPp's
// statistics file.
func readSIPpStat(path string, r *sippResult) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return fmt.Errorf("%s: no statistics", path)
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	get := func(name string) int64 {
		for i, h := range head {
			if h == name && i < len(last) {
				v, _ := strconv.ParseInt(last[i], 10, 64)
				return v
			}
		}
		return 0
	}
	r.created = get("TotalCallCreated")
	r.ok = get("SuccessfulCall(C)")
	r.failed = get("FailedCall(C)")
	r.retrans = get("Retransmissions(C)")
	// StartTime and CurrentTime are "date<TAB>time<TAB>epoch.micro"
	epoch := func(name string) float64 {
		for i, h := range head {
			if h == name && i < len(last) {
				f := strings.Split(last[i], "\t")
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				return v
			}
		}
		return 0
	}
	if s, e := epoch("StartTime"), epoch("CurrentTime"); s > 0 && e > s {
		r.elapsed = e - s
	}
	return nil
}

// readSIPpRTT reads "Date_ms;response_time_ms;rtd_no" lines.
func readSIPpRTT(path string, r *sippResult) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ";")
		if len(parts) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(parts[1], 64)
		if err != nil {
			continue
		}
		switch strings.TrimSpace(parts[2]) {
		case "1":
			r.rtt1 = append(r.rtt1, v)
		case "2":
			r.rtt2 = append(r.rtt2, v)
		}
	}
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	i := int(math.Ceil(q*float64(len(v)))) - 1
	return v[max(0, min(i, len(v)-1))]
}

// sweepPoint runs one subject under one load at one rate.
func sweepPoint(c *config, subject, load string, rate, rep int) (*sweepRow, error) {
	e, err := newRunEnv(c, fmt.Sprintf("%s-%s-%d", subject, load, rate), 2)
	if err != nil {
		return nil, err
	}
	uas, err := startUAS(c, e, -1)
	if err != nil {
		return nil, err
	}
	defer uas.stop(3 * time.Second)
	subj, err := startSubject(c, e, subject, 0, -1)
	if err != nil {
		return nil, err
	}
	defer subj.stop(5 * time.Second)

	row := &sweepRow{Subject: subject, Load: load, Rate: rate, Rep: rep, DurationS: c.duration.Seconds(), Tries: 1}
	calls := int64(float64(rate) * c.duration.Seconds())
	s0, u0, t0, h0 := cpuTree(subj.pid()), cpuTree(uas.pid()), time.Now(), hostBusy()
	var bports []uint16
	for _, b := range e.backends {
		bports = append(bports, b.Port())
	}
	sd0, ud0 := udpDrops(e.listen.Port()), udpDrops(bports...)
	switch load {
	case "sipbench":
		s, cpu, err := runUAC(c, e.dir, e.listen, -1, "-rate", strconv.Itoa(rate), "-count", strconv.FormatInt(calls, 10),
			"-duration", (c.duration + time.Second).String(), "-hold", c.hold.String(), "-workers", "2", "-drain", "8s")
		if err != nil {
			return nil, err
		}
		row.Attempted, row.Completed, row.LoadCPU = s.Attempted, s.OK, cpu
		row.OfferedCPS, row.CompletedCPS = s.OfferedRate, s.CompletedRate
		if l, ok := s.Latency["invite"]; ok {
			row.P50, row.P90, row.P99, row.P999 = l.P50/1000, l.P90/1000, l.P99/1000, l.P999/1000
		}
		if l, ok := s.Latency["bye"]; ok {
			row.ByeP99 = l.P99 / 1000
		}
		row.Retrans = s.Retrans["invite"] + s.Retrans["non_invite"]
	case "sipp":
		r, cpu, err := runSIPp(c, e.dir, e.listen, rate, calls)
		if err != nil {
			return nil, err
		}
		row.Attempted, row.Completed, row.LoadCPU, row.Retrans = calls, r.ok, cpu, r.retrans
		// SIPp's sending time: its run minus the last calls' hold (a SIPp
		// that falls behind its rate shows a lower offered rate)
		sending := c.duration.Seconds()
		if r.elapsed > 0 {
			sending = max(sending, r.elapsed-c.hold.Seconds())
		}
		row.OfferedCPS = float64(r.created) / sending
		row.CompletedCPS = float64(r.ok) / sending
		row.P50, row.P90, row.P99, row.P999 = quantile(r.rtt1, .5), quantile(r.rtt1, .9), quantile(r.rtt1, .99), quantile(r.rtt1, .999)
		row.ByeP99 = quantile(r.rtt2, .99)
	}
	wall := time.Since(t0).Seconds()
	row.SubjectCPU = cpuDelta(s0, cpuTree(subj.pid()))
	row.UASCPU = cpuDelta(u0, cpuTree(uas.pid()))
	row.SubjectDrops, row.UASDrops = udpDrops(e.listen.Port())-sd0, udpDrops(bports...)-ud0
	if row.Attempted > 0 {
		row.FailedPct = 100 * float64(row.Attempted-row.Completed) / float64(row.Attempted)
	}
	if row.Completed > 0 {
		row.UsPerCall = row.SubjectCPU * 1e6 / float64(row.Completed)
	}
	if row.SubjectCPU > 0 {
		row.MsgsPerCoreS = msgsPerCall * float64(row.Completed) / row.SubjectCPU
	}
	row.SubjectCPUPct = 100 * row.SubjectCPU / wall
	row.OtherCPUPct = max(0, 100*(hostBusy()-h0-row.SubjectCPU-row.UASCPU-row.LoadCPU)/wall)
	if !subj.alive() {
		return row, fmt.Errorf("%s died during the load:\n%s", subject, subj.tail(20))
	}
	return row, nil
}

// sweep interleaves subjects and loads over the rates.
func sweep(c *config) error {
	path := filepath.Join(c.out, "sweep.csv")
	var rows []*sweepRow
	dropped := map[string]bool{}
	retries := 0
	for _, rate := range c.rates {
		for rep := 1; rep <= c.repeats; rep++ {
			for _, load := range c.loads {
				for _, subject := range c.subjects {
					key := subject + "/" + load
					if dropped[key] {
						continue
					}
					row, err := sweepPoint(c, subject, load, rate, rep)
					if err != nil {
						return fmt.Errorf("%s at %d/s: %w", key, rate, err)
					}
					// other programs busy on the host skew a point: run it
					// again (a bounded number of times in the whole sweep)
					// and keep the quieter of the runs
					for row.OtherCPUPct > c.noiseMax && retries < c.noiseRetries {
						retries++
						logf("%s at %d/s: other work took %.0f%% of a core, running the point again", key, rate, row.OtherCPUPct)
						again, err := sweepPoint(c, subject, load, rate, rep)
						if err != nil {
							return fmt.Errorf("%s at %d/s: %w", key, rate, err)
						}
						again.Tries = row.Tries + 1
						if again.OtherCPUPct < row.OtherCPUPct {
							row = again
						} else {
							row.Tries = again.Tries
						}
					}
					logf("%-8s %-8s %6d/s: completed %6.0f/s, failed %6.2f%%, %6.1f µs/call, %7.0f msgs/s/core, cpu %5.1f%%, p50 %.2f p99 %.2f ms, drops %d, other work %3.0f%%",
						subject, load, rate, row.CompletedCPS, row.FailedPct, row.UsPerCall, row.MsgsPerCoreS, row.SubjectCPUPct, row.P50, row.P99, row.SubjectDrops, row.OtherCPUPct)
					rows = append(rows, row)
					if row.FailedPct >= c.failStop {
						logf("%s: %.1f%% failed at %d/s, not tried at higher rates", key, row.FailedPct, rate)
						dropped[key] = true
					}
					if err := writeSweep(path, rows); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// rawRow is one point of the raw forwarding benchmark.
type rawRow struct {
	Subject       string
	Rate          int // OPTIONS transactions/s offered
	Completed     int64
	FailedPct     float64
	SubjectCPU    float64
	SubjectCPUPct float64
	Forwarded     int64   // messages through the subject (request + answer)
	MsgsPerCoreS  float64 // forwarded per CPU-second
}

// rawForwarding measures messages per CPU-second through sipfront and the
// relay, each with one worker pinned to CPU 1, the load pinned to CPU 0.
func rawForwarding(c *config) error {
	var rows []*rawRow
	for _, rate := range c.rawRates {
		for _, subject := range []string{"sipfront", "relay"} {
			e, err := newRunEnv(c, "raw-"+subject, 1)
			if err != nil {
				return err
			}
			row, err := func() (*rawRow, error) {
				uas, err := startUAS(c, e, 0)
				if err != nil {
					return nil, err
				}
				defer uas.stop(3 * time.Second)
				subj, err := startSubject(c, e, subject, 1, 1)
				if err != nil {
					return nil, err
				}
				defer subj.stop(5 * time.Second)
				calls := int64(float64(rate) * c.rawDur.Seconds())
				s0, t0 := cpuTree(subj.pid()), time.Now()
				s, _, err := runUAC(c, e.dir, e.listen, 0, "-flows", "options=1", "-rate", strconv.Itoa(rate),
					"-count", strconv.FormatInt(calls, 10), "-duration", (c.rawDur + time.Second).String(), "-drain", "3s", "-hold", "0s")
				if err != nil {
					return nil, err
				}
				cpu := cpuDelta(s0, cpuTree(subj.pid()))
				r := &rawRow{Subject: subject, Rate: rate, Completed: s.OK, FailedPct: s.FailedPct, SubjectCPU: cpu,
					SubjectCPUPct: 100 * cpu / time.Since(t0).Seconds(), Forwarded: 2 * s.OK}
				if cpu > 0 {
					r.MsgsPerCoreS = float64(r.Forwarded) / cpu
				}
				return r, nil
			}()
			if err != nil {
				return fmt.Errorf("%s at %d/s: %w", subject, rate, err)
			}
			logf("raw %-8s %6d/s: %7d forwarded, failed %5.2f%%, cpu %5.1f%%, %8.0f msgs/s/core", subject, rate, row.Forwarded, row.FailedPct, row.SubjectCPUPct, row.MsgsPerCoreS)
			rows = append(rows, row)
		}
	}
	return writeRaw(filepath.Join(c.out, "raw.csv"), rows)
}

// ceilRow is one point of sipbench's own ceiling.
type ceilRow struct {
	Rate         int
	Completed    int64
	FailedPct    float64
	CompletedCPS float64
	UACCPU       float64 // s
	UASCPU       float64
	UACMsgsCoreS float64 // messages sent + received per CPU-second
	UASMsgsCoreS float64
	UACCPUPct    float64
	UASCPUPct    float64
}

// ceiling runs sipbench uac (CPU 0) straight against sipbench uas (CPU 1).
func ceiling(c *config) error {
	var rows []*ceilRow
	for _, rate := range c.ceilRates {
		e, err := newRunEnv(c, "ceiling", 1)
		if err != nil {
			return err
		}
		row, err := func() (*ceilRow, error) {
			uas, err := startUAS(c, e, 1)
			if err != nil {
				return nil, err
			}
			defer uas.stop(3 * time.Second)
			calls := int64(float64(rate) * c.ceilDur.Seconds())
			u0, t0 := cpuTree(uas.pid()), time.Now()
			s, cpu, err := runUAC(c, e.dir, e.backends[0], 0, "-rate", strconv.Itoa(rate), "-count", strconv.FormatInt(calls, 10),
				"-duration", (c.ceilDur + time.Second).String(), "-hold", c.hold.String(), "-drain", "5s")
			if err != nil {
				return nil, err
			}
			wall := time.Since(t0).Seconds()
			ucpu := cpuDelta(u0, cpuTree(uas.pid()))
			msgs := float64(s.Messages["sent"] + s.Messages["received"])
			r := &ceilRow{Rate: rate, Completed: s.OK, FailedPct: s.FailedPct, CompletedCPS: s.CompletedRate, UACCPU: cpu, UASCPU: ucpu,
				UACCPUPct: 100 * cpu / wall, UASCPUPct: 100 * ucpu / wall}
			if cpu > 0 {
				r.UACMsgsCoreS = msgs / cpu
			}
			if ucpu > 0 {
				r.UASMsgsCoreS = msgs / ucpu
			}
			return r, nil
		}()
		if err != nil {
			return fmt.Errorf("ceiling at %d/s: %w", rate, err)
		}
		logf("ceiling %6d/s: completed %7.0f/s, failed %5.2f%%, uac cpu %5.1f%% (%8.0f msgs/s/core), uas cpu %5.1f%% (%8.0f msgs/s/core)",
			rate, row.CompletedCPS, row.FailedPct, row.UACCPUPct, row.UACMsgsCoreS, row.UASCPUPct, row.UASMsgsCoreS)
		rows = append(rows, row)
	}
	return writeCeiling(filepath.Join(c.out, "ceiling.csv"), rows)
}

// parserRow is one benchmark line of bench/parsercmp.
type parserRow struct {
	Message, Parser string
	NsOp            float64
	BOp, AllocsOp   int64
}

var benchLine = regexp.MustCompile(`^BenchmarkParse/(\w+)/(\S+?)-\d+\s+\d+\s+([\d.]+) ns/op\s+[\d.]+ MB/s\s+(\d+) B/op\s+(\d+) allocs/op`)

// parserCmp runs the parser comparison in this module.
func parserCmp(c *config) error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", env("PARSER_BENCHTIME", "1s"), "-count", "1", "./parsercmp")
	cmd.Dir = c.bench
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test ./parsercmp: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(c.out, "parser.txt"), out, 0o644)
	var rows []*parserRow
	for _, line := range strings.Split(string(out), "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		bop, _ := strconv.ParseInt(m[4], 10, 64)
		al, _ := strconv.ParseInt(m[5], 10, 64)
		rows = append(rows, &parserRow{Message: m[1], Parser: m[2], NsOp: ns, BOp: bop, AllocsOp: al})
	}
	if len(rows) == 0 {
		return fmt.Errorf("no benchmark lines in:\n%s", out)
	}
	for _, r := range rows {
		logf("parser %-9s %-15s %9.1f ns/op %6d B/op %4d allocs/op", r.Message, r.Parser, r.NsOp, r.BOp, r.AllocsOp)
	}
	return writeParser(filepath.Join(c.out, "parser.csv"), rows)
}

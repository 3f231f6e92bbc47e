// Command harness is sipfront's system benchmark (bench/run starts it; `make
// bench` runs it after the micro-benchmarks). On loopback, bounded in calls
// and time, it measures:
//
//  1. The sweep: sipfront, Kamailio (stateless dispatcher) and a relay that
//     does not parse SIP, interleaved over the same call rates in one run, with
//     sipbench and SIPp as load and sipbench uas as the back ends: calls offered
//     and completed, failures, CPU-µs per call of the subject's process tree,
//     messages per second per core, INVITE→200 latency percentiles.
//  2. Raw forwarding without call state (OPTIONS → 200): messages per second
//     per core through sipfront and through the relay, each on one pinned core
//     with one worker, and their ratio.
//  3. sipbench's own ceiling: uac and uas on a core each, no proxy between.
//  4. The parser against sipgo's (bench/parsercmp).
//  5. The flood filter (flood.go): the XDP program against the same policy in
//     sipfront's worker under one flood, across a veth pair between two
//     network namespaces made for it (root only): datagrams dropped per
//     CPU-second of the receiving side, and the success of real calls
//     during the flood.
//  6. Transports (transports.go): lb's Go benchmarks of sipfront's CPU per
//     call over UDP, TCP and TLS, and its memory per idle TLS connection.
//
// Results go to bench/results/*.csv, bench/results/*.png and bench/RESULTS.md.
// Knobs are flags and environment variables (RATES, DURATION, ...); see -h.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type config struct {
	repo, bench, out, work string
	bin                    string // built sipfront and sipbench

	rates    []int
	duration time.Duration
	hold     time.Duration
	repeats  int
	subjects []string
	loads    []string
	failStop float64
	children int
	sippUACs int

	noiseMax     float64
	noiseRetries int
	dsPing       int
	rawRates     []int
	rawDur       time.Duration
	ceilRates    []int
	ceilDur      time.Duration
	parser       bool
	raw          bool
	ceiling      bool
	install      bool
	command      string
	sweep        bool

	flood          bool
	floodRates     []int
	floodLiveRates []int
	floodMethods   []string
	floodDur       time.Duration
	floodLead      time.Duration
	floodBase      time.Duration
	floodCallRate  int
	floodSenders   int
	floodLiveThr   int
	floodSources   int
	floodRepeats   int
	floodProgStats bool

	transports     bool
	transportTime  string
	transportCount int
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: want positive integers", s)
		}
		out = append(out, v)
	}
	return out, nil
}

func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func main() {
	os.Exit(run())
}

func run() int {
	var c config
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	rates := fs.String("rates", env("RATES", "1000,2500,5000,7500,10000,15000"), "call rates of the sweep (env RATES)")
	fs.DurationVar(&c.duration, "duration", mustDur(env("DURATION", "5s")), "load time of each sweep point (env DURATION)")
	fs.DurationVar(&c.hold, "hold", mustDur(env("HOLD", "200ms")), "call hold time (env HOLD)")
	fs.IntVar(&c.repeats, "repeats", mustInt(env("REPEATS", "1")), "runs per point (env REPEATS)")
	subjects := fs.String("subjects", env("SUBJECTS", "sipfront,kamailio,relay"), "subjects (env SUBJECTS)")
	loads := fs.String("loads", env("LOADS", "sipbench,sipp"), "load generators (env LOADS)")
	fs.Float64Var(&c.failStop, "fail-stop", 5, "drop a subject/load pair from higher rates once its failures reach this %")
	fs.IntVar(&c.sippUACs, "sipp-uacs", mustInt(env("SIPP_UACS", "2")), "SIPp UAC processes (sockets) sharing the load, as sipbench uac runs 2 workers (env SIPP_UACS)")
	fs.Float64Var(&c.noiseMax, "noise-max", mustFloat(env("NOISE_MAX", "60")), "run a sweep point again when other programs used more than this % of a core during it (env NOISE_MAX)")
	fs.IntVar(&c.noiseRetries, "noise-retries", mustInt(env("NOISE_RETRIES", "12")), "such reruns in the whole sweep at most (env NOISE_RETRIES)")
	fs.IntVar(&c.children, "kamailio-children", mustInt(env("CHILDREN", "2")), "Kamailio UDP worker processes (env CHILDREN)")
	fs.IntVar(&c.dsPing, "kamailio-ping", mustInt(env("DS_PING_INTERVAL", "10")), "Kamailio dispatcher probe interval, s (0: none)")
	rawRates := fs.String("raw-rates", env("RAW_RATES", "10000,20000,30000,40000"), "OPTIONS transactions/s of the raw forwarding benchmark (env RAW_RATES)")
	fs.DurationVar(&c.rawDur, "raw-duration", mustDur(env("RAW_DURATION", "4s")), "load time per raw point")
	ceilRates := fs.String("ceiling-rates", env("CEILING_RATES", "10000,20000,30000,40000"), "call rates for sipbench's own ceiling (env CEILING_RATES)")
	fs.DurationVar(&c.ceilDur, "ceiling-duration", mustDur(env("CEILING_DURATION", "4s")), "load time per ceiling point")
	fs.BoolVar(&c.parser, "parser", env("PARSER", "1") == "1", "run the parser comparison (env PARSER=0 to skip)")
	fs.BoolVar(&c.raw, "raw", env("RAW", "1") == "1", "run the raw forwarding benchmark (env RAW=0 to skip)")
	fs.BoolVar(&c.ceiling, "ceiling", env("CEILING", "1") == "1", "measure sipbench's own ceiling (env CEILING=0 to skip)")
	fs.BoolVar(&c.sweep, "sweep", env("SWEEP", "1") == "1", "run the sweep (env SWEEP=0 to skip; the report keeps results/sweep.csv)")
	fs.BoolVar(&c.flood, "flood", env("FLOOD", "1") == "1", "run the flood filter benchmark, XDP against user space, as root (env FLOOD=0 to skip)")
	floodRates := fs.String("flood-rates", env("FLOOD_RATES", "100000,200000,400000,800000"), "flood datagrams/s offered, all senders together, socket method (env FLOOD_RATES)")
	floodLiveRates := fs.String("flood-live-rates", env("FLOOD_LIVE_RATES", "100000,200000,400000,800000,1600000,3200000"), "flood frames/s offered, all generator threads together, xdp-live method: the socket rates and beyond, where the cost of an XDP drop stands out of the host's other softirq work (env FLOOD_LIVE_RATES)")
	floodMethods := fs.String("flood-methods", env("FLOOD_METHODS", "socket,xdp-live"), "how the flood reaches sipfront's veth: socket (UDP sockets) and/or xdp-live (frames made by BPF_PROG_TEST_RUN, as from a NIC) (env FLOOD_METHODS)")
	fs.DurationVar(&c.floodDur, "flood-duration", mustDur(env("FLOOD_DURATION", "5s")), "measured flood time per point (env FLOOD_DURATION)")
	fs.DurationVar(&c.floodLead, "flood-lead", mustDur(env("FLOOD_LEAD", "1s")), "flood before the measured window: bans set, the XDP program timed (env FLOOD_LEAD)")
	fs.DurationVar(&c.floodBase, "flood-baseline", mustDur(env("FLOOD_BASELINE", "3s")), "calls without flood before each point, the CPU baseline (env FLOOD_BASELINE)")
	fs.IntVar(&c.floodCallRate, "flood-call-rate", mustInt(env("FLOOD_CALL_RATE", "200")), "real calls/s during the flood (env FLOOD_CALL_RATE)")
	fs.IntVar(&c.floodSenders, "flood-senders", mustInt(env("FLOOD_SENDERS", "2")), "sipbench flood processes, one per CPU in turn (env FLOOD_SENDERS)")
	fs.IntVar(&c.floodLiveThr, "flood-live-threads", mustInt(env("FLOOD_LIVE_THREADS", "1")), "xdp-live generator threads, thread i on CPU i (env FLOOD_LIVE_THREADS; 1: on CPU 0, off sipfront's core, where the receiving softirq then runs too, as a NIC queue's interrupt on CPU 0 would)")
	fs.IntVar(&c.floodRepeats, "flood-repeats", mustInt(env("FLOOD_REPEATS", "3")), "runs per flood point (env FLOOD_REPEATS; the report shows the median)")
	fs.IntVar(&c.floodSources, "flood-sources", mustInt(env("FLOOD_SOURCES", "128")), "source addresses per flood process (env FLOOD_SOURCES)")
	fs.BoolVar(&c.floodProgStats, "flood-prog-stats", env("FLOOD_PROG_STATS", "1") == "1", "measure the XDP program's own run time with the kernel's BPF statistics (env FLOOD_PROG_STATS=0 to skip)")
	fs.BoolVar(&c.transports, "transports", env("TRANSPORTS", "1") == "1", "run lb's call benchmarks over UDP, TCP and TLS and the idle TLS memory benchmark (env TRANSPORTS=0 to skip)")
	fs.StringVar(&c.transportTime, "transport-benchtime", env("TRANSPORT_BENCHTIME", "2000x"), "-benchtime of the call benchmarks (env TRANSPORT_BENCHTIME)")
	fs.IntVar(&c.transportCount, "transport-count", mustInt(env("TRANSPORT_COUNT", "3")), "runs of each transport benchmark (env TRANSPORT_COUNT)")
	fs.BoolVar(&c.install, "install", env("INSTALL", "1") == "1", "apt-get install kamailio and sip-tester when missing, as root (env INSTALL=0 to skip)")
	reportOnly := fs.Bool("report-only", false, "only rebuild the plots and RESULTS.md from the CSV files")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	var err error
	if c.rates, err = ints(*rates); err == nil {
		if c.rawRates, err = ints(*rawRates); err == nil {
			if c.ceilRates, err = ints(*ceilRates); err == nil {
				if c.floodRates, err = ints(*floodRates); err == nil {
					c.floodLiveRates, err = ints(*floodLiveRates)
				}
			}
		}
	}
	if err == nil && (c.floodSenders < 1 || c.floodLiveThr < 1 || c.floodLiveThr > 64 || c.floodRepeats < 1 || c.floodSources < 1 || c.floodCallRate < 1 || c.transportCount < 1 || c.floodDur <= 0 || c.floodBase <= 0 || c.floodLead <= 0) {
		err = fmt.Errorf("flood senders, sources, call rate, durations and transport count must be positive")
	}
	if err == nil && c.floodSenders*c.floodSources > 65000 {
		err = fmt.Errorf("flood senders × sources must fit in 10.201.0.0/16 (at most 65000)")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	c.floodMethods = words(*floodMethods)
	for _, m := range c.floodMethods {
		if m != "socket" && m != "xdp-live" {
			fmt.Fprintf(os.Stderr, "harness: -flood-methods %q: want socket and/or xdp-live\n", m)
			return 2
		}
	}
	c.subjects, c.loads = words(*subjects), words(*loads)
	c.command = "make bench"
	if v := os.Getenv("BENCH_COMMAND"); v != "" {
		c.command = v
	}
	wd, _ := os.Getwd()
	c.bench = wd
	c.repo = filepath.Dir(wd)
	c.out = filepath.Join(c.bench, "results")
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	if *reportOnly {
		if err := report(&c); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 1
		}
		return 0
	}
	if c.work, err = os.MkdirTemp("", "sipfront-bench-"); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	defer os.RemoveAll(c.work)
	if err := prepare(&c); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	began := time.Now()
	steps := []struct {
		name string
		fn   func(*config) error
		on   bool
	}{
		{"sweep", sweep, c.sweep},
		{"raw forwarding", rawForwarding, c.raw},
		{"sipbench ceiling", ceiling, c.ceiling},
		{"parser vs sipgo", parserCmp, c.parser},
		{"flood filter: XDP vs user space", floodBench, c.flood},
		{"transports: UDP, TCP, TLS", transportBench, c.transports},
	}
	commit := treeCommit(&c) // before this run's results change tracked files
	for _, s := range steps {
		if !s.on {
			continue
		}
		logf("== %s", s.name)
		at := time.Now()
		err := s.fn(&c)
		if errors.Is(err, errSkipped) {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "harness: %s: %v\n", s.name, err)
			return 1
		}
		if err := recordRun(&c, s.name, commit, at); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 1
		}
	}
	if err := report(&c); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	logf("done in %v: %s", time.Since(began).Round(time.Second), filepath.Join(c.bench, "RESULTS.md"))
	return 0
}

// errSkipped is returned by a part that could not run here (it logged why).
var errSkipped = errors.New("skipped")

func mustDur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %q: not a duration\n", s)
		os.Exit(2)
	}
	return d
}

func mustFloat(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %q: not a number\n", s)
		os.Exit(2)
	}
	return v
}

func mustInt(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %q: not an integer\n", s)
		os.Exit(2)
	}
	return v
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// prepare installs what is missing (when allowed and root) and builds the
// binaries from this tree.
func prepare(c *config) error {
	need := map[string]string{}
	if c.sweep && has(c.subjects, "kamailio") {
		need["kamailio"] = "kamailio"
	}
	if c.sweep && has(c.loads, "sipp") {
		need["sipp"] = "sip-tester"
	}
	var pkgs []string
	for bin, pkg := range need {
		if _, err := exec.LookPath(bin); err != nil {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) > 0 && c.install && os.Geteuid() == 0 {
		logf("installing %v from Debian", pkgs)
		for _, argv := range [][]string{{"apt-get", "update", "-qq"}, append([]string{"apt-get", "install", "-y", "-qq"}, pkgs...)} {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%v: %w", argv, err)
			}
		}
	}
	if _, err := exec.LookPath("kamailio"); err != nil && c.sweep && has(c.subjects, "kamailio") {
		logf("kamailio not installed (run as root or apt-get install kamailio): subject skipped")
		c.subjects = remove(c.subjects, "kamailio")
	}
	if _, err := exec.LookPath("sipp"); err != nil && c.sweep && has(c.loads, "sipp") {
		logf("sipp not installed (apt-get install sip-tester): SIPp load skipped")
		c.loads = remove(c.loads, "sipp")
	}
	c.bin = filepath.Join(c.work, "bin")
	for _, name := range []string{"sipfront", "sipbench", "sipfrontctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(c.bin, name), "./cmd/"+name)
		cmd.Dir = c.repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, out)
		}
	}
	return nil
}

func has(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func remove(l []string, s string) []string {
	var out []string
	for _, v := range l {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// freePort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freePort() (netip.AddrPort, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort(), nil
}

// probe sends OPTIONS to addr (through it to a back end) until a 200 comes
// back, for at most within.
func probe(addr netip.AddrPort, within time.Duration) error {
	return probeFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), addr, within)
}

// probeFrom is probe from a socket on the local address from.
func probeFrom(from netip.Addr, addr netip.AddrPort, within time.Duration) error {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)))
	if err != nil {
		return err
	}
	defer c.Close()
	me := c.LocalAddr().(*net.UDPAddr).AddrPort()
	buf := make([]byte, 4096)
	deadline := time.Now().Add(within)
	for i := 0; time.Now().Before(deadline); i++ {
		msg := fmt.Sprintf("OPTIONS sip:probe@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;rport;branch=z9hG4bKharness%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:harness@127.0.0.1>;tag=h%d\r\nTo: <sip:probe@%s>\r\n"+
			"Call-ID: harness-%d-%d@bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", addr, me, i, i, addr, os.Getpid(), i)
		c.WriteToUDPAddrPort([]byte(msg), addr)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
				return nil
			}
		}
	}
	return fmt.Errorf("no 200 to OPTIONS through %s within %v", addr, within)
}

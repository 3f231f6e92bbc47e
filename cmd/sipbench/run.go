package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `usage: sipbench uac|uas|flood|relay [flags]   (sipbench MODE -h for the flags of a mode)
`

// run is main without the process. stop, when not nil, ends a mode that runs
// until stopped (uas, relay) and cuts a uac or flood run short, as SIGINT or
// SIGTERM does.
func run(args []string, stdout, stderr io.Writer, stop context.Context) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if stop == nil {
		ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer cancel()
		stop = ctx
	}
	switch args[0] {
	case "uac":
		return runUAC(args[1:], stdout, stderr, stop)
	case "uas":
		return runUAS(args[1:], stdout, stderr, stop)
	case "flood":
		return runFlood(args[1:], stdout, stderr, stop)
	case "relay":
		return runRelay(args[1:], stdout, stderr, stop)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "sipbench: unknown mode %q\n%s", args[0], usage)
	return exitUsage
}

// parseFlags parses fs and maps -h and errors to exit codes (-1: carry on).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sipbench %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage
	}
	return -1
}

// parseAddr reads IP:PORT, also in sipfront's "udp:IP:PORT" form.
func parseAddr(s string) (netip.AddrPort, error) {
	s = strings.TrimPrefix(s, "udp:")
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%q: want IP:PORT", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

type addrList []netip.AddrPort

func (l *addrList) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (l *addrList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		ap, err := parseAddr(strings.TrimSpace(part))
		if err != nil {
			return err
		}
		*l = append(*l, ap)
	}
	return nil
}

// parseFlows reads "call=8,register=1,options=1" (a bare name means weight 1).
func parseFlows(s string) ([flowCount]int, error) {
	var w [flowCount]int
	total := 0
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, hasVal := strings.Cut(part, "=")
		n := 1
		if hasVal {
			v, err := strconv.Atoi(val)
			if err != nil || v < 0 || v > 1000 {
				return w, fmt.Errorf("-flows %q: weight must be 0..1000", part)
			}
			n = v
		}
		found := false
		for i, fn := range flowNames {
			if fn == name {
				w[i], found = n, true
			}
		}
		if !found {
			return w, fmt.Errorf("-flows: unknown flow %q (call, register, options)", name)
		}
		total += n
	}
	if total == 0 {
		return w, errors.New("-flows: no flow has a weight")
	}
	return w, nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f io.Writer) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func writeJSON(path string, stdout io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "" || path == "-" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func runUAC(args []string, stdout, stderr io.Writer, stop context.Context) int {
	fs := flag.NewFlagSet("uac", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg uacConfig
	target := fs.String("target", "127.0.0.1:5060", "`IP:PORT` of the system under test (every request goes there, as to an outbound proxy)")
	local := fs.String("local", "127.0.0.1", "local `IP` of the UAC sockets")
	fs.IntVar(&cfg.Workers, "workers", 1, "worker goroutines, each with its own socket (source port) and share of the rate")
	fs.Float64Var(&cfg.Rate, "rate", 100, "attempts (calls and transactions) per second, all workers together")
	fs.Int64Var(&cfg.Count, "count", 0, "attempts in total (0: rate × duration)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "longest time to place attempts")
	fs.DurationVar(&cfg.Hold, "hold", 200*time.Millisecond, "call hold time between ACK and BYE")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "time to wait for open calls after the last attempt (plus -hold); calls still open then count as unfinished")
	fs.DurationVar(&cfg.T1, "t1", 500*time.Millisecond, "RFC 3261 T1 (first retransmission; transactions time out after 64·T1)")
	fs.DurationVar(&cfg.T2, "t2", 4*time.Second, "RFC 3261 T2 (largest non-INVITE retransmission interval)")
	flows := fs.String("flows", "call=1", "flow `WEIGHTS`: call=N,register=N,options=N")
	fs.StringVar(&cfg.Service, "service", "1000", "user part of the Request-URI")
	fs.IntVar(&cfg.MaxOpen, "max-open", 0, "call slots per worker (0: enough for rate × (hold + 4 s))")
	fs.IntVar(&cfg.Batch, "batch", 64, "datagrams per recvmmsg/sendmmsg")
	jsonOut := fs.String("json", "-", "where to write the JSON summary (`FILE`, - for stdout)")
	progress := fs.String("progress", "auto", "progress line on stderr: auto (when a terminal), on, off")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sipbench uac: "+format+"\n", a...)
		return exitUsage
	}
	var err error
	if cfg.Target, err = parseAddr(*target); err != nil {
		return fail("-target %v", err)
	}
	if cfg.Local, err = netip.ParseAddr(*local); err != nil {
		return fail("-local %q: want an IP address", *local)
	}
	if cfg.Weights, err = parseFlows(*flows); err != nil {
		return fail("%v", err)
	}
	switch {
	case cfg.Workers < 1 || cfg.Workers > 64:
		return fail("-workers must be 1..64")
	case cfg.Rate <= 0:
		return fail("-rate must be positive")
	case cfg.Duration <= 0 && cfg.Count <= 0:
		return fail("-duration or -count must bound the run")
	case cfg.Duration <= 0:
		cfg.Duration = time.Duration(float64(cfg.Count)/cfg.Rate*float64(time.Second)) + time.Second
	case cfg.Batch < 1 || cfg.Batch > 1024:
		return fail("-batch must be 1..1024")
	case cfg.T1 <= 0 || cfg.T2 < cfg.T1:
		return fail("-t1 must be positive and -t2 at least -t1")
	case cfg.Count < 0 || cfg.Hold < 0 || cfg.Drain < 0:
		return fail("-count, -hold and -drain must not be negative")
	}
	if cfg.Count == 0 {
		cfg.Count = int64(cfg.Rate * cfg.Duration.Seconds())
		if cfg.Count < 1 {
			cfg.Count = 1
		}
	}
	perRate := cfg.Rate / float64(cfg.Workers)
	if cfg.MaxOpen == 0 {
		cfg.MaxOpen = int(perRate*(cfg.Hold.Seconds()+4)) + 1024
	}
	if cfg.MaxOpen > 1<<21 {
		cfg.MaxOpen = 1 << 21
	}
	cfg.Drain += cfg.Hold
	cfg.RunID = rand.Uint32() | 1

	res, err := uacRun(&cfg, stop, progressWriter(*progress, stderr))
	if err != nil {
		fmt.Fprintf(stderr, "sipbench uac: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(stderr, res.line())
	if err := writeJSON(*jsonOut, stdout, res); err != nil {
		fmt.Fprintf(stderr, "sipbench uac: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func progressWriter(mode string, stderr io.Writer) io.Writer {
	switch mode {
	case "on":
		return stderr
	case "off":
		return nil
	}
	if isTerminal(stderr) {
		return stderr
	}
	return nil
}

// uacRun runs the workers and merges their results.
func uacRun(cfg *uacConfig, stop context.Context, progress io.Writer) (*uacResult, error) {
	ws := make([]*uacWorker, cfg.Workers)
	for i := range ws {
		w, err := newUACWorker(cfg, i)
		if err != nil {
			for _, o := range ws[:i] {
				o.conn.Close()
			}
			return nil, err
		}
		ws[i] = w
	}
	defer func() {
		for _, w := range ws {
			w.conn.Close()
		}
	}()
	start := time.Now()
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		count := cfg.Count / int64(len(ws))
		if int64(i) < cfg.Count%int64(len(ws)) {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.run(start, count, cfg.Rate/float64(len(ws)))
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var prev uacCounters
	var prevAt time.Duration
	show := func() {
		var c uacCounters
		var h Hist
		var at time.Duration
		for _, w := range ws {
			w.mu.Lock()
			c.add(&w.snapC)
			h.Merge(&w.snapH)
			at = max(at, w.snapAt)
			w.mu.Unlock()
		}
		att, ok, failed := sum(c.Attempted), sum(c.OK), sum(c.Failed)
		rate := 0.0
		if at > prevAt {
			rate = float64(att-sum(prev.Attempted)) / (at - prevAt).Seconds()
		}
		fmt.Fprintf(progress, "\r%6.1fs  rate %7.0f/s  attempts %8d  ok %8d  failed %6d  retrans %6d  p99 %-8v ",
			at.Seconds(), rate, att, ok, failed, c.RetransInvite+c.RetransOther, h.Quantile(0.99).Round(10*time.Microsecond))
		prev, prevAt = c, at
	}
	stopC := stop.Done()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-stopC:
			stopC = nil // once: the workers drain and end by themselves
			for _, w := range ws {
				w.stopSending.Store(true)
			}
		case <-tick.C:
			if progress != nil {
				show()
			}
		}
	}
	if progress != nil {
		show()
		fmt.Fprintln(progress)
	}
	elapsed := time.Since(start)
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return newUACResult(cfg, ws, elapsed), nil
}

func sum(a [flowCount]uint64) uint64 {
	var s uint64
	for _, v := range a {
		s += v
	}
	return s
}

func runUAS(args []string, stdout, stderr io.Writer, stop context.Context) int {
	fs := flag.NewFlagSet("uas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg uasConfig
	var listen addrList
	fs.Var(&listen, "listen", "`IP:PORT` to answer on (repeatable, or comma separated; default 127.0.0.1:5070)")
	fs.IntVar(&cfg.Workers, "workers", 1, "workers (SO_REUSEPORT sockets) per listen address")
	fs.DurationVar(&cfg.Delay, "delay", 0, "wait this long before the final answer to an INVITE (100 and 180 go at once)")
	fs.Float64Var(&cfg.Fail, "fail", 0, "fraction (0..1) of initial requests answered with -fail-code")
	fs.IntVar(&cfg.FailCode, "fail-code", 503, "status code of the failed answers")
	fs.Float64Var(&cfg.Drop, "drop", 0, "fraction (0..1) of initial requests not answered at all (a dead or overloaded back end)")
	fs.DurationVar(&cfg.T1, "t1", 500*time.Millisecond, "RFC 3261 T1 (2xx retransmission; given up after 64·T1)")
	fs.DurationVar(&cfg.T2, "t2", 4*time.Second, "RFC 3261 T2")
	fs.IntVar(&cfg.Pending, "pending", 16384, "INVITE answers awaiting their ACK, per worker")
	fs.IntVar(&cfg.Batch, "batch", 64, "datagrams per recvmmsg/sendmmsg")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0: at SIGINT/SIGTERM)")
	jsonOut := fs.String("json", "-", "where to write the JSON counters at exit (`FILE`, - for stdout)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sipbench uas: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case cfg.Workers < 1 || cfg.Workers > 64:
		return fail("-workers must be 1..64")
	case cfg.Fail < 0 || cfg.Drop < 0 || cfg.Fail+cfg.Drop > 1:
		return fail("-fail and -drop are fractions whose sum is at most 1")
	case cfg.FailCode < 300 || cfg.FailCode > 699:
		return fail("-fail-code must be 300..699")
	case cfg.Pending < 1 || cfg.Pending > 1<<20:
		return fail("-pending must be 1..1048576")
	case cfg.Batch < 1 || cfg.Batch > 1024:
		return fail("-batch must be 1..1024")
	case cfg.T1 <= 0 || cfg.T2 < cfg.T1 || cfg.Delay < 0:
		return fail("-t1 must be positive, -t2 at least -t1, -delay not negative")
	}
	if len(listen) == 0 {
		listen = addrList{netip.MustParseAddrPort("127.0.0.1:5070")}
	}
	cfg.Listen = listen
	res, err := uasRun(&cfg, stop, nil)
	if err != nil {
		fmt.Fprintf(stderr, "sipbench uas: %v\n", err)
		return exitFailure
	}
	if err := writeJSON(*jsonOut, stdout, res); err != nil {
		fmt.Fprintf(stderr, "sipbench uas: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// uasRun starts the workers, calls ready (if not nil) with the bound
// addresses once every socket is open, and returns the merged counters when
// stop ends or the duration passes.
func uasRun(cfg *uasConfig, stop context.Context, ready func([]netip.AddrPort)) (*uasResult, error) {
	var ws []*uasWorker
	var bound []netip.AddrPort
	closeAll := func() {
		for _, w := range ws {
			w.conn.Close()
		}
	}
	for _, addr := range cfg.Listen {
		a := addr
		for i := 0; i < cfg.Workers; i++ {
			w, err := newUASWorker(cfg, a, cfg.Workers > 1)
			if err != nil {
				closeAll()
				return nil, err
			}
			ws = append(ws, w)
			if i == 0 {
				a = w.conn.LocalAddr() // port 0 resolved: the others join it
				bound = append(bound, a)
			}
		}
	}
	if ready != nil {
		ready(bound)
	}
	start := time.Now()
	quit := make(chan struct{})
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = w.run(start, quit) }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-stop.Done():
		close(quit)
		closeAll() // wakes workers blocked in ReadBatch
		<-done
	}
	closeAll()
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	res := &uasResult{Mode: "uas", ElapsedS: time.Since(start).Seconds()}
	for _, a := range bound {
		res.Listen = append(res.Listen, a.String())
	}
	var c uasCounters
	for _, w := range ws {
		s := w.snapshot()
		c.add(&s)
	}
	res.fill(&c)
	return res, nil
}

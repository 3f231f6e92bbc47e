package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sipfront/sipfront/bpf"
	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/health"
	"github.com/sipfront/sipfront/lb"
	"github.com/sipfront/sipfront/lb/rpc"
)

// Exit codes (DESIGN.md contract).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// options are the parsed flags.
type options struct {
	listen     listFlag
	list       string
	set        int
	alg        string
	workers    int
	batch      int
	spread     bool
	cookieKey  string
	advertise  string
	strict     bool
	noRR       bool
	logLevel   string
	configFile string
	showVer    bool
	rpc        string
	rpcToken   string

	tls tlsFlags

	maxConns, maxConnsPerIP int
	idleTimeout             time.Duration

	noProbe       bool
	probeInterval time.Duration
	probeTimeout  time.Duration
	probeFail     int
	probeOK       int
	probeCodes    string
	probeFrom     string
	probeFlagged  bool
	filter        string
	filterIfaces  listFlag
	filterRate    string
	filterBanTime time.Duration
	filterAllow   listFlag
	filterBan     listFlag
	filterUA      listFlag
	filterMaxSrcs int
}

type tlsFlags struct {
	cert, key, clientCA, backendCA string
	requireClientCert, insecure    bool
}

// rpcOff is the -rpc value that turns the control API off.
const rpcOff = "off"

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sipfront", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.listen, "listen", "`TRANSPORT:IP:PORT` to receive SIP on, e.g. udp:127.0.0.1:5060 or udp:[::1]:5060 (repeatable)")
	fs.StringVar(&o.list, "dispatcher-list", "", "Kamailio-format destination list `FILE`")
	fs.IntVar(&o.set, "set", 1, "destination `SET` id initial requests go to")
	fs.StringVar(&o.alg, "alg", "hash-callid", "selection `ALGORITHM`, by Kamailio number or name (0 hash-callid, 1 hash-from, 2 hash-to, 3 hash-ruri, 4 round-robin, 5 hash-authuser, 6 random, 8 priority, 9 weight, 11 relative-weight)")
	fs.IntVar(&o.workers, "workers", 0, "receive workers (sockets) per UDP listen address; 0 = one per core")
	fs.IntVar(&o.batch, "batch", 32, "datagrams per recvmmsg/sendmmsg call")
	fs.BoolVar(&o.spread, "udp-spread-requests", false, "hand UDP requests to the workers at random, not by sender, so one busy peer (an SBC) uses every core; two requests of one peer sent back to back may then cross, as with Kamailio")
	fs.StringVar(&o.cookieKey, "cookie-key", "", "secret `KEY` for Record-Route cookies and branch MACs; copies sharing it route each other's dialogs (empty: random per run)")
	fs.StringVar(&o.advertise, "advertise", "", "`IP:PORT` written in Via, Record-Route and Path instead of the listen address")
	fs.BoolVar(&o.strict, "strict", false, "refuse a destination list with any skipped line")
	fs.BoolVar(&o.noRR, "no-record-route", false, "do not Record-Route (in-dialog requests then bypass sipfront)")
	fs.StringVar(&o.logLevel, "log-level", "info", "`LEVEL`: debug, info, warn, error")
	fs.StringVar(&o.configFile, "config", "", "configuration `FILE` (key = value lines; keys are flag names; flags given on the command line win)")
	fs.BoolVar(&o.showVer, "version", false, "print the version and exit")
	fs.StringVar(&o.rpc, "rpc", rpc.DefaultAddr, "control API `HOST:PORT` (JSON-RPC on /RPC for sipfrontctl and Kamailio tools, /metrics, /healthz); "+
		"a loopback address unless -rpc-token is set; "+rpcOff+" turns it off")
	fs.StringVar(&o.rpcToken, "rpc-token", "", "bearer `TOKEN` that every /RPC call and /metrics scrape must carry (default $SIPFRONT_RPC_TOKEN)")

	fs.StringVar(&o.tls.cert, "tls-cert", "", "PEM certificate `FILE` for tls: listeners (read again on SIGHUP)")
	fs.StringVar(&o.tls.key, "tls-key", "", "PEM private key `FILE` for tls: listeners")
	fs.StringVar(&o.tls.clientCA, "tls-client-ca", "", "PEM `FILE` of CAs to verify TLS client certificates against (asked for, not required)")
	fs.BoolVar(&o.tls.requireClientCert, "tls-require-client-cert", false, "refuse TLS clients without a certificate signed by -tls-client-ca")
	fs.StringVar(&o.tls.backendCA, "tls-backend-ca", "", "PEM `FILE` of CAs for back ends reached over TLS (default: the system roots)")
	fs.BoolVar(&o.tls.insecure, "tls-backend-insecure", false, "do not verify the certificates of back ends reached over TLS")
	fs.IntVar(&o.maxConns, "max-conns", 10000, "TCP/TLS connections in total")
	fs.IntVar(&o.maxConnsPerIP, "max-conns-per-ip", 200, "TCP/TLS connections per remote address")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", 300*time.Second, "close TCP/TLS connections idle this long")

	fs.BoolVar(&o.noProbe, "no-probe", false, "do not send OPTIONS keepalives to the destinations")
	fs.DurationVar(&o.probeInterval, "probe-interval", 10*time.Second, "time between OPTIONS keepalives to a destination (Kamailio ds_ping_interval)")
	fs.DurationVar(&o.probeTimeout, "probe-timeout", 0, "a keepalive without answer after this fails (default: min(interval/2, 2s))")
	fs.IntVar(&o.probeFail, "probe-fail-threshold", 2, "failed keepalives in a row before a destination is inactive (ds_probing_threshold)")
	fs.IntVar(&o.probeOK, "probe-ok-threshold", 2, "answered keepalives in a row before it is active again (ds_inactive_threshold)")
	fs.StringVar(&o.probeCodes, "probe-codes", "", "`CODES` accepted as answers besides any 2xx, comma separated (ds_ping_reply_codes), e.g. 403,404,501")
	fs.StringVar(&o.probeFrom, "probe-from", "", "From `URI` of keepalives (ds_ping_from; default sip:sipfront@localhost)")
	fs.BoolVar(&o.probeFlagged, "probe-flagged-only", false, "probe only destinations with the probing flag (8) in the list (ds_probing_mode 0)")

	fs.StringVar(&o.filter, "filter", "off", "flood filter: `MODE` xdp, user, auto (XDP when it loads, else in user space) or off")
	fs.Var(&o.filterIfaces, "filter-iface", "`INTERFACE` to attach the XDP filter to (repeatable; default: those carrying the listen addresses)")
	fs.StringVar(&o.filterRate, "filter-rate", "100/1s", "per-source limit `PACKETS/WINDOW` on the SIP ports; past it the source is banned")
	fs.DurationVar(&o.filterBanTime, "filter-ban-time", time.Minute, "how long a source over the rate stays banned")
	fs.Var(&o.filterAllow, "filter-allow", "`PREFIX` never limited nor banned (repeatable; the back ends always are)")
	fs.Var(&o.filterBan, "filter-ban", "`PREFIX` always dropped (repeatable)")
	fs.Var(&o.filterUA, "filter-user-agent", "User-Agent `PREFIX` to drop, e.g. friendly-scanner (repeatable)")
	fs.IntVar(&o.filterMaxSrcs, "filter-max-sources", 0, "per-source state entries of the filter (default 65536)")
	return fs
}

// run is main without the process: args, outputs, and a context whose end
// stops the daemon (nil: stop on SIGTERM/SIGINT).
func run(args []string, stdout, stderr io.Writer, stop context.Context) int {
	if len(args) > 0 && args[0] == "demo" {
		return runDemo(args[1:], stdout, stderr)
	}
	var o options
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sipfront: unexpected argument %q (subcommands: demo)\n", fs.Arg(0))
		return exitUsage
	}
	if o.showVer {
		fmt.Fprintln(stdout, "sipfront", version)
		return exitOK
	}
	if o.configFile != "" {
		if err := applyConfigFile(fs, o.configFile); err != nil {
			fmt.Fprintf(stderr, "sipfront: %v\n", err)
			return exitUsage
		}
	}
	cfg, logger, err := o.config(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sipfront: %v\n", err)
		return exitUsage
	}
	eng, err := lb.New(cfg)
	if err != nil {
		var pe *dispatcher.ParseError
		if errors.As(err, &pe) || errors.Is(err, dispatcher.ErrNoFile) {
			fmt.Fprintf(stderr, "sipfront: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "sipfront: %v\n", err)
		return exitFailure
	}
	var ctl *lb.Control
	if o.rpc != rpcOff {
		ctl, err = lb.NewControl(eng, lb.ControlOptions{Addr: o.rpc, Token: o.rpcToken, Version: version, Logger: logger})
		if err != nil {
			// Run with a context that is already done closes the sockets.
			done, stopNow := context.WithCancel(context.Background())
			stopNow()
			_ = eng.Run(done)
			fmt.Fprintf(stderr, "sipfront: %v (choose another -rpc address, or -rpc %s)\n", err, rpcOff)
			return exitFailure
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		var done <-chan struct{}
		if stop != nil {
			done = stop.Done()
		}
		for {
			select {
			case <-done:
				cancel()
				return
			case s := <-sigs:
				if s == syscall.SIGHUP {
					_, _, _ = eng.Reload() // logs its own outcome
					if err := eng.ReloadTLS(); err != nil {
						logger.Error("tls: certificate reload failed; the running one stays", "err", err)
					}
					continue
				}
				logger.Info("stopping", "signal", s.String())
				cancel()
				return
			}
		}
	}()
	// The control API serves while the engine runs; whichever fails first
	// stops the other.
	ctlDone := make(chan error, 1)
	if ctl != nil {
		go func() {
			err := ctl.Serve(ctx)
			cancel()
			ctlDone <- err
		}()
	} else {
		ctlDone <- nil
	}
	runErr := eng.Run(ctx)
	cancel()
	ctlErr := <-ctlDone
	if err := errors.Join(runErr, ctlErr); err != nil {
		fmt.Fprintf(stderr, "sipfront: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// config turns the flags into an lb.Config.
func (o *options) config(stderr io.Writer) (lb.Config, *slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return lb.Config{}, nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", o.logLevel)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := lb.Config{
		DispatcherList: o.list,
		Set:            o.set,
		Workers:        o.workers,
		Batch:          o.batch,
		SpreadRequests: o.spread,
		CookieKey:      o.cookieKey,
		Strict:         o.strict,
		NoRecordRoute:  o.noRR,
		Logger:         logger,
		Resolve:        resolveHost,
	}
	for _, s := range o.listen {
		l, err := lb.ParseListen(s)
		if err != nil {
			return cfg, nil, fmt.Errorf("-listen: %v", err)
		}
		cfg.Listen = append(cfg.Listen, l)
	}
	alg, err := dispatcher.ParseAlg(o.alg)
	if err != nil {
		return cfg, nil, fmt.Errorf("-alg: %v", err)
	}
	cfg.Alg = alg
	if o.advertise != "" {
		l, err := lb.ParseListen("udp:" + o.advertise)
		if err != nil {
			return cfg, nil, fmt.Errorf("-advertise: %v", err)
		}
		cfg.Advertise = l.Addr
	}
	if o.workers < 0 {
		return cfg, nil, fmt.Errorf("-workers %d: must be 0 or more", o.workers)
	}
	cfg.Streams = lb.StreamConfig{
		TLSCert: o.tls.cert, TLSKey: o.tls.key, TLSClientCA: o.tls.clientCA, TLSRequireClientCert: o.tls.requireClientCert,
		TLSBackendCA: o.tls.backendCA, TLSBackendInsecure: o.tls.insecure,
		MaxConns: o.maxConns, MaxConnsPerIP: o.maxConnsPerIP, IdleTimeout: o.idleTimeout,
	}
	cfg.NoProbe = o.noProbe
	cfg.Health = health.Config{Interval: o.probeInterval, Timeout: o.probeTimeout, FailThreshold: o.probeFail,
		OKThreshold: o.probeOK, FromURI: o.probeFrom}
	if o.probeFlagged {
		cfg.Health.Mode = health.ProbeFlagged
	}
	for _, c := range strings.FieldsFunc(o.probeCodes, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(c)
		if err != nil || n < 100 || n > 699 {
			return cfg, nil, fmt.Errorf("-probe-codes: %q is not a status code", c)
		}
		cfg.Health.AcceptCodes = append(cfg.Health.AcceptCodes, n)
	}
	if err := o.filterConfig(&cfg.Filter); err != nil {
		return cfg, nil, err
	}
	cfg.DNS = dnsForListens(cfg.Listen)
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	if o.rpcToken == "" {
		o.rpcToken = os.Getenv("SIPFRONT_RPC_TOKEN")
	}
	if o.rpc != rpcOff {
		if err := rpc.CheckBind(o.rpc, o.rpcToken); err != nil {
			return cfg, nil, fmt.Errorf("-rpc: %v", err)
		}
	}
	return cfg, logger, nil
}

// filterConfig reads the -filter-* flags.
func (o *options) filterConfig(fc *lb.FilterConfig) error {
	mode, err := bpf.ParseMode(o.filter)
	if err != nil {
		return fmt.Errorf("-filter %q: want xdp, user, auto or off", o.filter)
	}
	fc.Mode = mode
	fc.Interfaces = o.filterIfaces
	n, w, ok := strings.Cut(o.filterRate, "/")
	packets, err := strconv.Atoi(n)
	window, err2 := time.ParseDuration(w)
	if !ok || err != nil || err2 != nil || packets < 0 || window <= 0 {
		return fmt.Errorf("-filter-rate %q: want PACKETS/WINDOW, e.g. 100/1s", o.filterRate)
	}
	fc.Rate = bpf.Rate{Packets: packets, Window: window, Ban: o.filterBanTime}
	for _, list := range []struct {
		name string
		in   []string
		out  *[]netip.Prefix
	}{{"-filter-allow", o.filterAllow, &fc.Allow}, {"-filter-ban", o.filterBan, &fc.Ban}} {
		for _, s := range list.in {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, err2 := netip.ParseAddr(s)
				if err2 != nil {
					return fmt.Errorf("%s %q: want an address or a prefix", list.name, s)
				}
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			*list.out = append(*list.out, p.Masked())
		}
	}
	fc.UserAgents = o.filterUA
	fc.MaxSources = o.filterMaxSrcs
	return nil
}

// applyConfigFile reads `key = value` lines (# comments, blank lines) and
// sets each flag the command line did not set. An unknown key or a bad
// value is reported as FILE:LINE: reason.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			return fmt.Errorf("%s:%d: want key = value, got %q", path, line, text)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "config" || key == "version" {
			return fmt.Errorf("%s:%d: %q cannot be set in a config file", path, line, key)
		}
		if fs.Lookup(key) == nil {
			return fmt.Errorf("%s:%d: unknown key %q (keys are the flag names, see sipfront -h)", path, line, key)
		}
		if onCommandLine[key] {
			continue
		}
		if err := fs.Set(key, value); err != nil {
			return fmt.Errorf("%s:%d: %s: %v", path, line, key, err)
		}
	}
	return sc.Err()
}

package main

// flood: unwanted traffic for the flood-filter tests. Datagrams go out at a
// fixed packet rate from many source addresses of 127.0.0.0/8: one socket
// sends them all, each with its source address set per message through
// IP_PKTINFO (lb/sock's Msg.Local), which Linux accepts for any local address,
// and every address of 127/8 is local. Targets and sources outside 127/8 are
// refused, with one exception: a process running in a network namespace other
// than the host's initial one may also use 10.0.0.0/8, so that a flood can
// cross a veth pair between two namespaces made for the test (the XDP filter
// sees only traffic that arrives on an interface). The sources must then be
// local in that namespace, as 127/8 is: `ip route add local 10.X.0.0/16 dev
// lo` makes a whole range local.
//
// Kinds: junk (random bytes), malformed (SIP-looking messages broken in one
// of several ways the parser must reject), scan (OPTIONS as SIPVicious sends
// them), register (REGISTER guessing extensions), invite (INVITE to premium
// numbers, the toll-fraud probe), mix (all of them in turn).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/sipfront/sipfront/lb/sock"
)

const (
	kindJunk = iota
	kindMalformed
	kindScan
	kindRegister
	kindInvite
	kindCount
	kindMix = kindCount
)

var floodKinds = [...]string{"junk", "malformed", "scan", "register", "invite", "mix"}

type floodConfig struct {
	Target   netip.AddrPort
	Rate     float64
	Count    int64
	Duration time.Duration
	Sources  int
	SrcBase  netip.Addr
	Kind     int
	Batch    int
}

type floodResult struct {
	Mode       string            `json:"mode"`
	Inject     string            `json:"inject"` // socket or xdp-live
	Target     string            `json:"target"`
	Sources    int               `json:"sources"`
	ElapsedS   float64           `json:"elapsed_s"`
	Sent       uint64            `json:"sent"`
	SendErrors uint64            `json:"send_errors"`
	Rate       float64           `json:"rate"`
	ByKind     map[string]uint64 `json:"by_kind"`
	Runs       uint64            `json:"runs,omitempty"` // xdp-live: test runs (system calls)
}

// malformed messages: each breaks one rule (the %d is a counter).
var malformedTemplates = []string{
	// start line without version
	"INVITE sip:%d@target\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK%d\r\n\r\n",
	// header section never ends
	"OPTIONS sip:%d@target SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK%d\r\nCall-ID: x\r\n",
	// Content-Length beyond the datagram
	"MESSAGE sip:%d@target SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK%d\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: f\r\nCSeq: 1 MESSAGE\r\nContent-Length: 9000\r\n\r\nhi",
	// header line without a colon
	"INVITE sip:%d@target SIP/2.0\r\nVia SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK%d\r\n\r\n",
	// control character in a header
	"REGISTER sip:target SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK%d\r\nFrom: <sip:%d@b>\x01;tag=1\r\n\r\n",
	// status line with a bad code
	"SIP/2.0 2x0 OK\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK%d\r\nCSeq: %d INVITE\r\n\r\n",
	// no mandatory headers at all
	"BYE sip:%d@target SIP/2.0\r\nX-Seq: %d\r\n\r\n",
	// Request-URI that is not a URI
	"INVITE <%d> SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK%d\r\n\r\n",
}

// appendFlood writes message number i of kind k from src.
func appendFlood(dst []byte, k int, i uint64, src, target netip.AddrPort, rnd *uint64) []byte {
	switch k {
	case kindJunk:
		n := 32 + int(xorshift(rnd)%480)
		for j := 0; j < n; j++ {
			dst = append(dst, byte(xorshift(rnd)))
		}
		return dst
	case kindMalformed:
		t := malformedTemplates[i%uint64(len(malformedTemplates))]
		return fmt.Appendf(dst, t, i, i)
	}
	var method, ruri, ua, user string
	ext := strconv.FormatUint(100+i%900, 10)
	switch k {
	case kindScan:
		method, ua, user = "OPTIONS", "friendly-scanner", ext
		ruri = "sip:" + ext + "@" + target.Addr().String()
	case kindRegister:
		method, ua, user = "REGISTER", "sipcli/v1.8", ext
		ruri = "sip:" + target.Addr().String()
	default:
		method, ua, user = "INVITE", "pplsip", "00972592"+strconv.FormatUint(i%100000, 10)
		ruri = "sip:" + user + "@" + target.Addr().String()
	}
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, ruri...)
	dst = append(dst, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	dst = src.AppendTo(dst)
	dst = append(dst, ";branch=z9hG4bK"...)
	dst = strconv.AppendUint(dst, i, 16)
	dst = append(dst, "\r\nMax-Forwards: 70\r\nFrom: \"sipvicious\" <sip:"...)
	dst = append(dst, user...)
	dst = append(dst, '@')
	dst = src.Addr().AppendTo(dst)
	dst = append(dst, ">;tag="...)
	dst = strconv.AppendUint(dst, i, 16)
	dst = append(dst, "\r\nTo: <sip:"...)
	dst = append(dst, user...)
	dst = append(dst, '@')
	dst = target.Addr().AppendTo(dst)
	dst = append(dst, ">\r\nCall-ID: flood"...)
	dst = strconv.AppendUint(dst, i, 16)
	dst = append(dst, "\r\nCSeq: 1 "...)
	dst = append(dst, method...)
	dst = append(dst, "\r\nContact: <sip:"...)
	dst = append(dst, user...)
	dst = append(dst, '@')
	dst = src.AppendTo(dst)
	dst = append(dst, ">\r\nUser-Agent: "...)
	dst = append(dst, ua...)
	dst = append(dst, "\r\nContent-Length: 0\r\n\r\n"...)
	return dst
}

func xorshift(s *uint64) uint64 {
	x := *s
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*s = x
	return x
}

// nthAddr returns base + n (IPv4).
func nthAddr(base netip.Addr, n int) netip.Addr {
	b := base.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func in127(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 127 }

func in10(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 10 }

// isolatedNetns reports whether the calling thread runs in a network
// namespace other than the host's initial one: a namespace made apart from
// the host's network (ip netns add, unshare), whose 10/8 addresses reach only
// what was put there. The initial namespace is read from kthreadd (PID 2):
// kernel threads never leave it, and PID 1 may not be readable. False when it
// cannot tell (no /proc, a PID namespace where PID 2 is not kthreadd).
func isolatedNetns() bool {
	comm, err := os.ReadFile("/proc/2/comm")
	if err != nil || string(comm) != "kthreadd\n" {
		return false
	}
	host, err := os.Stat("/proc/2/ns/net")
	if err != nil {
		return false
	}
	self, err := os.Stat("/proc/thread-self/ns/net")
	if err != nil {
		return false
	}
	a, ok1 := self.Sys().(*syscall.Stat_t)
	b, ok2 := host.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && (a.Ino != b.Ino || a.Dev != b.Dev)
}

// floodAllowed reports whether flood may send to or from a: loopback
// anywhere, 10.0.0.0/8 only inside a namespace of its own (isolated).
func floodAllowed(a netip.Addr, isolated bool) bool {
	return in127(a) || (isolated && in10(a))
}

func runFlood(args []string, stdout, stderr io.Writer, stop context.Context) int {
	fs := flag.NewFlagSet("flood", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg floodConfig
	target := fs.String("target", "127.0.0.1:5060", "`IP:PORT` to flood (127.0.0.0/8; 10.0.0.0/8 too when run in a network namespace other than the host's)")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "datagrams per second")
	fs.Int64Var(&cfg.Count, "count", 0, "datagrams in total (0: rate × duration)")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "longest run")
	fs.IntVar(&cfg.Sources, "sources", 256, "source addresses, consecutive from -src")
	src := fs.String("src", "127.1.0.1", "first source `IP` (127.0.0.0/8, or 10.0.0.0/8 as -target; each must be local)")
	kind := fs.String("kind", "mix", "junk, malformed, scan, register, invite or mix")
	fs.IntVar(&cfg.Batch, "batch", 64, "datagrams per sendmmsg")
	jsonOut := fs.String("json", "-", "where to write the JSON summary (`FILE`, - for stdout)")
	inject := fs.String("inject", "socket", "how the flood is sent: socket (UDP sockets, sendmmsg) or xdp-live (frames made in the kernel and redirected out of the veth -iface as xdp_frames, as a NIC delivers them; see live.go)")
	iface := fs.String("iface", "", "with -inject xdp-live: the veth to send out of (its peer receives the flood)")
	threads := fs.Int("threads", 1, "with -inject xdp-live: generator threads, thread i pinned to CPU i mod the CPU count when more than one")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sipbench flood: "+format+"\n", a...)
		return exitUsage
	}
	var err error
	if cfg.Target, err = parseAddr(*target); err != nil {
		return fail("-target %v", err)
	}
	if cfg.SrcBase, err = netip.ParseAddr(*src); err != nil {
		return fail("-src %q: want an IPv4 address", *src)
	}
	cfg.Kind = -1
	for i, k := range floodKinds {
		if k == *kind {
			cfg.Kind = i
		}
	}
	isolated := isolatedNetns()
	last := nthAddr(cfg.SrcBase, max(cfg.Sources, 1)-1)
	switch {
	case cfg.Kind < 0:
		return fail("-kind %q: want junk, malformed, scan, register, invite or mix", *kind)
	case !floodAllowed(cfg.Target.Addr(), isolated):
		if in10(cfg.Target.Addr()) {
			return fail("-target in 10.0.0.0/8 only from a network namespace other than the host's; here it must be in 127.0.0.0/8")
		}
		return fail("-target must be in 127.0.0.0/8 (or 10.0.0.0/8 inside a network namespace of its own)")
	case cfg.Sources < 1 || cfg.Sources > 1<<20:
		return fail("-sources must be 1..1048576")
	case in127(cfg.Target.Addr()) && (!in127(cfg.SrcBase) || !in127(last) || last.Less(cfg.SrcBase)):
		return fail("-src and -sources must stay inside 127.0.0.0/8")
	case in10(cfg.Target.Addr()) && (!in10(cfg.SrcBase) || !in10(last) || last.Less(cfg.SrcBase)):
		return fail("-src and -sources must stay inside 10.0.0.0/8 for a target there")
	case cfg.Rate <= 0 || cfg.Duration <= 0:
		return fail("-rate and -duration must be positive")
	case cfg.Batch < 1 || cfg.Batch > 1024:
		return fail("-batch must be 1..1024")
	case cfg.Count < 0:
		return fail("-count must not be negative")
	case *inject != "socket" && *inject != "xdp-live":
		return fail("-inject %q: want socket or xdp-live", *inject)
	case *inject == "socket" && (*iface != "" || *threads != 1):
		return fail("-iface and -threads go with -inject xdp-live")
	case *threads < 1 || *threads > 64:
		return fail("-threads must be 1..64")
	}
	if cfg.Count == 0 {
		cfg.Count = int64(cfg.Rate * cfg.Duration.Seconds())
	}
	var res *floodResult
	if *inject == "xdp-live" {
		res, err = liveRun(&cfg, *iface, *threads, stop)
	} else {
		res, err = floodRun(&cfg, stop)
	}
	if errors.Is(err, errLiveRefused) {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "sipbench flood: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "sipbench flood: %d datagrams from %d sources in %.1fs (%.0f/s)\n", res.Sent, res.Sources, res.ElapsedS, res.Rate)
	if err := writeJSON(*jsonOut, stdout, res); err != nil {
		fmt.Fprintf(stderr, "sipbench flood: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func floodRun(cfg *floodConfig, stop context.Context) (*floodResult, error) {
	bind := netip.MustParseAddr("127.0.0.1")
	if !in127(cfg.Target.Addr()) {
		bind = netip.IPv4Unspecified() // the sources (IP_PKTINFO) are not on lo's 127/8
	}
	conn, err := sock.ListenUDP("udp4", netip.AddrPortFrom(bind, 0), sock.Options{SendBuf: 4 << 20})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	port := conn.LocalAddr().Port()
	b := sock.NewBatch(cfg.Batch, 2048)
	var byKind [kindCount]uint64
	var sent, sendErrs uint64
	rnd := uint64(0x9e3779b97f4a7c15)
	start := time.Now()
	var i uint64
	for int64(i) < cfg.Count {
		now := time.Since(start)
		if now >= cfg.Duration || stop.Err() != nil {
			break
		}
		due := uint64(cfg.Rate * now.Seconds())
		if due > uint64(cfg.Count) {
			due = uint64(cfg.Count)
		}
		if due <= i {
			time.Sleep(time.Millisecond)
			continue
		}
		n := 0
		for ; n < len(b.Msgs) && i < due; n++ {
			m := &b.Msgs[n]
			srcAddr := nthAddr(cfg.SrcBase, int(i%uint64(cfg.Sources)))
			k := cfg.Kind
			if k == kindMix {
				k = int(i % kindCount)
			}
			buf := appendFlood(m.Buf[:0], k, i, netip.AddrPortFrom(srcAddr, port), cfg.Target, &rnd)
			if len(buf) > len(m.Buf) {
				m.Buf = buf
			}
			m.N = len(buf)
			m.Addr = cfg.Target
			m.Local = srcAddr
			byKind[k]++
			i++
		}
		k, err := conn.WriteBatch(b, n)
		sent += uint64(k)
		sendErrs += uint64(n - k)
		if err != nil {
			return nil, err
		}
	}
	el := time.Since(start)
	res := &floodResult{Mode: "flood", Inject: "socket", Target: cfg.Target.String(), Sources: cfg.Sources, ElapsedS: el.Seconds(),
		Sent: sent, SendErrors: sendErrs, ByKind: map[string]uint64{}}
	if el > 0 {
		res.Rate = float64(sent) / el.Seconds()
	}
	for k, n := range byKind {
		if n > 0 {
			res.ByKind[floodKinds[k]] = n
		}
	}
	return res, nil
}

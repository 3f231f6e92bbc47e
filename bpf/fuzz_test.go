package bpf

import (
	"bytes"
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

// The fuzz targets hold three things to one answer: the Go payload rules
// (sipPayload), a deliberately naive restatement of the documented policy
// (refPayload, regular expressions and slicing), and, when this host can
// load it, the XDP program itself. Seeds: testdata/fuzz/FuzzXxx/ and the
// fixture table.

var fuzzAgents = []string{"friendly-scanner", "sipvicious", "SIPcli", "VaxSIPUserAgent", "x"}

// fuzzConfig has no rate limit and no lists, so every verdict depends on
// the packet alone and the program and Go need no shared clock.
func fuzzConfig() Config {
	return Config{Ports: []uint16{5060}, UserAgents: fuzzAgents}
}

var (
	refStatus  = regexp.MustCompile(`^[Ss][Ii][Pp]/2\.0 [0-9]`)
	refRequest = regexp.MustCompile("^[A-Za-z0-9.!%*_+`'~-]{1,32} [A-Za-z]")
	refSep     = regexp.MustCompile(`^[ \t]*:[ \t]*`)
)

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// refPayload restates rules 5 and 6 of the package documentation as plainly
// as possible, sharing no code with sipPayload.
func refPayload(p []byte, agents []string) Reason {
	i := 0
	for i < len(p) && i < 8 && (p[i] == '\r' || p[i] == '\n') {
		i++
	}
	if i == len(p) {
		if len(p) == 0 {
			return DroppedNotSIP
		}
		return Passed
	}
	if !refStatus.Match(p[i:]) && !refRequest.Match(p[i:]) {
		return DroppedNotSIP
	}
	if len(agents) == 0 {
		return Passed
	}
	for k := i; k < len(p) && k < i+1024; k++ {
		if p[k] != '\n' {
			continue
		}
		line := p[k+1:]
		if len(line) < 10 || line[0] == '\r' || line[0] == '\n' {
			return Passed // no room for the header, or the end of the headers
		}
		// The candidate: "user-age", letters in any case, '-' exact.
		if !bytes.Equal(asciiLower(line[:4]), []byte("user")) || line[4] != '-' ||
			!bytes.Equal(asciiLower(line[5:8]), []byte("age")) {
			continue
		}
		if !bytes.Equal(asciiLower(line[8:10]), []byte("nt")) {
			return Passed
		}
		sep := refSep.Find(line[10:])
		value := line[10+len(sep):]
		if sep == nil || len(sep) > 16 || len(value) == 0 {
			return Passed
		}
		for _, ua := range agents {
			if len(value) >= len(ua) && bytes.Equal(asciiLower(value[:len(ua)]), asciiLower([]byte(ua))) {
				return DroppedUserAgent
			}
		}
		return Passed
	}
	return Passed
}

// fuzzXDP is the program loaded once per fuzzing process, or nil when this
// host cannot load it.
var fuzzXDP = sync.OnceValues(func() (*XDP, error) { return loadXDP(fuzzConfig()) })

func fuzzProgram(tb testing.TB) *XDP {
	x, err := fuzzXDP()
	if err != nil {
		if !errors.Is(err, ErrNotSupported) || hostCannotRunXDP() == "" {
			tb.Fatal(err)
		}
		return nil
	}
	return x
}

// maxRunFrame keeps frames within what BPF_PROG_TEST_RUN takes for XDP
// (a page, less headroom).
const maxRunFrame = 3000

func FuzzPayload(f *testing.F) {
	for _, p := range [][]byte{invite, registerReq, options, ok200, junk, nil, []byte("\r\n"),
		sipRequest("OPTIONS", "friendly-scanner"), withHeaders("User-Agent  :\tsipvicious\r\n"),
		withHeaders("User-Age: x\r\nUser-Agent: x\r\n")} {
		f.Add(p)
	}
	u, err := NewUserspace(fuzzConfig())
	if err != nil {
		f.Fatal(err)
	}
	defer u.Close()
	r := u.rules.Load()
	x := fuzzProgram(f)
	src := netip.MustParseAddr("198.51.100.1")
	f.Fuzz(func(t *testing.T, p []byte) {
		got := sipPayload(p, &r.ua)
		if want := refPayload(p, fuzzAgents); got != want {
			t.Fatalf("sipPayload = %s, reference says %s for %q", got, want, p)
		}
		if got != Passed && got != DroppedNotSIP && got != DroppedUserAgent {
			t.Fatalf("payload rules gave %s", got)
		}
		if c := u.Check(src, 5060, p, time.Now()); c != got {
			t.Fatalf("Check = %s, payload rules %s", c, got)
		}
		if x != nil && len(p) <= maxRunFrame {
			if xr := xdpReason(t, x, frame(pkt{src: src, payload: p})); xr != got {
				t.Fatalf("XDP says %s, Go %s, for %q", xr, got, p)
			}
		}
	})
}

// FuzzFrame feeds whole frames to CheckFrame and to the program: same
// verdict, and a few invariants of the parsing.
func FuzzFrame(f *testing.F) {
	for _, fr := range fixtureFrames() {
		f.Add(fr)
	}
	u, err := NewUserspace(fuzzConfig())
	if err != nil {
		f.Fatal(err)
	}
	defer u.Close()
	x := fuzzProgram(f)
	f.Fuzz(func(t *testing.T, fr []byte) {
		got := u.CheckFrame(fr, time.Now())
		if int(got) >= NumReasons || got == Allowed || got == DroppedOperatorBan || got == DroppedBanned || got == DroppedRate {
			t.Fatalf("CheckFrame = %d under a config with no lists and no rate limit", got)
		}
		var d decoded
		parsed := decodeFrame(fr, &d)
		if !parsed && got != Ignored {
			t.Fatalf("undecodable frame got %s", got)
		}
		if parsed && !d.tcp && !d.badLen && d.port == 5060 && d.poff <= payloadOffMax {
			if d.poff+d.plen > len(fr) || d.plen < 0 {
				t.Fatalf("payload span [%d:+%d] outside a %d-byte frame", d.poff, d.plen, len(fr))
			}
			if want := sipPayload(fr[d.poff:d.poff+d.plen], &u.rules.Load().ua); got != want {
				t.Fatalf("CheckFrame = %s, payload rules %s", got, want)
			}
		}
		if x != nil && len(fr) >= 14 && len(fr) <= maxRunFrame {
			if xr := xdpReason(t, x, fr); xr != got {
				t.Fatalf("XDP says %s, CheckFrame %s, for % x", xr, got, fr)
			}
		}
	})
}

// The source rules under list edits and a moving clock: FuzzSourceRules
// reads its input as a program of operations on eight sources and eight
// prefixes and runs it through the XDP program and the user-space filter
// side by side. After every operation both must agree: the packet's reason,
// or whether a list edit found its prefix; at the end, the automatic bans
// and both lists. This covers the invariant the program's lookup order
// relies on (an added prefix lifts the bans it covers) as the fixture table
// cannot: any interleaving of bans, edits and expiry.

// srcRulesConfig: a limit of 3 packets per second and bans of 2 s, so that
// a short program crosses limits, windows and ban ends.
func srcRulesConfig() Config {
	return Config{Ports: []uint16{5060}, Rate: Rate{Packets: 3, Window: time.Second, Ban: 2 * time.Second}, MaxSources: MinSources}
}

var (
	fuzzSources = []netip.Addr{
		a("198.51.100.1"), a("198.51.100.2"), a("198.51.100.5"), a("198.51.100.9"),
		a("2001:db8:1::1"), a("2001:db8:1::2"), a("2001:db8:2::1"),
		a("::ffff:198.51.100.1"), // the same source as the first
	}
	fuzzPrefixes = []netip.Prefix{
		netip.MustParsePrefix("198.51.100.0/30"), netip.MustParsePrefix("198.51.100.5/32"),
		netip.MustParsePrefix("198.51.100.0/29"), netip.MustParsePrefix("2001:db8:1::/64"),
		netip.MustParsePrefix("2001:db8:1::1/128"), netip.MustParsePrefix("::ffff:198.51.100.9/128"),
		netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"),
	}
)

// srcRulesXDP is FuzzSourceRules' own program (its lists and clock change),
// loaded once per fuzzing process.
var srcRulesXDP = sync.OnceValues(func() (*XDP, error) { return loadXDP(srcRulesConfig()) })

// fuzzStep is the clock step: a quarter of the rate window, far more than
// the real time a program of operations takes, which the XDP program's
// clock sees on top of the offset and user space does not. Both clocks
// then fall on the same side of every window and ban boundary.
const fuzzStep = 250 * time.Millisecond

func FuzzSourceRules(f *testing.F) {
	for _, seed := range [][]byte{
		{0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0xa0, 0x00},       // ban 198.51.100.1, allow it, un-allow it
		{0x24, 0x24, 0x24, 0x24, 0xc3, 0x24, 0xe3, 0x24},             // ban 2001:db8:1::1 by junk, operator-ban its /64, lift
		{0x47, 0x40, 0x47, 0x47, 0x47, 0x00, 0x67, 0x67, 0x60},       // SYNs and mapped packets share one source, clock runs out the ban
		{0x02, 0x02, 0x02, 0x02, 0x86, 0x02, 0xa6, 0x02, 0x66, 0x02}, // allow everything v4, then not
	} {
		f.Add(seed)
	}
	x, err := srcRulesXDP()
	if err != nil {
		if !errors.Is(err, ErrNotSupported) || hostCannotRunXDP() == "" {
			f.Fatal(err)
		}
		f.Skip("XDP not available here: " + hostCannotRunXDP())
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 64 {
			prog = prog[:64]
		}
		cfg := srcRulesConfig()
		if err := x.Update(cfg); err != nil {
			t.Fatal(err)
		}
		x.resetState(t)
		u, err := NewUserspace(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		base := time.Now()
		var offset time.Duration
		for i, op := range prog {
			n := op & 7
			src := fuzzSources[n]
			var fr []byte
			switch op >> 5 {
			case 0, 1: // a SIP request, or junk
				payload := invite
				if op>>5 == 1 {
					payload = junk
				}
				fr = frame(pkt{src: src, payload: payload})
			case 2: // a TCP SYN
				fr = frame(pkt{src: src, proto: 6, tcpFlags: 0x02})
			case 3: // the clock moves
				offset += fuzzStep * time.Duration(1+n)
				if err := x.setClockOffset(offset); err != nil {
					t.Fatal(err)
				}
				continue
			default: // 4..7: AddAllow, RemoveAllow, AddBan, RemoveBan
				p := fuzzPrefixes[n]
				var xe, ue error
				switch op >> 5 {
				case 4:
					xe, ue = x.AddAllow(p), u.AddAllow(p)
				case 5:
					xe, ue = x.RemoveAllow(p), u.RemoveAllow(p)
				case 6:
					xe, ue = x.AddBan(p), u.AddBan(p)
				case 7:
					xe, ue = x.RemoveBan(p), u.RemoveBan(p)
				}
				if (xe == nil) != (ue == nil) || (xe != nil && !errors.Is(xe, ErrNotFound)) {
					t.Fatalf("op %d (%#x) on %s: XDP %v, user space %v", i, op, p, xe, ue)
				}
				continue
			}
			xr := xdpReason(t, x, fr)
			ur := u.CheckFrame(fr, base.Add(offset))
			if xr != ur {
				t.Fatalf("op %d (%#x) from %s at +%v: XDP says %s, user space %s", i, op, src, offset, xr, ur)
			}
		}
		// User space lists the bans in force at the real time; those in
		// force at the test's time have more than offset left then.
		ubans, _ := u.AutoBans()
		var ub []netip.Addr
		for _, b := range ubans {
			if b.Remaining > offset {
				ub = append(ub, b.Addr)
			}
		}
		if xb := autoBanned(t, x); !slices.Equal(xb, ub) {
			t.Fatalf("automatic bans: XDP %v, user space %v", xb, ub)
		}
		for _, l := range []struct {
			name   string
			xl, ul func() ([]netip.Prefix, error)
		}{{"allow", x.Allowed, u.Allowed}, {"bans", x.Bans, u.Bans}} {
			xp, _ := l.xl()
			up, _ := l.ul()
			if !slices.Equal(xp, up) {
				t.Fatalf("%s list: XDP %v, user space %v", l.name, xp, up)
			}
		}
		if bad := coveredAutoBans(t, x); len(bad) != 0 {
			t.Fatalf("automatic bans of listed sources: %v", bad)
		}
	})
}

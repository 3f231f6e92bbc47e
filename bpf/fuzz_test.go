package bpf

import (
	"bytes"
	"errors"
	"net/netip"
	"regexp"
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

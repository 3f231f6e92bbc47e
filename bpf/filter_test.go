package bpf

import (
	"errors"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

const (
	xdpDrop = 1
	xdpPass = 2
)

// skipIfNotSupported skips the test when the host cannot run the XDP
// program: not root, or a kernel without XDP or bpf_loop (5.17). On a host
// that can, every error fails the test: a verifier rejection there is a bug
// in filter.c, not an excuse to skip.
func skipIfNotSupported(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ErrNotSupported) {
		if reason := hostCannotRunXDP(); reason != "" {
			tb.Skip("XDP not available here: " + reason)
		}
	}
	tb.Fatal(err)
}

// hostCannotRunXDP says why this host cannot load the program, or "".
func hostCannotRunXDP() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	if err := features.HaveProgramType(ebpf.XDP); err != nil {
		return "no XDP programs: " + err.Error()
	}
	if err := features.HaveProgramHelper(ebpf.XDP, asm.FnLoop); err != nil {
		return "no bpf_loop (kernel 5.17+): " + err.Error()
	}
	return ""
}

// loadTestXDP loads the program (not attached) with cfg.
func loadTestXDP(tb testing.TB, cfg Config) *XDP {
	tb.Helper()
	x, err := loadXDP(cfg)
	skipIfNotSupported(tb, err)
	tb.Cleanup(func() { x.Close() })
	return x
}

// run runs the program once on frame (BPF_PROG_TEST_RUN).
func (x *XDP) run(tb testing.TB, frame []byte) uint32 {
	tb.Helper()
	ret, err := x.objs.SipfrontFilter.Run(&ebpf.RunOptions{Data: frame})
	if err != nil {
		tb.Fatalf("prog run: %v", err)
	}
	return ret
}

// resetState forgets every rate state and automatic ban and rewinds the
// clock, so that a scenario starts as on a fresh load.
func (x *XDP) resetState(tb testing.TB) {
	tb.Helper()
	for _, m := range []*ebpf.Map{x.objs.Rates, x.objs.Autobans} {
		var keys []filterSrcKey
		var k filterSrcKey
		it := m.Iterate()
		var v []byte
		for it.Next(&k, &v) {
			keys = append(keys, k)
		}
		if err := it.Err(); err != nil {
			tb.Fatal(err)
		}
		for i := range keys {
			if err := m.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				tb.Fatal(err)
			}
		}
	}
	if err := x.setClockOffset(0); err != nil {
		tb.Fatal(err)
	}
}

// xdpReason runs the program on frame and tells the reason by the counter
// that moved.
func xdpReason(tb testing.TB, x *XDP, frame []byte) Reason {
	before, err := x.Counters()
	if err != nil {
		tb.Fatal(err)
	}
	ret := x.run(tb, frame)
	after, _ := x.Counters()
	for r := range after {
		if after[r] != before[r] {
			if action(Reason(r)) != ret {
				tb.Fatalf("counter %s moved, action %d", Reason(r), ret)
			}
			return Reason(r)
		}
	}
	tb.Fatal("no counter moved")
	return 0
}

func action(r Reason) uint32 {
	if r.Drop() {
		return xdpDrop
	}
	return xdpPass
}

// checkDelta requires that exactly the want counter moved, by one.
func checkDelta(tb testing.TB, before, after Counters, want Reason) {
	tb.Helper()
	for r := range after {
		d := after[r] - before[r]
		if (Reason(r) == want && d != 1) || (Reason(r) != want && d != 0) {
			tb.Errorf("counter %s moved by %d, want %d (expected reason %s)", Reason(r), d, b2i(Reason(r) == want), want)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestFixturesXDP(t *testing.T) {
	x := loadTestXDP(t, fixtureConfig())
	for _, sc := range fixtures() {
		t.Run(sc.name, func(t *testing.T) {
			x.resetState(t)
			var offset time.Duration
			for i, st := range sc.steps {
				if st.advance != 0 {
					offset += st.advance
					if err := x.setClockOffset(offset); err != nil {
						t.Fatal(err)
					}
				}
				before, err := x.Counters()
				if err != nil {
					t.Fatal(err)
				}
				ret := x.run(t, st.frame)
				after, err := x.Counters()
				if err != nil {
					t.Fatal(err)
				}
				if ret != action(st.want) {
					t.Errorf("step %d %q: XDP action %d, want %d (%s)", i, st.name, ret, action(st.want), st.want)
				}
				checkDelta(t, before, after, st.want)
			}
		})
	}
}

func TestFixturesUserspace(t *testing.T) {
	for _, sc := range fixtures() {
		t.Run(sc.name, func(t *testing.T) {
			u, err := NewUserspace(fixtureConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			base := time.Now()
			var offset time.Duration
			for i, st := range sc.steps {
				offset += st.advance
				before, _ := u.Counters()
				got := u.CheckFrame(st.frame, base.Add(offset))
				after, _ := u.Counters()
				if got != st.want {
					t.Errorf("step %d %q: user space says %s, want %s", i, st.name, got, st.want)
				}
				checkDelta(t, before, after, st.want)
			}
		})
	}
}

// TestConstantsMatchC reads filter.c and checks that the numbers both
// implementations depend on agree: the reason enum, the payload limits, and
// the token character set.
func TestConstantsMatchC(t *testing.T) {
	src, err := os.ReadFile("filter.c")
	if err != nil {
		t.Fatal(err)
	}
	defines := map[string]uint64{}
	for _, m := range regexp.MustCompile(`(?m)^#define (\w+) (0x[0-9a-fA-F]+|[0-9]+)(ULL)?\b`).FindAllStringSubmatch(string(src), -1) {
		v, err := strconv.ParseUint(m[2], 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		defines[m[1]] = v
	}
	for name, want := range map[string]uint64{
		"CRLF_MAX": crlfMax, "METHOD_MAX": methodMax, "SCAN_LIMIT": scanLimit, "SEP_MAX": sepMax,
		"UA_MAX": MaxUserAgents, "UA_LEN": MaxUserAgentLen, "PAYLOAD_OFF_MAX": payloadOffMax,
		"PORT_BITMAP_BYTES": 8192,
	} {
		if got, ok := defines[name]; !ok || got != want {
			t.Errorf("filter.c %s = %d (found %v), Go has %d", name, got, ok, want)
		}
	}
	var lo, hi uint64
	for c := 0; c < 128; c++ {
		if tokenChars[c] {
			if c < 64 {
				lo |= 1 << c
			} else {
				hi |= 1 << (c - 64)
			}
		}
	}
	for c := 128; c < 256; c++ {
		if tokenChars[c] {
			t.Errorf("byte %#x is a token character in Go", c)
		}
	}
	if defines["TOKEN_LO"] != lo || defines["TOKEN_HI"] != hi {
		t.Errorf("token masks: C %#x %#x, Go %#x %#x", defines["TOKEN_LO"], defines["TOKEN_HI"], lo, hi)
	}
	enum := regexp.MustCompile(`(?m)^\s+REASON_(\w+) = (\d+),`).FindAllStringSubmatch(string(src), -1)
	if len(enum) != NumReasons+1 {
		t.Fatalf("filter.c has %d reasons (with REASON_MAX), Go %d", len(enum), NumReasons)
	}
	for _, m := range enum {
		v, _ := strconv.Atoi(m[2])
		name := strings.ToLower(m[1])
		if name == "max" {
			if v != NumReasons {
				t.Errorf("REASON_MAX = %d, NumReasons = %d", v, NumReasons)
			}
			continue
		}
		if got := Reason(v).String(); got != name {
			t.Errorf("C reason %d is %s, Go calls it %s", v, name, got)
		}
	}
}

// TestLoadVerifierBudget loads the program and reports how much work the
// verifier did, failing when it nears the kernel's limit: a change to
// filter.c that makes the verifier walk many more paths shows up here
// before it shows up as a load failure on some other kernel.
func TestLoadVerifierBudget(t *testing.T) {
	x := loadTestXDP(t, fixtureConfig())
	info, err := x.objs.SipfrontFilter.Info()
	if err != nil {
		t.Fatal(err)
	}
	n, ok := info.VerifiedInstructions()
	if !ok {
		t.Skip("kernel does not report verified instructions")
	}
	t.Logf("verifier processed %d instructions", n)
	if n > 500_000 {
		t.Errorf("verifier processed %d instructions; the limit is 1,000,000", n)
	}
}

// managed drives one implementation for the management test: send delivers
// a frame at the given clock offset.
type managed struct {
	f    Filter
	send func(t *testing.T, frame []byte, at time.Duration) Reason
}

func testManagement(t *testing.T, m managed) {
	f := m.f
	src := a("198.51.100.200")
	flood := udp4(src.String(), invite)

	// Automatic bans: cross the limit, list, clear one, clear all.
	for i := 0; i < 5; i++ {
		if r := m.send(t, flood, 0); r != Passed {
			t.Fatalf("packet %d: %s", i, r)
		}
	}
	if r := m.send(t, flood, 0); r != DroppedRate {
		t.Fatalf("sixth packet: %s, want dropped_rate", r)
	}
	bans, err := f.AutoBans()
	if err != nil {
		t.Fatal(err)
	}
	if len(bans) != 1 || bans[0].Addr != src || bans[0].Remaining <= 9*time.Second || bans[0].Remaining > 10*time.Second {
		t.Fatalf("AutoBans = %+v, want %s for ~10s", bans, src)
	}
	if ok, err := f.ClearAutoBan(src); err != nil || !ok {
		t.Fatalf("ClearAutoBan = %v, %v", ok, err)
	}
	if ok, _ := f.ClearAutoBan(src); ok {
		t.Fatal("second ClearAutoBan found a ban")
	}
	if r := m.send(t, flood, 0); r != Passed {
		t.Fatalf("after ClearAutoBan: %s", r)
	}
	for _, s := range []string{"198.51.100.201", "2001:db8:9::1"} {
		for i := 0; i < 6; i++ {
			m.send(t, udp4(s, invite), 0)
		}
	}
	if bans, _ := f.AutoBans(); len(bans) != 2 {
		t.Fatalf("AutoBans after two floods = %+v", bans)
	}
	if n, err := f.ClearAutoBans(); err != nil || n != 2 {
		t.Fatalf("ClearAutoBans = %d, %v", n, err)
	}
	if bans, _ := f.AutoBans(); len(bans) != 0 {
		t.Fatalf("AutoBans after clearing = %+v", bans)
	}

	// Operator bans.
	p := netip.MustParsePrefix("198.51.100.240/28")
	other := udp4("198.51.100.241", invite)
	if r := m.send(t, other, 0); r != Passed {
		t.Fatalf("before AddBan: %s", r)
	}
	if err := f.AddBan(p); err != nil {
		t.Fatal(err)
	}
	if err := f.AddBan(netip.MustParsePrefix("::ffff:198.51.100.0/124")); err != nil { // 4in6: stored as 198.51.100.0/28
		t.Fatal(err)
	}
	got, err := f.Bans()
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("198.51.100.0/28"),
		p,
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("2001:db8:bad::/48"),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Bans = %v, want %v", got, want)
	}
	if r := m.send(t, other, 0); r != DroppedOperatorBan {
		t.Fatalf("after AddBan: %s", r)
	}
	if err := f.RemoveBan(p); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveBan(p); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second RemoveBan: %v, want ErrNotFound", err)
	}
	if r := m.send(t, other, 0); r != Passed {
		t.Fatalf("after RemoveBan: %s", r)
	}
	if err := f.AddBan(netip.Prefix{}); !errors.Is(err, ErrBadPrefix) {
		t.Fatalf("AddBan(invalid) = %v", err)
	}

	// Allow list.
	scanner := udp6("2001:db8:77::1", sipRequest("OPTIONS", "friendly-scanner"))
	if r := m.send(t, scanner, 0); r != DroppedUserAgent {
		t.Fatalf("scanner before AddAllow: %s", r)
	}
	ap := netip.MustParsePrefix("2001:db8:77::/64")
	if err := f.AddAllow(ap); err != nil {
		t.Fatal(err)
	}
	if al, _ := f.Allowed(); !slices.Contains(al, ap) || len(al) != 4 {
		t.Fatalf("Allowed = %v", al)
	}
	if r := m.send(t, scanner, 0); r != Allowed {
		t.Fatalf("scanner after AddAllow: %s", r)
	}
	if err := f.RemoveAllow(ap); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveAllow(ap); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second RemoveAllow: %v", err)
	}

	// Update: new ports and prefixes; run-time edits give way.
	cfg := fixtureConfig()
	cfg.Ports = []uint16{5062}
	cfg.UserAgents = nil
	cfg.Ban = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	if err := f.Update(cfg); err != nil {
		t.Fatal(err)
	}
	if bans, _ := f.Bans(); !slices.Equal(bans, cfg.Ban) {
		t.Fatalf("Bans after Update = %v", bans)
	}
	if r := m.send(t, frame(pkt{src: a("198.51.100.9"), dport: 5062, payload: invite}), 0); r != DroppedOperatorBan {
		t.Fatalf("after Update, banned on the new port: %s", r)
	}
	if r := m.send(t, frame(pkt{src: a("198.51.100.9"), dport: 5060, payload: invite}), 0); r != Ignored {
		t.Fatalf("after Update, old port: %s", r)
	}
	if r := m.send(t, frame(pkt{src: a("2001:db8:78::1"), dport: 5062, payload: sipRequest("OPTIONS", "friendly-scanner")}), 0); r != Passed {
		t.Fatalf("after Update without User-Agents: %s", r)
	}
	cfg.MaxSources = 8192
	if err := f.Update(cfg); !errors.Is(err, ErrRestartRequired) {
		t.Fatalf("Update(MaxSources) = %v", err)
	}
	bad := cfg
	bad.Ports = nil
	if err := f.Update(bad); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("Update(no ports) = %v", err)
	}

	c, err := f.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c[Passed] == 0 || c[DroppedRate] != 3 || c[DroppedOperatorBan] != 2 || c[Allowed] != 1 || c[DroppedUserAgent] != 1 || c[Ignored] != 1 {
		t.Fatalf("Counters = %v", c)
	}
}

func TestManagementXDP(t *testing.T) {
	x := loadTestXDP(t, fixtureConfig())
	testManagement(t, managed{f: x, send: func(t *testing.T, f []byte, _ time.Duration) Reason {
		return xdpReason(t, x, f)
	}})
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Bans(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Bans after Close: %v", err)
	}
}

func TestManagementUserspace(t *testing.T) {
	u, err := NewUserspace(fixtureConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	testManagement(t, managed{f: u, send: func(t *testing.T, f []byte, at time.Duration) Reason {
		return u.CheckFrame(f, time.Now().Add(at))
	}})
}

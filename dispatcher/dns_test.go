package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDNS is a DNSFunc the test controls: an answer per host, changeable at
// any time, and a log of the queries asked. (The real resolver, against a
// real DNS server on loopback, is tested in lb/resolve.)
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string]fakeAnswer
	asked   []DNSQuery
	calls   atomic.Int64
}

type fakeAnswer struct {
	ts  []Target
	ttl time.Duration
	err error
}

func newFakeDNS() *fakeDNS { return &fakeDNS{answers: map[string]fakeAnswer{}} }

func (f *fakeDNS) set(host string, ttl time.Duration, ts ...Target) {
	f.mu.Lock()
	f.answers[host] = fakeAnswer{ts: ts, ttl: ttl}
	f.mu.Unlock()
}

func (f *fakeDNS) fail(host string, err error) {
	f.mu.Lock()
	f.answers[host] = fakeAnswer{err: err}
	f.mu.Unlock()
}

func (f *fakeDNS) lookup(ctx context.Context, q DNSQuery) ([]Target, time.Duration, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, q)
	a, ok := f.answers[q.Host]
	if !ok {
		return nil, 0, errors.New("fake: no such host")
	}
	return slices.Clone(a.ts), a.ttl, a.err
}

func (f *fakeDNS) queries() []DNSQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

func tgt(ap string, tr Transport, prio, weight uint16, name string) Target {
	return Target{Addr: netip.MustParseAddrPort(ap), Transport: tr, Priority: prio, Weight: weight, Name: name}
}

// srvFarm is what an SRV record set for pbx.test could give: two hosts at
// priority 10 weighted 60/20 (pbx2 dual-stack), one at 20.
func srvFarm() []Target {
	return []Target{
		tgt("10.0.0.3:5070", UDP, 20, 0, "pbx3.test"),
		tgt("[2001:db8::2]:5062", UDP, 10, 20, "pbx2.test"),
		tgt("10.0.0.2:5062", UDP, 10, 20, "pbx2.test"),
		tgt("10.0.0.1:5060", UDP, 10, 60, "pbx1.test"),
	}
}

func TestDNSLoad(t *testing.T) {
	f := newFakeDNS()
	f.set("pbx.test", 30*time.Second, srvFarm()...)
	before := time.Now()
	tbl, warns, err := Load("l", []byte("1 sip:pbx.test 0 0 duid=farm\n1 sip:10.0.9.9\n"), Options{DNS: f.lookup})
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	d := find(t, tbl, 1, "sip:pbx.test")
	if want := netip.MustParseAddrPort("10.0.0.1:5060"); d.Addr != want {
		t.Errorf("Addr %v, want the primary target %v", d.Addr, want)
	}
	wantOrder := []string{"10.0.0.1:5060", "10.0.0.2:5062", "[2001:db8::2]:5062", "10.0.0.3:5070"}
	var got []string
	for _, x := range d.Targets() {
		got = append(got, x.Addr.String())
	}
	if !slices.Equal(got, wantOrder) {
		t.Errorf("targets %v, want %v", got, wantOrder)
	}
	st, ok := d.DNS()
	if !ok {
		t.Fatal("no DNS status for a named destination")
	}
	if st.ResolvedAt.Before(before) || st.LastErr != nil || st.TTL != 30*time.Second || st.Query != (DNSQuery{Host: "pbx.test"}) {
		t.Errorf("status %+v", st)
	}
	if len(st.Targets) != 4 || !st.Targets[0].Usable {
		t.Errorf("status targets %+v", st.Targets)
	}
	if _, ok := find(t, tbl, 1, "sip:10.0.9.9").DNS(); ok {
		t.Error("an IP literal has a DNS status")
	}
	for _, x := range srvFarm() {
		if tbl.ByAddr(x.Addr) != d {
			t.Errorf("ByAddr(%v) does not find the named destination", x.Addr)
		}
		if tbl.ByIP(x.Addr.Addr()) != d {
			t.Errorf("ByIP(%v) does not find the named destination", x.Addr.Addr())
		}
	}
	if tbl.ByAddr(netip.MustParseAddrPort("10.0.0.1:5999")) != nil {
		t.Error("ByAddr matches a target's address on another port")
	}
	// The list renders back with the name, not the addresses.
	if text := string(tbl.AppendList(nil)); !strings.Contains(text, "1 sip:pbx.test 0 0 duid=farm\n") {
		t.Errorf("rendering:\n%s", text)
	}
}

// TestDNSQueryFromURI: the query carries what RFC 3263 reads from the URI.
func TestDNSQueryFromURI(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want DNSQuery
	}{
		{"sip:pbx.test", DNSQuery{Host: "pbx.test"}},
		{"pbx.test:5080", DNSQuery{Host: "pbx.test", Port: 5080}},
		{"sip:pbx.test;transport=tcp", DNSQuery{Host: "pbx.test", Transport: TCP}},
		{"sip:user@pbx.test:5090;transport=udp", DNSQuery{Host: "pbx.test", Port: 5090, Transport: UDP}},
		{"sips:pbx.test", DNSQuery{Host: "pbx.test", Secure: true}},
		{"sips:pbx.test;transport=tcp", DNSQuery{Host: "pbx.test", Transport: TLS, Secure: true}},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			f := newFakeDNS()
			f.set("pbx.test", time.Minute, tgt("10.0.0.1:5060", TCP, 0, 0, "pbx.test"))
			if _, warns, err := Load("l", []byte("1 "+tc.uri+"\n"), Options{DNS: f.lookup}); err != nil || len(warns) != 0 {
				t.Fatal(err, warns)
			}
			if q := f.queries(); len(q) != 1 || q[0] != tc.want {
				t.Errorf("asked %+v, want %+v", q, tc.want)
			}
		})
	}
}

// TestDNSFailureAtLoad: a name that does not resolve is a skipped line with
// a warning naming the line; the rest loads. One lookup per name per load.
func TestDNSFailureAtLoad(t *testing.T) {
	f := newFakeDNS()
	f.fail("gone.test", errors.New("resolve: A gone.test.: no address for name"))
	f.set("empty.test", time.Minute)
	f.set("ok.test", time.Minute, tgt("10.0.0.1:5060", UDP, 0, 0, "ok.test"))
	list := "1 sip:gone.test\n1 sip:ok.test\n2 sip:gone.test\n1 sip:empty.test\n1 sip:10.0.0.9\n"
	tbl, warns, err := Load("dispatcher.list", []byte(list), Options{DNS: f.lookup})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 3 {
		t.Fatalf("warnings %v, want three", warns)
	}
	for i, line := range []int{1, 3, 4} {
		w := warns[i]
		if w.Line != line || !errors.Is(w.Err, ErrResolve) || !strings.Contains(w.Reason, "line skipped") {
			t.Errorf("warning %d: %v", i, w)
		}
	}
	if !strings.Contains(warns[0].String(), `dispatcher.list:1: "sip:gone.test": line skipped: cannot resolve "gone.test"`) {
		t.Errorf("warning reads %q", warns[0].String())
	}
	if !strings.Contains(warns[2].Reason, "no address") {
		t.Errorf("empty answer: %v", warns[2])
	}
	if n := len(tbl.Dests()); n != 2 {
		t.Errorf("%d destinations, want ok.test and the IP", n)
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("%d lookups, want 3 (gone.test once)", n)
	}
	if _, _, err := Load("dispatcher.list", []byte(list), Options{DNS: f.lookup, Strict: true}); !errors.Is(err, ErrResolve) {
		t.Errorf("strict: %v, want ErrResolve", err)
	}
}

// TestTargetWeights: within the lowest SRV priority, targets share keys in
// proportion to their weights; the next priority takes none until every
// target of the first is unusable; the same key stays on the same target.
func TestTargetWeights(t *testing.T) {
	f := newFakeDNS()
	f.set("pbx.test", time.Minute,
		tgt("10.0.0.1:5060", UDP, 10, 60, "a.test"),
		tgt("10.0.0.2:5060", UDP, 10, 30, "b.test"),
		tgt("10.0.0.3:5060", UDP, 10, 10, "c.test"),
		tgt("10.0.0.4:5060", UDP, 20, 50, "d.test"),
		tgt("10.0.0.5:5060", UDP, 20, 50, "e.test"))
	tbl, _, err := Load("l", []byte("1 sip:pbx.test\n"), Options{DNS: f.lookup})
	if err != nil {
		t.Fatal(err)
	}
	d := tbl.Dests()[0]
	const n = 60000
	count := func() map[string]int {
		c := map[string]int{}
		for i := range n {
			c[d.Target(HashString(fmt.Sprint("call-", i))).Addr().String()]++
		}
		return c
	}
	c := count()
	for ip, share := range map[string]float64{"10.0.0.1": 0.6, "10.0.0.2": 0.3, "10.0.0.3": 0.1} {
		got := float64(c[ip]) / n
		// 5 standard deviations of a binomial share: a wrong weight fails,
		// chance does not.
		if tol := 5 * math.Sqrt(share*(1-share)/n); math.Abs(got-share) > tol {
			t.Errorf("%s took %.4f of the calls, want %.2f ± %.4f", ip, got, share, tol)
		}
	}
	if c["10.0.0.4"]+c["10.0.0.5"] != 0 {
		t.Errorf("priority 20 took calls while priority 10 was usable: %v", c)
	}

	// Stability: the same key gives the same target; marking one target
	// unusable moves only its own keys.
	keys := make([]uint64, 5000)
	before := make([]netip.AddrPort, len(keys))
	for i := range keys {
		keys[i] = HashString(fmt.Sprint("k", i))
		before[i] = d.Target(keys[i])
		if d.Target(keys[i]) != before[i] {
			t.Fatal("same key, different target")
		}
	}
	b := netip.MustParseAddrPort("10.0.0.2:5060")
	if !d.SetTargetUsable(b, 0, false) {
		t.Fatal("SetTargetUsable: target not found")
	}
	for i, k := range keys {
		now := d.Target(k)
		if before[i] != b && now != before[i] {
			t.Fatalf("key %d moved from %v to %v though its target stayed", i, before[i], now)
		}
		if now == b {
			t.Fatal("unusable target picked")
		}
	}

	// Fallback: every priority-10 target unusable → priority 20, shared.
	d.SetTargetUsable(netip.MustParseAddrPort("10.0.0.1:5060"), UDP, false)
	d.SetTargetUsable(netip.MustParseAddrPort("10.0.0.3:5060"), 0, false)
	c = count()
	if c["10.0.0.4"]+c["10.0.0.5"] != n || c["10.0.0.4"] < n/3 || c["10.0.0.5"] < n/3 {
		t.Errorf("fallback to priority 20: %v", c)
	}
	st, _ := d.DNS()
	usable := 0
	for _, x := range st.Targets {
		if x.Usable {
			usable++
		}
	}
	if usable != 2 {
		t.Errorf("status shows %d usable targets, want 2", usable)
	}
	// Every target unusable: the primary, rather than nothing.
	d.SetTargetUsable(netip.MustParseAddrPort("10.0.0.4:5060"), 0, false)
	d.SetTargetUsable(netip.MustParseAddrPort("10.0.0.5:5060"), 0, false)
	if got := d.Target(1); got != d.Addr {
		t.Errorf("all unusable: %v, want Addr %v", got, d.Addr)
	}
	if d.SetTargetUsable(netip.MustParseAddrPort("10.9.9.9:5060"), 0, true) {
		t.Error("SetTargetUsable found a target that is not one")
	}
	// The marks belong to the DNS entry: a reload keeps them.
	d.SetTargetUsable(netip.MustParseAddrPort("10.0.0.1:5060"), 0, true)
	disp := New(tbl, Options{DNS: f.lookup})
	dir := t.TempDir()
	path := filepath.Join(dir, "l")
	writeList(t, path, "1 sip:pbx.test\n")
	if _, _, err := disp.Reload(path); err != nil {
		t.Fatal(err)
	}
	if got := disp.Current().Dests()[0].Target(12345); got != netip.MustParseAddrPort("10.0.0.1:5060") {
		t.Errorf("after reload: %v, want the only usable target", got)
	}
}

func TestTargetZeroWeights(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   []Target
		want map[string]float64
	}{
		{"all zero: equal shares", []Target{tgt("10.0.0.1:5060", UDP, 0, 0, "a"), tgt("10.0.0.2:5060", UDP, 0, 0, "b")},
			map[string]float64{"10.0.0.1": 0.5, "10.0.0.2": 0.5}},
		{"zero beside non-zero: no share", []Target{tgt("10.0.0.1:5060", UDP, 0, 0, "a"), tgt("10.0.0.2:5060", UDP, 0, 5, "b")},
			map[string]float64{"10.0.0.2": 1}},
		{"A records of one name: equal shares", []Target{tgt("10.0.0.1:5060", UDP, 0, 0, "h"), tgt("10.0.0.2:5060", UDP, 0, 0, "h"), tgt("10.0.0.3:5060", UDP, 0, 0, "h")},
			map[string]float64{"10.0.0.1": 1.0 / 3, "10.0.0.2": 1.0 / 3, "10.0.0.3": 1.0 / 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeDNS()
			f.set("h.test", time.Minute, tc.ts...)
			tbl, _, err := Load("l", []byte("1 sip:h.test\n"), Options{DNS: f.lookup})
			if err != nil {
				t.Fatal(err)
			}
			d := tbl.Dests()[0]
			const n = 30000
			c := map[string]int{}
			for i := range n {
				c[d.Target(uint64(i)*0x9e3779b97f4a7c15).Addr().String()]++
			}
			for ip, share := range tc.want {
				if tol := 5*math.Sqrt(share*(1-share)/n) + 1e-9; math.Abs(float64(c[ip])/n-share) > tol {
					t.Errorf("%s: %d of %d, want %.3f", ip, c[ip], n, share)
				}
			}
			for ip := range c {
				if _, ok := tc.want[ip]; !ok {
					t.Errorf("%s took %d calls, want none", ip, c[ip])
				}
			}
		})
	}
}

// TestTargetFamily: a dual-stack host takes calls on its preferred family
// only; a host with only the other family still competes.
func TestTargetFamily(t *testing.T) {
	ts := []Target{
		tgt("10.0.0.1:5060", UDP, 0, 0, "dual.test"),
		tgt("[2001:db8::1]:5060", UDP, 0, 0, "dual.test"),
		tgt("[2001:db8::2]:5060", UDP, 0, 0, "v6only.test"),
	}
	for _, tc := range []struct {
		name     string
		preferV6 bool
		primary  string
		want     []string
	}{
		{"IPv4 preferred", false, "10.0.0.1:5060", []string{"10.0.0.1:5060", "[2001:db8::2]:5060"}},
		{"IPv6 preferred", true, "[2001:db8::1]:5060", []string{"[2001:db8::1]:5060", "[2001:db8::2]:5060"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeDNS()
			f.set("farm.test", time.Minute, ts...)
			tbl, _, err := Load("l", []byte("1 sip:farm.test\n"), Options{DNS: f.lookup, PreferIPv6: tc.preferV6})
			if err != nil {
				t.Fatal(err)
			}
			d := tbl.Dests()[0]
			if d.Addr.String() != tc.primary {
				t.Errorf("primary %v, want %v", d.Addr, tc.primary)
			}
			seen := map[string]bool{}
			for i := range 2000 {
				seen[d.Target(uint64(i)*0x9e3779b97f4a7c15).String()] = true
			}
			var got []string
			for k := range seen {
				got = append(got, k)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("targets used %v, want %v", got, want)
			}
		})
	}
}

// TestDNSCheck: Options.Check vets each target; a name keeps those it
// accepts, and is skipped when it accepts none.
func TestDNSCheck(t *testing.T) {
	f := newFakeDNS()
	f.set("dual.test", time.Minute, tgt("[2001:db8::1]:5060", UDP, 0, 0, "dual.test"), tgt("10.0.0.1:5060", UDP, 0, 0, "dual.test"))
	f.set("v6.test", time.Minute, tgt("[2001:db8::2]:5060", UDP, 0, 0, "v6.test"))
	noV6 := func(d *Dest) error {
		if d.Addr.Addr().Is6() {
			return errors.New("no IPv6 listener")
		}
		return nil
	}
	tbl, warns, err := Load("l", []byte("1 sip:dual.test\n1 sip:v6.test\n"), Options{DNS: f.lookup, Check: noV6, PreferIPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || warns[0].Line != 2 || !errors.Is(warns[0].Err, ErrRejected) || !strings.Contains(warns[0].Reason, "no IPv6 listener") {
		t.Errorf("warnings %v", warns)
	}
	d := find(t, tbl, 1, "sip:dual.test")
	if got := d.Targets(); len(got) != 1 || got[0].Addr.String() != "10.0.0.1:5060" || d.Target(7) != got[0].Addr {
		t.Errorf("targets %v", got)
	}
}

// waitFor polls cond every 5 ms for up to limit: the refresh loop runs on
// its own clock, so the test waits for what it should do, within a bound.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startDNS(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := d.StartDNS(ctx)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("refresh loop did not stop")
		}
	})
}

// TestDNSRefresh: a new answer after the TTL swaps in a table with the new
// targets; the destination keeps its Runtime (state, counters) and URI.
func TestDNSRefresh(t *testing.T) {
	f := newFakeDNS()
	f.set("pbx.test", 50*time.Millisecond, tgt("10.0.0.1:5060", UDP, 0, 0, "pbx.test"))
	opts := Options{DNS: f.lookup, DNSMinTTL: 10 * time.Millisecond}
	tbl, _, err := Load("l", []byte("1 sip:pbx.test\n1 sip:10.0.9.9\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, opts)
	old := find(t, tbl, 1, "sip:pbx.test")
	rt := old.RT
	old.Transition(AllStates, Draining, "test")
	old.RT.Selected.Add(7)
	st0, _ := old.DNS()
	startDNS(t, d)

	// Same answer: no new table, but the age restarts.
	waitFor(t, 2*time.Second, "a refresh", func() bool {
		st, _ := find(t, d.Current(), 1, "sip:pbx.test").DNS()
		return st.ResolvedAt.After(st0.ResolvedAt)
	})
	if d.Current() != tbl {
		t.Error("an unchanged answer swapped the table")
	}

	f.set("pbx.test", 50*time.Millisecond, tgt("10.0.0.2:5060", UDP, 0, 0, "pbx.test"), tgt("10.0.0.3:5060", UDP, 0, 0, "pbx.test"))
	waitFor(t, 2*time.Second, "the new targets", func() bool {
		return d.Current().ByAddr(netip.MustParseAddrPort("10.0.0.3:5060")) != nil
	})
	cur := d.Current()
	nd := find(t, cur, 1, "sip:pbx.test")
	if nd.RT != rt || nd.State() != Draining || nd.RT.Selected.Load() != 7 {
		t.Errorf("Runtime not carried: %p %v %d", nd.RT, nd.State(), nd.RT.Selected.Load())
	}
	if nd.Addr != netip.MustParseAddrPort("10.0.0.2:5060") || cur.ByAddr(netip.MustParseAddrPort("10.0.0.1:5060")) != nil {
		t.Errorf("old target still in use: Addr %v", nd.Addr)
	}
	if find(t, cur, 1, "sip:10.0.9.9").RT != find(t, tbl, 1, "sip:10.0.9.9").RT {
		t.Error("the IP destination lost its Runtime")
	}
	// The old table stays intact for a reader that still holds it.
	if old.Addr != netip.MustParseAddrPort("10.0.0.1:5060") || tbl.ByAddr(old.Addr) != old {
		t.Error("the old table was modified")
	}
}

// TestDNSFailureKeepsTargets: when DNS fails, the last good targets stay,
// the error and the time of the last success are recorded, and the next
// good answer clears the error.
func TestDNSFailureKeepsTargets(t *testing.T) {
	f := newFakeDNS()
	f.set("pbx.test", 20*time.Millisecond, tgt("10.0.0.1:5060", UDP, 0, 0, "pbx.test"))
	opts := Options{DNS: f.lookup, DNSMinTTL: 10 * time.Millisecond}
	tbl, _, err := Load("l", []byte("1 sip:pbx.test\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, opts)
	st0, _ := tbl.Dests()[0].DNS()
	boom := errors.New("resolve: timeout")
	f.fail("pbx.test", boom)
	startDNS(t, d)
	waitFor(t, 2*time.Second, "the error recorded", func() bool {
		st, _ := d.Current().Dests()[0].DNS()
		return st.LastErr != nil
	})
	calls := f.calls.Load()
	waitFor(t, 2*time.Second, "a retry", func() bool { return f.calls.Load() > calls })
	cur := d.Current()
	st, _ := cur.Dests()[0].DNS()
	if !errors.Is(st.LastErr, boom) || !st.ResolvedAt.Equal(st0.ResolvedAt) || !st.LastTry.After(st.ResolvedAt) {
		t.Errorf("status %+v", st)
	}
	if age := st.Age(time.Now()); age <= 0 {
		t.Errorf("age %v", age)
	}
	if cur.Dests()[0].Addr != netip.MustParseAddrPort("10.0.0.1:5060") {
		t.Errorf("targets changed on failure: %v", cur.Dests()[0].Targets())
	}

	// The answer comes back: the error is cleared, the age restarts.
	f.set("pbx.test", time.Hour, tgt("10.0.0.1:5060", UDP, 0, 0, "pbx.test"))
	waitFor(t, 2*time.Second, "recovery", func() bool {
		st, _ := d.Current().Dests()[0].DNS()
		return st.LastErr == nil && st.ResolvedAt.After(st0.ResolvedAt)
	})
	st, _ = d.Current().Dests()[0].DNS()
	if st.TTL != time.Hour {
		t.Errorf("TTL %v, want 1h", st.TTL)
	}
}

// TestDNSRetryBackoff: failures retry at DNSMinTTL, doubling, never later
// than the TTL.
func TestDNSRetryBackoff(t *testing.T) {
	o := &Options{DNSMinTTL: time.Second}
	e := &dnsEntry{}
	now := time.Unix(1000, 0)
	e.record([]Target{tgt("10.0.0.1:5060", UDP, 0, 0, "h")}, 10*time.Second, now, o)
	var waits []time.Duration
	for range 6 {
		e.fail(errors.New("x"), now, o)
		waits = append(waits, e.next.Sub(now))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	for _, tc := range []struct {
		in, want time.Duration
	}{{-1, time.Minute}, {0, time.Second}, {500 * time.Millisecond, time.Second}, {2 * time.Hour, time.Hour}} {
		if got := o.clampTTL(tc.in); got != tc.want {
			t.Errorf("clampTTL(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestDNSReload: a reload reuses the running table's answer for a name it
// keeps (no query, so a DNS outage does not drop it), and asks for a name
// it adds; the Runtime is carried by URI.
func TestDNSReload(t *testing.T) {
	f := newFakeDNS()
	f.set("pbx.test", time.Hour, tgt("10.0.0.1:5060", UDP, 0, 0, "pbx.test"))
	f.set("new.test", time.Hour, tgt("10.0.0.7:5060", UDP, 0, 0, "new.test"))
	opts := Options{DNS: f.lookup}
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	writeList(t, path, "1 sip:pbx.test\n")
	tbl, _, err := LoadFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, opts)
	rt := tbl.Dests()[0].RT
	f.fail("pbx.test", errors.New("resolve: timeout"))
	writeList(t, path, "1 sip:pbx.test\n1 sip:new.test\n")
	diff, warns, err := d.Reload(path)
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	if len(diff.Added) != 1 || diff.Added[0].URI != "sip:new.test" || len(diff.Removed)+len(diff.Changed) != 0 {
		t.Errorf("diff %v", diff)
	}
	if q := f.queries(); len(q) != 2 || q[1].Host != "new.test" {
		t.Errorf("asked %+v, want pbx.test once (at load) and new.test", q)
	}
	if find(t, d.Current(), 1, "sip:pbx.test").RT != rt {
		t.Error("Runtime not carried across the reload")
	}
}

// TestDNSOverlay: run-time changes work on named destinations and survive
// a refresh that changes their targets.
func TestDNSOverlay(t *testing.T) {
	f := newFakeDNS()
	f.set("pbx.test", 30*time.Millisecond, tgt("10.0.0.1:5060", UDP, 0, 0, "pbx.test"))
	opts := Options{DNS: f.lookup, DNSMinTTL: 10 * time.Millisecond}
	tbl, _, err := Load("l", []byte("1 sip:10.0.9.9\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, opts)
	if err := d.Add(1, "sip:pbx.test", 0, 0, "duid=farm"); err != nil {
		t.Fatal(err)
	}
	if err := d.Add(2, "sip:PBX.test", 0, 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := d.Add(1, "sip:pbx.test", 0, 0, ""); !errors.Is(err, ErrExists) {
		t.Errorf("second add of the same name: %v, want ErrExists", err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d lookups, want 1 (the second set reuses the answer)", n)
	}
	if err := d.SetWeight(1, "farm", 40); err != nil {
		t.Fatal(err)
	}
	if err := d.SetState(1, "farm", Draining, "test"); err != nil {
		t.Fatal(err)
	}
	startDNS(t, d)
	f.set("pbx.test", time.Hour, tgt("10.0.0.2:5060", UDP, 0, 0, "pbx.test"))
	waitFor(t, 2*time.Second, "the new target", func() bool {
		return d.Current().ByAddr(netip.MustParseAddrPort("10.0.0.2:5060")) != nil
	})
	cur := d.Current()
	x := find(t, cur, 1, "sip:pbx.test")
	if x.Attrs.Weight != 40 || x.State() != Draining || x.Addr.String() != "10.0.0.2:5060" {
		t.Errorf("after refresh: weight %d, state %v, addr %v", x.Attrs.Weight, x.State(), x.Addr)
	}
	if y := find(t, cur, 2, "sip:PBX.test"); y.Addr.String() != "10.0.0.2:5060" {
		t.Errorf("set 2 shares the answer: %v", y.Addr)
	}
	if err := d.Remove(1, "farm"); err != nil {
		t.Fatal(err)
	}
	if d.Current().Set(1).Select(HashCallID, 1).URI != "sip:10.0.9.9" {
		t.Error("removed destination still selected")
	}
}

// TestDNSLegacyResolve: Options.Resolve (no TTL) gives every address as a
// target, refreshed at the minimum TTL bound at the earliest.
func TestDNSLegacyResolve(t *testing.T) {
	var n atomic.Int64
	resolve := func(host string) ([]netip.Addr, error) {
		i := n.Add(1)
		return []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.AddrFrom4([4]byte{10, 0, 1, byte(i)})}, nil
	}
	opts := Options{Resolve: resolve, DNSMinTTL: time.Millisecond, DNSMaxTTL: 20 * time.Millisecond}
	tbl, _, err := Load("l", []byte("1 sips:pbx.test\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	x := tbl.Dests()[0]
	if got := x.Targets(); len(got) != 2 || got[0].Addr.String() != "10.0.0.1:5061" || got[0].Transport != TLS {
		t.Errorf("targets %v", got)
	}
	st, _ := x.DNS()
	if st.TTL != 20*time.Millisecond {
		t.Errorf("TTL %v, want the unknown TTL clamped to 20ms", st.TTL)
	}
	d := New(tbl, opts)
	startDNS(t, d)
	waitFor(t, 2*time.Second, "a refresh", func() bool { return d.Current() != tbl })
}

func TestStartDNSWithoutResolver(t *testing.T) {
	d := New(nil, Options{})
	select {
	case <-d.StartDNS(context.Background()):
	case <-time.After(time.Second):
		t.Fatal("StartDNS without a resolver did not return a closed channel")
	}
}

// TestDNSRace: readers select, pick targets and look up addresses while the
// refresh loop swaps tables as fast as it can. Run with -race.
func TestDNSRace(t *testing.T) {
	f := newFakeDNS()
	f.set("pbx.test", 0, srvFarm()...)
	opts := Options{DNS: f.lookup, DNSMinTTL: time.Millisecond}
	tbl, _, err := Load("l", []byte("1 sip:pbx.test\n1 sip:10.0.9.9\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, opts)
	startDNS(t, d)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var picks atomic.Int64
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := uint64(r)
			for {
				select {
				case <-stop:
					return
				default:
				}
				tb := d.Current()
				x := tb.Set(1).Select(HashCallID, key)
				if x == nil {
					t.Error("nothing selected")
					return
				}
				ap := x.Target(key)
				if tb.ByAddr(ap) != x {
					t.Errorf("ByAddr(%v) does not find the destination that chose it", ap)
					return
				}
				_, _ = x.DNS()
				picks.Add(1)
				key += 0x9e3779b97f4a7c15
			}
		}()
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		ts := srvFarm()
		ts[i%len(ts)].Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 5060)
		f.set("pbx.test", 0, ts...)
		for _, x := range d.Current().Dests() {
			x.SetTargetUsable(ts[0].Addr, 0, i%2 == 0)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if picks.Load() == 0 {
		t.Error("readers did nothing")
	}
	if f.calls.Load() < 10 {
		t.Errorf("only %d refreshes", f.calls.Load())
	}
}

// TestDNSSlowNameDoesNotBlock: a name whose lookup hangs until its timeout
// does not hold up the refresh of the others.
func TestDNSSlowNameDoesNotBlock(t *testing.T) {
	f := newFakeDNS()
	f.set("fast.test", 20*time.Millisecond, tgt("10.0.0.1:5060", UDP, 0, 0, "fast.test"))
	f.set("slow.test", 20*time.Millisecond, tgt("10.0.0.2:5060", UDP, 0, 0, "slow.test"))
	var hang atomic.Bool
	lookup := func(ctx context.Context, q DNSQuery) ([]Target, time.Duration, error) {
		if q.Host == "slow.test" && hang.Load() {
			<-ctx.Done()
			return nil, 0, ctx.Err()
		}
		return f.lookup(ctx, q)
	}
	opts := Options{DNS: lookup, DNSMinTTL: 10 * time.Millisecond, DNSTimeout: 3 * time.Second}
	tbl, _, err := Load("l", []byte("1 sip:slow.test\n1 sip:fast.test\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, opts)
	hang.Store(true)
	startDNS(t, d)
	f.set("fast.test", time.Hour, tgt("10.0.0.9:5060", UDP, 0, 0, "fast.test"))
	start := time.Now()
	waitFor(t, 2*time.Second, "the fast name's new target", func() bool {
		return d.Current().ByAddr(netip.MustParseAddrPort("10.0.0.9:5060")) != nil
	})
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %v: the slow lookup held the fast one up", el)
	}
}

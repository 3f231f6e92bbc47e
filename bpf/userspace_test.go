package bpf

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

func newTestUserspace(t testing.TB, cfg Config) *Userspace {
	t.Helper()
	u, err := NewUserspace(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// TestCheck covers the datagram API the receive workers use: addresses as a
// dual-stack socket reports them, ports, and the payload rules.
func TestCheck(t *testing.T) {
	u := newTestUserspace(t, fixtureConfig())
	now := time.Now()
	for _, tc := range []struct {
		name    string
		src     string
		port    uint16
		payload []byte
		want    Reason
	}{
		{"v4 INVITE", "198.51.100.1", 5060, invite, Passed},
		{"v4-mapped source in a v4 ban", "::ffff:203.0.113.1", 5060, invite, DroppedOperatorBan},
		{"v4-mapped source on the allow list", "::ffff:192.0.2.9", 5080, junk, Allowed},
		{"zoned link-local source", "fe80::1%eth0", 5060, invite, Passed},
		{"other port", "203.0.113.1", 5061, junk, Ignored},
		{"port 0", "198.51.100.1", 0, invite, Ignored},
		{"junk", "198.51.100.2", 5060, junk, DroppedNotSIP},
		{"scanner", "2001:db8::5", 5080, sipRequest("OPTIONS", "sipvicious"), DroppedUserAgent},
		{"nil payload", "198.51.100.3", 5060, nil, DroppedNotSIP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := u.Check(netip.MustParseAddr(tc.src), tc.port, tc.payload, now); got != tc.want {
				t.Errorf("Check = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestMappedAndPlainShareState: a dual-stack socket reports an IPv4 peer as
// ::ffff:a.b.c.d; its rate state and ban must be the IPv4 source's.
func TestMappedAndPlainShareState(t *testing.T) {
	u := newTestUserspace(t, fixtureConfig())
	now := time.Now()
	v4, mapped := netip.MustParseAddr("198.51.100.9"), netip.MustParseAddr("::ffff:198.51.100.9")
	for i := 0; i < 5; i++ {
		src := v4
		if i%2 == 1 {
			src = mapped
		}
		if r := u.Check(src, 5060, invite, now); r != Passed {
			t.Fatalf("packet %d: %s", i, r)
		}
	}
	if r := u.Check(mapped, 5060, invite, now); r != DroppedRate {
		t.Fatalf("sixth: %s", r)
	}
	bans, _ := u.AutoBans()
	if len(bans) != 1 || bans[0].Addr != v4 {
		t.Fatalf("AutoBans = %v, want the IPv4 address", bans)
	}
	if ok, _ := u.ClearAutoBan(mapped); !ok {
		t.Fatal("ClearAutoBan(mapped) did not find the ban")
	}
}

func TestCheckConn(t *testing.T) {
	u := newTestUserspace(t, fixtureConfig())
	now := time.Now()
	src := netip.MustParseAddr("198.51.100.30")
	for i := 0; i < 5; i++ {
		if r := u.CheckConn(src, 5060, now); r != Passed {
			t.Fatalf("connection %d: %s", i, r)
		}
	}
	for _, tc := range []struct {
		name string
		src  string
		port uint16
		want Reason
	}{
		{"sixth connection", "198.51.100.30", 5060, DroppedRate},
		{"then banned", "198.51.100.30", 5080, DroppedBanned},
		{"other port", "198.51.100.30", 443, Ignored},
		{"operator ban", "203.0.113.2", 5060, DroppedOperatorBan},
		{"allowed", "192.0.2.2", 5060, Allowed},
	} {
		if got := u.CheckConn(netip.MustParseAddr(tc.src), tc.port, now); got != tc.want {
			t.Errorf("%s: CheckConn = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestConcurrentCheck: workers hammering shared and private sources get
// exactly the verdicts a serial run would (the per-source state is updated
// under its shard's lock), and the counters add up.
func TestConcurrentCheck(t *testing.T) {
	cfg := fixtureConfig()
	cfg.Rate = Rate{Packets: 50, Window: time.Hour, Ban: time.Hour}
	u := newTestUserspace(t, cfg)
	now := time.Now()
	shared := netip.MustParseAddr("198.51.100.1")
	const workers, perWorker = 8, 200
	var wg sync.WaitGroup
	results := make([][NumReasons]int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := netip.AddrFrom4([4]byte{10, 1, byte(w), 1})
			for i := 0; i < perWorker; i++ {
				results[w][u.Check(shared, 5060, invite, now)]++
				results[w][u.Check(own, 5060, invite, now)]++
			}
		}()
	}
	wg.Wait()
	var total [NumReasons]int
	for _, r := range results {
		for i, n := range r {
			total[i] += n
		}
	}
	// Shared: 50 pass, 1 crosses, the rest banned. Each own source: 50
	// pass, 1 crosses, 149 banned.
	want := [NumReasons]int{}
	want[Passed] = 50 + workers*50
	want[DroppedRate] = 1 + workers
	want[DroppedBanned] = (workers*perWorker - 51) + workers*(perWorker-51)
	if total != want {
		t.Fatalf("verdicts %v, want %v", total, want)
	}
	c, _ := u.Counters()
	for r := range c {
		if c[r] != uint64(total[r]) {
			t.Fatalf("counter %s = %d, verdicts %d", Reason(r), c[r], total[r])
		}
	}
}

// TestTableUnderSpoofedFlood: far more sources than the table holds. The
// table must stay within its size, keep working, and keep the bans it made
// (a spoofed flood evicts rate state first).
func TestTableUnderSpoofedFlood(t *testing.T) {
	cfg := fixtureConfig()
	cfg.MaxSources = MinSources
	cfg.Rate = Rate{Packets: 2, Window: time.Hour, Ban: time.Hour}
	u := newTestUserspace(t, cfg)
	now := time.Now()

	// 40 real offenders, banned first.
	var banned []netip.Addr
	for i := 0; i < 40; i++ {
		src := netip.AddrFrom4([4]byte{10, 9, 0, byte(i)})
		for j := 0; j < 3; j++ {
			u.Check(src, 5060, invite, now)
		}
		banned = append(banned, src)
	}
	// 50,000 spoofed sources, one packet each.
	for i := 0; i < 50_000; i++ {
		src := netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)})
		if r := u.Check(src, 5060, invite, now); r != Passed {
			t.Fatalf("spoofed source %d: %s", i, r)
		}
	}
	for _, src := range banned {
		if r := u.Check(src, 5060, invite, now); r != DroppedBanned {
			t.Errorf("%s: %s after the flood, want still banned", src, r)
		}
	}
	slots := 0
	for i := range u.table.shards {
		slots += len(u.table.shards[i].slots)
	}
	if slots != MinSources {
		t.Errorf("table holds %d slots, want %d", slots, MinSources)
	}
	bans, _ := u.AutoBans()
	if len(bans) != len(banned) {
		t.Errorf("AutoBans lists %d, want %d", len(bans), len(banned))
	}
}

func TestWorseToKeep(t *testing.T) {
	const now = 1000
	old := &srcSlot{windowStart: 10}
	recent := &srcSlot{windowStart: 900}
	banned := &srcSlot{windowStart: 1, bannedUntil: 5000}
	bannedSoon := &srcSlot{windowStart: 999, bannedUntil: 1500}
	expired := &srcSlot{windowStart: 5, bannedUntil: 900}
	for _, tc := range []struct {
		name string
		a, b *srcSlot
		want bool
	}{
		{"older window goes first", old, recent, true},
		{"newer window stays", recent, old, false},
		{"unbanned before banned", recent, banned, true},
		{"banned stays", banned, recent, false},
		{"of two bans, the one ending first goes", bannedSoon, banned, true},
		{"an expired ban counts as none", expired, old, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := worseToKeep(tc.a, tc.b, now); got != tc.want {
				t.Errorf("worseToKeep = %v", got)
			}
		})
	}
}

// TestUserspaceClock: times before the filter was made do not wrap.
func TestUserspaceClock(t *testing.T) {
	u := newTestUserspace(t, fixtureConfig())
	src := netip.MustParseAddr("198.51.100.60")
	past := time.Now().Add(-time.Hour)
	for i := 0; i < 5; i++ {
		if r := u.Check(src, 5060, invite, past); r != Passed {
			t.Fatalf("packet %d: %s", i, r)
		}
	}
	if r := u.Check(src, 5060, invite, past); r != DroppedRate {
		t.Fatalf("sixth: %s", r)
	}
}

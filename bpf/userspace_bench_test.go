package bpf

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchConfig is the fixture policy with a rate limit no benchmark source
// reaches, so the pass path is the full path.
func benchConfig() Config {
	c := fixtureConfig()
	c.Rate = Rate{Packets: 1 << 30, Window: time.Hour, Ban: time.Hour}
	return c
}

// bigInvite has 1 KiB of headers before its User-Agent: the longest scan.
var bigInvite = withHeaders(strings.Repeat("X-Filler: "+strings.Repeat("f", 50)+"\r\n", 15) + "User-Agent: Linphone/5.2\r\n")

func BenchmarkCheck(b *testing.B) {
	u := newTestUserspace(b, benchConfig())
	now := time.Now()
	// An automatic ban, for the banned case.
	banned := netip.MustParseAddr("198.51.100.99")
	strict := newTestUserspace(b, fixtureConfig())
	for i := 0; i < 6; i++ {
		strict.Check(banned, 5060, invite, now)
	}
	for _, bc := range []struct {
		name    string
		u       *Userspace
		src     netip.Addr
		payload []byte
		want    Reason
	}{
		{"INVITE passes", u, netip.MustParseAddr("198.51.100.1"), invite, Passed},
		{"INVITE with 1KiB of headers passes", u, netip.MustParseAddr("198.51.100.1"), bigInvite, Passed},
		{"IPv6 INVITE passes", u, netip.MustParseAddr("2001:db8::1"), invite, Passed},
		{"scanner dropped", u, netip.MustParseAddr("198.51.100.2"), sipRequest("OPTIONS", "friendly-scanner"), DroppedUserAgent},
		{"junk dropped", u, netip.MustParseAddr("198.51.100.3"), junk, DroppedNotSIP},
		{"auto-banned source dropped", strict, banned, invite, DroppedBanned},
		{"operator-banned source dropped", u, netip.MustParseAddr("203.0.113.1"), invite, DroppedOperatorBan},
		{"allowed source", u, netip.MustParseAddr("192.0.2.1"), invite, Allowed},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if r := bc.u.Check(bc.src, 5060, bc.payload, now); r != bc.want {
				b.Fatalf("Check = %s, want %s", r, bc.want)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.payload)))
			for b.Loop() {
				bc.u.Check(bc.src, 5060, bc.payload, now)
			}
		})
	}
}

// BenchmarkCheckParallel: workers on all cores, each packet from one of
// 4096 sources: the shard locks and counter stripes under contention.
func BenchmarkCheckParallel(b *testing.B) {
	u := newTestUserspace(b, benchConfig())
	now := time.Now()
	var srcs [4096]netip.Addr
	for i := range srcs {
		srcs[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	var seq atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) * 7919
		for pb.Next() {
			i++
			u.Check(srcs[i%uint32(len(srcs))], 5060, invite, now)
		}
	})
}

func BenchmarkCheckFrame(b *testing.B) {
	u := newTestUserspace(b, benchConfig())
	now := time.Now()
	f := frame(pkt{src: a("198.51.100.1"), vlans: []uint16{0x8100}, payload: invite})
	b.ReportAllocs()
	for b.Loop() {
		u.CheckFrame(f, now)
	}
}

//go:build !race

package bpf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestCheckAllocs proves the user-space packet path allocates nothing, on
// every branch a datagram can take.
func TestCheckAllocs(t *testing.T) {
	u := newTestUserspace(t, fixtureConfig())
	now := time.Now()
	long := withHeaders("X-A: " + strings.Repeat("a", 900) + "\r\nUser-Agent: friendly-scanner\r\n")
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"Check passes an INVITE", func() { u.Check(netip.MustParseAddr("198.51.100.1"), 5060, invite, now.Add(time.Hour)) }},
		{"Check drops a scanner", func() {
			u.Check(netip.MustParseAddr("2001:db8::9"), 5060, long, now.Add(2*time.Hour))
		}},
		{"Check drops junk", func() { u.Check(netip.MustParseAddr("198.51.100.3"), 5080, junk, now.Add(3*time.Hour)) }},
		{"Check, banned source", func() { u.Check(netip.MustParseAddr("198.51.100.4"), 5060, invite, now) }},
		{"Check, operator ban", func() { u.Check(netip.MustParseAddr("203.0.113.4"), 5060, invite, now) }},
		{"Check, allowed, mapped", func() { u.Check(netip.MustParseAddr("::ffff:192.0.2.4"), 5060, invite, now) }},
		{"Check, new sources", func() {
			for i := 0; i < 64; i++ {
				u.Check(netip.AddrFrom4([4]byte{10, 2, 3, byte(i)}), 5060, invite, now)
			}
		}},
		{"CheckConn", func() { u.CheckConn(netip.MustParseAddr("198.51.100.5"), 5060, now.Add(4*time.Hour)) }},
		{"CheckFrame IPv6 scanner", func() { u.CheckFrame(scannerFrame, now.Add(5*time.Hour)) }},
		{"CheckFrame QinQ", func() { u.CheckFrame(qinqFrame, now.Add(6*time.Hour)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tc.fn); n != 0 {
				t.Errorf("%v allocations per call", n)
			}
		})
	}
}

var (
	scannerFrame = frame(pkt{src: a("2001:db8:5::1"), v6ext: []byte{0}, payload: sipRequest("OPTIONS", "sipvicious")})
	qinqFrame    = frame(pkt{src: a("198.51.100.44"), vlans: []uint16{0x88a8, 0x8100}, payload: invite})
)

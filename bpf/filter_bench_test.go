package bpf

import (
	"encoding/binary"
	"testing"
	"time"
)

// BenchmarkXDP runs the program in the kernel (BPF_PROG_TEST_RUN) and reports
// its time per packet as ns/pkt. The Go-side ns/op includes the syscall;
// ns/pkt is the program.
//
// Each packet kind runs under two policies: "lists", the fixture policy with
// its allow and operator ban lists (non-empty LPM tries), and "no lists",
// the same without them. The rate limit is one no benchmark source reaches,
// except for the banned source, which crossed a limit of 5 before the
// benchmark and stays banned for a day.
//
// A repeated frame comes from a source the program has seen before. The
// "fresh source" cases instead send each packet from a new address, one
// BPF_PROG_TEST_RUN per packet: their ns/pkt includes the kernel's two
// clock reads around a run (tens of ns), which the repeated cases amortize.
// A spoofed flood is that case: every packet inserts into the rates map,
// evicting once it is full.
func BenchmarkXDP(b *testing.B) {
	for _, pol := range []struct {
		name  string
		lists bool
	}{{"lists", true}, {"no lists", false}} {
		cfg := benchConfig()
		strictCfg := fixtureConfig()
		strictCfg.Rate.Ban = 24 * time.Hour
		if !pol.lists {
			cfg.Allow, cfg.Ban = nil, nil
			strictCfg.Allow, strictCfg.Ban = nil, nil
		}
		x := loadTestXDP(b, cfg)
		strict := loadTestXDP(b, strictCfg)
		banned := udp4("198.51.100.99", invite)
		for i := 0; i < 6; i++ {
			strict.run(b, banned)
		}
		bannedV6 := udp6("2001:db8:99::1", invite)
		for i := 0; i < 6; i++ {
			strict.run(b, bannedV6)
		}
		for _, bc := range []struct {
			name  string
			x     *XDP
			frame []byte
			want  uint32
			lists bool // only under the lists policy
		}{
			{name: "banned source", x: strict, frame: banned, want: xdpDrop},
			{name: "banned IPv6 source", x: strict, frame: bannedV6, want: xdpDrop},
			{name: "banned source, junk", x: strict, frame: udp4("198.51.100.99", junk), want: xdpDrop},
			{name: "allowed source", x: x, frame: udp4("192.0.2.1", invite), want: xdpPass, lists: true},
			{name: "operator-banned source", x: x, frame: udp4("203.0.113.1", invite), want: xdpDrop, lists: true},
			{name: "INVITE passes", x: x, frame: udp4("198.51.100.1", invite), want: xdpPass},
			{name: "INVITE with 1KiB of headers passes", x: x, frame: udp4("198.51.100.1", bigInvite), want: xdpPass},
			{name: "IPv6 INVITE passes", x: x, frame: udp6("2001:db8::1", invite), want: xdpPass},
			{name: "scanner dropped", x: x, frame: udp4("198.51.100.2", sipRequest("OPTIONS", "friendly-scanner")), want: xdpDrop},
			{name: "non-SIP dropped", x: x, frame: udp4("198.51.100.3", junk), want: xdpDrop},
			{name: "other port ignored", x: x, frame: frame(pkt{src: a("198.51.100.4"), dport: 443, payload: junk}), want: xdpPass},
		} {
			if bc.lists && !pol.lists {
				continue
			}
			b.Run(pol.name+"/"+bc.name, func(b *testing.B) {
				ret, per, err := bc.x.objs.SipfrontFilter.Benchmark(bc.frame, b.N, b.ResetTimer)
				if err != nil {
					b.Fatal(err)
				}
				if ret != bc.want {
					b.Fatalf("action %d, want %d", ret, bc.want)
				}
				b.ReportMetric(float64(per.Nanoseconds()), "ns/pkt")
			})
		}
		for _, fc := range []struct {
			name    string
			payload []byte
			want    uint32
		}{
			{"fresh source, INVITE", invite, xdpPass},
			{"fresh source, non-SIP", junk, xdpDrop},
		} {
			b.Run(pol.name+"/"+fc.name, func(b *testing.B) {
				benchFresh(b, x, fc.payload, fc.want)
			})
		}
	}
}

// freshSeq numbers the sources of benchFresh across runs, so that no
// source repeats within a process (2^24 addresses in 10.0.0.0/8).
var freshSeq uint32

// benchFresh sends b.N packets with payload, each from a source the program
// has not seen, one BPF_PROG_TEST_RUN each.
func benchFresh(b *testing.B, x *XDP, payload []byte, want uint32) {
	f := udp4("10.0.0.0", payload)
	const srcOff = 14 + 12 // Ethernet header, then the IPv4 source address
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		freshSeq++
		binary.BigEndian.PutUint32(f[srcOff:], 10<<24|freshSeq&0xffffff)
		ret, per, err := x.objs.SipfrontFilter.Benchmark(f, 1, nil)
		if err != nil {
			b.Fatal(err)
		}
		if ret != want {
			b.Fatalf("action %d, want %d", ret, want)
		}
		total += per
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/pkt")
}

package dispatcher

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkTarget: picking a target per request among n SRV targets (two
// priorities, weighted), as the proxy does after Select.
func BenchmarkTarget(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprint("targets=", n), func(b *testing.B) {
			var ts []Target
			for i := range n {
				ts = append(ts, Target{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 5060),
					Transport: UDP, Priority: uint16(i % 2 * 10), Weight: uint16(10 + i), Name: fmt.Sprint("h", i)})
			}
			f := newFakeDNS()
			f.set("pbx.test", time.Minute, ts...)
			tbl, _, err := Load("l", []byte("1 sip:pbx.test\n"), Options{DNS: f.lookup})
			if err != nil {
				b.Fatal(err)
			}
			d := tbl.Dests()[0]
			b.ReportAllocs()
			key := uint64(1)
			var sink netip.AddrPort
			for b.Loop() {
				sink = d.Target(key)
				key += 0x9e3779b97f4a7c15
			}
			_ = sink
		})
	}
}

// BenchmarkByAddrTarget: finding a named destination by a target address
// (a reply or a cookie naming a non-primary target).
func BenchmarkByAddrTarget(b *testing.B) {
	f := newFakeDNS()
	f.set("pbx.test", time.Minute, srvFarm()...)
	var list []byte
	for i := range 32 {
		list = fmt.Appendf(list, "1 sip:10.0.1.%d\n", i+1)
	}
	list = append(list, "1 sip:pbx.test\n"...)
	tbl, _, err := Load("l", list, Options{DNS: f.lookup})
	if err != nil {
		b.Fatal(err)
	}
	ap := netip.MustParseAddrPort("[2001:db8::2]:5062")
	b.ReportAllocs()
	var sink *Dest
	for b.Loop() {
		sink = tbl.ByAddr(ap)
	}
	if sink == nil {
		b.Fatal("not found")
	}
}

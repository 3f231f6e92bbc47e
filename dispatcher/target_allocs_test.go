//go:build !race

package dispatcher

import (
	"net/netip"
	"testing"
	"time"
)

// TestTargetZeroAllocs proves that what the proxy runs per message for a
// destination named by host name allocates nothing: picking a target, and
// finding the destination by any target's address.
func TestTargetZeroAllocs(t *testing.T) {
	f := newFakeDNS()
	f.set("pbx.test", time.Minute, srvFarm()...)
	tbl, _, err := Load("l", []byte("1 sip:pbx.test\n1 sip:10.0.9.9\n"), Options{DNS: f.lookup})
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, Options{DNS: f.lookup})
	named := find(t, tbl, 1, "sip:pbx.test")
	literal := find(t, tbl, 1, "sip:10.0.9.9")
	v6 := netip.MustParseAddrPort("[2001:db8::2]:5062")
	key := uint64(12345)
	var sink netip.AddrPort
	var sinkD *Dest
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"Target named", func() { sink = named.Target(key); key++ }},
		{"Target literal", func() { sink = literal.Target(key); key++ }},
		{"Select+Target", func() { sink = d.Current().Set(1).Select(Weight, key).Target(key); key++ }},
		{"ByAddr target", func() { sinkD = d.Current().ByAddr(v6) }},
		{"ByIP target", func() { sinkD = d.Current().ByIP(v6.Addr()) }},
	} {
		if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
			t.Errorf("%s: %v allocs per run", tc.name, n)
		}
	}
	if !sink.IsValid() || sinkD != named {
		t.Fatal("lookups found nothing")
	}
}

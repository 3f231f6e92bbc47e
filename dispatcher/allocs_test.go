//go:build !race

package dispatcher

import (
	"fmt"
	"net/netip"
	"testing"
)

// TestZeroAllocs proves the lookup paths allocate nothing: what the proxy
// runs for every message.
func TestZeroAllocs(t *testing.T) {
	tbl := mkTable(t, nDests(32, func(i int) string { return fmt.Sprintf("weight=%d", 1+i%5) })...)
	d := New(tbl, Options{})
	ap := netip.MustParseAddrPort("10.0.0.7:5060")
	callID := []byte("a84b4c76e66710@pc33.atlanta.com")
	var sink *Dest
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"Current+Set", func() { _ = d.Current().Set(1) }},
		{"Hash", func() { _ = HashMore(Hash(callID), callID) }},
		{"HashFold", func() { _ = HashFold(callID) }},
		{"ByAddr", func() { sink = d.Current().ByAddr(ap) }},
		{"ByIP", func() { sink = d.Current().ByIP(ap.Addr()) }},
		{"State+Usable", func() { _ = sink.State(); _ = sink.Usable() }},
	} {
		if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
			t.Errorf("%s: %v allocs per run", tc.name, n)
		}
	}
	for _, alg := range []Alg{HashCallID, HashFrom, HashTo, HashRURI, RoundRobin, HashAuthUser, Random, Priority, Weight, RelWeight} {
		key := Hash(callID)
		if n := testing.AllocsPerRun(1000, func() { sink = d.Current().Set(1).Select(alg, key); key++ }); n != 0 {
			t.Errorf("Select %s: %v allocs per run", alg, n)
		}
	}
	if sink == nil {
		t.Fatal("nothing selected")
	}
}

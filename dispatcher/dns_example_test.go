package dispatcher_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
)

func ExampleDest_Target() {
	// What lb/resolve gives for sip:pbx.example.com through SRV: two hosts
	// weighted 3:1 at priority 10, a backup at priority 20.
	dns := func(ctx context.Context, q dispatcher.DNSQuery) ([]dispatcher.Target, time.Duration, error) {
		return []dispatcher.Target{
			{Addr: netip.MustParseAddrPort("10.0.0.1:5060"), Transport: dispatcher.UDP, Priority: 10, Weight: 75, Name: "a.example.com"},
			{Addr: netip.MustParseAddrPort("10.0.0.2:5060"), Transport: dispatcher.UDP, Priority: 10, Weight: 25, Name: "b.example.com"},
			{Addr: netip.MustParseAddrPort("10.0.0.3:5070"), Transport: dispatcher.UDP, Priority: 20, Name: "c.example.com"},
		}, 5 * time.Minute, nil
	}
	tbl, _, err := dispatcher.Load("dispatcher.list", []byte("1 sip:pbx.example.com\n"), dispatcher.Options{DNS: dns})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The proxy selects a destination, then a target, with the same key.
	count := map[netip.AddrPort]int{}
	var d *dispatcher.Dest
	for i := range 1000 {
		key := dispatcher.HashString(fmt.Sprint("call-", i))
		d = tbl.Set(1).Select(dispatcher.HashCallID, key)
		count[d.Target(key)]++
	}
	fmt.Println(d.URI, "primary", d.Addr)
	fmt.Println("10.0.0.1:", count[netip.MustParseAddrPort("10.0.0.1:5060")], "10.0.0.2:", count[netip.MustParseAddrPort("10.0.0.2:5060")],
		"10.0.0.3:", count[netip.MustParseAddrPort("10.0.0.3:5070")])

	// Both priority-10 targets down: the backup takes the calls.
	d.SetTargetUsable(netip.MustParseAddrPort("10.0.0.1:5060"), 0, false)
	d.SetTargetUsable(netip.MustParseAddrPort("10.0.0.2:5060"), 0, false)
	fmt.Println("fallback:", d.Target(42))

	// The control API shows where the targets came from and their age.
	st, _ := d.DNS()
	fmt.Println("ttl", st.TTL, "error", st.LastErr, "targets", len(st.Targets))
	// Output:
	// sip:pbx.example.com primary 10.0.0.1:5060
	// 10.0.0.1: 773 10.0.0.2: 227 10.0.0.3: 0
	// fallback: 10.0.0.3:5070
	// ttl 5m0s error <nil> targets 3
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/lb/resolve"
	"github.com/sipfront/sipfront/lb/resolve/dnstest"
)

// The whole path a named destination takes, end to end: the list loader,
// the adapter of this file, lb/resolve, and a DNS server on loopback.

func testZone(ip1 string) []dnstest.RR {
	return []dnstest.RR{
		dnstest.NAPTR("pbx.test", 1, 10, 10, "S", "SIP+D2U", "", "_sip._udp.pbx.test"),
		dnstest.SRV("_sip._udp.pbx.test", 1, 10, 70, 5060, "a.pbx.test"),
		dnstest.SRV("_sip._udp.pbx.test", 1, 10, 30, 5062, "b.pbx.test"),
		dnstest.SRV("_sip._udp.pbx.test", 1, 20, 0, 5064, "c.pbx.test"),
		dnstest.A("a.pbx.test", 1, ip1),
		dnstest.A("b.pbx.test", 1, "10.0.0.2"),
		dnstest.AAAA("b.pbx.test", 1, "2001:db8::2"),
		dnstest.A("c.pbx.test", 1, "10.0.0.3"),
	}
}

func TestNamedDestinationEndToEnd(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(testZone("10.0.0.1")...)
	r, err := resolve.New(resolve.Config{Servers: []netip.AddrPort{srv.Addr}, Timeout: 200 * time.Millisecond, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	opts := dispatcher.Options{DNS: dnsFunc(r), DNSMinTTL: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	tbl, warns, err := dispatcher.Load("dispatcher.list", []byte("1 sip:pbx.test 0 0 duid=farm\n1 sip:gone.test\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	// NXDOMAIN: the line is skipped with a warning, the rest loads.
	if len(warns) != 1 || warns[0].Line != 2 || !errors.Is(warns[0].Err, dispatcher.ErrResolve) {
		t.Fatalf("warnings %v, want line 2 skipped", warns)
	}
	t.Log(warns[0])
	d := tbl.Dests()[0]
	want := []string{"10.0.0.1:5060", "10.0.0.2:5062", "[2001:db8::2]:5062", "10.0.0.3:5064"}
	var got []string
	for _, x := range d.Targets() {
		got = append(got, x.Addr.String())
		if x.Transport != dispatcher.UDP {
			t.Errorf("target %v over %v, want udp (NAPTR SIP+D2U)", x.Addr, x.Transport)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("targets %v, want %v", got, want)
	}
	for _, x := range d.Targets() {
		if tbl.ByAddr(x.Addr) != d {
			t.Errorf("ByAddr(%v) misses the destination", x.Addr)
		}
	}
	// SRV weights 70/30 within priority 10; b's IPv6 address and c (priority
	// 20) are fallbacks.
	const n = 20000
	c := map[string]int{}
	for i := range n {
		c[d.Target(dispatcher.HashString(fmt.Sprint("call", i))).String()]++
	}
	if share := float64(c["10.0.0.1:5060"]) / n; math.Abs(share-0.7) > 5*math.Sqrt(0.21/n) {
		t.Errorf("a took %.3f of the calls, want 0.70: %v", share, c)
	}
	if c["10.0.0.1:5060"]+c["10.0.0.2:5062"] != n {
		t.Errorf("calls outside priority 10's preferred addresses: %v", c)
	}

	disp := dispatcher.New(tbl, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := disp.StartDNS(ctx)
	defer func() {
		cancel()
		<-done
	}()

	// The TTL is 1 s: nothing is asked before it runs out.
	srv.ResetQueries()
	time.Sleep(300 * time.Millisecond)
	if q := srv.Queries(); len(q) != 0 {
		t.Errorf("asked %q before the TTL ran out", q)
	}
	// a moves: the refresh swaps in a table with its new address.
	srv.Set(testZone("10.0.0.11")...)
	waitDNS(t, 5*time.Second, "the new address", func() bool {
		return disp.Current().ByAddr(netip.MustParseAddrPort("10.0.0.11:5060")) != nil
	})
	cur := disp.Current()
	nd := cur.Dests()[0]
	if nd.RT != d.RT || nd.URI != "sip:pbx.test" || cur.ByAddr(netip.MustParseAddrPort("10.0.0.1:5060")) != nil {
		t.Errorf("after the refresh: RT kept %v, URI %s, old address still found", nd.RT == d.RT, nd.URI)
	}

	// The server goes silent: the targets stay, the error and age show.
	srv.SetMode(dnstest.Silent)
	waitDNS(t, 5*time.Second, "the DNS error", func() bool {
		st, _ := disp.Current().Dests()[0].DNS()
		return st.LastErr != nil
	})
	st, _ := disp.Current().Dests()[0].DNS()
	if !errors.Is(st.LastErr, resolve.ErrTimeout) || st.Age(time.Now()) <= 0 || len(st.Targets) != 4 {
		t.Errorf("status %+v", st)
	}
	if disp.Current().ByAddr(netip.MustParseAddrPort("10.0.0.11:5060")) == nil {
		t.Error("the last good targets were dropped")
	}
	t.Logf("during the outage: age %v, error %v", st.Age(time.Now()).Round(time.Millisecond), st.LastErr)

	// It answers again: the error clears.
	srv.SetMode(dnstest.Normal)
	waitDNS(t, 5*time.Second, "recovery", func() bool {
		st, _ := disp.Current().Dests()[0].DNS()
		return st.LastErr == nil
	})
}

// TestResolveHostFromHostsFile: the Options.Resolve path answers a name of
// /etc/hosts without DNS. Skipped where /etc/hosts lacks localhost, since
// the name would then go to the system's name server, which a test must
// not reach.
func TestResolveHostFromHostsFile(t *testing.T) {
	b, err := os.ReadFile(resolve.SystemHosts)
	if err != nil || len(resolve.ParseHosts(b)["localhost"]) == 0 {
		t.Skip("no localhost in /etc/hosts")
	}
	addrs, err := resolveHost("localhost")
	if err != nil || !slices.Contains(addrs, netip.MustParseAddr("127.0.0.1")) && !slices.Contains(addrs, netip.MustParseAddr("::1")) {
		t.Errorf("got %v, %v", addrs, err)
	}
}

func waitDNS(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

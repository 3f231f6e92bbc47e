package lb

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/lb/resolve"
	"github.com/sipfront/sipfront/lb/resolve/dnstest"
	"github.com/sipfront/sipfront/lb/rpc"
	"github.com/sipfront/sipfront/parser"
)

// TestNamedBackend: a destination named by DNS (sip:pbx.test, SRV to two
// back ends) takes calls on both targets; every in-dialog request of a call
// reaches the target its INVITE went to (the cookie names the target, not
// the name).
func TestNamedBackend(t *testing.T) {
	a, b := newPeer(t, "pbx-a"), newPeer(t, "pbx-b")
	a.serveUAS()
	b.serveUAS()
	dns := dnstest.Start(t)
	dns.Set(
		dnstest.SRV("_sip._udp.pbx.test.", 60, 10, 50, a.addr.Port(), "a.pbx.test."),
		dnstest.SRV("_sip._udp.pbx.test.", 60, 10, 50, b.addr.Port(), "b.pbx.test."),
		dnstest.A("a.pbx.test.", 60, "127.0.0.1"),
		dnstest.A("b.pbx.test.", 60, "127.0.0.1"),
	)
	r, err := resolve.New(resolve.Config{Servers: []netip.AddrPort{dns.Addr}, HostsFile: os.DevNull})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	os.WriteFile(path, []byte("1 sip:pbx.test;transport=udp\n"), 0o644)
	e, err := New(Config{
		Listen:         []Listen{{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		DispatcherList: path, Workers: 2, CookieKey: "k", NoProbe: true, DNS: DNSFunc(r),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, e)
	lb := e.Addrs()[0]
	phone := newPhone(t, "phone")
	for i := 0; i < 30; i++ {
		callID := fmt.Sprintf("named-%d", i)
		phone.send(lb, reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: callID, branch: "z9hG4bK-" + callID,
			fromTag: "f", cseq: 1, from: phone.addr}.String())
		ok := phone.expect("200", isStatus(200))
		var na parser.NameAddr
		h, _ := ok.m.Header(parser.KindContact)
		parser.ParseNameAddr(ok.b, h.Value, &na)
		contact := string(na.URI.In(ok.b))
		bye := reqSpec{method: "BYE", ruri: contact, callID: callID, branch: "z9hG4bK-bye-" + callID, fromTag: "f",
			toTag: "uas-x", cseq: 2, from: phone.addr, routes: []string{ok.header(parser.KindRecordRoute)}}
		phone.send(lb, bye.String())
		r := phone.expect("200 to BYE", func(r rx) bool { return isStatus(200)(r) && r.m.Count(parser.KindContact) > 0 })
		h, _ = r.m.Header(parser.KindContact)
		parser.ParseNameAddr(r.b, h.Value, &na)
		if got := string(na.URI.In(r.b)); got != contact {
			t.Fatalf("call %d: INVITE answered by %s, BYE by %s", i, contact, got)
		}
	}
	if len(a.received("INVITE")) == 0 || len(b.received("INVITE")) == 0 {
		t.Errorf("calls not spread over the SRV targets: %d and %d", len(a.received("INVITE")), len(b.received("INVITE")))
	}

	// dispatcher.list shows the age of the DNS answer and its targets.
	ctl, err := NewControl(e, ControlOptions{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go ctl.Serve(ctx)
	c := rpc.Client{Addr: ctl.Addr().String()}
	res, err := c.Call(context.Background(), "dispatcher.list", "full")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"DNS":{"AGE":`, `"ERROR":null`, `"ADDRESS":"` + a.addr.String() + `"`,
		`"ADDRESS":"` + b.addr.String() + `"`, `"DNSTIME_SEC":1`} {
		if !strings.Contains(string(res), want) {
			t.Errorf("dispatcher.list lacks %s:\n%s", want, res)
		}
	}
}

func TestTransportConversion(t *testing.T) {
	for _, tr := range []dispatcher.Transport{dispatcher.UDP, dispatcher.TCP, dispatcher.TLS} {
		if got := fromResolve(toResolve(tr)); got != tr || toResolve(tr).String() != tr.String() {
			t.Errorf("%v -> %v -> %v", tr, toResolve(tr), got)
		}
	}
	if toResolve(0) != 0 || fromResolve(0) != 0 {
		t.Error("zero transport converted to a real one")
	}
}

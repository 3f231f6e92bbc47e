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
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// startEngine writes a list file with one destination per back end (set 1),
// starts sipfront on 127.0.0.1:0 and stops it when the test ends.
func startEngine(t testing.TB, alg dispatcher.Alg, backends ...netip.AddrPort) (*Engine, netip.AddrPort) {
	t.Helper()
	var list strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&list, "1 sip:%s\n", b)
	}
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	if err := os.WriteFile(path, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{
		Listen:         []Listen{{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		DispatcherList: path,
		Alg:            alg,
		Workers:        2,
		CookieKey:      "test key",
		NoProbe:        true, // the probe tests turn it on; elsewhere probes would be stray requests
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, e)
	return e, e.Addrs()[0]
}

// waitReceived polls a UAS peer until it has seen n requests of method.
func waitReceived(t testing.TB, p *peer, method string, n int) []rx {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if got := p.received(method); len(got) >= n {
			return got
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%s: %d %s received, want %d", p.name, len(p.received(method)), method, n)
	return nil
}

func totalReceived(method string, ps ...*peer) int {
	n := 0
	for _, p := range ps {
		n += len(p.received(method))
	}
	return n
}

func TestCallThroughSipfront(t *testing.T) {
	uas1, uas2 := newPeer(t, "uas1"), newPeer(t, "uas2")
	uas1.serveUAS()
	uas2.serveUAS()
	_, lb := startEngine(t, dispatcher.HashCallID, uas1.addr, uas2.addr)
	phone := newPhone(t, "phone")

	inv := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: "call-1@phone", branch: "z9hG4bK-inv1",
		fromTag: "ft1", cseq: 1, from: phone.addr, body: "v=0\r\n"}
	phone.send(lb, inv.String())
	phone.expect("100", isStatus(100))
	phone.expect("180", isStatus(180))
	ok := phone.expect("200", isStatus(200))

	// The back end saw our Via on top, the phone's below with received and
	// rport, Max-Forwards decremented, a Record-Route with a cookie.
	var got rx
	var uas *peer
	switch {
	case len(uas1.received("INVITE")) == 1:
		got, uas = uas1.received("INVITE")[0], uas1
	case len(uas2.received("INVITE")) == 1:
		got, uas = uas2.received("INVITE")[0], uas2
	default:
		t.Fatalf("INVITE reached uas1 %d and uas2 %d times", len(uas1.received("INVITE")), len(uas2.received("INVITE")))
	}
	var vias []string
	for it := got.m.Values(parser.KindVia); it.Next(); {
		vias = append(vias, string(got.m.Bytes(it.Value())))
	}
	if len(vias) != 2 || !strings.HasPrefix(vias[0], "SIP/2.0/UDP "+lb.String()+";branch=z9hG4bKsf") {
		t.Fatalf("Vias at the back end: %q", vias)
	}
	wantClientVia := fmt.Sprintf("SIP/2.0/UDP %s;branch=z9hG4bK-inv1;rport=%d;received=127.0.0.2", phone.addr, phone.addr.Port())
	if vias[1] != wantClientVia {
		t.Errorf("client Via %q, want %q", vias[1], wantClientVia)
	}
	if mf := got.header(parser.KindMaxForwards); mf != "69" {
		t.Errorf("Max-Forwards %q", mf)
	}
	rr := got.header(parser.KindRecordRoute)
	if !strings.HasPrefix(rr, "<sip:"+lb.String()+";lr;sfc=") {
		t.Errorf("Record-Route %q", rr)
	}
	if string(got.m.Body()) != "v=0\r\n" {
		t.Errorf("body %q", got.m.Body())
	}
	// The phone got the 200 with exactly its own Via and the Record-Route.
	if n := ok.m.Count(parser.KindVia); n != 1 || !strings.Contains(ok.header(parser.KindVia), "branch=z9hG4bK-inv1") {
		t.Errorf("200 at the phone has Vias %q", ok.header(parser.KindVia))
	}
	if ok.header(parser.KindRecordRoute) != rr {
		t.Errorf("200 Record-Route %q", ok.header(parser.KindRecordRoute))
	}

	// ACK and BYE carry our Record-Route as Route; the cookie takes them to
	// the same back end, whatever the hash would say.
	ack := reqSpec{method: "ACK", ruri: "sip:uas@" + uas.addr.String(), callID: "call-1@phone", branch: "z9hG4bK-ack1",
		fromTag: "ft1", toTag: "uas-" + uas.name, cseq: 1, from: phone.addr, routes: []string{rr}}
	phone.send(lb, ack.String())
	a := waitReceived(t, uas, "ACK", 1)[0]
	if a.m.Count(parser.KindRoute) != 0 {
		t.Errorf("our Route was not removed from the ACK: %q", a.header(parser.KindRoute))
	}
	bye := ack
	bye.method, bye.branch, bye.cseq = "BYE", "z9hG4bK-bye1", 2
	phone.send(lb, bye.String())
	phone.expect("200 to BYE", func(r rx) bool { return isStatus(200)(r) && strings.Contains(r.header(parser.KindCSeq), "BYE") })
	waitReceived(t, uas, "BYE", 1)
	if n := totalReceived("BYE", uas1, uas2); n != 1 {
		t.Errorf("BYE delivered %d times", n)
	}
}

func TestByeFromBackEndReachesPhone(t *testing.T) {
	uas := newPeer(t, "uas")
	_, lb := startEngine(t, dispatcher.HashCallID, uas.addr)
	phone := newPhone(t, "phone")

	inv := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: "call-2", branch: "z9hG4bK-i2", fromTag: "f2", cseq: 1, from: phone.addr}
	phone.send(lb, inv.String())
	got := uas.expect("INVITE", isMethod("INVITE"))
	uas.send(got.from, respondTo(got, 200, "OK", "t2", uas.addr))
	ok := phone.expect("200", isStatus(200))
	rr := ok.header(parser.KindRecordRoute)

	// The back end hangs up: Route = our Record-Route, R-URI = the phone's
	// Contact.
	bye := fmt.Sprintf("BYE sip:alice@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-uasbye\r\nRoute: %s\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=t2\r\nTo: <sip:alice@example.com>;tag=f2\r\n"+
		"Call-ID: call-2\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n", phone.addr, uas.addr, rr)
	uas.send(lb, bye)
	b := phone.expect("BYE", isMethod("BYE"))
	if b.m.Count(parser.KindRoute) != 0 || b.m.Count(parser.KindVia) != 2 {
		t.Errorf("BYE at the phone:\n%s", b.b)
	}
	phone.send(b.from, respondTo(b, 200, "OK", "", netip.AddrPort{}))
	r := uas.expect("200 to BYE", isStatus(200))
	if r.m.Count(parser.KindVia) != 1 {
		t.Errorf("200 at the back end has %d Vias", r.m.Count(parser.KindVia))
	}
}

// runEngine runs e until the test ends, and fails the test if Run does.
func runEngine(t testing.TB, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

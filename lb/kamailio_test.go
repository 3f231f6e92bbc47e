package lb

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// startKamailioRegistrar runs Kamailio 5.6 with testdata/kamailio/registrar.cfg
// on 127.0.0.1 and waits until it answers.
func startKamailioRegistrar(t *testing.T) netip.AddrPort {
	t.Helper()
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		t.Skip("kamailio not installed (apt-get install kamailio; .ci/run does it)")
	}
	port := freeUDPPort(t, "127.0.0.1")
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	dir := t.TempDir()
	startProcess(t, bin, "-DD", "-E", "-f", "testdata/kamailio/registrar.cfg",
		"-A", fmt.Sprintf("LISTEN_SOCK=udp:%s", addr), "-Y", dir, "-P", dir+"/kamailio.pid", "-m", "64", "-M", "8")
	probe := newPeerAt(t, "probe", []byte{127, 0, 0, 4})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		probe.send(addr, fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ready%d\r\n"+
			"From: <sip:probe@x>;tag=p\r\nTo: <sip:k@x>\r\nCall-ID: ready\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\n"+
			"Content-Length: 0\r\n\r\n", addr, probe.addr, time.Now().UnixNano()))
		select {
		case <-probe.in:
			return addr
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatal("kamailio did not answer within 10 s")
	return addr
}

func register(t *testing.T, p *peer, lb netip.AddrPort, user string) {
	t.Helper()
	p.send(lb, fmt.Sprintf("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-reg-%s;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:%s@example.com>;tag=reg%s\r\nTo: <sip:%s@example.com>\r\n"+
		"Call-ID: reg-%s\r\nCSeq: 1 REGISTER\r\nContact: <sip:%s@%s>\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n",
		p.addr, user, user, user, user, user, user, p.addr))
	r := p.expect("200 to REGISTER", func(r rx) bool { return !r.m.IsRequest() && r.m.StatusCode() >= 200 })
	if r.m.StatusCode() != 200 {
		t.Fatalf("%s REGISTER: %s", user, r.startLine())
	}
}

// TestRegisteredPhonesCallEachOther: two phones register through sipfront to
// a Kamailio registrar (sipfront adds Path), then call each other. The call
// crosses sipfront twice (phone A → sipfront → Kamailio → sipfront → phone B):
// the second pass is a spiral, not a loop; the route set reads
// <sipfront>, <kamailio>, <sipfront>; ACK and BYE follow it both ways.
func TestRegisteredPhonesCallEachOther(t *testing.T) {
	kam := startKamailioRegistrar(t)
	_, lb := startEngine(t, dispatcher.HashTo, kam)
	alice := newPeerAt(t, "alice", []byte{127, 0, 0, 2})
	bob := newPeerAt(t, "bob", []byte{127, 0, 0, 3})
	register(t, alice, lb, "alice")
	register(t, bob, lb, "bob")

	alice.send(lb, fmt.Sprintf("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-a-inv;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\nCall-ID: spiral-1\r\n"+
		"CSeq: 1 INVITE\r\nContact: <sip:alice@%s>\r\nContent-Length: 0\r\n\r\n", alice.addr, alice.addr))
	inv := bob.expect("INVITE at bob", isMethod("INVITE"))
	// Bob sees: our Via twice (two passes), Kamailio's, Alice's; three
	// Record-Routes: sipfront, kamailio, sipfront.
	ours := 0
	nvia := 0
	for it := inv.m.Values(parser.KindVia); it.Next(); {
		nvia++
		if strings.Contains(string(inv.m.Bytes(it.Value())), "branch=z9hG4bKsf") {
			ours++
		}
	}
	if ours != 2 || nvia != 4 {
		t.Errorf("bob's INVITE has %d Vias, %d ours:\n%s", nvia, ours, inv.b)
	}
	var rrs []string
	for it := inv.m.Values(parser.KindRecordRoute); it.Next(); {
		rrs = append(rrs, string(inv.m.Bytes(it.Value())))
	}
	if len(rrs) != 3 || !strings.Contains(rrs[0], lb.String()) || !strings.Contains(rrs[1], kam.String()) ||
		!strings.Contains(rrs[2], lb.String()) {
		t.Fatalf("Record-Route at bob: %q", rrs)
	}
	bob.send(inv.from, respondTo(inv, 180, "Ringing", "b1", bob.addr))
	bob.send(inv.from, respondTo(inv, 200, "OK", "b1", bob.addr))
	alice.expect("180 at alice", isStatus(180))
	ok := alice.expect("200 at alice", isStatus(200))
	var aliceRoutes []string
	for it := ok.m.Values(parser.KindRecordRoute); it.Next(); {
		aliceRoutes = append([]string{string(ok.m.Bytes(it.Value()))}, aliceRoutes...)
	}
	if len(aliceRoutes) != 3 {
		t.Fatalf("200 at alice carries Record-Route %q", aliceRoutes)
	}
	inDialog := func(method, branch string, cseq int, routes []string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s sip:bob@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n", method, bob.addr, alice.addr, branch)
		for _, r := range routes {
			fmt.Fprintf(&b, "Route: %s\r\n", r)
		}
		fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b1\r\n"+
			"Call-ID: spiral-1\r\nCSeq: %d %s\r\nContent-Length: 0\r\n\r\n", cseq, method)
		return b.String()
	}
	alice.send(lb, inDialog("ACK", "z9hG4bK-a-ack", 1, aliceRoutes))
	ack := bob.expect("ACK at bob", isMethod("ACK"))
	if ack.m.Count(parser.KindRoute) != 0 {
		t.Errorf("ACK reached bob with Routes %q", ack.header(parser.KindRoute))
	}
	alice.send(lb, inDialog("BYE", "z9hG4bK-a-bye", 2, aliceRoutes))
	bye := bob.expect("BYE at bob", isMethod("BYE"))
	bob.send(bye.from, respondTo(bye, 200, "OK", "", netip.AddrPort{}))
	alice.expect("200 to BYE at alice", func(r rx) bool {
		return isStatus(200)(r) && strings.Contains(r.header(parser.KindCSeq), "BYE")
	})
}

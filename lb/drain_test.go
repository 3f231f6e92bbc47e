package lb

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sipfront/sipfront/parser"
)

// okFor matches the 200 answering a request of method in call callID.
func okFor(callID, method string) func(rx) bool {
	return func(r rx) bool {
		return isStatus(200)(r) && string(r.m.CallID()) == callID && strings.HasSuffix(r.header(parser.KindCSeq), " "+method)
	}
}

// TestDrain: a drained destination gets no new calls, while the requests of
// a dialog it already has (routed by our Record-Route cookie) and their
// responses still reach it; undrain gives it new calls again. Real UDP
// through the engine, the drain through the control API.
func TestDrain(t *testing.T) {
	a, b := newPeer(t, "a"), newPeer(t, "b")
	a.serveUAS()
	b.serveUAS()
	e, c, _ := ctlEngine(t, fmt.Sprintf("1 sip:%s\n1 sip:%s\n", a.addr, b.addr), ControlOptions{})
	lb := e.Addrs()[0]
	phone := newPhone(t, "phone")

	// invite places a call and returns the 200 and the back end that took it.
	invite := func(callID string) (rx, *peer) {
		t.Helper()
		na, nb := len(a.received("INVITE")), len(b.received("INVITE"))
		inv := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: callID, branch: "z9hG4bK-" + callID,
			fromTag: "f-" + callID, cseq: 1, from: phone.addr}
		phone.send(lb, inv.String())
		ok := phone.expect("200 to INVITE "+callID, okFor(callID, "INVITE"))
		switch {
		case len(a.received("INVITE")) == na+1 && len(b.received("INVITE")) == nb:
			return ok, a
		case len(b.received("INVITE")) == nb+1 && len(a.received("INVITE")) == na:
			return ok, b
		}
		t.Fatalf("INVITE %s: a got %d more, b %d more", callID, len(a.received("INVITE"))-na, len(b.received("INVITE"))-nb)
		return rx{}, nil
	}
	// inDialog sends an in-dialog request of the call answered by ok and
	// waits for its 200 (for an ACK: until uas has it).
	inDialog := func(ok rx, method string, cseq int, uas *peer) {
		t.Helper()
		callID := string(ok.m.CallID())
		req := reqSpec{method: method, ruri: "sip:uas@" + uas.addr.String(), callID: callID,
			branch: fmt.Sprintf("z9hG4bK-%s-%d", callID, cseq), fromTag: "f-" + callID, toTag: "uas-" + uas.name,
			cseq: cseq, from: phone.addr, routes: []string{ok.header(parser.KindRecordRoute)}}
		n := len(uas.received(method))
		phone.send(lb, req.String())
		if method == "ACK" {
			waitReceived(t, uas, "ACK", n+1)
			return
		}
		phone.expect("200 to "+method+" "+callID, okFor(callID, method))
	}

	// A call that lands on a (hash-callid picks by Call-ID).
	var dialog rx
	for i := 0; ; i++ {
		if i == 64 {
			t.Fatal("no Call-ID out of 64 went to a")
		}
		ok, uas := invite(fmt.Sprintf("before-%d", i))
		if uas == a {
			dialog = ok
			break
		}
	}
	inDialog(dialog, "ACK", 1, a)

	if r := call(t, c, "dispatcher.drain", `[1,"sip:`+a.addr.String()+`"]`); r != stateOK {
		t.Fatalf("drain: %+v", r)
	}
	if got := flagsOf(t, c, 1, "sip:"+a.addr.String()); got != "AX draining" {
		t.Errorf("dispatcher.list shows a as %q", got)
	}

	// New calls all go to b.
	aInvites := len(a.received("INVITE"))
	for i := 0; i < 40; i++ {
		if _, uas := invite(fmt.Sprintf("drained-%d", i)); uas != b {
			t.Fatalf("call drained-%d reached %s while a drains", i, uas.name)
		}
	}
	// The dialog on a goes on: a re-INVITE and the BYE reach a (by the
	// cookie), and a's answers reach the phone.
	aBye := len(a.received("BYE"))
	inDialog(dialog, "INVITE", 2, a)
	if got := len(a.received("INVITE")); got != aInvites+1 {
		t.Errorf("re-INVITE: a got %d INVITEs, want %d", got, aInvites+1)
	}
	inDialog(dialog, "BYE", 3, a)
	if got := len(a.received("BYE")); got != aBye+1 {
		t.Errorf("BYE: a got %d, want %d", got, aBye+1)
	}
	for _, r := range b.seen2(string(dialog.m.CallID())) {
		t.Errorf("b got a request of a's dialog: %s", r.startLine())
	}

	// Undrained, a takes new calls again.
	if r := call(t, c, "dispatcher.undrain", `[1,"sip:`+a.addr.String()+`"]`); r != stateOK {
		t.Fatalf("undrain: %+v", r)
	}
	for i := 0; ; i++ {
		if i == 64 {
			t.Fatal("a got no new call out of 64 after undrain")
		}
		if _, uas := invite(fmt.Sprintf("after-%d", i)); uas == a {
			break
		}
	}
}

package main

// Transaction behaviour of the UAC and the UAS against a scripted peer on
// loopback: retransmission intervals (RFC 3261 timers A, E, G), timeouts
// (B, F), ACK of 2xx and of non-2xx, answers with delay, failure and silence.

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

type peer struct {
	t testing.TB
	c *net.UDPConn
}

func newPeer(t testing.TB) *peer {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, c: c}
}

func (p *peer) addr() netip.AddrPort { return p.c.LocalAddr().(*net.UDPAddr).AddrPort() }

type got struct {
	m    *parser.Message
	raw  []byte
	from netip.AddrPort
	at   time.Time
}

// recv waits for one datagram; a nil result means none came in time.
func (p *peer) recv(timeout time.Duration) *got {
	p.t.Helper()
	buf := make([]byte, 8192)
	p.c.SetReadDeadline(time.Now().Add(timeout))
	n, from, err := p.c.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil
	}
	g := &got{raw: buf[:n], from: from, at: time.Now(), m: new(parser.Message)}
	if err := parser.Parse(g.raw, g.m); err != nil {
		p.t.Fatalf("peer got unparsable message: %v\n%s", err, g.raw)
	}
	return g
}

func (p *peer) must(timeout time.Duration, what string) *got {
	p.t.Helper()
	g := p.recv(timeout)
	if g == nil {
		p.t.Fatalf("no %s within %v", what, timeout)
	}
	return g
}

func (p *peer) expectRequest(timeout time.Duration, method string) *got {
	p.t.Helper()
	g := p.must(timeout, method)
	if !g.m.IsRequest() || string(g.m.MethodBytes()) != method {
		p.t.Fatalf("want %s, got:\n%s", method, g.raw)
	}
	return g
}

func (p *peer) send(b []byte, to netip.AddrPort) {
	p.t.Helper()
	if _, err := p.c.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

func (p *peer) answer(g *got, r response) {
	p.t.Helper()
	p.send(appendResponse(nil, g.m, &r), g.from)
}

func branchOf(t testing.TB, g *got) string {
	t.Helper()
	var v parser.Via
	s, _ := g.m.FirstValue(parser.KindVia)
	if err := parser.ParseVia(g.raw, s, &v); err != nil {
		t.Fatal(err)
	}
	return string(v.Branch.In(g.raw))
}

// gap checks the time between two arrivals. The peer sees arrival times, and
// a starved sender may be late with the first message and on time with the
// next, so callers give a lower bound with some room below the interval.
func gap(t testing.TB, a, b *got, min, max time.Duration) {
	t.Helper()
	if d := b.at.Sub(a.at); d < min || d > max {
		t.Errorf("retransmission after %v, want %v..%v", d, min, max)
	}
}

// startUAC runs a one-attempt UAC against target; the result arrives on the
// returned channel.
func startUAC(t testing.TB, target netip.AddrPort, flows string, t1, t2, hold time.Duration) <-chan *uacResult {
	t.Helper()
	w, err := parseFlows(flows)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &uacConfig{Target: target, Local: netip.MustParseAddr("127.0.0.1"), Workers: 1, Rate: 1000, Count: 1,
		Duration: time.Second, Hold: hold, Drain: 5 * time.Second, T1: t1, T2: t2, Weights: w, Service: "1000",
		MaxOpen: 16, Batch: 8, RunID: 77}
	out := make(chan *uacResult, 1)
	go func() {
		res, err := uacRun(cfg, context.Background(), nil)
		if err != nil {
			t.Error(err)
		}
		out <- res
	}()
	return out
}

func result(t testing.TB, ch <-chan *uacResult) *uacResult {
	t.Helper()
	select {
	case r := <-ch:
		if r == nil {
			t.Fatal("uac failed")
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("uac did not end")
	}
	return nil
}

func TestUACCallRetransmissions(t *testing.T) {
	p := newPeer(t)
	const t1 = 40 * time.Millisecond
	res := startUAC(t, p.addr(), "call", t1, 4*t1, 30*time.Millisecond)

	inv1 := p.expectRequest(2*time.Second, "INVITE")
	inv2 := p.expectRequest(time.Second, "INVITE") // Timer A: T1
	gap(t, inv1, inv2, t1/2, 6*t1)
	inv3 := p.expectRequest(time.Second, "INVITE") // then 2·T1
	gap(t, inv2, inv3, t1, 7*t1)
	if branchOf(t, inv1) != branchOf(t, inv3) {
		t.Errorf("retransmission changed the branch")
	}
	p.answer(inv3, response{code: 180, reason: "Ringing", toTag: []byte("uas1")})
	contact := []byte("sip:uas@" + p.addr().String())
	ok := response{code: 200, reason: "OK", toTag: []byte("uas1"), contact: contact, body: sdpAnswer}
	p.answer(inv3, ok)
	ack := p.expectRequest(time.Second, "ACK") // no INVITE retransmission after the 180
	if !strings.HasPrefix(string(ack.raw), "ACK "+string(contact)+" SIP/2.0") || !strings.Contains(string(ack.raw), ";tag=uas1") {
		t.Errorf("ACK not sent to the remote target with the remote tag:\n%s", ack.raw)
	}
	if branchOf(t, ack) == branchOf(t, inv1) {
		t.Errorf("ACK to a 2xx reuses the INVITE branch")
	}
	p.answer(inv3, ok) // the 200 again: ACKed again
	p.expectRequest(time.Second, "ACK")
	bye1 := p.expectRequest(time.Second, "BYE")
	if d := bye1.at.Sub(ack.at); d < 25*time.Millisecond {
		t.Errorf("BYE after %v, before the hold time", d)
	}
	bye2 := p.expectRequest(time.Second, "BYE") // Timer E: T1
	gap(t, bye1, bye2, t1/2, 6*t1)
	p.answer(bye2, response{code: 200, reason: "OK"})

	r := result(t, res)
	if r.OK != 1 || r.Failed != 0 || r.Retrans["invite"] != 2 || r.Retrans["ack_resent"] != 1 || r.Retrans["non_invite"] != 1 {
		t.Errorf("result: ok %d failed %d retrans %v", r.OK, r.Failed, r.Retrans)
	}
	if r.Latency["invite"].Count != 1 || r.Latency["bye"].Count != 1 {
		t.Errorf("latency %v", r.Latency)
	}
}

func TestUACInviteTimeout(t *testing.T) {
	p := newPeer(t)
	const t1 = 20 * time.Millisecond
	res := startUAC(t, p.addr(), "call", t1, 4*t1, 0)
	var at []time.Time
	for g := p.recv(2 * time.Second); g != nil; g = p.recv(2 * time.Second) {
		at = append(at, g.at)
	}
	r := result(t, res)
	// Timer A: retransmission k is due T1·(2^k − 1) after the first send
	// (20, 60, 140, 300, 620, 1260 ms), never earlier; Timer B ends the
	// transaction at 64·T1 = 1280 ms. A stalled machine may skip some.
	if len(at) < 2 || len(at) > 7 || r.Failures["timeout"] != 1 || r.Retrans["invite"] != uint64(len(at)-1) || r.Failed != 1 {
		t.Fatalf("%d INVITEs, failures %v, retrans %v", len(at), r.Failures, r.Retrans)
	}
	for k := 1; k < len(at); k++ {
		if d, due := at[k].Sub(at[0]), t1*time.Duration(1<<k-1); d < due-t1/2 {
			t.Errorf("retransmission %d after %v, before it was due (%v)", k, d, due)
		}
	}
	if d := at[len(at)-1].Sub(at[0]); d > 64*t1 {
		t.Errorf("INVITE sent %v after the first, past Timer B", d)
	}
}

func TestUACRejectedIsACKed(t *testing.T) {
	p := newPeer(t)
	res := startUAC(t, p.addr(), "call", 100*time.Millisecond, 400*time.Millisecond, 0)
	inv := p.expectRequest(2*time.Second, "INVITE")
	p.answer(inv, response{code: 503, reason: "Service Unavailable", toTag: []byte("x9")})
	ack := p.expectRequest(time.Second, "ACK")
	if branchOf(t, ack) != branchOf(t, inv) {
		t.Errorf("ACK to a non-2xx must be in the INVITE's transaction (same branch)")
	}
	if !strings.Contains(string(ack.raw), "CSeq: 1 ACK") || !strings.Contains(string(ack.raw), ";tag=x9") ||
		!strings.HasPrefix(string(ack.raw), "ACK "+string(inv.m.Bytes(inv.m.RequestURI()))+" ") {
		t.Errorf("bad ACK:\n%s", ack.raw)
	}
	r := result(t, res)
	if r.Failures["rejected"] != 1 || r.Codes["503"] != 1 || r.Failed != 1 {
		t.Errorf("failures %v codes %v", r.Failures, r.Codes)
	}
}

func TestUACNonInviteTimerE(t *testing.T) {
	p := newPeer(t)
	const t1, t2 = 10 * time.Millisecond, 40 * time.Millisecond
	res := startUAC(t, p.addr(), "register", t1, t2, 0)
	var regs []*got
	for range 5 {
		regs = append(regs, p.expectRequest(2*time.Second, "REGISTER"))
	}
	// T1, 2·T1, then capped at T2
	for i, want := range []time.Duration{t1, 2 * t1, t2, t2} {
		gap(t, regs[i], regs[i+1], want/2, want+100*time.Millisecond)
	}
	p.answer(regs[4], response{code: 200, reason: "OK", copyCt: true})
	r := result(t, res)
	if r.OK != 1 || r.Flows["register"].OK != 1 || r.Retrans["non_invite"] != 4 || r.Latency["register"].Count != 1 {
		t.Errorf("ok %d flows %v retrans %v", r.OK, r.Flows, r.Retrans)
	}
}

// startUAS runs a UAS on a free port until the test ends.
func startUAS(t testing.TB, cfg uasConfig) netip.AddrPort {
	t.Helper()
	if cfg.T1 == 0 {
		cfg.T1, cfg.T2 = 10*time.Millisecond, 40*time.Millisecond
	}
	cfg.Listen = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	cfg.Workers, cfg.Pending, cfg.Batch = 1, 64, 8
	if cfg.FailCode == 0 {
		cfg.FailCode = 503
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan netip.AddrPort, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := uasRun(&cfg, ctx, func(a []netip.AddrPort) { addrs <- a[0] }); err != nil {
			t.Error(err)
			addrs <- netip.AddrPort{}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return <-addrs
}

func expectStatus(t testing.TB, p *peer, code int, cseqMethod string) *got {
	t.Helper()
	g := p.must(time.Second, "response")
	if g.m.IsRequest() || g.m.StatusCode() != code {
		t.Fatalf("want %d, got:\n%s", code, g.raw)
	}
	if _, meth, _ := g.m.CSeq(); string(g.m.Bytes(meth)) != cseqMethod {
		t.Fatalf("want CSeq method %s:\n%s", cseqMethod, g.raw)
	}
	return g
}

func inDialog(method string, cseq string) []byte {
	s := strings.Replace(proxiedInvite, "INVITE sip:1000@127.0.0.1:5071", method+" sip:uas@127.0.0.1:5071", 1)
	s = strings.Replace(s, "CSeq: 1 INVITE", "CSeq: "+cseq+" "+method, 1)
	return []byte(strings.Replace(s, "To: <sip:1000@127.0.0.1:5060>", "To: <sip:1000@127.0.0.1:5060>;tag=t", 1))
}

func TestUASInviteFlow(t *testing.T) {
	uas := startUAS(t, uasConfig{})
	p := newPeer(t)
	p.send([]byte(proxiedInvite), uas)
	expectStatus(t, p, 100, "INVITE")
	ring := expectStatus(t, p, 180, "INVITE")
	ok1 := expectStatus(t, p, 200, "INVITE")
	if !strings.Contains(string(ring.raw), "Record-Route: <sip:127.0.0.1:5060;lr;sfc=abc>") ||
		!strings.Contains(string(ok1.raw), "Record-Route: <sip:127.0.0.1:5060;lr;sfc=abc>") || len(ok1.m.Body()) == 0 {
		t.Errorf("180/200 must echo Record-Route; 200 carries SDP:\n%s", ok1.raw)
	}
	ok2 := expectStatus(t, p, 200, "INVITE") // Timer G: T1
	gap(t, ok1, ok2, 5*time.Millisecond, 100*time.Millisecond)
	if string(ok1.raw) != string(ok2.raw) {
		t.Errorf("retransmitted 200 differs")
	}
	p.send([]byte(proxiedInvite), uas) // INVITE again: the 200 again
	expectStatus(t, p, 200, "INVITE")
	p.send(inDialog("ACK", "1"), uas)
	// what was in flight before the ACK took effect is drained; then, with
	// T2 = 40 ms, a 200 still pending would show within 200 ms
	time.Sleep(300 * time.Millisecond)
	for p.recv(time.Millisecond) != nil {
	}
	if g := p.recv(200 * time.Millisecond); g != nil {
		t.Fatalf("200 still retransmitted after the ACK:\n%s", g.raw)
	}
	p.send(inDialog("BYE", "2"), uas)
	expectStatus(t, p, 200, "BYE")
	reg := strings.Replace(strings.Replace(proxiedInvite, "INVITE sip:1000@127.0.0.1:5071", "REGISTER sip:127.0.0.1", 1), "1 INVITE", "1 REGISTER", 1)
	p.send([]byte(reg), uas)
	g := expectStatus(t, p, 200, "REGISTER")
	if !strings.Contains(string(g.raw), "Contact: <sip:sipbench@127.0.0.1:4000>") {
		t.Errorf("REGISTER 200 lacks the bindings:\n%s", g.raw)
	}
}

func TestUASFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   uasConfig
		codes []int // what the INVITE gets
	}{
		{"fail", uasConfig{Fail: 1, FailCode: 486}, []int{100, 486, 486}}, // 486 retransmitted (no ACK)
		{"drop", uasConfig{Drop: 1}, nil},
		{"delay", uasConfig{Delay: 60 * time.Millisecond}, []int{100, 180, 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uas := startUAS(t, tc.cfg)
			p := newPeer(t)
			start := time.Now()
			p.send([]byte(proxiedInvite), uas)
			for _, c := range tc.codes {
				expectStatus(t, p, c, "INVITE")
			}
			if tc.name == "delay" && time.Since(start) < 55*time.Millisecond {
				t.Errorf("200 after %v, before the delay", time.Since(start))
			}
			if tc.codes == nil {
				if g := p.recv(100 * time.Millisecond); g != nil {
					t.Errorf("dropped INVITE answered:\n%s", g.raw)
				}
			}
		})
	}
}

func TestUASCancel(t *testing.T) {
	uas := startUAS(t, uasConfig{Delay: time.Second})
	p := newPeer(t)
	p.send([]byte(proxiedInvite), uas)
	expectStatus(t, p, 100, "INVITE")
	expectStatus(t, p, 180, "INVITE")
	cancel := strings.Replace(strings.Replace(proxiedInvite, "INVITE sip", "CANCEL sip", 1), "1 INVITE", "1 CANCEL", 1)
	p.send([]byte(cancel), uas)
	expectStatus(t, p, 200, "CANCEL")
	expectStatus(t, p, 487, "INVITE")
}

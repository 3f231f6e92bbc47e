//go:build !race

package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

func TestWheelAllocs(t *testing.T) {
	w := newWheel(1024, 256, ms)
	now := time.Duration(0)
	fire := func(id int32) { w.Schedule(id, now+5*ms) }
	for i := range int32(1024) {
		w.Schedule(i, time.Duration(i)*50*time.Microsecond)
	}
	allocs := testing.AllocsPerRun(100, func() {
		now += ms
		w.Advance(now, fire)
	})
	if allocs != 0 {
		t.Errorf("Advance allocates %v times per call", allocs)
	}
}

// The UAC's steady state, per call: the INVITE written, its 200 parsed and
// the dialog learnt, the ACK and the BYE written, the BYE's 200 parsed.
func TestUACCallAllocs(t *testing.T) {
	w := testUACWorker(t)
	w.startCall(0)
	inv := append([]byte(nil), w.out.Msgs[0].Buf[:w.out.Msgs[0].N]...)
	w.nout = 0
	w.finish(0, true)
	var m parser.Message
	if err := parser.Parse(inv, &m); err != nil {
		t.Fatal(err)
	}
	ok := appendResponse(nil, &m, &response{code: 200, reason: "OK", toTag: []byte("tag1"), withRR: true, contact: []byte("sip:uas@127.0.0.1:5071"), body: sdpAnswer})
	// one call by hand to capture the BYE and answer it
	w.calls[0].gen = 0
	w.startCall(0)
	w.handle(ok)
	w.nout = 0
	w.fire(0)
	bye := append([]byte(nil), w.out.Msgs[0].Buf[:w.out.Msgs[0].N]...)
	if err := parser.Parse(bye, &m); err != nil {
		t.Fatal(err)
	}
	byeOK := appendResponse(nil, &m, &response{code: 200, reason: "OK"})
	w.handle(byeOK)
	w.nout = 0
	if w.c.OK[flowCall] != 2 {
		t.Fatalf("hand-made call failed: %+v", w.c)
	}
	allocs := testing.AllocsPerRun(200, func() {
		w.calls[0].gen = 0 // the same slot and generation each time
		w.startCall(0)
		w.handle(ok)
		w.fire(0) // hold over: BYE
		w.handle(byeOK)
		w.nout = 0
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call", allocs)
	}
	if w.c.OK[flowCall] < 200 || w.c.Stray != 0 || w.c.ParseErrors != 0 {
		t.Errorf("calls did not complete: ok %d stray %d parse errors %d", w.c.OK[flowCall], w.c.Stray, w.c.ParseErrors)
	}
}

// The UAS's steady state, per call: INVITE answered (100, 180, 200 kept for
// retransmission), ACK matched, BYE answered.
func TestUASCallAllocs(t *testing.T) {
	cfg := &uasConfig{T1: time.Second, T2: 4 * time.Second, Pending: 8, Batch: 8, FailCode: 503}
	w, err := newUASWorker(cfg, netip.MustParseAddrPort("127.0.0.1:0"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.conn.Close()
	w.start = time.Now()
	from := netip.MustParseAddrPort("127.0.0.1:9")
	inv, ack, bye := []byte(proxiedInvite), inDialog("ACK", "1"), inDialog("BYE", "2")
	allocs := testing.AllocsPerRun(200, func() {
		w.handle(inv, from)
		w.handle(ack, from)
		w.handle(bye, from)
		w.nout = 0
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call", allocs)
	}
	if w.c.Acked < 200 || w.c.Invites != w.c.Acked || len(w.free) != cfg.Pending {
		t.Errorf("invites %d acked %d free %d", w.c.Invites, w.c.Acked, len(w.free))
	}
}

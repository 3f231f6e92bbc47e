package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

// BenchmarkUACCall is the UAC's user-space work for one call without the
// system calls: INVITE written, 200 parsed and ACK written, BYE written, its
// 200 parsed (7 messages).
func BenchmarkUACCall(b *testing.B) {
	w := testUACWorker(b)
	w.startCall(0)
	var m parser.Message
	inv := append([]byte(nil), w.out.Msgs[0].Buf[:w.out.Msgs[0].N]...)
	if err := parser.Parse(inv, &m); err != nil {
		b.Fatal(err)
	}
	ok := appendResponse(nil, &m, &response{code: 200, reason: "OK", toTag: []byte("tag1"), withRR: true, contact: []byte("sip:uas@127.0.0.1:5071"), body: sdpAnswer})
	w.handle(ok)
	w.nout = 0
	w.fire(0)
	bye := append([]byte(nil), w.out.Msgs[0].Buf[:w.out.Msgs[0].N]...)
	if err := parser.Parse(bye, &m); err != nil {
		b.Fatal(err)
	}
	byeOK := appendResponse(nil, &m, &response{code: 200, reason: "OK"})
	w.handle(byeOK)
	w.nout = 0
	b.ReportAllocs()
	for b.Loop() {
		w.calls[0].gen = 0
		w.startCall(0)
		w.handle(ok)
		w.fire(0)
		w.handle(byeOK)
		w.nout = 0
	}
}

// BenchmarkUASCall is the UAS's user-space work for one call without the
// system calls: INVITE parsed and answered three times, ACK matched, BYE
// answered (7 messages).
func BenchmarkUASCall(b *testing.B) {
	cfg := &uasConfig{T1: time.Second, T2: 4 * time.Second, Pending: 8, Batch: 8, FailCode: 503}
	w, err := newUASWorker(cfg, netip.MustParseAddrPort("127.0.0.1:0"), false)
	if err != nil {
		b.Fatal(err)
	}
	defer w.conn.Close()
	w.start = time.Now()
	from := netip.MustParseAddrPort("127.0.0.1:9")
	inv, ack, bye := []byte(proxiedInvite), inDialog("ACK", "1"), inDialog("BYE", "2")
	b.ReportAllocs()
	for b.Loop() {
		w.handle(inv, from)
		w.handle(ack, from)
		w.handle(bye, from)
		w.nout = 0
	}
}

func testUACWorker(t testing.TB) *uacWorker {
	t.Helper()
	w8, _ := parseFlows("call")
	cfg := &uacConfig{Target: netip.MustParseAddrPort("127.0.0.1:9"), Local: netip.MustParseAddr("127.0.0.1"), Workers: 1,
		Rate: 1, Hold: time.Second, T1: time.Second, T2: 4 * time.Second, Weights: w8, Service: "1000", MaxOpen: 4, Batch: 8, RunID: 3}
	w, err := newUACWorker(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.conn.Close() })
	w.start = time.Now()
	return w
}

//go:build !race

package health

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// The methods the engine's workers call per message allocate nothing, with
// the prober's goroutine running and metrics counting.
func TestZeroAllocs(t *testing.T) {
	var lines []string
	for i := 0; i < 32; i++ {
		lines = append(lines, fmt.Sprintf("1 sip:10.0.0.%d:5060", i+1))
	}
	d := loadDispatcher(t, nil, lines...)
	snd := &fakeSender{}
	p, err := New(d, snd, Config{Interval: 50 * time.Millisecond, Timeout: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Stop()

	dest := d.Current().Set(1).Dests()[7]
	other := netip.MustParseAddrPort("192.0.2.9:5060")
	stale := parsed(t, replyTo(t, appendOptions(nil, &probe{uri: "sip:x", from: "sip:y", viaHost: "h:1", slot: 3, nonce: nonceBit | 5}), 200))
	notOurs := parsed(t, replyTo(t, []byte(invite("h:1", 1)), 503, "Retry-After: 30"))
	request := parsed(t, []byte(invite("h:1", 2)))
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"NoteSent", func() { p.NoteSent(dest) }},
		{"NoteSent unknown", func() { p.NoteSent(nil) }},
		{"NoteReply", func() { p.NoteReply(dest.Addr, 200, 0) }},
		{"NoteReply 503 Retry-After", func() { p.NoteReply(dest.Addr, 503, 30*time.Second) }},
		{"NoteReply not a destination", func() { p.NoteReply(other, 200, 0) }},
		{"NoteUnreachable", func() { p.NoteUnreachable(dest.Addr) }},
		{"Deliver stale", func() { p.Deliver(stale) }},
		{"Deliver not a probe", func() { p.Deliver(notOurs) }},
		{"Deliver request", func() { p.Deliver(request) }},
		{"RetryAfter", func() { _, _ = RetryAfter(notOurs) }},
		{"IsProbeBranch", func() { _ = IsProbeBranch([]byte(BranchPrefix)) }},
	} {
		if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
			t.Errorf("%s: %v allocs per run", tc.name, n)
		}
	}
}

// Deliver's matching path (the reply to an outstanding probe) allocates
// nothing either: measured on a hand-driven prober, re-arming the probe
// before each run.
func TestZeroAllocsDeliverMatch(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a)
	r.at(0)
	s := r.one()
	m := parsed(t, replyTo(t, s.b, 200))
	pr := r.p.peers[0]
	nonce := pr.nonce
	n := testing.AllocsPerRun(1000, func() {
		pr.inflight.Store(nonce)
		r.p.Deliver(m)
		if pr.inflight.Load() != done {
			t.Fatal("reply not matched")
		}
	})
	if n != 0 {
		t.Errorf("Deliver (match): %v allocs per run", n)
	}
}

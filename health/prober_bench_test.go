package health

import (
	"fmt"
	"testing"
	"time"
)

// Benchmarks of what the engine's workers call per message, and of the
// prober's own work.

func benchRig(b *testing.B, n int) *rig {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("1 sip:10.0.%d.%d:5060", i/200, i%200+1)
	}
	return newRig(b, unit(nil), lines...)
}

func BenchmarkNoteSent(b *testing.B) {
	for _, n := range []int{4, 64, 1024} {
		b.Run(fmt.Sprintf("dests=%d", n), func(b *testing.B) {
			r := benchRig(b, n)
			d := r.d.Current().Set(1).Dests()[n/2]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.p.NoteSent(d)
			}
		})
	}
}

// NoteSent and NoteReply from every core on one destination: the flags are
// written only when they change, so the cache line stays shared.
func BenchmarkNoteSentReplyParallel(b *testing.B) {
	r := benchRig(b, 64)
	d := r.d.Current().Set(1).Dests()[5]
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.p.NoteSent(d)
			r.p.NoteReply(d.Addr, 200, 0)
		}
	})
}

func BenchmarkNoteReply(b *testing.B) {
	r := benchRig(b, 64)
	d := r.d.Current().Set(1).Dests()[5]
	b.Run("destination", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r.p.NoteReply(d.Addr, 200, 0)
		}
	})
	b.Run("503 Retry-After", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r.p.NoteReply(d.Addr, 503, 30*time.Second)
		}
	})
}

func BenchmarkNoteUnreachable(b *testing.B) {
	r := benchRig(b, 64)
	d := r.d.Current().Set(1).Dests()[5]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.p.NoteUnreachable(d.Addr)
	}
}

func BenchmarkDeliver(b *testing.B) {
	r := newRig(b, unit(nil), "1 "+a)
	r.at(0)
	s := r.one()
	m := parsed(b, replyTo(b, s.b, 200))
	pr := r.p.peers[0]
	nonce := pr.nonce
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			pr.inflight.Store(nonce)
			r.p.Deliver(m)
		}
	})
	b.Run("stale", func(b *testing.B) {
		pr.inflight.Store(idle)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r.p.Deliver(m)
		}
	})
}

// One wake of the prober with nothing due, by number of destinations.
func BenchmarkStepIdle(b *testing.B) {
	for _, n := range []int{16, 256, 4096} {
		b.Run(fmt.Sprintf("dests=%d", n), func(b *testing.B) {
			r := benchRig(b, n)
			r.at(0)
			for _, s := range r.snd.take() {
				r.answer(s, 200)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.p.step(10 * time.Millisecond)
			}
		})
	}
}

func BenchmarkAppendOptions(b *testing.B) {
	pr := &probe{uri: "sip:10.0.0.1:5060", from: DefaultFromURI, viaHost: "192.0.2.1:5060", slot: 12, nonce: nonceBit | 77, cseq: 9}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = appendOptions(buf[:0], pr)
	}
}

package dispatcher

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// setLatency gives the destinations of s, in file order, the EWMA
// latencies ms; a negative value leaves it unknown.
func setLatency(s *Set, ms ...float64) {
	for i, d := range byFile(s) {
		if i < len(ms) && ms[i] >= 0 {
			d.RT.LatencyEWMA.Store(int64(ms[i] * float64(time.Millisecond)))
		}
	}
}

// byFile returns the destinations of s in file order.
func byFile(s *Set) []*Dest {
	out := slices.Clone(s.Dests())
	slices.SortFunc(out, func(a, b *Dest) int { return a.Line - b.Line })
	return out
}

func TestSelectLatency(t *testing.T) {
	const keys = 20000
	for _, tc := range []struct {
		name  string
		lines []string
		lat   []float64 // ms by file order; -1 unknown
		down  []int     // file indexes made inactive
		share []float64 // expected share by file order
	}{
		{"lowest wins", nDests(3, noAttrs), []float64{30, 5, 60}, nil, []float64{0, 1, 0}},
		{"near-equal share", nDests(4, noAttrs), []float64{10, 12, 40, 11}, nil, []float64{1. / 3, 1. / 3, 0, 1. / 3}},
		{"quarter of best is near", nDests(3, noAttrs), []float64{100, 124, 126}, nil, []float64{.5, .5, 0}},
		{"at least 1 ms is near", nDests(3, noAttrs), []float64{0.2, 1.1, 1.3}, nil, []float64{.5, .5, 0}},
		{"unknown latency takes a share", nDests(3, noAttrs), []float64{10, -1, 50}, nil, []float64{.5, .5, 0}},
		{"all unknown: equal", nDests(3, noAttrs), []float64{-1, -1, -1}, nil, []float64{1. / 3, 1. / 3, 1. / 3}},
		{"best inactive: next best", nDests(3, noAttrs), []float64{5, 20, 80}, []int{0}, []float64{0, 1, 0}},
		{"priority before latency", []string{
			"1 sip:10.0.0.1:5060 0 5", "1 sip:10.0.0.2:5060 0 5", "1 sip:10.0.0.3:5060 0 0",
		}, []float64{200, 300, 1}, nil, []float64{1, 0, 0}},
		{"priority as tolerance (Kamailio step)", []string{
			"1 sip:10.0.0.1:5060 0 30", "1 sip:10.0.0.2:5060 0 30", "1 sip:10.0.0.3:5060 0 30",
		}, []float64{5, 34, 36}, nil, []float64{.5, .5, 0}},
		{"failover to lower priority", []string{
			"1 sip:10.0.0.1:5060 0 5", "1 sip:10.0.0.2:5060 0 0", "1 sip:10.0.0.3:5060 0 0",
		}, []float64{1, 90, 10}, []int{0}, []float64{0, 0, 1}},
		{"latency attr is the prior", []string{
			"1 sip:10.0.0.1:5060 0 0 latency=50", "1 sip:10.0.0.2:5060 0 0 latency=8", "1 sip:10.0.0.3:5060 0 0 latency=50",
		}, []float64{-1, -1, 9}, nil, []float64{0, .5, .5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mkTable(t, tc.lines...).Set(1)
			file := byFile(s)
			setLatency(s, tc.lat...)
			for _, i := range tc.down {
				file[i].Transition(0, Inactive, "test")
			}
			c := counts(t, s, Latency, keys)
			for i, d := range file {
				got := float64(c[d]) / keys
				want := tc.share[i]
				// Binomial spread at 20000 keys is under 0.4%; 2% leaves
				// room without hiding a wrong rule.
				if math.Abs(got-want) > 0.02 {
					t.Errorf("%s (%.1f ms): share %.3f, want %.3f", d.URI, tc.lat[i], got, want)
				}
			}
		})
	}
}

// A destination that stops being near-best moves only its own calls; the
// others keep theirs (rendezvous).
func TestSelectLatencyMovesOnlyItsCalls(t *testing.T) {
	s := mkTable(t, nDests(4, noAttrs)...).Set(1)
	setLatency(s, 10, 11, 12, 10)
	file := byFile(s)
	before := make([]*Dest, 5000)
	for i := range before {
		before[i] = s.Select(Latency, keyOf(i))
	}
	file[2].RT.LatencyEWMA.Store(int64(80 * time.Millisecond))
	moved := 0
	for i, old := range before {
		now := s.Select(Latency, keyOf(i))
		if now == file[2] {
			t.Fatalf("key %d still on the slow destination", i)
		}
		if now != old {
			if old != file[2] {
				t.Fatalf("key %d moved from %s to %s, though %s did not change", i, old.URI, now.URI, old.URI)
			}
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no key was on the destination that slowed down")
	}
}

// Same key, same destination: a retransmission goes where its INVITE went.
func TestSelectLatencyDeterministic(t *testing.T) {
	s := mkTable(t, nDests(5, noAttrs)...).Set(1)
	setLatency(s, 3, 3.2, 3.1, 20, -1)
	for i := 0; i < 1000; i++ {
		a, b := s.Select(Latency, keyOf(i)), s.Select(Latency, keyOf(i))
		if a == nil || a != b {
			t.Fatalf("key %d: %v then %v", i, a, b)
		}
	}
}

func TestSelectLatencyNone(t *testing.T) {
	s := mkTable(t, nDests(3, noAttrs)...).Set(1)
	for _, d := range s.Dests() {
		d.Transition(0, Disabled, "test")
	}
	if d := s.Select(Latency, 1); d != nil {
		t.Fatalf("selected %s with every destination disabled", d.URI)
	}
	var nilSet *Set
	if nilSet.Select(Latency, 1) != nil {
		t.Fatal("nil set selected something")
	}
	// Draining is unusable for new calls, in algorithm 13 as elsewhere.
	s = mkTable(t, nDests(2, noAttrs)...).Set(1)
	setLatency(s, 1, 50)
	byFile(s)[0].Transition(0, Draining, "test")
	for i := 0; i < 100; i++ {
		if d := s.Select(Latency, keyOf(i)); d != byFile(s)[1] {
			t.Fatalf("key %d: got %v, want the only usable destination", i, d)
		}
	}
}

func BenchmarkSelectLatency(b *testing.B) {
	for _, n := range []int{2, 8, 32} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := mkTable(b, nDests(n, noAttrs)...).Set(1)
			for i, d := range s.Dests() {
				d.RT.LatencyEWMA.Store(int64(time.Millisecond) * int64(5+i%4))
			}
			b.ReportAllocs()
			key := HashString("call-id@host")
			var d *Dest
			for i := 0; i < b.N; i++ {
				d = s.Select(Latency, key+uint64(i))
			}
			if d == nil {
				b.Fatal("nil")
			}
		})
	}
}

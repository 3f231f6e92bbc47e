package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestWheelFiresOnTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		at      []time.Duration // one timer per id
		advance []time.Duration // successive Advance calls
		fired   [][]int32       // ids fired by each call, in order
	}{
		{"nothing due yet", []time.Duration{5 * ms}, []time.Duration{4 * ms}, [][]int32{nil}},
		{"due exactly", []time.Duration{5 * ms}, []time.Duration{5 * ms}, [][]int32{{0}}},
		{"rounded up, never early", []time.Duration{5*ms + 1}, []time.Duration{5 * ms, 6 * ms}, [][]int32{nil, {0}}},
		{"in deadline order", []time.Duration{9 * ms, 3 * ms, 6 * ms}, []time.Duration{10 * ms}, [][]int32{{1, 2, 0}}},
		{"past time fires next", []time.Duration{0}, []time.Duration{ms}, [][]int32{{0}}},
		{"beyond one round of the wheel", []time.Duration{20 * ms, 4 * ms}, []time.Duration{16 * ms, 19 * ms, 20 * ms}, [][]int32{{1}, nil, {0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWheel(len(tc.at), 16, ms) // 16 buckets: 16 ms per round
			for id, at := range tc.at {
				w.Schedule(int32(id), at)
			}
			for i, now := range tc.advance {
				var got []int32
				w.Advance(now, func(id int32) { got = append(got, id) })
				if !slices.Equal(got, tc.fired[i]) {
					t.Errorf("Advance(%v) fired %v, want %v", now, got, tc.fired[i])
				}
			}
		})
	}
}

func TestWheelCancelAndReschedule(t *testing.T) {
	w := newWheel(4, 8, ms)
	w.Schedule(0, 3*ms)
	w.Schedule(1, 3*ms)
	w.Schedule(2, 3*ms)
	w.Cancel(1)
	w.Cancel(3)         // not armed: no-op
	w.Schedule(2, 7*ms) // replaces the pending timer
	if w.Len() != 2 || w.Armed(1) || !w.Armed(2) {
		t.Fatalf("len %d armed(1)=%v armed(2)=%v", w.Len(), w.Armed(1), w.Armed(2))
	}
	var got []int32
	w.Advance(5*ms, func(id int32) { got = append(got, id) })
	if !slices.Equal(got, []int32{0}) {
		t.Fatalf("fired %v, want [0]", got)
	}
	w.Advance(7*ms, func(id int32) { got = append(got, id) })
	if !slices.Equal(got, []int32{0, 2}) || w.Len() != 0 {
		t.Fatalf("fired %v (len %d), want [0 2]", got, w.Len())
	}
}

// A timer's callback may schedule timers, its own id included, into the
// bucket being walked (they fire in a later round, not now), and may cancel a
// timer due in the same walk (it does not fire).
func TestWheelRescheduleFromCallback(t *testing.T) {
	w := newWheel(3, 4, ms) // 4 ms per round
	w.Schedule(0, 2*ms)
	w.Schedule(1, 2*ms)
	count := map[int32]int{}
	first := int32(-1)
	fire := func(id int32) {
		count[id]++
		if first < 0 {
			first = id
			w.Cancel(1 - id) // due in this walk: must not fire
			w.Schedule(2, 2*ms+4*ms)
		}
		if id != 2 && count[id] < 3 {
			w.Schedule(id, 2*ms+time.Duration(count[id])*4*ms) // same bucket, next rounds
		}
	}
	w.Advance(2*ms, fire)
	if count[0]+count[1] != 1 {
		t.Fatalf("after 2ms: %v", count)
	}
	w.Advance(6*ms, fire)
	if count[first] != 2 || count[2] != 1 {
		t.Fatalf("after 6ms: %v", count)
	}
	w.Advance(100*ms, fire)
	if count[first] != 3 || count[1-first] != 0 || count[2] != 1 || w.Len() != 0 {
		t.Fatalf("after 100ms: %v len %d", count, w.Len())
	}
}

// TestWheelRandom compares the wheel with a brute-force model under random
// schedules, cancels and advances: every timer fires once, at the first
// Advance at or after its deadline (rounded up to the tick), never before.
func TestWheelRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 200
	w := newWheel(n, 64, ms)
	due := make([]time.Duration, n) // model: deadline rounded up to the tick, -1 idle
	for i := range due {
		due[i] = -1
	}
	now := time.Duration(0)
	for step := 0; step < 5000; step++ {
		id := int32(r.IntN(n))
		switch r.IntN(3) {
		case 0, 1:
			at := now + time.Duration(r.IntN(200_000))*time.Microsecond
			w.Schedule(id, at)
			d := (at + ms - 1) / ms * ms
			if d <= now/ms*ms {
				d = now/ms*ms + ms
			}
			due[id] = d
		case 2:
			w.Cancel(id)
			due[id] = -1
		}
		if r.IntN(4) == 0 {
			now += time.Duration(r.IntN(30_000)) * time.Microsecond
			w.Advance(now, func(id int32) {
				if due[id] < 0 || due[id] > now {
					t.Fatalf("id %d fired at %v, due %v", id, now, due[id])
				}
				due[id] = -1
			})
			for id, d := range due {
				if d >= 0 && d <= now/ms*ms {
					t.Fatalf("id %d due %v not fired by %v", id, d, now)
				}
			}
		}
	}
}

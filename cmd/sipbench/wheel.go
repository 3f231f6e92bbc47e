package main

// A hashed timing wheel for the per-call timers of the UAC and the per-
// transaction timers of the UAS (RFC 3261 §17: A, B, E, F, G, H and the hold
// time between ACK and BYE).
//
// Timers are identified by a small integer (the call or transaction slot), so
// the wheel is three int32/int64 arrays and a bucket head array: scheduling,
// cancelling and rescheduling are O(1) list operations with no allocation, and
// each slot has at most one pending timer (a reschedule replaces it), which is
// what a transaction state machine needs. A tick is the resolution (1 ms by
// default); a deadline further away than the wheel's span waits in its bucket
// for the right round.

import "time"

const wheelNone = -1

type wheel struct {
	tick    time.Duration
	mask    int64
	buckets []int32 // head id per bucket, wheelNone when empty
	next    []int32
	prev    []int32
	due     []int64 // tick number at which the timer fires; -1 when not armed
	now     int64   // last tick advanced to (every timer due <= now has fired)
	armed   int
}

// newWheel makes a wheel for ids [0, n) with nb buckets (a power of two) of
// resolution tick.
func newWheel(n int, nb int, tick time.Duration) *wheel {
	if nb&(nb-1) != 0 || nb <= 0 {
		panic("sipbench: wheel buckets must be a power of two")
	}
	w := &wheel{
		tick:    tick,
		mask:    int64(nb - 1),
		buckets: make([]int32, nb),
		next:    make([]int32, n),
		prev:    make([]int32, n),
		due:     make([]int64, n),
	}
	for i := range w.buckets {
		w.buckets[i] = wheelNone
	}
	for i := range w.due {
		w.due[i] = -1
	}
	return w
}

// ticks converts an elapsed time (since the wheel's epoch) to a tick number,
// rounding up so that a timer never fires early.
func (w *wheel) ticks(at time.Duration) int64 {
	return int64((at + w.tick - 1) / w.tick)
}

// Armed reports whether id has a pending timer.
func (w *wheel) Armed(id int32) bool { return w.due[id] >= 0 }

// Len is the number of pending timers.
func (w *wheel) Len() int { return w.armed }

// Schedule arms id to fire at elapsed time at (replacing any pending timer of
// id). A time already past fires at the next Advance.
func (w *wheel) Schedule(id int32, at time.Duration) {
	if w.due[id] >= 0 {
		w.unlink(id)
	}
	t := w.ticks(at)
	if t <= w.now {
		t = w.now + 1
	}
	w.due[id] = t
	b := t & w.mask
	h := w.buckets[b]
	w.next[id] = h
	w.prev[id] = wheelNone
	if h != wheelNone {
		w.prev[h] = id
	}
	w.buckets[b] = id
	w.armed++
}

// Cancel disarms id (no-op when it is not armed).
func (w *wheel) Cancel(id int32) {
	if w.due[id] >= 0 {
		w.unlink(id)
	}
}

func (w *wheel) unlink(id int32) {
	b := w.due[id] & w.mask
	n, p := w.next[id], w.prev[id]
	if p != wheelNone {
		w.next[p] = n
	} else {
		w.buckets[b] = n
	}
	if n != wheelNone {
		w.prev[n] = p
	}
	w.due[id] = -1
	w.armed--
}

// Advance fires, in deadline order of ticks, every timer due at or before
// elapsed time now, calling fire(id) after disarming it; fire may schedule
// again (also the same id). It returns how many fired.
func (w *wheel) Advance(now time.Duration, fire func(id int32)) int {
	target := int64(now / w.tick)
	fired := 0
	for w.now < target {
		if w.armed == 0 {
			w.now = target
			break
		}
		w.now++
		b := w.now & w.mask
		for id := w.buckets[b]; id != wheelNone; {
			nx := w.next[id]
			if w.due[id] <= w.now {
				w.unlink(id)
				fired++
				fire(id)
				// fire may have changed this bucket (scheduled into it
				// for a later round, or cancelled nx): restart the walk.
				nx = w.buckets[b]
				for nx != wheelNone && w.due[nx] > w.now {
					nx = w.next[nx]
				}
			}
			id = nx
		}
	}
	return fired
}

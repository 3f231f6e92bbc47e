//go:build !race

package main

import (
	"testing"
	"time"
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

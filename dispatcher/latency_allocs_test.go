//go:build !race

package dispatcher

import (
	"testing"
	"time"
)

// Algorithm 13 allocates nothing either: it runs for every initial request.
func TestZeroAllocsLatency(t *testing.T) {
	s := mkTable(t, nDests(16, noAttrs)...).Set(1)
	for i, d := range s.Dests() {
		d.RT.LatencyEWMA.Store(int64(time.Millisecond) * int64(1+i%3))
	}
	key := HashString("a84b4c76e66710@pc33.atlanta.com")
	var sink *Dest
	if n := testing.AllocsPerRun(1000, func() { sink = s.Select(Latency, key); key++ }); n != 0 {
		t.Errorf("Select latency: %v allocs per run", n)
	}
	if sink == nil {
		t.Fatal("nothing selected")
	}
}

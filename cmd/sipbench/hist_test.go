package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistBuckets(t *testing.T) {
	// every value lands in a bucket whose range holds it, and buckets are
	// contiguous and increasing
	for i := 0; i < histLen-1; i++ {
		lo, hi := histLow(i), histLow(i+1)
		if hi <= lo {
			t.Fatalf("bucket %d: [%d, %d) is empty", i, lo, hi)
		}
		if histIndex(lo) != i || histIndex(hi-1) != i {
			t.Fatalf("bucket %d [%d,%d): index(lo)=%d index(hi-1)=%d", i, lo, hi, histIndex(lo), histIndex(hi-1))
		}
		// relative width bounds the error: at most 1/32 above the exact range
		if lo >= histSub && float64(hi-lo)/float64(lo) > 1.0/32+1e-9 {
			t.Fatalf("bucket %d too wide: [%d, %d)", i, lo, hi)
		}
	}
	if got := histIndex(1 << 50); got != histLen-1 {
		t.Errorf("huge value in bucket %d, want the last (%d)", got, histLen-1)
	}
}

func TestHistQuantiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration // exact quantile (nearest rank)
	}{
		{"single", []time.Duration{7 * time.Microsecond}, 0.99, 7 * time.Microsecond},
		{"exact small values", us(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.5, 5 * time.Microsecond},
		{"p90 of 1..10", us(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9 * time.Microsecond},
		{"max", us(1, 2, 3, 1000), 1, 1000 * time.Microsecond},
		{"min", us(40, 2, 300), 0, 2 * time.Microsecond},
		{"sub-microsecond rounds down", []time.Duration{500 * time.Nanosecond}, 0.5, 0},
		{"negative is zero", []time.Duration{-time.Second}, 0.5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Hist
			for _, v := range tc.values {
				h.Record(v)
			}
			if got := h.Quantile(tc.q); got != tc.want {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func us(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Microsecond
	}
	return out
}

// TestHistAgainstSort checks percentiles of random latency-like data against
// the exact nearest-rank values: never below, at most one bucket (1/32) above.
func TestHistAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Hist
	vals := make([]uint64, 0, 100000)
	for range 100000 {
		// log-normal-ish: 50 µs .. 5 s
		v := uint64(float64(uint64(50)<<r.IntN(17)) * (1 + r.Float64()))
		vals = append(vals, v)
		h.Record(time.Duration(v) * time.Microsecond)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := int(q*float64(len(vals))+0.999999) - 1
		exact := vals[max(rank, 0)]
		got := uint64(h.Quantile(q) / time.Microsecond)
		if got < exact || float64(got-exact) > float64(exact)/32+1 {
			t.Errorf("q=%v: got %d µs, exact %d µs", q, got, exact)
		}
	}
	if h.Count() != 100000 || uint64(h.Min()/time.Microsecond) != vals[0] || uint64(h.Max()/time.Microsecond) != vals[len(vals)-1] {
		t.Errorf("count/min/max = %d/%v/%v", h.Count(), h.Min(), h.Max())
	}
}

func TestHistMerge(t *testing.T) {
	var a, b, all Hist
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Hist
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Hist{}) // empty: no effect on min
	if m != all {
		t.Errorf("merged histogram differs from the one that saw every value")
	}
	if s := m.Summary(); s.Count != 1000 || s.MinUs != 1 || s.MaxUs != 1000000 || s.P50Us < 250000 || s.P50Us > 260000 {
		t.Errorf("summary %+v", s)
	}
	m.Reset()
	if m.Count() != 0 || m.Quantile(0.5) != 0 || m.Mean() != 0 {
		t.Errorf("reset histogram not empty")
	}
}

func BenchmarkHistRecord(b *testing.B) {
	var h Hist
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Record(time.Duration(i&0xfffff) * time.Microsecond)
		i += 7919
	}
}

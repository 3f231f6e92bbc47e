package main

// A latency histogram in the HDR style: log-linear buckets, so recording is a
// few shifts and an increment (no allocation, no floating point), the relative
// error of a percentile is bounded (1/histSub, about 3 %), and histograms of
// several workers merge by adding their buckets.
//
// Values are microseconds. Values below histSub are exact; above, each power
// of two is split into histSub/2 equal sub-buckets. The top group ends at
// 2^histGroups µs (about 19 hours): larger values are clamped into it.

import (
	"math/bits"
	"time"
)

const (
	histSub    = 64 // sub-buckets per power of two at the low end; exact below this
	histShift  = 6  // log2(histSub)
	histGroups = 36 // powers of two covered: values up to 2^36 µs
	histLen    = histSub + (histGroups-histShift)*(histSub/2)
)

// Hist is a latency histogram. The zero value is empty and ready. It is not
// safe for concurrent use: each worker owns one, and reports merge copies.
type Hist struct {
	counts [histLen]uint64
	n      uint64
	sum    uint64 // µs
	min    uint64
	max    uint64
}

// histIndex maps a value in µs to its bucket.
func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - histShift // v>>e is in [histSub/2, histSub)
	i := histSub + (e-1)*(histSub/2) + int(v>>e) - histSub/2
	if i >= histLen {
		return histLen - 1
	}
	return i
}

// histLow returns the smallest value of bucket i; histLow(i+1)-1 is its
// largest.
func histLow(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	j := i - histSub
	e := j/(histSub/2) + 1
	return uint64(histSub/2+j%(histSub/2)) << e
}

// Record adds one value.
func (h *Hist) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d / time.Microsecond)
	}
	h.counts[histIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Count is the number of recorded values.
func (h *Hist) Count() uint64 { return h.n }

// Merge adds the values of o to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h.
func (h *Hist) Reset() { *h = Hist{} }

// Quantile returns the value below which a fraction q of the values lie (q in
// [0, 1]), as the upper edge of the bucket that holds it, clamped to the
// largest value seen: never below the true quantile, at most one bucket width
// (about 3 %) above it. An empty histogram gives 0.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min) * time.Microsecond
	}
	// rank of the wanted value, 1-based: ceil(q*n)
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++
	}
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := histLow(i+1) - 1
			if i == histLen-1 || v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return time.Duration(v) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

// Min, Max and Mean of the recorded values (0 when empty).
func (h *Hist) Min() time.Duration { return time.Duration(h.min) * time.Microsecond }
func (h *Hist) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }
func (h *Hist) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}

// HistSummary is the JSON form of a histogram: count and percentiles in
// microseconds.
type HistSummary struct {
	Count  uint64 `json:"count"`
	MinUs  uint64 `json:"min_us"`
	MeanUs uint64 `json:"mean_us"`
	P50Us  uint64 `json:"p50_us"`
	P90Us  uint64 `json:"p90_us"`
	P99Us  uint64 `json:"p99_us"`
	P999Us uint64 `json:"p999_us"`
	MaxUs  uint64 `json:"max_us"`
}

// Summary reports h's count and percentiles.
func (h *Hist) Summary() HistSummary {
	us := func(d time.Duration) uint64 { return uint64(d / time.Microsecond) }
	return HistSummary{
		Count:  h.n,
		MinUs:  us(h.Min()),
		MeanUs: us(h.Mean()),
		P50Us:  us(h.Quantile(0.50)),
		P90Us:  us(h.Quantile(0.90)),
		P99Us:  us(h.Quantile(0.99)),
		P999Us: us(h.Quantile(0.999)),
		MaxUs:  us(h.Max()),
	}
}

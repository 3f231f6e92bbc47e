package bpf

import (
	"io"
	"strconv"
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

// Metrics. Every live filter's counters are exported at scrape time, so the
// packet path (kernel or user space) updates nothing but its own counters:
//
//	sipfront_filter_packets_total{reason="dropped_rate",path="xdp"} 17
//
// path is "xdp" or "user"; a path appears while a filter of that kind is
// open, with every reason. Filters register when made and unregister on
// Close; one writer, registered with the default metrics set on first use,
// sums them per path.

const metricName = "sipfront_filter_packets_total"

var (
	liveMu   sync.Mutex
	live     []Filter
	liveOnce sync.Once
)

func register(f Filter) {
	liveOnce.Do(func() { metrics.RegisterMetricsWriter(writeMetrics) })
	liveMu.Lock()
	live = append(live, f)
	liveMu.Unlock()
}

func unregister(f Filter) {
	liveMu.Lock()
	defer liveMu.Unlock()
	for i, g := range live {
		if g == f {
			live = append(live[:i], live[i+1:]...)
			return
		}
	}
}

// writeMetrics writes the counters of the live filters in Prometheus text
// format. A filter whose counters cannot be read (closing, or a map error)
// is left out of this scrape.
func writeMetrics(w io.Writer) {
	liveMu.Lock()
	fs := append([]Filter(nil), live...)
	liveMu.Unlock()

	var sums [2]Counters // xdp, user
	var seen [2]bool
	for _, f := range fs {
		i := 0
		if f.Mode() == ModeUser {
			i = 1
		}
		c, err := f.Counters()
		if err != nil {
			continue
		}
		seen[i] = true
		for r := range c {
			sums[i][r] += c[r]
		}
	}
	if !seen[0] && !seen[1] {
		return
	}
	metrics.WriteMetadataIfNeeded(w, metricName, "counter")
	var buf []byte
	for i, path := range [2]string{"xdp", "user"} {
		if !seen[i] {
			continue
		}
		for r := range NumReasons {
			buf = append(buf[:0], metricName...)
			buf = append(buf, `{reason="`...)
			buf = append(buf, Reason(r).String()...)
			buf = append(buf, `",path="`...)
			buf = append(buf, path...)
			buf = append(buf, `"} `...)
			buf = strconv.AppendUint(buf, sums[i][r], 10)
			buf = append(buf, '\n')
			w.Write(buf)
		}
	}
}

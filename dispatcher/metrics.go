package dispatcher

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Reload outcomes, in the default metrics set (served by lb's /metrics).
var (
	reloadsOK    = metrics.NewCounter(`sipfront_dispatcher_reloads_total{result="ok"}`)
	reloadsError = metrics.NewCounter(`sipfront_dispatcher_reloads_total{result="error"}`)

	// DNS refreshes of destinations named by host name (dns.go), and the
	// table swaps that changed targets.
	dnsRefreshOK    = metrics.NewCounter(`sipfront_dispatcher_dns_refreshes_total{result="ok"}`)
	dnsRefreshError = metrics.NewCounter(`sipfront_dispatcher_dns_refreshes_total{result="error"}`)
	dnsSwaps        = metrics.NewCounter(`sipfront_dispatcher_dns_swaps_total`)
)

// WritePrometheus writes the per-destination series of the current table in
// Prometheus text format. It is meant for metrics.RegisterMetricsWriter (or
// lb's /metrics handler): computed at scrape time from the Runtime words, so
// there is nothing to register or unregister when tables swap.
//
//	sipfront_dispatcher_destination_selected_total{set,uri}
//	sipfront_dispatcher_destination_state{set,uri,state}   1 for the current state, 0 for the others
//	sipfront_dispatcher_destination_probe_failures_total{set,uri}
//	sipfront_dispatcher_destination_latency_seconds{set,uri,stat="ewma"|"max"}
//	sipfront_dispatcher_destination_dns_age_seconds{set,uri}   named destinations: time since DNS confirmed the targets
func (d *Dispatcher) WritePrometheus(w io.Writer) {
	t := d.Current()
	labels := make([]string, len(t.all))
	for i, ds := range t.all {
		labels[i] = `set="` + strconv.Itoa(ds.Set) + `",uri="` + escapeLabel(ds.URI) + `"`
	}
	for i, ds := range t.all {
		metrics.WriteCounterUint64(w, "sipfront_dispatcher_destination_selected_total{"+labels[i]+"}", ds.RT.Selected.Load())
	}
	for i, ds := range t.all {
		cur := ds.State().String()
		for _, name := range stateNames {
			var v uint64
			if name == cur {
				v = 1
			}
			metrics.WriteGaugeUint64(w, "sipfront_dispatcher_destination_state{"+labels[i]+`,state="`+name+`"}`, v)
		}
	}
	for i, ds := range t.all {
		metrics.WriteCounterUint64(w, "sipfront_dispatcher_destination_probe_failures_total{"+labels[i]+"}", ds.RT.ProbeFailures.Load())
	}
	now := time.Now()
	for i, ds := range t.all {
		if st, ok := ds.DNS(); ok {
			metrics.WriteGaugeFloat64(w, "sipfront_dispatcher_destination_dns_age_seconds{"+labels[i]+"}", st.Age(now).Seconds())
		}
	}
	for i, ds := range t.all {
		metrics.WriteGaugeFloat64(w, "sipfront_dispatcher_destination_latency_seconds{"+labels[i]+`,stat="ewma"}`,
			float64(ds.RT.LatencyEWMA.Load())/1e9)
		metrics.WriteGaugeFloat64(w, "sipfront_dispatcher_destination_latency_seconds{"+labels[i]+`,stat="max"}`,
			float64(ds.RT.LatencyMax.Load())/1e9)
	}
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

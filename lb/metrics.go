package lb

import "github.com/VictoriaMetrics/metrics"

// Metrics of package lb in the default set (served by the control API's
// /metrics with everything else registered there). The data-path counters
// are per worker and written at scrape time (stats.go); these count what
// operators change through the control API, so that a dashboard can show who
// moved traffic and when:
//
//	sipfront_lb_control_changes_total{method,result}
//
// method is one of the RPC methods that change the destination table or a
// destination's state; result is "ok" or "error". Reloads are counted by the
// dispatcher (sipfront_dispatcher_reloads_total{result}), whatever asked for
// them (SIGHUP or dispatcher.reload).

// changeCounters are the two outcomes of one method.
type changeCounters struct{ ok, failed *metrics.Counter }

func newChangeCounters(method string) *changeCounters {
	return &changeCounters{
		ok:     metrics.NewCounter(`sipfront_lb_control_changes_total{method="` + method + `",result="ok"}`),
		failed: metrics.NewCounter(`sipfront_lb_control_changes_total{method="` + method + `",result="error"}`),
	}
}

// count adds one to the outcome of err.
func (c *changeCounters) count(err error) {
	if err != nil {
		c.failed.Inc()
		return
	}
	c.ok.Inc()
}

var (
	changesSetState     = newChangeCounters("dispatcher.set_state")
	changesSetDUIDState = newChangeCounters("dispatcher.set_duid_state")
	changesAdd          = newChangeCounters("dispatcher.add")
	changesRemove       = newChangeCounters("dispatcher.remove")
	changesSetWeight    = newChangeCounters("dispatcher.set_weight")
	changesDrain        = newChangeCounters("dispatcher.drain")
	changesUndrain      = newChangeCounters("dispatcher.undrain")
	changesPingActive   = newChangeCounters("dispatcher.ping_active")
)

package health

import "github.com/VictoriaMetrics/metrics"

// Metrics, in the default set (served by lb's /metrics). Handles are created
// once here; incrementing one is an atomic add. Per-destination latency and
// state are written by dispatcher.WritePrometheus from the Runtime words the
// prober updates.
//
//	sipfront_health_probes_total{result}  probes by outcome:
//	    ok           an accepted reply (any 2xx, or a code in AcceptCodes)
//	    rejected     any other final reply
//	    timeout      no final reply within Timeout
//	    unreachable  an ICMP unreachable for the destination while the probe was out
//	    send_error   the Sender failed
//	sipfront_health_stale_replies_total  replies to no outstanding probe (late, duplicated, forged)
//	sipfront_health_passive_total{signal}  passive detections acted on:
//	    retry_after  a 503 with Retry-After took a destination out
//	    silence      traffic went unanswered for longer than Timeout
//	    unreachable  an ICMP unreachable outside a probe
//	sipfront_health_state_changes_total{to}  state changes made by the prober,
//	    by the state reached: inactive, trying, active
var (
	probesOK          = metrics.NewCounter(`sipfront_health_probes_total{result="ok"}`)
	probesRejected    = metrics.NewCounter(`sipfront_health_probes_total{result="rejected"}`)
	probesTimeout     = metrics.NewCounter(`sipfront_health_probes_total{result="timeout"}`)
	probesUnreachable = metrics.NewCounter(`sipfront_health_probes_total{result="unreachable"}`)
	probesSendError   = metrics.NewCounter(`sipfront_health_probes_total{result="send_error"}`)

	staleReplies = metrics.NewCounter(`sipfront_health_stale_replies_total`)

	passiveRetryAfter  = metrics.NewCounter(`sipfront_health_passive_total{signal="retry_after"}`)
	passiveSilence     = metrics.NewCounter(`sipfront_health_passive_total{signal="silence"}`)
	passiveUnreachable = metrics.NewCounter(`sipfront_health_passive_total{signal="unreachable"}`)

	toInactive = metrics.NewCounter(`sipfront_health_state_changes_total{to="inactive"}`)
	toTrying   = metrics.NewCounter(`sipfront_health_state_changes_total{to="trying"}`)
	toActive   = metrics.NewCounter(`sipfront_health_state_changes_total{to="active"}`)
)

package rpc

import "github.com/VictoriaMetrics/metrics"

// Counters of the /RPC endpoint, in the default metrics set that /metrics
// serves. Labels are fixed words, never method names from the request, so a
// client cannot grow the series count.
var (
	requestsOK       = metrics.NewCounter(`sipfront_rpc_requests_total{outcome="ok"}`)
	requestsFailed   = metrics.NewCounter(`sipfront_rpc_requests_total{outcome="method_error"}`)
	requestsInvalid  = metrics.NewCounter(`sipfront_rpc_requests_total{outcome="invalid"}`)
	requestsRejected = metrics.NewCounter(`sipfront_rpc_requests_total{outcome="rejected"}`)
	methodPanics     = metrics.NewCounter(`sipfront_rpc_method_panics_total`)
)

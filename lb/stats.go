package lb

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/sipfront/sipfront/parser"
)

// Counters of the data path. Each worker owns one workerStats and is its only
// writer; a scrape sums them. One uncontended atomic add per event keeps the
// hot path free of shared cache lines (a global counter would bounce between
// cores on every message).

// dropReason says why a message was not forwarded and not answered.
type dropReason uint8

const (
	dropMalformedResponse  dropReason = iota // a response that does not parse or validate
	dropMalformedACK                         // an ACK that does not parse or validate (never answered)
	dropUnanswerable                         // a broken request with no Via to answer to
	dropKeepAlive                            // CRLF keep-alive datagram
	dropTruncated                            // datagram larger than the receive slot
	dropResponseNotOurs                      // top Via is not ours
	dropResponseBadBranch                    // our Via, but the branch does not verify
	dropResponseNoVia                        // nothing below our Via to send the response to
	dropResponseUnroutable                   // next Via names a host that is not an IP, or an unusable address
	dropACKUnroutable                        // an ACK we could not route (never answered)
	dropTooLarge                             // rewritten message over the UDP limit (responses, ACKs)
	dropFiltered                             // refused by the flood filter in user space
	dropReasonCount
)

var dropNames = [dropReasonCount]string{
	dropMalformedResponse: "malformed_response", dropMalformedACK: "malformed_ack",
	dropUnanswerable: "unanswerable", dropKeepAlive: "keepalive", dropTruncated: "truncated",
	dropResponseNotOurs: "response_not_ours", dropResponseBadBranch: "response_bad_branch",
	dropResponseNoVia: "response_no_via", dropResponseUnroutable: "response_unroutable",
	dropACKUnroutable: "ack_unroutable", dropTooLarge: "too_large", dropFiltered: "filtered",
}

// replyReason says why sipfront answered a request itself.
type replyReason uint8

const (
	replyMalformed      replyReason = iota // 400
	replyMethodMismatch                    // 501: unknown method with a CSeq of another
	replyVersion                           // 505
	replyScheme                            // 416
	replyProxyRequire                      // 420
	replyTooManyHops                       // 483
	replyLoop                              // 482
	replyNoDestination                     // 503
	replyForgedCookie                      // 403
	replyStaleCookie                       // 403
	replyRelayDenied                       // 403: route to an address that is not a back end
	replyUnresolvable                      // 502: next hop is a host name
	replyTooLarge                          // 513
	replyReasonCount
)

var replyNames = [replyReasonCount]string{
	replyMalformed: "malformed", replyMethodMismatch: "method_mismatch", replyVersion: "version",
	replyScheme: "scheme", replyProxyRequire: "proxy_require", replyTooManyHops: "too_many_hops",
	replyLoop: "loop", replyNoDestination: "no_destination", replyForgedCookie: "forged_cookie",
	replyStaleCookie: "stale_cookie", replyRelayDenied: "relay_denied", replyUnresolvable: "unresolvable",
	replyTooLarge: "too_large",
}

const methodCount = int(parser.MethodUPDATE) + 1

type workerStats struct {
	requests       [methodCount]atomic.Uint64 // received, by method
	responses      atomic.Uint64              // received
	fwdRequests    atomic.Uint64
	fwdResponses   atomic.Uint64
	replies        [replyReasonCount]atomic.Uint64
	drops          [dropReasonCount]atomic.Uint64
	sendErrors     atomic.Uint64
	probeReplies   atomic.Uint64
	routedByCookie atomic.Uint64
	routedByRoute  atomic.Uint64
	routedByURI    atomic.Uint64
	routedByFlow   atomic.Uint64
	routedBySelect atomic.Uint64
	_              [64]byte // keep the next worker's counters off this cache line
}

func methodLabel(m parser.Method) string {
	if m == parser.MethodOther {
		return "other"
	}
	return m.String()[len("Method"):]
}

// writePrometheus sums the workers' counters.
func writeStats(w io.Writer, stats []*workerStats) {
	sum := func(f func(s *workerStats) *atomic.Uint64) uint64 {
		var n uint64
		for _, s := range stats {
			n += f(s).Load()
		}
		return n
	}
	for m := 0; m < methodCount; m++ {
		fmt.Fprintf(w, "sipfront_lb_requests_received_total{method=%q} %d\n", methodLabel(parser.Method(m)),
			sum(func(s *workerStats) *atomic.Uint64 { return &s.requests[m] }))
	}
	fmt.Fprintf(w, "sipfront_lb_responses_received_total %d\n", sum(func(s *workerStats) *atomic.Uint64 { return &s.responses }))
	fmt.Fprintf(w, "sipfront_lb_forwarded_total{kind=\"request\"} %d\n", sum(func(s *workerStats) *atomic.Uint64 { return &s.fwdRequests }))
	fmt.Fprintf(w, "sipfront_lb_forwarded_total{kind=\"response\"} %d\n", sum(func(s *workerStats) *atomic.Uint64 { return &s.fwdResponses }))
	for r := replyReason(0); r < replyReasonCount; r++ {
		fmt.Fprintf(w, "sipfront_lb_replies_total{reason=%q} %d\n", replyNames[r],
			sum(func(s *workerStats) *atomic.Uint64 { return &s.replies[r] }))
	}
	for d := dropReason(0); d < dropReasonCount; d++ {
		fmt.Fprintf(w, "sipfront_lb_dropped_total{reason=%q} %d\n", dropNames[d],
			sum(func(s *workerStats) *atomic.Uint64 { return &s.drops[d] }))
	}
	fmt.Fprintf(w, "sipfront_lb_send_errors_total %d\n", sum(func(s *workerStats) *atomic.Uint64 { return &s.sendErrors }))
	fmt.Fprintf(w, "sipfront_lb_probe_replies_total %d\n", sum(func(s *workerStats) *atomic.Uint64 { return &s.probeReplies }))
	for _, r := range []struct {
		label string
		f     func(s *workerStats) *atomic.Uint64
	}{
		{"cookie", func(s *workerStats) *atomic.Uint64 { return &s.routedByCookie }},
		{"route", func(s *workerStats) *atomic.Uint64 { return &s.routedByRoute }},
		{"request_uri", func(s *workerStats) *atomic.Uint64 { return &s.routedByURI }},
		{"flow", func(s *workerStats) *atomic.Uint64 { return &s.routedByFlow }},
		{"select", func(s *workerStats) *atomic.Uint64 { return &s.routedBySelect }},
	} {
		fmt.Fprintf(w, "sipfront_lb_requests_routed_total{by=%q} %d\n", r.label, sum(r.f))
	}
}

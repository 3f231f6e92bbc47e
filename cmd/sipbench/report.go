package main

// The JSON summaries: what a harness reads after a run. Field names are
// stable; rates are per second of the run's wall-clock time.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sipfront/sipfront/parser"
)

type flowResult struct {
	Attempted uint64 `json:"attempted"`
	OK        uint64 `json:"ok"`
	Failed    uint64 `json:"failed"`
}

type uacResult struct {
	Mode         string                 `json:"mode"`
	Target       string                 `json:"target"`
	Workers      int                    `json:"workers"`
	RateTarget   float64                `json:"rate_target"`
	DurationS    float64                `json:"duration_s"`
	HoldMs       float64                `json:"hold_ms"`
	SendingS     float64                `json:"sending_s"` // time over which attempts were placed
	ElapsedS     float64                `json:"elapsed_s"`
	Attempted    uint64                 `json:"attempted"`
	OK           uint64                 `json:"ok"`
	Failed       uint64                 `json:"failed"`
	FailedPct    float64                `json:"failed_pct"`
	OfferedRate  float64                `json:"offered_rate"`   // attempts / sending time
	CompleteRate float64                `json:"completed_rate"` // ok / sending time
	Flows        map[string]flowResult  `json:"flows"`
	Failures     map[string]uint64      `json:"failures"`
	Codes        map[string]uint64      `json:"codes"`
	Retrans      map[string]uint64      `json:"retransmissions"`
	Messages     map[string]uint64      `json:"messages"`
	Latency      map[string]HistSummary `json:"latency"`
}

func newUACResult(cfg *uacConfig, ws []*uacWorker, elapsed time.Duration) *uacResult {
	var c uacCounters
	var h [latCount]Hist
	for _, w := range ws {
		c.add(&w.c)
		for i := range h {
			h[i].Merge(&w.hist[i])
		}
	}
	// the time over which attempts were really placed: a UAC that falls
	// behind its schedule shows a lower offered rate, not the one asked for
	var sending time.Duration
	for _, w := range ws {
		sending = max(sending, w.sendEnd)
	}
	r := &uacResult{
		Mode:       "uac",
		Target:     cfg.Target.String(),
		Workers:    cfg.Workers,
		RateTarget: cfg.Rate,
		DurationS:  cfg.Duration.Seconds(),
		HoldMs:     float64(cfg.Hold) / float64(time.Millisecond),
		SendingS:   sending.Seconds(),
		ElapsedS:   elapsed.Seconds(),
		Attempted:  sum(c.Attempted),
		OK:         sum(c.OK),
		Failed:     sum(c.Failed),
		Flows:      map[string]flowResult{},
		Failures: map[string]uint64{
			"timeout":    c.Timeout,
			"rejected":   c.Rejected,
			"bye_failed": c.ByeFailed,
			"no_slot":    c.NoSlot,
			"unfinished": c.Unfinished,
		},
		Codes: map[string]uint64{},
		Retrans: map[string]uint64{
			"invite":     c.RetransInvite,
			"non_invite": c.RetransOther,
			"ack_resent": c.AckResent,
		},
		Messages: map[string]uint64{
			"sent":         c.Sent,
			"received":     c.Received,
			"send_errors":  c.SendErrors,
			"stray":        c.Stray,
			"parse_errors": c.ParseErrors,
		},
		Latency: map[string]HistSummary{},
	}
	if r.Attempted > 0 {
		r.FailedPct = 100 * float64(r.Failed) / float64(r.Attempted)
	}
	if sending > 0 {
		r.OfferedRate = float64(r.Attempted) / sending.Seconds()
		r.CompleteRate = float64(r.OK) / sending.Seconds()
	}
	for i, n := range flowNames {
		if c.Attempted[i] > 0 {
			r.Flows[n] = flowResult{c.Attempted[i], c.OK[i], c.Failed[i]}
		}
	}
	for code, n := range c.Codes {
		if n > 0 {
			r.Codes[strconv.Itoa(code)] = n
		}
	}
	for i, n := range latNames {
		if h[i].Count() > 0 {
			r.Latency[n] = h[i].Summary()
		}
	}
	return r
}

// line is the one-line human summary.
func (r *uacResult) line() string {
	s := fmt.Sprintf("sipbench uac: %d attempts in %.1fs (%.0f/s offered), ok %d, failed %d (%.3f%%)",
		r.Attempted, r.SendingS, r.OfferedRate, r.OK, r.Failed, r.FailedPct)
	if l, ok := r.Latency["invite"]; ok {
		s += fmt.Sprintf(", INVITE→200 p50 %dµs p99 %dµs", l.P50Us, l.P99Us)
	}
	return s
}

type uasResult struct {
	Mode     string            `json:"mode"`
	Listen   []string          `json:"listen"`
	ElapsedS float64           `json:"elapsed_s"`
	Requests map[string]uint64 `json:"requests"`
	Counters map[string]uint64 `json:"counters"`
}

func (r *uasResult) fill(c *uasCounters) {
	r.Requests = map[string]uint64{}
	for m, n := range c.Requests {
		if n > 0 {
			name := strings.TrimPrefix(parser.Method(m).String(), "Method")
			if m == int(parser.MethodOther) {
				name = "other"
			}
			r.Requests[name] = n
		}
	}
	r.Counters = map[string]uint64{
		"received":           c.Received,
		"sent":               c.Sent,
		"send_errors":        c.SendErrors,
		"parse_errors":       c.ParseErrors,
		"responses_ignored":  c.Responses,
		"invites":            c.Invites,
		"invite_retransmits": c.InviteRetr,
		"answered":           c.Answered,
		"final_retransmits":  c.FinalRetr,
		"acked":              c.Acked,
		"ack_timeouts":       c.AckTimeout,
		"failed_on_purpose":  c.Failed,
		"dropped_on_purpose": c.Dropped,
		"untracked":          c.Untracked,
		"cancelled":          c.Cancelled,
	}
}

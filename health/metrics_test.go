package health

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Every outcome moves its counter by one, and the series are exported in
// the default set under the documented names.
func TestMetrics(t *testing.T) {
	r := newRig(t, unit(func(c *Config) { c.FailThreshold = 3 }), "1 "+a)
	d := r.dest(1, a)
	counters := map[string]*metrics.Counter{
		"ok": probesOK, "rejected": probesRejected, "timeout": probesTimeout,
		"unreachable": probesUnreachable, "send_error": probesSendError, "stale": staleReplies,
		"retry_after": passiveRetryAfter, "silence": passiveSilence, "passive_unreachable": passiveUnreachable,
		"to_inactive": toInactive, "to_trying": toTrying, "to_active": toActive,
	}
	base := map[string]uint64{}
	for k, c := range counters {
		base[k] = c.Get()
	}
	r.at(0)
	s := r.one()
	r.answer(s, 200) // ok; AX -> AP (active)
	r.answer(s, 200) // stale
	r.at(sec)
	r.answer(r.one(), 500) // rejected; trying
	r.one()                // the fast retry
	r.p.NoteUnreachable(d.Addr)
	r.snd.err = errSend
	// unreachable fails the retry (2 in a row, still trying); its own
	// retry cannot be sent: send_error, the third failure, inactive.
	r.at(sec + ms)
	r.snd.err = nil
	if got := state(d); got != "IP/inactive" {
		t.Fatalf("%s", got)
	}
	r.at(2*sec + ms) // an interval after the last attempt
	r.one()
	r.at(2*sec + 201*ms) // timeout
	r.p.NoteReply(d.Addr, 503, 5*time.Second)
	r.at(2*sec + 300*ms) // retry_after
	want := map[string]uint64{
		"ok": 1, "rejected": 1, "timeout": 1, "unreachable": 1, "send_error": 1, "stale": 1,
		"retry_after": 1, "silence": 0, "passive_unreachable": 0, "to_inactive": 1, "to_trying": 1, "to_active": 1,
	}
	for k, w := range want {
		if got := counters[k].Get() - base[k]; got != w {
			t.Errorf("%s: moved by %d, want %d", k, got, w)
		}
	}
	var out bytes.Buffer
	metrics.WritePrometheus(&out, false)
	for _, name := range []string{
		`sipfront_health_probes_total{result="ok"}`, `sipfront_health_probes_total{result="timeout"}`,
		`sipfront_health_probes_total{result="rejected"}`, `sipfront_health_probes_total{result="unreachable"}`,
		`sipfront_health_probes_total{result="send_error"}`, `sipfront_health_stale_replies_total`,
		`sipfront_health_passive_total{signal="retry_after"}`, `sipfront_health_passive_total{signal="silence"}`,
		`sipfront_health_passive_total{signal="unreachable"}`, `sipfront_health_state_changes_total{to="inactive"}`,
	} {
		if !strings.Contains(out.String(), name+" ") {
			t.Errorf("%s not exported", name)
		}
	}
}

package dispatcher

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWritePrometheus(t *testing.T) {
	tbl := mkTable(t, "1 sip:10.0.0.1 0 0 duid=a", "2 sip:user@10.0.0.2;transport=tcp 4")
	d := New(tbl, Options{})
	a := tbl.Set(1).Dests()[0]
	a.RT.Selected.Add(42)
	a.RT.ProbeFailures.Add(3)
	a.RT.LatencyEWMA.Store(int64(1500 * time.Microsecond))
	a.RT.LatencyMax.Store(int64(20 * time.Millisecond))
	a.Transition(0, Trying, "probe timeout")
	var buf bytes.Buffer
	d.WritePrometheus(&buf)
	out := buf.String()
	for _, want := range []string{
		`sipfront_dispatcher_destination_selected_total{set="1",uri="sip:10.0.0.1"} 42`,
		`sipfront_dispatcher_destination_state{set="1",uri="sip:10.0.0.1",state="trying"} 1`,
		`sipfront_dispatcher_destination_state{set="1",uri="sip:10.0.0.1",state="active"} 0`,
		`sipfront_dispatcher_destination_state{set="2",uri="sip:user@10.0.0.2;transport=tcp",state="disabled"} 1`,
		`sipfront_dispatcher_destination_probe_failures_total{set="1",uri="sip:10.0.0.1"} 3`,
		`sipfront_dispatcher_destination_latency_seconds{set="1",uri="sip:10.0.0.1",stat="ewma"} 0.0015`,
		`sipfront_dispatcher_destination_latency_seconds{set="1",uri="sip:10.0.0.1",stat="max"} 0.02`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %s in:\n%s", want, out)
		}
	}
	// Each family is contiguous, as the text format requires.
	seen := map[string]bool{}
	last := ""
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fam := line[:strings.IndexByte(line, '{')]
		if fam != last && seen[fam] {
			t.Errorf("family %s is split", fam)
		}
		seen[fam], last = true, fam
	}
	if n := strings.Count(out, "_state{"); n != 2*len(stateNames) {
		t.Errorf("%d state series, want %d", n, 2*len(stateNames))
	}
	if got := escapeLabel(`a"b\c` + "\n"); got != `a\"b\\c\n` {
		t.Errorf("escapeLabel: %s", got)
	}
}

package bpf

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

func TestMetrics(t *testing.T) {
	u := newTestUserspace(t, fixtureConfig())
	now := time.Now()
	src := netip.MustParseAddr("198.51.100.1")
	for i := 0; i < 7; i++ {
		u.Check(src, 5060, invite, now)
	}
	u.Check(netip.MustParseAddr("198.51.100.2"), 5060, junk, now)

	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	out := buf.String()
	for _, line := range []string{
		`sipfront_filter_packets_total{reason="passed",path="user"} 5`,
		`sipfront_filter_packets_total{reason="dropped_rate",path="user"} 1`,
		`sipfront_filter_packets_total{reason="dropped_banned",path="user"} 1`,
		`sipfront_filter_packets_total{reason="dropped_not_sip",path="user"} 1`,
		`sipfront_filter_packets_total{reason="dropped_user_agent",path="user"} 0`,
		`sipfront_filter_packets_total{reason="allowed",path="user"} 0`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("missing %q in\n%s", line, out)
		}
	}
	if n := strings.Count(out, `path="user"`); n != NumReasons {
		t.Errorf("%d user series, want %d", n, NumReasons)
	}

	// A second live filter adds to the same series; a closed one leaves.
	v := newTestUserspace(t, fixtureConfig())
	v.Check(src, 5060, invite, now)
	buf.Reset()
	writeMetrics(&buf)
	if !strings.Contains(buf.String(), `{reason="passed",path="user"} 6`+"\n") {
		t.Errorf("two filters not summed:\n%s", buf.String())
	}
	u.Close()
	v.Close()
	buf.Reset()
	writeMetrics(&buf)
	if strings.Contains(buf.String(), `path="user"`) {
		t.Errorf("closed filters still exported:\n%s", buf.String())
	}
}

func TestMetricsXDP(t *testing.T) {
	x := loadTestXDP(t, fixtureConfig())
	register(x) // LoadXDP registers; the unattached test load does not
	x.run(t, udp4("203.0.113.9", invite))
	var buf bytes.Buffer
	writeMetrics(&buf)
	if !strings.Contains(buf.String(), `sipfront_filter_packets_total{reason="dropped_operator_ban",path="xdp"} 1`+"\n") {
		t.Errorf("XDP counters not exported:\n%s", buf.String())
	}
	x.Close()
	buf.Reset()
	writeMetrics(&buf)
	if strings.Contains(buf.String(), `path="xdp"`) {
		t.Errorf("closed XDP filter still exported:\n%s", buf.String())
	}
}

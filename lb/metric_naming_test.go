package lb

import (
	"bufio"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

// The metric naming guard (the idea of CoreDNS's test/metric_naming_test.go,
// applied to what /metrics really serves rather than to the source): it
// scrapes a running engine, which has every package's metrics registered
// (lb, lb/rpc, dispatcher, health, ... as imported by lb) plus the data-path
// and per-destination series, and checks every sipfront_* family against the
// Prometheus naming conventions.

// sample is one line of the exposition.
type sample struct {
	line   int
	name   string
	labels []string // name="value" pairs as written
	value  string
}

type exposition struct {
	samples []sample
	types   map[string][]string // family → every TYPE written for it
	help    map[string]int      // family → number of HELP lines
	order   []string            // families in order of first sample
	first   map[string]int      // family → line of its first sample
	typeAt  map[string]int      // family → line of its first TYPE
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
	snakeName  = regexp.MustCompile(`^sipfront_[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	snakeLabel = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	// Units that are not Prometheus base units.
	badUnit = regexp.MustCompile(`_(milli|micro|nano)?(seconds_ms|ms|us|ns|millis|micros|nanos|milliseconds|microseconds|nanoseconds|minutes|hours|days|kb|mb|gb|kilobytes|megabytes|gigabytes|kib|mib|percent)(_|$)`)
)

func parseExposition(t *testing.T, text string) *exposition {
	t.Helper()
	x := &exposition{types: map[string][]string{}, help: map[string]int{}, first: map[string]int{}, typeAt: map[string]int{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 {
				t.Errorf("line %d: malformed TYPE: %q", n, line)
				continue
			}
			x.types[f[2]] = append(x.types[f[2]], f[3])
			if _, ok := x.typeAt[f[2]]; !ok {
				x.typeAt[f[2]] = n
			}
		case strings.HasPrefix(line, "# HELP "):
			f := strings.Fields(line)
			if len(f) < 3 {
				t.Errorf("line %d: malformed HELP: %q", n, line)
				continue
			}
			x.help[f[2]]++
		case strings.HasPrefix(line, "#"):
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("line %d: not a sample: %q", n, line)
				continue
			}
			s := sample{line: n, name: m[1], value: m[4]}
			if m[3] != "" {
				rest := labelPair.ReplaceAllString(m[3], "")
				if strings.Trim(rest, ", ") != "" {
					t.Errorf("line %d: malformed labels: %q", n, m[3])
				}
				for _, p := range labelPair.FindAllString(m[3], -1) {
					s.labels = append(s.labels, p)
				}
			}
			x.samples = append(x.samples, s)
			if _, ok := x.first[s.name]; !ok {
				x.first[s.name] = n
				x.order = append(x.order, s.name)
			}
		}
	}
	return x
}

// scrapeMetrics runs an engine with a control API, routes one call through
// it so that the data-path counters move, and returns the /metrics text.
func scrapeMetrics(t *testing.T) string {
	t.Helper()
	uas := newPeer(t, "uas")
	uas.serveUAS()
	e, c, _ := ctlEngine(t, "1 sip:"+uas.addr.String()+" 0 0 duid=pbx1;weight=10\n2 sip:127.0.0.1:9 4\n", ControlOptions{})
	phone := newPhone(t, "phone")
	inv := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: "metrics-1", branch: "z9hG4bK-m1",
		fromTag: "f", cseq: 1, from: phone.addr}
	phone.send(e.Addrs()[0], inv.String())
	phone.expect("200", isStatus(200))
	r := ctlDo(t, c, http.MethodGet, "/metrics", "")
	if r.status != 200 {
		t.Fatalf("/metrics: %+v", r)
	}
	return r.body
}

func TestMetricNaming(t *testing.T) {
	x := parseExposition(t, scrapeMetrics(t))
	seen := map[string]int{}
	families := map[string]bool{}
	for _, s := range x.samples {
		// No series twice (same name and label set).
		labels := append([]string(nil), s.labels...)
		sort.Strings(labels)
		key := s.name + "{" + strings.Join(labels, ",") + "}"
		if prev, dup := seen[key]; dup {
			t.Errorf("line %d: series %s already on line %d", s.line, key, prev)
		}
		seen[key] = s.line
		if !strings.HasPrefix(s.name, "sipfront_") {
			continue
		}
		families[s.name] = true
		for _, p := range labels {
			name, _, _ := strings.Cut(p, "=")
			if !snakeLabel.MatchString(name) {
				t.Errorf("line %d: label %q of %s is not snake_case", s.line, name, s.name)
			}
		}
	}
	if len(families) < 10 {
		t.Fatalf("only %d sipfront families scraped: the scrape is not what it should be", len(families))
	}
	for _, want := range []string{
		"sipfront_lb_requests_received_total", "sipfront_lb_forwarded_total", "sipfront_lb_dropped_total",
		"sipfront_lb_replies_total", "sipfront_lb_control_changes_total", "sipfront_rpc_requests_total",
		"sipfront_dispatcher_reloads_total", "sipfront_dispatcher_destination_selected_total",
		"sipfront_dispatcher_destination_state", "sipfront_dispatcher_destination_latency_seconds",
		"sipfront_dispatcher_destination_probe_failures_total",
	} {
		if !families[want] {
			t.Errorf("%s is not served", want)
		}
	}
	if _, ok := seen["go_goroutines{}"]; !ok {
		t.Errorf("the Go runtime metrics are not served")
	}
	if _, ok := seen["process_resident_memory_bytes{}"]; !ok {
		t.Errorf("the process metrics are not served")
	}

	// Every family's samples are contiguous (the text format requires it),
	// so one writer owns each name.
	last := map[string]int{}
	prevName := ""
	for _, s := range x.samples {
		if s.name != prevName {
			if _, was := last[s.name]; was {
				t.Errorf("line %d: %s resumes after other families (first on line %d)", s.line, s.name, x.first[s.name])
			}
			prevName = s.name
		}
		last[s.name] = s.line
	}

	names := make([]string, 0, len(families))
	for f := range families {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		t.Run(f, func(t *testing.T) {
			if !snakeName.MatchString(f) {
				t.Errorf("not snake_case with the sipfront_ prefix")
			}
			if strings.Contains(strings.TrimSuffix(f, "_total"), "_total") {
				t.Errorf("_total must end the name")
			}
			if badUnit.MatchString(f) {
				t.Errorf("unit is not a base unit (seconds, bytes, ratio)")
			}
			for _, w := range []string{"latency", "duration", "delay", "rtt", "timeout", "age"} {
				if strings.Contains(f, "_"+w) && !strings.Contains(f, "_seconds") && !strings.HasSuffix(f, "_total") {
					t.Errorf("a time (%s) must be in _seconds", w)
				}
			}
			// As served, metadata appears at most once per family, before its
			// samples, and agrees with the name.
			if ts := x.types[f]; len(ts) > 1 {
				t.Errorf("%d TYPE lines", len(ts))
			} else if len(ts) == 1 {
				checkType(t, f, ts[0])
				if x.typeAt[f] > x.first[f] {
					t.Errorf("TYPE after the first sample")
				}
			}
			if x.help[f] > 1 {
				t.Errorf("%d HELP lines", x.help[f])
			}
		})
	}
}

// checkType: counters end in _total, and only counters do.
func checkType(t *testing.T, family, typ string) {
	t.Helper()
	switch typ {
	case "counter":
		if !strings.HasSuffix(family, "_total") {
			t.Errorf("counter %s does not end in _total", family)
		}
	case "gauge", "histogram", "summary", "untyped":
		if strings.HasSuffix(family, "_total") {
			t.Errorf("%s %s ends in _total, which is for counters", typ, family)
		}
	default:
		t.Errorf("%s: unknown TYPE %q", family, typ)
	}
}

// TestMetricTypes turns on VictoriaMetrics' TYPE metadata (off by default,
// and off in sipfront) to learn the type of every series that the metrics
// library writes, and checks it against the name: counters end in _total,
// gauges do not. The data-path counters of stats.go are written without
// metadata; their names all end in _total and they are only ever added to.
func TestMetricTypes(t *testing.T) {
	metrics.ExposeMetadata(true)
	defer metrics.ExposeMetadata(false)
	x := parseExposition(t, scrapeMetrics(t))
	checked := 0
	for f, ts := range x.types {
		if !strings.HasPrefix(f, "sipfront_") {
			continue
		}
		for _, typ := range ts {
			if typ != ts[0] {
				t.Errorf("%s: TYPE %s and %s", f, ts[0], typ)
			}
		}
		checkType(t, f, ts[0])
		checked++
	}
	// Registered in the default set: rpc, dispatcher reloads, lb control
	// changes; written per destination: selected, state, probe failures,
	// latency.
	if checked < 7 {
		t.Errorf("only %d families carried TYPE metadata", checked)
	}
}

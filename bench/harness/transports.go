package main

// Transports (issue 8): sipfront's CPU per call over UDP, TCP and TLS, and
// its memory per idle TLS connection, from the Go benchmarks in
// lb/stream_bench_test.go, run from the repository root:
//
//	BenchmarkCallUDP|TCP|TLS: 16 phones in parallel in the benchmark process,
//	  sipfront in a helper process, its CPU (every thread, schedstat) per
//	  call: INVITE, 100, 180, 200, ACK, BYE, 200 over the phone's transport,
//	  UDP to the back end (metric sipfront-cpu-µs/call).
//	BenchmarkIdleTLSConnMemory: 500 idle TLS connections from a helper
//	  process; sipfront's heap and stack growth per connection (bytes/conn).
//
// Each runs TRANSPORT_COUNT times (-count); the report shows the median and
// the range.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// transportRow is one run of one benchmark.
type transportRow struct {
	Benchmark string // CallUDP, CallTCP, CallTLS, IdleTLSConnMemory
	Run       int    // 1..count, in output order
	Iters     int64
	NsOp      float64
	Metric    string // the benchmark's own metric: sipfront-cpu-µs/call or bytes/conn
	Value     float64
}

var transportLine = regexp.MustCompile(`^Benchmark(\w+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op\s+(.*)$`)

// transportMetrics are the custom metrics the harness reads, by benchmark.
var transportMetrics = map[string]string{
	"CallUDP": "sipfront-cpu-µs/call", "CallTCP": "sipfront-cpu-µs/call", "CallTLS": "sipfront-cpu-µs/call",
	"IdleTLSConnMemory": "bytes/conn",
}

// parseTransports reads the benchmark lines of go test output.
func parseTransports(out string) []*transportRow {
	var rows []*transportRow
	runs := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		m := transportLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		metric, ok := transportMetrics[m[1]]
		if !ok {
			continue
		}
		f := strings.Fields(m[4]) // value unit pairs
		for i := 0; i+1 < len(f); i += 2 {
			if f[i+1] != metric {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			iters, _ := strconv.ParseInt(m[2], 10, 64)
			ns, _ := strconv.ParseFloat(m[3], 64)
			runs[m[1]]++
			rows = append(rows, &transportRow{Benchmark: m[1], Run: runs[m[1]], Iters: iters, NsOp: ns, Metric: metric, Value: v})
		}
	}
	return rows
}

// transportBench runs the benchmarks and writes results/transports.csv
// (and the raw output, results/transports.txt).
func transportBench(c *config) error {
	count := strconv.Itoa(c.transportCount)
	var all strings.Builder
	for _, args := range [][]string{
		{"-bench", "Call(UDP|TCP|TLS)$", "-benchtime", c.transportTime},
		{"-bench", "IdleTLSConnMemory$", "-benchtime", "1x"},
	} {
		argv := append([]string{"test", "-run", "^$"}, args...)
		argv = append(argv, "-count", count, "-timeout", "15m", "./lb")
		cmd := exec.Command("go", argv...)
		cmd.Dir = c.repo
		logf("go %s", strings.Join(argv, " "))
		out, err := cmd.CombinedOutput()
		all.Write(out)
		if err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	os.WriteFile(filepath.Join(c.out, "transports.txt"), []byte(all.String()), 0o644)
	rows := parseTransports(all.String())
	for _, name := range []string{"CallUDP", "CallTCP", "CallTLS", "IdleTLSConnMemory"} {
		n := 0
		for _, r := range rows {
			if r.Benchmark == name {
				n++
				logf("transports %-17s run %d: %10.2f %s", name, r.Run, r.Value, r.Metric)
			}
		}
		if n != c.transportCount {
			return fmt.Errorf("%d results of Benchmark%s in the output, want %d:\n%s", n, name, c.transportCount, all.String())
		}
	}
	return writeTransports(filepath.Join(c.out, "transports.csv"), rows)
}

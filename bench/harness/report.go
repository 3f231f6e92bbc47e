package main

// The report: plots (PNG, gonum.org/v1/plot) and bench/RESULTS.md, built from
// the CSV files of bench/results, so `harness -report-only` rebuilds them.

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

func report(c *config) error {
	sw, err := readCSV[sweepRow](filepath.Join(c.out, "sweep.csv"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	raw, err := readCSV[rawRow](filepath.Join(c.out, "raw.csv"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ceil, err := readCSV[ceilRow](filepath.Join(c.out, "ceiling.csv"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	prs, err := readCSV[parserRow](filepath.Join(c.out, "parser.csv"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fl, err := readCSV[floodRow](filepath.Join(c.out, "flood.csv"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tr, err := readCSV[transportRow](filepath.Join(c.out, "transports.csv"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := plots(c, sw, raw); err != nil {
		return err
	}
	if len(fl) > 0 {
		if err := floodPlot(fl, filepath.Join(c.out, "flood.png")); err != nil {
			return err
		}
	}
	if len(tr) > 0 {
		if err := transportPlot(tr, filepath.Join(c.out, "transports.png")); err != nil {
			return err
		}
	}
	return writeResults(c, sw, raw, ceil, prs, fl, tr)
}

// series groups sweep rows by subject/load, sorted by rate (repeats
// averaged).
type series struct {
	name string
	rows []*sweepRow
}

func group(rows []*sweepRow, keep func(*sweepRow) bool) []series {
	byKey := map[string]map[int][]*sweepRow{}
	var keys []string
	for _, r := range rows {
		if keep != nil && !keep(r) {
			continue
		}
		k := r.Subject + " / " + r.Load
		if byKey[k] == nil {
			byKey[k] = map[int][]*sweepRow{}
			keys = append(keys, k)
		}
		byKey[k][r.Rate] = append(byKey[k][r.Rate], r)
	}
	var out []series
	for _, k := range keys {
		s := series{name: k}
		var rates []int
		for rate := range byKey[k] {
			rates = append(rates, rate)
		}
		sort.Ints(rates)
		for _, rate := range rates {
			s.rows = append(s.rows, median(byKey[k][rate]))
		}
		out = append(out, s)
	}
	return out
}

// median picks the run with the median CPU per call among repeats.
func median(rs []*sweepRow) *sweepRow {
	sort.Slice(rs, func(i, j int) bool { return rs[i].UsPerCall < rs[j].UsPerCall })
	return rs[len(rs)/2]
}

func linePlot(title, xl, yl string, ss []series, y func(*sweepRow) float64, legendLeft bool, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xl
	p.Y.Label.Text = yl
	p.Legend.Top = true
	p.Legend.Left = legendLeft
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		var pts plotter.XYs
		for _, r := range s.rows {
			v := y(r)
			if math.IsNaN(v) {
				continue
			}
			pts = append(pts, plotter.XY{X: float64(r.Rate), Y: v})
		}
		if len(pts) == 0 {
			continue
		}
		l, pt, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 3)
		pt.Color = plotutil.Color(i)
		pt.Shape = plotutil.Shape(i)
		p.Add(l, pt)
		p.Legend.Add(s.name, l, pt)
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

func plots(c *config, sw []*sweepRow, raw []*rawRow) error {
	all := group(sw, nil)
	ok := group(sw, func(r *sweepRow) bool { return r.FailedPct < 1 })
	if err := linePlot("Completed calls vs target rate", "target rate (calls/s)", "completed calls/s", all,
		func(r *sweepRow) float64 { return r.CompletedCPS }, true, filepath.Join(c.out, "throughput.png")); err != nil {
		return err
	}
	if err := linePlot("Subject CPU per completed call (runs with < 1 % failed)", "target rate (calls/s)", "CPU µs per call (subject's processes)", ok,
		func(r *sweepRow) float64 { return r.UsPerCall }, false, filepath.Join(c.out, "cpu_per_call.png")); err != nil {
		return err
	}
	lat := group(sw, func(r *sweepRow) bool { return r.Load == "sipbench" && r.FailedPct < 1 })
	var latS []series
	for _, s := range lat {
		latS = append(latS, series{name: s.name + " p50", rows: s.rows})
	}
	for _, s := range lat {
		latS = append(latS, series{name: s.name + " p99", rows: s.rows})
	}
	n := len(lat)
	positive := false // a log scale needs at least one value above zero
	for _, s := range lat {
		for _, r := range s.rows {
			positive = positive || r.P50 > 0 || r.P99 > 0
		}
	}
	p := plot.New()
	p.Title.Text = "INVITE → 200 latency (sipbench load, runs with < 1 % failed)"
	p.X.Label.Text = "target rate (calls/s)"
	p.Y.Label.Text = "ms (log scale)"
	if positive {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	for i, s := range latS {
		var pts plotter.XYs
		for _, r := range s.rows {
			v := r.P50
			if i >= n {
				v = r.P99
			}
			if v > 0 && positive {
				pts = append(pts, plotter.XY{X: float64(r.Rate), Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, pt, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.Color, pt.Color = plotutil.Color(i%n), plotutil.Color(i%n)
		pt.Shape = plotutil.Shape(i % n)
		if i >= n {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(l, pt)
		p.Legend.Add(s.name, l, pt)
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(c.out, "latency.png")); err != nil {
		return err
	}
	if len(raw) == 0 {
		return nil
	}
	return rawPlot(raw, filepath.Join(c.out, "raw.png"))
}

func rawPlot(raw []*rawRow, path string) error {
	p := plot.New()
	p.Title.Text = "Raw forwarding (OPTIONS → 200), one worker on one core"
	p.Y.Label.Text = "messages forwarded per CPU-second"
	rates := sortedRates(raw, func(r *rawRow) int { return r.Rate })
	w := vg.Points(20)
	for i, subject := range []string{"sipfront", "relay"} {
		var vals plotter.Values
		for _, rate := range rates {
			v := 0.0
			for _, r := range raw {
				if r.Subject == subject && r.Rate == rate {
					v = r.MsgsPerCoreS
				}
			}
			vals = append(vals, v)
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.Color = plotutil.Color(i)
		b.Offset = vg.Length(2*i-1) * w / 2
		p.Add(b)
		p.Legend.Add(subject, b)
	}
	names := make([]string, len(rates))
	for i, r := range rates {
		names[i] = fmt.Sprintf("%d tx/s offered", r)
	}
	p.NominalX(names...)
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Max *= 1.2 // room for the legend
	return p.Save(7*vg.Inch, 4*vg.Inch, path)
}

// treeCommit names the commit checked out, and says so when tracked files
// differ from it.
func treeCommit(c *config) string {
	commit := cmdOut(c.repo, "git", "rev-parse", "--short", "HEAD")
	if cmdOut(c.repo, "git", "status", "--porcelain", "--untracked-files=no") != "" {
		commit += " (with uncommitted changes in the tree)"
	}
	return commit
}

// partRun records when a part last ran and from which tree
// (results/runs.csv), so a page merged from several runs says where each
// part's numbers come from.
type partRun struct {
	Part, Commit, Date string
}

func recordRun(c *config, part, commit string, at time.Time) error {
	path := filepath.Join(c.out, "runs.csv")
	runs, err := readCSV[partRun](path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	runs = slices.DeleteFunc(runs, func(r *partRun) bool { return r.Part == part })
	runs = append(runs, &partRun{Part: part, Commit: commit, Date: at.UTC().Format("2006-01-02 15:04 UTC")})
	return writeCSV(path, runs)
}

func cmdOut(dir string, argv ...string) string {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func machine(c *config) [][2]string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	deb, _ := os.ReadFile("/etc/debian_version")
	return [][2]string{
		{"CPU", fmt.Sprintf("%s, %d logical CPUs", model, runtime.NumCPU())},
		{"OS", fmt.Sprintf("Debian %s, Linux %s", strings.TrimSpace(string(deb)), cmdOut("", "uname", "-r"))},
		{"Go", cmdOut("", "go", "version")},
		{"sipfront", "commit " + treeCommit(c) + " when this page was built; each part's own below"},
		{"Kamailio", cmdOut("", "kamailio", "-v")},
		{"SIPp", strings.TrimSpace(cmdOut("", "sh", "-c", "sipp -v 2>&1 | grep -m1 SIPp"))},
		{"date", time.Now().UTC().Format("2006-01-02 15:04 UTC")},
	}
}

func f1(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f", v)
}

func f0(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

func writeResults(c *config, sw []*sweepRow, raw []*rawRow, ceil []*ceilRow, prs []*parserRow, fl []*floodRow, tr []*transportRow) error {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# sipfront benchmark results\n\n")
	w("Produced by `%s` (bench/run → bench/harness) on loopback (the flood filter in two network namespaces made for it). Every number below comes from the CSV files next to the plots in `results/`; `bench/run -report-only` rebuilds this page from them.\n\n", c.command)
	w("| machine | |\n|---|---|\n")
	for _, kv := range machine(c) {
		w("| %s | %s |\n", kv[0], kv[1])
	}
	if runs, err := readCSV[partRun](filepath.Join(c.out, "runs.csv")); err == nil && len(runs) > 0 {
		w("\n| part | measured | sipfront commit |\n|---|---|---|\n")
		for _, r := range runs {
			w("| %s | %s | %s |\n", r.Part, r.Date, r.Commit)
		}
	}
	w("\nSweep settings: rates %v calls/s, %v of load per point, hold %v, %d run(s) per point, Kamailio children=%d, dispatcher probing every %d s; 2 sipbench uas back ends (one process); subjects with their default workers (sipfront: one per core; relay: 2; Kamailio: %d UDP children). Load generators and back ends share the 2 cores with the subject, as on the reference machine.\n\n",
		c.rates, c.duration, c.hold, c.repeats, c.children, c.dsPing, c.children)

	// headline: per subject/load, highest rate < 1 % failed, CPU per call there
	w("## Summary\n\n")
	w("CPU per call = utime+stime of the subject's whole process tree from load start to end ÷ completed calls (7 messages each through the subject). Messages/s per core = 7 × completed calls ÷ subject CPU-seconds.\n\n")
	w("Sustained = fewer than 1 %% of the calls failed and at least 95 %% of the target rate completed (a load generator that falls behind its schedule offers less than the target; SIPp does on this machine).\n\n")
	w("| subject | load | highest rate with < 1 %% failed (completed/s) | highest sustained rate | CPU µs/call there | msgs/s per core there | p99 INVITE→200 there, ms | CPU µs/call, median over rates < 1 %% failed |\n|---|---|---|---|---|---|---|---|\n")
	ss := group(sw, nil)
	for _, s := range ss {
		var top, sus *sweepRow
		var cpu []float64
		for _, r := range s.rows {
			if r.FailedPct < 1 {
				top = r
				cpu = append(cpu, r.UsPerCall)
				if r.CompletedCPS >= 0.95*float64(r.Rate) {
					sus = r
				}
			}
		}
		if top == nil {
			w("| %s | %s | none | none | – | – | – | – |\n", s.rows[0].Subject, s.rows[0].Load)
			continue
		}
		if sus == nil {
			w("| %s | %s | %d (%.0f) | none | – | – | – | %s |\n", top.Subject, top.Load, top.Rate, top.CompletedCPS, f1(quantile(cpu, 0.5)))
			continue
		}
		w("| %s | %s | %d (%.0f) | %d | %s | %s | %.1f | %s |\n", top.Subject, top.Load, top.Rate, top.CompletedCPS, sus.Rate,
			f1(sus.UsPerCall), f0(sus.MsgsPerCoreS), sus.P99, f1(quantile(cpu, 0.5)))
	}
	w("\nEach SIPp process sends every call from one UDP socket, and the kernel spreads datagrams over SO_REUSEPORT sockets by a hash of the address pair: all of one SIPp's requests reach one sipfront worker (and one relay worker), while Kamailio's children all read one shared socket. So the sweep runs %d SIPp processes (SIPP_UACS), as sipbench uac runs 2 workers with a socket each. Compare subjects under the same load.\n\n", c.sippUACs)

	// ratios at equal rates
	w("### Ratios (same run, same rate, both < 1 %% failed)\n\n")
	w("| load | rate | Kamailio µs/call ÷ sipfront µs/call | sipfront µs/call ÷ relay µs/call |\n|---|---|---|---|\n")
	idx := map[string]*sweepRow{}
	for _, s := range group(sw, nil) {
		for _, r := range s.rows {
			idx[fmt.Sprintf("%s/%s/%d", r.Subject, r.Load, r.Rate)] = r
		}
	}
	for _, load := range c.loads {
		for _, rate := range c.rates {
			sf := idx[fmt.Sprintf("sipfront/%s/%d", load, rate)]
			if sf == nil || sf.FailedPct >= 1 || sf.UsPerCall <= 0 {
				continue
			}
			kr, rr := "–", "–"
			if k := idx[fmt.Sprintf("kamailio/%s/%d", load, rate)]; k != nil && k.FailedPct < 1 {
				kr = fmt.Sprintf("%.2f×", k.UsPerCall/sf.UsPerCall)
			}
			if r := idx[fmt.Sprintf("relay/%s/%d", load, rate)]; r != nil && r.FailedPct < 1 && r.UsPerCall > 0 {
				rr = fmt.Sprintf("%.2f×", sf.UsPerCall/r.UsPerCall)
			}
			w("| %s | %d | %s | %s |\n", load, rate, kr, rr)
		}
	}
	w("\n")

	w("## Plots\n\n![throughput](results/throughput.png)\n\n![CPU per call](results/cpu_per_call.png)\n\n![latency](results/latency.png)\n\n")
	if len(raw) > 0 {
		w("![raw forwarding](results/raw.png)\n\n")
	}

	w("## Sweep (results/sweep.csv)\n\n")
	w("Latency is INVITE → 200 as the load generator saw it (SIPp measures in whole milliseconds). \"Other work\" is the host's busy CPU time during the load not used by the subject, the load generator or the back ends (other programs on the machine): high values mean a noisy measurement; a point where it passed %.0f %% of a core was run again (up to %d such reruns per sweep) and the quieter run kept (tries column). Subject socket drops are datagrams the kernel discarded on the subject's listen port because its receive buffer was full (the subject fell behind); each one costs a retransmission.\n\n", c.noiseMax, c.noiseRetries)
	w("| subject | load | offered/s | completed/s | failed %% | CPU µs/call | msgs/s/core | subject CPU %% of a core | load CPU s | UAS CPU s | other work %% of a core | p50 ms | p90 ms | p99 ms | retrans | subject socket drops | tries |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range sw {
		w("| %s | %s | %d | %.0f | %.2f | %s | %s | %.0f | %.2f | %.2f | %.0f | %s | %s | %s | %d | %d | %d |\n", r.Subject, r.Load, r.Rate, r.CompletedCPS, r.FailedPct,
			f1(r.UsPerCall), f0(r.MsgsPerCoreS), r.SubjectCPUPct, r.LoadCPU, r.UASCPU, r.OtherCPUPct, fmt.Sprintf("%.2f", r.P50), fmt.Sprintf("%.2f", r.P90), fmt.Sprintf("%.2f", r.P99), r.Retrans, r.SubjectDrops, r.Tries)
	}
	w("\n")

	if len(raw) > 0 {
		w("## Raw forwarding without call state (results/raw.csv)\n\n")
		w("sipbench uac sends OPTIONS (`-flows options=1`) through the subject to one sipbench uas, which answers 200: two messages through the subject per transaction, nothing to remember. The subject runs one worker pinned to CPU 1 (`taskset -c 1`; sipfront `-workers 1`, relay `-workers 1`), the load and the back end are pinned to CPU 0. Messages/s per core = messages forwarded ÷ subject CPU-seconds.\n\n")
		w("| offered tx/s | subject | completed | failed %% | subject CPU %% | msgs/s per core | sipfront ÷ relay |\n|---|---|---|---|---|---|---|\n")
		for _, r := range raw {
			ratio := ""
			if r.Subject == "sipfront" {
				for _, o := range raw {
					if o.Subject == "relay" && o.Rate == r.Rate && o.MsgsPerCoreS > 0 {
						ratio = fmt.Sprintf("%.2f", r.MsgsPerCoreS/o.MsgsPerCoreS)
					}
				}
			}
			w("| %d | %s | %d | %.2f | %.0f | %.0f | %s |\n", r.Rate, r.Subject, r.Completed, r.FailedPct, r.SubjectCPUPct, r.MsgsPerCoreS, ratio)
		}
		w("\n")
	}

	if len(ceil) > 0 {
		w("## sipbench's own ceiling (results/ceiling.csv)\n\n")
		// calls per core: the best completed rate per CPU-second of each side
		var uacCPS, uasCPS float64
		for _, r := range ceil {
			if r.FailedPct < 1 && r.UACCPU > 0 && r.UASCPU > 0 {
				uacCPS = max(uacCPS, r.UACMsgsCoreS/msgsPerCall)
				uasCPS = max(uasCPS, r.UASMsgsCoreS/msgsPerCall)
			}
		}
		var sfCPS float64
		for _, r := range sw {
			if r.Subject == "sipfront" && r.FailedPct < 1 && r.UsPerCall > 0 {
				sfCPS = max(sfCPS, 1e6/r.UsPerCall)
			}
		}
		if uacCPS > 0 && sfCPS > 0 {
			w("Per core: sipbench uac handles %.0f calls/s (%.0f messages/s), sipbench uas %.0f calls/s (%.0f messages/s), sipfront forwards %.0f calls/s (1e6 ÷ its best µs/call in the sweep): one core of the uac is %.1f× and one core of the uas %.1f× one core of sipfront.\n\n",
				uacCPS, uacCPS*msgsPerCall, uasCPS, uasCPS*msgsPerCall, sfCPS, uacCPS/sfCPS, uasCPS/sfCPS)
		}
		w("sipbench uac (pinned to CPU 0) straight against sipbench uas (CPU 1), calls with hold %v. Messages per core = messages the UAC sent and received ÷ the process's CPU-seconds (the UAS handles the same messages).\n\n", c.hold)
		w("| offered calls/s | completed/s | failed %% | uac CPU %% | uac msgs/s per core | uas CPU %% | uas msgs/s per core |\n|---|---|---|---|---|---|---|\n")
		for _, r := range ceil {
			w("| %d | %.0f | %.2f | %.0f | %.0f | %.0f | %.0f |\n", r.Rate, r.CompletedCPS, r.FailedPct, r.UACCPUPct, r.UACMsgsCoreS, r.UASCPUPct, r.UASMsgsCoreS)
		}
		w("\n")
	}

	if len(prs) > 0 {
		w("## Parser: sipfront vs sipgo (results/parser.csv, results/parser.txt)\n\n")
		w("`go test -bench . -benchmem ./parsercmp` in the bench module: the same messages (parser/testdata/messages) in one run. `sipfront` = `parser.Parse`; `+check` adds `m.Check` (Via, From, To, CSeq, Max-Forwards, Request-URI, Contact parsed and validated), closer to sipgo, which parses every header into structs.\n\n")
		w("| message | sipfront ns/op | allocs | sipfront+check ns/op | allocs | sipgo ns/op | allocs | sipgo ÷ sipfront | sipgo ÷ (sipfront+check) |\n|---|---|---|---|---|---|---|---|---|\n")
		get := func(msg, p string) *parserRow {
			for _, r := range prs {
				if r.Message == msg && r.Parser == p {
					return r
				}
			}
			return nil
		}
		var msgs []string
		for _, r := range prs {
			if r.Parser == "sipgo" {
				msgs = append(msgs, r.Message)
			}
		}
		for _, m := range msgs {
			a, ck, g := get(m, "sipfront"), get(m, "sipfront+check"), get(m, "sipgo")
			if a == nil || ck == nil || g == nil {
				continue
			}
			w("| %s | %.0f | %d | %.0f | %d | %.0f | %d | %.1f× | %.1f× |\n", m, a.NsOp, a.AllocsOp, ck.NsOp, ck.AllocsOp, g.NsOp, g.AllocsOp, g.NsOp/a.NsOp, g.NsOp/ck.NsOp)
		}
		w("\n")
	}
	writeFloodResults(c, w, fl)
	writeTransportResults(w, tr)
	w("## Reproduce\n\n```sh\nmake bench                       # micro-benchmarks, then bench/run (this page)\nbench/run                        # the harness alone\nRATES=2000,4000 DURATION=10s REPEATS=3 bench/run   # longer runs\nbench/run -report-only           # rebuild plots and this page from results/*.csv\n```\n\nKnobs (environment or flags, `bench/run -h`): RATES, DURATION, HOLD, REPEATS, SUBJECTS, LOADS, CHILDREN, DS_PING_INTERVAL, SIPP_UACS, NOISE_MAX, NOISE_RETRIES, RAW_RATES, RAW_DURATION, CEILING_RATES, CEILING_DURATION, PARSER=0, RAW=0, CEILING=0, SWEEP=0, FLOOD=0, FLOOD_RATES, FLOOD_METHODS, FLOOD_LIVE_RATES, FLOOD_DURATION, FLOOD_LEAD, FLOOD_BASELINE, FLOOD_CALL_RATE, FLOOD_SENDERS, FLOOD_LIVE_THREADS, FLOOD_SOURCES, FLOOD_PROG_STATS=0, TRANSPORTS=0, TRANSPORT_BENCHTIME, TRANSPORT_COUNT, INSTALL=0. Only the flood and transport parts, merged into this page with the other results kept: `SWEEP=0 RAW=0 CEILING=0 PARSER=0 bench/run`.\n")
	return os.WriteFile(filepath.Join(c.bench, "RESULTS.md"), []byte(b.String()), 0o644)
}

// floodSaturated reports whether a flood point saturated sipfront's
// receive path: its socket dropped more than 0.1 % of the flood, or its
// worker used 90 % of its core.
func floodSaturated(r *floodRow) bool {
	return float64(r.SocketDrops) > 0.001*float64(r.Sent) || r.SubjectCPUPct >= 90
}

// floodRatio is drops per CPU-second over several points: all their drops
// over all their CPU time.
func floodRatio(rows []*floodRow) float64 {
	var d, cpu float64
	for _, r := range rows {
		d += float64(r.Dropped)
		cpu += r.FloodCPUS
	}
	if cpu <= 0 {
		return math.NaN()
	}
	return d / cpu
}

func pct(ok, all int64) string {
	if all == 0 {
		return "–"
	}
	return fmt.Sprintf("%d/%d (%.2f %%)", ok, all, 100*float64(ok)/float64(all))
}

// secs rounds seconds for the text: 5.04 → 5s, 0.2 → 200ms.
func secs(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond)
}

// floodMethodName is how the report names a method.
func floodMethodName(m string) string {
	if m == methodLive {
		return "xdp-live (frames made in the kernel, delivered as xdp_frames, as by a NIC driver)"
	}
	return "socket (UDP datagrams sent from sockets)"
}

// floodMedian is the run with the median drops per CPU-second among the
// repeats of one point; a run whose flood CPU was not above zero (too
// little to tell from the baseline) sorts last.
func floodMedian(rows []*floodRow, method, mode string, rate int) *floodRow {
	var rs []*floodRow
	for _, r := range rows {
		if rowMethod(r) == method && r.Mode == mode && r.Rate == rate {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	key := func(r *floodRow) float64 {
		if math.IsNaN(r.DropsPerCPUS) {
			return math.Inf(1)
		}
		return r.DropsPerCPUS
	}
	sort.SliceStable(rs, func(i, j int) bool { return key(rs[i]) < key(rs[j]) })
	return rs[len(rs)/2]
}

// floodGross is drops per CPU-second over several points without the
// baseline subtracted: all their drops over all the softirq and sipfront
// time of their flood windows, the calls' own cost left in.
func floodGross(rows []*floodRow) float64 {
	var d, cpu float64
	for _, r := range rows {
		d += float64(r.Dropped)
		cpu += r.SoftirqS + r.SubjectS
	}
	if cpu <= 0 {
		return math.NaN()
	}
	return d / cpu
}

// floodModes splits one method's runs by mode, keeping those whose flood
// CPU reached minCPU.
func floodModes(fl []*floodRow, method string, minCPU float64) (xs, us []*floodRow) {
	for _, r := range fl {
		if rowMethod(r) != method || r.FloodCPUS < minCPU {
			continue
		}
		if r.Mode == "xdp" {
			xs = append(xs, r)
		} else {
			us = append(us, r)
		}
	}
	return xs, us
}

// floodMethodGross is floodMethodRatio without the baseline subtracted,
// over every run of the method.
func floodMethodGross(fl []*floodRow, method string) (xdp, user float64) {
	xs, us := floodModes(fl, method, math.Inf(-1))
	return floodGross(xs), floodGross(us)
}

// floodMinCPU is the flood CPU (s) a run needs to count in a method's
// summary: below it the figure is within the spread of the baseline
// windows here (about half a CPU-second either way), and a run of a few
// hundred milliseconds, or less than zero, would swing the sum.
const floodMinCPU = 1.0

// floodMethodRatio is drops per CPU-second of one method in each mode over
// its runs (every repeat, every rate) whose flood CPU reached floodMinCPU,
// NaN when there are none.
func floodMethodRatio(fl []*floodRow, method string) (xdp, user float64) {
	xs, us := floodModes(fl, method, floodMinCPU)
	return floodRatio(xs), floodRatio(us)
}

func writeFloodResults(c *config, w func(string, ...any), fl []*floodRow) {
	w("## Flood filter: XDP against user space (results/flood.csv)\n\n")
	if len(fl) == 0 {
		w("Not run: it needs root (network namespaces, XDP) and `ip` from iproute2; `FLOOD=0` skips it.\n\n")
		return
	}
	var methods []string
	for _, m := range []string{methodSocket, methodLive} {
		if hasMethod(fl, m) {
			methods = append(methods, m)
		}
	}
	r0 := fl[0]
	lead := "–"
	if r0.LeadS > 0 {
		lead = secs(r0.LeadS).String()
	}
	w("Two network namespaces made for the run, joined by a veth pair. In one, sipfront listens on 10.200.0.1:5060 with one worker (`-workers 1`, pinned to the last CPU) and two sipbench uas back ends on that namespace's 127.0.0.1; the filter is `-filter xdp` (the program attached to sipfront's end of the veth, driver mode) or `-filter user` (the same policy in the worker), with `-filter-rate 100/1s -filter-ban-time 1m`, the User-Agent prefixes %s, and the carrier 10.200.0.2 on the allow list. From the other namespace, the carrier places %d real calls/s (sipbench uac, hold %v) while the flood comes from %d source addresses of 10.201.0.0/16 (`-kind mix`: junk, malformed SIP, scanner OPTIONS, REGISTER and INVITE with scanner User-Agents; every source goes over the rate limit and is banned within its first second). Every point starts a fresh sipfront (no bans, counters at zero) and measures %v of the calls alone (the baseline), then the flood with the same calls: a lead of %s (the sources get banned; in mode xdp the program's own run time is read there), then the measured window of %v. The modes alternate at each rate, and so do the methods.\n\n",
		"`"+strings.Join(floodUserAgents, "`, `")+"`", r0.CallRate, secs(r0.HoldS), r0.Senders*r0.Sources, secs(r0.BaseS), lead, secs(r0.FloodS))
	w("The flood reaches sipfront's veth in two ways (methods):\n\n")
	firstOf := func(m string) *floodRow {
		for _, r := range fl {
			if rowMethod(r) == m {
				return r
			}
		}
		return nil
	}
	if r := firstOf(methodSocket); r != nil {
		w("- **socket**: %d sipbench flood processes (one per CPU in turn, so one shares sipfront's core; each from %d of the sources) send UDP datagrams from sockets. Each datagram is a socket buffer built by the sending stack, and a veth is not a NIC: its XDP path gets that socket buffer and copies it into a page for the program (a perf profile of this setup shows `veth_xdp_rcv_skb` → `skb_pp_cow_data` costing about twice the program). One flood process fills a core at about a quarter million datagrams per second here, not enough to saturate sipfront's worker, hence a second one, on sipfront's core.\n", r.Senders, r.Sources)
	}
	if r := firstOf(methodLive); r != nil {
		threads := fmt.Sprintf("%d generator threads (thread i pinned to CPU i, so one shares sipfront's core)", r.Senders)
		if r.Senders == 1 {
			threads = "one generator thread pinned to CPU 0 (sipfront's core carries none of the attacker's work, and the receiving softirq runs on CPU 0, as it would for a NIC whose receive queue interrupts CPU 0)"
		}
		w("- **xdp-live**: one `sipbench flood -inject xdp-live` process, with %s, makes the frames with BPF_PROG_TEST_RUN in live-frame mode and redirects them out of the flood side's veth; sipfront's veth receives them as xdp_frames in its NAPI poll and runs the filter on them directly, with no socket buffer and no copy, as a NIC driver does. A frame the filter passes (or every frame in mode user) becomes a socket buffer there and goes through GRO and up the stack to the socket. sipfront's veth has GRO on for this method (set with the ETHTOOL_SGRO ioctl, as `ethtool -K IF gro on` does): a veth accepts frames from its peer's XDP redirect only when its receive queue has a NAPI instance, which in mode user (no XDP program attached) only GRO brings; GRO is on by default on NICs, so this is also the NIC-like setting. The socket method keeps the veth's default (GRO off). xdp-live is also offered rates the socket flood cannot reach here (`FLOOD_LIVE_RATES`; sent/s says what the generator reached): an XDP drop of a frame costs so little that at the socket rates its CPU time is hardly larger than the host's other softirq work in the window, and the higher rates measure it with less noise.\n", threads)
	}
	w("\n")
	w("**Which is closer to a NIC: xdp-live.** A NIC driver hands XDP a page it received into, with headroom, and the program decides before any socket buffer exists; xdp-live gives sipfront's veth the same: an xdp_frame in its NAPI poll. The socket method makes the veth copy every datagram before the program sees it, a cost no NIC has, so its xdp figures overstate what XDP costs on real hardware. In mode user both methods end in the same stack work (IP, UDP, the socket, sipfront's recvmmsg); xdp-live adds the socket buffer built from the frame and GRO, as a NIC's receive path has.\n\n")
	w("**CPU counted** (flood CPU-s) = softirq time of all CPUs (`/proc/stat`) + sipfront's utime+stime in the window, minus the same during the baseline scaled to the window's length. With both methods the kernel does the receiving side's work in NET_RX softirq, run inline on the sender's CPU when the sender's system call re-enables bottom halves: for the socket flood at the end of sendmmsg's transmit; for xdp-live at the end of each batch of the test run (`xdp_test_run_batch` → `local_bh_enable` → `do_softirq` → `veth_poll` → `veth_xdp_rcv` → the filter, as a perf call graph of the generator shows; with the generator pinned to CPU 0 and every source banned, all the run's softirq time was on CPU 0, none on CPU 1, and the generator's stime, 2.66 s, exceeded all of CPU 0's system time, 2.48 s, so ticks counted as softirq were charged to it). There the XDP program drops the frame (xdp), or IP and UDP queue it on sipfront's socket (user); sipfront's own time is its recvmmsg and the policy check (user), and only the calls (xdp). This kernel accounts CPU time by sampling at its tick (no IRQ time accounting): a tick that lands in that softirq counts in the softirq column and also in the stime of the sender it interrupted. So the senders' CPU time (generator CPU-s in the table) holds the receiving softirq as well as the attacker's own work (building and sending datagrams; making frames in the test run's page pool and redirecting them); it is shown, not counted: the attacker's cost is on other machines in a real attack. The ticks make these times estimates; other programs on the host add softirq too (the other-work column; a point where other work passed %.0f %% of a core ran again, %d such reruns at most, the quieter run kept). Drops per CPU-second = datagrams the filter dropped in the window ÷ flood CPU-s.\n\n", c.noiseMax, floodNoiseRetries)
	neg := 0
	for _, r := range fl {
		if !(r.FloodCPUS > 0) {
			neg++
		}
	}
	w("**The baseline is not always additive.** With the calls alone the CPUs are mostly idle and wake for every message; in a flood window they are busy anyway. In %d of the %d runs below the flood window cost less softirq and sipfront time than the baseline (flood CPU-s at or below zero, drops per CPU-s blank), and sipfront's own time with the calls alone often exceeds its time under an XDP flood with the same calls (the runtime's wake-ups while idle, and the tick sampling of short busy spells, are the likely causes). So each method's summary also gives the ratio with the baseline kept in: the calls' cost then counts as flood CPU in both modes, which lowers the XDP figure far more than the user-space one, so that ratio is a lower bound.\n\n", neg, len(fl))
	w("The kernel's BPF run-time statistics are on only during the lead, where they time the filter program (\"program alone\": its own run time per packet, and the drops per CPU-second of the program alone against the whole user-space path). They stay off in the window because each program run then reads the clock twice, here a paravirtual clock: with xdp-live and every source banned, a dropped frame cost 113–130 ns of softirq with statistics off and 187–233 ns with them on.\n\n")
	w("Median run of each point. Saturated: sipfront's socket dropped more than 0.1 %% of the flood (its worker did not empty it in time), or the worker used 90 %% of its core. Sent/s is what the senders reached of the rate offered.\n\n")

	rates := sortedRates(fl, func(r *floodRow) int { return r.Rate })
	for _, m := range methods {
		w("### Method %s\n\n", floodMethodName(m))
		w("| offered/s | xdp: sent/s | xdp: drops per CPU-s | user: sent/s | user: drops per CPU-s | **xdp ÷ user** | xdp ÷ user, baseline kept in | xdp program alone: ns/packet | program alone ÷ user | user: sipfront %% of its core | user: socket drops | real calls ok, xdp | real calls ok, user |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		var us []*floodRow
		for _, rate := range rates {
			x, u := floodMedian(fl, m, "xdp", rate), floodMedian(fl, m, "user", rate)
			if x == nil && u == nil {
				continue
			}
			cell := func(r *floodRow, f func(*floodRow) string) string {
				if r == nil {
					return "–"
				}
				return f(r)
			}
			ratio, gross, progRatio := "–", "–", "–"
			if x != nil && u != nil && x.DropsPerCPUS > 0 && u.DropsPerCPUS > 0 {
				ratio = fmt.Sprintf("%.1f×", x.DropsPerCPUS/u.DropsPerCPUS)
			}
			if x != nil && u != nil {
				if gx, gu := floodGross([]*floodRow{x}), floodGross([]*floodRow{u}); gx > 0 && gu > 0 {
					gross = fmt.Sprintf("%.1f×", gx/gu)
				}
			}
			if x != nil && u != nil && x.ProgNsPkt > 0 && u.DropsPerCPUS > 0 {
				progRatio = fmt.Sprintf("%.1f×", 1e9/x.ProgNsPkt/u.DropsPerCPUS)
			}
			if u != nil {
				us = append(us, u)
			}
			sat := ""
			if u != nil && floodSaturated(u) {
				sat = " (saturated)"
			}
			w("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", rate,
				cell(x, func(r *floodRow) string { return f0(r.SentPPS) }), cell(x, func(r *floodRow) string { return f0(r.DropsPerCPUS) }),
				cell(u, func(r *floodRow) string { return f0(r.SentPPS) }), cell(u, func(r *floodRow) string { return f0(r.DropsPerCPUS) }), ratio, gross,
				cell(x, func(r *floodRow) string { return f0(r.ProgNsPkt) }), progRatio,
				cell(u, func(r *floodRow) string { return f0(r.SubjectCPUPct) }), cell(u, func(r *floodRow) string { return fmt.Sprint(r.SocketDrops) + sat }),
				cell(x, func(r *floodRow) string { return pct(r.CallsOK, r.Calls) }), cell(u, func(r *floodRow) string { return pct(r.CallsOK, r.Calls) }))
		}
		w("\n")
		if xr, ur := floodMethodRatio(fl, m); !math.IsNaN(xr) && !math.IsNaN(ur) && ur > 0 {
			verdict := "not met"
			if xr/ur >= 10 {
				verdict = "met"
			}
			nx, nu := 0, 0
			for _, r := range fl {
				if rowMethod(r) == m && r.FloodCPUS >= floodMinCPU {
					if r.Mode == "xdp" {
						nx++
					} else {
						nu++
					}
				}
			}
			w("Over the runs of this method whose flood CPU reached %.0f s (all drops ÷ all flood CPU-s; %d xdp and %d user runs: below that the figure is within the spread of the baseline windows here): XDP drops %.0f datagrams per CPU-second, user space %.0f: **%.1f×** (target of issue 7: at least 10×, %s on this host).", floodMinCPU, nx, nu, xr, ur, xr/ur, verdict)
			if gx, gu := floodMethodGross(fl, m); gx > 0 && gu > 0 {
				w(" Over all runs with the baseline kept in (the calls' own CPU counted as flood CPU, which can only lower the ratio): XDP %.0f, user space %.0f: **%.1f×**.", gx, gu, gx/gu)
			}
			w("\n\n")
		}
		writeFloodSaturation(w, fl, m, us)
	}
	if len(methods) == 2 {
		w("xdp ÷ user per method, over the runs with at least %.0f s of flood CPU:", floodMinCPU)
		for i, m := range methods {
			if xr, ur := floodMethodRatio(fl, m); !math.IsNaN(xr) && !math.IsNaN(ur) && ur > 0 {
				sep := ";"
				if i == len(methods)-1 {
					sep = "."
				}
				w(" %s **%.1f×**%s", m, xr/ur, sep)
			}
		}
		w(" With the baseline kept in (lower bounds):")
		for i, m := range methods {
			if gx, gu := floodMethodGross(fl, m); gx > 0 && gu > 0 {
				sep := ";"
				if i == len(methods)-1 {
					sep = "."
				}
				w(" %s **%.1f×**%s", m, gx/gu, sep)
			}
		}
		w(" The xdp-live figure is the one to hold against a NIC; the socket figure carries the veth's copy of every datagram on the XDP side.\n\n")
	}
	w("![flood](results/flood.png)\n\n")
	w("All points. Drops by reason are in the CSV (banned, rate, not SIP, User-Agent); passed = flood datagrams the filter let through in the window. Baseline = the same CPU over the calls-only window, scaled to the window's length. Generator CPU-s = the flood senders' utime+stime in the window, the receiving softirq included (not counted, see above). Other work = the host's busy time not used by this part's processes or the kernel's softirq threads, in %% of a core: the higher of the baseline and the flood window (the baseline's own is in the CSV).\n\n")
	w("| method | mode | offered/s | sent/s | dropped | passed | softirq CPU-s | sipfront CPU-s | baseline CPU-s | flood CPU-s | drops per CPU-s | generator CPU-s | program ns/packet | sipfront %% of core | socket drops | calls ok (flood) | calls ok (baseline) | p50 ms | p99 ms | retrans | other work %% | tries |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range fl {
		gen := "–"
		if r.GenCPUS > 0 {
			gen = fmt.Sprintf("%.2f", r.GenCPUS)
		}
		w("| %s | %s | %d | %.0f | %d | %d | %.2f | %.2f | %.2f | %.2f | %s | %s | %s | %.0f | %d | %s | %s | %.2f | %.2f | %d | %.0f | %d |\n", rowMethod(r), r.Mode, r.Rate, r.SentPPS, r.Dropped, r.Passed,
			r.SoftirqS, r.SubjectS, r.BaseSoftirqS+r.BaseSubjectS, r.FloodCPUS, f0(r.DropsPerCPUS), gen, f0(r.ProgNsPkt), r.SubjectCPUPct, r.SocketDrops,
			pct(r.CallsOK, r.Calls), pct(r.BaseCallsOK, r.BaseCalls), r.P50, r.P99, r.Retrans, r.OtherCPUPct, r.Tries)
	}
	w("\n")
}

// writeFloodSaturation says where the user-space path of one method
// saturated and how the real calls fared there and at the highest rate.
func writeFloodSaturation(w func(string, ...any), fl []*floodRow, method string, us []*floodRow) {
	if len(us) == 0 {
		return
	}
	var sat *floodRow
	for _, u := range us {
		if floodSaturated(u) {
			sat = u
			break
		}
	}
	if sat == nil {
		top := us[len(us)-1]
		w("The user-space path did not saturate at the rates tried: at the highest, %d/s offered (%.0f/s sent), sipfront used %.0f %% of its core and its socket dropped %d datagrams.\n\n", top.Rate, top.SentPPS, top.SubjectCPUPct, top.SocketDrops)
		return
	}
	w("The user-space path saturates first at %d/s offered (%.0f/s sent): sipfront at %.0f %% of its core, %d datagrams dropped at its socket. Real calls during that flood: ", sat.Rate, sat.SentPPS, sat.SubjectCPUPct, sat.SocketDrops)
	if x := floodMedian(fl, method, "xdp", sat.Rate); x != nil {
		verdict := "below"
		if x.CallSuccessPct >= 99.9 {
			verdict = "meets"
		}
		w("with XDP %s, p99 INVITE→200 %.1f ms (%s the 99.9 %% target); ", pct(x.CallsOK, x.Calls), x.P99, verdict)
	}
	w("in user space %s, p99 %.1f ms.", pct(sat.CallsOK, sat.Calls), sat.P99)
	if top := us[len(us)-1]; top != sat {
		w(" At the highest rate, %d/s offered: ", top.Rate)
		if x := floodMedian(fl, method, "xdp", top.Rate); x != nil {
			w("with XDP %s, p99 %.1f ms, %d datagrams dropped at sipfront's socket; ", pct(x.CallsOK, x.Calls), x.P99, x.SocketDrops)
		}
		w("in user space %s, p99 %.1f ms, %d dropped at its socket.", pct(top.CallsOK, top.Calls), top.P99, top.SocketDrops)
	}
	w("\n\n")
}

// floodPlot draws drops per CPU-second against the rate sent, one line per
// method and mode (the median run of each rate), on a log scale: the
// methods' XDP figures lie an order of magnitude apart.
func floodPlot(fl []*floodRow, path string) error {
	p := plot.New()
	p.Title.Text = "Flood filter: datagrams dropped per CPU-second of the receiving side"
	p.X.Label.Text = "flood datagrams/s sent (median run of each rate offered)"
	p.Y.Label.Text = "drops per CPU-second (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	rates := sortedRates(fl, func(r *floodRow) int { return r.Rate })
	i, lines := 0, 0
	for _, method := range []string{methodSocket, methodLive} {
		for mi, mode := range []string{"xdp", "user"} {
			var pts plotter.XYs
			for _, rate := range rates {
				if r := floodMedian(fl, method, mode, rate); r != nil && r.DropsPerCPUS > 0 {
					pts = append(pts, plotter.XY{X: r.SentPPS, Y: r.DropsPerCPUS})
				}
			}
			if len(pts) == 0 {
				continue
			}
			sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
			l, pt, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			l.Color, pt.Color, pt.Shape = plotutil.Color(mi), plotutil.Color(mi), plotutil.Shape(i)
			if method == methodLive {
				l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			}
			p.Add(l, pt)
			p.Legend.Add(mode+", "+method+" flood", l, pt)
			i++
			lines++
		}
	}
	if lines == 0 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
		return p.Save(8*vg.Inch, 5*vg.Inch, path)
	}
	p.X.Min = 0
	p.X.Max *= 1.05
	p.Y.Min /= 2
	p.Y.Max *= 4 // room for the legend
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// transportStat is the median and range of one benchmark's runs.
type transportStat struct {
	name, metric  string
	med, min, max float64
	runs          int
}

func transportStats(tr []*transportRow) []transportStat {
	var out []transportStat
	for _, name := range []string{"CallUDP", "CallTCP", "CallTLS", "IdleTLSConnMemory"} {
		var v []float64
		metric := ""
		for _, r := range tr {
			if r.Benchmark == name {
				v = append(v, r.Value)
				metric = r.Metric
			}
		}
		if len(v) == 0 {
			continue
		}
		sort.Float64s(v)
		out = append(out, transportStat{name: name, metric: metric, med: v[len(v)/2], min: v[0], max: v[len(v)-1], runs: len(v)})
	}
	return out
}

func writeTransportResults(w func(string, ...any), tr []*transportRow) {
	w("## Transports: CPU per call over UDP, TCP and TLS; memory per idle TLS connection (results/transports.csv)\n\n")
	if len(tr) == 0 {
		w("Not run (`TRANSPORTS=0`).\n\n")
		return
	}
	w("The Go benchmarks of lb/stream_bench_test.go, run from the repository root (`go test -run '^$' -bench 'Call(UDP|TCP|TLS)$' -benchtime N -count C ./lb`, then `-bench IdleTLSConnMemory$ -benchtime 1x`; the output is in results/transports.txt). Calls: 16 phones in parallel in the benchmark process, sipfront in a helper process; its CPU time (every thread, from schedstat) per call of INVITE, 100, 180, 200, ACK, BYE, 200 over the phone's transport, UDP to the back end. TCP and TLS phones keep their connection (TLS 1.2 or 1.3, handshake before the measurement). Memory: 500 idle TLS connections from a helper process; sipfront's heap in use + stack in use after GC, growth per connection. Median of the runs, with the lowest and highest.\n\n")
	st := transportStats(tr)
	var udp float64
	for _, s := range st {
		if s.name == "CallUDP" {
			udp = s.med
		}
	}
	w("| benchmark | measure | median | min – max | runs | ÷ UDP |\n|---|---|---|---|---|---|\n")
	for _, s := range st {
		if s.metric != "sipfront-cpu-µs/call" {
			continue
		}
		ratio := "–"
		if udp > 0 {
			ratio = fmt.Sprintf("%.2f×", s.med/udp)
		}
		w("| %s | sipfront CPU µs per call | %.1f | %.1f – %.1f | %d | %s |\n", strings.TrimPrefix(s.name, "Call"), s.med, s.min, s.max, s.runs, ratio)
	}
	w("\n")
	for _, s := range st {
		if s.metric != "bytes/conn" {
			continue
		}
		verdict := "above"
		if s.med < 20*1024 {
			verdict = "under"
		}
		w("| benchmark | measure | median | min – max | runs |\n|---|---|---|---|---|\n| idle TLS connection | sipfront heap + stack bytes per connection | %.0f (%.1f KiB) | %.0f – %.0f | %d |\n\n", s.med, s.med/1024, s.min, s.max, s.runs)
		w("%.1f KiB per idle TLS connection: %s issue 8's target of 20 KB; the issue's reference for Kamailio with OpenSSL is about 65 KB.\n\n", s.med/1024, verdict)
	}
	w("![transports](results/transports.png)\n\n")
}

func transportPlot(tr []*transportRow, path string) error {
	var names []string
	var med plotter.Values
	var errs plotter.YErrors
	for _, s := range transportStats(tr) {
		if s.metric != "sipfront-cpu-µs/call" {
			continue
		}
		names = append(names, strings.TrimPrefix(s.name, "Call"))
		med = append(med, s.med)
		errs = append(errs, struct{ Low, High float64 }{s.med - s.min, s.max - s.med})
	}
	p := plot.New()
	p.Title.Text = "sipfront CPU per call by the phones' transport (median, min–max)"
	p.Y.Label.Text = "CPU µs per call"
	if len(med) == 0 {
		return p.Save(6*vg.Inch, 4*vg.Inch, path)
	}
	b, err := plotter.NewBarChart(med, vg.Points(40))
	if err != nil {
		return err
	}
	b.Color = plotutil.Color(0)
	p.Add(b)
	pts := make(plotter.XYs, len(med))
	for i, v := range med {
		pts[i] = plotter.XY{X: float64(i), Y: v}
	}
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{pts, errs})
	if err != nil {
		return err
	}
	p.Add(eb)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(med))-0.4
	p.Y.Min = 0
	p.Y.Max *= 1.1
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

// sortedRates returns the distinct rates of rows, in increasing order.
func sortedRates[R any](rows []R, rate func(R) int) []int {
	rates := make([]int, 0, len(rows))
	for _, r := range rows {
		rates = append(rates, rate(r))
	}
	slices.Sort(rates)
	return slices.Compact(rates)
}

package dispatcher

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func writeList(t testing.TB, path, text string) {
	t.Helper()
	// Write and rename, as editors and deploy tools do.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func find(t testing.TB, tbl *Table, set int, uri string) *Dest {
	t.Helper()
	for _, d := range tbl.Set(set).destsForTest() {
		if d.URI == uri {
			return d
		}
	}
	t.Fatalf("no %s in set %d", uri, set)
	return nil
}

func (s *Set) destsForTest() []*Dest {
	if s == nil {
		return nil
	}
	return s.dests
}

func TestSwapCarriesRuntime(t *testing.T) {
	var logBuf bytes.Buffer
	opts := Options{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}
	t1, _, err := Load("a", []byte(strings.Join([]string{
		"1 sip:10.0.0.1 0 0 duid=pbx1",
		"1 sip:10.0.0.2 0 0",
		"1 sip:10.0.0.3 0 0",
		"1 sip:10.0.0.4 0 0",
		"2 sip:10.0.0.9 0 0",
	}, "\n")), opts)
	if err != nil {
		t.Fatal(err)
	}
	d := New(t1, opts)
	pbx1, two, three, four := find(t, t1, 1, "sip:10.0.0.1"), find(t, t1, 1, "sip:10.0.0.2"), find(t, t1, 1, "sip:10.0.0.3"), find(t, t1, 1, "sip:10.0.0.4")
	pbx1.Transition(0, Inactive, "probe timeout")
	pbx1.RT.Selected.Add(7)
	two.Transition(0, Disabled, "operator")
	three.RT.LatencyEWMA.Store(int64(3 * time.Millisecond))
	four.Transition(0, Draining, "operator")

	// pbx1 moved to a new address (same duid); .2 kept; .3 gets priority 5;
	// .4 gets flags 4 in the file; set 2 goes; .5 is new.
	t2, _, err := Load("b", []byte(strings.Join([]string{
		"1 sip:10.0.0.11 0 0 duid=pbx1",
		"1 sip:10.0.0.2 0 0",
		"1 sip:10.0.0.3 0 5",
		"1 sip:10.0.0.4 4 0",
		"1 sip:10.0.0.5 1 0",
	}, "\n")), opts)
	if err != nil {
		t.Fatal(err)
	}
	diff := d.Swap(t2)
	if d.Current() != t2 {
		t.Fatal("Swap did not publish the table")
	}
	n1 := find(t, t2, 1, "sip:10.0.0.11")
	if n1.RT != pbx1.RT || n1.State() != Inactive || n1.RT.Selected.Load() != 7 {
		t.Errorf("pbx1 (matched by duid) lost its runtime: %v %d", n1.State(), n1.RT.Selected.Load())
	}
	if s := find(t, t2, 1, "sip:10.0.0.2").State(); s != Disabled {
		t.Errorf(".2 state %v, want disabled (kept across reload)", s)
	}
	if v := find(t, t2, 1, "sip:10.0.0.3").RT.LatencyEWMA.Load(); v != int64(3*time.Millisecond) {
		t.Errorf(".3 latency %d lost", v)
	}
	if s := find(t, t2, 1, "sip:10.0.0.4").State(); s != Disabled|Draining {
		t.Errorf(".4 state %v (%d), want disabled+draining: the changed flag bit applies, draining stays", s, s)
	}
	if s := find(t, t2, 1, "sip:10.0.0.5").State(); s != Inactive {
		t.Errorf("new .5 state %v, want inactive as its flags say", s)
	}
	want := strings.Join([]string{
		"+ set 1 sip:10.0.0.5",
		"- set 2 sip:10.0.0.9",
		"~ set 1 sip:10.0.0.3: priority 0 -> 5", // Kamailio order: priority 5 first
		"~ set 1 sip:10.0.0.4: flags 0 -> 4",
		"~ set 1 sip:10.0.0.11: uri sip:10.0.0.1 -> sip:10.0.0.11, address 10.0.0.1:5060 -> 10.0.0.11:5060",
	}, "\n")
	if got := diff.String(); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(logBuf.String(), "reason=\"reload: flags column changed\"") ||
		!strings.Contains(logBuf.String(), "reason=\"probe timeout\"") {
		t.Errorf("state changes not logged through Options.Logger:\n%s", logBuf.String())
	}
	if at, why := n1.LastChange(); at.IsZero() || why != "probe timeout" {
		t.Errorf("LastChange = %v %q", at, why)
	}
}

func TestTransitionLogsOnlyChanges(t *testing.T) {
	var buf bytes.Buffer
	tbl, _, _ := Load("l", []byte("1 sip:10.0.0.1\n"), Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	d := tbl.Dests()[0]
	d.Transition(0, Trying, "probe timeout")
	d.Transition(0, Trying, "probe timeout")
	d.Transition(Trying, 0, "reply 200")
	if n := strings.Count(buf.String(), "state changed"); n != 2 {
		t.Errorf("%d log lines, want 2:\n%s", n, buf.String())
	}
	for _, s := range []string{"uri=sip:10.0.0.1", "from=active", "to=trying", "reason=\"reply 200\""} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("log lacks %s:\n%s", s, buf.String())
		}
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dispatcher.list")
	writeList(t, path, "1 sip:10.0.0.1\n1 sip:10.0.0.2\n")
	tbl, _, err := LoadFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, Options{})
	find(t, d.Current(), 1, "sip:10.0.0.2").Transition(0, Inactive, "probe timeout")

	t.Run("refused file keeps table and states", func(t *testing.T) {
		before := d.Current()
		okBefore, errBefore := reloadsOK.Get(), reloadsError.Get()
		writeList(t, path, "1 sip:10.0.0.3\n2\n")
		_, _, err := d.Reload(path)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 2 || !errors.Is(err, ErrNoDestination) {
			t.Fatalf("got %v, want a ParseError at line 2", err)
		}
		if d.Current() != before || find(t, d.Current(), 1, "sip:10.0.0.2").State() != Inactive {
			t.Fatal("a refused reload changed the running table")
		}
		if _, _, err := d.Reload(filepath.Join(dir, "missing.list")); !errors.Is(err, ErrNoFile) || d.Current() != before {
			t.Fatalf("missing file: %v", err)
		}
		if reloadsError.Get() != errBefore+2 || reloadsOK.Get() != okBefore {
			t.Errorf("reload counters: ok %d→%d, error %d→%d", okBefore, reloadsOK.Get(), errBefore, reloadsError.Get())
		}
	})
	t.Run("good file swaps and keeps states", func(t *testing.T) {
		writeList(t, path, "# edited\n1 sip:10.0.0.2\n1 sip:10.0.0.3 0 0 weight=5\n")
		diff, warns, err := d.Reload(path)
		if err != nil || len(warns) != 0 {
			t.Fatal(err, warns)
		}
		if got := diff.String(); got != "+ set 1 sip:10.0.0.3\n- set 1 sip:10.0.0.1" {
			t.Errorf("diff %q", got)
		}
		if find(t, d.Current(), 1, "sip:10.0.0.2").State() != Inactive {
			t.Error("state lost on reload")
		}
	})
}

func TestOverlay(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dispatcher.list")
	writeList(t, path, "1 sip:10.0.0.1 0 0 duid=a;weight=10\n1 sip:10.0.0.2 0 0 duid=b\n")
	d := New(nil, Options{})
	if _, _, err := d.Reload(path); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{"add", func() error { return d.Add(1, "10.0.0.3:5070", 0, 3, "duid=c") }, nil},
		{"add draining", func() error { return d.Add(2, "sip:10.0.0.4", Draining|Probing, 0, "") }, nil},
		{"add again", func() error { return d.Add(1, "sip:10.0.0.3:5070", 0, 0, "") }, ErrExists},
		{"add bad uri", func() error { return d.Add(1, "not a uri", 0, 0, "") }, ErrBadURI},
		{"add bad attrs", func() error { return d.Add(1, "sip:10.0.0.5", 0, 0, "weight=500") }, ErrBadAttrs},
		{"add bad host", func() error { return d.Add(1, "sip:pbx.example.com", 0, 0, "") }, ErrResolve},
		{"remove by duid", func() error { return d.Remove(1, "b") }, nil},
		{"remove unknown", func() error { return d.Remove(1, "sip:10.9.9.9") }, ErrUnknownDest},
		{"remove unknown set", func() error { return d.Remove(9, "sip:10.9.9.9") }, ErrUnknownSet},
		{"weight", func() error { return d.SetWeight(1, "SIP:10.0.0.1", 40) }, nil},
		{"weight range", func() error { return d.SetWeight(1, "sip:10.0.0.1", 101) }, ErrBadWeight},
		{"state by uri without scheme", func() error { return d.SetState(1, "10.0.0.3:5070", Disabled, "operator") }, nil},
		{"state unknown", func() error { return d.SetState(1, "sip:10.9.9.9", Disabled, "operator") }, ErrUnknownDest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	check := func(stage string, fromFile bool) {
		t.Helper()
		tbl := d.Current()
		s1 := tbl.Set(1)
		if s1 == nil || len(s1.Dests()) != 2 {
			t.Fatalf("%s: set 1 = %v", stage, dump(tbl))
		}
		c := find(t, tbl, 1, "sip:10.0.0.3:5070")
		if c.Priority != 3 || c.State() != Disabled || (c.Line == 0) == fromFile {
			t.Errorf("%s: added destination %+v state %v", stage, c, c.State())
		}
		a := find(t, tbl, 1, "sip:10.0.0.1")
		if a.Attrs.Weight != 40 || a.Attrs.Body != "weight=40;duid=a" || a.Attrs.DUID != "a" {
			t.Errorf("%s: SetWeight gave %+v", stage, a.Attrs)
		}
		if st := find(t, tbl, 2, "sip:10.0.0.4").State(); st != Draining|Probing {
			t.Errorf("%s: set 2 state %v", stage, st)
		}
	}
	check("after changes", false)
	// The file is unchanged: a reload re-applies the overlay and keeps states.
	diff, warns, err := d.Reload(path)
	if err != nil || len(warns) != 0 || !diff.Empty() {
		t.Fatalf("reload: %v %v %s", err, warns, diff)
	}
	check("after reload", false)
	// The file now lists the added destination itself: no duplicate, no warning.
	writeList(t, path, "1 sip:10.0.0.1 0 0 duid=a;weight=10\n1 sip:10.0.0.2 0 0 duid=b\n1 sip:10.0.0.3:5070 0 3 duid=c\n")
	if _, warns, err := d.Reload(path); err != nil || len(warns) != 0 {
		t.Fatalf("reload 2: %v %v", err, warns)
	}
	check("after the file caught up", true)
	if len(d.ovl) != 4 {
		t.Errorf("overlay has %d ops, want 4 (add c, add 4, remove b, weight a)", len(d.ovl))
	}
}

func dump(t *Table) string { return string(t.AppendList(nil)) }

// TestRaceReload: readers select and look up while another goroutine reloads
// and changes the table many times. Run with -race.
func TestRaceReload(t *testing.T) {
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a.list"), filepath.Join(dir, "b.list"), filepath.Join(dir, "bad.list")}
	writeList(t, paths[0], "1 sip:10.0.0.1 0 0 weight=10\n1 sip:10.0.0.2 0 0 weight=20\n2 sip:10.0.1.1\n")
	writeList(t, paths[1], "1 sip:10.0.0.2 0 0 weight=30\n1 sip:10.0.0.3\n2 sip:10.0.1.1 4\n")
	writeList(t, paths[2], "1 sip:10.0.0.9\n3\n")
	tbl, _, err := LoadFile(paths[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := New(tbl, Options{})
	var stop atomic.Bool
	var wg sync.WaitGroup
	var picked atomic.Uint64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				tb := d.Current()
				if dst := tb.Set(1).Select(Alg([]Alg{HashCallID, RoundRobin, Weight, Priority}[i%4]), keyOf(i)); dst != nil {
					dst.RT.Selected.Add(1)
					picked.Add(1)
					if tb.ByAddr(dst.Addr) == nil || tb.ByIP(dst.Addr.Addr()) == nil {
						t.Error("selected destination not found by address")
						return
					}
				}
				if r == 0 && i%64 == 0 {
					var buf bytes.Buffer
					d.WritePrometheus(&buf)
				}
			}
		}(r)
	}
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; i < 300 && time.Now().Before(deadline); i++ {
		if _, _, err := d.Reload(paths[i%3]); (err != nil) != (i%3 == 2) {
			t.Fatalf("reload %d: %v", i, err)
		}
		switch i % 5 {
		case 0:
			_ = d.SetState(1, "sip:10.0.0.2", Trying, "race test")
		case 1:
			_ = d.Add(1, "sip:10.0.0.7", 0, 0, "")
		case 2:
			_ = d.Remove(1, "sip:10.0.0.7")
		case 3:
			_ = d.SetWeight(1, "sip:10.0.0.2", i%100)
		}
	}
	stop.Store(true)
	wg.Wait()
	if picked.Load() == 0 {
		t.Fatal("readers selected nothing")
	}
}

func TestByAddr(t *testing.T) {
	tbl := mkTable(t, "2 sip:10.0.0.1:5070", "1 sip:10.0.0.1:5070;transport=tcp", "1 sip:10.0.0.1:5080",
		"1 sip:[2001:db8::1]:5060", "3 sip:10.0.0.2")
	for _, tc := range []struct {
		in   string
		want string // set/uri or ""
	}{
		{"10.0.0.1:5070", "1/sip:10.0.0.1:5070;transport=tcp"}, // lowest set
		{"10.0.0.1:5080", "1/sip:10.0.0.1:5080"},
		{"[::ffff:10.0.0.1]:5080", "1/sip:10.0.0.1:5080"},
		{"10.0.0.1:5060", ""},
		{"[2001:db8::1]:5060", "1/sip:[2001:db8::1]:5060"},
		{"10.0.0.3:5060", ""},
	} {
		ap := mustAddrPort(tc.in)
		got := ""
		if d := tbl.ByAddr(ap); d != nil {
			got = itoa(d.Set) + "/" + d.URI
		}
		if got != tc.want {
			t.Errorf("ByAddr(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if d := tbl.ByIP(mustAddrPort("10.0.0.1:1").Addr()); d == nil || d.Port != 5070 {
		t.Errorf("ByIP(10.0.0.1) = %v", d)
	}
	if tbl.ByIP(mustAddrPort("10.0.0.9:1").Addr()) != nil || tbl.ByIP(mustAddrPort("[2001:db8::2]:1").Addr()) != nil {
		t.Error("ByIP found an unknown address")
	}
	var nilT *Table
	if nilT.ByAddr(mustAddrPort("10.0.0.1:5070")) != nil || nilT.ByIP(mustAddrPort("10.0.0.1:5070").Addr()) != nil || nilT.Set(1) != nil {
		t.Error("nil table found something")
	}
}

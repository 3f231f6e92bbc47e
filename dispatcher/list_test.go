package dispatcher

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/lists/*.golden")

// testResolve knows *.example.com (a fixed address per name) and localhost.
func testResolve(host string) ([]netip.Addr, error) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case h == "localhost":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	case strings.HasSuffix(h, ".example.com"):
		n := HashString(h)
		return []netip.Addr{netip.AddrFrom4([4]byte{10, 9, byte(n >> 8), byte(n)}), netip.MustParseAddr("2001:db8::99")}, nil
	}
	return nil, errors.New("no such host")
}

// dumpTable renders a table for golden files: everything the loader decided.
func dumpTable(t *Table) string {
	var b strings.Builder
	if len(t.Sets()) == 0 {
		b.WriteString("no destination sets\n")
	}
	for _, s := range t.Sets() {
		fmt.Fprintf(&b, "set %d\n", s.ID())
		for _, d := range s.Dests() {
			fmt.Fprintf(&b, "  %s flags=%d %s prio=%d addr=%s %s line=%d", d.URI, d.Flags,
				d.State().KamailioFlags(), d.Priority, d.Addr, d.Transport, d.Line)
			a := d.Attrs
			if a.Present {
				fmt.Fprintf(&b, " attrs=%q", a.Body)
				if a.Has&AttrDUID != 0 {
					fmt.Fprintf(&b, " duid=%q", a.DUID)
				}
				for _, f := range []struct {
					m AttrMask
					n string
					v int
				}{{AttrWeight, "weight", a.Weight}, {AttrRWeight, "rweight", a.RWeight},
					{AttrMaxLoad, "maxload", a.MaxLoad}, {AttrLatency, "latency", a.Latency}, {AttrCC, "cc", a.CC}} {
					if a.Has&f.m != 0 {
						fmt.Fprintf(&b, " %s=%d", f.n, f.v)
					}
				}
				for _, f := range []struct {
					m AttrMask
					n string
					v string
				}{{AttrSocket, "socket", a.Socket}, {AttrSockName, "sockname", a.SockName},
					{AttrPingFrom, "ping_from", a.PingFrom}, {AttrOBProxy, "obproxy", a.OBProxy}} {
					if a.Has&f.m != 0 {
						fmt.Fprintf(&b, " %s=%q", f.n, f.v)
					}
				}
				if a.Has&(AttrOCMin|AttrOCMax|AttrOCRate) != 0 {
					fmt.Fprintf(&b, " oc=%d/%d/%d", a.OCMin, a.OCMax, a.OCRate)
				}
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestListFiles loads every testdata/lists/*.list and compares warnings,
// error and the loaded table with NAME.golden (regenerate with -update).
// It also checks that Strict refuses exactly the files that warn, at the
// first warning's line, and that the canonical rendering loads back equal.
func TestListFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/lists/*.list")
	if err != nil || len(files) == 0 {
		t.Fatalf("no list files: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".list")
		t.Run(name, func(t *testing.T) {
			tbl, warns, err := LoadFile(path, Options{Resolve: testResolve})
			var out strings.Builder
			for _, w := range warns {
				fmt.Fprintf(&out, "warning: %s\n", w)
				if w.Line < 1 || w.Err == nil || w.Reason == "" {
					t.Errorf("incomplete warning %+v", w)
				}
			}
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Line < 1 {
					t.Errorf("error %v is not a *ParseError with a line", err)
				}
				fmt.Fprintf(&out, "error: %v\n", err)
			} else {
				out.WriteString(dumpTable(tbl))
				out.WriteString("--- canonical list\n")
				out.Write(tbl.AppendList(nil))
				checkRoundTrip(t, tbl, testResolve)
			}

			_, _, serr := LoadFile(path, Options{Resolve: testResolve, Strict: true})
			switch {
			case len(warns) > 0 && err == nil:
				var pe *ParseError
				if !errors.As(serr, &pe) || pe.Line != warns[0].Line || !errors.Is(serr, warns[0].Err) {
					t.Errorf("strict: got %v, want a ParseError at line %d wrapping %v", serr, warns[0].Line, warns[0].Err)
				}
			case len(warns) == 0 && err == nil && serr != nil:
				t.Errorf("strict refused a file without warnings: %v", serr)
			}

			golden := strings.TrimSuffix(path, ".list") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestListFiles -update)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("%s differs from the golden file:\n--- got\n%s--- want\n%s", name, got, want)
			}
		})
	}
}

// checkRoundTrip loads the canonical rendering of tbl and compares.
func checkRoundTrip(t testing.TB, tbl *Table, resolve func(string) ([]netip.Addr, error)) {
	t.Helper()
	text := tbl.AppendList(nil)
	// Warnings about kept lines (a weight out of range) come back; the
	// table must be the same.
	again, _, err := Load("canonical", text, Options{Resolve: resolve})
	if err != nil {
		t.Fatalf("canonical rendering does not load: %v\n%s", err, text)
	}
	if a, b := canon(tbl), canon(again); a != b {
		t.Fatalf("canonical rendering loads differently:\n--- first\n%s--- again\n%s", a, b)
	}
}

// canon is the table without line numbers (which a rendering changes).
func canon(t *Table) string {
	var b strings.Builder
	for _, s := range t.Sets() {
		for _, d := range s.Dests() {
			fmt.Fprintf(&b, "%d %s %d %d %s %s %v %q %+v\n", d.Set, d.URI, d.Flags, d.Priority,
				d.Addr, d.Transport, d.Attrs.Present, d.Attrs.Body, d.Attrs)
		}
	}
	return b.String()
}

func TestParseErrorFormat(t *testing.T) {
	_, _, err := Load("dispatcher.list", []byte("1 sip:127.0.0.1\n\n3\n"), Options{})
	if got, want := fmt.Sprint(err), `dispatcher.list:3:1: "3": set id without destination`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, ErrNoDestination) {
		t.Errorf("%v does not unwrap to ErrNoDestination", err)
	}
	_, _, err = LoadFile("testdata/lists/no-such-file.list", Options{})
	if !errors.Is(err, ErrNoFile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v does not unwrap to ErrNoFile and os.ErrNotExist", err)
	}
	if got, want := fmt.Sprint(err), "testdata/lists/no-such-file.list: cannot read list file: no such file or directory"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, _, err = Load("l", []byte("1 sip:127.0.0.1 0x8\n"), Options{Strict: true})
	if got, want := fmt.Sprint(err), `l:1:17: "0x8": flags read as hex 8`; got != want {
		t.Errorf("strict: got %q, want %q", got, want)
	}
	if !errors.Is(err, ErrCompat) {
		t.Errorf("strict: %v does not unwrap to ErrCompat", err)
	}
}

func TestWarningString(t *testing.T) {
	_, warns, err := Load("d.list", []byte("1 sip:192.0.2.1 -5\n"), Options{})
	if err != nil || len(warns) != 1 {
		t.Fatalf("got %v %v", warns, err)
	}
	want := `d.list:1: "-5": line skipped: negative flags (Kamailio: reads flags 0 and attrs "-5")`
	if got := warns[0].String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if warns[0].Col != 17 {
		t.Errorf("col %d, want 17", warns[0].Col)
	}
}

func TestLoadOptions(t *testing.T) {
	t.Run("check rejects IPv6", func(t *testing.T) {
		check := func(d *Dest) error {
			if d.Addr.Addr().Is6() {
				return errors.New("no IPv6 listener")
			}
			return nil
		}
		tbl, warns, err := Load("l", []byte("1 sip:[::1]:5060\n1 sip:127.0.0.1\n"), Options{Check: check})
		if err != nil || len(warns) != 1 || !errors.Is(warns[0].Err, ErrRejected) || len(tbl.Dests()) != 1 {
			t.Fatalf("got %v %v", warns, err)
		}
		if !strings.Contains(warns[0].String(), "no IPv6 listener") {
			t.Errorf("reason lost: %s", warns[0])
		}
	})
	t.Run("no resolver", func(t *testing.T) {
		tbl, warns, err := Load("l", []byte("1 sip:pbx.example.com\n"), Options{})
		if err != nil || len(warns) != 1 || !errors.Is(warns[0].Err, ErrResolve) || len(tbl.Sets()) != 0 {
			t.Fatalf("got %v %v", warns, err)
		}
	})
	t.Run("never resolves a non-URI", func(t *testing.T) {
		var asked []string
		res := func(h string) ([]netip.Addr, error) {
			asked = append(asked, h)
			return testResolve(h)
		}
		_, _, err := Load("l", []byte("1 abcdefgh\n1 garbage!token\n1 sip:host.example.com 0 -1\n1 sip:ok.example.com\n"), Options{Resolve: res})
		if err != nil {
			t.Fatal(err)
		}
		if len(asked) != 1 || asked[0] != "ok.example.com" {
			t.Errorf("resolver asked for %q, want only ok.example.com", asked)
		}
	})
	t.Run("too large", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "big.list")
		if err := os.WriteFile(path, bytes.Repeat([]byte("#\n"), MaxListSize/2+1), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadFile(path, Options{}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("got %v, want ErrTooLarge", err)
		}
	})
}

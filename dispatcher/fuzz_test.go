package dispatcher

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// fuzzResolve resolves any dotted name to an address derived from it, so
// that host names are exercised without DNS, deterministically.
func fuzzResolve(host string) ([]netip.Addr, error) {
	if len(host)%7 == 0 {
		return nil, errors.New("fuzz: no such host")
	}
	n := HashString(host)
	return []netip.Addr{netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})}, nil
}

// FuzzLoad checks the loader's invariants on arbitrary input: it never
// panics; every destination has a valid address, a non-empty sip/sips URI
// and a Runtime; every warning and error points at a line of the input; and
// the canonical rendering of a loaded table loads back into the same table.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/lists/*.list")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte{'\n'}) + 1
		tbl, warns, err := Load("fuzz.list", data, Options{Resolve: fuzzResolve})
		for _, w := range warns {
			if w.Line < 1 || w.Line > lines || w.Err == nil || w.Reason == "" {
				t.Fatalf("bad warning %+v (input has %d lines)", w, lines)
			}
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > lines || !errors.Is(err, ErrNoDestination) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		for _, s := range tbl.Sets() {
			if len(s.Dests()) == 0 {
				t.Fatalf("empty set %d", s.ID())
			}
			for _, d := range s.Dests() {
				if !d.Addr.IsValid() || d.Addr.Port() == 0 || d.URI == "" || d.RT == nil ||
					!(hasPrefixFold(d.URI, "sip:") || hasPrefixFold(d.URI, "sips:")) {
					t.Fatalf("bad destination %+v", d)
				}
				if d.Set != s.ID() || d.Line < 1 || d.Line > lines {
					t.Fatalf("destination %+v out of place", d)
				}
				if tbl.ByAddr(d.Addr) == nil || tbl.ByIP(d.Addr.Addr()) == nil {
					t.Fatalf("%s not found by address", d.URI)
				}
			}
			if s.Select(HashCallID, 1) == nil && len(s.Dests()) > 0 {
				usable := false
				for _, d := range s.Dests() {
					usable = usable || d.Usable()
				}
				if usable {
					t.Fatalf("set %d has usable destinations but selects none", s.ID())
				}
			}
		}
		checkRoundTrip(t, tbl, fuzzResolve)
	})
}

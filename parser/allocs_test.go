//go:build !race

package parser

import (
	"os"
	"testing"
)

// TestZeroAllocs proves that parsing, every on-demand field parser and every
// writer allocate nothing once the Message, Editor and output buffer exist.
func TestZeroAllocs(t *testing.T) {
	src, err := os.ReadFile("testdata/rewrite/proxy-invite.in.sip")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := os.ReadFile("testdata/rewrite/response-top-via-comma.in.sip")
	if err != nil {
		t.Fatal(err)
	}
	var m, r Message
	var e Editor
	out := make([]byte, 0, 4096)
	checks := map[string]func(){
		"Parse": func() { _ = Parse(src, &m) },
		"Validate": func() {
			_ = Parse(src, &m)
			_ = m.Validate()
		},
		"fields": func() {
			_ = Parse(src, &m)
			b := m.Raw()
			var v Via
			var u URI
			var na NameAddr
			for it := m.Values(KindVia); it.Next(); {
				_ = ParseVia(b, it.Value(), &v)
			}
			_ = ParseURI(b, m.RequestURI(), &u)
			h, _ := m.Header(KindFrom)
			_ = ParseNameAddr(b, h.Value, &na)
			_, _, _ = m.CSeq()
			_, _, _ = m.MaxForwards()
			_, _ = Param(b, v.Params, "branch")
			_ = LookupKind(b[h.Name.Start:h.Name.End])
			_, _ = ParseIP([]byte("2001:db8::1"))
		},
		"request writers": func() {
			_ = Parse(src, &m)
			e.Reset()
			proxyRequest(&e, &m)
			e.AddRecordRoute(&m, []byte("<sip:127.0.0.1;lr>"))
			e.AddPath(&m, []byte("<sip:127.0.0.1;lr>"))
			out, _ = e.AppendTo(out[:0], &m)
		},
		"response writers": func() {
			_ = Parse(resp, &r)
			e.Reset()
			e.RemoveTopVia(&r)
			out, _ = e.AppendTo(out[:0], &r)
		},
	}
	for name, f := range checks {
		f() // warm up
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

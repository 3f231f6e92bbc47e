package parsercmp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/sipfront/sipfront/parser"
)

// messages are parser/testdata/messages/*.sip (README.md there tells their
// story): an INVITE with a 910-byte SDP, the 200 OK to it, a REGISTER with
// digest credentials, an in-dialog BYE, and an INVITE with 30 Vias.
var messages = []string{"invite", "ok200", "register", "bye", "via30"}

func load(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "parser", "testdata", "messages", name+".sip"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestSameVerdict: both parsers accept every message and agree on what it
// is, so the benchmarks compare like with like.
func TestSameVerdict(t *testing.T) {
	p := sip.NewParser()
	for _, name := range messages {
		t.Run(name, func(t *testing.T) {
			b := load(t, name)
			var m parser.Message
			if err := parser.Parse(b, &m); err != nil {
				t.Fatalf("sipfront: %v", err)
			}
			var e parser.Essentials
			if err := m.Check(&e); err != nil {
				t.Fatalf("sipfront Check: %v", err)
			}
			msg, err := p.ParseSIP(b)
			if err != nil {
				t.Fatalf("sipgo: %v", err)
			}
			if len(msg.Body()) != len(m.Body()) {
				t.Errorf("body: sipgo %d bytes, sipfront %d", len(msg.Body()), len(m.Body()))
			}
			if cid := msg.CallID(); cid == nil || cid.Value() != string(m.CallID()) {
				t.Errorf("Call-ID differs: sipgo %v, sipfront %q", cid, m.CallID())
			}
			switch r := msg.(type) {
			case *sip.Request:
				if !m.IsRequest() || string(r.Method) != string(m.MethodBytes()) {
					t.Errorf("method: sipgo %s, sipfront %s", r.Method, m.MethodBytes())
				}
			case *sip.Response:
				if m.IsRequest() || r.StatusCode != m.StatusCode() {
					t.Errorf("status: sipgo %d, sipfront %d", r.StatusCode, m.StatusCode())
				}
			}
			if n := len(msg.GetHeaders("Via")); name == "via30" && n == 0 {
				t.Errorf("sipgo found no Via")
			}
		})
	}
}

// BenchmarkParse runs each message through sipfront's Parse (the index every
// message gets), Parse followed by Check (Via, From, To, CSeq, Max-Forwards,
// Request-URI and Contact parsed and validated: closer to what sipgo does,
// which parses every header into structs), and sipgo's ParseSIP.
func BenchmarkParse(b *testing.B) {
	for _, name := range messages {
		msg := load(b, name)
		b.Run(name+"/sipfront", func(b *testing.B) {
			var m parser.Message
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := parser.Parse(msg, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/sipfront+check", func(b *testing.B) {
			var m parser.Message
			var e parser.Essentials
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := parser.Parse(msg, &m); err != nil {
					b.Fatal(err)
				}
				if err := m.Check(&e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/sipgo", func(b *testing.B) {
			p := sip.NewParser()
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := p.ParseSIP(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

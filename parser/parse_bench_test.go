package parser

import (
	"os"
	"testing"
)

// The benchmark messages (testdata/messages/README.md tells their story).
var benchMessages = []string{"invite", "ok200", "register", "bye", "via30"}

func loadBench(b *testing.B, name string) []byte {
	msg, err := os.ReadFile("testdata/messages/" + name + ".sip")
	if err != nil {
		b.Fatal(err)
	}
	return msg
}

// BenchmarkParse measures Parse alone: the index of start line, headers and
// body, as every message on the data path gets it.
func BenchmarkParse(b *testing.B) {
	for _, name := range benchMessages {
		msg := loadBench(b, name)
		b.Run(name, func(b *testing.B) {
			var m Message
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := Parse(msg, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseCheck adds Check: the top Via, From, To, CSeq, Max-Forwards,
// Request-URI and Contact parsed and validated, which is what the proxy does
// with every request before routing it.
func BenchmarkParseCheck(b *testing.B) {
	for _, name := range benchMessages {
		msg := loadBench(b, name)
		b.Run(name, func(b *testing.B) {
			var m Message
			var e Essentials
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := Parse(msg, &m); err != nil {
					b.Fatal(err)
				}
				if err := m.Check(&e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRewrite measures the Editor on the INVITE: received/rport, our Via,
// Max-Forwards, Record-Route, written into a reused buffer.
func BenchmarkRewrite(b *testing.B) {
	msg := loadBench(b, "invite")
	var m Message
	if err := Parse(msg, &m); err != nil {
		b.Fatal(err)
	}
	var e Editor
	var v Via
	top, _ := m.FirstValue(KindVia)
	if err := ParseVia(msg, top, &v); err != nil {
		b.Fatal(err)
	}
	out := make([]byte, 0, 4096)
	via := []byte("SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bKsf0123456789abcdef01234567")
	rr := []byte("<sip:203.0.113.10:5060;lr;sfc=AQpfAAsT7AAAAAAAAAAAAA>")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		e.Reset()
		e.SetReceived(&m, &v, []byte("198.51.100.77"), 5060)
		e.PrependVia(&m, via)
		e.SetMaxForwards(&m, 69)
		e.AddRecordRoute(&m, rr)
		out, _ = e.AppendTo(out[:0], &m)
	}
}

// BenchmarkFields measures the on-demand parsers on values from the
// benchmark messages.
func BenchmarkFields(b *testing.B) {
	via := []byte("SIP/2.0/UDP 192.168.1.23:5060;rport=5060;received=198.51.100.77;branch=z9hG4bK.Yx3Lq9Vb2")
	na := []byte(`"Alice Smith" <sip:1001@pbx.example.com>;tag=1632845013`)
	uri := []byte("sip:203.0.113.10;lr;sfc=BH8AAAHiH_tOyZ1cTV7L")
	b.Run("via", func(b *testing.B) {
		var v Via
		b.ReportAllocs()
		for b.Loop() {
			if ParseVia(via, Span{0, int32(len(via))}, &v) != nil {
				b.Fatal("via")
			}
		}
	})
	b.Run("nameaddr", func(b *testing.B) {
		var n NameAddr
		b.ReportAllocs()
		for b.Loop() {
			if ParseNameAddr(na, Span{0, int32(len(na))}, &n) != nil {
				b.Fatal("name-addr")
			}
		}
	})
	b.Run("uri", func(b *testing.B) {
		var u URI
		b.ReportAllocs()
		for b.Loop() {
			if ParseURI(uri, Span{0, int32(len(uri))}, &u) != nil {
				b.Fatal("uri")
			}
		}
	})
}

package health

import (
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

// FuzzDeliver feeds any datagram the parser accepts to Deliver while one
// probe is out. Invariants: no panic; the probe is claimed exactly when the
// datagram is a final response whose top Via branch is the probe's, and
// then the stored code and Retry-After are the message's; Retry-After is
// never negative nor past its bound.
func FuzzDeliver(f *testing.F) {
	const nonce = nonceBit | 0x0123456789abcdef // "8123456789abcdef", as in the testdata seeds
	want := string(appendBranch(nil, 0, nonce))
	reply := func(code, extra string) []byte {
		return []byte("SIP/2.0 " + code + " X\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=" + want + ";rport=5060;received=192.0.2.1\r\n" +
			"From: <sip:sipfront@localhost>;tag=01234567\r\nTo: <sip:10.0.0.1:5060>;tag=x\r\nCall-ID: sfp-0123456789abcdef\r\n" +
			"CSeq: 1 OPTIONS\r\n" + extra + "Content-Length: 0\r\n\r\n")
	}
	f.Add(reply("200", ""))
	f.Add(reply("503", "Retry-After: 30 (busy);duration=10\r\n"))
	f.Add(reply("100", ""))
	f.Add(reply("404", ""))
	f.Add([]byte("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=" + want + "\r\nFrom: <sip:a>;tag=1\r\nTo: <sip:b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKsf0123456789abcdef01234567\r\nFrom: <sip:a>;tag=1\r\nTo: <sip:b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=" + want + ",SIP/2.0/UDP k\r\nContent-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m parser.Message
		if parser.Parse(data, &m) != nil {
			return
		}
		r := newRig(t, unit(nil), "1 "+a)
		r.at(0)
		r.snd.take()
		pr := r.p.peers[0]
		pr.nonce = nonce
		pr.inflight.Store(nonce)
		r.now = 5 * time.Millisecond

		r.p.Deliver(&m)

		// The oracle, computed independently of Deliver's code path.
		match := false
		if !m.IsRequest() && m.StatusCode() >= 200 && m.StatusCode() <= 699 {
			var v parser.Via
			if top, ok := m.FirstValue(parser.KindVia); ok && parser.ParseVia(m.Raw(), top, &v) == nil && v.HasBranch {
				match = string(v.Branch.In(m.Raw())) == want
			}
		}
		got := pr.inflight.Load()
		switch {
		case match && got != done:
			t.Fatalf("the probe's reply was not claimed (in-flight word %x)", got)
		case !match && got != nonce:
			t.Fatalf("a datagram that is not the probe's reply changed the in-flight word to %x", got)
		}
		ra, ok := RetryAfter(&m)
		if ra < 0 || ra > maxRetryAfter || (!ok && ra != 0) {
			t.Fatalf("RetryAfter = %v, %v", ra, ok)
		}
		if match {
			if int(pr.code.Load()) != m.StatusCode() || time.Duration(pr.rtt.Load()) != 5*time.Millisecond {
				t.Fatalf("stored code %d rtt %v", pr.code.Load(), time.Duration(pr.rtt.Load()))
			}
			wantRA := time.Duration(0)
			if m.StatusCode() == 503 {
				wantRA = ra
			}
			if time.Duration(pr.retry.Load()) != wantRA {
				t.Fatalf("stored Retry-After %v, want %v", time.Duration(pr.retry.Load()), wantRA)
			}
			r.p.step(r.now) // the outcome is applied without trouble
		}
	})
}

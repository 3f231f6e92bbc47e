package health

import (
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

func TestBranch(t *testing.T) {
	for _, tc := range []struct {
		slot  int
		nonce uint64
	}{{0, nonceBit}, {1, nonceBit | 1}, {0xabcdef, ^uint64(0)}, {4242, nonceBit | 0x0123456789abcdef}} {
		b := appendBranch(nil, tc.slot, tc.nonce)
		if len(b) != branchLen || !IsProbeBranch(b) {
			t.Fatalf("%q: length %d or prefix wrong", b, len(b))
		}
		slot, nonce, ok := parseBranch(b)
		if !ok || slot != tc.slot || nonce != tc.nonce {
			t.Errorf("%q: got %d %x %v, want %d %x", b, slot, nonce, ok, tc.slot, tc.nonce)
		}
	}
	for _, bad := range []string{
		"", BranchPrefix, "z9hG4bKsf" + strings.Repeat("a", 24), // the data path's
		BranchPrefix + "000001" + "0000000000000001",  // top bit clear
		BranchPrefix + "000001" + "800000000000000",   // short
		BranchPrefix + "000001" + "80000000000000001", // long
		BranchPrefix + "00000G" + "8000000000000001",
		BranchPrefix + "000001" + "8000000000000ABC", // upper case is never written
		"z9hG4bKsfP000001" + "8000000000000001",
	} {
		if _, _, ok := parseBranch([]byte(bad)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if IsProbeBranch([]byte("z9hG4bKsf0123456789abcdef01234567")) {
		t.Error("a data-path branch taken for a probe's")
	}
}

// The probe is a valid request, as Kamailio's keepalive: Request-URI and To
// are the destination URI, From the ping From with a tag.
func TestOptionsMessage(t *testing.T) {
	b := appendOptions(nil, &probe{
		uri: "sip:pbx@10.0.0.1:5070;transport=udp", from: "sip:lb@example.com",
		viaHost: "[2001:db8::1]:5060", slot: 7, nonce: nonceBit | 0xfeed, cseq: 42,
	})
	var m parser.Message
	if err := parser.Parse(b, &m); err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	var e parser.Essentials
	if err := m.Check(&e); err != nil {
		t.Fatalf("check: %v\n%s", err, b)
	}
	raw := m.Raw()
	if m.Method() != parser.LookupMethod([]byte("OPTIONS")) || string(m.Bytes(m.RequestURI())) != "sip:pbx@10.0.0.1:5070;transport=udp" {
		t.Errorf("start line: %s %s", m.MethodBytes(), m.Bytes(m.RequestURI()))
	}
	if got := string(e.TopVia.SentBy.In(raw)); got != "[2001:db8::1]:5060" || string(e.TopVia.Transport.In(raw)) != "UDP" || !e.TopVia.HasRPort {
		t.Errorf("Via: %s", m.Value(parser.KindVia))
	}
	slot, nonce, ok := parseBranch(e.TopVia.Branch.In(raw))
	if !ok || slot != 7 || nonce != nonceBit|0xfeed {
		t.Errorf("branch %s", e.TopVia.Branch.In(raw))
	}
	if string(m.Value(parser.KindTo)) != "<sip:pbx@10.0.0.1:5070;transport=udp>" || e.To.Tag.Len() != 0 {
		t.Errorf("To: %s", m.Value(parser.KindTo))
	}
	if !strings.HasPrefix(string(m.Value(parser.KindFrom)), "<sip:lb@example.com>;tag=") || e.From.Tag.Len() != 8 {
		t.Errorf("From: %s", m.Value(parser.KindFrom))
	}
	if e.CSeq != 42 || string(e.CSeqMethod.In(raw)) != "OPTIONS" || e.MaxForwards != 70 {
		t.Errorf("CSeq %d %s, Max-Forwards %d", e.CSeq, e.CSeqMethod.In(raw), e.MaxForwards)
	}
	if m.ContentLength() != 0 || len(m.Body()) != 0 {
		t.Errorf("body %q", m.Body())
	}
	// Call-ID differs per nonce.
	c := appendOptions(nil, &probe{uri: "sip:h", from: "sip:f", viaHost: "h:1", nonce: nonceBit | 1})
	var m2 parser.Message
	if err := parser.Parse(c, &m2); err != nil {
		t.Fatal(err)
	}
	if string(m2.CallID()) == string(m.CallID()) {
		t.Error("two probes share a Call-ID")
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		hdr  string // "" for none
		want time.Duration
		ok   bool
	}{
		{"Retry-After: 120", 120 * time.Second, true},
		{"Retry-After: 18000;duration=3600", 18000 * time.Second, true},
		{"Retry-After: 120 (I'm in a meeting)", 120 * time.Second, true},
		{"Retry-After:   5", 5 * time.Second, true},
		{"Retry-After: 0", 0, true},
		{"Retry-After: soon", 0, false},
		{"Retry-After: ", 0, false},
		{"Retry-After: 99999999999999999999999", maxRetryAfter, true},
		{"", 0, false},
	} {
		t.Run(tc.hdr, func(t *testing.T) {
			msg := "SIP/2.0 503 Service Unavailable\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n" +
				"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
			if tc.hdr != "" {
				msg += tc.hdr + "\r\n"
			}
			msg += "Content-Length: 0\r\n\r\n"
			var m parser.Message
			if err := parser.Parse([]byte(msg), &m); err != nil {
				t.Fatal(err)
			}
			got, ok := RetryAfter(&m)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// A destination's ping_from attr replaces the From of its probes, unless it
// would break the header.
func TestPingFromAttr(t *testing.T) {
	r := newRig(t, unit(func(c *Config) { c.FromURI = "sip:lb@example.net" }),
		"1 sip:10.0.0.1:5060 0 0 ping_from=sip:keepalive@example.org",
		"1 sip:10.0.0.2:5060 0 0 ping_from=sip:x@y>;evil=1",
		"2 sip:10.0.0.3:5060")
	r.at(0)
	from := map[string]string{}
	for _, s := range r.snd.take() {
		m := parsed(t, s.b)
		from[s.to.String()] = string(m.Value(parser.KindFrom))
	}
	for to, want := range map[string]string{
		"10.0.0.1:5060": "<sip:keepalive@example.org>;tag=",
		"10.0.0.2:5060": "<sip:lb@example.net>;tag=",
		"10.0.0.3:5060": "<sip:lb@example.net>;tag=",
	} {
		if !strings.HasPrefix(from[to], want) {
			t.Errorf("probe to %s: From %q, want %s...", to, from[to], want)
		}
	}
}

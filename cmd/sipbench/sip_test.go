package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sipfront/sipfront/parser"
)

func TestCallIDRoundTrip(t *testing.T) {
	for _, id := range []callID{{1, 0, 0, 0}, {0xdeadbeef, 63, 1 << 20, 0xffffffff}, {7, 1, 2, 3}} {
		b := append(appendCallIDToken(nil, id), "@sipbench"...)
		got, ok := parseCallID(b)
		if !ok || got != id {
			t.Errorf("%q: got %+v %v, want %+v", b, got, ok, id)
		}
	}
	for _, bad := range []string{"", "1-2-3@sipbench", "1-2-3-4-5@sipbench", "1-2-3-4@other", "1-2-3-4", "1--3-4@sipbench",
		"1-2-3-4@sipbenchx", "123456789-1-1-1@sipbench", "A-1-1-1@sipbench", "1-2-3-4@"} {
		if id, ok := parseCallID([]byte(bad)); ok {
			t.Errorf("%q accepted as %+v", bad, id)
		}
	}
}

// FuzzParseCallID: whatever parseCallID accepts, writing the result back and
// parsing that gives the same identity; nothing panics.
func FuzzParseCallID(f *testing.F) {
	f.Add([]byte("1-0-0-0@sipbench"))
	f.Add([]byte("deadbeef-3f-100000-ffffffff@sipbench"))
	f.Add([]byte("0001-02-3-4@sipbench"))
	f.Add([]byte("1-2-3@sipbench"))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := parseCallID(b)
		if !ok {
			return
		}
		if !bytes.HasSuffix(b, []byte("@sipbench")) {
			t.Fatalf("%q accepted without @sipbench", b)
		}
		again, ok := parseCallID(append(appendCallIDToken(nil, id), "@sipbench"...))
		if !ok || again != id {
			t.Fatalf("%q -> %+v -> %+v %v", b, id, again, ok)
		}
	})
}

func mustParse(t testing.TB, b []byte) *parser.Message {
	t.Helper()
	var m parser.Message
	if err := parser.Parse(b, &m); err != nil {
		t.Fatalf("Parse: %v\n%s", err, b)
	}
	var e parser.Essentials
	if err := m.Check(&e); err != nil {
		t.Fatalf("Check: %v\n%s", err, b)
	}
	return &m
}

func TestRequestsAreValidSIP(t *testing.T) {
	base := request{
		id: callID{5, 1, 2, 3}, via: []byte("SIP/2.0/UDP 127.0.0.1:4000"), contact: []byte("sip:sipbench@127.0.0.1:4000"),
		fromURI: []byte("sip:sipbench@127.0.0.1"), toURI: []byte("sip:1000@127.0.0.1:5060"), ruri: []byte("sip:1000@127.0.0.1:5060"), cseq: 1,
	}
	for _, tc := range []struct {
		name   string
		edit   func(r *request)
		method parser.Method
		want   []string
	}{
		{"INVITE", func(r *request) { r.method, r.txn, r.body = "INVITE", 'i', sdpOffer }, parser.MethodINVITE,
			[]string{"Content-Type: application/sdp", "CSeq: 1 INVITE", ";branch=z9hG4bK5-1-2-3.i"}},
		{"ACK in dialog", func(r *request) {
			r.method, r.txn, r.toTag, r.route, r.ruri = "ACK", 'a', []byte("t1"), []byte("<sip:127.0.0.1:5060;lr>"), []byte("sip:uas@127.0.0.1:5071")
		}, parser.MethodACK, []string{"ACK sip:uas@127.0.0.1:5071 SIP/2.0", "Route: <sip:127.0.0.1:5060;lr>", ";tag=t1", "Content-Length: 0"}},
		{"BYE", func(r *request) { r.method, r.txn, r.cseq, r.toTag = "BYE", 'b', 2, []byte("t1") }, parser.MethodBYE,
			[]string{"CSeq: 2 BYE"}},
		{"REGISTER", func(r *request) { r.method, r.txn = "REGISTER", 'r' }, parser.MethodREGISTER, []string{";expires=300"}},
		{"OPTIONS", func(r *request) { r.method, r.txn = "OPTIONS", 'o' }, parser.MethodOPTIONS, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			b := appendRequest(nil, &r)
			m := mustParse(t, b)
			if m.Method() != tc.method {
				t.Errorf("method %v", m.Method())
			}
			if id, ok := parseCallID(m.CallID()); !ok || id != r.id {
				t.Errorf("Call-ID %q", m.CallID())
			}
			if len(m.Body()) != len(r.body) {
				t.Errorf("body %d bytes, want %d", len(m.Body()), len(r.body))
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("lacks %q:\n%s", w, b)
				}
			}
		})
	}
}

// A request as it reaches a back end through a proxy: two Vias (one line
// holding two values, one compact), a Record-Route, no To tag.
const proxiedInvite = "INVITE sip:1000@127.0.0.1:5071 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy1\r\n" +
	"v: SIP/2.0/UDP 127.0.0.1:4000;rport=4000;received=127.0.0.1;branch=z9hG4bK5-1-2-3.i, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKold\r\n" +
	"Record-Route: <sip:127.0.0.1:5060;lr;sfc=abc>\r\n" +
	"Max-Forwards: 69\r\n" +
	"From: <sip:sipbench@127.0.0.1>;tag=5-1-2-3\r\n" +
	"To: <sip:1000@127.0.0.1:5060>\r\n" +
	"Call-ID: 5-1-2-3@sipbench\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: <sip:sipbench@127.0.0.1:4000>\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestResponses(t *testing.T) {
	req := mustParse(t, []byte(proxiedInvite))
	for _, tc := range []struct {
		name    string
		r       response
		want    []string
		notWant []string
	}{
		{"100 copies Via, no tag", response{code: 100, reason: "Trying"},
			[]string{"SIP/2.0 100 Trying\r\n", "To: <sip:1000@127.0.0.1:5060>\r\n"}, []string{"Record-Route", "Contact"}},
		{"200 with tag, RR, contact, body", response{code: 200, reason: "OK", toTag: []byte("abc"), withRR: true, contact: []byte("sip:uas@127.0.0.1:5071"), body: sdpAnswer},
			[]string{"To: <sip:1000@127.0.0.1:5060>;tag=abc\r\n", "Record-Route: <sip:127.0.0.1:5060;lr;sfc=abc>\r\n", "Contact: <sip:uas@127.0.0.1:5071>\r\n", "Content-Type: application/sdp"}, nil},
		{"503 without RR", response{code: 503, reason: "Service Unavailable", toTag: []byte("abc")},
			[]string{"SIP/2.0 503 Service Unavailable\r\n", ";tag=abc"}, []string{"Record-Route", "Contact"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := appendResponse(nil, req, &tc.r)
			m := mustParse(t, b)
			if m.StatusCode() != tc.r.code {
				t.Errorf("status %d", m.StatusCode())
			}
			// the Via lines in the same order, as written
			var vias []string
			for it := m.Values(parser.KindVia); it.Next(); {
				vias = append(vias, string(m.Bytes(it.Value())))
			}
			if len(vias) != 3 || !strings.Contains(vias[0], "branch=z9hG4bKproxy1") || !strings.Contains(vias[2], "z9hG4bKold") {
				t.Errorf("Vias %q", vias)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("lacks %q:\n%s", w, b)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(string(b), w) {
					t.Errorf("has %q:\n%s", w, b)
				}
			}
		})
	}
}

func TestFixCSeqMethod(t *testing.T) {
	cancel := strings.Replace(strings.Replace(proxiedInvite, "INVITE sip", "CANCEL sip", 1), "1 INVITE", "1 CANCEL", 1)
	req := mustParse(t, []byte(cancel))
	b := appendResponse(nil, req, &response{code: 487, reason: "Request Terminated", toTag: []byte("x")})
	fixCSeqMethod(b)
	if !strings.Contains(string(b), "CSeq: 1 INVITE\r\n") {
		t.Errorf("487 CSeq not rewritten:\n%s", b)
	}
}

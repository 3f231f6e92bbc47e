package parser

import (
	"bytes"
	"testing"
)

// Native fuzz targets, one per parser. Seeds live in testdata/fuzz/FuzzXxx/
// (the torture corpus, the rewrite inputs and every crasher ever found).
// Each target checks invariants, not only the absence of panics.

func inBounds(t *testing.T, what string, s Span, n int) {
	t.Helper()
	if s.Start < 0 || s.End < s.Start || int(s.End) > n {
		t.Fatalf("%s span %v outside [0,%d]", what, s, n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(inviteHead + "Content-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		err := Parse(b, &m)
		n := len(b)
		if n > MaxMessageSize {
			return
		}
		inBounds(t, "message", Span{m.Start(), m.End()}, n)
		inBounds(t, "body", m.BodySpan(), n)
		inBounds(t, "request-uri", m.RequestURI(), n)
		inBounds(t, "version", m.Version(), n)
		last := int32(0)
		for i, h := range m.Headers() {
			inBounds(t, "name", h.Name, n)
			inBounds(t, "value", h.Value, n)
			if h.End < h.Value.End || int(h.End) > n || h.Name.Start < last {
				t.Fatalf("header %d extent %v/%d out of order", i, h.Value, h.End)
			}
			last = h.End
		}
		for k := Kind(1); k < kindCount; k++ {
			for it := m.Values(k); it.Next(); {
				inBounds(t, "value", it.Value(), n)
			}
		}
		if err != nil {
			return
		}
		// An unchanged message re-serialises byte for byte and parses again
		// to the same index.
		var e Editor
		out, err := e.AppendTo(nil, &m)
		if err != nil || !bytes.Equal(out, m.Buf()) {
			t.Fatalf("unchanged message not identical: %v", err)
		}
		var m2 Message
		if err := Parse(out, &m2); err != nil {
			t.Fatalf("re-parse of framed message failed: %v", err)
		}
		if len(m2.Headers()) != len(m.Headers()) || !bytes.Equal(m2.Body(), m.Body()) {
			t.Fatalf("re-parse differs: %d/%d headers", len(m2.Headers()), len(m.Headers()))
		}
		if m.Validate() != nil || !m.IsRequest() {
			return
		}
		// A valid request survives the proxy's rewrite: the output parses,
		// validates, keeps the body and has one more Via.
		e.Reset()
		top, _ := m.FirstValue(KindVia)
		var v Via
		if ParseVia(m.Raw(), top, &v) != nil {
			t.Fatal("Validate accepted an unparsable top Via")
		}
		e.SetReceived(&m, &v, []byte("192.0.2.1"), 5060)
		e.PrependVia(&m, []byte("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKfuzz"))
		e.AddRecordRoute(&m, []byte("<sip:127.0.0.1;lr>"))
		if mf, ok, _ := m.MaxForwards(); ok && mf > 0 {
			e.SetMaxForwards(&m, mf-1)
		}
		out, err = e.AppendTo(nil, &m)
		if err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		if err := Parse(out, &m2); err != nil {
			t.Fatalf("rewritten message does not parse: %v\n%q", err, out)
		}
		if err := m2.Validate(); err != nil {
			t.Fatalf("rewritten message does not validate: %v\n%q", err, out)
		}
		vias := 0
		for it := m.Values(KindVia); it.Next(); {
			vias++
		}
		vias2 := 0
		for it := m2.Values(KindVia); it.Next(); {
			vias2++
		}
		if vias2 != vias+1 || !bytes.Equal(m2.Body(), m.Body()) {
			t.Fatalf("rewrite lost something: vias %d→%d", vias, vias2)
		}
		var v2 Via
		top2, _ := m2.FirstValue(KindVia)
		if ParseVia(m2.Raw(), top2, &v2) != nil || string(v2.Branch.In(m2.Raw())) != "z9hG4bKfuzz" {
			t.Fatal("our Via is not on top")
		}
	})
}

func FuzzURI(f *testing.F) {
	for _, s := range []string{"sip:alice@atlanta.com", "sips:bob:pw@[2001:db8::1]:5061;transport=tls?h=v", "tel:+1", "sip:h:5060;lr"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var u URI
		if len(b) > MaxLineLength {
			return
		}
		s := Span{0, int32(len(b))}
		if ParseURI(b, s, &u) != nil {
			return
		}
		for _, sp := range []Span{u.SchemeSpan, u.Opaque, u.User, u.Password, u.Host, u.PortSpan, u.Params, u.Headers, u.HostPort} {
			inBounds(t, "uri", sp, len(b))
		}
		if u.Scheme != SchemeSIP && u.Scheme != SchemeSIPS {
			return
		}
		// Reassemble the URI from its parts: it must give the input back.
		var r []byte
		r = append(r, u.SchemeSpan.In(b)...)
		r = append(r, ':')
		if u.HasUser {
			r = append(r, u.User.In(b)...)
			if !u.Password.Empty() || (u.Password.Start > 0 && b[u.Password.Start-1] == ':') {
				r = append(r, ':')
				r = append(r, u.Password.In(b)...)
			}
			r = append(r, '@')
		}
		r = append(r, u.HostPort.In(b)...)
		if u.Params.Start > 0 && b[u.Params.Start-1] == ';' {
			r = append(r, ';')
			r = append(r, u.Params.In(b)...)
		}
		if u.Headers.Start > 0 && b[u.Headers.Start-1] == '?' {
			r = append(r, '?')
			r = append(r, u.Headers.In(b)...)
		}
		if !bytes.Equal(r, b) {
			t.Fatalf("reassembled %q from %q", r, b)
		}
		_, ipOK := ParseIP(u.Host.In(b))
		if ipOK && u.HostKind == HostName {
			t.Fatalf("host %q is an IP literal but kind is name", u.Host.In(b))
		}
		if !ipOK && u.HostKind == HostIPv4 {
			t.Fatalf("host kind IPv4 but ParseIP refused %q", u.Host.In(b))
		}
	})
}

func FuzzVia(f *testing.F) {
	for _, s := range []string{"SIP/2.0/UDP h;branch=z9hG4bK1", "SIP/2.0/TCP [::1]:5060;rport;received=1.2.3.4;branch=z9hG4bKx",
		"SIP / 2.0 / UDP h : 5 ; ttl=1 ; maddr=224.0.0.1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > MaxLineLength {
			return
		}
		var v Via
		s := Span{0, int32(len(b))}
		if ParseVia(b, s, &v) != nil {
			return
		}
		for _, sp := range []Span{v.Protocol, v.Transport, v.Host, v.SentBy, v.Params, v.Branch, v.Received, v.RPort, v.Maddr, v.TTL, v.ReceivedParam, v.RPortParam} {
			inBounds(t, "via", sp, len(b))
		}
		// Filling in received/rport gives a Via that parses and carries them.
		msg := append([]byte("OPTIONS sip:h SIP/2.0\r\nVia: "), b...)
		msg = append(msg, "\r\nl: 0\r\n\r\n"...)
		var m Message
		if Parse(msg, &m) != nil {
			return // the value contained a line break that ends the header
		}
		top, ok := m.FirstValue(KindVia)
		if !ok || ParseVia(msg, top, &v) != nil {
			return // a comma split the value: a different message
		}
		var e Editor
		e.SetReceived(&m, &v, []byte("192.0.2.9"), 4242)
		out, err := e.AppendTo(nil, &m)
		if err != nil {
			t.Fatal(err)
		}
		var m2 Message
		if err := Parse(out, &m2); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		top2, _ := m2.FirstValue(KindVia)
		var v2 Via
		if err := ParseVia(out, top2, &v2); err != nil {
			t.Fatalf("rewritten Via: %v: %q", err, top2.In(out))
		}
		if string(v2.Received.In(out)) != "192.0.2.9" || v2.RPortValue(out) != 4242 {
			t.Fatalf("received %q rport %q in %q", v2.Received.In(out), v2.RPort.In(out), top2.In(out))
		}
	})
}

func FuzzNameAddr(f *testing.F) {
	for _, s := range []string{`"A" <sip:a@h>;tag=1`, "sip:b@h;tag=2", "*", `<sip:h;lr>`, `Bob <sips:b@[::1]>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > MaxLineLength {
			return
		}
		var na NameAddr
		if ParseNameAddr(b, Span{0, int32(len(b))}, &na) != nil {
			return
		}
		for _, sp := range []Span{na.Display, na.URI, na.Params, na.Tag} {
			inBounds(t, "name-addr", sp, len(b))
		}
		if na.URI.Empty() {
			t.Fatal("accepted without a URI")
		}
		if na.Angle && (b[na.URI.Start-1] != '<' || b[na.URI.End] != '>') {
			t.Fatal("angle URI not between brackets")
		}
		if na.HasTag && (na.Tag.Start < na.Params.Start || na.Tag.End > na.Params.End) {
			t.Fatal("tag outside the parameters")
		}
	})
}

func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::1", "[2001:db8::1]", "::ffff:1.2.3.4"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := ParseIP(b)
		if !ok {
			return
		}
		s := string(b)
		if len(s) >= 2 && s[0] == '[' {
			s = s[1 : len(s)-1]
		}
		// Differential check against the standard library for accepted input.
		want, err := netipParse(s)
		if err != nil || want != got {
			t.Fatalf("ParseIP(%q) = %v; netip: %v %v", b, got, want, err)
		}
	})
}

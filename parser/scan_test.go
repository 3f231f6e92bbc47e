package parser

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	b := []byte(inviteHead + "Content-Length: 4\r\n\r\nv=0\n")
	m := mustParse(t, b)
	if !m.IsRequest() || m.Method() != MethodINVITE || string(m.MethodBytes()) != "INVITE" {
		t.Fatalf("start line: request=%v method=%v", m.IsRequest(), m.Method())
	}
	if got := string(m.Bytes(m.RequestURI())); got != "sip:bob@biloxi.example.com" {
		t.Errorf("Request-URI = %q", got)
	}
	if got := string(m.Bytes(m.Version())); got != "SIP/2.0" {
		t.Errorf("version = %q", got)
	}
	wantKinds := []Kind{KindVia, KindMaxForwards, KindTo, KindFrom, KindCallID, KindCSeq, KindContact, KindContentType, KindContentLength}
	if len(m.Headers()) != len(wantKinds) {
		t.Fatalf("%d headers, want %d", len(m.Headers()), len(wantKinds))
	}
	for i, h := range m.Headers() {
		if h.Kind != wantKinds[i] {
			t.Errorf("header %d kind %v, want %v", i, h.Kind, wantKinds[i])
		}
	}
	if got := string(m.CallID()); got != "a84b4c76e66710@pc33.atlanta.example.com" {
		t.Errorf("Call-ID = %q", got)
	}
	if string(m.Body()) != "v=0\n" || m.ContentLength() != 4 {
		t.Errorf("body %q, Content-Length %d", m.Body(), m.ContentLength())
	}
	if m.Len() != len(b) {
		t.Errorf("Len %d, want %d", m.Len(), len(b))
	}
	if err := m.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseResponse(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		code       int
		reason     string
		err        error
	}{
		{"ok", "SIP/2.0 200 OK", 200, "OK", nil},
		{"long reason", "SIP/2.0 486 Busy Here Right Now", 486, "Busy Here Right Now", nil},
		{"empty reason", "SIP/2.0 180 ", 180, "", nil},
		{"no reason", "SIP/2.0 180", 180, "", nil},
		{"lower case version", "sip/2.0 100 Trying", 100, "Trying", nil},
		{"two digits", "SIP/2.0 20 OK", 0, "", ErrStatusCode},
		{"four digits", "SIP/2.0 2000 OK", 0, "", ErrStatusCode},
		{"leading zero", "SIP/2.0 099 Odd", 0, "", ErrStatusCode},
		{"bad version", "SIP/2 200 OK", 0, "", ErrVersion},
		{"utf8 reason", "SIP/2.0 200 Très bien", 200, "Très bien", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := sip("", tc.line, "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "Content-Length: 0")
			var m Message
			err := Parse(b, &m)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if m.IsRequest() {
				t.Fatal("parsed as a request")
			}
			if err != nil {
				return
			}
			if m.StatusCode() != tc.code || string(m.Bytes(m.Reason())) != tc.reason {
				t.Errorf("got %d %q", m.StatusCode(), m.Bytes(m.Reason()))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", MaxLineLength+1)
	many := make([]string, 0, MaxHeaders+2)
	many = append(many, "OPTIONS sip:h SIP/2.0")
	for i := 0; i <= MaxHeaders; i++ {
		many = append(many, "X-H: 1")
	}
	for _, tc := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, ErrEmpty},
		{"keep-alive", []byte("\r\n\r\n"), ErrKeepAlive},
		{"pong", []byte("\r\n"), ErrKeepAlive},
		{"no empty line", []byte("OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"), ErrNoHeaderEnd},
		{"no line end", []byte("OPTIONS sip:h SIP/2.0"), ErrNoHeaderEnd},
		{"double space", sip("", "OPTIONS  sip:h SIP/2.0"), ErrRequestURI},
		{"space in uri", sip("", "OPTIONS sip:h x SIP/2.0"), ErrVersion},
		{"trailing space", sip("", "OPTIONS sip:h SIP/2.0 "), ErrVersion},
		{"no scheme", sip("", "OPTIONS h SIP/2.0"), ErrRequestURI},
		{"bad method", sip("", "OPT@ONS sip:h SIP/2.0"), ErrMethod},
		{"version", sip("", "OPTIONS sip:h SIP/2.0a"), ErrVersion},
		{"header name", sip("", "OPTIONS sip:h SIP/2.0", "Bad Header: x"), ErrHeaderName},
		{"no colon", sip("", "OPTIONS sip:h SIP/2.0", "Via"), ErrHeaderName},
		{"fold first", sip("", "OPTIONS sip:h SIP/2.0", " folded"), ErrFoldedStart},
		{"line too long", sip("", "OPTIONS sip:h SIP/2.0", "X: "+long), ErrLineTooLong},
		{"too many headers", sip("", many...), ErrTooManyHeaders},
		{"negative length", sip("", "OPTIONS sip:h SIP/2.0", "Content-Length: -1"), ErrContentLength},
		{"overflowing length", sip("", "OPTIONS sip:h SIP/2.0", "l: 99999999999999999999999"), ErrContentLength},
		{"length not a number", sip("", "OPTIONS sip:h SIP/2.0", "l: 12a"), ErrContentLength},
		{"conflicting lengths", sip("abc", "OPTIONS sip:h SIP/2.0", "l: 3", "Content-Length: 2"), ErrContentLengthTwice},
		{"short body", sip("abc", "OPTIONS sip:h SIP/2.0", "Content-Length: 4"), ErrBodyTooShort},
		{"too large", make([]byte, MaxMessageSize+1), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := Parse(tc.in, &m)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if off := m.ErrorOffset(); off < 0 || off > len(tc.in) {
				t.Errorf("error offset %d outside the input", off)
			}
			_ = m.Buf() // must not panic after an error
		})
	}
}

func TestParseFraming(t *testing.T) {
	t.Run("bytes after Content-Length are ignored", func(t *testing.T) {
		b := sip("abcXYZ", "MESSAGE sip:h SIP/2.0", "Content-Length: 3")
		m := mustParse(t, b)
		if string(m.Body()) != "abc" || m.Len() != len(b)-3 {
			t.Errorf("body %q len %d", m.Body(), m.Len())
		}
	})
	t.Run("no Content-Length means the rest of the datagram", func(t *testing.T) {
		m := mustParse(t, sip("abcXYZ", "MESSAGE sip:h SIP/2.0"))
		if string(m.Body()) != "abcXYZ" || m.ContentLength() != -1 {
			t.Errorf("body %q, length %d", m.Body(), m.ContentLength())
		}
	})
	t.Run("equal duplicate Content-Length", func(t *testing.T) {
		m := mustParse(t, sip("abc", "MESSAGE sip:h SIP/2.0", "l: 3", "Content-Length: 3"))
		if string(m.Body()) != "abc" {
			t.Errorf("body %q", m.Body())
		}
	})
	t.Run("folded Content-Length", func(t *testing.T) {
		m := mustParse(t, sip("abc", "MESSAGE sip:h SIP/2.0", "Content-Length:", "   3"))
		if string(m.Body()) != "abc" {
			t.Errorf("body %q", m.Body())
		}
	})
	t.Run("leading CRLFs are skipped", func(t *testing.T) {
		b := append([]byte("\r\n\r\n"), sip("", "OPTIONS sip:h SIP/2.0", "l: 0")...)
		m := mustParse(t, b)
		if m.Start() != 4 || !strings.HasPrefix(string(m.Buf()), "OPTIONS ") {
			t.Errorf("start %d, buf %q", m.Start(), m.Buf())
		}
	})
	t.Run("bare LF line ends", func(t *testing.T) {
		m := mustParse(t, []byte("OPTIONS sip:h SIP/2.0\nVia: SIP/2.0/UDP h\nl: 2\n\nab"))
		if string(m.Value(KindVia)) != "SIP/2.0/UDP h" || string(m.Body()) != "ab" {
			t.Errorf("via %q body %q", m.Value(KindVia), m.Body())
		}
	})
}

func TestParseHeaders(t *testing.T) {
	b := sip("",
		"INVITE sip:h SIP/2.0",
		"v: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2",
		"VIA  :  SIP/2.0/UDP c;branch=z9hG4bK3  ",
		"i:abc@h",
		"cSeQ: 1 INVITE",
		"Subject: first part",
		"\t second part",
		"m: \"Doe, John\" <sip:j@h>, <sip:k@h>;q=0.5",
		"X-Custom: whatever",
		"Route: <sip:r1;lr>,<sip:r2;lr>",
		"Route: <sip:r3;lr>",
		"Empty:",
	)
	m := mustParse(t, b)
	var vias []string
	for it := m.Values(KindVia); it.Next(); {
		vias = append(vias, string(m.Bytes(it.Value())))
	}
	want := []string{"SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b;branch=z9hG4bK2", "SIP/2.0/UDP c;branch=z9hG4bK3"}
	if strings.Join(vias, "|") != strings.Join(want, "|") {
		t.Errorf("vias %q", vias)
	}
	if m.Count(KindVia) != 2 || m.Count(KindRoute) != 2 {
		t.Errorf("counts via %d route %d", m.Count(KindVia), m.Count(KindRoute))
	}
	if got := string(m.CallID()); got != "abc@h" {
		t.Errorf("Call-ID %q", got)
	}
	if got := string(m.Value(KindSubject)); got != "first part\r\n\t second part" {
		t.Errorf("folded Subject %q", got)
	}
	var contacts []string
	for it := m.Values(KindContact); it.Next(); {
		contacts = append(contacts, string(m.Bytes(it.Value())))
	}
	if len(contacts) != 2 || contacts[0] != "\"Doe, John\" <sip:j@h>" {
		t.Errorf("contacts %q", contacts)
	}
	var routes []string
	for it := m.Values(KindRoute); it.Next(); {
		routes = append(routes, string(m.Bytes(it.Value())))
	}
	if strings.Join(routes, " ") != "<sip:r1;lr> <sip:r2;lr> <sip:r3;lr>" {
		t.Errorf("routes %q", routes)
	}
	if h, ok := m.LookupHeader("x-custom"); !ok || string(m.Bytes(h.Value)) != "whatever" {
		t.Errorf("X-Custom lookup: %v %q", ok, m.Bytes(h.Value))
	}
	if h, ok := m.LookupHeader("empty"); !ok || !h.Value.Empty() {
		t.Errorf("Empty header: %v %v", ok, h.Value)
	}
	n := 0
	for i := m.First(KindVia); i >= 0; i = m.Next(i) {
		n++
	}
	if n != 2 {
		t.Errorf("First/Next walked %d Via lines", n)
	}
}

func TestParseKeepsIndexAfterStartLineError(t *testing.T) {
	b := sip("", "INVITE sip:h SIP/2.0 extra", "Via: SIP/2.0/UDP h;branch=z9hG4bKx", "Call-ID: c", "Content-Length: 0")
	var m Message
	if err := Parse(b, &m); !errors.Is(err, ErrVersion) {
		t.Fatalf("err = %v", err)
	}
	if string(m.CallID()) != "c" || m.First(KindVia) < 0 {
		t.Error("headers not indexed after a start-line error")
	}
}

func TestLookupKind(t *testing.T) {
	for name, want := range map[string]Kind{
		"Via": KindVia, "v": KindVia, "V": KindVia, "call-id": KindCallID, "I": KindCallID,
		"Record-Route": KindRecordRoute, "record-route": KindRecordRoute, "RECORD-ROUTE": KindRecordRoute,
		"Max-Forwards": KindMaxForwards, "l": KindContentLength, "m": KindContact, "c": KindContentType,
		"k": KindSupported, "s": KindSubject, "e": KindContentEncoding, "o": KindEvent, "u": KindAllowEvents,
		"r": KindReferTo, "b": KindReferredBy, "x": KindSessionExpires, "y": KindIdentity,
		"Proxy-Require": KindProxyRequire, "Path": KindPath, "X-Via": KindOther, "": KindOther,
		"z": KindOther, "Vía": KindOther, "Viaa": KindOther,
	} {
		if got := LookupKind([]byte(name)); got != want {
			t.Errorf("LookupKind(%q) = %v, want %v", name, got, want)
		}
	}
	for k := Kind(1); k < kindCount; k++ {
		if got := LookupKind([]byte(k.Name())); got != k {
			t.Errorf("LookupKind(%q) = %v", k.Name(), got)
		}
	}
}

func TestLookupMethod(t *testing.T) {
	for _, m := range []Method{MethodINVITE, MethodACK, MethodBYE, MethodCANCEL, MethodREGISTER, MethodOPTIONS,
		MethodPRACK, MethodSUBSCRIBE, MethodNOTIFY, MethodPUBLISH, MethodINFO, MethodREFER, MethodMESSAGE, MethodUPDATE} {
		name := strings.TrimPrefix(m.String(), "Method")
		if got := LookupMethod([]byte(name)); got != m {
			t.Errorf("LookupMethod(%q) = %v", name, got)
		}
		if got := LookupMethod([]byte(strings.ToLower(name))); got != MethodOther {
			t.Errorf("methods are case-sensitive: %q gave %v", strings.ToLower(name), got)
		}
	}
}

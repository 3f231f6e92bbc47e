package parser

import "strings"

// sip joins lines with CRLF and ends the header section with an empty line;
// the body (if any) follows the empty line as given.
func sip(body string, lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n" + body)
}

func mustParse(t interface {
	Helper()
	Fatalf(string, ...any)
}, b []byte) *Message {
	t.Helper()
	m := new(Message)
	if err := Parse(b, m); err != nil {
		t.Fatalf("Parse: %v at %d", err, m.ErrorOffset())
	}
	return m
}

const inviteHead = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n" +
	"Max-Forwards: 70\r\n" +
	"To: Bob <sip:bob@biloxi.example.com>\r\n" +
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n" +
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n" +
	"CSeq: 314159 INVITE\r\n" +
	"Contact: <sip:alice@pc33.atlanta.example.com>\r\n" +
	"Content-Type: application/sdp\r\n"

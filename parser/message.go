package parser

// Limits. Exceeding one is an error (never a panic or a silent truncation).
const (
	// MaxMessageSize bounds a whole message, headers and body. UDP datagrams
	// cannot exceed 64 KiB; stream transports may carry up to this size.
	MaxMessageSize = 1 << 17
	// MaxHeaders bounds the header field lines of one message (a folded line
	// counts once; a comma-joined line counts once).
	MaxHeaders = 128
	// MaxLineLength bounds one line of the start line or header section,
	// folded continuation lines included in the header they belong to.
	MaxLineLength = 16 << 10
)

// Span is a half-open range [Start, End) of offsets into the message buffer.
// Offsets are int32 to keep the header index small; Go indexes slices with
// them directly (b[s.Start:s.End]).
type Span struct{ Start, End int32 }

// Len returns the number of bytes in s.
func (s Span) Len() int { return int(s.End - s.Start) }

// Empty reports whether s covers no byte.
func (s Span) Empty() bool { return s.End <= s.Start }

// In returns the bytes of b that s covers. The result aliases b.
func (s Span) In(b []byte) []byte { return b[s.Start:s.End:s.End] }

// Header is one header field line of a message.
type Header struct {
	Kind Kind
	next int16 // index of the next header of the same kind, -1 if none
	// Name is the field name as written (any case, possibly compact).
	Name Span
	// Value is the field value with surrounding white space trimmed. A folded
	// value keeps its CRLF and leading blanks inside the span; the on-demand
	// parsers treat them as LWS.
	Value Span
	// End is the offset just past the line terminator of the field's last
	// line: [Name.Start, End) is the whole field, folding included.
	End int32
}

// Message is a view over the bytes of one SIP message: every field is a span
// of the buffer given to Parse, nothing is copied. A Message is valid only
// while that buffer is unchanged; reuse it for the next message by calling
// Parse again, which allocates nothing once the Message exists.
type Message struct {
	buf []byte

	request bool
	method  Method

	// Start line: request (Method, RequestURI, Version) or response
	// (Version, Status, Reason).
	methodSpan Span
	ruri       Span
	version    Span
	status     int
	reason     Span

	hdr   [MaxHeaders]Header
	nhdr  int
	first [kindCount]int16 // index of the first header of each kind, -1 if none

	start     int32 // offset of the start line (leading CRLFs are skipped, RFC 3261 §7.5)
	headStart int32 // offset of the first header line
	headEnd   int32 // offset of the empty line that ends the header section
	body      Span
	end       int32 // end of the framed message; bytes after it are ignored

	contentLength int64 // -1 when absent
	errOff        int32
}

// Buf returns the bytes of the framed message (start line to the end of the
// body as Content-Length frames it). It aliases the buffer given to Parse.
func (m *Message) Buf() []byte { return m.buf[m.start:m.end:m.end] }

// Start returns the offset of the start line in the buffer given to Parse
// (non-zero when CRLFs preceded it).
func (m *Message) Start() int32 { return m.start }

// End returns the offset just past the framed message.
func (m *Message) End() int32 { return m.end }

// Raw returns the whole buffer given to Parse, including any bytes after the
// framed end. Spans index into it.
func (m *Message) Raw() []byte { return m.buf }

// Len returns the length of the framed message.
func (m *Message) Len() int { return int(m.end - m.start) }

// Bytes returns the bytes a span of this message covers; valid while the
// buffer given to Parse is.
func (m *Message) Bytes(s Span) []byte { return m.buf[s.Start:s.End:s.End] }

// IsRequest reports whether the start line is a request line.
func (m *Message) IsRequest() bool { return m.request }

// Method returns the request method (MethodOther for extension methods and
// for responses; see MethodBytes).
func (m *Message) Method() Method { return m.method }

// MethodBytes returns the method token of a request.
func (m *Message) MethodBytes() []byte { return m.Bytes(m.methodSpan) }

// RequestURI returns the span of the Request-URI of a request.
func (m *Message) RequestURI() Span { return m.ruri }

// Version returns the SIP-Version token of the start line ("SIP/2.0").
func (m *Message) Version() Span { return m.version }

// StatusCode returns the status code of a response (0 for requests).
func (m *Message) StatusCode() int { return m.status }

// Reason returns the reason phrase of a response.
func (m *Message) Reason() Span { return m.reason }

// Headers returns every header field in message order. The slice aliases the
// Message and is valid until the next Parse.
func (m *Message) Headers() []Header { return m.hdr[:m.nhdr] }

// HeaderStart returns the offset of the first header line (just past the
// start line): where a header inserted "first" goes.
func (m *Message) HeaderStart() int32 { return m.headStart }

// HeaderEnd returns the offset of the empty line that ends the header section:
// where a header inserted "last" goes.
func (m *Message) HeaderEnd() int32 { return m.headEnd }

// Body returns the message body as framed by Content-Length.
func (m *Message) Body() []byte { return m.Bytes(m.body) }

// BodySpan returns the span of the body.
func (m *Message) BodySpan() Span { return m.body }

// ContentLength returns the Content-Length value, or -1 when the header is
// absent (on UDP the body is then the rest of the datagram).
func (m *Message) ContentLength() int64 { return m.contentLength }

// ErrorOffset returns the offset at which the last Parse failed (0 after a
// successful one).
func (m *Message) ErrorOffset() int { return int(m.errOff) }

// First returns the index in Headers of the first header of kind k, or -1.
func (m *Message) First(k Kind) int { return int(m.first[k]) }

// Next returns the index of the next header of the same kind as header i, or
// -1. Iterate all headers of a kind with
//
//	for i := m.First(k); i >= 0; i = m.Next(i) { h := m.Headers()[i] ... }
func (m *Message) Next(i int) int { return int(m.hdr[i].next) }

// Header returns the first header of kind k.
func (m *Message) Header(k Kind) (Header, bool) {
	i := m.first[k]
	if i < 0 {
		return Header{}, false
	}
	return m.hdr[i], true
}

// Value returns the value of the first header of kind k, or nil.
func (m *Message) Value(k Kind) []byte {
	i := m.first[k]
	if i < 0 {
		return nil
	}
	return m.Bytes(m.hdr[i].Value)
}

// Count returns how many header lines of kind k the message has.
func (m *Message) Count(k Kind) int {
	n := 0
	for i := m.first[k]; i >= 0; i = m.hdr[i].next {
		n++
	}
	return n
}

// CallID returns the Call-ID value (nil if absent).
func (m *Message) CallID() []byte { return m.Value(KindCallID) }

// LookupHeader returns the first header whose name equals name (any case;
// compact forms of known kinds match too), for headers without a Kind.
func (m *Message) LookupHeader(name string) (Header, bool) {
	k := LookupKind([]byte(name))
	if k != KindOther {
		return m.Header(k)
	}
	for i := 0; i < m.nhdr; i++ {
		h := &m.hdr[i]
		if h.Kind == KindOther && equalFold(m.Bytes(h.Name), name) {
			return *h, true
		}
	}
	return Header{}, false
}

package parser

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Parse indexes the SIP message in b into m: the start line, every header
// field (name, kind, trimmed value, line extent) and the body as framed by
// Content-Length. It copies nothing and, once m has been used, allocates
// nothing. m is valid while b is unchanged.
//
// Framing is that of a datagram (RFC 3261 §18.3): the body is Content-Length
// octets long and octets after it are ignored; a body shorter than
// Content-Length is an error; without Content-Length the body is the rest of
// b. Leading CRLFs are skipped; b made only of CRLFs returns ErrKeepAlive.
//
// On error Parse still indexes what it can: a bad start line or a bad header
// line does not stop the header index, so a caller can answer 400 with the
// Via, From, To, Call-ID and CSeq of the request. Errors that break framing
// (no end of headers, limits exceeded, short body) stop it. Only the first
// error is returned; ErrorOffset says where it happened.
func Parse(b []byte, m *Message) error {
	m.reset(b)
	if len(b) == 0 {
		return ErrEmpty
	}
	if len(b) > MaxMessageSize {
		return m.fail(0, ErrTooLarge)
	}
	n := int32(len(b))
	pos := int32(0)
	for pos < n && (b[pos] == '\r' || b[pos] == '\n') {
		pos++
	}
	if pos == n {
		return ErrKeepAlive
	}
	m.start = pos

	var firstErr error
	// Start line.
	le, ce, ok := m.line(pos)
	if !ok {
		return m.fail(pos, ErrNoHeaderEnd)
	}
	if ce-pos > MaxLineLength {
		return m.fail(pos, ErrLineTooLong)
	}
	if err := m.parseStartLine(pos, ce); err != nil {
		firstErr = err
	}
	pos = le + 1
	m.headStart = pos

	// Header section: one field per line, continuation lines (starting with
	// SP or HTAB) extend the previous field (RFC 3261 §7.3.1). This loop runs
	// once per header line, so it is written out inline and works on the
	// line as a slice (offsets within it are checked once, by its length).
	var last [kindCount]int16
	for {
		i := -1
		if int(pos) < len(b) {
			i = bytes.IndexByte(b[pos:], '\n')
		}
		if i < 0 {
			// No empty line. A message that ends right after its last header
			// line, or in the middle of one, is not framed.
			if firstErr == nil {
				firstErr = m.fail(pos, ErrNoHeaderEnd)
			}
			return firstErr
		}
		le := pos + int32(i)
		line := b[pos:le] // without its LF; without CR LF after this
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		ce := pos + int32(len(line))
		if len(line) == 0 { // the empty line
			m.headEnd = pos
			pos = le + 1
			break
		}
		if isWS(line[0]) {
			if m.nhdr == 0 {
				if firstErr == nil {
					firstErr = m.fail(pos, ErrFoldedStart)
				}
				pos = le + 1
				continue
			}
			h := &m.hdr[m.nhdr-1]
			if le+1-h.Name.Start > MaxLineLength {
				return m.fail(pos, ErrLineTooLong)
			}
			if end := trimLWS(b, Span{pos, ce}); !end.Empty() {
				if h.Value.Empty() {
					h.Value.Start = end.Start
				}
				h.Value.End = end.End
			}
			h.End = le + 1
			pos = le + 1
			continue
		}
		if len(line) > MaxLineLength {
			return m.fail(pos, ErrLineTooLong)
		}
		if m.nhdr == MaxHeaders {
			return m.fail(pos, ErrTooManyHeaders)
		}
		// The field name ends at the first colon (blanks may precede it).
		// The colon is looked for a word at a time: most names fit in the
		// first word or two. In x ^ ':'…, (x - 0x01…) & ^x & 0x80… flags
		// the zero bytes, and its lowest flag is exact.
		colon := -1
		for i := 0; ; i += 8 {
			if i+8 > len(line) {
				for ; i < len(line); i++ {
					if line[i] == ':' {
						colon = i
						break
					}
				}
				break
			}
			x := binary.LittleEndian.Uint64(line[i:]) ^ 0x3a3a3a3a3a3a3a3a
			if f := (x - 0x0101010101010101) &^ x & 0x8080808080808080; f != 0 {
				colon = i + bits.TrailingZeros64(f)>>3
				break
			}
		}
		ne := max(colon, 0)
		for ne > 0 && isWS(line[ne-1]) {
			ne--
		}
		// A known name is found by a compare that proves every byte; only
		// an unknown one is checked byte by byte for token characters.
		k := nameKind(line, ne)
		if k == KindOther {
			for _, c := range line[:ne] {
				if charClass[c]&cToken == 0 {
					ne = 0
					break
				}
			}
		}
		h := &m.hdr[m.nhdr]
		m.nhdr++
		h.next = -1
		h.End = le + 1
		if ne == 0 {
			// Not a header field. Index it as KindOther so it is still
			// copied through byte for byte, and report it.
			h.Kind = KindOther
			h.Name = Span{pos, pos}
			h.Value = Span{pos, ce}
			err := m.fail(pos, ErrHeaderName)
			if firstErr == nil {
				firstErr = err
			}
			pos = le + 1
			continue
		}
		h.Kind = k
		h.Name = Span{pos, pos + int32(ne)}
		// The value, without the LWS around it (an empty value sits at the
		// end of the line).
		vs, ve := colon+1, len(line)
		for vs < ve && isLWS(line[vs]) {
			vs++
		}
		for ve > vs && isLWS(line[ve-1]) {
			ve--
		}
		if vs == ve {
			vs = len(line)
			ve = vs
		}
		h.Value = Span{pos + int32(vs), pos + int32(ve)}
		if k != KindOther {
			idx := int16(m.nhdr - 1)
			if m.first[k] < 0 {
				m.first[k] = idx
			} else {
				m.hdr[last[k]].next = idx
			}
			last[k] = idx
		}
		pos = le + 1
	}

	// Content-Length decides framing: digits only, bounded, and repeated only
	// with the same value. Checked after the loop so a folded value counts.
	for i := m.first[KindContentLength]; i >= 0; i = m.hdr[i].next {
		val := m.hdr[i].Value
		v, ok := parseUint(b, val, MaxMessageSize)
		if !ok {
			return m.fail(val.Start, ErrContentLength)
		}
		if m.contentLength >= 0 && m.contentLength != int64(v) {
			return m.fail(m.hdr[i].Name.Start, ErrContentLengthTwice)
		}
		m.contentLength = int64(v)
	}

	// Body.
	m.body = Span{pos, n}
	m.end = n
	if m.contentLength >= 0 {
		if int64(n-pos) < m.contentLength {
			if firstErr == nil {
				firstErr = m.fail(pos, ErrBodyTooShort)
			}
			return firstErr
		}
		m.end = pos + int32(m.contentLength)
		m.body.End = m.end
	}
	return firstErr
}

// noFirst is the empty first-header table, copied in by reset (one block
// copy instead of a loop).
var noFirst = func() (t [kindCount]int16) {
	for i := range t {
		t[i] = -1
	}
	return t
}()

func (m *Message) reset(b []byte) {
	m.buf = b
	m.request = false
	m.method = MethodOther
	m.methodSpan, m.ruri, m.version, m.reason = Span{}, Span{}, Span{}, Span{}
	m.status = 0
	m.nhdr = 0
	m.first = noFirst
	m.start, m.headStart, m.headEnd, m.end = 0, 0, 0, 0
	if len(b) <= MaxMessageSize {
		// Until framing is known the message is the whole buffer, so a
		// caller answering a broken message can still read its headers.
		m.end = int32(len(b))
	}
	m.body = Span{}
	m.contentLength = -1
	m.errOff = 0
}

func (m *Message) fail(off int32, err error) error {
	m.errOff = off
	return err
}

// line finds the line starting at pos: le is the offset of its LF, ce the end
// of its content (before CR LF or a bare LF).
func (m *Message) line(pos int32) (le, ce int32, ok bool) {
	if int(pos) >= len(m.buf) {
		return 0, 0, false
	}
	i := bytes.IndexByte(m.buf[pos:], '\n')
	if i < 0 {
		return 0, 0, false
	}
	le = pos + int32(i)
	ce = le
	if ce > pos && m.buf[ce-1] == '\r' {
		ce--
	}
	return le, ce, true
}

// parseStartLine reads b[pos:ce] as a Request-Line (Method SP Request-URI SP
// SIP-Version) or a Status-Line (SIP-Version SP Status-Code SP Reason-Phrase).
// Elements are separated by exactly one SP (RFC 3261 §7.1, RFC 4475 §3.1.2.11).
func (m *Message) parseStartLine(pos, ce int32) error {
	b := m.buf
	if ce-pos >= 4 && hasPrefixFold(b[pos:ce], "SIP/") {
		m.request = false
		sp := pos
		for sp < ce && b[sp] != ' ' {
			sp++
		}
		m.version = Span{pos, sp}
		if !validVersion(b[pos:sp]) {
			return m.fail(pos, ErrVersion)
		}
		if sp+4 > ce || b[sp] != ' ' || !isDigit(b[sp+1]) || !isDigit(b[sp+2]) || !isDigit(b[sp+3]) ||
			b[sp+1] == '0' {
			return m.fail(sp, ErrStatusCode)
		}
		m.status = int(b[sp+1]-'0')*100 + int(b[sp+2]-'0')*10 + int(b[sp+3]-'0')
		r := sp + 4
		if r < ce {
			if b[r] != ' ' {
				m.status = 0
				return m.fail(r, ErrStatusCode)
			}
			r++
		}
		m.reason = Span{r, ce}
		return nil
	}

	m.request = true
	i := pos
	for i < ce && isToken(b[i]) {
		i++
	}
	if i == pos || i == ce || b[i] != ' ' {
		return m.fail(i, ErrMethod)
	}
	m.methodSpan = Span{pos, i}
	m.method = LookupMethod(b[pos:i])
	i++
	u := i
	i += int32(wordEnd(b[i:ce]))
	m.ruri = Span{u, i}
	if i == u || i == ce || b[i] != ' ' || !validScheme(b[u:i]) {
		return m.fail(u, ErrRequestURI)
	}
	i++
	m.version = Span{i, ce}
	if !validVersion(b[i:ce]) {
		return m.fail(i, ErrVersion)
	}
	return nil
}

// validVersion checks "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitively. Which
// version is acceptable (505) is the proxy's decision, not the parser's.
func validVersion(v []byte) bool {
	if string(v) == "SIP/2.0" {
		return true // as nearly every message writes it
	}
	if len(v) < 7 || !hasPrefixFold(v, "SIP/") {
		return false
	}
	v = v[4:]
	dot := bytes.IndexByte(v, '.')
	if dot <= 0 || dot == len(v)-1 {
		return false
	}
	for i, c := range v {
		if i != dot && !isDigit(c) {
			return false
		}
	}
	return true
}

// validScheme checks that a URI starts with scheme ":" where scheme =
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) and something follows.
func validScheme(u []byte) bool {
	if sc, _ := sipScheme(u); sc != SchemeOther {
		return true
	}
	colon := bytes.IndexByte(u, ':')
	if colon <= 0 || colon == len(u)-1 {
		return false
	}
	if c := lower(u[0]); c < 'a' || c > 'z' {
		return false
	}
	for _, c := range u[1:colon] {
		if !(isDigit(c) || (lower(c) >= 'a' && lower(c) <= 'z') || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// sipScheme recognises the two schemes nearly every URI on the data path has,
// "sip:" and "sips:" (scheme letters in any case) followed by at least one
// byte, with one word compare, and returns the scheme and the offset of its
// colon. Anything else, and URIs under eight bytes, give SchemeOther: the
// caller then takes the general path, which accepts these too.
func sipScheme(u []byte) (Scheme, int) {
	if len(u) < 8 {
		return SchemeOther, 0
	}
	// Only the letters are folded (OR 0x20); the colon must be a colon.
	x := binary.LittleEndian.Uint64(u)
	switch {
	case x&0xffffffff|0x202020 == 's'|'i'<<8|'p'<<16|':'<<24:
		return SchemeSIP, 3
	case x&0xffffffffff|0x20202020 == 's'|'i'<<8|'p'<<16|'s'<<24|':'<<32:
		return SchemeSIPS, 4
	}
	return SchemeOther, 0
}

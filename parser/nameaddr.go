package parser

import (
	"bytes"
	"encoding/binary"
)

// NameAddr is a parsed name-addr or addr-spec with header parameters, the
// value form of From, To, Contact, Route, Record-Route, Path, Refer-To
// (RFC 3261 §20). Spans index the buffer given to ParseNameAddr.
type NameAddr struct {
	Display Span // display name as written (quotes included), empty if none
	URI     Span // the URI, without angle brackets
	Angle   bool // the URI was enclosed in "<" ">"
	Params  Span // header parameters after the URI, without the leading ";"
	Tag     Span // value of the tag parameter
	HasTag  bool
	Star    bool // the value is "*" (Contact: * in a REGISTER)
}

// ParseNameAddr parses b[s] as ( name-addr / addr-spec ) *( SEMI param ). In
// the addr-spec form the URI ends at the first ";" (RFC 3261 §20.10: a URI
// with parameters must be in angle brackets, so those are header parameters).
// It never allocates.
func ParseNameAddr(b []byte, s Span, na *NameAddr) error {
	*na = NameAddr{}
	s = trimLWS(b, s)
	if s.Empty() {
		return ErrNameAddr
	}
	if s.Len() == 1 && b[s.Start] == '*' {
		na.Star = true
		na.URI = s
		return nil
	}
	i, end := s.Start, s.End
	// Find "<" outside a quoted display name.
	lt := int32(-1)
	q := int32(-1) // the closing quote when the value starts with a quoted display name
	for k := i; k < end; k++ {
		c := b[k]
		if c == '"' {
			start := k
			k++
			for k < end && b[k] != '"' {
				if b[k] == '\\' {
					k++
				}
				k++
			}
			if k >= end {
				return ErrQuoted
			}
			if start == i {
				q = k
			}
			continue
		}
		if c == '<' {
			lt = k
			break
		}
		if c == ';' || c == '>' {
			break
		}
	}
	var after int32
	if lt >= 0 {
		na.Angle = true
		na.Display = trimLWS(b, Span{i, lt})
		if q >= 0 {
			// The quoted string was scanned above: the display name is
			// valid when nothing but LWS follows it (what validDisplay
			// would find scanning it again).
			if na.Display.End != q+1 {
				return ErrNameAddr
			}
		} else if !validDisplay(b, na.Display) {
			return ErrNameAddr
		}
		gt := bytes.IndexByte(b[lt+1:end], '>')
		if gt < 0 {
			return ErrNameAddr
		}
		na.URI = Span{lt + 1, lt + 1 + int32(gt)}
		after = na.URI.End + 1
	} else {
		k := i
		for k < end && b[k] != ';' && !isLWS(b[k]) {
			// A URI with a comma, question mark or semicolon must be in
			// angle brackets (RFC 3261 §20.10): in an addr-spec they are not
			// part of it, and "?" or "," there is an error.
			if b[k] == '?' || b[k] == ',' {
				return ErrNameAddr
			}
			k++
		}
		na.URI = Span{i, k}
		after = k
	}
	if na.URI.Empty() || !validScheme(na.URI.In(b)) {
		return ErrNameAddr
	}
	if hasCtlOrSpace(na.URI.In(b)) {
		return ErrNameAddr
	}
	j := skipLWS(b, after, end)
	if j == end {
		return nil
	}
	if b[j] != ';' {
		return ErrNameAddr
	}
	na.Params = Span{j + 1, end}
	if skipLWS(b, j+1, end) == end {
		return ErrNameAddr // trailing ";"
	}
	it := Params(b, na.Params)
	for it.Next() {
		if equalFold(it.Name().In(b), "tag") {
			na.Tag, na.HasTag = it.Value(), true
			if na.Tag.Empty() {
				return ErrNameAddr
			}
		}
	}
	if it.Err() != nil {
		return ErrNameAddr
	}
	return nil
}

// validDisplay accepts an empty display name, a quoted string, or a sequence
// of tokens separated by LWS.
func validDisplay(b []byte, s Span) bool {
	if s.Empty() {
		return true
	}
	if b[s.Start] == '"' {
		k := s.Start + 1
		for k < s.End && b[k] != '"' {
			if b[k] == '\\' {
				k++
			}
			k++
		}
		return k == s.End-1
	}
	for k := s.Start; k < s.End; k++ {
		if !isToken(b[k]) && !isLWS(b[k]) {
			return false
		}
	}
	return true
}

// ParseCSeq parses a CSeq value: 1*DIGIT LWS Method. The number must be below
// 2**31 (RFC 3261 §8.1.1.5).
func ParseCSeq(b []byte, s Span) (seq uint32, method Span, err error) {
	s = trimLWS(b, s)
	i := s.Start
	var n uint64 // the digits are read as they are found (parseUint would read them again)
	for i < s.End && isDigit(b[i]) {
		n = n*10 + uint64(b[i]-'0')
		if n > 1<<31-1 {
			return 0, Span{}, ErrCSeq
		}
		i++
	}
	if i == s.Start {
		return 0, Span{}, ErrCSeq
	}
	j := skipLWS(b, i, s.End)
	if j == i || j == s.End {
		return 0, Span{}, ErrCSeq
	}
	ms := j
	for j < s.End && isToken(b[j]) {
		j++
	}
	if j != s.End {
		return 0, Span{}, ErrCSeq
	}
	return uint32(n), Span{ms, j}, nil
}

// CSeq parses the message's CSeq header.
func (m *Message) CSeq() (seq uint32, method Span, err error) {
	h, ok := m.Header(KindCSeq)
	if !ok {
		return 0, Span{}, ErrMissingCSeq
	}
	return ParseCSeq(m.buf, h.Value)
}

// MaxForwards returns the Max-Forwards value; present is false when the
// header is absent. Values above 255 are accepted as written (a proxy only
// decrements them).
func (m *Message) MaxForwards() (n int, present bool, err error) {
	h, ok := m.Header(KindMaxForwards)
	if !ok {
		return 0, false, nil
	}
	v, ok := parseUint(m.buf, h.Value, 1<<31-1)
	if !ok {
		return 0, true, ErrMaxForwards
	}
	return int(v), true, nil
}

// Expires returns the Expires header value in seconds; present is false when
// the header is absent. Values above 2**32-1 are clamped to it (RFC 3261
// §20.19 allows them and says so).
func (m *Message) Expires() (secs uint32, present bool, err error) {
	h, ok := m.Header(KindExpires)
	if !ok {
		return 0, false, nil
	}
	s := trimLWS(m.buf, h.Value)
	if s.Empty() {
		return 0, true, ErrExpires
	}
	var v uint64
	for i := s.Start; i < s.End; i++ {
		c := m.buf[i]
		if !isDigit(c) {
			return 0, true, ErrExpires
		}
		if v < 1<<32 {
			v = v*10 + uint64(c-'0')
		}
	}
	if v > 1<<32-1 {
		v = 1<<32 - 1
	}
	return uint32(v), true, nil
}

// hasCtlOrSpace reports whether p holds a byte below 0x21 (space or a
// control character), eight bytes at a time: (x - 0x21…) & ^x & 0x80…
// flags exactly the bytes under 0x21 (bytes from 0x80 up have their top bit
// cleared by ^x).
func hasCtlOrSpace(p []byte) bool {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		x := binary.LittleEndian.Uint64(p[i : i+8])
		if (x-0x2121212121212121)&^x&0x8080808080808080 != 0 {
			return true
		}
	}
	for ; i < len(p); i++ {
		if p[i] <= ' ' {
			return true
		}
	}
	return false
}

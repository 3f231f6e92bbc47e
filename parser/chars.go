package parser

import (
	"encoding/binary"
	"math/bits"
)

// Byte classes of RFC 3261 §25.1, as 256-entry tables indexed by the byte:
// one load per byte on the scanning paths, no branches on ranges.
const (
	cToken      = 1 << iota // token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
	cHost                   // hostname and IPv4 characters: alphanum / "-" / "."
	cDigit                  // 0-9
	cWS                     // SP / HTAB
	cUnreserved             // alphanum / mark
	cUserExtra              // user-unreserved: "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
	cParamExtra             // param-unreserved: "[" / "]" / "/" / ":" / "&" / "+" / "$"
	cPassExtra              // password: "&" / "=" / "+" / "$" / ","
)

var charClass = func() (t [256]uint8) {
	set := func(chars string, c uint8) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= c
		}
	}
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	set(alnum+"-.!%*_+`'~", cToken)
	set(alnum+"-.", cHost)
	set("0123456789", cDigit)
	set(" \t", cWS)
	set(alnum+"-_.!~*'()", cUnreserved)
	set("&=+$,;?/", cUserExtra)
	set("[]/:&+$", cParamExtra)
	set("&=+$,", cPassExtra)
	return t
}()

func isToken(c byte) bool { return charClass[c]&cToken != 0 }
func isDigit(c byte) bool { return charClass[c]&cDigit != 0 }
func isWS(c byte) bool    { return charClass[c]&cWS != 0 }

// isLWS reports whether c may appear inside linear white space of a header
// value: a folded value keeps its CRLF and leading blanks in the buffer.
func isLWS(c byte) bool { return stopClass[c]&sLWS != 0 }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFold compares b with an ASCII string, ignoring case, without
// allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// EqualFold reports whether b equals s ignoring ASCII case.
func EqualFold(b []byte, s string) bool { return equalFold(b, s) }

// hasPrefixFold reports whether b starts with s, ignoring ASCII case.
func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && equalFold(b[:len(s)], s)
}

// trimLWS narrows s inside b so it neither starts nor ends with linear white
// space (blanks and the CRLF of folded lines).
func trimLWS(b []byte, s Span) Span {
	for s.Start < s.End && isLWS(b[s.Start]) {
		s.Start++
	}
	for s.End > s.Start && isLWS(b[s.End-1]) {
		s.End--
	}
	return s
}

// skipLWS returns the first offset at or after i (below end) that is not LWS.
func skipLWS(b []byte, i, end int32) int32 {
	for i < end && isLWS(b[i]) {
		i++
	}
	return i
}

// parseUint reads decimal digits in b[s], rejecting empty input, non-digits
// and values above max. It never allocates.
func parseUint(b []byte, s Span, max uint64) (uint64, bool) {
	if s.Start >= s.End {
		return 0, false
	}
	var n uint64
	for i := s.Start; i < s.End; i++ {
		c := b[i]
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}

// Stop sets for the parameter scanner: one table load per byte decides
// whether a name or a value goes on.
const (
	sNameStop  = 1 << iota // ";" "=" DQUOTE SP HTAB CR LF
	sValueStop             // ";" DQUOTE SP HTAB CR LF
	sLWS                   // SP HTAB CR LF
)

var stopClass = func() (t [256]uint8) {
	// A quote can only open a quoted value. Inside a name or an unquoted
	// value it ends the token, and the parameter is then a syntax error: a
	// header splitter that honours quotes would read such a quote as the
	// start of a string, so the two readings of the value would disagree.
	for _, c := range []byte("; \t\r\n\"") {
		t[c] |= sNameStop | sValueStop
	}
	for _, c := range []byte(" \t\r\n") {
		t[c] |= sLWS
	}
	t['='] |= sNameStop
	return t
}()

// wordEnd returns the index of the first byte of p that is a space, a control
// character or DEL (what ends a Request-URI or a Call-ID word), or len(p),
// eight bytes at a time. In each word, (x - 0x21…) & ^x & 0x80… flags the
// bytes under 0x21 and the same with x ^ 0x7f… flags DEL; a borrow can set
// flags only above a flagged byte, so the lowest flag is exact.
func wordEnd(p []byte) int {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		x := binary.LittleEndian.Uint64(p[i : i+8])
		d := x ^ 0x7f7f7f7f7f7f7f7f
		if f := ((x-0x2121212121212121)&^x | (d-0x0101010101010101)&^d) & 0x8080808080808080; f != 0 {
			return i + bits.TrailingZeros64(f)>>3
		}
	}
	for ; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f {
			return i
		}
	}
	return i
}

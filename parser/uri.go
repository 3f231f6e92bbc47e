package parser

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Scheme identifies a URI scheme.
type Scheme uint8

// URI schemes the proxy distinguishes.
const (
	SchemeOther Scheme = iota
	SchemeSIP
	SchemeSIPS
	SchemeTel
)

// HostKind says how a host was written.
type HostKind uint8

// Host forms.
const (
	HostName HostKind = iota // a DNS name
	HostIPv4                 // dotted quad
	HostIPv6                 // bracketed IPv6 reference
)

// URI is a parsed SIP, SIPS or other absolute URI. Spans index the buffer
// given to ParseURI. For schemes other than sip and sips only Scheme and
// Opaque are set.
type URI struct {
	Scheme     Scheme
	SchemeSpan Span
	Opaque     Span // everything after "scheme:"
	User       Span // without escapes decoded
	Password   Span
	HasUser    bool // "@" present (User may still be empty in broken URIs; that is an error)
	Host       Span // as written; IPv6 includes the brackets
	HostKind   HostKind
	IP         netip.Addr // the host when it is an IP literal (valid only then)
	Port       int        // 0 when absent
	PortSpan   Span       // empty when absent
	Params     Span       // after the first ";" up to "?" or the end, without the leading ";"
	Headers    Span       // after "?", without it
	HostPort   Span       // host[:port] as written
}

// ParseURI parses b[s] as an absolute URI. sip: and sips: URIs are checked
// against RFC 3261 §25.1 (user, password, host, port, parameters, headers);
// other schemes only need a valid scheme. It never allocates.
func ParseURI(b []byte, s Span, u *URI) error {
	*u = URI{}
	if sc, colon := sipScheme(s.In(b)); sc != SchemeOther {
		u.Scheme = sc
		u.SchemeSpan = Span{s.Start, s.Start + int32(colon)}
		u.Opaque = Span{s.Start + int32(colon) + 1, s.End}
		return parseSIPURI(b, u.Opaque, u)
	}
	colon := int32(bytes.IndexByte(s.In(b), ':'))
	if colon <= 0 || !validScheme(s.In(b)) {
		return ErrURI
	}
	u.SchemeSpan = Span{s.Start, s.Start + colon}
	u.Opaque = Span{s.Start + colon + 1, s.End}
	scheme := u.SchemeSpan.In(b)
	switch {
	case equalFold(scheme, "sip"):
		u.Scheme = SchemeSIP
	case equalFold(scheme, "sips"):
		u.Scheme = SchemeSIPS
	case equalFold(scheme, "tel"):
		u.Scheme = SchemeTel
		return nil
	default:
		return nil
	}
	return parseSIPURI(b, u.Opaque, u)
}

func parseSIPURI(b []byte, s Span, u *URI) error {
	i, end := s.Start, s.End
	// userinfo: up to the first "@". The user part may contain ";" "?" "/"
	// (user-unreserved), so "@" is looked for before anything else; neither
	// the password nor the host may contain an unescaped "@".
	if at := bytes.IndexByte(b[i:end], '@'); at >= 0 {
		ui := Span{i, i + int32(at)}
		u.HasUser = true
		if pc := bytes.IndexByte(ui.In(b), ':'); pc >= 0 {
			u.User = Span{ui.Start, ui.Start + int32(pc)}
			u.Password = Span{ui.Start + int32(pc) + 1, ui.End}
		} else {
			u.User = ui
		}
		if u.User.Empty() || !validUser(b, u.User) || !validPassword(b, u.Password) {
			return ErrURI
		}
		i = ui.End + 1
	}
	// host
	hs := i
	if i < end && b[i] == '[' {
		rb := bytes.IndexByte(b[i:end], ']')
		if rb < 0 {
			return ErrHost
		}
		i += int32(rb) + 1
		if !validIPv6Ref(b[hs+1 : i-1]) {
			return ErrHost
		}
		u.HostKind = HostIPv6
		u.IP, _ = parseIPv6(b[hs+1 : i-1])
	} else {
		var err error
		if i, err = scanHost(b, i, end, &u.HostKind, &u.IP); err != nil {
			return err
		}
	}
	u.Host = Span{hs, i}
	// port
	if i < end && b[i] == ':' {
		ps := i + 1
		i = ps
		for i < end && isDigit(b[i]) {
			i++
		}
		p, ok := parseUint(b, Span{ps, i}, 65535)
		if !ok {
			return ErrPort
		}
		u.Port, u.PortSpan = int(p), Span{ps, i}
	}
	u.HostPort = Span{hs, i}
	// parameters, then headers
	if i < end && b[i] == ';' {
		ps := i + 1
		var ok bool
		if i, ok = paramsEnd(b, i, end); !ok {
			return ErrParam
		}
		u.Params = Span{ps, i}
		if u.Params.Empty() {
			return ErrParam // trailing ";"
		}
		it := Params(b, u.Params)
		for it.Next() {
		}
		if it.Err() != nil {
			return ErrParam
		}
	}
	if i < end && b[i] == '?' {
		u.Headers = Span{i + 1, end}
		for k := i + 1; k < end; k++ {
			if c := b[k]; c <= ' ' || c == '"' || c == '<' || c == '>' {
				return ErrURI
			}
		}
		i = end
	}
	if i != end {
		return ErrURI
	}
	return nil
}

// paramsEnd returns the offset of the "?" that ends the URI parameters in
// b[i:end], or end; ok is false when a byte that URI parameters cannot hold
// (a blank, a control character, '"', "<" or ">") comes first. Parameters
// such as our cookies are long, so it looks eight bytes at a time for
// candidates: bytes under 0x23 ((x - 0x23…) & ^x & 0x80…: controls, SP, "!"
// and '"') and "<", ">", "?" (the same test for zero on x ^ "<"… and so on).
// The lowest flag is exact; "!" is stepped over.
func paramsEnd(b []byte, i, end int32) (int32, bool) {
	p, j := b[:end], int(i)
	for j+8 <= len(p) {
		x := binary.LittleEndian.Uint64(p[j : j+8])
		l, g, q := x^0x3c3c3c3c3c3c3c3c, x^0x3e3e3e3e3e3e3e3e, x^0x3f3f3f3f3f3f3f3f
		f := ((x-0x2323232323232323)&^x | (l-0x0101010101010101)&^l |
			(g-0x0101010101010101)&^g | (q-0x0101010101010101)&^q) & 0x8080808080808080
		if f == 0 {
			j += 8
			continue
		}
		j += bits.TrailingZeros64(f) >> 3
		switch c := p[j]; {
		case c == '?':
			return int32(j), true
		case c <= ' ' || c == '"' || c == '<' || c == '>':
			return int32(j), false
		}
		j++
	}
	for ; j < len(p); j++ {
		switch c := p[j]; {
		case c == '?':
			return int32(j), true
		case c <= ' ' || c == '"' || c == '<' || c == '>':
			return int32(j), false
		}
	}
	return int32(j), true
}

// scanHost reads the host at b[i:end], the longest run of hostname
// characters, checks it as checkHostName does and returns where it ends.
// Both usual hosts are settled in one pass: a dotted quad that the next byte
// does not continue is that whole run, and a name gets the label rules on
// the way (previous byte "." at the start: no empty label, no label that
// starts or ends with "-"). A run of digits and dots only goes to
// checkHostName, which decides whether it is an address.
func scanHost(b []byte, i, end int32, kind *HostKind, ip *netip.Addr) (int32, error) {
	if a4, n, ok := scanIPv4(b[i:end]); ok {
		if j := i + int32(n); j == end || charClass[b[j]]&cHost == 0 {
			*kind = HostIPv4
			*ip = netip.AddrFrom4(a4)
			return j, nil
		}
	}
	p := b[i:end]
	prev := byte('.')
	allNum := true
	j := 0
	for ; j < len(p); j++ {
		c := p[j]
		cl := charClass[c]
		if cl&cHost == 0 {
			break
		}
		switch c {
		case '.':
			if prev == '.' || prev == '-' {
				return i + int32(j), ErrHost
			}
		case '-':
			if prev == '.' {
				return i + int32(j), ErrHost
			}
			allNum = false
		default:
			if cl&cDigit == 0 {
				allNum = false
			}
		}
		prev = c
	}
	if j == 0 || allNum {
		return i + int32(j), checkHostName(p[:j], kind, ip)
	}
	if prev == '-' {
		return i + int32(j), ErrHost
	}
	*kind = HostName
	return i + int32(j), nil
}

// checkHostName accepts a hostname or an IPv4 address: labels of alphanum and
// "-", separated by ".", an optional final "."; an all-digit name must be a
// valid dotted quad.
func checkHostName(h []byte, kind *HostKind, ip *netip.Addr) error {
	// A dotted quad, the usual host on the data path, is settled by the
	// IPv4 parser alone: it accepts only digits and dots, which the label
	// rules below would send to it anyway.
	if a4, n, ok := scanIPv4(h); ok && n == len(h) {
		*kind = HostIPv4
		*ip = netip.AddrFrom4(a4)
		return nil
	}
	if len(h) == 0 {
		return ErrHost
	}
	allNum := true
	labelLen := 0
	for i, c := range h {
		switch {
		case c == '.':
			if labelLen == 0 || h[i-1] == '-' {
				return ErrHost
			}
			labelLen = 0
		case c == '-':
			if labelLen == 0 {
				return ErrHost
			}
			labelLen++
			allNum = false
		default:
			if !isDigit(c) {
				allNum = false
			}
			labelLen++
		}
	}
	if allNum {
		a4, ok := parseIPv4(h)
		if !ok {
			return ErrHost
		}
		*kind = HostIPv4
		*ip = netip.AddrFrom4(a4)
		return nil
	}
	*kind = HostName
	if h[len(h)-1] == '-' {
		return ErrHost
	}
	return nil
}

// validUser checks user = 1*( unreserved / escaped / user-unreserved ).
func validUser(b []byte, s Span) bool {
	return validEscaped(b, s, cUnreserved|cUserExtra)
}

// validPassword checks password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ).
func validPassword(b []byte, s Span) bool {
	return validEscaped(b, s, cUnreserved|cPassExtra)
}

func validEscaped(b []byte, s Span, class uint8) bool {
	for i := s.Start; i < s.End; i++ {
		c := b[i]
		if c == '%' {
			if i+2 >= s.End || hexVal(b[i+1]) < 0 || hexVal(b[i+2]) < 0 {
				return false
			}
			i += 2
			continue
		}
		if charClass[c]&class == 0 {
			return false
		}
	}
	return true
}

// URIParam returns the value of the URI parameter name (case-insensitive).
func (u *URI) Param(b []byte, name string) (Span, bool) { return Param(b, u.Params, name) }

// Transport returns the transport parameter (empty when absent).
func (u *URI) Transport(b []byte) Span {
	v, _ := u.Param(b, "transport")
	return v
}

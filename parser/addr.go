package parser

import (
	"bytes"
	"net/netip"
)

// ParseIP parses an IPv4 literal ("192.0.2.1") or an IPv6 literal, bare or in
// brackets ("[2001:db8::1]", with an embedded IPv4 tail allowed), without
// allocating. IPv6 zones are not accepted (they have no meaning in SIP).
func ParseIP(b []byte) (netip.Addr, bool) {
	if a4, n, ok := scanIPv4(b); ok && n == len(b) {
		return netip.AddrFrom4(a4), true // the usual case, without the search for ':'
	}
	if len(b) >= 2 && b[0] == '[' && b[len(b)-1] == ']' {
		return parseIPv6(b[1 : len(b)-1])
	}
	for _, c := range b {
		if c == ':' {
			return parseIPv6(b)
		}
	}
	a4, ok := parseIPv4(b)
	if !ok {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a4), true
}

func parseIPv4(b []byte) ([4]byte, bool) {
	a4, n, ok := scanIPv4(b)
	return a4, ok && n == len(b)
}

// scanIPv4 reads a dotted quad at the start of b and returns it and its
// length: four groups of one to three digits, separated by ".", each at most
// 255 and without a leading zero ("01" is ambiguous: octal in some stacks).
// Digits or dots right after the fourth group are left to the caller (as
// parseIPv4 does, refusing them).
func scanIPv4(b []byte) (out [4]byte, n int, ok bool) {
	i := 0
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(b) || b[i] != '.' {
				return out, 0, false
			}
			i++
		}
		if i >= len(b) {
			return out, 0, false
		}
		v := uint(b[i] - '0')
		if v > 9 {
			return out, 0, false
		}
		i++
		if i < len(b) {
			if d := uint(b[i] - '0'); d <= 9 {
				if v == 0 {
					return out, 0, false
				}
				v = v*10 + d
				i++
				if i < len(b) {
					if d := uint(b[i] - '0'); d <= 9 {
						v = v*10 + d
						i++
						if v > 255 {
							return out, 0, false
						}
					}
				}
			}
		}
		out[part] = byte(v)
	}
	return out, i, true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func parseIPv6(b []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // index in ip where "::" was
	i, n := 0, 0   // position in b, bytes written to ip
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis = 0
		i = 2
		if i == len(b) {
			return netip.AddrFrom16(ip), true
		}
	}
	for n < 16 {
		// Hex group or an embedded IPv4 tail.
		val, digits, j := 0, 0, i
		for j < len(b) && digits <= 4 {
			h := hexVal(b[j])
			if h < 0 {
				break
			}
			val = val<<4 | h
			digits++
			j++
		}
		if digits == 0 || digits > 4 {
			return netip.Addr{}, false
		}
		if j < len(b) && b[j] == '.' {
			if ellipsis < 0 && n != 12 || n > 12 {
				return netip.Addr{}, false
			}
			a4, ok := parseIPv4(b[i:])
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[n:], a4[:])
			n += 4
			i = len(b)
			break
		}
		ip[n], ip[n+1] = byte(val>>8), byte(val)
		n += 2
		i = j
		if i == len(b) {
			break
		}
		if b[i] != ':' || i+1 == len(b) {
			return netip.Addr{}, false
		}
		i++
		if b[i] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = n
			i++
			if i == len(b) {
				break
			}
		}
	}
	if i != len(b) {
		return netip.Addr{}, false
	}
	if n < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		tail := n - ellipsis
		copy(ip[16-tail:], ip[ellipsis:n])
		for k := ellipsis; k < 16-tail; k++ {
			ip[k] = 0
		}
	} else if ellipsis >= 0 {
		return netip.Addr{}, false // "::" must stand for at least one group
	}
	return netip.AddrFrom16(ip), true
}

// validIPv6Ref checks the text between the brackets of an IPv6 reference for
// syntax. It accepts what ParseIP accepts and also the "::" followed by ":"
// before an IPv4 tail ("2001:db8:::192.0.2.1") that RFC 3261's ABNF, taken
// from RFC 2373, allows: RFC 5118 §4.10 asks parsers to tolerate both.
func validIPv6Ref(b []byte) bool {
	if _, ok := parseIPv6(b); ok {
		return true
	}
	i := bytes.Index(b, []byte(":::"))
	if i < 0 || bytes.IndexByte(b[i+3:], ':') >= 0 || bytes.IndexByte(b[i+3:], '.') < 0 {
		return false
	}
	var fixed [64]byte
	if len(b) > len(fixed) {
		return false
	}
	n := copy(fixed[:], b[:i+2])
	n += copy(fixed[n:], b[i+3:])
	_, ok := parseIPv6(fixed[:n])
	return ok
}

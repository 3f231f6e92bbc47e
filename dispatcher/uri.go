package dispatcher

import (
	"net/netip"
	"strings"
)

// uriParts is what the loader needs from a destination URI.
type uriParts struct {
	secure    bool       // sips:
	host      string     // as written, IPv6 without brackets
	ip        netip.Addr // valid when host is an IP literal
	port      uint16     // 0 when absent
	transport Transport  // from sips: / ;transport=, UDP when absent
	tparam    bool       // the URI has a ;transport= parameter
	dotted    bool       // host name with at least one dot
}

// hasPrefixFold reports whether s begins with the lower-case ASCII prefix p,
// ignoring case.
func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

// maxHostLen is Kamailio's limit (DS_HN_SIZE - 2).
const maxHostLen = 254

// parseURI reads a sip: or sips: URI: [user[:password]@]host[:port][;params][?headers].
// It returns a reason when the URI is not one sipfront can route to.
func parseURI(uri string) (u uriParts, reason, kam string) {
	var rest string
	switch {
	case hasPrefixFold(uri, "sip:"):
		rest = uri[4:]
	case hasPrefixFold(uri, "sips:"):
		rest, u.secure = uri[5:], true
	default:
		return u, "not a sip: or sips: URI", ""
	}
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '#' {
			return u, "invalid character in URI", ""
		}
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		if i == 0 {
			return u, "empty user part before '@'", ""
		}
		rest = rest[i+1:]
	}
	var after string
	if strings.HasPrefix(rest, "[") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return u, "IPv6 address without ']'", ""
		}
		u.host, after = rest[1:j], rest[j+1:]
		ip, err := netip.ParseAddr(u.host)
		if err != nil || !ip.Is6() {
			return u, "bad IPv6 address", ""
		}
		u.ip = ip
	} else {
		j := strings.IndexAny(rest, ":;")
		if j < 0 {
			j = len(rest)
		}
		u.host, after = rest[:j], rest[j:]
		if u.host == "" {
			return u, "empty host", ""
		}
		if r := checkHost(u.host); r != "" {
			if r == "bad IPv4 address" {
				return u, r, "keeps it as a host name"
			}
			return u, r, ""
		}
		if ip, err := netip.ParseAddr(u.host); err == nil {
			u.ip = ip
		} else {
			u.dotted = strings.IndexByte(strings.TrimSuffix(u.host, "."), '.') >= 0
		}
	}
	if strings.HasPrefix(after, ":") {
		j := strings.IndexByte(after, ';')
		if j < 0 {
			j = len(after)
		}
		p, ok := parsePort(after[1:j])
		if !ok {
			if after[1:j] == "0" {
				return u, "bad port", "uses the default port"
			}
			return u, "bad port", ""
		}
		u.port, after = p, after[j:]
	}
	if after != "" && after[0] != ';' {
		return u, "unexpected text after host", ""
	}
	for after != "" {
		after = after[1:] // ';'
		j := strings.IndexByte(after, ';')
		if j < 0 {
			j = len(after)
		}
		param := after[:j]
		after = after[j:]
		name, value, _ := strings.Cut(param, "=")
		if !strings.EqualFold(name, "transport") {
			continue
		}
		u.tparam = true
		switch strings.ToLower(value) {
		case "udp":
			u.transport = UDP
		case "tcp":
			u.transport = TCP
		case "tls":
			u.transport = TLS
		default:
			return u, "transport " + quoteToken(value) + " not supported (udp, tcp, tls)", "keeps it"
		}
	}
	if u.secure {
		switch u.transport {
		case UDP:
			return u, "sips: URI with transport=udp (sips requires TLS)", "keeps it"
		default:
			u.transport = TLS // sips over tcp is TLS
		}
	}
	if u.transport == 0 {
		u.transport = UDP
	}
	return u, "", ""
}

// parsePort reads a decimal port 1..65535.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < 1 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// checkHost validates an IPv4 literal or an RFC 3261 host name
// (labels of letters, digits and inner hyphens; the last label starts with a
// letter; one trailing dot allowed). Underscores are accepted in labels other
// than the last, since they are common in internal DNS names.
func checkHost(h string) string {
	if len(h) > maxHostLen {
		return "host name too long"
	}
	allDigitsDots := true
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c != '.' && (c < '0' || c > '9') {
			allDigitsDots = false
			break
		}
	}
	if allDigitsDots {
		if ip, err := netip.ParseAddr(h); err != nil || !ip.Is4() {
			return "bad IPv4 address"
		}
		return ""
	}
	name := strings.TrimSuffix(h, ".")
	if name == "" {
		return "bad host name"
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if l == "" || len(l) > 63 {
			return "bad host name"
		}
		last := i == len(labels)-1
		for j := 0; j < len(l); j++ {
			c := l[j]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			case c == '-' && j > 0 && j < len(l)-1:
			case c == '_' && !last:
			default:
				return "bad host name"
			}
		}
		if last {
			if c := l[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return "bad host name"
			}
		}
	}
	return ""
}

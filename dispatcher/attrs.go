package dispatcher

import (
	"net/netip"
	"strconv"
	"strings"
)

// Attrs is the attrs column of a destination, read as Kamailio's
// ds_set_attrs reads it. Names are case-insensitive; names sipfront does not
// know stay in Body (scripts and RPC clients may use them). When a name
// appears twice, the first one wins (Kamailio walks its parameter list
// backwards, so its first occurrence is applied last).
type Attrs struct {
	// Present reports that the line had an attrs column (Kamailio shows
	// ATTRS in dispatcher.list only then, even for a lone ";").
	Present bool
	// Body is the column as written, minus one trailing ';'.
	Body string
	// Has records which named attributes appeared (see AttrDUID...), so
	// that "duid=" (empty) and no duid at all can be told apart, as
	// Kamailio's reply does (DUID "" versus null).
	Has AttrMask

	DUID     string
	Weight   int // 1..100, else 0
	RWeight  int // 1..100, else 0
	MaxLoad  int
	Socket   string
	SockName string
	PingFrom string
	OBProxy  string
	Latency  int // initial latency estimate, milliseconds
	CC       int // congestion control flag
	OCMin    int // overload control, percent
	OCMax    int
	OCRate   int
}

// AttrMask is a set of attribute names.
type AttrMask uint16

// Attribute names, for Attrs.Has.
const (
	AttrDUID AttrMask = 1 << iota
	AttrWeight
	AttrRWeight
	AttrMaxLoad
	AttrSocket
	AttrSockName
	AttrPingFrom
	AttrOBProxy
	AttrLatency
	AttrCC
	AttrOCMin
	AttrOCMax
	AttrOCRate
)

// param is one parameter of an attrs body, with its byte span.
type param struct {
	name, value string
	hasValue    bool
	start, end  int // span of name[=value] in the body
}

func isParamWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// parseParams splits an attrs body as Kamailio's parse_params (class any,
// separator ';') does, failing where it fails: a value that is empty before
// ';' or ',' ("a=;b"), an unterminated quote, text after a closing quote,
// and a ';' with no name after it ("a;;" once the trailing ';' is gone).
// Like Kamailio it stops quietly at ',' or '>' after a parameter; ignored
// reports the text it ignored then.
func parseParams(s string) (ps []param, ignored string, reason string) {
	n := len(s)
	if n == 0 {
		return nil, "", ""
	}
	trim := func(i int) int {
		for i < n && isParamWS(s[i]) {
			i++
		}
		return i
	}
	pos := 0
	for {
		var p param
		p.start = pos
		for pos < n && !isParamWS(s[pos]) && s[pos] != ',' && s[pos] != '=' && s[pos] != ';' {
			pos++
		}
		p.name = s[p.start:pos]
		pos = trim(pos)
		if pos == n {
			p.end = pos
			return append(ps, p), "", ""
		}
		if s[pos] == '=' {
			pos = trim(pos + 1)
			p.hasValue = true
			switch {
			case pos == n:
				// Kamailio forgives a missing value at the very end.
			case s[pos] == '"' || s[pos] == '\'':
				if n-pos < 2 {
					return nil, "", "unterminated quoted value"
				}
				j := strings.IndexByte(s[pos+1:], s[pos])
				if j < 0 {
					return nil, "", "unterminated quoted value"
				}
				p.value = s[pos+1 : pos+1+j]
				pos += j + 2
			default:
				vs := pos
				for pos < n && !isParamWS(s[pos]) && s[pos] != ',' && s[pos] != ';' {
					pos++
				}
				if pos == vs {
					return nil, "", "empty value for " + quoteToken(p.name)
				}
				p.value = s[vs:pos]
			}
			p.end = pos
			pos = trim(pos)
			if pos == n {
				return append(ps, p), "", ""
			}
		} else {
			p.end = pos
		}
		if s[pos] == ',' || s[pos] == '>' {
			return append(ps, p), s[pos:], ""
		}
		if s[pos] != ';' {
			return nil, "", "unexpected " + quoteToken(s[pos:pos+1]) + " after " + quoteToken(p.name)
		}
		pos = trim(pos + 1)
		if pos == n {
			return nil, "", "parameter name missing after ';'"
		}
		ps = append(ps, p)
	}
}

// attrNote is a non-fatal remark on an attribute, turned into a Warning.
type attrNote struct {
	token, reason, kamailio string
}

// sintPrefix reads an integer as Kamailio's str2sint does: an optional sign
// and the leading digits; it stops at the first other byte. clean is false
// when there were no digits or something followed them; an int32 overflow
// gives 0, as in Kamailio.
func sintPrefix(s string, signed bool) (v int, clean bool) {
	i := 0
	neg := false
	if signed && i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var n int64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int64(s[i]-'0')
		if n > 1<<31 {
			return 0, false
		}
		i++
	}
	if i == start || i != len(s) {
		clean = false
	} else {
		clean = true
	}
	if neg {
		n = -n
	}
	if n > 1<<31-1 || n < -1<<31 {
		return 0, false
	}
	return int(n), clean
}

// parseAttrs reads an attrs column (the token as written). It returns the
// attributes, remarks on values it corrected, and a reason when Kamailio's
// parser would reject the column (the line is then skipped).
func parseAttrs(tok string) (a Attrs, notes []attrNote, reason string) {
	body := tok
	if strings.HasSuffix(body, ";") {
		body = body[:len(body)-1]
	}
	a.Present = true
	a.Body = body
	ps, ignored, reason := parseParams(body)
	if reason != "" {
		return a, nil, reason
	}
	if ignored != "" {
		notes = append(notes, attrNote{token: ignored,
			reason: "text after " + quoteToken(ignored[:1]) + " in attrs ignored, as Kamailio does"})
	}
	intAttr := func(p *param, signed bool) int {
		v, clean := sintPrefix(p.value, signed)
		if !clean {
			notes = append(notes, attrNote{token: p.name + "=" + p.value,
				reason: p.name + " is not a number; using " + strconv.Itoa(v) + " as Kamailio does"})
		}
		return v
	}
	rangeAttr := func(p *param, what string) int {
		v, clean := sintPrefix(p.value, true)
		if v < 1 || v > 100 {
			notes = append(notes, attrNote{token: p.name + "=" + p.value,
				reason: what + " " + quoteToken(p.value) + " not in 1..100; using 0, as Kamailio does"})
			return 0
		}
		if !clean {
			notes = append(notes, attrNote{token: p.name + "=" + p.value,
				reason: what + " is not a number; using " + strconv.Itoa(v) + " as Kamailio does"})
		}
		return v
	}
	// Backwards, so that the first occurrence of a name wins, as in Kamailio.
	for i := len(ps) - 1; i >= 0; i-- {
		p := &ps[i]
		switch strings.ToLower(p.name) {
		case "duid":
			a.DUID, a.Has = p.value, a.Has|AttrDUID
		case "cc":
			a.CC, a.Has = intAttr(p, true), a.Has|AttrCC
		case "weight":
			a.Weight, a.Has = rangeAttr(p, "weight"), a.Has|AttrWeight
		case "rweight":
			a.RWeight, a.Has = rangeAttr(p, "rweight"), a.Has|AttrRWeight
		case "latency":
			a.Latency, a.Has = intAttr(p, true), a.Has|AttrLatency
		case "maxload":
			a.MaxLoad, a.Has = intAttr(p, true), a.Has|AttrMaxLoad
		case "socket":
			a.Socket, a.Has = p.value, a.Has|AttrSocket
		case "sockname":
			a.SockName, a.Has = p.value, a.Has|AttrSockName
		case "ping_from":
			a.PingFrom, a.Has = p.value, a.Has|AttrPingFrom
		case "obproxy":
			a.OBProxy, a.Has = p.value, a.Has|AttrOBProxy
		case "ocmin":
			a.OCMin, a.Has = intAttr(p, false), a.Has|AttrOCMin
		case "ocmax":
			a.OCMax, a.Has = intAttr(p, false), a.Has|AttrOCMax
		case "ocrate":
			a.OCRate, a.Has = intAttr(p, false), a.Has|AttrOCRate
		}
	}
	// Kamailio's clamps on the overload-control percentages.
	if a.OCMax > 100 || a.OCMax == 0 {
		a.OCMax = 100
	}
	if a.OCMin > 100 || a.OCMin > a.OCMax {
		a.OCMin = 0
	}
	if a.OCRate > 100 {
		a.OCRate = 0
	}
	if a.OCRate < a.OCMin {
		a.OCRate = a.OCMin
	}
	if a.OCRate > a.OCMax {
		a.OCRate = a.OCMax
	}
	if a.Has&AttrSocket != 0 && a.Socket != "" {
		if r := checkSocket(a.Socket); r != "" {
			return a, notes, "socket " + quoteToken(a.Socket) + ": " + r
		}
	}
	return a, notes, ""
}

// checkSocket validates the syntax of a socket attr, [proto:]host[:port];
// whether it is one of our sockets is for Options.Check to say.
func checkSocket(s string) string {
	rest := s
	if i := strings.IndexByte(rest, ':'); i > 0 && !strings.HasPrefix(rest, "[") {
		switch strings.ToLower(rest[:i]) {
		case "udp", "tcp", "tls", "sctp", "ws", "wss":
			rest = rest[i+1:]
		}
	}
	var host, port string
	if strings.HasPrefix(rest, "[") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return "IPv6 address without ']'"
		}
		host, port = rest[1:j], rest[j+1:]
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() {
			return "bad IPv6 address"
		}
	} else {
		host, port, _ = strings.Cut(rest, ":")
		if port != "" {
			port = ":" + port
		}
		if host == "" {
			return "empty host"
		}
		if host != "*" {
			if r := checkHost(host); r != "" {
				return r
			}
		}
	}
	if port != "" {
		if port[0] != ':' {
			return "unexpected text after host"
		}
		if _, ok := parsePort(port[1:]); !ok {
			return "bad port"
		}
	}
	return ""
}

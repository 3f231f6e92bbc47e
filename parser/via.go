package parser

import "net/netip"

// Via is one parsed via-parm (RFC 3261 §20.42, RFC 3581). Spans index the
// buffer given to ParseVia.
type Via struct {
	Value     Span // the whole via-parm
	Protocol  Span // "SIP/2.0" as written (LWS around "/" allowed)
	Name      Span // "SIP"
	Version   Span // "2.0"
	Transport Span // "UDP", "TCP", "TLS", "SCTP", "WS", ...
	Host      Span // sent-by host as written (IPv6 with brackets)
	HostKind  HostKind
	IP        netip.Addr // the sent-by host when it is an IP literal (valid only then)
	Port      int        // 0 when absent
	SentBy    Span       // host[:port]
	Params    Span       // everything after sent-by's first ";", without it

	Branch   Span
	Received Span
	RPort    Span // value of rport (empty when the parameter has no value)
	Maddr    Span
	TTL      Span

	HasBranch, HasReceived, HasRPort, HasMaddr, HasTTL bool
	// ReceivedParam and RPortParam cover "received=..." and "rport[=...]"
	// whole, for a writer that replaces them.
	ReceivedParam, RPortParam Span
}

// ParseVia parses one via-parm in b[s] (a value of a Via header, as the
// ValueIter returns it). It never allocates.
func ParseVia(b []byte, s Span, v *Via) error {
	*v = Via{Value: s}
	i, end := skipLWS(b, s.Start, s.End), s.End
	// sent-protocol: token SLASH token SLASH token
	var parts [3]Span
	p := 0
	if end-i >= 8 && string(b[i:i+8]) == "SIP/2.0/" {
		// As every Via is written: the loop below would find these two
		// tokens and slashes, byte by byte.
		parts[0], parts[1] = Span{i, i + 3}, Span{i + 4, i + 7}
		i = skipLWS(b, i+8, end)
		p = 2
	}
	for ; p < 3; p++ {
		ts := i
		for i < end && isToken(b[i]) {
			i++
		}
		if i == ts {
			return ErrVia
		}
		parts[p] = Span{ts, i}
		i = skipLWS(b, i, end)
		if p < 2 {
			if i >= end || b[i] != '/' {
				return ErrVia
			}
			i = skipLWS(b, i+1, end)
		}
	}
	v.Name, v.Version, v.Transport = parts[0], parts[1], parts[2]
	v.Protocol = Span{parts[0].Start, parts[1].End}
	if i == parts[2].End {
		return ErrVia // LWS required between transport and sent-by
	}
	// sent-by: host [ COLON port ]
	hs := i
	if i < end && b[i] == '[' {
		for i < end && b[i] != ']' {
			i++
		}
		if i == end {
			return ErrHost
		}
		i++
		if !validIPv6Ref(b[hs+1 : i-1]) {
			return ErrHost
		}
		v.HostKind = HostIPv6
		v.IP, _ = parseIPv6(b[hs+1 : i-1])
	} else {
		var err error
		if i, err = scanHost(b, i, end, &v.HostKind, &v.IP); err != nil {
			return err
		}
	}
	v.Host = Span{hs, i}
	v.SentBy = v.Host
	j := skipLWS(b, i, end)
	if j < end && b[j] == ':' {
		ps := skipLWS(b, j+1, end)
		pe := ps
		for pe < end && isDigit(b[pe]) {
			pe++
		}
		p, ok := parseUint(b, Span{ps, pe}, 65535)
		if !ok {
			return ErrPort
		}
		v.Port = int(p)
		v.SentBy.End = pe
		i = pe
		j = skipLWS(b, i, end)
	}
	if j == end {
		return nil
	}
	if b[j] != ';' {
		return ErrVia
	}
	v.Params = Span{j + 1, end}
	if skipLWS(b, j+1, end) == end {
		return ErrVia // trailing ";"
	}
	it := Params(b, v.Params)
	for it.Next() {
		name := it.Name().In(b)
		// Dispatch on length first: most parameters are compared with one
		// candidate name at most.
		switch {
		case len(name) != 6 && len(name) != 8 && len(name) != 5 && len(name) != 3:
		case equalFold(name, "branch"):
			v.Branch, v.HasBranch = it.Value(), true
			if !it.HasValue() || v.Branch.Empty() {
				return ErrVia
			}
		case equalFold(name, "received"):
			v.Received, v.HasReceived, v.ReceivedParam = it.Value(), true, it.Whole()
		case equalFold(name, "rport"):
			v.RPort, v.HasRPort, v.RPortParam = it.Value(), true, it.Whole()
			if it.HasValue() {
				if _, ok := parseUint(b, v.RPort, 65535); !ok {
					return ErrVia
				}
			}
		case equalFold(name, "maddr"):
			v.Maddr, v.HasMaddr = it.Value(), true
		case equalFold(name, "ttl"):
			v.TTL, v.HasTTL = it.Value(), true
			if _, ok := parseUint(b, v.TTL, 255); !ok {
				return ErrVia
			}
		}
	}
	if it.Err() != nil {
		return ErrVia
	}
	return nil
}

// RPortValue returns the numeric rport value, or 0 when it is absent or has
// no value.
func (v *Via) RPortValue(b []byte) int {
	n, ok := parseUint(b, v.RPort, 65535)
	if !ok {
		return 0
	}
	return int(n)
}

// MagicCookie is the branch prefix of RFC 3261 transactions (§8.1.1.7).
const MagicCookie = "z9hG4bK"

// HasMagicCookie reports whether the branch starts with the RFC 3261 magic
// cookie (otherwise the sender follows RFC 2543 and transactions are matched
// by other fields).
func (v *Via) HasMagicCookie(b []byte) bool {
	return v.HasBranch && v.Branch.Len() >= len(MagicCookie) &&
		string(v.Branch.In(b)[:len(MagicCookie)]) == MagicCookie
}

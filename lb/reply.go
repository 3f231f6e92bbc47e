package lb

import (
	"net/netip"

	"github.com/sipfront/sipfront/parser"
)

// Local replies: sipfront answers a request itself only to refuse it. The
// reply is built statelessly from the request (RFC 3261 §8.2.6): the Vias
// (the top one with received and rport), From, To (with a tag derived from
// the request, so a retransmission gets the same one), Call-ID and CSeq, and
// it goes back to where the request came from. ACKs are never answered
// (RFC 3261 §17.2.1); a request without any Via cannot be answered.

var replyStatus = [replyReasonCount]struct {
	code   int
	reason string
}{
	replyMalformed:      {400, "Bad Request"},
	replyMethodMismatch: {501, "Not Implemented"},
	replyVersion:        {505, "Version Not Supported"},
	replyScheme:         {416, "Unsupported URI Scheme"},
	replyProxyRequire:   {420, "Bad Extension"},
	replyTooManyHops:    {483, "Too Many Hops"},
	replyLoop:           {482, "Loop Detected"},
	replyNoDestination:  {503, "Service Unavailable"},
	replyForgedCookie:   {403, "Forbidden (Invalid Route Cookie)"},
	replyStaleCookie:    {403, "Forbidden (Unknown Destination)"},
	replyRelayDenied:    {403, "Forbidden (Relaying Denied)"},
	replyUnresolvable:   {502, "Bad Gateway (Unresolvable Next Hop)"},
	replyTooLarge:       {513, "Message Too Large"},
}

// refuse answers the current request with the status for r, or drops it.
// The reply goes back where the request came from (over its connection for
// TCP and TLS).
func (p *proc) refuse(out []byte, r replyReason) ([]byte, target) {
	m := &p.m
	if m.Method() == parser.MethodACK {
		if r == replyMalformed {
			p.st.drops[dropMalformedACK].Add(1)
		} else {
			p.st.drops[dropACKUnroutable].Add(1)
		}
		return out[:0], target{}
	}
	if m.First(parser.KindVia) < 0 {
		p.st.drops[dropUnanswerable].Add(1)
		return out[:0], target{}
	}
	p.st.replies[r].Add(1)
	o := p.o
	return p.buildReply(out[:0], o.src, r), target{tr: o.tr, addr: o.src, conn: o.conn, from: o.id}
}

func (p *proc) buildReply(out []byte, src netip.AddrPort, r replyReason) []byte {
	m := &p.m
	b := m.Raw()
	st := replyStatus[r]
	out = append(out, "SIP/2.0 "...)
	out = appendUint(out, uint64(st.code))
	out = append(out, ' ')
	out = append(out, st.reason...)
	out = append(out, "\r\n"...)

	topVia := -1 // header index of the top Via, when it parses
	if it := m.Values(parser.KindVia); it.Next() && parser.ParseVia(b, it.Value(), &p.via) == nil {
		topVia = it.HeaderIndex()
	}
	for i, h := range m.Headers() {
		switch h.Kind {
		case parser.KindVia:
			if i == topVia {
				out = append(out, b[h.Name.Start:p.via.Value.Start]...)
				ip := src.Addr().Unmap().AppendTo(p.txt[:0])
				out = parser.AppendViaReceived(out, b, &p.via, ip, int(src.Port()))
				out = append(out, b[p.via.Value.End:h.End]...)
				continue
			}
		case parser.KindTo:
			if parser.ParseNameAddr(b, h.Value, &p.na) == nil && !p.na.HasTag {
				out = append(out, b[h.Name.Start:h.Value.End]...)
				out = append(out, ";tag="...)
				out = appendHex(out, p.replyTag(), 16)
				out = append(out, b[h.Value.End:h.End]...)
				continue
			}
		case parser.KindFrom, parser.KindCallID, parser.KindCSeq:
		default:
			continue
		}
		out = append(out, b[h.Name.Start:h.End]...)
		if b[h.End-1] != '\n' {
			out = append(out, "\r\n"...)
		}
	}
	if r == replyProxyRequire {
		out = append(out, "Unsupported: "...)
		first := true
		for it := m.Values(parser.KindProxyRequire); it.Next(); {
			if !first {
				out = append(out, ", "...)
			}
			first = false
			out = append(out, m.Bytes(it.Value())...)
		}
		out = append(out, "\r\n"...)
	}
	out = append(out, "Server: sipfront\r\nContent-Length: 0\r\n\r\n"...)
	return out
}

// replyTag is the To tag of a local reply: a hash of the request's identity,
// so a retransmitted request gets the identical reply.
func (p *proc) replyTag() uint64 {
	m := &p.m
	h := p.e.key.hasher()
	h.writeString("to-tag")
	h.write(m.CallID())
	if v, ok := m.FirstValue(parser.KindVia); ok {
		h.write(m.Bytes(v))
	}
	if c, ok := m.Header(parser.KindCSeq); ok {
		h.write(m.Bytes(c.Value))
	}
	return h.sum64()
}

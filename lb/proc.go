package lb

import (
	"net/netip"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// maxUDPPayload is the largest datagram we send (IPv4: 65535 - 20 - 8).
const maxUDPPayload = 65507

// proc is one worker's message processor. Everything a message needs is
// preallocated here (the parsed message, the parsed fields, the editor, text
// scratch), so handling a datagram allocates nothing. A proc is used by one
// goroutine only.
type proc struct {
	e  *Engine
	st *workerStats

	// Our identity on the socket this proc serves.
	port  uint16 // listen port
	fixed []byte // "ip:port" written in Via/Record-Route/Path when known in advance; nil for a wildcard listen

	m   parser.Message
	ess parser.Essentials
	ed  parser.Editor
	via parser.Via
	na  parser.NameAddr
	uri parser.URI
	txt [1024]byte // composes one inserted value at a time (the Editor copies it)
	adv [64]byte   // "ip:port" for a wildcard listen, per message
}

// handle processes one received datagram from src that arrived on local. It
// appends what must be sent to out (which must have room for maxUDPPayload
// bytes) and returns it with its destination; an empty result means nothing
// is sent. It never panics on any input and allocates nothing.
func (p *proc) handle(in []byte, src netip.AddrPort, local netip.Addr, out []byte) ([]byte, netip.AddrPort) {
	m := &p.m
	err := parser.Parse(in, m)
	if err == parser.ErrKeepAlive {
		p.st.drops[dropKeepAlive].Add(1)
		return out[:0], netip.AddrPort{}
	}
	if !m.IsRequest() {
		p.st.responses.Add(1)
		if err != nil {
			p.st.drops[dropMalformedResponse].Add(1)
			return out[:0], netip.AddrPort{}
		}
		return p.response(out)
	}
	p.st.requests[m.Method()].Add(1)
	if err != nil {
		return p.refuse(out, src, replyMalformed)
	}
	return p.request(out, src, local)
}

// ourIdentity returns the "host:port" sipfront writes in its Via,
// Record-Route and Path for a message that arrived on local.
func (p *proc) ourIdentity(local netip.Addr) []byte {
	if p.fixed != nil {
		return p.fixed
	}
	b := p.adv[:0]
	if local.Is6() && !local.Is4In6() {
		b = append(b, '[')
		b = local.AppendTo(b)
		b = append(b, ']')
	} else {
		b = local.Unmap().AppendTo(b)
	}
	b = append(b, ':')
	return appendUint(b, uint64(p.port))
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

func (p *proc) request(out []byte, src netip.AddrPort, local netip.Addr) ([]byte, netip.AddrPort) {
	m, e := &p.m, &p.ess
	b := m.Raw()
	method := m.Method()
	if !parser.EqualFold(m.Bytes(m.Version()), "SIP/2.0") {
		return p.refuse(out, src, replyVersion)
	}
	if err := m.Check(e); err != nil {
		if err == parser.ErrCSeqMethod && method == parser.MethodOther {
			return p.refuse(out, src, replyMethodMismatch)
		}
		return p.refuse(out, src, replyMalformed)
	}
	if s := e.RequestURI.Scheme; s != parser.SchemeSIP && s != parser.SchemeSIPS {
		return p.refuse(out, src, replyScheme)
	}
	if e.TopVia.HasBranch && e.TopVia.Branch.Len() == len(parser.MagicCookie) && e.TopVia.HasMagicCookie(b) {
		// A bare magic cookie cannot identify a transaction (RFC 4475 §3.2.1).
		return p.refuse(out, src, replyMalformed)
	}
	if e.HasMaxForwards && e.MaxForwards == 0 {
		return p.refuse(out, src, replyTooManyHops)
	}
	if method != parser.MethodACK && method != parser.MethodCANCEL && m.First(parser.KindProxyRequire) >= 0 {
		// sipfront supports no proxy extension (RFC 3261 §16.3 step 5).
		return p.refuse(out, src, replyProxyRequire)
	}
	loop := loopHash(m, e)
	if p.looped(loop) {
		return p.refuse(out, src, replyLoop)
	}

	tbl := p.e.disp.Current()
	fromBackend := tbl.ByIP(src.Addr()) != nil
	var dst, rrDest netip.AddrPort
	popRoute := false

	// Routing (DESIGN.md "One request, one response" step 4).
	if rv, ok := m.FirstValue(parser.KindRoute); ok && p.isOurRoute(rv) {
		popRoute = true
		cookie, hasCookie := p.uri.Param(b, cookieParam)
		if next, ok := p.secondRoute(); ok {
			// Loose routing: a Route follows ours. Only a back end, or a
			// route set leading to one, may send us on (never an open relay).
			target, reason, ok := p.routeTarget(next)
			if !ok {
				return p.refuse(out, src, reason)
			}
			if !fromBackend && tbl.ByIP(target.Addr()) == nil {
				return p.refuse(out, src, replyRelayDenied)
			}
			dst = target
			p.st.routedByRoute.Add(1)
		} else if fromBackend {
			// Back end toward a phone: the Request-URI is the phone's
			// contact (Path or our Record-Route brought it here).
			target, ok := uriTarget(b, &e.RequestURI)
			if !ok {
				return p.refuse(out, src, replyUnresolvable)
			}
			dst = target
			p.st.routedByURI.Add(1)
		} else if hasCookie {
			ap, res := parseCookie(p.e.key, cookie.In(b))
			if res != cookieOK {
				return p.refuse(out, src, replyForgedCookie)
			}
			d := tbl.ByAddr(ap)
			if d == nil {
				return p.refuse(out, src, replyStaleCookie)
			}
			dst = d.Addr
			p.st.routedByCookie.Add(1)
		}
		// Our Route without cookie and nothing after it: a phone that uses
		// sipfront as its outbound proxy. Dispatch below.
	}
	if fromBackend {
		rrDest = tbl.ByIP(src.Addr()).Addr
	}
	if !dst.IsValid() {
		set := tbl.Set(p.e.cfg.Set)
		d := set.Select(p.e.cfg.Alg, p.selectKey())
		if d == nil {
			return p.refuse(out, src, replyNoDestination)
		}
		d.RT.Selected.Add(1)
		dst, rrDest = d.Addr, d.Addr
		p.st.routedBySelect.Add(1)
	} else if !rrDest.IsValid() {
		if d := tbl.ByIP(dst.Addr()); d != nil {
			rrDest = d.Addr
		}
	}

	// Rewrite (step 5): Route popped, received/rport, our Via, Max-Forwards,
	// Record-Route or Path.
	ed := &p.ed
	ed.Reset()
	if popRoute {
		ed.RemoveTopRoute(m)
	}
	ed.SetReceived(m, &e.TopVia, src.Addr().Unmap().AppendTo(p.txt[:0]), int(src.Port()))
	id := p.ourIdentity(local)
	t := txMAC(p.e.key, b, &e.TopVia, m.CallID(), e.From.Tag, e.CSeq)
	v := append(p.txt[:0], "SIP/2.0/UDP "...)
	v = append(v, id...)
	v = append(v, ";branch="...)
	v = appendBranch(v, t, loop)
	ed.PrependVia(m, v)
	mf := 70
	if e.HasMaxForwards {
		mf = e.MaxForwards - 1
	}
	ed.SetMaxForwards(m, mf)
	initial := !e.To.HasTag
	switch {
	case method == parser.MethodREGISTER:
		ed.AddPath(m, p.ourRoute(id, rrDest))
	case initial && !p.e.cfg.NoRecordRoute &&
		(method == parser.MethodINVITE || method == parser.MethodSUBSCRIBE || method == parser.MethodREFER):
		ed.AddRecordRoute(m, p.ourRoute(id, rrDest))
	}
	if ed.Size(m) > maxUDPPayload {
		return p.refuse(out, src, replyTooLarge)
	}
	res, err := ed.AppendTo(out[:0], m)
	if err != nil {
		// The editor's limits are far above what one request needs; a
		// message that still exceeds them is answered as too large.
		return p.refuse(out, src, replyTooLarge)
	}
	p.st.fwdRequests.Add(1)
	return res, dst
}

// ourRoute composes <sip:ID;lr;sfc=COOKIE> for Record-Route and Path; the
// cookie is left out when no back end is known.
func (p *proc) ourRoute(id []byte, dest netip.AddrPort) []byte {
	r := append(p.txt[:0], "<sip:"...)
	r = append(r, id...)
	r = append(r, ";lr"...)
	if dest.IsValid() {
		r = append(r, ";"+cookieParam+"="...)
		r = appendCookie(r, p.e.key, dest)
	}
	return append(r, '>')
}

// looped reports whether one of our Vias below the top carries the loop hash
// this request would get again: the same request came back unchanged
// (RFC 3261 §16.3 step 4). A spiral (different Request-URI or Route) has a
// different hash and goes on.
func (p *proc) looped(loop uint32) bool {
	m := &p.m
	b := m.Raw()
	first := true
	for it := m.Values(parser.KindVia); it.Next(); {
		if first {
			first = false
			continue
		}
		if parser.ParseVia(b, it.Value(), &p.via) != nil || !p.via.HasBranch {
			continue
		}
		_, l, ok := splitBranch(p.via.Branch.In(b))
		if ok && l == loop && p.viaIsOurs(&p.via) {
			return true
		}
	}
	return false
}

// viaIsOurs reports whether a Via's sent-by is one of our addresses.
func (p *proc) viaIsOurs(v *parser.Via) bool {
	b := p.m.Raw()
	ip, ok := parser.ParseIP(v.Host.In(b))
	if !ok {
		return false
	}
	port := uint16(v.Port)
	if port == 0 {
		port = 5060
	}
	return p.e.self.is(ip, port)
}

// isOurRoute parses a Route value into p.na and p.uri and reports whether it
// points at sipfront.
func (p *proc) isOurRoute(rv parser.Span) bool {
	b := p.m.Raw()
	if parser.ParseNameAddr(b, rv, &p.na) != nil || parser.ParseURI(b, p.na.URI, &p.uri) != nil {
		return false
	}
	if p.uri.Scheme != parser.SchemeSIP && p.uri.Scheme != parser.SchemeSIPS {
		return false
	}
	ip, ok := parser.ParseIP(p.uri.Host.In(b))
	if !ok {
		return false
	}
	port := uint16(p.uri.Port)
	if port == 0 {
		port = 5060
	}
	return p.e.self.is(ip, port)
}

// secondRoute returns the Route value after the first one.
func (p *proc) secondRoute() (parser.Span, bool) {
	it := p.m.Values(parser.KindRoute)
	if !it.Next() || !it.Next() {
		return parser.Span{}, false
	}
	return it.Value(), true
}

// routeTarget resolves a Route value to an address.
func (p *proc) routeTarget(rv parser.Span) (netip.AddrPort, replyReason, bool) {
	b := p.m.Raw()
	if parser.ParseNameAddr(b, rv, &p.na) != nil || parser.ParseURI(b, p.na.URI, &p.uri) != nil {
		return netip.AddrPort{}, replyMalformed, false
	}
	ap, ok := uriTarget(b, &p.uri)
	if !ok {
		return netip.AddrPort{}, replyUnresolvable, false
	}
	return ap, 0, true
}

// uriTarget is the address a sip/sips URI with an IP literal host names (the
// default port by scheme). Host names are not resolved on the data path.
func uriTarget(b []byte, u *parser.URI) (netip.AddrPort, bool) {
	if u.Scheme != parser.SchemeSIP && u.Scheme != parser.SchemeSIPS {
		return netip.AddrPort{}, false
	}
	ip, ok := parser.ParseIP(u.Host.In(b))
	if !ok {
		return netip.AddrPort{}, false
	}
	port := uint16(u.Port)
	if port == 0 {
		port = 5060
		if u.Scheme == parser.SchemeSIPS {
			port = 5061
		}
	}
	ap := netip.AddrPortFrom(ip.Unmap(), port)
	return ap, usable(ap)
}

// usable rejects addresses no datagram should go to: unspecified, multicast,
// the IPv4 limited broadcast, port 0 (RFC 4475 §3.3.10).
func usable(ap netip.AddrPort) bool {
	ip := ap.Addr()
	return ap.Port() != 0 && ip.IsValid() && !ip.IsUnspecified() && !ip.IsMulticast() &&
		ip != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// selectKey is the hash the set's algorithm routes an initial request by.
//
// REGISTER goes by its address of record, so a user always reaches the same
// back end. An in-dialog request that does not carry our Route goes by
// Call-ID. Round-robin, random, weight, relative-weight (and call-id) hash
// the Call-ID: stateless, deterministic, uniform over many calls; it keeps a
// retransmission, the CANCEL and the ACK of a non-2xx with their INVITE, and
// an INVITE re-sent with credentials after a 401/407 reaches the back end
// that issued the challenge.
func (p *proc) selectKey() uint64 {
	m, e := &p.m, &p.ess
	b := m.Raw()
	if m.Method() == parser.MethodREGISTER {
		return p.uriKey(e.To.URI)
	}
	if e.To.HasTag {
		return dispatcher.Hash(m.CallID())
	}
	switch p.e.cfg.Alg {
	case dispatcher.HashFrom:
		return p.uriKey(e.From.URI)
	case dispatcher.HashTo:
		return p.uriKey(e.To.URI)
	case dispatcher.HashRURI:
		return p.uriKey(m.RequestURI())
	case dispatcher.HashAuthUser:
		if u, ok := p.authUser(); ok {
			return dispatcher.Hash(u.In(b))
		}
		return p.uriKey(e.From.URI)
	}
	return dispatcher.Hash(m.CallID())
}

// uriKey hashes user@host of a sip/sips URI (host case-insensitive), or the
// whole URI for other schemes.
func (p *proc) uriKey(s parser.Span) uint64 {
	b := p.m.Raw()
	if parser.ParseURI(b, s, &p.uri) != nil || (p.uri.Scheme != parser.SchemeSIP && p.uri.Scheme != parser.SchemeSIPS) {
		return dispatcher.Hash(s.In(b))
	}
	h := dispatcher.Hash(p.uri.User.In(b))
	h = dispatcher.HashMore(h, []byte{'@'})
	return dispatcher.HashFoldMore(h, p.uri.Host.In(b))
}

// authUser finds the username of the first Authorization or
// Proxy-Authorization header (Digest username="...").
func (p *proc) authUser() (parser.Span, bool) {
	m := &p.m
	for _, k := range [...]parser.Kind{parser.KindAuthorization, parser.KindProxyAuthorization} {
		h, ok := m.Header(k)
		if !ok {
			continue
		}
		if u, ok := authParam(m.Raw(), h.Value, "username"); ok {
			return u, true
		}
	}
	return parser.Span{}, false
}

// authParam finds name=value in the comma-separated auth-params of a
// credentials value ("Digest a=1, b="x""), quotes removed.
func authParam(b []byte, s parser.Span, name string) (parser.Span, bool) {
	i := s.Start
	// Skip the scheme token.
	for i < s.End && b[i] != ' ' && b[i] != '\t' {
		i++
	}
	for i < s.End {
		for i < s.End && (b[i] == ' ' || b[i] == '\t' || b[i] == ',' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
		ns := i
		for i < s.End && b[i] != '=' && b[i] != ' ' && b[i] != '\t' {
			i++
		}
		ne := i
		for i < s.End && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i >= s.End || b[i] != '=' {
			return parser.Span{}, false
		}
		i++
		for i < s.End && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		var v parser.Span
		if i < s.End && b[i] == '"' {
			i++
			vs := i
			for i < s.End && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if i >= s.End {
				return parser.Span{}, false
			}
			v = parser.Span{Start: vs, End: i}
			i++
		} else {
			vs := i
			for i < s.End && b[i] != ',' && b[i] != ' ' && b[i] != '\t' {
				i++
			}
			v = parser.Span{Start: vs, End: i}
		}
		if parser.EqualFold(b[ns:ne], name) {
			return v, true
		}
	}
	return parser.Span{}, false
}

// response routes a response statelessly (step 7): the top Via must be ours
// and its branch must verify against the Via below it; that Via is where the
// response goes.
func (p *proc) response(out []byte) ([]byte, netip.AddrPort) {
	m := &p.m
	b := m.Raw()
	it := m.Values(parser.KindVia)
	if !it.Next() || parser.ParseVia(b, it.Value(), &p.via) != nil || !p.via.HasBranch {
		p.st.drops[dropResponseNotOurs].Add(1)
		return out[:0], netip.AddrPort{}
	}
	t, _, ok := splitBranch(p.via.Branch.In(b))
	if !ok || !p.viaIsOurs(&p.via) {
		p.st.drops[dropResponseNotOurs].Add(1)
		return out[:0], netip.AddrPort{}
	}
	if !it.Next() {
		p.st.drops[dropResponseNoVia].Add(1)
		return out[:0], netip.AddrPort{}
	}
	if parser.ParseVia(b, it.Value(), &p.via) != nil {
		p.st.drops[dropResponseUnroutable].Add(1)
		return out[:0], netip.AddrPort{}
	}
	// Verify T. The 2543 form needs From tag and CSeq number.
	var fromTag parser.Span
	var cseq uint32
	if !p.via.HasMagicCookie(b) {
		h, ok := m.Header(parser.KindFrom)
		if !ok || parser.ParseNameAddr(b, h.Value, &p.na) != nil {
			p.st.drops[dropResponseBadBranch].Add(1)
			return out[:0], netip.AddrPort{}
		}
		fromTag = p.na.Tag
		n, _, err := m.CSeq()
		if err != nil {
			p.st.drops[dropResponseBadBranch].Add(1)
			return out[:0], netip.AddrPort{}
		}
		cseq = n
	}
	if txMAC(p.e.key, b, &p.via, m.CallID(), fromTag, cseq) != t {
		p.st.drops[dropResponseBadBranch].Add(1)
		return out[:0], netip.AddrPort{}
	}
	dst, ok := viaTarget(b, &p.via)
	if !ok {
		p.st.drops[dropResponseUnroutable].Add(1)
		return out[:0], netip.AddrPort{}
	}
	ed := &p.ed
	ed.Reset()
	ed.RemoveTopVia(m)
	if ed.Size(m) > maxUDPPayload {
		p.st.drops[dropTooLarge].Add(1)
		return out[:0], netip.AddrPort{}
	}
	res, err := ed.AppendTo(out[:0], m)
	if err != nil {
		p.st.drops[dropTooLarge].Add(1)
		return out[:0], netip.AddrPort{}
	}
	p.st.fwdResponses.Add(1)
	return res, dst
}

// viaTarget is where a response goes by a Via (RFC 3261 §18.2.2, RFC 3581):
// received (else the sent-by host, which must be an IP literal), port rport
// (else the sent-by port, else 5060).
func viaTarget(b []byte, v *parser.Via) (netip.AddrPort, bool) {
	var ip netip.Addr
	var ok bool
	if v.HasReceived {
		ip, ok = parser.ParseIP(v.Received.In(b))
	} else {
		ip, ok = parser.ParseIP(v.Host.In(b))
	}
	if !ok {
		return netip.AddrPort{}, false
	}
	port := v.RPortValue(b)
	if port == 0 {
		port = v.Port
	}
	if port == 0 {
		port = 5060
	}
	ap := netip.AddrPortFrom(ip.Unmap(), uint16(port))
	return ap, usable(ap)
}

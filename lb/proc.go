package lb

import (
	"net/netip"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/health"
	"github.com/sipfront/sipfront/parser"
)

// maxUDPPayload is the largest datagram we send (IPv4: 65535 - 20 - 8).
const maxUDPPayload = 65507

// proc is one worker's message processor. Everything a message needs is
// preallocated here (the parsed message, the parsed fields, the editor, text
// scratch), so handling a message allocates nothing. A proc is used by one
// goroutine at a time: each UDP worker owns one; stream connections take one
// from a pool per message.
type proc struct {
	e  *Engine
	st *workerStats

	o   *origin // the message being handled
	key uint64  // the selection key of the current request

	m   parser.Message
	ess parser.Essentials
	ed  parser.Editor
	via parser.Via
	na  parser.NameAddr
	uri parser.URI
	out []byte      // output buffer of a pooled proc (stream connections); UDP workers write into their batch
	txt [1024]byte  // composes one inserted value at a time (the Editor copies it)
	adv [2][64]byte // "ip:port" of wildcard listeners, per message (two for a double Record-Route)
}

// handle processes one received message from o. It appends what must be
// sent to out (which must have room for maxUDPPayload bytes) and returns it
// with its target; an empty result means nothing is sent. It never panics on
// any input and allocates nothing.
func (p *proc) handle(in []byte, o *origin, out []byte) ([]byte, target) {
	p.o = o
	m := &p.m
	err := parser.Parse(in, m)
	if err == parser.ErrKeepAlive {
		p.st.drops[dropKeepAlive].Add(1)
		return out[:0], target{}
	}
	if !m.IsRequest() {
		p.st.responses.Add(1)
		if err != nil {
			p.st.drops[dropMalformedResponse].Add(1)
			return out[:0], target{}
		}
		return p.response(out)
	}
	p.st.requests[m.Method()].Add(1)
	if err != nil {
		return p.refuse(out, replyMalformed)
	}
	return p.request(out)
}

// identity returns the "host:port" sipfront writes in its Via, Record-Route
// and Path for listener id; slot picks the scratch buffer for a wildcard
// listener (two identities may be needed at once).
func (p *proc) identity(id *ident, slot int) []byte {
	if id.fixed != nil {
		return id.fixed
	}
	local := p.o.local
	b := p.adv[slot][:0]
	if local.Is6() && !local.Is4In6() {
		b = append(b, '[')
		b = local.AppendTo(b)
		b = append(b, ']')
	} else {
		b = local.Unmap().AppendTo(b)
	}
	b = append(b, ':')
	return appendUint(b, uint64(id.addr.Port()))
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

// routeInfo is what our own Route values at the top of a request carry.
type routeInfo struct {
	popped           int // how many of ours (1, or 2 after a double Record-Route)
	cookie, flow     parser.Span
	hasCookie, flow2 bool
	next             parser.Span // the Route after ours
	hasNext          bool
}

// ourRoutes reads the Route values that point at sipfront at the top of the
// request: one, or two when we double-Record-Routed (RFC 5658). Each value
// is parsed once; the cookie and flow token are picked up on the way.
func (p *proc) ourRoutes() routeInfo {
	var ri routeInfo
	it := p.m.Values(parser.KindRoute)
	for it.Next() {
		if ri.popped == 2 || !p.isOurRoute(it.Value(), &ri) {
			ri.next, ri.hasNext = it.Value(), true
			break
		}
		ri.popped++
	}
	return ri
}

func (p *proc) request(out []byte) ([]byte, target) {
	m, e, o := &p.m, &p.ess, p.o
	b := m.Raw()
	method := m.Method()
	if !parser.EqualFold(m.Bytes(m.Version()), "SIP/2.0") {
		return p.refuse(out, replyVersion)
	}
	if err := m.Check(e); err != nil {
		if err == parser.ErrCSeqMethod && method == parser.MethodOther {
			return p.refuse(out, replyMethodMismatch)
		}
		return p.refuse(out, replyMalformed)
	}
	if s := e.RequestURI.Scheme; s != parser.SchemeSIP && s != parser.SchemeSIPS {
		return p.refuse(out, replyScheme)
	}
	if e.TopVia.HasBranch && e.TopVia.Branch.Len() == len(parser.MagicCookie) && e.TopVia.HasMagicCookie(b) {
		// A bare magic cookie cannot identify a transaction (RFC 4475 §3.2.1).
		return p.refuse(out, replyMalformed)
	}
	if e.HasMaxForwards && e.MaxForwards == 0 {
		return p.refuse(out, replyTooManyHops)
	}
	if method != parser.MethodACK && method != parser.MethodCANCEL && m.First(parser.KindProxyRequire) >= 0 {
		// sipfront supports no proxy extension (RFC 3261 §16.3 step 5).
		return p.refuse(out, replyProxyRequire)
	}
	loop := loopHash(m, e, p.txt[:0]) // p.txt is free until the rewrite below
	if p.looped(loop) {
		return p.refuse(out, replyLoop)
	}

	tbl := p.e.disp.Current()
	backend := tbl.ByIP(o.src.Addr()) // the sender, when it is one of our back ends
	var tgt target
	var rrDest *dispatcher.Dest // the back end our Record-Route cookie names
	var cookieTo target         // the address and transport of it the cookie names
	toBackend := false          // the request goes to rrDest (a reply is due from it)
	var ri routeInfo
	upgradable := false // may switch to TCP for size (RFC 3261 §18.1.1)

	// Routing (DESIGN.md "One request, one response" step 4).
	if m.First(parser.KindRoute) >= 0 {
		ri = p.ourRoutes()
	}
	if ri.popped > 0 {
		switch {
		case ri.hasNext:
			// Loose routing: a Route follows ours. Only a back end, or a
			// route set leading to one, may send us on (never an open relay).
			t, reason, ok := p.routeTarget(ri.next)
			if !ok {
				return p.refuse(out, reason)
			}
			if backend == nil && tbl.ByIP(t.addr.Addr()) == nil {
				return p.refuse(out, replyRelayDenied)
			}
			tgt = t
			p.st.routedByRoute.Add(1)
		case backend != nil && ri.flow2:
			// Back end toward a phone on TCP or TLS: the flow token names
			// the phone's connection.
			ap, tr, res := parseCookie(p.e.key, ri.flow.In(b))
			if res != cookieOK {
				return p.refuse(out, replyForgedCookie)
			}
			tgt = target{tr: tr, addr: ap}
			p.st.routedByFlow.Add(1)
		case backend != nil:
			// Back end toward a phone: the Request-URI is the phone's
			// contact (Path or our Record-Route brought it here).
			ap, ok := uriTarget(b, &e.RequestURI)
			if !ok {
				return p.refuse(out, replyUnresolvable)
			}
			tgt = target{tr: uriTransport(b, &e.RequestURI), addr: ap}
			p.st.routedByURI.Add(1)
		case ri.hasCookie:
			ap, tr, res := parseCookie(p.e.key, ri.cookie.In(b))
			if res != cookieOK {
				return p.refuse(out, replyForgedCookie)
			}
			d := tbl.ByAddr(ap)
			if d == nil {
				return p.refuse(out, replyStaleCookie)
			}
			// The cookie names the very target the dialog went to (one of
			// several for a destination named in DNS): stay on it.
			tgt = target{tr: tr, addr: ap}
			rrDest, cookieTo, toBackend = d, tgt, true
			p.st.routedByCookie.Add(1)
		}
		// Our Route without cookie and nothing after it: a phone that uses
		// sipfront as its outbound proxy. Dispatched below.
	}
	if !tgt.addr.IsValid() {
		p.key = p.selectKey()
		d := tbl.Set(p.e.cfg.Set).Select(p.e.cfg.Alg, p.key)
		if d == nil {
			return p.refuse(out, replyNoDestination)
		}
		d.RT.Selected.Add(1)
		ap, tr := d.TargetTransport(p.key)
		tgt = target{tr: tr, addr: ap}
		rrDest, cookieTo, toBackend = d, tgt, true
		upgradable = tr == trUDP
		p.st.routedBySelect.Add(1)
	}
	if rrDest == nil {
		// Toward a phone, the cookie names the back end it came from; on a
		// route to a back end, that back end.
		switch {
		case backend != nil:
			rrDest, cookieTo = backend, backendTarget(backend, o.src.Addr())
		default:
			if rrDest = tbl.ByIP(tgt.addr.Addr()); rrDest != nil {
				cookieTo, toBackend = tgt, true
			}
		}
	}
	// RFC 3261 §18.1.1: a request over 1300 bytes goes over TCP when we can
	// (a TCP listener to name in Via, a destination without an explicit
	// transport); the stream layer falls back to UDP if the connection fails.
	if upgradable && len(b) > 1300-200 && p.e.idents[trTCP] != nil && !hasTransportParam(rrDest.URI) {
		tgt.tr, tgt.upgraded = trTCP, true
	}
	if !isStream(tgt.tr) && !p.e.hasUDP {
		tgt.tr = trTCP // no UDP socket to send from: TCP is the only way out
	}

	// Rewrite (step 5): our Route(s) popped, received/rport, our Via,
	// Max-Forwards, Record-Route or Path.
	ed := &p.ed
	ed.Reset()
	if ri.popped > 0 {
		ed.RemoveTopRoutes(m, ri.popped)
	}
	ed.SetReceived(m, &e.TopVia, o.src.Addr().Unmap().AppendTo(p.txt[:0]), int(o.src.Port()))
	outID := p.e.identFor(tgt.tr, o)
	t := txMAC(p.e.key, b, &e.TopVia, m.CallID(), e.From.Tag, e.CSeq)
	v := append(p.txt[:0], "SIP/2.0/"...)
	v = append(v, viaToken(tgt.tr)...)
	v = append(v, ' ')
	v = append(v, p.identity(outID, 0)...)
	v = append(v, ";branch="...)
	v = appendBranch(v, t, loop)
	ed.PrependVia(m, v)
	mf := 70
	if e.HasMaxForwards {
		mf = e.MaxForwards - 1
	}
	ed.SetMaxForwards(m, mf)
	initial := !e.To.HasTag
	recordRoute := initial && !p.e.cfg.NoRecordRoute &&
		(method == parser.MethodINVITE || method == parser.MethodSUBSCRIBE || method == parser.MethodREFER)
	if method == parser.MethodREGISTER || recordRoute {
		add := ed.AddRecordRoute
		if method == parser.MethodREGISTER {
			add = ed.AddPath
		}
		// One value when both sides use the same listener; two when the
		// transport or address changes (RFC 5658): the top one faces the
		// next hop, the other faces where the request came from (insertions
		// at one place keep the order they are added in).
		add(m, p.ourRoute(outID, 0, cookieTo, nil))
		if outID != o.id {
			add(m, p.ourRoute(o.id, 1, cookieTo, o))
		}
	}
	if limit := p.sizeLimit(tgt.tr); ed.Size(m) > limit {
		return p.refuse(out, replyTooLarge)
	}
	res, err := ed.AppendTo(out[:0], m)
	if err != nil {
		// The editor's limits are far above what one request needs; a
		// message that still exceeds them is answered as too large.
		return p.refuse(out, replyTooLarge)
	}
	p.st.fwdRequests.Add(1)
	if pr := p.e.prober; pr != nil && toBackend && method != parser.MethodACK {
		pr.NoteSent(rrDest) // a reply is due from this back end (an ACK gets none)
	}
	tgt.from, tgt.dial = outID, true
	return res, tgt
}

// sizeLimit is the largest message we send over tr.
func (p *proc) sizeLimit(tr transport) int {
	if isStream(tr) {
		return parser.MaxMessageSize
	}
	return maxUDPPayload
}

// ourRoute composes <sip:ID;transport=T;lr;sfc=COOKIE[;sft=FLOW]> for
// Record-Route and Path. The cookie names the back end (its address and
// transport; left out when none is known); the flow token, on the value that
// faces a phone connected over TCP or TLS (phone non-nil), names that
// connection.
func (p *proc) ourRoute(id *ident, slot int, dest target, phone *origin) []byte {
	r := append(p.txt[:0], "<sip:"...)
	r = append(r, p.identity(id, slot)...)
	switch id.tr {
	case trTCP:
		r = append(r, ";transport=tcp"...)
	case trTLS:
		r = append(r, ";transport=tls"...)
	}
	r = append(r, ";lr"...)
	if dest.addr.IsValid() {
		r = append(r, ";"+cookieParam+"="...)
		r = appendCookie(r, p.e.key, dest.addr, dest.tr)
	}
	if phone != nil && isStream(phone.tr) {
		r = append(r, ";"+flowParam+"="...)
		r = appendCookie(r, p.e.key, phone.src, phone.tr)
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
	// An initial request from a phone has a single Via: when the top Via
	// (parsed by Check) ends where the only Via line ends, no value follows
	// it and there is nothing to walk.
	if i := m.First(parser.KindVia); i >= 0 && m.Next(i) < 0 && m.Headers()[i].Value.End == p.ess.TopVia.Value.End {
		return false
	}
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
	if !v.IP.IsValid() {
		return false
	}
	port := uint16(v.Port)
	if port == 0 {
		port = 5060
	}
	return p.e.self.is(v.IP, port)
}

// isOurRoute parses a Route value into p.na and p.uri and reports whether
// it points at sipfront; if so, its cookie and flow token go into ri (one
// pass over the URI parameters).
func (p *proc) isOurRoute(rv parser.Span, ri *routeInfo) bool {
	b := p.m.Raw()
	if parser.ParseNameAddr(b, rv, &p.na) != nil || parser.ParseURI(b, p.na.URI, &p.uri) != nil {
		return false
	}
	u := &p.uri
	if (u.Scheme != parser.SchemeSIP && u.Scheme != parser.SchemeSIPS) || !u.IP.IsValid() {
		return false
	}
	port := uint16(u.Port)
	if port == 0 {
		port = 5060
		if u.Scheme == parser.SchemeSIPS || uriTransport(b, u) == trTLS {
			port = 5061
		}
	}
	if !p.e.self.is(u.IP, port) {
		return false
	}
	for it := parser.Params(b, u.Params); it.Next(); {
		name := it.Name().In(b)
		if len(name) != 3 || name[0] != 's' || name[1] != 'f' {
			continue
		}
		switch name[2] {
		case 'c':
			if !ri.hasCookie {
				ri.cookie, ri.hasCookie = it.Value(), true
			}
		case 't':
			if !ri.flow2 {
				ri.flow, ri.flow2 = it.Value(), true
			}
		}
	}
	return true
}

// routeTarget resolves a Route value to an address and transport.
func (p *proc) routeTarget(rv parser.Span) (target, replyReason, bool) {
	b := p.m.Raw()
	if parser.ParseNameAddr(b, rv, &p.na) != nil || parser.ParseURI(b, p.na.URI, &p.uri) != nil {
		return target{}, replyMalformed, false
	}
	ap, ok := uriTarget(b, &p.uri)
	if !ok {
		return target{}, replyUnresolvable, false
	}
	return target{tr: uriTransport(b, &p.uri), addr: ap}, 0, true
}

// uriTarget is the address a sip/sips URI with an IP literal host names (the
// default port by scheme). Host names are not resolved on the data path.
func uriTarget(b []byte, u *parser.URI) (netip.AddrPort, bool) {
	if (u.Scheme != parser.SchemeSIP && u.Scheme != parser.SchemeSIPS) || !u.IP.IsValid() {
		return netip.AddrPort{}, false
	}
	port := uint16(u.Port)
	if port == 0 {
		port = 5060
		if u.Scheme == parser.SchemeSIPS || uriTransport(b, u) == trTLS {
			port = 5061
		}
	}
	ap := netip.AddrPortFrom(u.IP.Unmap(), port)
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
// response goes, over its transport (for TCP and TLS, the connection its
// request came in on, which the stream layer finds by address).
func (p *proc) response(out []byte) ([]byte, target) {
	m := &p.m
	b := m.Raw()
	it := m.Values(parser.KindVia)
	if !it.Next() || parser.ParseVia(b, it.Value(), &p.via) != nil || !p.via.HasBranch {
		p.st.drops[dropResponseNotOurs].Add(1)
		return out[:0], target{}
	}
	if pr := p.e.prober; pr != nil {
		// Passive detection: every response from a back end says it lives
		// (and a 503 with Retry-After says for how long it does not want
		// traffic). A reply to one of our probes goes to the prober only.
		code := m.StatusCode()
		var ra time.Duration
		if code == 503 {
			ra, _ = health.RetryAfter(m)
		}
		pr.NoteReply(p.o.src, code, ra)
		if health.IsProbeBranch(p.via.Branch.In(b)) {
			pr.Deliver(m)
			p.st.probeReplies.Add(1)
			return out[:0], target{}
		}
	}
	t, _, ok := splitBranch(p.via.Branch.In(b))
	if !ok || !p.viaIsOurs(&p.via) {
		p.st.drops[dropResponseNotOurs].Add(1)
		return out[:0], target{}
	}
	if !it.Next() {
		p.st.drops[dropResponseNoVia].Add(1)
		return out[:0], target{}
	}
	if parser.ParseVia(b, it.Value(), &p.via) != nil {
		p.st.drops[dropResponseUnroutable].Add(1)
		return out[:0], target{}
	}
	// Verify T. The 2543 form needs From tag and CSeq number.
	var fromTag parser.Span
	var cseq uint32
	if !p.via.HasMagicCookie(b) {
		h, ok := m.Header(parser.KindFrom)
		if !ok || parser.ParseNameAddr(b, h.Value, &p.na) != nil {
			p.st.drops[dropResponseBadBranch].Add(1)
			return out[:0], target{}
		}
		fromTag = p.na.Tag
		n, _, err := m.CSeq()
		if err != nil {
			p.st.drops[dropResponseBadBranch].Add(1)
			return out[:0], target{}
		}
		cseq = n
	}
	if txMAC(p.e.key, b, &p.via, m.CallID(), fromTag, cseq) != t {
		p.st.drops[dropResponseBadBranch].Add(1)
		return out[:0], target{}
	}
	dst, ok := viaTarget(b, &p.via)
	if !ok {
		p.st.drops[dropResponseUnroutable].Add(1)
		return out[:0], target{}
	}
	tr := viaTransport(b, &p.via)
	ed := &p.ed
	ed.Reset()
	ed.RemoveTopVia(m)
	if ed.Size(m) > p.sizeLimit(tr) {
		p.st.drops[dropTooLarge].Add(1)
		return out[:0], target{}
	}
	res, err := ed.AppendTo(out[:0], m)
	if err != nil {
		p.st.drops[dropTooLarge].Add(1)
		return out[:0], target{}
	}
	p.st.fwdResponses.Add(1)
	return res, target{tr: tr, addr: dst, from: p.e.identFor(tr, p.o)}
}

// viaTarget is where a response goes by a Via (RFC 3261 §18.2.2, RFC 3581):
// received (else the sent-by host, which must be an IP literal), port rport
// (else the sent-by port, else 5060).
func viaTarget(b []byte, v *parser.Via) (netip.AddrPort, bool) {
	ip, ok := v.IP, v.IP.IsValid()
	if v.HasReceived {
		ip, ok = parser.ParseIP(v.Received.In(b))
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

// backendTarget is the listed address (and transport) of back end d that
// lives on ip: the address a new request for it goes to. A back end may send
// from another port (TCP) or be one of the targets of a name.
func backendTarget(d *dispatcher.Dest, ip netip.Addr) target {
	if ap, tr, ok := d.TargetOn(ip); ok {
		return target{tr: tr, addr: ap}
	}
	return target{tr: d.Transport, addr: d.Addr}
}

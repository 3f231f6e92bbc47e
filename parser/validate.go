package parser

// Essentials are the fields a proxy reads from every message, parsed once by
// Check and kept so routing and rewriting need not parse them again. Spans
// index the message buffer; the lifetime rule of Message applies.
type Essentials struct {
	TopVia         Via
	From, To       NameAddr
	CSeq           uint32
	CSeqMethod     Span
	MaxForwards    int
	HasMaxForwards bool
	RequestURI     URI // requests only
}

// Validate checks what a proxy needs before it can act on a message that
// Parse accepted; see Check.
func (m *Message) Validate() error {
	var e Essentials
	return m.Check(&e)
}

// Check validates a message that Parse accepted and fills e (RFC 3261 §8.1.1
// and §16.3): the mandatory headers Via, From, To, Call-ID and CSeq are
// present and well formed, the single-valued ones are not repeated, the top
// Via parses, the CSeq method matches the request method, Max-Forwards is a
// number and the Request-URI parses (fully for sip and sips). It returns the
// first failure as a sentinel and allocates nothing.
//
// It does not judge what a proxy decides (SIP version, URI scheme, loops);
// the caller answers those with their own status codes.
func (m *Message) Check(e *Essentials) error {
	b := m.buf
	top, ok := m.FirstValue(KindVia)
	if !ok {
		return ErrMissingVia
	}
	if err := ParseVia(b, top, &e.TopVia); err != nil {
		return err
	}
	for _, k := range [...]Kind{KindFrom, KindTo, KindCallID, KindCSeq} {
		i := m.first[k]
		if i < 0 {
			return missing[k]
		}
		if m.hdr[i].next >= 0 {
			return ErrDuplicate
		}
	}
	if i := m.first[KindMaxForwards]; i >= 0 && m.hdr[i].next >= 0 {
		return ErrDuplicate
	}
	if err := ParseNameAddr(b, m.hdr[m.first[KindFrom]].Value, &e.From); err != nil || e.From.Star {
		return ErrNameAddr
	}
	if err := ParseNameAddr(b, m.hdr[m.first[KindTo]].Value, &e.To); err != nil || e.To.Star {
		return ErrNameAddr
	}
	if id := m.hdr[m.first[KindCallID]].Value; id.Empty() || !validCallID(b, id) {
		return ErrCallID
	}
	var err error
	if e.CSeq, e.CSeqMethod, err = m.CSeq(); err != nil {
		return err
	}
	if e.MaxForwards, e.HasMaxForwards, err = m.MaxForwards(); err != nil {
		return err
	}
	if m.request {
		if string(e.CSeqMethod.In(b)) != string(m.MethodBytes()) {
			return ErrCSeqMethod
		}
		if err := ParseURI(b, m.ruri, &e.RequestURI); err != nil {
			return ErrRequestURI
		}
		// Headers are not allowed in a Request-URI (RFC 3261 §19.1.1 table).
		if u := &e.RequestURI; (u.Scheme == SchemeSIP || u.Scheme == SchemeSIPS) &&
			u.Headers.Start > u.Opaque.Start {
			return ErrRequestURI
		}
	}
	// Contact values must be well formed: a registrar or the callee would
	// otherwise store or dial a URI the proxy let through broken.
	var na NameAddr
	for it := m.Values(KindContact); it.Next(); {
		if err := ParseNameAddr(b, it.Value(), &na); err != nil {
			return ErrNameAddr
		}
	}
	return nil
}

var missing = [kindCount]error{
	KindVia: ErrMissingVia, KindFrom: ErrMissingFrom, KindTo: ErrMissingTo,
	KindCallID: ErrMissingCallID, KindCSeq: ErrMissingCSeq,
}

// validCallID checks callid = word [ "@" word ]: no white space, no control
// characters (RFC 3261 §25.1).
func validCallID(b []byte, s Span) bool {
	id := s.In(b)
	return wordEnd(id) == len(id)
}

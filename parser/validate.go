package parser

// Validate checks what a proxy needs before it can act on a message that
// Parse accepted (RFC 3261 §8.1.1 and §16.3): the mandatory headers Via, From,
// To, Call-ID and CSeq are present and well formed, the single-valued ones
// are not repeated, the top Via parses, the CSeq method matches the request
// method, Max-Forwards is a number and a sip/sips Request-URI parses. It
// returns the first failure as a sentinel and allocates nothing.
//
// It does not judge what a proxy decides (SIP version, URI scheme, loops);
// the caller answers those with their own status codes.
func (m *Message) Validate() error {
	b := m.buf
	if m.first[KindVia] < 0 {
		return ErrMissingVia
	}
	top, ok := m.FirstValue(KindVia)
	if !ok {
		return ErrMissingVia
	}
	var v Via
	if err := ParseVia(b, top, &v); err != nil {
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
	if m.Count(KindMaxForwards) > 1 {
		return ErrDuplicate
	}
	var na NameAddr
	for _, k := range [...]Kind{KindFrom, KindTo} {
		if err := ParseNameAddr(b, m.hdr[m.first[k]].Value, &na); err != nil || na.Star {
			return ErrNameAddr
		}
	}
	if id := m.hdr[m.first[KindCallID]].Value; id.Empty() || !validCallID(b, id) {
		return ErrCallID
	}
	_, method, err := m.CSeq()
	if err != nil {
		return err
	}
	if _, _, err := m.MaxForwards(); err != nil {
		return err
	}
	if m.request {
		if string(method.In(b)) != string(m.MethodBytes()) {
			return ErrCSeqMethod
		}
		var u URI
		if err := ParseURI(b, m.ruri, &u); err != nil {
			return ErrRequestURI
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
	for i := s.Start; i < s.End; i++ {
		if c := b[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

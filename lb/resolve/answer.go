package resolve

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// typeNAPTR is RFC 3403's record type, which dnsmessage does not know: its
// body arrives as an UnknownResource and parseNAPTR reads it.
const typeNAPTR dnsmessage.Type = 35

// maxRecords bounds what one answer contributes, so that a hostile or broken
// server cannot make a lookup fan out without end.
const maxRecords = 32

// maxCNAME bounds a CNAME chain inside one answer.
const maxCNAME = 8

type srvRR struct {
	prio, weight, port uint16
	target             string // with trailing dot; "." means no service
}

type naptrRR struct {
	order, pref                      uint16
	flags, services, regexp, replace string // replace: with trailing dot
}

// answer is what one reply says about one question.
type answer struct {
	rcode     dnsmessage.RCode
	truncated bool
	// ttl is the smallest TTL among the CNAMEs followed and the records
	// kept; for an answer without records it is the negative TTL of the
	// SOA in the authority section (RFC 2308 §5: the smaller of the SOA's
	// TTL and MINIMUM). hasTTL is false when neither exists.
	ttl    uint32
	hasTTL bool
	addrs  []netip.Addr
	srvs   []srvRR
	naptrs []naptrRR
}

func (a *answer) minTTL(t uint32) {
	if !a.hasTTL || t < a.ttl {
		a.ttl, a.hasTTL = t, true
	}
}

// empty reports an answer that found nothing: NXDOMAIN, or no record of
// the type asked (NODATA).
func (a *answer) empty() bool { return len(a.addrs)+len(a.srvs)+len(a.naptrs) == 0 }

// errMismatch is a reply to some other query: the UDP reader drops it and
// keeps waiting for ours.
var errMismatch = errors.New("resolve: reply to another query")

type owned[T any] struct {
	name string
	ttl  uint32
	v    T
}

// parseAnswer reads a reply to the query (id, q, qtype). It checks that the
// reply is a response with our ID and our question (errMismatch if not),
// follows the CNAME chain from q inside the answer section, and keeps the
// records of type qtype owned by the end of that chain (at most maxRecords
// of them). Records of other classes and types are skipped. Any malformed
// part is ErrBadAnswer.
func parseAnswer(msg []byte, id uint16, q dnsmessage.Name, qtype dnsmessage.Type) (answer, error) {
	var a answer
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return a, ErrBadAnswer
	}
	if !h.Response || h.ID != id || h.OpCode != 0 {
		return a, errMismatch
	}
	a.rcode, a.truncated = h.RCode, h.Truncated
	qs, err := p.AllQuestions()
	if err != nil {
		return a, ErrBadAnswer
	}
	switch {
	case len(qs) == 1:
		if qs[0].Type != qtype || qs[0].Class != dnsmessage.ClassINET || !strings.EqualFold(qs[0].Name.String(), q.String()) {
			return a, errMismatch
		}
	case len(qs) == 0 && h.RCode != dnsmessage.RCodeSuccess && h.RCode != dnsmessage.RCodeNameError:
		// Servers may drop the question from an error reply (FORMERR,
		// NOTIMP); the ID and the connected socket vouch for it.
		return a, nil
	default:
		return a, errMismatch
	}
	if h.RCode != dnsmessage.RCodeSuccess && h.RCode != dnsmessage.RCodeNameError {
		return a, nil // a failure: no data to read
	}

	var cnames []owned[string]
	var addrs []owned[netip.Addr]
	var srvs []owned[srvRR]
	var naptrs []owned[naptrRR]
	for {
		rh, err := p.AnswerHeader()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return a, ErrBadAnswer
		}
		if rh.Class != dnsmessage.ClassINET {
			if p.SkipAnswer() != nil {
				return a, ErrBadAnswer
			}
			continue
		}
		name := rh.Name.String()
		switch {
		case rh.Type == dnsmessage.TypeCNAME && qtype != dnsmessage.TypeCNAME:
			r, err := p.CNAMEResource()
			if err != nil {
				return a, ErrBadAnswer
			}
			if len(cnames) < maxRecords {
				cnames = append(cnames, owned[string]{name, rh.TTL, r.CNAME.String()})
			}
		case rh.Type != qtype:
			if p.SkipAnswer() != nil {
				return a, ErrBadAnswer
			}
		case qtype == dnsmessage.TypeA:
			r, err := p.AResource()
			if err != nil {
				return a, ErrBadAnswer
			}
			if len(addrs) < maxRecords {
				addrs = append(addrs, owned[netip.Addr]{name, rh.TTL, netip.AddrFrom4(r.A)})
			}
		case qtype == dnsmessage.TypeAAAA:
			r, err := p.AAAAResource()
			if err != nil {
				return a, ErrBadAnswer
			}
			if len(addrs) < maxRecords {
				addrs = append(addrs, owned[netip.Addr]{name, rh.TTL, netip.AddrFrom16(r.AAAA)})
			}
		case qtype == dnsmessage.TypeSRV:
			r, err := p.SRVResource()
			if err != nil {
				return a, ErrBadAnswer
			}
			if len(srvs) < maxRecords {
				srvs = append(srvs, owned[srvRR]{name, rh.TTL, srvRR{r.Priority, r.Weight, r.Port, r.Target.String()}})
			}
		case qtype == typeNAPTR:
			r, err := p.UnknownResource()
			if err != nil {
				return a, ErrBadAnswer
			}
			n, ok := parseNAPTR(r.Data)
			if ok && len(naptrs) < maxRecords {
				naptrs = append(naptrs, owned[naptrRR]{name, rh.TTL, n})
			}
		default:
			if p.SkipAnswer() != nil {
				return a, ErrBadAnswer
			}
		}
	}

	// Follow the CNAME chain from the question to the owner of the data.
	cur := q.String()
	for range maxCNAME {
		next := ""
		for _, c := range cnames {
			if strings.EqualFold(c.name, cur) {
				next = c.v
				a.minTTL(c.ttl)
				break
			}
		}
		if next == "" {
			break
		}
		cur = next
	}
	for _, r := range addrs {
		if strings.EqualFold(r.name, cur) {
			a.addrs = append(a.addrs, r.v)
			a.minTTL(r.ttl)
		}
	}
	for _, r := range srvs {
		if strings.EqualFold(r.name, cur) {
			a.srvs = append(a.srvs, r.v)
			a.minTTL(r.ttl)
		}
	}
	for _, r := range naptrs {
		if strings.EqualFold(r.name, cur) {
			a.naptrs = append(a.naptrs, r.v)
			a.minTTL(r.ttl)
		}
	}
	if !a.empty() {
		return a, nil
	}
	// Negative answer: its TTL comes from the SOA (RFC 2308 §5).
	for {
		rh, err := p.AuthorityHeader()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return a, ErrBadAnswer
		}
		if rh.Type != dnsmessage.TypeSOA || rh.Class != dnsmessage.ClassINET {
			if p.SkipAuthority() != nil {
				return a, ErrBadAnswer
			}
			continue
		}
		soa, err := p.SOAResource()
		if err != nil {
			return a, ErrBadAnswer
		}
		a.minTTL(min(rh.TTL, soa.MinTTL))
	}
	return a, nil
}

// parseNAPTR reads the body of a NAPTR record (RFC 3403 §4.1): ORDER,
// PREFERENCE, then FLAGS, SERVICES and REGEXP as <character-string>s, then
// REPLACEMENT, a domain name that must not be compressed. It refuses a body
// with bytes left over, a compression pointer, or a replacement label with
// bytes outside letters, digits, '-' and '_' (such a record cannot name an
// SRV sipfront would ask for). The replacement is returned with its
// trailing dot; the root is ".".
func parseNAPTR(b []byte) (naptrRR, bool) {
	var n naptrRR
	if len(b) < 4 {
		return n, false
	}
	n.order = binary.BigEndian.Uint16(b)
	n.pref = binary.BigEndian.Uint16(b[2:])
	b = b[4:]
	var strs [3]string
	for i := range strs {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return n, false
		}
		strs[i] = string(b[1 : 1+int(b[0])])
		b = b[1+int(b[0]):]
	}
	n.flags, n.services, n.regexp = strs[0], strs[1], strs[2]
	var sb strings.Builder
	wire := 0
	for {
		if len(b) == 0 {
			return n, false
		}
		l := int(b[0])
		if l&0xc0 != 0 {
			return n, false // compression pointer or extended label type
		}
		wire += 1 + l
		if wire > 255 || len(b) < 1+l {
			return n, false
		}
		if l == 0 {
			b = b[1:]
			break
		}
		for _, c := range b[1 : 1+l] {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return n, false
			}
		}
		sb.Write(b[1 : 1+l])
		sb.WriteByte('.')
		b = b[1+l:]
	}
	if len(b) != 0 {
		return n, false
	}
	n.replace = sb.String()
	if n.replace == "" {
		n.replace = "."
	}
	return n, true
}

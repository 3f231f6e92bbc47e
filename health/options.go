package health

import (
	"github.com/sipfront/sipfront/dispatcher"
	"strconv"
	"time"

	"github.com/sipfront/sipfront/parser"
)

// The probe's identity on the wire.
//
// Every probe carries, in its Via branch, the slot of the destination it
// probes and a 64-bit random nonce:
//
//	z9hG4bKsfp <slot: 6 hex> <nonce: 16 hex>
//
// The slot finds the destination without a map; the nonce must equal the
// one outstanding for that slot, so a reply is accepted once, only while its
// probe is outstanding, and cannot be forged by whoever has not seen the
// probe. The top bit of a nonce is always set, which keeps it apart from
// the small words (0 idle, 1 claimed, 2 done) the in-flight word also holds.

// BranchPrefix starts the Via branch of every probe. The engine hands a
// response whose top Via branch starts with it to Prober.Deliver, and never
// routes it. It cannot collide with the data path's branches ("z9hG4bKsf"
// followed by 24 lowercase hex digits): 'p' is not a hex digit.
const BranchPrefix = parser.MagicCookie + "sfp"

const (
	slotDigits  = 6
	nonceDigits = 16
	branchLen   = len(BranchPrefix) + slotDigits + nonceDigits
	nonceBit    = uint64(1) << 63
)

// IsProbeBranch reports whether a Via branch value is a probe's: it starts
// with BranchPrefix. It is the whole check the engine needs before Deliver.
func IsProbeBranch(branch []byte) bool {
	return len(branch) >= len(BranchPrefix) && string(branch[:len(BranchPrefix)]) == BranchPrefix
}

const hexDigits = "0123456789abcdef"

func appendHex(b []byte, v uint64, digits int) []byte {
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(uint(i)*4))&0xf])
	}
	return b
}

// parseHex reads exactly len(b) lowercase hex digits, as appendHex writes.
func parseHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func appendBranch(b []byte, slot int, nonce uint64) []byte {
	b = append(b, BranchPrefix...)
	b = appendHex(b, uint64(slot), slotDigits)
	return appendHex(b, nonce, nonceDigits)
}

// parseBranch returns the slot and nonce of a probe branch; ok is false for
// anything appendBranch cannot have written.
func parseBranch(br []byte) (slot int, nonce uint64, ok bool) {
	if len(br) != branchLen || !IsProbeBranch(br) {
		return 0, 0, false
	}
	s, ok1 := parseHex(br[len(BranchPrefix) : len(BranchPrefix)+slotDigits])
	n, ok2 := parseHex(br[len(BranchPrefix)+slotDigits:])
	if !ok1 || !ok2 || n&nonceBit == 0 {
		return 0, 0, false
	}
	return int(s), n, true
}

// probe is what one OPTIONS request says.
type probe struct {
	tr      dispatcher.Transport
	uri     string // Request-URI and To: the destination's URI
	from    string // From URI
	viaHost string // sent-by of our Via
	slot    int
	nonce   uint64
	cseq    uint32
}

// appendOptions writes the OPTIONS request of pr to b, as Kamailio's
// keepalive has it: Request-URI and To are the destination URI, From the
// ping From with a tag; Call-ID and tag come from the nonce, which is random.
func appendOptions(b []byte, pr *probe) []byte {
	b = append(b, "OPTIONS "...)
	b = append(b, pr.uri...)
	b = append(b, " SIP/2.0\r\nVia: SIP/2.0/"...)
	switch pr.tr {
	case dispatcher.TCP:
		b = append(b, "TCP "...)
	case dispatcher.TLS:
		b = append(b, "TLS "...)
	default:
		b = append(b, "UDP "...)
	}
	b = append(b, pr.viaHost...)
	b = append(b, ";branch="...)
	b = appendBranch(b, pr.slot, pr.nonce)
	b = append(b, ";rport\r\nMax-Forwards: 70\r\nFrom: <"...)
	b = append(b, pr.from...)
	b = append(b, ">;tag="...)
	b = appendHex(b, pr.nonce>>32, 8)
	b = append(b, "\r\nTo: <"...)
	b = append(b, pr.uri...)
	b = append(b, ">\r\nCall-ID: sfp-"...)
	b = appendHex(b, pr.nonce, nonceDigits)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendUint(b, uint64(pr.cseq), 10)
	b = append(b, " OPTIONS\r\nContent-Length: 0\r\n\r\n"...)
	return b
}

// maxRetryAfter bounds what RetryAfter returns (2^31 seconds, about 68
// years), so that nothing overflows; any cap a Config sets is far below.
const maxRetryAfter = 1 << 31 * time.Second

// RetryAfter returns the delta-seconds of the first Retry-After header of m
// (RFC 3261 §20.33: "Retry-After: 120 (in a meeting);duration=3600"), and
// whether there is one that starts with digits. Comments and parameters are
// ignored; values past 2^31 seconds are clamped. It allocates nothing; the
// engine uses it to feed NoteReply.
func RetryAfter(m *parser.Message) (time.Duration, bool) {
	return parseRetryAfter(m.Value(parser.KindRetryAfter))
}

func parseRetryAfter(v []byte) (time.Duration, bool) {
	i := 0
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	start := i
	var n int64
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		if n < 1<<31 {
			n = n*10 + int64(v[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, false
	}
	if n >= 1<<31 {
		return maxRetryAfter, true
	}
	return time.Duration(n) * time.Second, true
}

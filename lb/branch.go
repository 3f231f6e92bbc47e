package lb

import (
	"encoding/binary"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// Our Via branch (RFC 3261 §16.11, stateless proxy):
//
//	z9hG4bK sf <T: 16 hex> <L: 8 hex>
//
// T identifies the client transaction and is a keyed MAC, so that a response
// can be verified without any state: the response carries the client's Via
// right below ours, and T is recomputed from it. For RFC 3261 clients T covers
// the client's branch and sent-by; for RFC 2543 clients (no magic cookie) it
// covers sent-by, Call-ID, From tag and CSeq number, which a response repeats.
// The To tag and the method are left out so that a CANCEL and the ACK of a
// non-2xx final response get the branch of their INVITE, as the downstream
// server needs to match them.
//
// L is the loop-detection part (RFC 3261 §16.6 step 8): a hash of what this
// hop routes by (Request-URI, Route values, Call-ID, From tag, CSeq number,
// Proxy-Require). A request that comes back with one of our Vias carrying the
// same L is a loop (482); one that comes back with a different Request-URI or
// Route is a spiral and is forwarded (RFC 3261 §16.3 step 4).
const (
	branchPrefix = parser.MagicCookie + "sf"
	branchLen    = len(branchPrefix) + 16 + 8
)

const hexDigits = "0123456789abcdef"

// appendHex appends v as digits (at most 16) lower-case hex digits,
// zero-padded. Eight digits are made at a time from a 32-bit half (hexWord)
// and appended at once.
func appendHex(dst []byte, v uint64, digits int) []byte {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], hexWord(uint32(v>>32)))
	binary.BigEndian.PutUint64(buf[8:], hexWord(uint32(v)))
	digits = min(digits, len(buf))
	return append(dst, buf[len(buf)-digits:]...)
}

// hexWord returns the eight lower-case hex digits of v, the first digit in
// the most significant byte. The nibbles are spread one per byte (byte k
// gets nibble k, counted from the low end) and turned into digits all at
// once: '0' is added to each, and 'a'-'0'-10 more to those above 9
// (nibble + 6 carries into bit 4 exactly for them).
func hexWord(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
	return x + 0x3030303030303030 + (x+0x0606060606060606)>>4&0x0101010101010101*('a'-'0'-10)
}

// hexVal maps a lower-case hex digit to its value and every other byte to
// 0xff, so parseHex decodes without a branch per digit.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(hexDigits); i++ {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

// parseHex reads exactly len(b) hex digits (lower case, as appendHex writes
// them).
func parseHex(b []byte) (uint64, bool) {
	var v uint64
	var bad byte
	for _, c := range b {
		d := hexVal[c]
		bad |= d
		v = v<<4 | uint64(d&0xf)
	}
	if bad&0x80 != 0 {
		return 0, false
	}
	return v, true
}

// txMAC computes T from the client's Via and the fields a response repeats.
// The input is gathered in a stack buffer and hashed in one pass (an input
// longer than the buffer, a very long RFC 2543 Call-ID, spills to the heap
// rather than being cut: a truncation would let two transactions share a
// branch).
func txMAC(k sipKey, b []byte, v *parser.Via, callID []byte, fromTag parser.Span, cseq uint32) uint64 {
	var buf [160]byte
	in := buf[:0]
	if v.HasMagicCookie(b) {
		in = append(in, 1)
		in = append(in, v.Branch.In(b)...)
	} else {
		in = append(in, 2)
		in = append(in, callID...)
		in = append(in, 0)
		in = append(in, fromTag.In(b)...)
		in = append(in, 0, byte(cseq>>24), byte(cseq>>16), byte(cseq>>8), byte(cseq))
	}
	in = append(in, 0)
	in = append(in, v.Host.In(b)...)
	in = append(in, byte(v.Port>>8), byte(v.Port))
	return k.sum64(in)
}

// loopHash computes L for a request (before any Route is removed). The CSeq
// number is hashed from scratch, a buffer the caller owns: a local array
// handed to the hash would be moved to the heap, one allocation per request.
func loopHash(m *parser.Message, e *parser.Essentials, scratch []byte) uint32 {
	b := m.Raw()
	h := dispatcher.Hash(m.Bytes(m.RequestURI()))
	h = dispatcher.HashMore(h, m.CallID())
	h = dispatcher.HashMore(h, e.From.Tag.In(b))
	n := append(scratch[:0], byte(e.CSeq>>24), byte(e.CSeq>>16), byte(e.CSeq>>8), byte(e.CSeq))
	h = dispatcher.HashMore(h, n)
	for i := m.First(parser.KindRoute); i >= 0; i = m.Next(i) {
		h = dispatcher.HashMore(h, m.Bytes(m.Headers()[i].Value))
	}
	for i := m.First(parser.KindProxyRequire); i >= 0; i = m.Next(i) {
		h = dispatcher.HashMore(h, m.Bytes(m.Headers()[i].Value))
	}
	return uint32(h ^ h>>32)
}

// appendBranch writes our branch for T and L.
func appendBranch(dst []byte, t uint64, l uint32) []byte {
	dst = append(dst, branchPrefix...)
	dst = appendHex(dst, t, 16)
	return appendHex(dst, uint64(l), 8)
}

// splitBranch returns T and L of one of our branches; ok is false for any
// other branch.
func splitBranch(br []byte) (t uint64, l uint32, ok bool) {
	if len(br) != branchLen || string(br[:len(branchPrefix)]) != branchPrefix {
		return 0, 0, false
	}
	t, ok1 := parseHex(br[len(branchPrefix) : len(branchPrefix)+16])
	lv, ok2 := parseHex(br[len(branchPrefix)+16:])
	return t, uint32(lv), ok1 && ok2
}

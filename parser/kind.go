package parser

import (
	"encoding/binary"
	"strings"
)

//go:generate go tool stringer -type=Kind,Method -output=kind_string.go

// Kind identifies a header field the proxy cares about. Every other header is
// KindOther and is carried through untouched.
type Kind uint8

// Header kinds. Compact forms (RFC 3261 §7.3.3 and later RFCs) map to the same
// kind as the long name.
const (
	KindOther              Kind = iota
	KindVia                     // v
	KindFrom                    // f
	KindTo                      // t
	KindCallID                  // i
	KindCSeq                    //
	KindMaxForwards             //
	KindRoute                   //
	KindRecordRoute             //
	KindContact                 // m
	KindContentLength           // l
	KindContentType             // c
	KindContentEncoding         // e
	KindSupported               // k
	KindSubject                 // s
	KindEvent                   // o
	KindAllowEvents             // u
	KindReferTo                 // r
	KindReferredBy              // b
	KindSessionExpires          // x
	KindIdentity                // y
	KindAcceptContact           // a
	KindRejectContact           // j
	KindRequestDisposition      // d
	KindIdentityInfo            // n
	KindExpires
	KindRequire
	KindProxyRequire
	KindUnsupported
	KindAuthorization
	KindProxyAuthorization
	KindWWWAuthenticate
	KindProxyAuthenticate
	KindUserAgent
	KindServer
	KindAllow
	KindPath
	KindRetryAfter
	KindTimestamp

	kindCount
)

// compactKinds maps a lower-case compact header letter to its kind.
var compactKinds = [26]Kind{
	'v' - 'a': KindVia, 'f' - 'a': KindFrom, 't' - 'a': KindTo, 'i' - 'a': KindCallID,
	'm' - 'a': KindContact, 'l' - 'a': KindContentLength, 'c' - 'a': KindContentType,
	'e' - 'a': KindContentEncoding, 'k' - 'a': KindSupported, 's' - 'a': KindSubject,
	'o' - 'a': KindEvent, 'u' - 'a': KindAllowEvents, 'r' - 'a': KindReferTo,
	'b' - 'a': KindReferredBy, 'x' - 'a': KindSessionExpires, 'y' - 'a': KindIdentity,
	'a' - 'a': KindAcceptContact, 'j' - 'a': KindRejectContact,
	'd' - 'a': KindRequestDisposition, 'n' - 'a': KindIdentityInfo,
}

// longName is the canonical spelling of each kind, used when the proxy writes
// a header of that kind and to look names up.
var longName = [kindCount]string{
	KindVia: "Via", KindFrom: "From", KindTo: "To", KindCallID: "Call-ID", KindCSeq: "CSeq",
	KindMaxForwards: "Max-Forwards", KindRoute: "Route", KindRecordRoute: "Record-Route",
	KindContact: "Contact", KindContentLength: "Content-Length", KindContentType: "Content-Type",
	KindContentEncoding: "Content-Encoding", KindSupported: "Supported", KindSubject: "Subject",
	KindEvent: "Event", KindAllowEvents: "Allow-Events", KindReferTo: "Refer-To",
	KindReferredBy: "Referred-By", KindSessionExpires: "Session-Expires", KindIdentity: "Identity",
	KindAcceptContact: "Accept-Contact", KindRejectContact: "Reject-Contact",
	KindRequestDisposition: "Request-Disposition", KindIdentityInfo: "Identity-Info",
	KindExpires: "Expires", KindRequire: "Require", KindProxyRequire: "Proxy-Require",
	KindUnsupported: "Unsupported", KindAuthorization: "Authorization",
	KindProxyAuthorization: "Proxy-Authorization", KindWWWAuthenticate: "WWW-Authenticate",
	KindProxyAuthenticate: "Proxy-Authenticate", KindUserAgent: "User-Agent", KindServer: "Server",
	KindAllow: "Allow", KindPath: "Path", KindRetryAfter: "Retry-After", KindTimestamp: "Timestamp",
}

// Name returns the canonical header name of k ("" for KindOther).
func (k Kind) Name() string {
	if k >= kindCount {
		return ""
	}
	return longName[k]
}

// Header names are found in an open-addressed table built once at init,
// keyed by a multiplicative hash of the name's first word (its first eight
// bytes, case-folded) and its length: one multiply, and one probe and one or
// two word compares settle the usual case.
//
// The compare folds only the letters of the table's name (see foldMatch), so
// a match proves every byte of the input: a "-" must be a "-", never a CR
// that folds to it. The input need not be checked for token characters
// first.
const (
	kindTableSize = 128 // power of two, well above 2×kindCount
	kindHashMul   = 0x9E3779B97F4A7C15
	foldWord      = 0x2020202020202020
)

type kindEntry struct {
	words [3]uint64 // lower-case name, little-endian, zero-padded (names are at most 24 bytes)
	n     uint8     // name length
	kind  Kind
}

var kindTable [kindTableSize]kindEntry

// kindSlot is the first table slot for a name of length n whose first word,
// case-folded and masked to the name, is x0.
func kindSlot(x0 uint64, n int) uint32 {
	return uint32(((x0 + uint64(n)) * kindHashMul) >> (64 - 7))
}

func init() {
	for k := Kind(1); k < kindCount; k++ {
		ln := strings.ToLower(longName[k])
		if len(ln) > 24 || len(ln) < 2 {
			panic("parser: header name length outside [2,24]: " + ln)
		}
		e := kindEntry{kind: k, n: uint8(len(ln))}
		for i := 0; i < len(ln); i++ {
			e.words[i/8] |= uint64(ln[i]) << (8 * (i % 8))
		}
		i := kindSlot(e.words[0], len(ln))
		for kindTable[i].kind != KindOther {
			i = (i + 1) & (kindTableSize - 1)
		}
		kindTable[i] = e
	}
}

// lowBytes[n] keeps the n low bytes of a word.
var lowBytes = [9]uint64{0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff, 0xffffffffffffffff}

// nameWord returns the first n (1 to 8) bytes of p as a little-endian word.
// It reads eight bytes of p when p has them; those past n are masked off.
func nameWord(p []byte, n int) uint64 {
	var x uint64
	if len(p) >= 8 {
		x = binary.LittleEndian.Uint64(p)
	} else {
		for i, c := range p {
			x |= uint64(c) << (8 * (i & 7))
		}
	}
	return x & lowBytes[n]
}

// foldMatch reports whether the input word x equals the lower-case name word
// w with its letters in either case. Letters are the only bytes of w with
// 0x40 set (digits, "-" and the zero padding have it clear), so shifting
// that bit down to 0x20 gives the fold mask: exactly the bits a case fold
// may set.
func foldMatch(x, w uint64) bool {
	return x|(w>>1&foldWord) == w
}

// nameKind finds the kind of the header name p[:n] (any bytes; only a known
// name in any case matches); p may go on past the name.
func nameKind(p []byte, n int) Kind {
	switch {
	case n == 1:
		if c := p[0] | 0x20; c >= 'a' && c <= 'z' {
			return compactKinds[c-'a']
		}
		return KindOther
	case n <= 0 || n > 24 || n > len(p):
		return KindOther
	}
	m := min(n, 8)
	x0 := nameWord(p, m)
	for i := kindSlot((x0|foldWord)&lowBytes[m], n); ; i = (i + 1) & (kindTableSize - 1) {
		e := &kindTable[i]
		if e.kind == KindOther {
			return KindOther
		}
		if int(e.n) == n && foldMatch(x0, e.words[0]) &&
			(n <= 8 || foldMatch(nameWord(p[8:], min(n-8, 8)), e.words[1])) &&
			(n <= 16 || foldMatch(nameWord(p[16:], n-16), e.words[2])) {
			return e.kind
		}
	}
}

// LookupKind maps a header name (any case, long or compact) to its Kind.
func LookupKind(name []byte) Kind {
	for _, c := range name {
		if !isToken(c) {
			return KindOther
		}
	}
	return nameKind(name, len(name))
}

// Method identifies a request method. Methods are case-sensitive (RFC 3261
// §7.1): "invite" is an extension method, not INVITE.
type Method uint8

// Known methods; MethodOther is any other valid token.
const (
	MethodOther Method = iota
	MethodINVITE
	MethodACK
	MethodBYE
	MethodCANCEL
	MethodREGISTER
	MethodOPTIONS
	MethodPRACK
	MethodSUBSCRIBE
	MethodNOTIFY
	MethodPUBLISH
	MethodINFO
	MethodREFER
	MethodMESSAGE
	MethodUPDATE
)

// LookupMethod maps a method token to its Method (case-sensitive).
func LookupMethod(b []byte) Method {
	switch len(b) {
	case 3:
		switch string(b) {
		case "ACK":
			return MethodACK
		case "BYE":
			return MethodBYE
		}
	case 4:
		if string(b) == "INFO" {
			return MethodINFO
		}
	case 5:
		switch string(b) {
		case "PRACK":
			return MethodPRACK
		case "REFER":
			return MethodREFER
		}
	case 6:
		switch string(b) {
		case "INVITE":
			return MethodINVITE
		case "CANCEL":
			return MethodCANCEL
		case "NOTIFY":
			return MethodNOTIFY
		case "UPDATE":
			return MethodUPDATE
		}
	case 7:
		switch string(b) {
		case "OPTIONS":
			return MethodOPTIONS
		case "PUBLISH":
			return MethodPUBLISH
		case "MESSAGE":
			return MethodMESSAGE
		}
	case 8:
		if string(b) == "REGISTER" {
			return MethodREGISTER
		}
	case 9:
		if string(b) == "SUBSCRIBE" {
			return MethodSUBSCRIBE
		}
	}
	return MethodOther
}

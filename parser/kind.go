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
// keyed by a hash of the name's length and its first, second and last bytes
// (case-folded): computing it costs the same for every name, and one probe
// and one or two word compares settle the usual case.
const kindTableSize = 256 // power of two, well above 2×kindCount

type kindEntry struct {
	kind  Kind
	n     int       // name length
	words [3]uint64 // lower-case name, little-endian, zero-padded (names are at most 24 bytes)
	folds [3]uint64 // 0x20 at the letters of the name: the bits a case fold may set
}

var kindTable [kindTableSize]kindEntry

// nameHash hashes a header name of at least two bytes. c|0x20 lower-cases
// ASCII letters and leaves digits and "-" alone.
func nameHash(name []byte) uint32 {
	n := len(name)
	h := uint32(n) * 0x9E3779B1
	h ^= uint32(name[0]|0x20) * 0x85EBCA77
	h ^= uint32(name[1]|0x20) * 0xC2B2AE3D
	h ^= uint32(name[n-1]|0x20) * 0x27D4EB2F
	return h ^ h>>15
}

func init() {
	for k := Kind(1); k < kindCount; k++ {
		ln := strings.ToLower(longName[k])
		if len(ln) > 24 || len(ln) < 2 {
			panic("parser: header name length outside [2,24]: " + ln)
		}
		e := kindEntry{kind: k, n: len(ln)}
		for i := 0; i < len(ln); i++ {
			e.words[i/8] |= uint64(ln[i]) << (8 * (i % 8))
			if ln[i] >= 'a' && ln[i] <= 'z' {
				e.folds[i/8] |= 0x20 << (8 * (i % 8))
			}
		}
		i := nameHash([]byte(ln)) & (kindTableSize - 1)
		for kindTable[i].kind != KindOther {
			i = (i + 1) & (kindTableSize - 1)
		}
		kindTable[i] = e
	}
}

// lookupKindAt finds the kind of the token name b[pos:end]. It may read up
// to 7 bytes past end (inside b) to compare a word at a time.
func lookupKindAt(b []byte, pos, end int32) Kind {
	n := int(end - pos)
	switch {
	case n == 1:
		if c := b[pos] | 0x20; c >= 'a' && c <= 'z' {
			return compactKinds[c-'a']
		}
		return KindOther
	case n == 0 || n > 24:
		return KindOther
	}
	// The first word, cut to the name: most names fit in it. Only letters
	// are case-folded (OR 0x20 where the name has a letter), so a match
	// proves every byte: a "-" must be a "-", never a CR that folds to it.
	var x0 uint64
	if int(pos)+8 <= len(b) {
		x0 = binary.LittleEndian.Uint64(b[pos:])
	} else {
		for i, c := range b[pos:end] {
			x0 |= uint64(c) << (8 * i)
		}
	}
	if n < 8 {
		x0 &= uint64(1)<<(8*uint(n)) - 1
	}
	for i := nameHash(b[pos:end]) & (kindTableSize - 1); ; i = (i + 1) & (kindTableSize - 1) {
		e := &kindTable[i]
		if e.kind == KindOther {
			return KindOther
		}
		if e.n == n && x0|e.folds[0] == e.words[0] && (n <= 8 || matchWords(b, int(pos)+8, n-8, e)) {
			return e.kind
		}
	}
}

// matchWords compares the rest of a name, b[pos:pos+n] (n <= 16), with the
// second and third words of e, folding only letters.
func matchWords(b []byte, pos, n int, e *kindEntry) bool {
	for w := 1; n > 0; w++ {
		var x uint64
		if pos+8 <= len(b) {
			x = binary.LittleEndian.Uint64(b[pos:])
		} else {
			for i, c := range b[pos:min(pos+8, len(b))] {
				x |= uint64(c) << (8 * i)
			}
		}
		if n < 8 {
			x &= uint64(1)<<(8*uint(n)) - 1
		}
		if w >= len(e.words) || x|e.folds[w] != e.words[w] {
			return false
		}
		pos += 8
		n -= 8
	}
	return true
}

// LookupKind maps a header name (any case, long or compact) to its Kind.
func LookupKind(name []byte) Kind {
	for _, c := range name {
		if !isToken(c) {
			return KindOther
		}
	}
	return lookupKindAt(name, 0, int32(len(name)))
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

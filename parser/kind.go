package parser

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

// byLenFirst indexes the long names by length and lower-case first letter, so
// a lookup compares against at most a few candidates. Built once at init from
// longName; read-only afterwards.
var byLenFirst [24][26][]Kind

func init() {
	for k := Kind(1); k < kindCount; k++ {
		n := longName[k]
		c := lower(n[0]) - 'a'
		byLenFirst[len(n)][c] = append(byLenFirst[len(n)][c], k)
	}
}

// LookupKind maps a header name (any case, long or compact) to its Kind.
func LookupKind(name []byte) Kind {
	switch n := len(name); {
	case n == 0:
		return KindOther
	case n == 1:
		c := lower(name[0])
		if c >= 'a' && c <= 'z' {
			return compactKinds[c-'a']
		}
		return KindOther
	case n < len(byLenFirst):
		c := lower(name[0])
		if c < 'a' || c > 'z' {
			return KindOther
		}
		for _, k := range byLenFirst[n][c-'a'] {
			if equalFold(name, longName[k]) {
				return k
			}
		}
	}
	return KindOther
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

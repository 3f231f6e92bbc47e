package main

// Writers for the messages sipbench sends. They append to a caller buffer
// (the send slot of a batch) and never allocate when the slot is large
// enough; every variable part is a byte slice or an integer.

import (
	"strconv"

	"github.com/sipfront/sipfront/parser"
)

const crlf = "\r\n"

// sdpOffer is the body of the INVITE: one audio stream, as a softphone sends.
const sdpOffer = "v=0\r\n" +
	"o=sipbench 53655765 2353687637 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"c=IN IP4 127.0.0.1\r\n" +
	"t=0 0\r\n" +
	"m=audio 40000 RTP/AVP 0 8 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-16\r\n" +
	"a=sendrecv\r\n"

// sdpAnswer is the body of the UAS's 200 OK.
const sdpAnswer = "v=0\r\n" +
	"o=sipbench-uas 1 1 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"c=IN IP4 127.0.0.1\r\n" +
	"t=0 0\r\n" +
	"m=audio 41000 RTP/AVP 0 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=sendrecv\r\n"

// callID identifies one call or transaction of the UAC: the run, the worker,
// the slot in the worker's call table and the slot's generation (so a late
// message for a slot that was reused is recognised as stray). Written as
// "RUN-W-SLOT-GEN@sipbench" with hex numbers; branches and tags reuse it.
type callID struct {
	run  uint32
	w    uint32
	slot uint32
	gen  uint32
}

func appendCallIDToken(dst []byte, id callID) []byte {
	dst = strconv.AppendUint(dst, uint64(id.run), 16)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, uint64(id.w), 16)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, uint64(id.slot), 16)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, uint64(id.gen), 16)
	return dst
}

// parseCallID reads back what appendCallIDToken wrote (followed by
// "@sipbench"); ok is false for any other Call-ID.
func parseCallID(b []byte) (id callID, ok bool) {
	var f [4]uint32
	k, digits := 0, 0
	var v uint32
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint32(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint32(c-'a'+10)
		case c == '-' || c == '@':
			if digits == 0 || k == 4 {
				return id, false
			}
			f[k] = v
			k++
			v, digits = 0, 0
			if c == '@' {
				if k != 4 || string(b[i+1:]) != "sipbench" {
					return id, false
				}
				return callID{f[0], f[1], f[2], f[3]}, true
			}
			continue
		default:
			return id, false
		}
		digits++
		if digits > 8 {
			return id, false
		}
	}
	return id, false
}

// request describes one request of the UAC.
type request struct {
	method  string // INVITE, ACK, BYE, REGISTER, OPTIONS
	ruri    []byte // Request-URI
	id      callID
	txn     byte   // branch suffix: which transaction of the call
	cseq    uint32 // CSeq number
	toURI   []byte // To URI (without brackets)
	toTag   []byte // To tag, empty for an initial request
	route   []byte // Route header value (route set), empty for none
	via     []byte // "SIP/2.0/UDP host:port" of the sender
	contact []byte // Contact URI
	fromURI []byte
	body    string
}

// appendRequest writes r.
func appendRequest(dst []byte, r *request) []byte {
	dst = append(dst, r.method...)
	dst = append(dst, ' ')
	dst = append(dst, r.ruri...)
	dst = append(dst, " SIP/2.0\r\nVia: "...)
	dst = append(dst, r.via...)
	dst = append(dst, ";rport;branch="+parser.MagicCookie...)
	dst = appendCallIDToken(dst, r.id)
	dst = append(dst, '.', r.txn)
	dst = append(dst, "\r\nMax-Forwards: 70\r\n"...)
	if len(r.route) > 0 {
		dst = append(dst, "Route: "...)
		dst = append(dst, r.route...)
		dst = append(dst, crlf...)
	}
	dst = append(dst, "From: <"...)
	dst = append(dst, r.fromURI...)
	dst = append(dst, ">;tag="...)
	dst = appendCallIDToken(dst, r.id)
	dst = append(dst, "\r\nTo: <"...)
	dst = append(dst, r.toURI...)
	dst = append(dst, '>')
	if len(r.toTag) > 0 {
		dst = append(dst, ";tag="...)
		dst = append(dst, r.toTag...)
	}
	dst = append(dst, "\r\nCall-ID: "...)
	dst = appendCallIDToken(dst, r.id)
	dst = append(dst, "@sipbench\r\nCSeq: "...)
	dst = strconv.AppendUint(dst, uint64(r.cseq), 10)
	dst = append(dst, ' ')
	dst = append(dst, r.method...)
	dst = append(dst, crlf...)
	if r.method != "BYE" && r.method != "OPTIONS" {
		dst = append(dst, "Contact: <"...)
		dst = append(dst, r.contact...)
		dst = append(dst, '>')
		if r.method == "REGISTER" {
			dst = append(dst, ";expires=300"...)
		}
		dst = append(dst, crlf...)
	}
	dst = append(dst, "User-Agent: sipbench\r\n"...)
	if len(r.body) > 0 {
		dst = append(dst, "Content-Type: application/sdp\r\n"...)
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(r.body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, r.body...)
	return dst
}

// response describes an answer of the UAS to a parsed request.
type response struct {
	code    int
	reason  string
	toTag   []byte // added to To when the request's To has none
	withRR  bool   // copy Record-Route (18x and 2xx to INVITE)
	contact []byte // Contact URI, empty for none
	copyCt  bool   // copy the request's Contact lines (REGISTER)
	body    string
}

// appendResponse writes a response to the request m (RFC 3261 §8.2.6.2):
// Via lines, From, Call-ID and CSeq copied as they came (folding and compact
// forms included), To with our tag added when it has none, Record-Route for a
// dialog-creating answer.
func appendResponse(dst []byte, m *parser.Message, r *response) []byte {
	b := m.Raw()
	dst = append(dst, "SIP/2.0 "...)
	dst = strconv.AppendInt(dst, int64(r.code), 10)
	dst = append(dst, ' ')
	dst = append(dst, r.reason...)
	dst = append(dst, crlf...)
	for _, h := range m.Headers() {
		switch h.Kind {
		case parser.KindVia, parser.KindFrom, parser.KindCallID, parser.KindCSeq:
		case parser.KindRecordRoute:
			if !r.withRR {
				continue
			}
		case parser.KindContact:
			if !r.copyCt {
				continue
			}
		case parser.KindTo:
			if len(r.toTag) > 0 {
				var na parser.NameAddr
				if parser.ParseNameAddr(b, h.Value, &na) == nil && !na.HasTag {
					dst = append(dst, "To: "...)
					dst = append(dst, h.Value.In(b)...)
					dst = append(dst, ";tag="...)
					dst = append(dst, r.toTag...)
					dst = append(dst, crlf...)
					continue
				}
			}
		default:
			continue
		}
		dst = appendLine(dst, b, h)
	}
	if len(r.contact) > 0 {
		dst = append(dst, "Contact: <"...)
		dst = append(dst, r.contact...)
		dst = append(dst, ">\r\n"...)
	}
	dst = append(dst, "Server: sipbench\r\n"...)
	if len(r.body) > 0 {
		dst = append(dst, "Content-Type: application/sdp\r\n"...)
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(r.body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, r.body...)
	return dst
}

// appendLine copies header h of b as written, ending in CRLF.
func appendLine(dst, b []byte, h parser.Header) []byte {
	line := b[h.Name.Start:h.End]
	dst = append(dst, line...)
	if n := len(line); n == 0 || line[n-1] != '\n' {
		dst = append(dst, crlf...)
	} else if n < 2 || line[n-2] != '\r' {
		// a bare LF line end: write CRLF instead
		dst = append(dst[:len(dst)-1], crlf...)
	}
	return dst
}

// hash64 is FNV-1a, for Call-ID keys and the UAS's deterministic choices.
func hash64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// appendHex16 appends v as 16 hex digits.
func appendHex16(dst []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for s := 60; s >= 0; s -= 4 {
		dst = append(dst, digits[(v>>uint(s))&0xf])
	}
	return dst
}

package lb

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// The Record-Route cookie names the back end a dialog was sent to, so that an
// in-dialog request from the phone side reaches it without any state here:
//
//	<sip:SIPFRONT;lr;sfc=COOKIE>
//
// COOKIE is base64url (no padding) of: a header byte (address family in the
// low nibble, transport in the high one), IP (4 or 16 bytes), port (2 bytes),
// then an 8-byte SipHash MAC over the rest. The same encoding, under another
// parameter name (sft), is the flow token that names a phone's TCP or TLS
// connection in the Record-Route facing it. The MAC key comes from
// the configuration, so every sipfront copy with the same key accepts every
// other's cookies, across restarts. A cookie whose MAC fails is forged and is
// refused; one that names an address no longer in the destination table is
// stale and is refused too (the operator removed that back end: drain it
// first to let its dialogs finish).

const (
	cookieParam   = "sfc"
	flowParam     = "sft"
	cookieV4      = 4
	cookieV6      = 6
	cookieMACLen  = 8
	maxCookieRaw  = 1 + 16 + 2 + cookieMACLen
	maxCookieText = (maxCookieRaw*8 + 5) / 6
)

var cookieEnc = base64.RawURLEncoding

// newKey derives the SipHash key from the configured secret, or draws a
// random one when none is configured.
func newKey(secret string) sipKey {
	var raw [32]byte
	if secret == "" {
		if _, err := rand.Read(raw[:]); err != nil {
			panic("lb: no randomness for the cookie key: " + err.Error())
		}
	} else {
		raw = sha256.Sum256([]byte("sipfront cookie key\x00" + secret))
	}
	return sipKey{binary.LittleEndian.Uint64(raw[:8]), binary.LittleEndian.Uint64(raw[8:16])}
}

// appendCookie writes the cookie text for ap over tr.
func appendCookie(dst []byte, k sipKey, ap netip.AddrPort, tr transport) []byte {
	var raw [maxCookieRaw]byte
	n := 0
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		raw[0] = cookieV4 | byte(tr)<<4
		a := ip.As4()
		n = 1 + copy(raw[1:], a[:])
	} else {
		raw[0] = cookieV6 | byte(tr)<<4
		a := ip.As16()
		n = 1 + copy(raw[1:], a[:])
	}
	binary.BigEndian.PutUint16(raw[n:], ap.Port())
	n += 2
	binary.BigEndian.PutUint64(raw[n:], k.sum64(raw[:n]))
	n += cookieMACLen
	var txt [maxCookieText]byte
	cookieEnc.Encode(txt[:], raw[:n])
	return append(dst, txt[:cookieEnc.EncodedLen(n)]...)
}

// cookieResult says what a cookie is worth.
type cookieResult uint8

const (
	cookieOK cookieResult = iota
	cookieMalformed
	cookieForged
)

// parseCookie decodes and verifies a cookie (or flow token).
func parseCookie(k sipKey, txt []byte) (netip.AddrPort, transport, cookieResult) {
	var raw [maxCookieRaw]byte
	if len(txt) > maxCookieText || cookieEnc.DecodedLen(len(txt)) > len(raw) {
		return netip.AddrPort{}, 0, cookieMalformed
	}
	n, err := cookieEnc.Decode(raw[:], txt)
	if err != nil {
		return netip.AddrPort{}, 0, cookieMalformed
	}
	var body int
	var ip netip.Addr
	switch fam := raw[0] & 0xf; {
	case n == 1+4+2+cookieMACLen && fam == cookieV4:
		ip = netip.AddrFrom4([4]byte(raw[1:5]))
		body = 1 + 4 + 2
	case n == 1+16+2+cookieMACLen && fam == cookieV6:
		ip = netip.AddrFrom16([16]byte(raw[1:17]))
		body = 1 + 16 + 2
	default:
		return netip.AddrPort{}, 0, cookieMalformed
	}
	tr := transport(raw[0] >> 4)
	if tr < trUDP || tr > trTLS {
		return netip.AddrPort{}, 0, cookieMalformed
	}
	mac := k.sum64(raw[:body])
	if subtle.ConstantTimeEq(int32(mac>>32), int32(binary.BigEndian.Uint32(raw[body:])))&
		subtle.ConstantTimeEq(int32(mac), int32(binary.BigEndian.Uint32(raw[body+4:]))) != 1 {
		return netip.AddrPort{}, 0, cookieForged
	}
	return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(raw[body-2:])), tr, cookieOK
}

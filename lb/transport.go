package lb

import (
	"net/netip"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/lb/sock"
	"github.com/sipfront/sipfront/parser"
)

// A message arrives over a transport on one of our listeners (its origin)
// and leaves toward a target. For UDP both are addresses; for TCP and TLS a
// connection is involved: responses go back over the connection their
// request came in on, and requests to a back end reuse one connection per
// destination and transport.

// Transports are the dispatcher's: UDP, TCP, TLS.
type transport = dispatcher.Transport

const (
	trUDP = dispatcher.UDP
	trTCP = dispatcher.TCP
	trTLS = dispatcher.TLS
	trMax = 4 // array size for per-transport tables (index 0 unused)
)

// viaToken is the transport as written in a Via sent-protocol.
func viaToken(t transport) string {
	switch t {
	case trTCP:
		return "TCP"
	case trTLS:
		return "TLS"
	}
	return "UDP"
}

// isStream reports whether t is connection-oriented.
func isStream(t transport) bool { return t == trTCP || t == trTLS }

// ident is one of our listeners as it appears in Via, Record-Route and Path.
type ident struct {
	tr    transport
	addr  netip.AddrPort // bound address (port resolved)
	fixed []byte         // "host:port" when known in advance; nil for a wildcard listen
	udp   *sock.Conn     // for UDP: a socket of this listener to send from
}

// origin says where a message came from.
type origin struct {
	tr    transport
	src   netip.AddrPort
	local netip.Addr  // our address it arrived on (pktinfo, or the bound one)
	id    *ident      // the listener it arrived on
	conn  *streamConn // the connection, for TCP and TLS
}

// target says where a message goes. conn, when set, is the connection to use
// (the one a request came in on, for its response). from is the listener our
// Via names (UDP: the socket to send from, so responses come back to it).
// dial allows opening a connection (requests; never responses).
type target struct {
	tr       transport
	addr     netip.AddrPort
	conn     *streamConn
	from     *ident
	dial     bool
	upgraded bool // UDP destination reached over TCP for the request's size: UDP if TCP fails
}

// uriTransport is the transport a sip/sips URI asks for: the transport
// parameter, else TLS for sips, else UDP.
func uriTransport(b []byte, u *parser.URI) transport {
	if t := u.Transport(b); !t.Empty() {
		switch v := t.In(b); {
		case parser.EqualFold(v, "tcp"):
			return trTCP
		case parser.EqualFold(v, "tls"):
			return trTLS
		}
		return trUDP
	}
	if u.Scheme == parser.SchemeSIPS {
		return trTLS
	}
	return trUDP
}

// viaTransport reads the transport of a Via's sent-protocol.
func viaTransport(b []byte, v *parser.Via) transport {
	switch t := v.Transport.In(b); {
	case parser.EqualFold(t, "TCP"):
		return trTCP
	case parser.EqualFold(t, "TLS"):
		return trTLS
	}
	return trUDP
}

// hasTransportParam reports whether a destination URI names its transport
// explicitly, without allocating. Only large requests ask (the RFC 3261
// §18.1.1 switch to TCP respects an explicit transport).
func hasTransportParam(uri string) bool {
	const p = "transport="
	for i := 0; i+len(p) <= len(uri); i++ {
		match := true
		for j := 0; j < len(p); j++ {
			if lower(uri[i+j]) != p[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

package dispatcher

import (
	"log/slog"
	"net/netip"
)

// Transport is the protocol used to reach a destination.
type Transport uint8

// Transports. The zero value is invalid, so a forgotten field shows.
const (
	UDP Transport = iota + 1
	TCP
	TLS
)

func (t Transport) String() string {
	switch t {
	case UDP:
		return "udp"
	case TCP:
		return "tcp"
	case TLS:
		return "tls"
	}
	return "invalid"
}

// Dest is one destination of a set. It is immutable once its table is
// published, except RT, whose fields are atomic.
type Dest struct {
	// Set is the id of the set the destination belongs to.
	Set int
	// URI is the destination as written in the list, with "sip:" prepended
	// when it had no scheme (as Kamailio does); otherwise verbatim.
	URI string
	// Host is the host part of URI as written (IPv6 without brackets).
	Host string
	// Port is the URI's port, else 5061 for TLS, else 5060. A destination
	// named by host name sends to its targets' ports (Addr, Target), which
	// SRV may have chosen.
	Port uint16
	// Transport is udp, tcp or tls (sips: and ;transport=tls give tls); for
	// a host name without a transport parameter, the primary target's
	// (NAPTR or SRV may have chosen it).
	Transport Transport
	// Addr is where packets go: the IP literal of URI with Port; for a host
	// name, the primary target (the first of its targets in preference
	// order, see target.go). Target(key) spreads requests over all of them.
	Addr netip.AddrPort
	// Flags is the flags column as read (Kamailio bits: 1 inactive, 2 trying,
	// 4 disabled, 8 probing, 16 no DNS at load).
	Flags int
	// Priority is the priority column as read; higher comes first.
	Priority int
	// Attrs is the attrs column.
	Attrs Attrs
	// Line is the line of the list file the destination came from; 0 for
	// a destination added at run time.
	Line int
	// RT is the run-time block, shared across table versions.
	RT *Runtime

	seed uint64       // rendezvous seed: hash of the identity (duid, else URI)
	log  *slog.Logger // for Transition
	ovl  bool         // added by the run-time overlay (Dispatcher.Add)

	// A destination named by host name: its targets in preference order
	// (immutable, like the rest of the Dest) and the DNS entry they came
	// from (shared across table versions). Both nil for an IP literal.
	targets []target
	dns     *dnsEntry
}

// Identity is what matches a destination across reloads and seeds its
// rendezvous score: its duid when set, else its URI.
func (d *Dest) Identity() string {
	if d.Attrs.DUID != "" {
		return d.Attrs.DUID
	}
	return d.URI
}

// seedOf hashes the identity; the leading byte keeps a duid that happens to
// look like some other destination's URI from colliding with it.
func seedOf(d *Dest) uint64 {
	if d.Attrs.DUID != "" {
		return HashMoreString(1, d.Attrs.DUID)
	}
	return HashMoreString(2, d.URI)
}

// hashWeight is the weight used by the hash algorithms: the weight attr, or
// 1 when it is unset (0).
func (d *Dest) hashWeight() uint32 {
	if d.Attrs.Weight > 0 {
		return uint32(d.Attrs.Weight)
	}
	return 1
}

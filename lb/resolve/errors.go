package resolve

import (
	"errors"
	"net/netip"
	"strings"
)

// Sentinel errors. Every error a Lookup returns wraps one of them; compare
// with errors.Is.
var (
	// ErrNotFound: the name does not exist, or has no record that leads to
	// an address (NXDOMAIN or no data all along the chain, or an SRV "."
	// target: the service is not offered there).
	ErrNotFound = errors.New("resolve: no address for name")
	// ErrServer: every server answered with a failure (SERVFAIL, REFUSED,
	// NOTIMP, FORMERR) or could not be reached.
	ErrServer = errors.New("resolve: server failure")
	// ErrTimeout: no server answered in time.
	ErrTimeout = errors.New("resolve: timeout")
	// ErrBadAnswer: an answer that matched our query could not be read.
	ErrBadAnswer = errors.New("resolve: malformed answer")
	// ErrBadName: the host is not a DNS name we can ask for (empty, an IP
	// literal, a label over 63 bytes, a name over 253, a character outside
	// letters, digits, '-' and '_').
	ErrBadName = errors.New("resolve: bad host name")
	// ErrNoServer: the configuration lists no name server.
	ErrNoServer = errors.New("resolve: no name server")
)

// QueryError is a failed query: which name and type, which server (zero when
// the failure is not tied to one), and the sentinel.
type QueryError struct {
	Name   string // the name asked, with its trailing dot
	Type   string // "A", "AAAA", "SRV", "NAPTR"
	Server netip.AddrPort
	Err    error
}

// Error reads like `resolve: SRV _sip._udp.pbx.example.com. @127.0.0.1:53: timeout`.
func (e *QueryError) Error() string {
	var b strings.Builder
	b.WriteString("resolve: ")
	b.WriteString(e.Type)
	if e.Name != "" {
		b.WriteByte(' ')
		b.WriteString(e.Name)
	}
	if e.Server.IsValid() {
		b.WriteString(" @")
		b.WriteString(e.Server.String())
	}
	b.WriteString(": ")
	msg := "unknown error"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "resolve: ")
	}
	b.WriteString(msg)
	return b.String()
}

// Unwrap gives the sentinel.
func (e *QueryError) Unwrap() error { return e.Err }

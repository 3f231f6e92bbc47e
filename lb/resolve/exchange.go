package resolve

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The exchange: one question to one server, over UDP with EDNS0 from a new
// socket (so a fresh random source port per query, and the connected socket
// drops datagrams from any other address), falling back to TCP when the
// reply is truncated, and once without EDNS0 when a server refuses it with
// FORMERR. Replies whose ID or question differ are dropped and the wait goes
// on, so that a stray or forged datagram cannot cut an exchange short. The
// ID comes from math/rand/v2's global source (ChaCha8, seeded by the
// runtime), which is not predictable from outside.

// maxUDPReply is the receive buffer: larger than any payload size we
// advertise, so that an oversized reply shows as what it is.
const maxUDPReply = 4096

// detail adds a specific message to a sentinel.
type detailError struct {
	sentinel error
	msg      string
}

func (e *detailError) Error() string { return "resolve: " + e.msg }
func (e *detailError) Unwrap() error { return e.sentinel }

func detail(sentinel error, msg string) error { return &detailError{sentinel, msg} }

// ask sends one question through the configured servers and attempts and
// returns the first reply that is an answer (NOERROR or NXDOMAIN). The error
// is a *QueryError.
func (r *Resolver) ask(ctx context.Context, name string, qtype dnsmessage.Type) (answer, error) {
	qerr := func(srv netip.AddrPort, err error) error {
		return &QueryError{Name: name, Type: typeName(qtype), Server: srv, Err: err}
	}
	qn, err := dnsmessage.NewName(name)
	if err != nil {
		return answer{}, qerr(netip.AddrPort{}, ErrBadName)
	}
	servers := r.cfg.Servers
	if len(servers) == 0 {
		return answer{}, qerr(netip.AddrPort{}, ErrNoServer)
	}
	start := 0
	if r.cfg.Rotate {
		start = int(r.rot.Add(1) % uint32(len(servers)))
	}
	var last error
	for range r.cfg.Attempts {
		for i := range servers {
			srv := servers[(start+i)%len(servers)]
			if ctx.Err() != nil {
				if last == nil {
					last = qerr(srv, detail(ErrTimeout, "timeout: "+ctx.Err().Error()))
				}
				return answer{}, last
			}
			a, err := r.try(ctx, srv, qn, qtype)
			if err == nil {
				return a, nil
			}
			last = qerr(srv, err)
		}
	}
	return answer{}, last
}

// try asks one server: UDP (unless configured for TCP), then TCP when the
// reply is truncated, then once more without EDNS0 after a FORMERR.
func (r *Resolver) try(ctx context.Context, srv netip.AddrPort, qn dnsmessage.Name, qtype dnsmessage.Type) (answer, error) {
	overTCP, edns := r.cfg.TCP, true
	for range 3 {
		id := uint16(rand.Uint32())
		q, err := buildQuery(id, qn, qtype, edns, r.cfg.UDPSize)
		if err != nil {
			return answer{}, ErrBadName
		}
		var a answer
		if overTCP {
			a, err = r.exchangeTCP(ctx, srv, q, id, qn, qtype)
		} else {
			a, err = r.exchangeUDP(ctx, srv, q, id, qn, qtype)
		}
		if err != nil {
			return answer{}, err
		}
		if a.truncated && !overTCP {
			overTCP = true
			continue
		}
		switch a.rcode {
		case dnsmessage.RCodeSuccess, dnsmessage.RCodeNameError:
			return a, nil
		case dnsmessage.RCodeFormatError:
			if edns {
				edns = false
				continue
			}
		}
		return answer{}, detail(ErrServer, "server failure ("+rcodeName(a.rcode)+")")
	}
	return answer{}, detail(ErrServer, "server failure (no usable reply)")
}

func buildQuery(id uint16, qn dnsmessage.Name, qtype dnsmessage.Type, edns bool, udpSize int) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 64), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: qn, Type: qtype, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	if edns {
		if err := b.StartAdditionals(); err != nil {
			return nil, err
		}
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(udpSize, dnsmessage.RCodeSuccess, false); err != nil {
			return nil, err
		}
		if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// deadline is the end of one try: the timeout, or the context's deadline
// when that comes first.
func (r *Resolver) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(r.cfg.Timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// netErr maps an I/O error to a sentinel.
func netErr(ctx context.Context, err error) error {
	var ne net.Error
	if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		return detail(ErrTimeout, "timeout")
	}
	return detail(ErrServer, "server unreachable")
}

func (r *Resolver) exchangeUDP(ctx context.Context, srv netip.AddrPort, q []byte, id uint16, qn dnsmessage.Name, qtype dnsmessage.Type) (answer, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", srv.String())
	if err != nil {
		return answer{}, netErr(ctx, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if err := c.SetDeadline(r.deadline(ctx)); err != nil {
		return answer{}, netErr(ctx, err)
	}
	if _, err := c.Write(q); err != nil {
		return answer{}, netErr(ctx, err)
	}
	buf := make([]byte, maxUDPReply)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return answer{}, netErr(ctx, err)
		}
		a, err := parseAnswer(buf[:n], id, qn, qtype)
		if err == errMismatch {
			continue
		}
		if err != nil && n >= 4 && binary.BigEndian.Uint16(buf) == id && buf[2]&0x82 == 0x82 {
			// Truncated and cut where the parser cannot follow: the TC
			// bit alone is enough to go to TCP.
			return answer{truncated: true}, nil
		}
		return a, err
	}
}

func (r *Resolver) exchangeTCP(ctx context.Context, srv netip.AddrPort, q []byte, id uint16, qn dnsmessage.Name, qtype dnsmessage.Type) (answer, error) {
	d := net.Dialer{Deadline: r.deadline(ctx)}
	c, err := d.DialContext(ctx, "tcp", srv.String())
	if err != nil {
		return answer{}, netErr(ctx, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if err := c.SetDeadline(r.deadline(ctx)); err != nil {
		return answer{}, netErr(ctx, err)
	}
	out := make([]byte, 2+len(q))
	binary.BigEndian.PutUint16(out, uint16(len(q)))
	copy(out[2:], q)
	if _, err := c.Write(out); err != nil {
		return answer{}, netErr(ctx, err)
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return answer{}, netErr(ctx, err)
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return answer{}, netErr(ctx, err)
	}
	a, err := parseAnswer(buf, id, qn, qtype)
	if err == errMismatch {
		// On a stream of our own there is nothing else to wait for.
		return answer{}, detail(ErrBadAnswer, "TCP reply to another query")
	}
	return a, err
}

func typeName(t dnsmessage.Type) string {
	switch t {
	case dnsmessage.TypeA:
		return "A"
	case dnsmessage.TypeAAAA:
		return "AAAA"
	case dnsmessage.TypeSRV:
		return "SRV"
	case typeNAPTR:
		return "NAPTR"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func rcodeName(c dnsmessage.RCode) string {
	switch c {
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return "RCODE" + strconv.Itoa(int(c))
}

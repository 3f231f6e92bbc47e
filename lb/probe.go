package lb

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/health"
)

// probeSender lets the health prober send OPTIONS from our UDP listeners,
// so back ends answer to the address sipfront receives on, and the replies
// reach a worker like any response (proc.response hands them back by their
// branch prefix).
type probeSender struct {
	e   *Engine
	mu  sync.Mutex
	via map[viaKey]string // wildcard listeners: the source address toward a destination
}

type viaKey struct {
	addr netip.Addr
	tr   dispatcher.Transport
}

var errNoUDP = errors.New("lb: no UDP listener of the destination's address family")

// udpIdentFor picks the UDP listener to send to dst from: the first of the
// same address family (or a wildcard one).
func (e *Engine) udpIdentFor(dst netip.Addr) *ident {
	v4 := dst.Unmap().Is4()
	for _, id := range e.idents[trUDP] {
		// Same family, or a dual-stack [::] listener that takes both.
		if a := id.addr.Addr().Unmap(); a.Is4() == v4 || (a.IsUnspecified() && a.Is6()) {
			return id
		}
	}
	return nil
}

func (s *probeSender) Send(b []byte, to netip.AddrPort, tr dispatcher.Transport) error {
	if isStream(tr) {
		// Over the connection requests to this back end use (opened if
		// need be; a failed connect reaches the prober as unreachable).
		id := s.e.identFor(tr, &origin{local: to.Addr()})
		s.e.streams.send(b, target{tr: tr, addr: to, from: id, dial: true}, s.e.streams.st)
		return nil
	}
	id := s.e.udpIdentFor(to.Addr())
	if id == nil {
		return errNoUDP
	}
	var local netip.Addr
	if !id.addr.Addr().IsUnspecified() {
		local = id.addr.Addr()
	}
	return id.udp.WriteTo(b, to, local)
}

// ViaHost is the host:port a probe to `to` names in its Via: the listener's
// address, or for a wildcard listener the source address the kernel routes
// from toward that destination (asked once per destination address, by a
// connected UDP socket that sends nothing). Over TCP/TLS the reply comes
// back on the connection; the Via names our listener of that transport, or
// the UDP one when there is none.
func (s *probeSender) ViaHost(to netip.AddrPort, tr dispatcher.Transport) string {
	var id *ident
	if isStream(tr) {
		id = s.e.identFor(tr, &origin{local: to.Addr()})
	}
	if id == nil {
		id = s.e.udpIdentFor(to.Addr())
	}
	if id == nil {
		return ""
	}
	if id.fixed != nil {
		return string(id.fixed)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.via[viaKey{to.Addr(), tr}]; ok {
		return v
	}
	host := id.addr.Addr() // no route to it: the probe will fail anyway
	if c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to)); err == nil {
		host = c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
		c.Close()
	}
	v := netip.AddrPortFrom(host, id.addr.Port()).String()
	if s.via == nil {
		s.via = map[viaKey]string{}
	}
	s.via[viaKey{to.Addr(), tr}] = v
	return v
}

// onICMP passes an ICMP unreachable for a destination to the prober (it is
// called on the worker goroutine that read the error).
func (e *Engine) onICMP(dst netip.AddrPort, errno syscall.Errno) {
	if e.prober == nil {
		return
	}
	switch errno {
	case syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH:
		e.prober.NoteUnreachable(dst)
	}
}

// newProber builds the prober over the engine's UDP listeners.
func (e *Engine) newProber() error {
	if e.cfg.NoProbe {
		return nil
	}
	p, err := health.New(e.disp, &probeSender{e: e}, e.cfg.Health, e.log)
	if err != nil {
		return err
	}
	e.prober = p
	return nil
}

package lb

import (
	"net"
	"net/netip"
)

// selfAddrs recognises sipfront's own addresses in Via sent-by and Route
// URIs: loop detection, our Route, and responses addressed to us depend on it.
type selfAddrs struct {
	exact    []netip.AddrPort // specific listen addresses and the advertised one
	wildPort []uint16         // ports of wildcard (0.0.0.0 / [::]) listens
	localIPs []netip.Addr     // the host's addresses, for wildcard listens
}

func newSelf(listens []netip.AddrPort, advertise netip.AddrPort) (selfAddrs, error) {
	var s selfAddrs
	wild := false
	for _, ap := range listens {
		if ap.Addr().IsUnspecified() {
			wild = true
			s.wildPort = append(s.wildPort, ap.Port())
			continue
		}
		s.exact = append(s.exact, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	if advertise.IsValid() {
		s.exact = append(s.exact, netip.AddrPortFrom(advertise.Addr().Unmap(), advertise.Port()))
	}
	if wild {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return s, err
		}
		for _, a := range addrs {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil {
				s.localIPs = append(s.localIPs, pfx.Addr().Unmap())
			}
		}
	}
	return s, nil
}

// is reports whether ip:port is one of our addresses. Lists are short (a few
// entries), so a linear scan beats any index.
func (s *selfAddrs) is(ip netip.Addr, port uint16) bool {
	ip = ip.Unmap()
	for _, ap := range s.exact {
		if ap.Port() == port && ap.Addr() == ip {
			return true
		}
	}
	for _, p := range s.wildPort {
		if p != port {
			continue
		}
		for _, l := range s.localIPs {
			if l == ip {
				return true
			}
		}
	}
	return false
}

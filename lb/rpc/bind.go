package rpc

import (
	"fmt"
	"net"
	"net/netip"
)

// CheckBind refuses an RPC listen address that is not loopback unless a token
// is set: the API can disable back ends and reload the list, so it must not be
// open to the network by accident. Loopback means 127.0.0.0/8, ::1 or the name
// "localhost"; an empty host (":9060") or 0.0.0.0 listens everywhere, and any
// other name may resolve anywhere, so they need a token.
func CheckBind(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w %q: want host:port", ErrBadAddr, addr)
	}
	if isLoopbackHost(host) || token != "" {
		return nil
	}
	return fmt.Errorf("%w: %q is not a loopback address; set a token or listen on %s", ErrNeedToken, addr, DefaultAddr)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

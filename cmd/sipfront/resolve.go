package main

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// resolveHost looks up a destination host name once, at load (DNS with TTL
// refresh and SRV comes with the transport issue). It never runs on the data
// path.
func resolveHost(host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

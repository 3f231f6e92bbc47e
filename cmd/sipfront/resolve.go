package main

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/lb"
	"github.com/sipfront/sipfront/lb/resolve"
)

// Destinations named by host name are resolved by lb/resolve, sipfront's own
// stub resolver: /etc/hosts first, then the name servers of
// /etc/resolv.conf, RFC 3263 (NAPTR, SRV, A/AAAA) with TTLs. It is set up
// on first use, so a list without names never reads those files. A host
// without resolv.conf gets glibc's defaults (a name server on this host), as
// every other program on it would. None of this runs on the data path.

const resolvConf = "/etc/resolv.conf"

var systemResolver = sync.OnceValues(func() (*resolve.Resolver, error) {
	cfg, _ := resolve.ReadResolvConf(resolvConf) // unreadable: the defaults
	return resolve.New(cfg)
})

// resolveHost looks up the A/AAAA addresses of a destination host name,
// for dispatcher.Options.Resolve: the list loader keeps them all as the
// destination's targets (IPv4 first takes the calls), and a name that fails
// skips its line with a warning.
func resolveHost(host string) ([]netip.Addr, error) {
	r, err := systemResolver()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, _, err := r.LookupHost(ctx, host)
	return addrs, err
}

// lookupDest is the whole RFC 3263 lookup with TTLs, for
// dispatcher.Options.DNS (which, once set, the dispatcher uses instead of
// Resolve, and Dispatcher.StartDNS refreshes by TTL).
func lookupDest(ctx context.Context, q dispatcher.DNSQuery) ([]dispatcher.Target, time.Duration, error) {
	r, err := systemResolver()
	if err != nil {
		return nil, 0, err
	}
	return dnsFunc(r)(ctx, q)
}

// dnsFunc adapts a resolver to the dispatcher (lb.DNSFunc does the type
// conversions, which the dispatcher and lb/resolve cannot share).
func dnsFunc(r *resolve.Resolver) dispatcher.DNSFunc { return lb.DNSFunc(r) }

// dnsForListens is the dispatcher's DNS lookup, asking NAPTR and SRV only
// for the transports sipfront listens on (a target over a transport it has
// no listener for could not send it responses back the same way).
func dnsForListens(ls []lb.Listen) dispatcher.DNSFunc {
	var trs []resolve.Transport
	for _, l := range ls {
		switch l.Transport {
		case "udp":
			trs = append(trs, resolve.UDP)
		case "tcp":
			trs = append(trs, resolve.TCP)
		case "tls":
			trs = append(trs, resolve.TLS)
		}
	}
	var once sync.Once
	var fn dispatcher.DNSFunc
	return func(ctx context.Context, q dispatcher.DNSQuery) ([]dispatcher.Target, time.Duration, error) {
		once.Do(func() {
			cfg, _ := resolve.ReadResolvConf(resolvConf) // unreadable: the defaults
			cfg.Transports = trs
			r, err := resolve.New(cfg)
			if err != nil {
				fn = func(context.Context, dispatcher.DNSQuery) ([]dispatcher.Target, time.Duration, error) {
					return nil, 0, err
				}
				return
			}
			fn = lb.DNSFunc(r)
		})
		return fn(ctx, q)
	}
}

package main

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
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

// dnsFunc adapts a resolver to the dispatcher: the two packages do not
// import each other, so their query and target types are converted here.
func dnsFunc(r *resolve.Resolver) dispatcher.DNSFunc {
	return func(ctx context.Context, q dispatcher.DNSQuery) ([]dispatcher.Target, time.Duration, error) {
		res, err := r.Lookup(ctx, resolve.Query{Host: q.Host, Port: q.Port, Transport: toResolve(q.Transport), Secure: q.Secure})
		if err != nil {
			return nil, 0, err
		}
		ts := make([]dispatcher.Target, 0, len(res.Targets))
		for _, t := range res.Targets {
			tr := fromResolve(t.Transport)
			if tr == 0 {
				continue
			}
			ts = append(ts, dispatcher.Target{Addr: t.Addr, Transport: tr, Priority: t.Priority, Weight: t.Weight, Name: t.Name})
		}
		return ts, res.TTL, nil
	}
}

func toResolve(t dispatcher.Transport) resolve.Transport {
	switch t {
	case dispatcher.UDP:
		return resolve.UDP
	case dispatcher.TCP:
		return resolve.TCP
	case dispatcher.TLS:
		return resolve.TLS
	}
	return 0
}

func fromResolve(t resolve.Transport) dispatcher.Transport {
	switch t {
	case resolve.UDP:
		return dispatcher.UDP
	case resolve.TCP:
		return dispatcher.TCP
	case resolve.TLS:
		return dispatcher.TLS
	}
	return 0
}

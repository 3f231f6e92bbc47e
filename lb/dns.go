package lb

import (
	"context"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/lb/resolve"
)

// DNSFunc adapts a resolver to the dispatcher (Config.DNS): dispatcher and
// lb/resolve do not import each other, so their query and target types are
// converted here. Targets of a transport sipfront does not speak are left
// out.
func DNSFunc(r *resolve.Resolver) dispatcher.DNSFunc {
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

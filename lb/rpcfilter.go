package lb

import (
	"context"
	"net/netip"
	"strings"

	"github.com/sipfront/sipfront/bpf"
	"github.com/sipfront/sipfront/lb/rpc"
)

// The flood filter's RPC methods (sipfront's own; Kamailio keeps bans in
// htable with htable.* RPCs of its own shape): list and edit the operator
// ban list and the allow list, list and lift automatic bans, read the
// counters. Edits survive reloads.

var errFilterOff = &rpc.Error{Code: 500, Message: "Flood filter is off"}

func (m *methods) registerFilter(reg *rpc.Registry) {
	reg.Register("filter.stats", "Flood filter mode and packet counters by reason.", m.filterStats)
	reg.Register("filter.bans", "Operator bans (prefixes) and automatic bans (address, seconds left).", m.filterBans)
	reg.Register("filter.ban", "Ban a source: PREFIX (an address or a CIDR prefix).", m.filterEdit(true, true))
	reg.Register("filter.unban", "Lift an operator ban (PREFIX) or an automatic ban (ADDRESS).", m.filterUnban)
	reg.Register("filter.allowed", "The allow list (back ends are on it automatically).", m.filterAllowed)
	reg.Register("filter.allow", "Allow a source: PREFIX; no rule applies to it.", m.filterEdit(false, true))
	reg.Register("filter.disallow", "Remove a prefix from the allow list: PREFIX.", m.filterEdit(false, false))
}

func (m *methods) filter() (bpf.Filter, error) {
	f := m.e.Filter()
	if f == nil {
		return nil, errFilterOff
	}
	return f, nil
}

// parsePrefix reads "192.0.2.1", "2001:db8::/32" or "192.0.2.0/24".
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func (m *methods) filterStats(context.Context, rpc.Params) (any, error) {
	f, err := m.filter()
	if err != nil {
		return nil, err
	}
	cs, err := f.Counters()
	if err != nil {
		return nil, withDetail(rpc.ErrInternal, err)
	}
	counters := map[string]uint64{}
	for r := bpf.Reason(0); int(r) < bpf.NumReasons; r++ {
		counters[r.String()] = cs[r]
	}
	return struct {
		Mode     string            `json:"MODE"`
		Counters map[string]uint64 `json:"COUNTERS"`
	}{f.Mode().String(), counters}, nil
}

type autoBan struct {
	Address string  `json:"ADDRESS"`
	Seconds float64 `json:"SECONDS_LEFT"`
}

func (m *methods) filterBans(context.Context, rpc.Params) (any, error) {
	f, err := m.filter()
	if err != nil {
		return nil, err
	}
	ops, err := f.Bans()
	if err != nil {
		return nil, withDetail(rpc.ErrInternal, err)
	}
	autos, err := f.AutoBans()
	if err != nil {
		return nil, withDetail(rpc.ErrInternal, err)
	}
	out := struct {
		Operator []string  `json:"OPERATOR"`
		Auto     []autoBan `json:"AUTO"`
	}{Operator: prefixStrings(ops), Auto: []autoBan{}}
	for _, a := range autos {
		out.Auto = append(out.Auto, autoBan{a.Addr.String(), a.Remaining.Seconds()})
	}
	return out, nil
}

func (m *methods) filterAllowed(context.Context, rpc.Params) (any, error) {
	f, err := m.filter()
	if err != nil {
		return nil, err
	}
	al, err := f.Allowed()
	if err != nil {
		return nil, withDetail(rpc.ErrInternal, err)
	}
	return prefixStrings(al), nil
}

// prefixParam reads the PREFIX parameter (an address or a CIDR prefix).
func prefixParam(p rpc.Params) (netip.Prefix, error) {
	s, err := p.String(0)
	if err != nil {
		return netip.Prefix{}, rpc.ErrInvalidParams
	}
	pfx, ok := parsePrefix(s)
	if !ok {
		return netip.Prefix{}, rpc.ErrInvalidParams
	}
	return pfx, nil
}

func (m *methods) filterEdit(ban, add bool) rpc.Handler {
	return func(_ context.Context, p rpc.Params) (any, error) {
		if _, err := m.filter(); err != nil {
			return nil, err
		}
		pfx, err := prefixParam(p)
		if err != nil {
			return nil, err
		}
		if err := m.e.filterEdit(pfx, ban, add); err != nil {
			return nil, withDetail(rpc.ErrInternal, err)
		}
		return "Ok.", nil
	}
}

// filterUnban lifts an operator ban on the prefix, else an automatic ban on
// the address.
func (m *methods) filterUnban(ctx context.Context, p rpc.Params) (any, error) {
	f, err := m.filter()
	if err != nil {
		return nil, err
	}
	pfx, err := prefixParam(p)
	if err != nil {
		return nil, err
	}
	ops, _ := f.Bans()
	for _, b := range ops {
		if b == pfx {
			if err := m.e.filterEdit(pfx, true, false); err != nil {
				return nil, withDetail(rpc.ErrInternal, err)
			}
			return "Ok.", nil
		}
	}
	if pfx.IsSingleIP() {
		if lifted, err := f.ClearAutoBan(pfx.Addr()); err == nil && lifted {
			return "Ok.", nil
		}
	}
	return nil, &rpc.Error{Code: 404, Message: "No Such Ban"}
}

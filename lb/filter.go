package lb

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/sipfront/sipfront/bpf"
)

// The flood filter (package bpf): an XDP program on the listening
// interfaces, or the same policy in the workers when XDP cannot load. The
// engine fills the allow list with every back end of the destination table
// (a back end is never rate-limited or banned) and keeps it current across
// reloads; run-time edits through the RPC survive reloads too.

// FilterConfig configures the flood filter. Mode off (the default) runs none.
type FilterConfig struct {
	Mode bpf.Mode
	// Interfaces to attach XDP to; empty: the interfaces that carry the
	// listen addresses (every interface that is up for a wildcard listen).
	Interfaces []string
	Rate       bpf.Rate
	Allow, Ban []netip.Prefix
	UserAgents []string
	MaxSources int
}

// filterState is the engine's side of the filter.
type filterState struct {
	f    bpf.Filter     // nil when off
	user *bpf.Userspace // set when the policy runs in the workers

	mu                  sync.Mutex
	base                bpf.Config     // from the configuration
	addAllow, addBan    []netip.Prefix // run-time additions
	dropAllow, dropBans []netip.Prefix // run-time removals of configured entries
}

// openFilter starts the filter the configuration asks for.
func (e *Engine) openFilter() error {
	fc := e.cfg.Filter
	if fc.Mode == bpf.ModeOff {
		return nil
	}
	var ports []uint16
	for tr := range e.idents {
		for _, id := range e.idents[tr] {
			if !slices.Contains(ports, id.addr.Port()) {
				ports = append(ports, id.addr.Port())
			}
		}
	}
	e.filter.base = bpf.Config{Ports: ports, Rate: fc.Rate, Allow: fc.Allow, Ban: fc.Ban,
		UserAgents: fc.UserAgents, MaxSources: fc.MaxSources}
	ifaces := fc.Interfaces
	if len(ifaces) == 0 {
		var err error
		if ifaces, err = listenInterfaces(e.cfg.Listen); err != nil {
			return err
		}
	}
	f, err := bpf.Open(fc.Mode, ifaces, e.filterConfig(), e.log)
	if err != nil {
		return fmt.Errorf("flood filter: %w", err)
	}
	e.filter.f = f
	e.filter.user, _ = f.(*bpf.Userspace)
	return nil
}

// filterConfig is the configured policy plus the back ends of the current
// table and the run-time edits.
func (e *Engine) filterConfig() bpf.Config {
	fs := &e.filter
	fs.mu.Lock()
	defer fs.mu.Unlock()
	c := fs.base
	c.Allow = append([]netip.Prefix(nil), c.Allow...)
	for _, d := range e.disp.Current().Dests() {
		p := netip.PrefixFrom(d.Addr.Addr().Unmap(), d.Addr.Addr().Unmap().BitLen())
		if !slices.Contains(c.Allow, p) {
			c.Allow = append(c.Allow, p)
		}
	}
	c.Allow = merge(c.Allow, fs.addAllow, fs.dropAllow)
	c.Ban = merge(c.Ban, fs.addBan, fs.dropBans)
	return c
}

func merge(base, add, drop []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range base {
		if !slices.Contains(drop, p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, p := range add {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// refreshFilter applies the current table's back ends (after a reload).
func (e *Engine) refreshFilter() {
	if e.filter.f == nil {
		return
	}
	if err := e.filter.f.Update(e.filterConfig()); err != nil {
		e.log.Error("flood filter: update after reload failed", "err", err)
	}
}

// Filter returns the running flood filter, nil when it is off.
func (e *Engine) Filter() bpf.Filter { return e.filter.f }

// FilterBan, FilterUnban, FilterAllow and FilterDisallow edit the lists at
// run time; the edits survive reloads.
func (e *Engine) FilterBan(p netip.Prefix) error   { return e.filterEdit(p, true, true) }
func (e *Engine) FilterUnban(p netip.Prefix) error { return e.filterEdit(p, true, false) }
func (e *Engine) FilterAllow(p netip.Prefix) error { return e.filterEdit(p, false, true) }
func (e *Engine) FilterDisallow(p netip.Prefix) error {
	return e.filterEdit(p, false, false)
}

func (e *Engine) filterEdit(p netip.Prefix, ban, add bool) error {
	fs := &e.filter
	if fs.f == nil {
		return bpf.ErrOff
	}
	p = p.Masked()
	var err error
	switch {
	case ban && add:
		err = fs.f.AddBan(p)
	case ban:
		err = fs.f.RemoveBan(p)
	case add:
		err = fs.f.AddAllow(p)
	default:
		err = fs.f.RemoveAllow(p)
	}
	if err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	addL, dropL := &fs.addAllow, &fs.dropAllow
	if ban {
		addL, dropL = &fs.addBan, &fs.dropBans
	}
	if add {
		*dropL = slices.DeleteFunc(*dropL, func(q netip.Prefix) bool { return q == p })
		if !slices.Contains(*addL, p) {
			*addL = append(*addL, p)
		}
	} else {
		*addL = slices.DeleteFunc(*addL, func(q netip.Prefix) bool { return q == p })
		if !slices.Contains(*dropL, p) {
			*dropL = append(*dropL, p)
		}
	}
	return nil
}

// listenInterfaces names the interfaces that carry the listen addresses.
func listenInterfaces(ls []Listen) ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range ls {
		for _, ifc := range ifs {
			if ifc.Flags&net.FlagUp == 0 || slices.Contains(out, ifc.Name) {
				continue
			}
			if l.Addr.Addr().IsUnspecified() {
				out = append(out, ifc.Name)
				continue
			}
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				if pfx, err := netip.ParsePrefix(a.String()); err == nil && pfx.Addr().Unmap() == l.Addr.Addr().Unmap() {
					out = append(out, ifc.Name)
					break
				}
			}
		}
	}
	return out, nil
}

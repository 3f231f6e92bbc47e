package dispatcher

import (
	"cmp"
	"math/bits"
	"net/netip"
	"slices"
	"sync/atomic"
)

// Choosing among the targets of a destination named by host name.
//
// Targets are ranked once, when a table is built: rank = 2×SRV priority,
// plus 1 for an address of the non-preferred family of a host that has one
// of the preferred family (so a dual-stack host takes calls on one address,
// and its other one is a fallback; a host with only IPv6 addresses competes
// on equal terms). Within the best rank that has a usable target, the pick is
// weighted rendezvous over the SRV weights on the caller's key, as Select
// does among destinations: the same key gives the same target, so a
// retransmission and its CANCEL follow the INVITE; a target that leaves moves
// only its own keys. Weight 0 takes a share only when every usable target of
// the rank has weight 0 (RFC 2782 gives it "a very small chance"; here it
// is none while others are up).

// target is one target as Target reads it.
type target struct {
	ap   netip.AddrPort
	rank uint32
	w    uint32
	r    uint64 // recipOf(w)
	seed uint64
	down *atomic.Bool // shared with the dnsEntry; set by SetTargetUsable
	t    Target
}

// rankTargets fills in the selection fields and sorts ts by rank, then
// weight (highest first), then address: the first is the primary target.
func rankTargets(ts []target, preferV6 bool) {
	pref := func(a netip.Addr) bool { return a.Is6() == preferV6 }
	for i := range ts {
		t := &ts[i]
		t.ap = t.t.Addr
		t.rank = uint32(t.t.Priority) << 1
		if !pref(t.ap.Addr()) {
			for j := range ts {
				o := &ts[j].t
				if o.Priority == t.t.Priority && o.Name == t.t.Name && pref(o.Addr.Addr()) {
					t.rank |= 1
					break
				}
			}
		}
		t.w = uint32(t.t.Weight)
		t.r = recipOf(t.w)
		b, _ := t.ap.MarshalBinary()
		t.seed = HashMore(HashMoreString(3, t.t.Name), b)
	}
	slices.SortStableFunc(ts, func(a, b target) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(b.w, a.w), a.ap.Compare(b.ap))
	})
}

// Target returns the address to send a new request for key to: for an IP
// literal, Addr; for a name, one of its targets (see the comment at the top
// of target.go). key is the same hash the caller gave Select, so that all
// messages of one transaction reach the same address. When every target is
// marked unusable it returns Addr. It reads one atomic word per target it
// considers, takes no lock and allocates nothing.
func (d *Dest) Target(key uint64) netip.AddrPort {
	ap, _ := d.TargetTransport(key)
	return ap
}

// TargetTransport is Target with the transport the chosen target is reached
// over (NAPTR and SRV may name other transports than the URI's).
func (d *Dest) TargetTransport(key uint64) (netip.AddrPort, Transport) {
	ts := d.targets
	if len(ts) < 2 {
		if len(ts) == 1 {
			return ts[0].ap, d.targetTransport(&ts[0])
		}
		return d.Addr, d.Transport
	}
	for i := 0; i < len(ts); {
		j := i + 1
		for j < len(ts) && ts[j].rank == ts[i].rank {
			j++
		}
		if k := pickTarget(ts[i:j], key); k >= 0 {
			return ts[i+k].ap, d.targetTransport(&ts[i+k])
		}
		i = j
	}
	return d.Addr, d.Transport
}

func (d *Dest) targetTransport(t *target) Transport {
	if t.t.Transport != 0 {
		return t.t.Transport
	}
	return d.Transport
}

func pickTarget(ts []target, key uint64) int {
	best := -1
	var bestHi, bestLo, bestH uint64
	zeros := false
	for i := range ts {
		t := &ts[i]
		if t.down.Load() {
			continue
		}
		if t.w == 0 {
			zeros = true
			continue
		}
		h := mix(key ^ t.seed)
		hi, lo := bits.Mul64(negLog2Q32(h), t.r)
		if best < 0 || hi < bestHi || (hi == bestHi && (lo < bestLo || (lo == bestLo && h > bestH))) {
			best, bestHi, bestLo, bestH = i, hi, lo, h
		}
	}
	if best >= 0 || !zeros {
		return best
	}
	// Every usable target has weight 0: equal shares.
	for i := range ts {
		t := &ts[i]
		if t.down.Load() {
			continue
		}
		h := mix(key ^ t.seed)
		if best < 0 || h > bestH {
			best, bestH = i, h
		}
	}
	return best
}

// TargetOn returns the target of d on address ip (the listed address of a
// back end that sent from ip), without allocating; false when d has none
// there.
func (d *Dest) TargetOn(ip netip.Addr) (netip.AddrPort, Transport, bool) {
	ip = ip.Unmap()
	if d.Addr.Addr() == ip {
		return d.Addr, d.Transport, true
	}
	for i := range d.targets {
		if t := &d.targets[i]; t.ap.Addr() == ip {
			return t.ap, d.targetTransport(t), true
		}
	}
	return netip.AddrPort{}, 0, false
}

package bpf

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// prefixSet is an immutable set of address prefixes with an allocation-free
// membership test: the prefixes as sorted, merged address ranges, searched by
// bisection. The user-space filter swaps whole sets through an atomic pointer
// when the operator edits a list, so readers never lock. It answers the same
// question as the XDP program's LPM tries: does any prefix contain the
// address (an IPv4 address is never inside an IPv6 prefix, and the reverse).
type prefixSet struct {
	list []netip.Prefix // normalized, sorted, unique: what Bans/Allowed return
	v4   []range4
	v6   []range6
}

type range4 struct{ lo, hi uint32 }

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

type range6 struct{ lo, hi u128 }

func newPrefixSet(list []netip.Prefix) *prefixSet {
	s := &prefixSet{list: list}
	for _, p := range list {
		if p.Addr().Is4() {
			a := binary.BigEndian.Uint32(p.Addr().AsSlice())
			span := uint32(1)<<(32-p.Bits()) - 1
			if p.Bits() == 0 {
				span = ^uint32(0)
			}
			s.v4 = append(s.v4, range4{a, a | span})
		} else {
			b := p.Addr().As16()
			lo := u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
			hi := lo
			if bits := p.Bits(); bits < 64 {
				hi.hi |= ^uint64(0) >> bits
				hi.lo = ^uint64(0)
			} else if bits < 128 {
				hi.lo |= ^uint64(0) >> (bits - 64)
			}
			s.v6 = append(s.v6, range6{lo, hi})
		}
	}
	slices.SortFunc(s.v4, func(a, b range4) int {
		if a.lo != b.lo {
			return cmpU32(a.lo, b.lo)
		}
		return cmpU32(b.hi, a.hi)
	})
	slices.SortFunc(s.v6, func(a, b range6) int {
		if a.lo != b.lo {
			if a.lo.less(b.lo) {
				return -1
			}
			return 1
		}
		if b.hi.less(a.hi) {
			return -1
		}
		if a.hi.less(b.hi) {
			return 1
		}
		return 0
	})
	// Merge: prefixes either nest or are disjoint, so dropping each range
	// inside the one kept before it leaves sorted, disjoint ranges.
	s.v4 = mergeSorted(s.v4, func(kept, r range4) bool { return r.hi <= kept.hi })
	s.v6 = mergeSorted(s.v6, func(kept, r range6) bool { return !kept.hi.less(r.hi) })
	return s
}

func cmpU32(a, b uint32) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func mergeSorted[T any](rs []T, inside func(kept, r T) bool) []T {
	out := rs[:0]
	for _, r := range rs {
		if len(out) > 0 && inside(out[len(out)-1], r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// contains reports whether a prefix of s holds a (normalized by normAddr).
func (s *prefixSet) contains(a netip.Addr) bool {
	if a.Is4() {
		if len(s.v4) == 0 {
			return false
		}
		b := a.As4()
		x := binary.BigEndian.Uint32(b[:])
		// The last range starting at or before x.
		lo, hi := 0, len(s.v4)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s.v4[m].lo <= x {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo > 0 && x <= s.v4[lo-1].hi
	}
	if len(s.v6) == 0 {
		return false
	}
	b := a.As16()
	x := u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
	lo, hi := 0, len(s.v6)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !x.less(s.v6[m].lo) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo > 0 && !s.v6[lo-1].hi.less(x)
}

// sortPrefixes sorts normalized prefixes (IPv4 first, then by address and
// length) and drops duplicates.
func sortPrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(ps)
}

// with returns a copy of list with p added (and whether it was new).
func with(list []netip.Prefix, p netip.Prefix) ([]netip.Prefix, bool) {
	if slices.Contains(list, p) {
		return list, false
	}
	out := append(slices.Clip(list), p)
	return sortPrefixes(out), true
}

// without returns a copy of list without p (and whether it was there).
func without(list []netip.Prefix, p netip.Prefix) ([]netip.Prefix, bool) {
	i := slices.Index(list, p)
	if i < 0 {
		return list, false
	}
	return slices.Delete(slices.Clone(list), i, i+1), true
}

// addedPrefixes returns the prefixes of next that are not in prev.
func addedPrefixes(prev, next []netip.Prefix) []netip.Prefix {
	had := make(map[netip.Prefix]bool, len(prev))
	for _, p := range prev {
		had[p] = true
	}
	var out []netip.Prefix
	for _, p := range next {
		if !had[p] {
			out = append(out, p)
		}
	}
	return out
}

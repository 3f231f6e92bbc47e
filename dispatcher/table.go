package dispatcher

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Table is one immutable version of the destination sets. Lookups on it
// (Set, ByAddr, ByIP, Set.Select) take no lock and allocate nothing.
type Table struct {
	name  string
	sets  []*Set // by id
	all   []*Dest
	addrs []addrEntry // by address, then port, then set
}

// addrEntry indexes a destination by its address (see AddrKey).
type addrEntry struct {
	AddrKey
	d *Dest
}

// Set is a destination set.
type Set struct {
	id      int
	dests   []*Dest // Kamailio order
	ents    []entry // the same, packed for Select
	uniform [numWeightKinds]bool
}

// ID is the set id.
func (s *Set) ID() int { return s.id }

// Dests are the destinations in Kamailio order: highest priority first,
// equal priorities in reverse file order. The slice is shared: do not modify.
func (s *Set) Dests() []*Dest { return s.dests }

// newTable groups dests (in file order) into sets.
func newTable(name string, dests []*Dest) *Table {
	t := &Table{name: name}
	byID := map[int][]*Dest{}
	var ids []int
	for _, d := range dests {
		if _, ok := byID[d.Set]; !ok {
			ids = append(ids, d.Set)
		}
		byID[d.Set] = append(byID[d.Set], d)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ds := byID[id]
		// Kamailio order: reverse file order, then a stable sort by
		// priority, highest first.
		slices.Reverse(ds)
		slices.SortStableFunc(ds, func(a, b *Dest) int { return b.Priority - a.Priority })
		s := &Set{id: id, dests: ds, ents: make([]entry, len(ds))}
		for i, d := range ds {
			e := &s.ents[i]
			e.rt, e.d, e.seed = d.RT, d, d.seed
			e.w[wkHash] = d.hashWeight()
			e.w[wkWeight] = uint32(max(d.Attrs.Weight, 0))
			e.w[wkRWeight] = uint32(max(d.Attrs.RWeight, 0))
			for k := range e.r {
				e.r[k] = recipOf(e.w[k])
			}
		}
		for k := range s.uniform {
			s.uniform[k] = true
			for i := range s.ents {
				if s.ents[i].w[k] != s.ents[0].w[k] {
					s.uniform[k] = false
				}
			}
		}
		t.sets = append(t.sets, s)
		t.all = append(t.all, ds...)
		for _, d := range ds {
			e := addrEntry{KeyOf(d.Addr.Addr(), d.Addr.Port()), d}
			t.addrs = append(t.addrs, e)
			// A named destination is found by any of its targets: a back
			// end may send from any, and a cookie may name any.
			for i := range d.targets {
				ap := d.targets[i].ap
				if ap == d.Addr || slices.ContainsFunc(d.targets[:i], func(o target) bool { return o.ap == ap }) {
					continue
				}
				e := addrEntry{KeyOf(ap.Addr(), ap.Port()), d}
				t.addrs = append(t.addrs, e)
			}
		}
	}
	slices.SortStableFunc(t.addrs, func(a, b addrEntry) int { return a.Compare(&b.AddrKey) })
	return t
}

// Name is the file name the table was loaded from.
func (t *Table) Name() string { return t.name }

// Sets are the sets by id. The slice is shared: do not modify.
func (t *Table) Sets() []*Set { return t.sets }

// Dests are all destinations, set by set, each set in Kamailio order. The
// slice is shared: do not modify.
func (t *Table) Dests() []*Dest { return t.all }

// Set returns the set with the given id, or nil (a nil *Set selects nil).
// Binary search over the sets: no map, no allocation.
func (t *Table) Set(id int) *Set {
	if t == nil {
		return nil
	}
	lo, hi := 0, len(t.sets)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.sets[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(t.sets) && t.sets[lo].id == id {
		return t.sets[lo]
	}
	return nil
}

// ByAddr returns the destination at exactly this address and port (its
// Addr, or any target of a destination named by host name), or nil; when
// several sets list it, the one in the lowest set. IPv4-mapped IPv6
// addresses match their IPv4 form.
func (t *Table) ByAddr(ap netip.AddrPort) *Dest {
	if t == nil {
		return nil
	}
	if !ap.Addr().IsValid() {
		return nil
	}
	k := KeyOf(ap.Addr(), ap.Port())
	i := t.lowerBound(&k)
	if i < len(t.addrs) && t.addrs[i].Compare(&k) == 0 {
		return t.addrs[i].d
	}
	return nil
}

// ByIP returns a destination on this IP (any port, any target), or nil:
// "does this request come from a back end". The one with the lowest port is
// returned.
func (t *Table) ByIP(ip netip.Addr) *Dest {
	if t == nil {
		return nil
	}
	if !ip.IsValid() {
		return nil
	}
	k := KeyOf(ip, 0)
	i := t.lowerBound(&k)
	if i < len(t.addrs) && t.addrs[i].SameIP(&k) {
		return t.addrs[i].d
	}
	return nil
}

func (t *Table) lowerBound(k *AddrKey) int {
	lo, hi := 0, len(t.addrs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.addrs[m].Compare(k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// AppendList appends the table in list file format to b: a file that Load
// reads back into the same table (same sets, destinations, order, flags,
// priorities and attrs). Each set's destinations are written lowest priority
// first and in reverse order, since Kamailio order reverses the file.
func (t *Table) AppendList(b []byte) []byte {
	b = append(b, "# dispatcher.list written by sipfront: "...)
	b = strconv.AppendInt(b, int64(len(t.sets)), 10)
	b = append(b, " sets, "...)
	b = strconv.AppendInt(b, int64(len(t.all)), 10)
	b = append(b, " destinations\n"...)
	for _, s := range t.sets {
		for i := len(s.dests) - 1; i >= 0; i-- {
			b = appendDestLine(b, s.dests[i])
		}
	}
	return b
}

func appendDestLine(b []byte, d *Dest) []byte {
	b = strconv.AppendInt(b, int64(d.Set), 10)
	b = append(b, ' ')
	b = append(b, d.URI...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(d.Flags), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(d.Priority), 10)
	if d.Attrs.Present {
		b = append(b, ' ')
		b = append(b, d.Attrs.Body...)
		// Kamailio drops one trailing ';': add it back where the body needs it.
		if d.Attrs.Body == "" || strings.HasSuffix(d.Attrs.Body, ";") {
			b = append(b, ';')
		}
	}
	return append(b, '\n')
}

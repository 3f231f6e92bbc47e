package bpf

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Userspace is the XDP program's policy in Go, for hosts without XDP: the
// receive workers call Check for every datagram (CheckConn for every
// accepted TCP connection) and drop what it drops. Same rules, same order,
// same reasons and counters as filter.c.
//
// Check, CheckConn and CheckFrame allocate nothing and are safe for
// concurrent use by any number of goroutines: the configuration and the
// prefix lists are immutable snapshots behind atomic pointers, per-source
// state sits in a sharded fixed-size table (see sourceTable for its memory
// bound and what happens when it fills), and the counters are striped over
// cache lines. The management methods may run concurrently with them.
type Userspace struct {
	rules atomic.Pointer[rules]
	allow atomic.Pointer[prefixSet]
	bans  atomic.Pointer[prefixSet]
	table *sourceTable
	epoch time.Time

	counters [counterStripes]counterStripe

	mu     sync.Mutex // serializes the management methods
	closed bool
}

const counterStripes = 16

// counterStripe is one cache line of counters; a source's hash picks the
// stripe so that workers handling different sources rarely share a line.
type counterStripe struct {
	c [NumReasons]atomic.Uint64
}

// NewUserspace returns a user-space filter enforcing cfg.
func NewUserspace(cfg Config) (*Userspace, error) {
	r, err := compile(&cfg)
	if err != nil {
		return nil, err
	}
	u := &Userspace{table: newSourceTable(r.maxSources), epoch: time.Now()}
	u.rules.Store(r)
	u.allow.Store(newPrefixSet(r.allow))
	u.bans.Store(newPrefixSet(r.bans))
	register(u)
	return u, nil
}

// nanos is now on the filter's clock: nanoseconds since the filter was made,
// using the monotonic reading when now has one.
func (u *Userspace) nanos(now time.Time) uint64 {
	d := now.Sub(u.epoch)
	if d < 0 {
		return 0
	}
	return uint64(d)
}

func (u *Userspace) count(h uint64, r Reason) {
	u.counters[(h>>32)&(counterStripes-1)].c[r].Add(1)
}

// Check decides the fate of a UDP datagram with the given payload from src
// to the local port dstPort, received at now. src may be IPv4-mapped (as a
// dual-stack socket reports IPv4 peers); it is treated as IPv4. payload is
// only read, and not retained.
func (u *Userspace) Check(src netip.Addr, dstPort uint16, payload []byte, now time.Time) Reason {
	return u.decide(src, dstPort, payload, true, now)
}

// CheckConn decides the fate of a TCP connection from src to the local port
// dstPort, accepted at now: the per-source rules (allow list, bans, rate
// limit; each connection counts as one packet), as the XDP program applies
// them to SYNs. The caller closes the connection when the reason drops.
func (u *Userspace) CheckConn(src netip.Addr, dstPort uint16, now time.Time) Reason {
	return u.decide(src, dstPort, nil, false, now)
}

// decide applies the rules to a packet from src to dstPort, the payload
// rules only when withPayload, and counts the verdict.
func (u *Userspace) decide(src netip.Addr, dstPort uint16, payload []byte, withPayload bool, now time.Time) Reason {
	r := u.rules.Load()
	if !r.portListed(dstPort) {
		u.count(uint64(dstPort)<<32, Ignored)
		return Ignored
	}
	src = normAddr(src)
	h := u.table.hash(src)
	reason := u.source(r, src, h, now)
	if reason == Passed && withPayload {
		reason = sipPayload(payload, &r.ua)
	}
	u.count(h, reason)
	return reason
}

// source applies rules 1 to 4.
func (u *Userspace) source(r *rules, src netip.Addr, h uint64, now time.Time) Reason {
	if u.allow.Load().contains(src) {
		return Allowed
	}
	if u.bans.Load().contains(src) {
		return DroppedOperatorBan
	}
	return u.table.check(src, h, u.nanos(now), r)
}

// CheckFrame decodes an Ethernet frame exactly as the XDP program does
// (up to two VLAN tags; IPv4 with options; IPv6 with up to four hop-by-hop,
// routing or destination options headers) and applies Check or CheckConn.
// Frames the program passes untouched (other ports and protocols, fragments,
// TCP segments other than a SYN, truncated headers) are Ignored. For
// AF_PACKET-style receive paths and for replaying captures; the tests use it
// to hold both implementations to one fixture table.
func (u *Userspace) CheckFrame(frame []byte, now time.Time) Reason {
	var f decoded
	if !decodeFrame(frame, &f) || !u.rules.Load().portListed(f.port) ||
		(f.tcp && !f.syn) || (!f.tcp && f.badLen) {
		u.count(uint64(f.port)<<32, Ignored)
		return Ignored
	}
	if f.tcp || f.poff > payloadOffMax {
		// A SYN; or a datagram so deep in the frame (only chains of
		// IPv6 extension headers get there) that the program's
		// payload rules give up: the source rules only.
		return u.decide(f.src, f.port, nil, false, now)
	}
	return u.decide(f.src, f.port, frame[f.poff:f.poff+f.plen], true, now)
}

// decoded is what decodeFrame finds in a frame.
type decoded struct {
	src    netip.Addr
	port   uint16
	tcp    bool // else UDP
	syn    bool // TCP: SYN without ACK
	badLen bool // UDP: the length field does not fit the frame
	poff   int  // UDP payload offset
	plen   int  // UDP payload length
}

// decodeFrame mirrors the parsing in sipfront_filter (filter.c). It reports
// false for frames the program ignores before it looks at the port.
func decodeFrame(b []byte, f *decoded) bool {
	if len(b) < 14 {
		return false
	}
	proto := binary.BigEndian.Uint16(b[12:])
	p := 14
	for t := 0; t < 2; t++ {
		if proto != 0x8100 && proto != 0x88a8 {
			break
		}
		if p+4 > len(b) {
			return false
		}
		proto = binary.BigEndian.Uint16(b[p+2:])
		p += 4
	}
	var l4proto byte
	var l4 int
	switch proto {
	case 0x0800:
		if p+20 > len(b) || b[p]>>4 != 4 {
			return false
		}
		ihl := int(b[p]&0x0f) * 4
		if ihl < 20 || binary.BigEndian.Uint16(b[p+6:])&0x3fff != 0 {
			return false
		}
		l4proto = b[p+9]
		f.src = netip.AddrFrom4([4]byte(b[p+12 : p+16]))
		l4 = p + ihl
	case 0x86dd:
		if p+40 > len(b) || b[p]>>4 != 6 {
			return false
		}
		l4proto = b[p+6]
		f.src = netip.AddrFrom16([16]byte(b[p+8 : p+24])).Unmap()
		l4 = p + 40
		for t := 0; t < 4; t++ {
			if l4proto != 0 && l4proto != 43 && l4proto != 60 {
				break
			}
			if l4+2 > len(b) {
				return false
			}
			l4proto = b[l4]
			l4 += (int(b[l4+1]) + 1) * 8
		}
	default:
		return false
	}
	switch l4proto {
	case 17:
		if l4+8 > len(b) {
			return false
		}
		f.port = binary.BigEndian.Uint16(b[l4+2:])
		ulen := int(binary.BigEndian.Uint16(b[l4+4:]))
		f.poff = l4 + 8
		f.plen = ulen - 8
		f.badLen = ulen < 8 || f.poff+f.plen > len(b)
		return true
	case 6:
		if l4+20 > len(b) {
			return false
		}
		f.tcp = true
		f.port = binary.BigEndian.Uint16(b[l4+2:])
		f.syn = b[l4+13]&0x12 == 0x02
		return true
	}
	return false
}

// Mode reports ModeUser.
func (u *Userspace) Mode() Mode { return ModeUser }

// Counters returns the packet counts by reason since the filter was made.
func (u *Userspace) Counters() (Counters, error) {
	var c Counters
	for i := range u.counters {
		for r := range c {
			c[r] += u.counters[i].c[r].Load()
		}
	}
	return c, nil
}

// Bans returns the operator ban list.
func (u *Userspace) Bans() ([]netip.Prefix, error) {
	return slices.Clone(u.bans.Load().list), nil
}

// Allowed returns the allow list.
func (u *Userspace) Allowed() ([]netip.Prefix, error) {
	return slices.Clone(u.allow.Load().list), nil
}

// AddBan adds p to the operator ban list.
func (u *Userspace) AddBan(p netip.Prefix) error { return u.edit(&u.bans, p, true) }

// RemoveBan removes p from the operator ban list; ErrNotFound if absent.
func (u *Userspace) RemoveBan(p netip.Prefix) error { return u.edit(&u.bans, p, false) }

// AddAllow adds p to the allow list.
func (u *Userspace) AddAllow(p netip.Prefix) error { return u.edit(&u.allow, p, true) }

// RemoveAllow removes p from the allow list; ErrNotFound if absent.
func (u *Userspace) RemoveAllow(p netip.Prefix) error { return u.edit(&u.allow, p, false) }

func (u *Userspace) edit(set *atomic.Pointer[prefixSet], p netip.Prefix, add bool) error {
	p, err := normPrefix(p)
	if err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	cur := set.Load().list
	if add {
		next, changed := with(cur, p)
		if !changed {
			return nil
		}
		if len(next) > MaxPrefixes {
			return ErrTooManyPrefixes
		}
		set.Store(newPrefixSet(next))
		u.liftCovered([]netip.Prefix{p})
		return nil
	}
	next, changed := without(cur, p)
	if !changed {
		return ErrNotFound
	}
	set.Store(newPrefixSet(next))
	return nil
}

// AutoBans returns the automatic bans in force, by address.
func (u *Userspace) AutoBans() ([]AutoBan, error) {
	now := u.nanos(time.Now())
	var out []AutoBan
	u.table.each(func(s *srcSlot) {
		if s.bannedUntil > now {
			out = append(out, AutoBan{Addr: s.addr, Remaining: time.Duration(s.bannedUntil - now)})
		}
	})
	sortAutoBans(out)
	return out, nil
}

// ClearAutoBan lifts the automatic ban on a; it reports whether one was in
// force.
func (u *Userspace) ClearAutoBan(a netip.Addr) (bool, error) {
	return u.table.unban(normAddr(a), u.nanos(time.Now())), nil
}

// ClearAutoBans lifts every automatic ban and returns how many were in force.
func (u *Userspace) ClearAutoBans() (int, error) {
	now := u.nanos(time.Now())
	n := 0
	u.table.each(func(s *srcSlot) {
		if s.bannedUntil > now {
			n++
		}
		s.bannedUntil = 0
	})
	return n, nil
}

// Update replaces the configuration: ports, rate limit, User-Agent prefixes,
// and the allow and ban lists (run-time edits to the lists are lost, as on
// any reload). Per-source state and automatic bans are kept. MaxSources
// cannot change (ErrRestartRequired).
func (u *Userspace) Update(cfg Config) error {
	r, err := compile(&cfg)
	if err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if r.maxSources != u.rules.Load().maxSources {
		return ErrRestartRequired
	}
	added := append(addedPrefixes(u.allow.Load().list, r.allow), addedPrefixes(u.bans.Load().list, r.bans)...)
	u.rules.Store(r)
	u.allow.Store(newPrefixSet(r.allow))
	u.bans.Store(newPrefixSet(r.bans))
	u.liftCovered(added)
	return nil
}

// liftCovered lifts the automatic bans of the sources inside ps, prefixes
// just added to the allow list or the operator ban list, as the loader does
// for the XDP program (liftCovered in loader.go): an allow-listed or
// operator-banned source has no automatic ban, so one does not come back
// into force when the prefix is removed again. Packets never see the
// difference, since both lists are checked before the automatic bans here.
func (u *Userspace) liftCovered(ps []netip.Prefix) {
	if len(ps) == 0 {
		return
	}
	set := newPrefixSet(ps)
	u.table.each(func(s *srcSlot) {
		if s.bannedUntil != 0 && set.contains(s.addr) {
			s.bannedUntil = 0
		}
	})
}

// Close stops exporting the filter's metrics. Check keeps working.
func (u *Userspace) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.closed {
		u.closed = true
		unregister(u)
	}
	return nil
}

package bpf

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// XDP is the loaded XDP program, its maps, and its attachments. The program
// filters on its own; the methods manage it. Nothing is pinned: closing the
// XDP (or the process exiting) detaches the program and frees the maps.
type XDP struct {
	mu          sync.Mutex
	objs        filterObjects
	links       []link.Link
	attached    []Attachment
	rules       *rules
	clockOffset uint64 // added to the program's clock; tests only
	closed      bool
}

// Attachment is one interface the program is attached to.
type Attachment struct {
	Interface string
	Index     int
	Mode      string // "driver" (native XDP) or "generic" (skb mode)
}

// LoadXDP loads the XDP program with cfg and attaches it to every interface
// in ifaces, in driver mode where the driver supports it and in generic mode
// elsewhere. Failures of the host (kernel, privileges, driver) are
// *UnsupportedError, which Is ErrNotSupported; an invalid cfg or an unknown
// interface is an ordinary error.
func LoadXDP(cfg Config, ifaces []string) (*XDP, error) {
	if len(ifaces) == 0 {
		return nil, ErrNoInterfaces
	}
	x, err := loadXDP(cfg)
	if err != nil {
		return nil, err
	}
	for _, name := range ifaces {
		if err := x.attach(name); err != nil {
			x.close()
			return nil, err
		}
	}
	register(x)
	return x, nil
}

// loadXDP loads the program and fills its maps, without attaching it.
func loadXDP(cfg Config) (*XDP, error) {
	r, err := compile(&cfg)
	if err != nil {
		return nil, err
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK. Without
	// privileges this fails, and so will the load; the load's error is the
	// one worth reporting.
	memlockErr := rlimit.RemoveMemlock()
	spec, err := loadFilter()
	if err != nil {
		return nil, fmt.Errorf("bpf: embedded program: %w", err)
	}
	spec.Maps["rates"].MaxEntries = uint32(r.maxSources)
	spec.Maps["autobans"].MaxEntries = uint32(r.maxSources)
	x := &XDP{rules: r}
	// The object is fixed and loads on every kernel we support, so a
	// failure here is the host's: too old, no CAP_BPF, a verifier that
	// disagrees. All of those mean "fall back".
	if err := spec.LoadAndAssign(&x.objs, nil); err != nil {
		if memlockErr != nil {
			err = fmt.Errorf("%w (raising RLIMIT_MEMLOCK failed too: %v)", err, memlockErr)
		}
		return nil, &UnsupportedError{Op: "load XDP program", Err: err}
	}
	if err := x.writeConfig(); err != nil {
		x.close()
		return nil, err
	}
	if err := x.syncList(x.objs.Allow, r.allow); err != nil {
		x.close()
		return nil, err
	}
	if err := x.syncList(x.objs.OperatorBans, r.bans); err != nil {
		x.close()
		return nil, err
	}
	return x, nil
}

func (x *XDP) attach(name string) error {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return fmt.Errorf("bpf: interface %q: %w", name, err)
	}
	mode := "driver"
	l, err := link.AttachXDP(link.XDPOptions{Program: x.objs.SipfrontFilter, Interface: ifc.Index, Flags: link.XDPDriverMode})
	if err != nil {
		var err2 error
		mode = "generic"
		l, err2 = link.AttachXDP(link.XDPOptions{Program: x.objs.SipfrontFilter, Interface: ifc.Index, Flags: link.XDPGenericMode})
		if err2 != nil {
			return &UnsupportedError{Op: "attach XDP to " + name,
				Err: fmt.Errorf("driver mode: %w; generic mode: %w", err, err2)}
		}
	}
	x.links = append(x.links, l)
	x.attached = append(x.attached, Attachment{Interface: name, Index: ifc.Index, Mode: mode})
	return nil
}

// Attachments lists the interfaces the program is attached to.
func (x *XDP) Attachments() []Attachment {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]Attachment(nil), x.attached...)
}

// Mode reports ModeXDP.
func (x *XDP) Mode() Mode { return ModeXDP }

// writeConfig stores x.rules (and the clock offset) in the config map. The
// program reads the value in place, so a packet racing the update may see a
// mix of old and new fields; each field is valid on its own.
func (x *XDP) writeConfig() error {
	r := x.rules
	var c filterFilterConfig
	c.WindowNs = r.window
	c.BanNs = r.ban
	c.ClockOffsetNs = x.clockOffset
	c.RatePackets = r.ratePackets
	c.UaCount = uint32(r.ua.count)
	c.UaLen = r.ua.lens
	c.Ua = r.ua.pfx
	for i := range c.Ports {
		c.Ports[i] = byte(r.ports[i>>3] >> ((i & 7) * 8))
	}
	if err := x.objs.Config.Update(uint32(0), &c, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("bpf: write config: %w", err)
	}
	return nil
}

func srcKey(a netip.Addr) filterSrcKey {
	var k filterSrcKey
	if a.Is4() {
		k.Family = 4
		b := a.As4()
		copy(k.Addr[:], b[:])
	} else {
		k.Family = 6
		k.Addr = a.As16()
	}
	return k
}

func keyAddr(k filterSrcKey) netip.Addr {
	if k.Family == 4 {
		return netip.AddrFrom4([4]byte(k.Addr[:4]))
	}
	return netip.AddrFrom16(k.Addr)
}

func lpmKey(p netip.Prefix) filterLpmKey {
	return filterLpmKey{Prefixlen: 32 + uint32(p.Bits()), Src: srcKey(p.Addr())}
}

func keyPrefix(k filterLpmKey) netip.Prefix {
	return netip.PrefixFrom(keyAddr(k.Src), int(k.Prefixlen)-32)
}

// syncList makes the LPM map m hold exactly want, then lifts the automatic
// bans the new prefixes cover (liftCovered).
func (x *XDP) syncList(m *ebpf.Map, want []netip.Prefix) error {
	have, err := listPrefixes(m)
	if err != nil {
		return err
	}
	if err := x.putList(m, have, want); err != nil {
		return err
	}
	return x.liftCovered(addedPrefixes(have, want))
}

// putList makes the LPM map m, which holds have, hold want: it deletes what
// want lacks and puts every prefix of want.
func (x *XDP) putList(m *ebpf.Map, have, want []netip.Prefix) error {
	keep := make(map[netip.Prefix]bool, len(want))
	for _, p := range want {
		keep[p] = true
	}
	for _, p := range have {
		if !keep[p] {
			k := lpmKey(p)
			if err := m.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return fmt.Errorf("bpf: delete %s: %w", p, err)
			}
		}
	}
	for _, p := range want {
		if err := putPrefix(m, p); err != nil {
			return err
		}
	}
	return nil
}

func putPrefix(m *ebpf.Map, p netip.Prefix) error {
	k := lpmKey(p)
	if err := m.Update(&k, uint8(1), ebpf.UpdateAny); err != nil {
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.E2BIG) {
			return ErrTooManyPrefixes
		}
		return fmt.Errorf("bpf: add %s: %w", p, err)
	}
	return nil
}

func listPrefixes(m *ebpf.Map) ([]netip.Prefix, error) {
	var (
		k   filterLpmKey
		v   uint8
		out []netip.Prefix
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		out = append(out, keyPrefix(k))
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("bpf: list prefixes: %w", err)
	}
	return sortPrefixes(out), nil
}

// Counters returns the packet counts by reason, summed over CPUs.
func (x *XDP) Counters() (Counters, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var c Counters
	if x.closed {
		return c, ErrClosed
	}
	var per []uint64
	for r := range c {
		if err := x.objs.Counters.Lookup(uint32(r), &per); err != nil {
			return c, fmt.Errorf("bpf: read counters: %w", err)
		}
		for _, v := range per {
			c[r] += v
		}
	}
	return c, nil
}

// Bans returns the operator ban list.
func (x *XDP) Bans() ([]netip.Prefix, error) {
	return x.list(func() *ebpf.Map { return x.objs.OperatorBans })
}

// Allowed returns the allow list.
func (x *XDP) Allowed() ([]netip.Prefix, error) {
	return x.list(func() *ebpf.Map { return x.objs.Allow })
}

func (x *XDP) list(m func() *ebpf.Map) ([]netip.Prefix, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil, ErrClosed
	}
	return listPrefixes(m())
}

// AddBan adds p to the operator ban list.
func (x *XDP) AddBan(p netip.Prefix) error {
	return x.edit(func() *ebpf.Map { return x.objs.OperatorBans }, p, true)
}

// RemoveBan removes p from the operator ban list; ErrNotFound if absent.
func (x *XDP) RemoveBan(p netip.Prefix) error {
	return x.edit(func() *ebpf.Map { return x.objs.OperatorBans }, p, false)
}

// AddAllow adds p to the allow list.
func (x *XDP) AddAllow(p netip.Prefix) error {
	return x.edit(func() *ebpf.Map { return x.objs.Allow }, p, true)
}

// RemoveAllow removes p from the allow list; ErrNotFound if absent.
func (x *XDP) RemoveAllow(p netip.Prefix) error {
	return x.edit(func() *ebpf.Map { return x.objs.Allow }, p, false)
}

func (x *XDP) edit(m func() *ebpf.Map, p netip.Prefix, add bool) error {
	p, err := normPrefix(p)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return ErrClosed
	}
	if add {
		if err := putPrefix(m(), p); err != nil {
			return err
		}
		return x.liftCovered([]netip.Prefix{p})
	}
	k := lpmKey(p)
	if err := m().Delete(&k); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return ErrNotFound
		}
		return fmt.Errorf("bpf: delete %s: %w", p, err)
	}
	return nil
}

// liftCovered deletes the automatic bans of the sources inside ps, prefixes
// just added to the allow list or the operator ban list. The program looks up
// automatic bans before the lists (check_source in filter.c), which is the
// policy's order only while no automatic ban covers a listed source; this
// keeps that so. It runs after the prefixes are in their map: a ban the
// program makes after this walk is checked against the lists by the program
// itself, and one made before it is found here.
//
// The walk is a batch lookup, bucket by bucket, so the program deleting
// expired bans or the LRU evicting meanwhile cannot make it start over (as
// a key-by-key walk does when its current key vanishes).
func (x *XDP) liftCovered(ps []netip.Prefix) error {
	if len(ps) == 0 {
		return nil
	}
	set := newPrefixSet(ps)
	const batch = 1024 // entries per system call; far more than any bucket holds
	keys := make([]filterSrcKey, batch)
	vals := make([]uint64, batch)
	var (
		cursor ebpf.MapBatchCursor
		doomed []filterSrcKey
	)
	for {
		n, err := x.objs.Autobans.BatchLookup(&cursor, keys, vals, nil)
		for i := range keys[:n] {
			if set.contains(keyAddr(keys[i])) {
				doomed = append(doomed, keys[i])
			}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			break
		}
		if err != nil {
			return fmt.Errorf("bpf: list automatic bans: %w", err)
		}
	}
	for i := range doomed {
		if err := x.objs.Autobans.Delete(&doomed[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("bpf: delete automatic ban: %w", err)
		}
	}
	return nil
}

// now is the program's clock: CLOCK_MONOTONIC (bpf_ktime_get_ns) plus the
// test offset.
func (x *XDP) now() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return uint64(ts.Nano()) + x.clockOffset
}

// AutoBans returns the automatic bans in force, by address.
func (x *XDP) AutoBans() ([]AutoBan, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil, ErrClosed
	}
	now := x.now()
	var (
		k     filterSrcKey
		until uint64
		out   []AutoBan
	)
	it := x.objs.Autobans.Iterate()
	for it.Next(&k, &until) {
		if until > now {
			out = append(out, AutoBan{Addr: keyAddr(k), Remaining: time.Duration(until - now)})
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("bpf: list automatic bans: %w", err)
	}
	sortAutoBans(out)
	return out, nil
}

// ClearAutoBan lifts the automatic ban on a; it reports whether one was in
// force.
func (x *XDP) ClearAutoBan(a netip.Addr) (bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return false, ErrClosed
	}
	k := srcKey(normAddr(a))
	var until uint64
	if err := x.objs.Autobans.Lookup(&k, &until); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("bpf: look up automatic ban: %w", err)
	}
	if err := x.objs.Autobans.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return false, fmt.Errorf("bpf: delete automatic ban: %w", err)
	}
	return until > x.now(), nil
}

// ClearAutoBans lifts every automatic ban and returns how many were in force.
func (x *XDP) ClearAutoBans() (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return 0, ErrClosed
	}
	now := x.now()
	var (
		k     filterSrcKey
		until uint64
		keys  []filterSrcKey
		n     int
	)
	it := x.objs.Autobans.Iterate()
	for it.Next(&k, &until) {
		keys = append(keys, k)
		if until > now {
			n++
		}
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("bpf: list automatic bans: %w", err)
	}
	for i := range keys {
		if err := x.objs.Autobans.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return n, fmt.Errorf("bpf: delete automatic ban: %w", err)
		}
	}
	return n, nil
}

// Update replaces the configuration: ports, rate limit, User-Agent prefixes,
// and the allow and ban lists (run-time edits to the lists are lost, as on
// any reload). Per-source state and automatic bans are kept. MaxSources
// cannot change (ErrRestartRequired).
func (x *XDP) Update(cfg Config) error {
	r, err := compile(&cfg)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return ErrClosed
	}
	if r.maxSources != x.rules.maxSources {
		return ErrRestartRequired
	}
	x.rules = r
	if err := x.writeConfig(); err != nil {
		return err
	}
	if err := x.syncList(x.objs.Allow, r.allow); err != nil {
		return err
	}
	return x.syncList(x.objs.OperatorBans, r.bans)
}

// setClockOffset moves the program's clock forward by d (tests: ban expiry
// and rate windows without sleeping).
func (x *XDP) setClockOffset(d time.Duration) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.clockOffset = uint64(d)
	return x.writeConfig()
}

// Close detaches the program from every interface and frees its maps.
func (x *XDP) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	unregister(x)
	return x.close()
}

func (x *XDP) close() error {
	x.closed = true
	var errs []error
	for _, l := range x.links {
		errs = append(errs, l.Close())
	}
	x.links = nil
	errs = append(errs, x.objs.Close())
	return errors.Join(errs...)
}

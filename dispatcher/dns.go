package dispatcher

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Destinations named by host name.
//
// A destination such as `sip:pbx.example.com` is resolved when its line is
// loaded, through Options.DNS (RFC 3263: NAPTR, SRV, A/AAAA, in a package
// that dispatcher does not import) or the older Options.Resolve. It keeps its
// URI and identity and gets a list of targets: address, port, transport, SRV
// priority and weight. Dest.Addr is the primary target; Dest.Target picks one
// per key (target.go). The answer is kept in a dnsEntry, shared by every
// destination that asks the same question and by every table version, which
// holds the last good targets, when they were found, and the last error.
//
// Dispatcher.StartDNS runs one goroutine (plus one per lookup in flight, at
// most dnsParallel) that asks again when an entry's TTL runs out (clamped to DNSMinTTL..DNSMaxTTL). An answer that changes the
// targets makes a new table, swapped in as Swap does, so that readers never
// see a table change under them; an answer that changes nothing only moves
// the entry's age. A failed lookup keeps the last good targets, records the
// error, and retries sooner (DNSMinTTL, doubling up to the TTL). A reload or
// a run-time Add reuses the entry of a name the current table already has
// instead of asking DNS again, so a reload during a DNS outage keeps every
// named destination it had.

// DNSQuery is what a destination named by host name asks DNS for: the parts
// of its URI that RFC 3263 reads.
type DNSQuery struct {
	// Host is the host name as written in the URI.
	Host string
	// Port is the URI's port, 0 when it has none (then SRV may choose).
	Port uint16
	// Transport is the URI's transport parameter, 0 when it has none
	// (then NAPTR may choose). A sips: URI's is TLS only when it says so.
	Transport Transport
	// Secure is a sips: URI.
	Secure bool
}

// Target is one address of a destination named by host name.
type Target struct {
	Addr      netip.AddrPort
	Transport Transport
	// Priority and Weight are the SRV record's: lower priorities are used
	// only when no target of a better one is usable; weights share the
	// calls within a priority. Both 0 for an address found by A/AAAA.
	Priority uint16
	Weight   uint16
	// Name is the host name the address belongs to (an SRV target, or the
	// destination's host). Two addresses of one name are one machine: only
	// the preferred family of it takes calls (see Options.PreferIPv6).
	Name string
}

// DNSFunc looks a query up: the targets in any order, and how long they may
// be used before asking again (negative when unknown; 0 means ask again as
// soon as DNSMinTTL allows). It must honour ctx.
type DNSFunc func(ctx context.Context, q DNSQuery) ([]Target, time.Duration, error)

// TargetState is a target and whether Target may pick it.
type TargetState struct {
	Target
	Usable bool
}

// DNSStatus is what the control API shows of a destination named by host
// name. The age of its targets is now minus ResolvedAt.
type DNSStatus struct {
	Query DNSQuery
	// ResolvedAt is when the targets in use were last confirmed by DNS.
	ResolvedAt time.Time
	// LastTry is when DNS was last asked; LastErr is its error, nil when it
	// answered (then LastTry equals ResolvedAt).
	LastTry time.Time
	LastErr error
	// TTL is the clamped TTL of the last good answer; Next is when DNS will
	// be asked again (by Dispatcher.StartDNS's loop).
	TTL  time.Duration
	Next time.Time
	// Targets are this destination's targets in preference order; the
	// first is Dest.Addr.
	Targets []TargetState
}

// Age is how old the targets are at now.
func (s DNSStatus) Age(now time.Time) time.Duration { return now.Sub(s.ResolvedAt) }

// Bounds of the time between two lookups of one name.
const (
	defaultDNSMinTTL  = 5 * time.Second
	defaultDNSMaxTTL  = time.Hour
	defaultDNSTimeout = 10 * time.Second
	// unknownTTL is used when the lookup gives no TTL (Options.Resolve).
	unknownTTL = time.Minute
	// maxRetryWait caps the wait after failures.
	maxRetryWait = 5 * time.Minute
	// maxDestTargets bounds the targets of one destination.
	maxDestTargets = 64
	// dnsParallel is how many lookups the refresh loop runs at once.
	dnsParallel = 4
)

// errNoAddress: a lookup that succeeded with nothing usable in it.
var errNoAddress = errors.New("dispatcher: no usable address")

func (o *Options) dnsMinTTL() time.Duration {
	if o.DNSMinTTL > 0 {
		return o.DNSMinTTL
	}
	return defaultDNSMinTTL
}

func (o *Options) dnsMaxTTL() time.Duration {
	if o.DNSMaxTTL > 0 {
		return max(o.DNSMaxTTL, o.dnsMinTTL())
	}
	return max(defaultDNSMaxTTL, o.dnsMinTTL())
}

func (o *Options) dnsTimeout() time.Duration {
	if o.DNSTimeout > 0 {
		return o.DNSTimeout
	}
	return defaultDNSTimeout
}

// clampTTL bounds a TTL; a negative one (unknown) becomes unknownTTL within
// the bounds.
func (o *Options) clampTTL(ttl time.Duration) time.Duration {
	if ttl < 0 {
		ttl = unknownTTL
	}
	return min(max(ttl, o.dnsMinTTL()), o.dnsMaxTTL())
}

// dnsFunc is Options.DNS, or Options.Resolve made into one (A/AAAA only,
// no TTL), or nil.
func (o *Options) dnsFunc() DNSFunc {
	if o.DNS != nil {
		return o.DNS
	}
	resolve := o.Resolve
	if resolve == nil {
		return nil
	}
	return func(ctx context.Context, q DNSQuery) ([]Target, time.Duration, error) {
		addrs, err := resolve(q.Host)
		if err != nil {
			return nil, 0, err
		}
		tr := q.Transport
		if tr == 0 {
			tr = UDP
			if q.Secure {
				tr = TLS
			}
		}
		port := q.Port
		if port == 0 {
			port = 5060
			if tr == TLS {
				port = 5061
			}
		}
		ts := make([]Target, 0, len(addrs))
		for _, a := range addrs {
			ts = append(ts, Target{Addr: netip.AddrPortFrom(a, port), Transport: tr, Name: q.Host})
		}
		return ts, -1, nil
	}
}

// dnsKey identifies a question: destinations that ask the same share an
// entry.
type dnsKey struct {
	host   string // lower case
	port   uint16
	tr     Transport
	secure bool
}

func dnsKeyOf(q DNSQuery) dnsKey {
	return dnsKey{strings.ToLower(q.Host), q.Port, q.Transport, q.Secure}
}

// dnsEntry is one question and its last good answer. raw, ttl, next, fails
// and down are written under Dispatcher.mu (or by a loader before its table
// is published) and read under it; the atomics are for DNS(), which takes no
// lock.
type dnsEntry struct {
	q   DNSQuery
	key dnsKey

	raw   []Target // last good answer, canonical order; never modified in place
	ttl   time.Duration
	next  time.Time
	fails int
	busy  bool                       // a refresh lookup is in flight
	down  map[targetKey]*atomic.Bool // per-target usability, kept across answers

	resolvedAt atomic.Int64 // unix ns
	lastTry    atomic.Int64 // unix ns
	ttlNs      atomic.Int64
	nextNs     atomic.Int64
	lastErr    atomic.Pointer[errBox]
}

type errBox struct{ err error }

type targetKey struct {
	ap netip.AddrPort
	tr Transport
}

// canonical validates an answer (drops invalid addresses, port 0, unknown
// transports, duplicates; unmaps IPv4-mapped addresses; keeps at most
// maxDestTargets) and sorts it: priority, weight (highest first), address,
// port, transport, name. Comparing two canonical answers tells whether the
// targets changed, whatever order DNS gave them in.
func canonical(in []Target) []Target {
	out := make([]Target, 0, len(in))
	for _, t := range in {
		if !t.Addr.IsValid() || t.Addr.Port() == 0 || t.Addr.Addr().IsUnspecified() || t.Transport < UDP || t.Transport > TLS {
			continue
		}
		t.Addr = netip.AddrPortFrom(t.Addr.Addr().Unmap(), t.Addr.Port())
		out = append(out, t)
	}
	slices.SortFunc(out, cmpTarget)
	out = slices.CompactFunc(out, func(a, b Target) bool { return a.Addr == b.Addr && a.Transport == b.Transport })
	if len(out) > maxDestTargets {
		out = out[:maxDestTargets]
	}
	return slices.Clip(out)
}

func cmpTarget(a, b Target) int {
	return cmp.Or(
		cmp.Compare(a.Priority, b.Priority),
		cmp.Compare(b.Weight, a.Weight),
		a.Addr.Compare(b.Addr),
		cmp.Compare(a.Transport, b.Transport),
		strings.Compare(a.Name, b.Name),
	)
}

// record sets the entry's answer after a successful lookup at now and
// reports whether the targets changed.
func (e *dnsEntry) record(raw []Target, ttl time.Duration, now time.Time, o *Options) bool {
	changed := !slices.Equal(raw, e.raw)
	e.raw = raw
	e.ttl = o.clampTTL(ttl)
	e.next = now.Add(e.ttl)
	e.fails = 0
	e.resolvedAt.Store(now.UnixNano())
	e.lastTry.Store(now.UnixNano())
	e.ttlNs.Store(int64(e.ttl))
	e.nextNs.Store(e.next.UnixNano())
	e.lastErr.Store(nil)
	return changed
}

// fail records a failed lookup at now: the targets stay, the next try comes
// after DNSMinTTL, doubling with each failure in a row, never later than
// the TTL (nor than maxRetryWait).
func (e *dnsEntry) fail(err error, now time.Time, o *Options) {
	e.fails++
	wait := o.dnsMinTTL() << min(e.fails-1, 16)
	wait = min(wait, max(e.ttl, o.dnsMinTTL()), max(maxRetryWait, o.dnsMinTTL()))
	e.next = now.Add(wait)
	e.lastTry.Store(now.UnixNano())
	e.nextNs.Store(e.next.UnixNano())
	e.lastErr.Store(&errBox{err})
}

// downFlag is the usability flag of one target, created on first use and
// kept for as long as the entry lives.
func (e *dnsEntry) downFlag(k targetKey) *atomic.Bool {
	if f := e.down[k]; f != nil {
		return f
	}
	if e.down == nil {
		e.down = map[targetKey]*atomic.Bool{}
	}
	f := new(atomic.Bool)
	e.down[k] = f
	return f
}

// lookupDNS runs the lookup of q with the DNS timeout.
func (o *Options) lookupDNS(ctx context.Context, q DNSQuery) ([]Target, time.Duration, error) {
	fn := o.dnsFunc()
	if fn == nil {
		return nil, 0, errNoResolver
	}
	ctx, cancel := context.WithTimeout(ctx, o.dnsTimeout())
	defer cancel()
	ts, ttl, err := fn(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	raw := canonical(ts)
	if len(raw) == 0 {
		return nil, 0, errNoAddress
	}
	return raw, ttl, nil
}

var errNoResolver = errors.New("dispatcher: no resolver")

// entry finds or makes the entry for q: one this load already made, else
// one the running table has (no query), else a new lookup now.
func (l *loader) entry(q DNSQuery) (*dnsEntry, error) {
	k := dnsKeyOf(q)
	if e := l.entries[k]; e != nil {
		return e, nil
	}
	if err := l.failed[k]; err != nil {
		return nil, err
	}
	if e := l.reuse[k]; e != nil {
		l.entries[k] = e
		return e, nil
	}
	raw, ttl, err := l.opts.lookupDNS(context.Background(), q)
	if err != nil {
		l.failed[k] = err
		return nil, err
	}
	e := &dnsEntry{q: q, key: k}
	e.record(raw, ttl, time.Now(), l.opts)
	l.entries[k] = e
	return e, nil
}

// setTargets gives d the targets of its entry that Check accepts, in
// preference order, and makes the first its Addr and Transport. It returns
// the Check error when none is accepted (d is then unchanged).
func (d *Dest) setTargets(e *dnsEntry, o *Options) error {
	ts := make([]target, 0, len(e.raw))
	var firstErr error
	for _, t := range e.raw {
		if o.Check != nil {
			c := *d
			c.Addr, c.Transport, c.targets = t.Addr, t.Transport, nil
			if err := o.Check(&c); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
		}
		ts = append(ts, target{t: t, down: e.downFlag(targetKey{t.Addr, t.Transport})})
	}
	if len(ts) == 0 {
		if firstErr == nil {
			firstErr = errNoAddress
		}
		return firstErr
	}
	rankTargets(ts, o.PreferIPv6)
	d.targets, d.dns = ts, e
	d.Addr, d.Transport = ts[0].t.Addr, ts[0].t.Transport
	return nil
}

// DNS returns the DNS state of a destination named by host name; ok is
// false for an IP literal. It takes no lock and allocates the Targets slice:
// it is for the control API, not the data path.
func (d *Dest) DNS() (st DNSStatus, ok bool) {
	e := d.dns
	if e == nil {
		return DNSStatus{}, false
	}
	st.Query = e.q
	st.ResolvedAt = time.Unix(0, e.resolvedAt.Load())
	st.LastTry = time.Unix(0, e.lastTry.Load())
	if b := e.lastErr.Load(); b != nil {
		st.LastErr = b.err
	}
	st.TTL = time.Duration(e.ttlNs.Load())
	st.Next = time.Unix(0, e.nextNs.Load())
	st.Targets = make([]TargetState, len(d.targets))
	for i := range d.targets {
		st.Targets[i] = TargetState{Target: d.targets[i].t, Usable: !d.targets[i].down.Load()}
	}
	return st, true
}

// Targets returns the destination's targets in preference order (the
// first is Addr); nil for an IP literal. The slice is new; the control API
// may keep it.
func (d *Dest) Targets() []Target {
	if len(d.targets) == 0 {
		return nil
	}
	out := make([]Target, len(d.targets))
	for i := range d.targets {
		out[i] = d.targets[i].t
	}
	return out
}

// SetTargetUsable marks one target of a destination named by host name as
// usable or not (a prober that checks each address, an ICMP unreachable);
// Target skips unusable targets and falls back to the next SRV priority when
// every target of the best one is unusable. The mark belongs to the DNS
// entry: it survives reloads and refreshes for as long as DNS lists the
// target. It reports false when ap (with transport tr, 0 for any) is not a
// target of d.
func (d *Dest) SetTargetUsable(ap netip.AddrPort, tr Transport, usable bool) bool {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	found := false
	for i := range d.targets {
		t := &d.targets[i]
		if t.t.Addr == ap && (tr == 0 || t.t.Transport == tr) {
			t.down.Store(!usable)
			found = true
		}
	}
	return found
}

// dnsEntries lists the distinct entries of t's destinations.
func dnsEntries(t *Table) []*dnsEntry {
	var out []*dnsEntry
	for _, d := range t.all {
		if d.dns != nil && !slices.Contains(out, d.dns) {
			out = append(out, d.dns)
		}
	}
	return out
}

// indexDNS rebuilds the Dispatcher's view of the entries in use; under mu.
func (d *Dispatcher) indexDNS() {
	t := d.cur.Load()
	d.dnsList = dnsEntries(t)
	d.dnsByKey = make(map[dnsKey]*dnsEntry, len(d.dnsList))
	for _, e := range d.dnsList {
		if o := d.dnsByKey[e.key]; o == nil || e.resolvedAt.Load() > o.resolvedAt.Load() {
			d.dnsByKey[e.key] = e
		}
	}
	select {
	case d.dnsWake <- struct{}{}:
	default:
	}
}

// StartDNS starts the refresh loop: one goroutine that asks DNS again for
// every named destination of the current table when its TTL runs out, and
// swaps in a table with the new targets when they change. It stops when ctx
// ends; the returned channel is closed then. Without Options.DNS or
// Options.Resolve there is nothing to ask and the channel is closed at
// once. Call it once per Dispatcher.
func (d *Dispatcher) StartDNS(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if d.opts.dnsFunc() == nil || !d.dnsStarted.CompareAndSwap(false, true) {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		d.dnsLoop(ctx)
	}()
	return done
}

type dnsResult struct {
	e   *dnsEntry
	raw []Target
	ttl time.Duration
	err error
}

func (d *Dispatcher) dnsLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// Up to dnsParallel lookups run at once, each in its own goroutine,
	// and each result is applied as soon as it comes: a name that hangs
	// until its timeout holds up neither the others nor their swaps.
	results := make(chan dnsResult, dnsParallel)
	inflight := 0
	defer func() {
		for ; inflight > 0; inflight-- {
			<-results
		}
	}()
	for {
		now := time.Now()
		var next time.Time
		d.mu.Lock()
		for _, e := range d.dnsList {
			if e.busy {
				continue
			}
			if e.next.After(now) {
				if next.IsZero() || e.next.Before(next) {
					next = e.next
				}
				continue
			}
			if inflight == dnsParallel {
				continue
			}
			e.busy = true
			inflight++
			go func(e *dnsEntry) {
				raw, ttl, err := d.opts.lookupDNS(ctx, e.q)
				results <- dnsResult{e, raw, ttl, err}
			}(e)
		}
		d.mu.Unlock()

		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(now), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-d.dnsWake:
		case <-timer.C:
		case r := <-results:
			inflight--
			d.mu.Lock()
			r.e.busy = false
			if ctx.Err() == nil {
				d.applyDNS([]dnsResult{r}, time.Now())
			}
			d.mu.Unlock()
		}
		timer.Stop()
	}
}

// applyDNS records lookup results and swaps in a new table when targets
// changed; under mu.
func (d *Dispatcher) applyDNS(res []dnsResult, now time.Time) {
	log := d.opts.Logger
	if log == nil {
		log = slog.Default()
	}
	var changed []*dnsEntry
	for _, r := range res {
		if r.err != nil {
			r.e.fail(r.err, now, &d.opts)
			dnsRefreshError.Inc()
			log.Warn("dispatcher: DNS refresh failed; keeping the last good targets",
				slog.String("host", r.e.q.Host), slog.String("error", r.err.Error()),
				slog.Duration("age", now.Sub(time.Unix(0, r.e.resolvedAt.Load())).Round(time.Second)),
				slog.Duration("retry_in", r.e.next.Sub(now).Round(time.Millisecond)))
			continue
		}
		dnsRefreshOK.Inc()
		if r.e.record(r.raw, r.ttl, now, &d.opts) {
			changed = append(changed, r.e)
		}
	}
	if len(changed) == 0 {
		return
	}
	cur := d.cur.Load()
	dests := make([]*Dest, 0, len(cur.all))
	for _, s := range cur.sets {
		for i := len(s.dests) - 1; i >= 0; i-- { // file order, as change does
			c := *s.dests[i]
			if c.dns != nil && slices.Contains(changed, c.dns) {
				if err := c.setTargets(c.dns, &d.opts); err != nil {
					log.Warn("dispatcher: DNS refresh gave no acceptable target; keeping the last good targets",
						slog.Int("set", c.Set), slog.String("uri", c.URI), slog.String("error", err.Error()))
				}
			}
			dests = append(dests, &c)
		}
	}
	diff := d.swapLocked(newTable(cur.name, dests))
	dnsSwaps.Inc()
	for _, ch := range diff.Changed {
		log.Info("dispatcher: DNS changed a destination's targets",
			slog.Int("set", ch.New.Set), slog.String("uri", ch.New.URI), slog.String("change", strings.Join(ch.What, ", ")))
	}
}

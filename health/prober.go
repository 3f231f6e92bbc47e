package health

import (
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
)

// How the prober is built.
//
// One goroutine (run) owns all decisions: it sends the probes, notices their
// outcome, applies the passive signals and makes every state change. The
// engine's workers only leave facts for it in atomic words of a peer and
// wake it: Deliver stores a reply (code, round trip, Retry-After) after
// winning the probe's in-flight word with a compare-and-swap, and the Note
// methods raise flags. So the thresholds and counters need no lock, there is
// one probe in flight per peer by construction, and the data path never
// waits for the prober.
//
// A peer is one address of the current table, probed over the transport of
// its first destination. Destinations that share
// an address (the same back end listed in several sets) are its members:
// they are probed once and each member's state follows the outcome, with
// its own counters, unless the operator disabled it.

// Sender sends probes the way the engine sends requests to a back end
// (from its UDP listening socket, or over its TCP/TLS connection to it), so
// that replies come back to the engine and reach Deliver. Only the prober's
// goroutine calls it.
type Sender interface {
	// Send sends one probe to to over tr. It must not retain b.
	Send(b []byte, to netip.AddrPort, tr dispatcher.Transport) error
	// ViaHost returns the "host:port" to put in the Via of a probe to to
	// over tr: the address on which the engine listens for that address
	// family and transport.
	ViaHost(to netip.AddrPort, tr dispatcher.Transport) string
}

// Life of a Prober.
const (
	lifeNew = iota
	lifeRunning
	lifeStopped
)

// Values of a peer's in-flight word besides an outstanding nonce (which
// always has its top bit set).
const (
	idle    = 0
	claimed = 1 // Deliver is storing a reply
	done    = 2 // a reply is stored for the prober goroutine
)

// peer is one probed address.
type peer struct {
	slot int
	addr netip.AddrPort
	tr   dispatcher.Transport // of the first destination at addr

	// Shared with Deliver and the Note methods: atomics only.
	inflight atomic.Uint64 // idle, the outstanding nonce, claimed or done
	sentAt   atomic.Int64  // clock reading when the outstanding probe left
	code     atomic.Int32  // the reply, valid once inflight is done
	rtt      atomic.Int64
	retry    atomic.Int64
	sent     atomic.Uint32 // NoteSent since the last sweep
	replied  atomic.Uint32 // NoteReply since the last sweep
	unreach  atomic.Uint32 // NoteUnreachable not yet acted on
	holdReq  atomic.Int64  // longest Retry-After seen on traffic, not yet acted on

	// Owned by the run goroutine.
	members     []member
	nonce       uint64        // the outstanding probe's, or 0
	deadline    time.Duration // when the outstanding probe times out
	next        time.Duration // when to probe next
	fails       int           // probes failed in a row, for the fast retry
	cseq        uint32
	holdUntil   time.Duration // out by Retry-After until then; 0 none
	silentSince time.Duration // traffic unanswered since; 0 none
	answers     bool          // a reply to traffic was seen since the last silence alarm
	eligible    bool          // some member is to be probed now
	lat         latency
}

// member is one destination of a peer, with its own counters.
type member struct {
	d          *dispatcher.Dest
	fails, oks int  // probe outcomes in a row
	held       bool // taken out by a Retry-After
}

// indexEntry finds a peer by address, as dispatcher.Table.ByAddr does.
type indexEntry struct {
	dispatcher.AddrKey
	pr *peer
}

// Prober probes the destinations of a Dispatcher's current table with
// OPTIONS and sets their state. Create it with New, then Start it; Stop ends
// it. Deliver, the Note methods, PingActive, SetPingActive and Refresh may
// be called from any goroutine at any time after New, before Start and
// after Stop included.
type Prober struct {
	disp   *dispatcher.Dispatcher
	snd    Sender
	cfg    Config
	log    *slog.Logger
	accept [768 / 64]uint64 // reply codes accepted besides 2xx, one bit each

	epoch time.Time
	clock func() time.Duration // time since epoch; tests replace it

	slots     atomic.Pointer[[]*peer]      // by slot, for Deliver
	index     atomic.Pointer[[]indexEntry] // by address, for the Note methods
	pingState atomic.Int64                 // Kamailio's ping_active word: 0 pauses probing
	kick      chan struct{}
	quit      chan struct{}
	done      chan struct{}
	mu        sync.Mutex // guards life
	life      int

	// Owned by the run goroutine (by New before Start).
	table     *dispatcher.Table
	peers     []*peer
	byAddr    map[netip.AddrPort]*peer
	free      []int // free slots
	nslots    int
	nextSweep time.Duration
	buf       []byte
}

// New returns a Prober for the tables of d, sending with s. The zero Config
// is valid (see its fields for the defaults); an invalid one is an error
// wrapping ErrConfig. log receives the prober's own lines (nil: slog's
// default); state changes are logged by dispatcher.Dest.Transition.
func New(d *dispatcher.Dispatcher, s Sender, cfg Config, log *slog.Logger) (*Prober, error) {
	if d == nil || s == nil {
		return nil, &configError{"New needs a dispatcher and a sender"}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	p := &Prober{
		disp:   d,
		snd:    s,
		cfg:    cfg,
		log:    log,
		epoch:  time.Now(),
		kick:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		byAddr: map[netip.AddrPort]*peer{},
		buf:    make([]byte, 0, 512),
	}
	p.clock = func() time.Duration { return time.Since(p.epoch) }
	for _, c := range cfg.AcceptCodes {
		p.accept[c/64] |= 1 << (c % 64)
	}
	p.pingState.Store(1)
	p.sync(d.Current(), 0) // the clock starts at 0 now
	return p, nil
}

// Start starts the prober's goroutine. It does nothing on a Prober already
// started or stopped.
func (p *Prober) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.life != lifeNew {
		return
	}
	p.life = lifeRunning
	p.log.Info("health: prober started", slog.Duration("interval", p.cfg.Interval),
		slog.Duration("timeout", p.cfg.Timeout), slog.Int("fail_threshold", p.cfg.FailThreshold),
		slog.Int("ok_threshold", p.cfg.OKThreshold), slog.String("mode", p.cfg.Mode.String()))
	go p.run()
}

// Stop stops the goroutine and waits for it to return. Probes in flight are
// abandoned and destinations keep their state; nothing changes after Stop
// returns. A stopped Prober cannot be started again.
func (p *Prober) Stop() {
	p.mu.Lock()
	was := p.life
	p.life = lifeStopped
	p.mu.Unlock()
	if was == lifeRunning {
		close(p.quit)
		<-p.done
	}
}

// PingActive returns the ping state, as Kamailio's dispatcher.ping_active
// without a parameter reports it ("OldPingState"): 1 (or whatever non-zero
// value was set) while probing runs, 0 while it is paused.
func (p *Prober) PingActive() int { return int(p.pingState.Load()) }

// SetPingActive sets the ping state and returns the previous one, as
// Kamailio's dispatcher.ping_active with a parameter does (it answers
// {"NewPingState": state, "OldPingState": old}). 0 pauses probing: no probe
// is sent, probes in flight still count, destinations keep their state
// (an inactive one stays inactive) and passive detection only honours
// Retry-After, whose destinations come back when it elapses. Any other
// value resumes probing at once.
func (p *Prober) SetPingActive(state int) (old int) {
	old = int(p.pingState.Swap(int64(state)))
	if state != 0 && old == 0 {
		// ICMP flags raised while paused are stale now.
		if slots := p.slots.Load(); slots != nil {
			for _, pr := range *slots {
				if pr != nil {
					pr.unreach.Store(0)
				}
			}
		}
	}
	p.wake()
	return old
}

// Refresh makes the prober read the dispatcher's table now. It also does so
// on its own at every wake, at least every Timeout/2, so a reload is picked
// up within that time even without Refresh.
func (p *Prober) Refresh() { p.wake() }

// wake nudges the goroutine; it never blocks or allocates.
func (p *Prober) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// run is the prober's goroutine. It steps when something is due or a worker
// wakes it, but never twice within gap: with thousands of destinations a
// step costs tens of microseconds, and replies arriving one by one must not
// each pay for it. Outcomes wait at most gap to be acted on.
func (p *Prober) run() {
	defer close(p.done)
	gap := p.gap()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := p.clock()
		t.Reset(max(p.step(now), gap))
		select {
		case <-p.quit:
			return
		case <-t.C:
			continue
		case <-p.kick:
		}
		if rest := gap - (p.clock() - now); rest > 0 {
			t.Reset(rest)
			select {
			case <-p.quit:
				return
			case <-t.C:
			}
		}
	}
}

// gap is the least time between two steps: Timeout/16, within [100µs, 10ms].
func (p *Prober) gap() time.Duration {
	return min(max(p.cfg.Timeout/16, 100*time.Microsecond), 10*time.Millisecond)
}

// sweepEvery is the period of the silence check.
func (p *Prober) sweepEvery() time.Duration { return max(p.cfg.Timeout/2, time.Millisecond) }

// wait is the time from one probe of a peer to its next: Interval
// shortened by up to Jitter, never longer.
func (p *Prober) wait() time.Duration {
	if p.cfg.Jitter <= 0 {
		return p.cfg.Interval
	}
	return p.cfg.Interval - time.Duration(rand.Float64()*p.cfg.Jitter*float64(p.cfg.Interval))
}

// firstDelay spreads the first probes of new peers over Jitter×Interval,
// so that a table of many destinations is not probed in one burst.
func (p *Prober) firstDelay() time.Duration {
	span := time.Duration(p.cfg.Jitter * float64(p.cfg.Interval))
	if span <= 0 {
		return 0
	}
	return rand.N(span)
}

// step does everything due at now and returns how long to sleep.
func (p *Prober) step(now time.Duration) time.Duration {
	if t := p.disp.Current(); t != p.table {
		p.sync(t, now)
	}
	on := p.pingState.Load() != 0
	sweep := now >= p.nextSweep
	if sweep {
		p.nextSweep = now + p.sweepEvery()
	}
	wake := p.nextSweep
	for _, pr := range p.peers {
		p.service(pr, now, on, sweep)
		if w := pr.wakeAt(now, on); w < wake {
			wake = w
		}
	}
	return max(wake-now, 0)
}

// wakeAt is when pr next needs the goroutine.
func (pr *peer) wakeAt(now time.Duration, on bool) time.Duration {
	w := time.Duration(1<<63 - 1)
	switch {
	case pr.nonce != 0 && pr.deadline > now:
		w = pr.deadline
	case pr.nonce != 0:
		// Past its deadline but claimed by a Deliver that is storing
		// the reply: it wakes us when done; look again soon anyway.
		w = now + time.Millisecond
	case on && pr.eligible:
		w = pr.next
	}
	if pr.holdUntil != 0 {
		w = min(w, pr.holdUntil)
	}
	return w
}

// service handles what is due for one peer.
func (p *Prober) service(pr *peer, now time.Duration, on, sweep bool) {
	// A reply stored by Deliver.
	if pr.nonce != 0 && pr.inflight.Load() == done {
		code, rtt, ra := int(pr.code.Load()), time.Duration(pr.rtt.Load()), time.Duration(pr.retry.Load())
		pr.nonce = 0
		pr.inflight.Store(idle)
		p.replied(pr, now, on, code, rtt, ra)
	}
	// ICMP unreachable: fails the probe in flight, else (when nothing
	// stronger is known) makes the destination suspect and probes it.
	if pr.unreach.Load() != 0 {
		switch {
		case pr.nonce != 0:
			if pr.inflight.CompareAndSwap(pr.nonce, idle) {
				pr.nonce = 0
				pr.unreach.Store(0)
				probesUnreachable.Inc()
				p.failed(pr, now, "probe answered by ICMP unreachable")
			}
		case on && pr.holdUntil == 0 && p.hasUp(pr):
			pr.unreach.Store(0)
			passiveUnreachable.Inc()
			p.suspect(pr, now, "ICMP unreachable")
		}
		// Otherwise leave the flag raised: further ICMP errors then
		// neither wake us nor change anything. The next probe lowers it.
	}
	if pr.nonce != 0 && now >= pr.deadline && pr.inflight.CompareAndSwap(pr.nonce, idle) {
		pr.nonce = 0
		probesTimeout.Inc()
		p.failed(pr, now, "probe timeout")
	}
	if ra := pr.holdReq.Load(); ra != 0 {
		ra = pr.holdReq.Swap(0)
		p.hold(pr, now, on, time.Duration(ra), "reply 503 Retry-After ")
	}
	if pr.holdUntil != 0 && now >= pr.holdUntil {
		p.unhold(pr, now, on)
	}
	if sweep {
		p.sweepSilence(pr, now, on)
	}
	pr.eligible = on && pr.holdUntil == 0 && p.hasProbed(pr)
	if pr.eligible && pr.nonce == 0 && now >= pr.next {
		p.send(pr, now)
	}
}

// send sends one probe to pr.
func (p *Prober) send(pr *peer, now time.Duration) {
	first := pr.members[0].d
	from := p.cfg.FromURI
	if pf := first.Attrs.PingFrom; pf != "" && !strings.ContainsAny(pf, "<>\"\x00\r\n") {
		from = pf // the ping_from attr; one that would break the From header is ignored
	}
	pr.cseq++
	nonce := rand.Uint64() | nonceBit
	p.buf = appendOptions(p.buf[:0], &probe{
		uri: first.URI, from: from, viaHost: p.snd.ViaHost(pr.addr, pr.tr), tr: pr.tr,
		slot: pr.slot, nonce: nonce, cseq: pr.cseq,
	})
	if pr.unreach.Load() != 0 {
		pr.unreach.Store(0) // only an ICMP error after this send counts for it
	}
	pr.nonce, pr.deadline = nonce, now+p.cfg.Timeout
	pr.next = now + p.cfg.Interval // until the outcome reschedules
	pr.sentAt.Store(int64(now))
	// Publish before sending: the reply may come before Send returns.
	pr.inflight.Store(nonce)
	if err := p.snd.Send(p.buf, pr.addr, pr.tr); err != nil && pr.inflight.CompareAndSwap(nonce, idle) {
		pr.nonce = 0
		probesSendError.Inc()
		p.failed(pr, now, "probe not sent: "+err.Error())
	}
}

// replied handles a final reply to a probe.
func (p *Prober) replied(pr *peer, now time.Duration, on bool, code int, rtt, retryAfter time.Duration) {
	ewma, mx := pr.lat.add(int64(rtt))
	for _, m := range pr.members {
		m.d.RT.LatencyEWMA.Store(ewma)
		m.d.RT.LatencyMax.Store(mx)
	}
	switch {
	case code == 503 && retryAfter > 0:
		probesRejected.Inc()
		pr.fails = 0
		p.hold(pr, now, on, retryAfter, "probe reply 503 Retry-After ")
	case code >= 200 && code <= 299 || p.accept[code/64]&(1<<(code%64)) != 0:
		probesOK.Inc()
		pr.fails = 0
		pr.next = max(time.Duration(pr.sentAt.Load())+p.wait(), now)
		if pr.holdUntil == 0 {
			p.succeeded(pr, "probe reply "+strconv.Itoa(code))
		}
	default:
		probesRejected.Inc()
		p.failed(pr, now, "probe reply "+strconv.Itoa(code))
	}
}

// succeeded applies a successful probe to the members.
func (p *Prober) succeeded(pr *peer, reason string) {
	for i := range pr.members {
		m := &pr.members[i]
		st := m.d.State()
		if !p.probes(st) {
			continue
		}
		m.fails = 0
		pb := p.probingBit(st)
		if st&dispatcher.Inactive == 0 {
			m.oks = 0
			p.transition(m.d, dispatcher.Trying, pb, reason)
			continue
		}
		m.oks++
		switch {
		case m.held:
			m.held, m.oks = false, 0
			p.transition(m.d, dispatcher.Inactive|dispatcher.Trying, pb, reason+" after Retry-After")
		case m.oks >= p.cfg.OKThreshold:
			n := m.oks
			m.oks = 0
			p.transition(m.d, dispatcher.Inactive|dispatcher.Trying, pb, inARow(reason, n))
		default:
			p.transition(m.d, 0, pb, reason) // Kamailio: inactive until the threshold; P shows probing
		}
	}
}

// failed applies a failed probe (timeout, rejected, unreachable, not sent)
// and schedules the next one: at once while the failures have not yet
// reached the threshold, so that a dead destination is out within
// Interval + FailThreshold×Timeout, else after an interval.
func (p *Prober) failed(pr *peer, now time.Duration, reason string) {
	pr.fails++
	if pr.fails < p.cfg.FailThreshold && p.hasUp(pr) {
		pr.next = now
	} else {
		pr.next = max(time.Duration(pr.sentAt.Load())+p.wait(), now)
	}
	if pr.holdUntil != 0 {
		return // out by Retry-After: the hold decides
	}
	for i := range pr.members {
		m := &pr.members[i]
		st := m.d.State()
		if !p.probes(st) {
			continue
		}
		m.oks, m.held = 0, false
		m.d.RT.ProbeFailures.Add(1)
		pb := p.probingBit(st)
		if st&dispatcher.Inactive != 0 {
			p.transition(m.d, 0, pb, reason)
			continue
		}
		m.fails++
		if m.fails >= p.cfg.FailThreshold {
			n := m.fails
			m.fails = 0
			p.transition(m.d, dispatcher.Trying, dispatcher.Inactive|pb, inARow(reason, n))
		} else {
			p.transition(m.d, 0, dispatcher.Trying|pb, reason)
		}
	}
}

func inARow(reason string, n int) string {
	if n < 2 {
		return reason
	}
	return reason + " (" + strconv.Itoa(n) + " in a row)"
}

// suspect marks the members that are up as trying on passive evidence and
// probes at once (unless a probe is out already). Trying destinations still
// take calls: only probes take a destination out, so a lost packet or an
// ICMP error about an old datagram cannot.
func (p *Prober) suspect(pr *peer, now time.Duration, reason string) {
	for i := range pr.members {
		m := &pr.members[i]
		st := m.d.State()
		if !p.probes(st) || st&dispatcher.Inactive != 0 {
			continue
		}
		p.transition(m.d, 0, dispatcher.Trying|p.probingBit(st), reason)
	}
	if pr.nonce == 0 {
		pr.next = now
	}
}

// hold takes pr's members out for min(ra, RetryAfterCap), as a 503 with
// Retry-After asks. No probe is sent until then.
func (p *Prober) hold(pr *peer, now time.Duration, on bool, ra time.Duration, reason string) {
	d := min(ra, p.cfg.RetryAfterCap)
	until := now + d
	if d <= 0 || until <= pr.holdUntil {
		return
	}
	passiveRetryAfter.Inc()
	pr.holdUntil = until
	reason += strconv.FormatInt(int64(ra/time.Second), 10)
	if d < ra {
		reason += " (capped at " + d.String() + ")"
	}
	for i := range pr.members {
		m := &pr.members[i]
		st := m.d.State()
		if st&dispatcher.Disabled != 0 {
			continue
		}
		m.held, m.fails, m.oks = true, 0, 0
		pb := dispatcher.State(0)
		if on && p.probes(st) {
			pb = p.probingBit(st)
		}
		p.transition(m.d, dispatcher.Trying, dispatcher.Inactive|pb, reason)
	}
}

// unhold ends a Retry-After hold: members that will be probed wait for the
// probe sent now (one accepted reply brings them back); the others, not
// probed, come back at once.
func (p *Prober) unhold(pr *peer, now time.Duration, on bool) {
	pr.holdUntil = 0
	pr.next = now
	for i := range pr.members {
		m := &pr.members[i]
		if !m.held {
			continue
		}
		st := m.d.State()
		if on && p.probes(st) {
			continue
		}
		m.held = false
		if st&dispatcher.Disabled == 0 {
			p.transition(m.d, dispatcher.Inactive|dispatcher.Trying, 0, "Retry-After elapsed")
		}
	}
}

// sweepSilence looks for traffic that went unanswered for longer than
// Timeout. NoteSent and NoteReply raise one flag each between sweeps; a
// sweep that sees requests sent and none answered starts the clock, one that
// sees an answer stops it. The alarm needs a peer that has answered traffic
// before (so a back end that answers from another address never raises
// it), and after one alarm the peer must answer again to re-arm it.
func (p *Prober) sweepSilence(pr *peer, now time.Duration, on bool) {
	sent := pr.sent.Load() != 0
	if sent {
		pr.sent.Store(0)
	}
	if pr.replied.Load() != 0 {
		pr.replied.Store(0)
		pr.silentSince, pr.answers = 0, true
		return
	}
	if !on || pr.holdUntil != 0 || !p.hasUp(pr) {
		// Out, held or not probed: traffic to it proves nothing now, and
		// the clock must not carry over to when it is back.
		pr.silentSince = 0
		return
	}
	if sent && pr.silentSince == 0 {
		pr.silentSince = now
	}
	if pr.silentSince == 0 || now-pr.silentSince < p.cfg.Timeout || !pr.answers {
		return
	}
	silent := now - pr.silentSince
	pr.silentSince, pr.answers = 0, false
	passiveSilence.Inc()
	p.suspect(pr, now, "no reply to traffic for "+silent.Round(time.Millisecond).String())
}

// probes reports whether a member in state st is probed and follows the
// probes: never when disabled (the operator's word wins, as in Kamailio),
// and under ProbeFlagged only with the Probing bit.
func (p *Prober) probes(st dispatcher.State) bool {
	if st&dispatcher.Disabled != 0 {
		return false
	}
	return p.cfg.Mode == ProbeAll || st&dispatcher.Probing != 0
}

// probingBit is the Probing bit a probed member gets: always under
// ProbeAll, so FLAGS read "AP"/"IP" as in Kamailio; kept as is otherwise.
func (p *Prober) probingBit(st dispatcher.State) dispatcher.State {
	if p.cfg.Mode == ProbeAll {
		return dispatcher.Probing
	}
	return st & dispatcher.Probing
}

func (p *Prober) hasProbed(pr *peer) bool {
	for i := range pr.members {
		if p.probes(pr.members[i].d.State()) {
			return true
		}
	}
	return false
}

// hasUp reports whether a probed member is not inactive.
func (p *Prober) hasUp(pr *peer) bool {
	for i := range pr.members {
		if st := pr.members[i].d.State(); p.probes(st) && st&dispatcher.Inactive == 0 {
			return true
		}
	}
	return false
}

// transition changes a destination's state through Dest.Transition (which
// logs once when it changes) and counts it. The operator has the last word:
// if dispatcher.set_state disabled the destination between our reading of
// its state and our change, the bits we added are taken back.
func (p *Prober) transition(d *dispatcher.Dest, clear, set dispatcher.State, reason string) {
	from, to := d.Transition(clear, set, reason)
	if from == to {
		return
	}
	if from&dispatcher.Disabled != 0 {
		if added := to &^ from; added != 0 {
			d.Transition(added, 0, "operator disabled it meanwhile; probe result dropped")
		}
		return
	}
	switch {
	case to&dispatcher.Inactive != 0:
		toInactive.Inc()
	case to&dispatcher.Trying != 0:
		toTrying.Inc()
	default:
		toActive.Inc()
	}
}

// sync rebuilds the peers from table t: peers whose address stays keep
// their slot, schedule and latency; members whose Runtime stays keep their
// counters; new peers get their first probe within Jitter×Interval.
func (p *Prober) sync(t *dispatcher.Table, now time.Duration) {
	p.table = t
	type group struct {
		key   netip.AddrPort
		dests []*dispatcher.Dest
	}
	var groups []group
	at := map[netip.AddrPort]int{}
	for _, d := range t.Dests() {
		if !d.Addr.IsValid() || d.Addr.Port() == 0 {
			continue
		}
		k := netip.AddrPortFrom(d.Addr.Addr().Unmap().WithZone(""), d.Addr.Port())
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, group{key: k})
		}
		groups[i].dests = append(groups[i].dests, d)
	}
	byAddr := make(map[netip.AddrPort]*peer, len(groups))
	peers := make([]*peer, 0, len(groups))
	for _, g := range groups {
		pr := p.byAddr[g.key]
		if pr == nil {
			pr = &peer{slot: p.allocSlot(), next: now + p.firstDelay()}
		}
		pr.addr, pr.tr = g.dests[0].Addr, g.dests[0].Transport
		old := make(map[*dispatcher.Runtime]member, len(pr.members))
		for _, m := range pr.members {
			old[m.d.RT] = m
		}
		ms := make([]member, len(g.dests))
		for i, d := range g.dests {
			ms[i] = member{d: d}
			if o, ok := old[d.RT]; ok {
				ms[i].fails, ms[i].oks, ms[i].held = o.fails, o.oks, o.held
			}
		}
		pr.members = ms
		byAddr[g.key] = pr
		peers = append(peers, pr)
	}
	for k, pr := range p.byAddr {
		if byAddr[k] == nil {
			p.free = append(p.free, pr.slot)
		}
	}
	p.byAddr, p.peers = byAddr, peers

	slots := make([]*peer, p.nslots)
	idx := make([]indexEntry, 0, len(peers))
	for _, pr := range peers {
		slots[pr.slot] = pr
		idx = append(idx, indexEntry{dispatcher.KeyOf(pr.addr.Addr(), pr.addr.Port()), pr})
	}
	slices.SortFunc(idx, func(a, b indexEntry) int { return a.Compare(&b.AddrKey) })
	p.slots.Store(&slots)
	p.index.Store(&idx)
}

// allocSlot returns a free slot. The list size limit (dispatcher.MaxListSize)
// keeps a table far below the 2^24 slots a branch can name.
func (p *Prober) allocSlot() int {
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s
	}
	p.nslots++
	return p.nslots - 1
}

package health

import (
	"net/netip"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// The methods in this file run on the engine's workers, per message. They
// do atomic loads, store only when a value changes, allocate nothing and
// never block; they wake the prober goroutine, which does the rest, only
// when a flag goes up (a non-blocking send on a one-slot channel).

// Deliver takes a response whose top Via branch starts with BranchPrefix
// (see IsProbeBranch). m is read during the call only. Provisional replies
// are ignored (the final one decides); a reply that matches no outstanding
// probe (late after its timeout, a duplicate, a forgery, or for a
// destination that a reload removed) is counted as stale and dropped. Any
// message that parser.Parse accepted is safe to pass, requests included.
// The engine must not route the response further.
func (p *Prober) Deliver(m *parser.Message) {
	if m == nil || m.IsRequest() {
		return
	}
	code := m.StatusCode()
	if code < 200 || code > 699 {
		return
	}
	b := m.Raw()
	top, ok := m.FirstValue(parser.KindVia)
	var v parser.Via
	if !ok || parser.ParseVia(b, top, &v) != nil || !v.HasBranch {
		staleReplies.Inc()
		return
	}
	slot, nonce, ok := parseBranch(v.Branch.In(b))
	if !ok {
		staleReplies.Inc()
		return
	}
	var pr *peer
	if slots := p.slots.Load(); slots != nil && slot < len(*slots) {
		pr = (*slots)[slot]
	}
	if pr == nil || !pr.inflight.CompareAndSwap(nonce, claimed) {
		staleReplies.Inc()
		return
	}
	rtt := p.clock() - time.Duration(pr.sentAt.Load())
	var ra time.Duration
	if code == 503 {
		ra, _ = RetryAfter(m)
	}
	pr.code.Store(int32(code))
	pr.rtt.Store(int64(rtt))
	pr.retry.Store(int64(ra))
	pr.inflight.Store(done)
	p.wake()
}

// NoteSent records that a request expecting a response was forwarded to d.
// Do not call it for ACK (never answered), or silence detection would fire
// falsely; requests routed by cookie or Route to a back end count too.
func (p *Prober) NoteSent(d *dispatcher.Dest) {
	if d == nil || p.cfg.NoPassive {
		return
	}
	if pr := p.lookup(d.Addr); pr != nil && pr.sent.Load() == 0 {
		pr.sent.Store(1)
	}
}

// NoteReply records a response that came from the address from (any
// response, provisional included: it proves the back end is alive). A 503
// with retryAfter > 0 (see RetryAfter) takes the destination at that address
// out for min(retryAfter, RetryAfterCap); pass 0 when there is no
// Retry-After. Responses from addresses that are not destinations cost one
// binary search.
func (p *Prober) NoteReply(from netip.AddrPort, code int, retryAfter time.Duration) {
	if p.cfg.NoPassive {
		return
	}
	pr := p.lookup(from)
	if pr == nil {
		return
	}
	if pr.replied.Load() == 0 {
		pr.replied.Store(1)
	}
	if code != 503 || retryAfter <= 0 {
		return
	}
	for {
		cur := pr.holdReq.Load()
		if int64(retryAfter) <= cur {
			return
		}
		if pr.holdReq.CompareAndSwap(cur, int64(retryAfter)) {
			p.wake()
			return
		}
	}
}

// NoteUnreachable records an ICMP port, host or network unreachable error
// about a datagram sent to to (lb/sock's OnICMP with ECONNREFUSED,
// EHOSTUNREACH or ENETUNREACH). While a probe to to is out it fails that
// probe at once; otherwise the destination is marked trying and probed now.
func (p *Prober) NoteUnreachable(to netip.AddrPort) {
	if p.cfg.NoPassive {
		return
	}
	if pr := p.lookup(to); pr != nil && pr.unreach.Load() == 0 && pr.unreach.CompareAndSwap(0, 1) {
		p.wake()
	}
}

// lookup finds the peer at ap by binary search over the address index.
func (p *Prober) lookup(ap netip.AddrPort) *peer {
	idx := p.index.Load()
	if idx == nil || !ap.IsValid() {
		return nil
	}
	k := dispatcher.KeyOf(ap.Addr(), ap.Port())
	lo, hi := 0, len(*idx)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if (*idx)[m].Compare(&k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(*idx) && (*idx)[lo].Compare(&k) == 0 {
		return (*idx)[lo].pr
	}
	return nil
}

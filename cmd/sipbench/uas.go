package main

// The UAS: a back end that answers what the UAC sends, through the system
// under test or directly.
//
// INVITE → 100 Trying, 180 Ringing and 200 OK with an SDP answer (after -delay
// when one is set); the final answer is kept and retransmitted (T1, 2·T1 …
// capped at T2, RFC 3261 §13.3.1.4 and §17.2.1) until the ACK comes or 64·T1
// pass, and a retransmitted INVITE gets it again. BYE, REGISTER, OPTIONS and
// other requests get a 200 at once, without state. CANCEL gets a 200, and a
// 487 for its INVITE when that is still waiting for its delayed answer.
//
// For failover tests a fraction of the initial requests (no To tag) can be
// answered 503 (-fail) or not at all (-drop). The choice is a hash of the
// Call-ID, so every retransmission of a request meets the same fate.
//
// Responses go back to the address the request came from (the proxy's), not
// to the top Via: behind a relay that does not add its own Via the top Via is
// the UAC's, and answering it would bypass the system under test.
//
// Each listen address has one worker goroutine (more with -workers, on
// SO_REUSEPORT sockets); a worker's pending answers live in a fixed table of
// slots indexed by an open-addressing hash of the Call-ID.

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/sipfront/sipfront/lb/sock"
	"github.com/sipfront/sipfront/parser"
)

type uasConfig struct {
	Listen   []netip.AddrPort
	Workers  int // per listen address
	Delay    time.Duration
	Fail     float64 // fraction of initial requests answered FailCode
	FailCode int
	Drop     float64 // fraction of initial requests not answered at all
	T1, T2   time.Duration
	Pending  int // pending INVITE answers per worker
	Batch    int
	Duration time.Duration // 0: until stopped
}

type uasCounters struct {
	Received    uint64
	Sent        uint64
	SendErrors  uint64
	ParseErrors uint64
	Requests    [parser.MethodUPDATE + 1]uint64
	Responses   uint64 // responses received (ignored)
	Invites     uint64 // new INVITE transactions
	InviteRetr  uint64 // retransmitted INVITEs
	Answered    uint64 // final answers to INVITE sent (first time)
	FinalRetr   uint64 // final answers retransmitted by Timer G
	Acked       uint64 // ACKs that matched a pending answer
	AckTimeout  uint64 // answers never ACKed (Timer H)
	Failed      uint64 // initial requests answered FailCode
	Dropped     uint64 // initial requests left unanswered
	Untracked   uint64 // pending table full: answered without retransmission
	Cancelled   uint64
}

func (c *uasCounters) add(o *uasCounters) {
	c.Received += o.Received
	c.Sent += o.Sent
	c.SendErrors += o.SendErrors
	c.ParseErrors += o.ParseErrors
	for i := range c.Requests {
		c.Requests[i] += o.Requests[i]
	}
	c.Responses += o.Responses
	c.Invites += o.Invites
	c.InviteRetr += o.InviteRetr
	c.Answered += o.Answered
	c.FinalRetr += o.FinalRetr
	c.Acked += o.Acked
	c.AckTimeout += o.AckTimeout
	c.Failed += o.Failed
	c.Dropped += o.Dropped
	c.Untracked += o.Untracked
	c.Cancelled += o.Cancelled
}

// pending answer states
const (
	pFree     uint8 = iota
	pDelayed        // provisional sent, final answer waiting for Delay
	pAnswered       // final answer sent, waiting for the ACK
)

const respCap = 3072 // a stored final answer (200 with SDP and copied headers)

type pending struct {
	key      uint64
	state    uint8
	peer     netip.AddrPort
	rto      time.Duration
	deadline time.Duration
	resp     []byte // view into the worker's arena, capacity respCap
	cancel   []byte // 487 for a CANCELled delayed INVITE (built on CANCEL)
}

type uasWorker struct {
	cfg   *uasConfig
	conn  *sock.Conn
	start time.Time

	slots []pending
	free  []int32
	index []int32 // open addressing over key, -1 empty
	mask  uint64
	wheel *wheel

	in, out *sock.Batch
	nout    int
	msg     parser.Message
	contact []byte

	c  uasCounters
	mu sync.Mutex
	sc uasCounters
}

func newUASWorker(cfg *uasConfig, addr netip.AddrPort, reuse bool) (*uasWorker, error) {
	conn, err := sock.ListenUDP("udp", addr, sock.Options{ReusePort: reuse, RecvBuf: 8 << 20, SendBuf: 8 << 20})
	if err != nil {
		return nil, err
	}
	w := &uasWorker{cfg: cfg, conn: conn}
	n := cfg.Pending
	w.slots = make([]pending, n)
	arena := make([]byte, n*respCap)
	w.free = make([]int32, 0, n)
	for i := n - 1; i >= 0; i-- {
		w.slots[i].resp = arena[i*respCap : i*respCap : (i+1)*respCap]
		w.free = append(w.free, int32(i))
	}
	size := 1
	for size < 2*n {
		size <<= 1
	}
	w.index = make([]int32, size)
	for i := range w.index {
		w.index[i] = -1
	}
	w.mask = uint64(size - 1)
	w.wheel = newWheel(n, 8192, time.Millisecond)
	w.in = sock.NewBatch(cfg.Batch, 8192)
	w.out = sock.NewBatch(cfg.Batch, 4096)
	w.contact = []byte("sip:uas@" + conn.LocalAddr().String())
	return w, nil
}

func (w *uasWorker) now() time.Duration { return time.Since(w.start) }

// lookup returns the slot holding key, or -1.
func (w *uasWorker) lookup(key uint64) int32 {
	for i := key & w.mask; ; i = (i + 1) & w.mask {
		s := w.index[i]
		if s < 0 {
			return -1
		}
		if w.slots[s].key == key {
			return s
		}
	}
}

// insert takes a free slot for key; -1 when the table is full.
func (w *uasWorker) insert(key uint64) int32 {
	if len(w.free) == 0 {
		return -1
	}
	s := w.free[len(w.free)-1]
	w.free = w.free[:len(w.free)-1]
	i := key & w.mask
	for w.index[i] >= 0 {
		i = (i + 1) & w.mask
	}
	w.index[i] = s
	w.slots[s].key = key
	return s
}

// remove frees slot s, closing the gap in its probe sequence (backward shift
// deletion, so lookups need no tombstones).
func (w *uasWorker) remove(s int32) {
	p := &w.slots[s]
	i := p.key & w.mask
	for w.index[i] != s {
		i = (i + 1) & w.mask
	}
	w.index[i] = -1
	for j := (i + 1) & w.mask; w.index[j] >= 0; j = (j + 1) & w.mask {
		k := w.slots[w.index[j]].key & w.mask
		// move entry j back to i when its home k is not in (i, j]
		if (j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j)) {
			w.index[i] = w.index[j]
			w.index[j] = -1
			i = j
		}
	}
	p.state = pFree
	p.cancel = p.cancel[:0]
	w.wheel.Cancel(s)
	w.free = append(w.free, s)
}

func (w *uasWorker) slotBuf() []byte {
	if w.nout == len(w.out.Msgs) {
		w.flush()
	}
	return w.out.Msgs[w.nout].Buf[:0]
}

func (w *uasWorker) queue(buf []byte, to netip.AddrPort) {
	m := &w.out.Msgs[w.nout]
	if len(buf) > len(m.Buf) {
		m.Buf = buf
	}
	m.N = len(buf)
	m.Addr = to
	w.nout++
}

func (w *uasWorker) flush() {
	if w.nout == 0 {
		return
	}
	n, _ := w.conn.WriteBatch(w.out, w.nout)
	w.c.Sent += uint64(n)
	if n < w.nout {
		w.c.SendErrors += uint64(w.nout - n)
	}
	w.nout = 0
}

func (w *uasWorker) reply(m *parser.Message, r *response, to netip.AddrPort) {
	w.queue(appendResponse(w.slotBuf(), m, r), to)
}

// fate decides, from the Call-ID, whether an initial request is answered
// normally (0), with FailCode (1) or not at all (2).
func (w *uasWorker) fate(key uint64) int {
	u := float64(key>>11) / float64(1<<53)
	switch {
	case u < w.cfg.Drop:
		return 2
	case u < w.cfg.Drop+w.cfg.Fail:
		return 1
	}
	return 0
}

func (w *uasWorker) handle(b []byte, from netip.AddrPort) {
	w.c.Received++
	m := &w.msg
	if err := parser.Parse(b, m); err != nil {
		w.c.ParseErrors++
		return
	}
	if !m.IsRequest() {
		w.c.Responses++
		return
	}
	meth := m.Method()
	w.c.Requests[meth]++
	callID := m.CallID()
	if len(callID) == 0 {
		w.c.ParseErrors++
		return
	}
	key := hash64(callID)
	var tag [16]byte
	toTag := appendHex16(tag[:0], key)
	initial := !hasToTag(m)
	if initial && meth != parser.MethodACK && meth != parser.MethodCANCEL {
		switch w.fate(key) {
		case 2:
			w.c.Dropped++
			return
		case 1:
			if meth != parser.MethodINVITE {
				w.c.Failed++
				w.reply(m, &response{code: w.cfg.FailCode, reason: reasonFor(w.cfg.FailCode), toTag: toTag}, from)
				return
			}
		}
	}
	switch meth {
	case parser.MethodINVITE:
		w.onInvite(m, key, toTag, from, initial)
	case parser.MethodACK:
		if s := w.lookup(key); s >= 0 && w.slots[s].state == pAnswered {
			w.c.Acked++
			w.remove(s)
		}
	case parser.MethodCANCEL:
		w.c.Cancelled++
		w.reply(m, &response{code: 200, reason: "OK", toTag: toTag}, from)
		if s := w.lookup(key); s >= 0 && w.slots[s].state == pDelayed {
			p := &w.slots[s]
			// the INVITE ends with 487; its stored 200 is replaced by it
			p.resp = appendResponse(p.resp[:0], m, &response{code: 487, reason: "Request Terminated", toTag: toTag})
			fixCSeqMethod(p.resp)
			w.sendFinal(s)
		}
	case parser.MethodREGISTER:
		w.reply(m, &response{code: 200, reason: "OK", toTag: toTag, copyCt: true}, from)
	default:
		w.reply(m, &response{code: 200, reason: "OK", toTag: toTag}, from)
	}
}

func (w *uasWorker) onInvite(m *parser.Message, key uint64, toTag []byte, from netip.AddrPort, initial bool) {
	if s := w.lookup(key); s >= 0 {
		w.c.InviteRetr++
		p := &w.slots[s]
		if p.state == pAnswered {
			w.queue(append(w.slotBuf(), p.resp...), p.peer)
		} else {
			w.reply(m, &response{code: 100, reason: "Trying"}, from)
		}
		return
	}
	w.c.Invites++
	now := w.now()
	final := response{code: 200, reason: "OK", toTag: toTag, withRR: true, contact: w.contact, body: sdpAnswer}
	if initial && w.fate(key) == 1 {
		final = response{code: w.cfg.FailCode, reason: reasonFor(w.cfg.FailCode), toTag: toTag}
		w.c.Failed++
	}
	w.reply(m, &response{code: 100, reason: "Trying"}, from)
	if final.code < 300 {
		w.reply(m, &response{code: 180, reason: "Ringing", toTag: toTag, withRR: true, contact: w.contact}, from)
	}
	s := w.insert(key)
	if s < 0 || w.cfg.Delay <= 0 {
		buf := appendResponse(w.slotBuf(), m, &final)
		if s >= 0 && len(buf) <= respCap {
			p := &w.slots[s]
			p.resp = append(p.resp[:0], buf...)
			p.peer = from
			p.state = pAnswered
			p.rto = w.cfg.T1
			p.deadline = now + 64*w.cfg.T1
			w.wheel.Schedule(s, now+p.rto)
		} else {
			if s >= 0 {
				w.remove(s)
			}
			w.c.Untracked++
		}
		w.queue(buf, from)
		w.c.Answered++
		return
	}
	p := &w.slots[s]
	p.resp = appendResponse(p.resp[:0], m, &final)
	if len(p.resp) > respCap { // grew out of its slot: keep the slot's memory
		p.resp = p.resp[:0:respCap]
		w.remove(s)
		w.c.Untracked++
		return
	}
	p.peer = from
	p.state = pDelayed
	w.wheel.Schedule(s, now+w.cfg.Delay)
}

// sendFinal sends a pending slot's final answer for the first time and
// starts its retransmissions.
func (w *uasWorker) sendFinal(s int32) {
	p := &w.slots[s]
	now := w.now()
	w.queue(append(w.slotBuf(), p.resp...), p.peer)
	w.c.Answered++
	p.state = pAnswered
	p.rto = w.cfg.T1
	p.deadline = now + 64*w.cfg.T1
	w.wheel.Schedule(s, now+p.rto)
}

func (w *uasWorker) fire(s int32) {
	p := &w.slots[s]
	switch p.state {
	case pDelayed:
		w.sendFinal(s)
	case pAnswered:
		now := w.now()
		if now >= p.deadline {
			w.c.AckTimeout++
			w.remove(s)
			return
		}
		w.queue(append(w.slotBuf(), p.resp...), p.peer)
		w.c.FinalRetr++
		p.rto = min(2*p.rto, w.cfg.T2)
		w.wheel.Schedule(s, min(now+p.rto, p.deadline))
	}
}

func (w *uasWorker) run(start time.Time, stop <-chan struct{}) error {
	w.start = start
	fire := w.fire
	lastPub := time.Duration(0)
	for {
		select {
		case <-stop:
			w.publish()
			return nil
		default:
		}
		now := w.now()
		if w.cfg.Duration > 0 && now >= w.cfg.Duration {
			w.publish()
			return nil
		}
		w.wheel.Advance(now, fire)
		w.flush()
		if now-lastPub >= 200*time.Millisecond {
			w.publish()
			lastPub = now
		}
		if err := w.conn.SetReadDeadline(start.Add(now + 2*time.Millisecond)); err != nil {
			if errors.Is(err, net.ErrClosed) {
				w.publish()
				return nil
			}
			return err
		}
		n, err := w.conn.ReadBatch(w.in)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				w.publish()
				return nil
			}
			return err
		}
		for i := 0; i < n; i++ {
			msg := &w.in.Msgs[i]
			if msg.Trunc {
				w.c.ParseErrors++
				continue
			}
			w.handle(msg.Buf[:msg.N], msg.Addr)
		}
		w.flush()
	}
}

func (w *uasWorker) publish() {
	w.mu.Lock()
	w.sc = w.c
	w.mu.Unlock()
}

func (w *uasWorker) snapshot() uasCounters {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sc
}

// hasToTag reports whether the request's To carries a tag (an in-dialog
// request).
func hasToTag(m *parser.Message) bool {
	v, ok := m.FirstValue(parser.KindTo)
	if !ok {
		return false
	}
	_, ok = parser.Param(m.Raw(), v, "tag")
	return ok
}

// fixCSeqMethod rewrites "CANCEL" in the CSeq of a 487 built from a CANCEL
// into "INVITE" (same length), since the 487 answers the INVITE. The 487 is
// written by this program, so its CSeq line is "CSeq: N CANCEL" as copied.
func fixCSeqMethod(resp []byte) {
	var m parser.Message
	if parser.Parse(resp, &m) != nil {
		return
	}
	_, meth, err := m.CSeq()
	if err != nil || meth.Len() != len("CANCEL") {
		return
	}
	copy(resp[meth.Start:meth.End], "INVITE")
}

func reasonFor(code int) string {
	switch code {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return "Failed"
}

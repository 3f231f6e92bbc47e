package main

// The UAC: places calls (and REGISTER and OPTIONS transactions) at a target
// rate through the system under test and measures what comes back.
//
// Each worker goroutine owns one UDP socket, one call table, one timing wheel
// and one send batch; nothing is shared between workers while they run except
// a snapshot they publish a few times a second for the progress line. A call
// lives in a slot of the table; the slot and its generation are written into
// the Call-ID, so a response finds its call by parsing its Call-ID (no map),
// and a response for a slot that was reused since is counted as stray.
//
// Client transactions follow RFC 3261 §17.1 over UDP: an INVITE is
// retransmitted after T1, 2·T1, 4·T1 … until a response arrives (Timer A) and
// fails after 64·T1 (Timer B); BYE, REGISTER and OPTIONS are retransmitted
// with the interval doubling up to T2, at T2 once a provisional response came
// (Timer E), and fail after 64·T1 (Timer F). A 2xx to the INVITE is ACKed, and
// ACKed again whenever it is retransmitted; a final answer of 300 or more is
// ACKed in the INVITE's transaction (same branch, §17.1.1.3).

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipfront/sipfront/lb/sock"
	"github.com/sipfront/sipfront/parser"
)

// Flows a UAC can run.
const (
	flowCall = iota
	flowRegister
	flowOptions
	flowCount
)

var flowNames = [flowCount]string{"call", "register", "options"}

// Call states.
const (
	stFree       uint8 = iota
	stInvite           // INVITE sent, nothing received (Timer A running)
	stProceeding       // provisional received; waiting for the final answer
	stHold             // 2xx received and ACKed; holding until BYE
	stBye              // BYE sent
	stNonInvite        // REGISTER or OPTIONS sent
)

// uacConfig is what a UAC run needs.
type uacConfig struct {
	Target   netip.AddrPort
	Local    netip.Addr
	Workers  int
	Rate     float64 // attempts per second, all workers together
	Count    int64   // attempts in total; 0: unbounded (Duration bounds it)
	Duration time.Duration
	Hold     time.Duration // between ACK and BYE
	Drain    time.Duration // how long to wait for open calls after the last attempt
	T1, T2   time.Duration
	Weights  [flowCount]int
	Service  string // user part of the Request-URI
	MaxOpen  int    // call slots per worker
	Batch    int
	RunID    uint32
}

// uacCounters are one worker's counts. They are plain integers written by the
// worker alone; reports read copies.
type uacCounters struct {
	Attempted [flowCount]uint64
	OK        [flowCount]uint64
	Failed    [flowCount]uint64

	Timeout    uint64 // no final answer within 64·T1
	Rejected   uint64 // final answer >= 300 to the initial request
	ByeFailed  uint64 // BYE answered >= 300
	NoSlot     uint64 // call table full: attempt not placed
	Unfinished uint64 // still open when the run ended

	Codes [700]uint64 // final answers >= 300 by status code

	RetransInvite uint64
	RetransOther  uint64
	AckResent     uint64 // 2xx retransmissions answered with a new ACK

	Sent        uint64
	Received    uint64
	SendErrors  uint64
	Stray       uint64 // not for a live call (late, duplicate, other run)
	ParseErrors uint64
}

func (c *uacCounters) add(o *uacCounters) {
	for i := range flowCount {
		c.Attempted[i] += o.Attempted[i]
		c.OK[i] += o.OK[i]
		c.Failed[i] += o.Failed[i]
	}
	c.Timeout += o.Timeout
	c.Rejected += o.Rejected
	c.ByeFailed += o.ByeFailed
	c.NoSlot += o.NoSlot
	c.Unfinished += o.Unfinished
	for i := range c.Codes {
		c.Codes[i] += o.Codes[i]
	}
	c.RetransInvite += o.RetransInvite
	c.RetransOther += o.RetransOther
	c.AckResent += o.AckResent
	c.Sent += o.Sent
	c.Received += o.Received
	c.SendErrors += o.SendErrors
	c.Stray += o.Stray
	c.ParseErrors += o.ParseErrors
}

// Latency histograms.
const (
	latInvite = iota // INVITE → 2xx
	latBye           // BYE → 2xx
	latRegister
	latOptions
	latCount
)

var latNames = [latCount]string{"invite", "bye", "register", "options"}

// call is one slot of a worker's call table.
type call struct {
	gen      uint32
	state    uint8
	flow     uint8
	gotProv  bool
	rto      time.Duration // current retransmission interval
	due      time.Duration // when the pending retransmission is due
	txStart  time.Duration // first send of the current request
	deadline time.Duration // Timer B / F
	toTag    []byte        // fixed-capacity views into the worker's arena
	target   []byte
	route    []byte
}

// Per-slot storage for what a dialog needs from the 2xx.
const (
	tagCap    = 96
	targetCap = 192
	routeCap  = 512
	slotBytes = tagCap + targetCap + routeCap
)

type uacWorker struct {
	cfg   *uacConfig
	idx   uint32
	conn  *sock.Conn
	start time.Time

	calls []call
	free  []int32
	wheel *wheel
	open  int

	in, out *sock.Batch
	nout    int
	msg     parser.Message

	// constant parts of the requests
	via, contact, fromURI, toURI, ruri []byte

	// flow picking: smooth weighted round robin
	credit [flowCount]int

	c    uacCounters
	hist [latCount]Hist

	stopSending atomic.Bool   // set on SIGINT: place no more attempts, drain
	sendEnd     time.Duration // when the worker stopped placing attempts (after run)

	mu     sync.Mutex // guards snap
	snapC  uacCounters
	snapH  Hist // INVITE latency, for the progress line
	snapAt time.Duration
}

func newUACWorker(cfg *uacConfig, idx int) (*uacWorker, error) {
	conn, err := sock.ListenUDP("udp", netip.AddrPortFrom(cfg.Local, 0), sock.Options{RecvBuf: 8 << 20, SendBuf: 8 << 20})
	if err != nil {
		return nil, err
	}
	w := &uacWorker{cfg: cfg, idx: uint32(idx), conn: conn}
	n := cfg.MaxOpen
	w.calls = make([]call, n)
	arena := make([]byte, n*slotBytes)
	w.free = make([]int32, 0, n)
	for i := n - 1; i >= 0; i-- {
		a := arena[i*slotBytes : (i+1)*slotBytes]
		w.calls[i].toTag = a[0:0:tagCap]
		w.calls[i].target = a[tagCap : tagCap : tagCap+targetCap]
		w.calls[i].route = a[tagCap+targetCap : tagCap+targetCap : slotBytes]
		w.free = append(w.free, int32(i))
	}
	w.wheel = newWheel(n, 8192, time.Millisecond)
	w.in = sock.NewBatch(cfg.Batch, 4096)
	w.out = sock.NewBatch(cfg.Batch, 4096)
	la := conn.LocalAddr()
	w.via = fmt.Appendf(nil, "SIP/2.0/UDP %s", la)
	w.contact = fmt.Appendf(nil, "sip:sipbench@%s", la)
	w.fromURI = fmt.Appendf(nil, "sip:sipbench@%s", la.Addr())
	w.toURI = fmt.Appendf(nil, "sip:%s@%s", cfg.Service, cfg.Target)
	w.ruri = w.toURI
	return w, nil
}

func (w *uacWorker) now() time.Duration { return time.Since(w.start) }

// pickFlow chooses the next flow by smooth weighted round robin (nginx's
// algorithm): deterministic, and spread evenly in time.
func (w *uacWorker) pickFlow() int {
	total, best := 0, -1
	for i := range flowCount {
		wt := w.cfg.Weights[i]
		if wt <= 0 {
			continue
		}
		total += wt
		w.credit[i] += wt
		if best < 0 || w.credit[i] > w.credit[best] {
			best = i
		}
	}
	w.credit[best] -= total
	return best
}

// slotBuf returns the next send slot's buffer, flushing a full batch first.
func (w *uacWorker) slotBuf() []byte {
	if w.nout == len(w.out.Msgs) {
		w.flush()
	}
	return w.out.Msgs[w.nout].Buf[:0]
}

// queue commits the message appended to the buffer slotBuf returned.
func (w *uacWorker) queue(buf []byte) {
	m := &w.out.Msgs[w.nout]
	if len(buf) > len(m.Buf) {
		m.Buf = buf // grew beyond the slot (never with our messages)
	}
	m.N = len(buf)
	m.Addr = w.cfg.Target
	w.nout++
}

func (w *uacWorker) flush() {
	if w.nout == 0 {
		return
	}
	n, err := w.conn.WriteBatch(w.out, w.nout)
	w.c.Sent += uint64(n)
	if n < w.nout {
		w.c.SendErrors += uint64(w.nout - n)
	}
	_ = err // a closed socket ends the loop at the next read
	w.nout = 0
}

func (w *uacWorker) id(slot int32) callID {
	return callID{run: w.cfg.RunID, w: w.idx, slot: uint32(slot), gen: w.calls[slot].gen}
}

// send writes the request of the call's current state.
func (w *uacWorker) send(slot int32, method string, ack bool) {
	c := &w.calls[slot]
	r := request{method: method, id: w.id(slot), via: w.via, contact: w.contact, fromURI: w.fromURI, toURI: w.toURI, cseq: 1}
	switch method {
	case "INVITE":
		r.ruri, r.txn, r.body = w.ruri, 'i', sdpOffer
	case "ACK":
		if ack { // ACK to a 2xx: a transaction of its own, sent on the route set
			r.ruri, r.txn, r.route, r.toTag = c.target, 'a', c.route, c.toTag
		} else { // ACK to a final >= 300: the INVITE's transaction
			r.ruri, r.txn, r.toTag = w.ruri, 'i', c.toTag
		}
	case "BYE":
		r.ruri, r.txn, r.route, r.toTag, r.cseq = c.target, 'b', c.route, c.toTag, 2
	case "REGISTER":
		r.ruri, r.txn = w.ruri, 'r'
	case "OPTIONS":
		r.ruri, r.txn = w.ruri, 'o'
	}
	if len(r.ruri) == 0 {
		r.ruri = w.ruri
	}
	w.queue(appendRequest(w.slotBuf(), &r))
}

// startCall places one attempt.
func (w *uacWorker) startCall(now time.Duration) {
	f := w.pickFlow()
	w.c.Attempted[f]++
	if len(w.free) == 0 {
		w.c.NoSlot++
		w.c.Failed[f]++
		return
	}
	slot := w.free[len(w.free)-1]
	w.free = w.free[:len(w.free)-1]
	w.open++
	c := &w.calls[slot]
	c.gen++
	c.flow = uint8(f)
	c.gotProv = false
	c.toTag, c.target, c.route = c.toTag[:0], c.target[:0], c.route[:0]
	c.txStart = now
	c.rto = w.cfg.T1
	c.deadline = now + 64*w.cfg.T1
	c.due = now + c.rto
	switch f {
	case flowCall:
		c.state = stInvite
		w.send(slot, "INVITE", false)
	case flowRegister:
		c.state = stNonInvite
		w.send(slot, "REGISTER", false)
	case flowOptions:
		c.state = stNonInvite
		w.send(slot, "OPTIONS", false)
	}
	w.wheel.Schedule(slot, c.due)
}

// finish frees a call slot, counting it as ok or failed.
func (w *uacWorker) finish(slot int32, ok bool) {
	c := &w.calls[slot]
	if ok {
		w.c.OK[c.flow]++
	} else {
		w.c.Failed[c.flow]++
	}
	c.state = stFree
	w.wheel.Cancel(slot)
	w.free = append(w.free, slot)
	w.open--
}

// fire handles a timer of call slot.
func (w *uacWorker) fire(slot int32) {
	now := w.now()
	c := &w.calls[slot]
	switch c.state {
	case stInvite:
		if now >= c.deadline {
			w.c.Timeout++
			w.finish(slot, false)
			return
		}
		w.send(slot, "INVITE", false)
		w.c.RetransInvite++
		// intervals count from when each retransmission was due, so a
		// late wake-up does not stretch the schedule
		c.rto *= 2
		c.due = nextDue(c.due, c.rto, now)
		w.wheel.Schedule(slot, min(c.due, c.deadline))
	case stProceeding:
		w.c.Timeout++
		w.finish(slot, false)
	case stHold:
		c.state = stBye
		c.txStart = now
		c.rto = w.cfg.T1
		c.gotProv = false
		c.deadline = now + 64*w.cfg.T1
		c.due = now + c.rto
		w.send(slot, "BYE", false)
		w.wheel.Schedule(slot, c.due)
	case stBye, stNonInvite:
		if now >= c.deadline {
			w.c.Timeout++
			w.finish(slot, false)
			return
		}
		method := "BYE"
		if c.state == stNonInvite {
			method = flowMethod(c.flow)
		}
		w.send(slot, method, false)
		w.c.RetransOther++
		if c.gotProv {
			c.rto = w.cfg.T2
		} else {
			c.rto = min(2*c.rto, w.cfg.T2)
		}
		c.due = nextDue(c.due, c.rto, now)
		w.wheel.Schedule(slot, min(c.due, c.deadline))
	}
}

// nextDue is when the next retransmission is due: one interval after the
// previous one was due, so late wake-ups do not stretch the schedule, unless
// that is already past (a stall), when it restarts from now rather than
// sending a burst of overdue copies.
func nextDue(prev, rto, now time.Duration) time.Duration {
	if d := prev + rto; d > now {
		return d
	}
	return now + rto
}

func flowMethod(f uint8) string {
	if f == flowRegister {
		return "REGISTER"
	}
	return "OPTIONS"
}

// handle processes one received datagram.
func (w *uacWorker) handle(b []byte) {
	w.c.Received++
	m := &w.msg
	if err := parser.Parse(b, m); err != nil {
		w.c.ParseErrors++
		return
	}
	if m.IsRequest() {
		w.c.Stray++ // a UAC of calls it places only: no request is expected
		return
	}
	id, ok := parseCallID(m.CallID())
	if !ok || id.run != w.cfg.RunID || id.w != w.idx || int(id.slot) >= len(w.calls) {
		w.c.Stray++
		return
	}
	slot := int32(id.slot)
	c := &w.calls[slot]
	if c.state == stFree || c.gen != id.gen {
		w.c.Stray++
		return
	}
	_, meth, err := m.CSeq()
	if err != nil {
		w.c.ParseErrors++
		return
	}
	code := m.StatusCode()
	now := w.now()
	method := meth.In(m.Raw())
	switch {
	case string(method) == "INVITE":
		w.onInviteResponse(slot, c, m, code, now)
	case string(method) == "BYE" && c.state == stBye:
		w.onFinal(slot, c, code, now, latBye, true)
	case c.state == stNonInvite && string(method) == flowMethod(c.flow):
		lat := latOptions
		if c.flow == flowRegister {
			lat = latRegister
		}
		w.onFinal(slot, c, code, now, lat, false)
	default:
		w.c.Stray++
	}
}

// onFinal handles a response to a non-INVITE request of the call.
func (w *uacWorker) onFinal(slot int32, c *call, code int, now time.Duration, lat int, bye bool) {
	switch {
	case code < 200:
		c.gotProv = true
	case code < 300:
		w.hist[lat].Record(now - c.txStart)
		w.finish(slot, true)
	default:
		w.countCode(code)
		if bye {
			w.c.ByeFailed++
		} else {
			w.c.Rejected++
		}
		w.finish(slot, false)
	}
}

func (w *uacWorker) countCode(code int) {
	if code >= 300 && code < len(w.c.Codes) {
		w.c.Codes[code]++
	}
}

func (w *uacWorker) onInviteResponse(slot int32, c *call, m *parser.Message, code int, now time.Duration) {
	switch c.state {
	case stInvite, stProceeding:
	case stHold, stBye:
		if code >= 200 && code < 300 {
			// the 2xx again: our ACK was lost or is late; ACK again
			w.send(slot, "ACK", true)
			w.c.AckResent++
			return
		}
		w.c.Stray++
		return
	default:
		w.c.Stray++
		return
	}
	switch {
	case code < 200:
		if c.state == stInvite {
			c.state = stProceeding
			w.wheel.Schedule(slot, c.deadline)
		}
	case code < 300:
		w.hist[latInvite].Record(now - c.txStart)
		if !w.learnDialog(c, m) {
			w.c.ParseErrors++
			w.finish(slot, false)
			return
		}
		w.send(slot, "ACK", true)
		c.state = stHold
		w.wheel.Schedule(slot, now+w.cfg.Hold)
	default:
		w.countCode(code)
		w.c.Rejected++
		w.learnToTag(c, m)
		w.send(slot, "ACK", false)
		w.finish(slot, false)
	}
}

// learnToTag keeps the To tag of a response.
func (w *uacWorker) learnToTag(c *call, m *parser.Message) bool {
	b := m.Raw()
	v, ok := m.FirstValue(parser.KindTo)
	if !ok {
		return false
	}
	var na parser.NameAddr
	if parser.ParseNameAddr(b, v, &na) != nil || !na.HasTag || na.Tag.Len() > tagCap {
		return false
	}
	c.toTag = append(c.toTag[:0], na.Tag.In(b)...)
	return true
}

// learnDialog keeps what the ACK and BYE need from a 2xx (RFC 3261 §12.1.2):
// the remote tag, the remote target (Contact) and the route set (the
// Record-Route values in reverse order).
func (w *uacWorker) learnDialog(c *call, m *parser.Message) bool {
	if !w.learnToTag(c, m) {
		return false
	}
	b := m.Raw()
	v, ok := m.FirstValue(parser.KindContact)
	if !ok {
		return false
	}
	var na parser.NameAddr
	if parser.ParseNameAddr(b, v, &na) != nil || na.URI.Len() > targetCap {
		return false
	}
	c.target = append(c.target[:0], na.URI.In(b)...)
	// Record-Route values in reverse: collect spans first (bounded)
	var rr [8]parser.Span
	n := 0
	for it := m.Values(parser.KindRecordRoute); it.Next(); {
		if n == len(rr) {
			return false
		}
		rr[n] = it.Value()
		n++
	}
	c.route = c.route[:0]
	for i := n - 1; i >= 0; i-- {
		if len(c.route)+rr[i].Len()+2 > routeCap {
			return false
		}
		if len(c.route) > 0 {
			c.route = append(c.route, ", "...)
		}
		c.route = append(c.route, rr[i].In(b)...)
	}
	return true
}

// publish copies the counters and the INVITE histogram for the progress line.
func (w *uacWorker) publish(now time.Duration) {
	w.mu.Lock()
	w.snapC = w.c
	w.snapH = w.hist[latInvite]
	w.snapAt = now
	w.mu.Unlock()
}

// run is the worker's loop: place calls on schedule, fire timers, read
// answers. It returns when the attempts are placed and every call has ended,
// or when the drain time after the last attempt has passed.
func (w *uacWorker) run(start time.Time, count int64, rate float64) error {
	w.start = start
	cfg := w.cfg
	var placed int64
	var sendEnd time.Duration // when the last attempt was placed (or sending stopped)
	sending := count != 0
	lastPub := time.Duration(0)
	fire := w.fire
	for {
		now := w.now()
		if sending {
			due := int64(rate * now.Seconds())
			if count > 0 && due > count {
				due = count
			}
			for k := 0; placed < due && k < 4*len(w.out.Msgs); k++ {
				w.startCall(now)
				placed++
			}
			if (count > 0 && placed >= count) || now >= cfg.Duration || w.stopSending.Load() {
				sending = false
				sendEnd = now
			}
		}
		w.wheel.Advance(now, fire)
		w.flush()
		if now-lastPub >= 200*time.Millisecond {
			w.publish(now)
			lastPub = now
		}
		if !sending && (w.open == 0 || now-sendEnd >= cfg.Drain) {
			break
		}
		if err := w.conn.SetReadDeadline(start.Add(now + time.Millisecond)); err != nil {
			if errors.Is(err, net.ErrClosed) {
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
			w.handle(msg.Buf[:msg.N])
		}
		w.flush()
	}
	w.c.Unfinished += uint64(w.open)
	for i := range w.calls {
		if w.calls[i].state != stFree {
			w.finish(int32(i), false)
		}
	}
	w.sendEnd = sendEnd
	w.publish(w.now())
	return nil
}

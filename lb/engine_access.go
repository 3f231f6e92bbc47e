package lb

import (
	"sync/atomic"

	"github.com/sipfront/sipfront/parser"
)

// Read-only views of the Engine for the control API (control.go,
// rpcmethods.go). They live apart from engine.go so that the control API
// touches the engine's fields in one place only.

// routingSet is the set initial requests are dispatched to.
func (e *Engine) routingSet() int { return e.cfg.Set }

// listPath is the destination list file, as configured.
func (e *Engine) listPath() string { return e.cfg.DispatcherList }

// socketsOpen reports whether the engine's listeners are open: true from New
// until Run ends (or a worker fails and Run closes them all).
func (e *Engine) socketsOpen() bool {
	for _, w := range e.workers {
		rc, err := w.conn.SyscallConn()
		if err != nil {
			return false
		}
		// Control fails with "use of closed network connection" once the
		// socket is closed; the function itself does nothing.
		if rc.Control(func(uintptr) {}) != nil {
			return false
		}
	}
	listeners := len(e.workers)
	if s := e.streams; s != nil {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return false
		}
		listeners += len(s.listeners)
	}
	return listeners > 0
}

// counters is a snapshot of the data-path counters, summed over the
// workers. It is taken at scrape or RPC time, never on the data path.
type counters struct {
	requests       [methodCount]uint64
	responses      uint64
	fwdRequests    uint64
	fwdResponses   uint64
	replies        [replyReasonCount]uint64
	drops          [dropReasonCount]uint64
	sendErrors     uint64
	routedByCookie uint64
	routedByRoute  uint64
	routedByURI    uint64
	routedBySelect uint64
}

func (e *Engine) counters() counters {
	var c counters
	add := func(dst *uint64, src *atomic.Uint64) { *dst += src.Load() }
	for _, s := range e.stats {
		for m := range s.requests {
			add(&c.requests[m], &s.requests[m])
		}
		add(&c.responses, &s.responses)
		add(&c.fwdRequests, &s.fwdRequests)
		add(&c.fwdResponses, &s.fwdResponses)
		for r := range s.replies {
			add(&c.replies[r], &s.replies[r])
		}
		for d := range s.drops {
			add(&c.drops[d], &s.drops[d])
		}
		add(&c.sendErrors, &s.sendErrors)
		add(&c.routedByCookie, &s.routedByCookie)
		add(&c.routedByRoute, &s.routedByRoute)
		add(&c.routedByURI, &s.routedByURI)
		add(&c.routedBySelect, &s.routedBySelect)
	}
	return c
}

// requestsTotal is every request received, whatever its method.
func (c *counters) requestsTotal() uint64 {
	var n uint64
	for _, v := range c.requests {
		n += v
	}
	return n
}

// methodName is the method's name in lower case for stats names
// ("invite"), or "other".
func methodName(m parser.Method) string {
	if m == parser.MethodOther {
		return "other"
	}
	s := m.String()[len("Method"):]
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

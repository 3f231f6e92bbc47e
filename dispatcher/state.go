package dispatcher

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// State is a destination's state word. The low four bits mirror Kamailio's
// list flags (dispatch.h DS_*_DST), so a list file's flags column and
// dispatcher.set_state mean the same here; Draining is sipfront's own.
type State uint32

const (
	// Inactive: the destination failed its probes; it takes no traffic.
	Inactive State = 1
	// Trying: probes are failing but the threshold is not reached; still used.
	Trying State = 2
	// Disabled: switched off by the operator; it takes no traffic.
	Disabled State = 4
	// Probing: the destination is being probed (Kamailio's "P").
	Probing State = 8
	// Draining: no new calls; in-dialog requests and responses still flow.
	// Kamailio has no such state (its flag 16 means "no DNS at load", which
	// is a list flag, never a state).
	Draining State = 16

	// AllStates is every state bit, for Transition(AllStates, st, ...).
	AllStates = Inactive | Trying | Disabled | Probing | Draining

	// kamailioStates are the bits a list file's flags column sets.
	kamailioStates = Inactive | Trying | Disabled | Probing

	// unusable are the bits that stop new calls.
	unusable = Inactive | Disabled | Draining
)

// KamailioFlags gives the two letters of Kamailio's dispatcher.list FLAGS
// field: I, D, T or A (in that precedence), then P or X.
func (s State) KamailioFlags() string {
	var b [2]byte
	switch {
	case s&Inactive != 0:
		b[0] = 'I'
	case s&Disabled != 0:
		b[0] = 'D'
	case s&Trying != 0:
		b[0] = 'T'
	default:
		b[0] = 'A'
	}
	b[1] = 'X'
	if s&Probing != 0 {
		b[1] = 'P'
	}
	return string(b[:])
}

// String names the state for sipfront's "STATE" field: one of inactive,
// disabled, draining, trying, probing, active, in that precedence. "probing"
// is an active destination under probing (Kamailio "AP"): it takes traffic.
func (s State) String() string {
	switch {
	case s&Inactive != 0:
		return "inactive"
	case s&Disabled != 0:
		return "disabled"
	case s&Draining != 0:
		return "draining"
	case s&Trying != 0:
		return "trying"
	case s&Probing != 0:
		return "probing"
	default:
		return "active"
	}
}

// stateNames lists every name String can return, for metrics.
var stateNames = [...]string{"active", "trying", "inactive", "disabled", "draining", "probing"}

// Runtime is the mutable part of a destination, shared by pointer between
// table versions so that a reload keeps it. Every field is atomic: the proxy,
// the prober and the RPC handlers update it without locks. The state word is
// unexported so that every change goes through Dest.Transition.
type Runtime struct {
	state atomic.Uint32

	// Selected counts calls routed to the destination (the proxy adds 1
	// after it sends an initial request there).
	Selected atomic.Uint64
	// ProbeFailures counts failed probes (timeouts, unacceptable replies).
	ProbeFailures atomic.Uint64
	// LatencyEWMA and LatencyMax are probe round-trip times in nanoseconds:
	// a moving average and a recent maximum, written by the health prober.
	LatencyEWMA atomic.Int64
	LatencyMax  atomic.Int64

	changedAt atomic.Int64 // unix nanoseconds of the last state change
	reason    atomic.Pointer[string]
}

func newRuntime(st State) *Runtime {
	rt := new(Runtime)
	rt.state.Store(uint32(st))
	return rt
}

// State is the destination's current state: one atomic load.
func (d *Dest) State() State { return State(d.RT.state.Load()) }

// Usable reports whether the destination may take new calls: it is not
// inactive, disabled or draining (trying is still used, as in Kamailio).
func (d *Dest) Usable() bool { return State(d.RT.state.Load())&unusable == 0 }

// Transition clears the bits in clear, then sets the bits in set, with a
// compare-and-swap loop, and returns the state before and after. Only when
// the state actually changed does it record the time and reason and log one
// line (destination, old and new state, reason) through the logger of the
// Options the table was loaded with (or the Dispatcher's, else slog's
// default). Every state change in sipfront goes through this method.
//
// Examples: the prober marks a dead destination with
// Transition(Trying, Inactive, "probe timeout"); the operator's
// dispatcher.set_state replaces the whole word with Transition(AllStates, st,
// "operator").
func (d *Dest) Transition(clear, set State, reason string) (from, to State) {
	for {
		old := d.RT.state.Load()
		nw := (State(old) &^ clear) | set
		if State(old) == nw {
			return State(old), nw
		}
		if d.RT.state.CompareAndSwap(old, uint32(nw)) {
			from, to = State(old), nw
			break
		}
	}
	d.RT.changedAt.Store(time.Now().UnixNano())
	r := reason
	d.RT.reason.Store(&r)
	log := d.log
	if log == nil {
		log = slog.Default()
	}
	log.Info("dispatcher: destination state changed",
		slog.Int("set", d.Set), slog.String("uri", d.URI),
		slog.String("from", from.String()), slog.String("to", to.String()),
		slog.String("flags", to.KamailioFlags()), slog.String("reason", reason))
	return from, to
}

// LastChange returns when the state last changed through Transition and the
// reason given; the zero time and "" if it never changed since load.
func (d *Dest) LastChange() (time.Time, string) {
	ns := d.RT.changedAt.Load()
	p := d.RT.reason.Load()
	if ns == 0 || p == nil {
		return time.Time{}, ""
	}
	return time.Unix(0, ns), *p
}

package dispatcher

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Dispatcher holds the current Table. Readers call Current (one atomic load)
// and never lock; Swap, Reload and the run-time changes are serialized by a
// mutex and publish a whole new table.
type Dispatcher struct {
	cur  atomic.Pointer[Table]
	mu   sync.Mutex
	opts Options
	ovl  []overlayOp

	// DNS entries of the current table (dns.go), under mu.
	dnsList    []*dnsEntry
	dnsByKey   map[dnsKey]*dnsEntry
	dnsWake    chan struct{} // tells the refresh loop the entries changed
	dnsStarted atomic.Bool
}

// New returns a Dispatcher serving t (a table with no sets when t is nil).
// opts are used by Reload and the run-time changes, and opts.Logger for state
// changes of destinations whose table was loaded without a logger. New takes
// ownership of t: it must not be in use by another Dispatcher.
func New(t *Table, opts Options) *Dispatcher {
	if t == nil {
		t = newTable("", nil)
	}
	d := &Dispatcher{opts: opts, dnsWake: make(chan struct{}, 1)}
	for _, ds := range t.all {
		if ds.log == nil {
			ds.log = opts.Logger
		}
	}
	d.cur.Store(t)
	d.indexDNS()
	return d
}

// Current is the table in force: one atomic load. A request should be routed
// with one table from start to end, so load it once per request.
func (d *Dispatcher) Current() *Table { return d.cur.Load() }

// Diff is what a Swap changed.
type Diff struct {
	Added   []*Dest
	Removed []*Dest
	Changed []Change
}

// Change is a destination kept across a swap whose list entry changed.
type Change struct {
	Old, New *Dest
	// What lists the changes, e.g. `priority 0 -> 5`.
	What []string
}

// Empty reports whether the swap changed nothing.
func (df Diff) Empty() bool { return len(df.Added)+len(df.Removed)+len(df.Changed) == 0 }

// String prints one line per change, for the reload reply and the log:
//
//   - set 1 sip:10.0.0.3:5060
//   - set 2 sip:10.0.0.9:5060
//     ~ set 1 sip:10.0.0.1:5060: priority 0 -> 5, flags 0 -> 4
func (df Diff) String() string {
	if df.Empty() {
		return "no change"
	}
	var b strings.Builder
	line := func(sign byte, d *Dest, what []string) {
		b.WriteByte(sign)
		b.WriteString(" set ")
		b.WriteString(strconv.Itoa(d.Set))
		b.WriteByte(' ')
		b.WriteString(d.URI)
		if len(what) > 0 {
			b.WriteString(": ")
			b.WriteString(strings.Join(what, ", "))
		}
		b.WriteByte('\n')
	}
	for _, d := range df.Added {
		line('+', d, nil)
	}
	for _, d := range df.Removed {
		line('-', d, nil)
	}
	for _, c := range df.Changed {
		line('~', c.New, c.What)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Swap publishes t and returns what changed. Every destination of t that was
// in the current table (same set and duid; else, for a destination named by
// host name, same set and URI; else same set, transport and address when
// either has no duid) takes over the old one's Runtime: its
// state, counters and latency survive. When its flags column changed, the
// state bits that changed are set as the new flags say (an operator who
// writes 4 in the file and reloads gets a disabled destination). New
// destinations keep the state their flags gave them at load. Swap takes
// ownership of t, which must come fresh from Load and be swapped only once.
func (d *Dispatcher) Swap(t *Table) Diff {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.swapLocked(t)
}

type stateFix struct {
	d           *Dest
	clear, set  State
	description string
}

func (d *Dispatcher) swapLocked(t *Table) Diff {
	old := d.cur.Load()
	if t == old {
		return Diff{}
	}
	byID := map[idKey]*Dest{}
	byAddr := map[addrKey]*Dest{}
	byName := map[idKey]*Dest{} // named destinations by set and URI
	for _, od := range old.all {
		if od.Attrs.DUID != "" {
			byID[idKey{od.Set, od.Attrs.DUID}] = od
		}
		if od.dns != nil {
			byName[idKey{od.Set, od.URI}] = od
		}
		byAddr[addrKey{set: od.Set, tr: od.Transport, ap: od.Addr}] = od
	}
	used := map[*Dest]bool{}
	var diff Diff
	var fixes []stateFix
	for _, nd := range t.all {
		if nd.log == nil {
			nd.log = d.opts.Logger
		}
		var od *Dest
		if nd.Attrs.DUID != "" {
			od = byID[idKey{nd.Set, nd.Attrs.DUID}]
		}
		if (od == nil || used[od]) && nd.dns != nil {
			od = byName[idKey{nd.Set, nd.URI}]
			if od != nil && (used[od] || (od.Attrs.DUID != "" && nd.Attrs.DUID != "" && od.Attrs.DUID != nd.Attrs.DUID)) {
				od = nil
			}
		}
		if od == nil || used[od] {
			od = byAddr[addrKey{set: nd.Set, tr: nd.Transport, ap: nd.Addr}]
			if od != nil && (used[od] || (od.Attrs.DUID != "" && nd.Attrs.DUID != "" && od.Attrs.DUID != nd.Attrs.DUID)) {
				od = nil
			}
		}
		if od == nil {
			diff.Added = append(diff.Added, nd)
			continue
		}
		used[od] = true
		nd.RT = od.RT
		var what []string
		if od.URI != nd.URI {
			what = append(what, "uri "+od.URI+" -> "+nd.URI)
		}
		if od.Addr != nd.Addr {
			what = append(what, "address "+od.Addr.String()+" -> "+nd.Addr.String())
		}
		if (od.dns != nil || nd.dns != nil) && !slices.Equal(od.Targets(), nd.Targets()) {
			what = append(what, "targets "+targetList(od)+" -> "+targetList(nd))
		}
		if od.Flags != nd.Flags {
			what = append(what, "flags "+strconv.Itoa(od.Flags)+" -> "+strconv.Itoa(nd.Flags))
			if mask := State(od.Flags^nd.Flags) & kamailioStates; mask != 0 {
				fixes = append(fixes, stateFix{nd, mask, State(nd.Flags) & mask, "reload: flags column changed"})
			}
		}
		if od.Priority != nd.Priority {
			what = append(what, "priority "+strconv.Itoa(od.Priority)+" -> "+strconv.Itoa(nd.Priority))
		}
		if od.Attrs.Present != nd.Attrs.Present || od.Attrs.Body != nd.Attrs.Body {
			what = append(what, "attrs "+quoteToken(od.Attrs.Body)+" -> "+quoteToken(nd.Attrs.Body))
		}
		if len(what) > 0 {
			diff.Changed = append(diff.Changed, Change{Old: od, New: nd, What: what})
		}
	}
	for _, od := range old.all {
		if !used[od] {
			diff.Removed = append(diff.Removed, od)
		}
	}
	d.cur.Store(t)
	d.indexDNS()
	for _, f := range fixes {
		f.d.Transition(f.clear, f.set, f.description)
	}
	return diff
}

// Reload reads the list file at path, re-applies the run-time changes (Add,
// Remove, SetWeight) and swaps the result in. On error the running table and
// its states stay in force. Warnings are the file's, plus run-time changes
// that no longer apply.
func (d *Dispatcher) Reload(path string) (Diff, []Warning, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	data, err := readList(path)
	if err != nil {
		reloadsError.Inc()
		return Diff{}, nil, err
	}
	l := newLoader(path, &d.opts)
	l.reuse = d.dnsByKey
	if err := l.parse(data); err != nil {
		reloadsError.Inc()
		return Diff{}, l.warns, err
	}
	dests := l.dests
	for _, op := range d.ovl {
		var err error
		dests, err = d.apply(dests, op, false)
		if err != nil {
			if werr := l.warn(0, 0, op.match, ErrRejected, "run-time change not re-applied: "+
				strings.TrimPrefix(err.Error(), "dispatcher: "), ""); werr != nil {
				reloadsError.Inc()
				return Diff{}, l.warns, werr
			}
		}
	}
	diff := d.swapLocked(newTable(path, dests))
	reloadsOK.Inc()
	return diff, l.warns, nil
}

// Run-time changes Kamailio lacks. They are kept in an overlay that Reload
// re-applies to the file, so they survive reloads until the file itself
// says otherwise (an Add of a destination the file now lists is dropped as
// redundant; a Remove of one the file no longer lists does nothing).

type opKind uint8

const (
	opAdd opKind = iota + 1
	opRemove
	opWeight
)

type overlayOp struct {
	kind   opKind
	set    int
	match  string // the uri (or duid) as the operator gave it
	line   string // opAdd: the list line
	state  State  // opAdd: initial state beyond the list flags (Draining)
	weight int    // opWeight
}

// Add adds a destination to a set (creating the set) as if the list had the
// line `set uri flags priority attrs`; flags may include Draining, which the
// list format cannot say. The line is read strictly: anything the loader
// would warn about is an error. Adding a destination the set already has
// (same duid, or same transport and address) is ErrExists.
func (d *Dispatcher) Add(set int, uri string, flags State, priority int, attrs string) error {
	if set < 0 || priority < 0 {
		return detail(ErrBadNumber, "set id and priority must not be negative")
	}
	if uri == "" || strings.ContainsAny(uri, " \t\r\n#") {
		return detail(ErrBadURI, "URI must be one token without spaces or '#'")
	}
	if strings.ContainsAny(attrs, " \t\r\n") || strings.HasPrefix(attrs, "#") {
		return detail(ErrBadAttrs, "attrs must be one token without spaces, not starting with '#'")
	}
	if flags&^AllStates != 0 {
		return detail(ErrBadNumber, "unknown state bits in flags")
	}
	line := strconv.Itoa(set) + " " + uri + " " + strconv.Itoa(int(flags&kamailioStates)) + " " + strconv.Itoa(priority)
	if attrs != "" {
		line += " " + attrs
	}
	op := overlayOp{kind: opAdd, set: set, match: uri, line: line, state: flags & Draining}
	return d.change(op)
}

// Remove removes the destination of the set whose URI (compared as
// dispatcher.set_state does, ignoring case; "sip:" may be left out) or duid
// is uri. ErrUnknownDest when there is none.
func (d *Dispatcher) Remove(set int, uri string) error {
	return d.change(overlayOp{kind: opRemove, set: set, match: uri})
}

// SetWeight sets the weight attr (0..100; 0 takes no share in algorithm 9)
// of the destination that uri names, rewriting its attrs body.
func (d *Dispatcher) SetWeight(set int, uri string, weight int) error {
	if weight < 0 || weight > 100 {
		return ErrBadWeight
	}
	return d.change(overlayOp{kind: opWeight, set: set, match: uri, weight: weight})
}

// change applies op to the current table, swaps the result in, and records
// op in the overlay.
func (d *Dispatcher) change(op overlayOp) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur := d.cur.Load()
	dests := make([]*Dest, 0, len(cur.all)+1)
	// Rebuild in file order (Kamailio order reversed per set) so that the
	// new table orders equal priorities as the old one did.
	for _, s := range cur.sets {
		for i := len(s.dests) - 1; i >= 0; i-- {
			c := *s.dests[i]
			dests = append(dests, &c)
		}
	}
	dests, err := d.apply(dests, op, true)
	if err != nil {
		return err
	}
	d.swapLocked(newTable(cur.name, dests))
	d.record(op)
	return nil
}

// record appends op to the overlay, dropping earlier ops it makes moot, so
// that the overlay stays bounded by the destinations it touches.
func (d *Dispatcher) record(op overlayOp) {
	key := strings.ToLower(op.match)
	kept := d.ovl[:0]
	for _, o := range d.ovl {
		same := o.set == op.set && strings.ToLower(o.match) == key
		if same && (op.kind != opWeight || o.kind == opWeight) {
			continue
		}
		kept = append(kept, o)
	}
	d.ovl = append(kept, op)
}

// matchDest reports whether s names d as dispatcher.set_state does: the URI
// ignoring case (with "sip:" optional), or the duid.
func matchDest(d *Dest, s string) bool {
	if strings.EqualFold(d.URI, s) || (d.Attrs.DUID != "" && d.Attrs.DUID == s) {
		return true
	}
	return !hasPrefixFold(s, "sip:") && !hasPrefixFold(s, "sips:") &&
		len(d.URI) == len(s)+4 && hasPrefixFold(d.URI, "sip:") && strings.EqualFold(d.URI[4:], s)
}

// apply applies one overlay op to dests (file order). strict: the operator
// is asking now, so report what does not apply; otherwise (reload) an op
// that the file made moot is quietly dropped.
func (d *Dispatcher) apply(dests []*Dest, op overlayOp, strict bool) ([]*Dest, error) {
	switch op.kind {
	case opAdd:
		o := d.opts
		o.Strict = true
		l := newLoader("run-time add", &o)
		l.reuse = d.dnsByKey
		if err := l.parse([]byte(op.line)); err != nil {
			return dests, err
		}
		if len(l.dests) != 1 {
			return dests, detail(ErrBadURI, "no destination in "+quoteToken(op.line))
		}
		nd := l.dests[0]
		for _, x := range dests {
			if x.Set != nd.Set {
				continue
			}
			if (nd.Attrs.DUID != "" && x.Attrs.DUID == nd.Attrs.DUID) ||
				(nd.dns == nil && x.dns == nil && x.Transport == nd.Transport && x.Addr == nd.Addr) ||
				(nd.dns != nil && x.dns != nil && x.dns.key == nd.dns.key) {
				if strict {
					return dests, detail(ErrExists, "set "+strconv.Itoa(nd.Set)+" already has "+x.URI)
				}
				return dests, nil
			}
		}
		nd.Line, nd.ovl = 0, true
		if op.state != 0 {
			nd.RT.state.Store(uint32(State(nd.RT.state.Load()) | op.state))
		}
		return append(dests, nd), nil
	case opRemove:
		out := dests[:0:0]
		found := false
		for _, x := range dests {
			if x.Set == op.set && matchDest(x, op.match) {
				found = true
				continue
			}
			out = append(out, x)
		}
		if !found && strict {
			return dests, unknownDest(dests, op)
		}
		return out, nil
	case opWeight:
		found := false
		for i, x := range dests {
			if x.Set != op.set || !matchDest(x, op.match) {
				continue
			}
			found = true
			c := *x
			c.Attrs, _, _ = parseAttrs(withWeight(x.Attrs.Body, op.weight))
			dests[i] = &c
		}
		if !found && strict {
			return dests, unknownDest(dests, op)
		}
		return dests, nil
	}
	return dests, nil
}

func unknownDest(dests []*Dest, op overlayOp) error {
	for _, x := range dests {
		if x.Set == op.set {
			return detail(ErrUnknownDest, "no destination "+quoteToken(op.match)+" in set "+strconv.Itoa(op.set))
		}
	}
	return detail(ErrUnknownSet, "no set "+strconv.Itoa(op.set))
}

// withWeight rewrites an attrs body with weight=w first and every other
// weight parameter removed (a first weight wins, as in Kamailio, and text
// after ',' stays after it).
func withWeight(body string, w int) string {
	out := "weight=" + strconv.Itoa(w)
	ps, ignored, reason := parseParams(body)
	if reason != "" {
		return out
	}
	for _, p := range ps {
		if strings.EqualFold(p.name, "weight") || p.start == p.end {
			continue
		}
		out += ";" + body[p.start:p.end]
	}
	return out + ignored
}

// SetState sets the state of the destination of the set that uri names (as
// dispatcher.set_state: URI ignoring case, or duid), replacing the whole
// state word, and logs the change with reason. It is how the operator
// enables, disables or drains a destination; the state survives reloads.
func (d *Dispatcher) SetState(set int, uri string, st State, reason string) error {
	if st&^AllStates != 0 {
		return detail(ErrBadNumber, "unknown state bits")
	}
	s := d.Current().Set(set)
	if s == nil {
		return detail(ErrUnknownSet, "no set "+strconv.Itoa(set))
	}
	found := false
	for _, x := range s.dests {
		if matchDest(x, uri) {
			x.Transition(AllStates, st, reason)
			found = true
		}
	}
	if !found {
		return detail(ErrUnknownDest, "no destination "+quoteToken(uri)+" in set "+strconv.Itoa(set))
	}
	return nil
}

// targetList renders a destination's targets for a Diff: "[10.0.0.1:5060
// 10.0.0.2:5060]", or its address for an IP literal.
func targetList(d *Dest) string {
	if len(d.targets) == 0 {
		return "[" + d.Addr.String() + "]"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := range d.targets {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(d.targets[i].ap.String())
	}
	b.WriteByte(']')
	return b.String()
}

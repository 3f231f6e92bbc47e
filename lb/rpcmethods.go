package lb

// The JSON-RPC methods of the control API. Names, parameters, result shapes,
// success strings and error messages are Kamailio 5.6's (its dispatcher, core
// and kex modules; recorded in lb/rpc/testdata/kamailio and checked against a
// running Kamailio 5.6.3), so that tools written for Kamailio's jsonrpcs work
// unchanged. Where sipfront says more than Kamailio, it says it where those
// tools do not look:
//
//   - dispatcher.list adds "STATE" as the last member of each DEST: one word
//     of dispatcher.State.String (active, trying, inactive, disabled,
//     draining, probing), since draining has no FLAGS letter;
//   - a failed dispatcher.reload answers Kamailio's "Reload Failed" followed
//     by ": " and the reason (file:line:col: token: what is wrong); a
//     successful one answers Kamailio's sentence on the first line and the
//     changes on the lines after it ("+ set 1 URI", "- set 1 URI",
//     "~ set 1 URI: what changed", "no change", then "! " and each warning);
//   - dispatcher.add and dispatcher.remove answer Kamailio's failure texts
//     followed by ": " and the reason, where Kamailio gives no reason at
//     all, or succeeds for a destination it does not have; so does
//     dispatcher.ping_active when no prober runs.
//
// Errors where the parameters are of the wrong JSON type are "Invalid
// Parameters" (Kamailio converts silently; see lb/rpc). The other messages
// of Kamailio's methods are Kamailio's, byte for byte; sipfront's own
// methods (set_weight, drain, undrain) answer in the same style.
//
// Decisions where Kamailio and sipfront differ on purpose: set_state on a
// set that does not exist fails (Kamailio says Ok for "all"); no "Ongoing
// reload" window, since a reload is an atomic swap; a reload keeps every
// state (Kamailio resets them to AX); core.version has no trailing space.

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/lb/rpc"
	"github.com/sipfront/sipfront/parser"
)

// Prober is the health prober as the control API sees it.
// dispatcher.ping_active reads and sets its ping state with Kamailio's
// meaning: 0 pauses probing, any other value runs it. A prober that also has
// a Refresh() method is asked to re-read the table after every change made
// through the API. *health.Prober satisfies Prober.
type Prober interface {
	// PingActive returns the ping state.
	PingActive() int
	// SetPingActive sets the ping state and returns the previous one.
	SetPingActive(state int) (old int)
}

// Kamailio's error replies (dispatcher and kex modules).
var (
	errNoSets         = &rpc.Error{Code: 500, Message: "No Destination Sets"}
	errReloadFailed   = &rpc.Error{Code: 500, Message: "Reload Failed"}
	errStateUpdate    = &rpc.Error{Code: 500, Message: "State Update Failed"}
	errUnknownState   = &rpc.Error{Code: 500, Message: "Unknown State Value"}
	errInvalidState   = &rpc.Error{Code: 500, Message: "Invalid State Parameter"}
	errPingState      = &rpc.Error{Code: 500, Message: "Ping State Update Failed"}
	errAddFailed      = &rpc.Error{Code: 500, Message: "Adding dispatcher dst failed"}
	errRemoveFailed   = &rpc.Error{Code: 500, Message: "Removing dispatcher dst failed"}
	errStatsParameter = &rpc.Error{Code: 400, Message: "Please provide which stats to retrieve"}
)

// sipfront's own error reply, in Kamailio's style.
var errWeightUpdate = &rpc.Error{Code: 500, Message: "Weight Update Failed"}

// Kamailio's success strings.
const (
	okStateUpdated = "Ok. Dispatcher state updated."
	okReloaded     = "Ok. Dispatcher successfully reloaded."
	okAdded        = "Ok. Dispatcher destination added."
	okRemoved      = "Ok. Dispatcher destination removed."
	okWeight       = "Ok. Dispatcher weight updated." // sipfront's own
)

// withDetail is base followed by ": " and the reason err gives, without the
// package prefix. The rpc handler keeps control characters out of the HTTP
// reason phrase.
func withDetail(base *rpc.Error, err error) *rpc.Error {
	msg := err.Error()
	for _, p := range [...]string{"dispatcher: ", "lb: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return &rpc.Error{Code: base.Code, Message: base.Message + ": " + msg}
}

// methods holds what the RPC methods need. One per Control.
type methods struct {
	e       *Engine
	version string
	prober  Prober
	now     func() time.Time
}

func (m *methods) register(reg *rpc.Registry) {
	reg.Register("dispatcher.list", "Return the content of dispatcher sets. "+
		"Optional parameter: short (no ATTRS) or full (HOST, IPADDR, PORT, PROTOID too).", m.dsList)
	reg.Register("dispatcher.reload", "Reload dispatcher destination sets. "+
		"Destinations that stay keep their state, latency and counters; the reply lists what changed.", m.dsReload)
	reg.Register("dispatcher.set_state", "Set the state of a destination by address: "+
		"STATE (a, i, d, t, optionally followed by p; or 1, 0, 2, 3) GROUP ADDRESS|all.", m.dsSetState)
	reg.Register("dispatcher.set_duid_state", "Set the state of a destination by duid: STATE GROUP DUID|all.", m.dsSetDUIDState)
	reg.Register("dispatcher.ping_active", "Manage setting on/off the pinging (keepalive) of destinations: "+
		"no parameter reads the state, 0 pauses probing, 1 resumes it.", m.dsPingActive)
	reg.Register("dispatcher.add", "Add a destination address in memory: GROUP URI [FLAGS [PRIORITY [ATTRS]]]. "+
		"It stays across reloads until the list file has it or dispatcher.remove removes it.", m.dsAdd)
	reg.Register("dispatcher.remove", "Remove a destination address from memory: GROUP URI (or duid). "+
		"It stays removed across reloads until dispatcher.add adds it again.", m.dsRemove)
	reg.Register("dispatcher.set_weight", "Set the weight attribute of a destination: GROUP URI WEIGHT (0-100). "+
		"It stays across reloads.", m.dsSetWeight)
	reg.Register("dispatcher.drain", "Drain a destination: GROUP URI|all. It takes no new calls; "+
		"in-dialog requests and responses still reach it. The state stays across reloads.", m.dsDrain)
	reg.Register("dispatcher.undrain", "End the draining of a destination: GROUP URI|all.", m.dsUndrain)
	reg.Register("core.version", "Returns the version string of the server.", m.coreVersion)
	reg.Register("core.uptime", "Returns uptime of SIP server.", m.coreUptime)
	reg.Register("stats.fetch", "fetch core and modules stats as string values: "+
		"all, GROUP: or [GROUP:]NAME, one or more.", m.statsFetch)
	m.registerFilter(reg) // rpcfilter.go
}

// refreshProber asks the prober to pick up a table change now.
func (m *methods) refreshProber() {
	if r, ok := m.prober.(interface{ Refresh() }); ok {
		r.Refresh()
	}
}

// dispatcher.list: the reply types, in Kamailio's member order.

type dsList struct {
	NRSETS  int        `json:"NRSETS"`
	RECORDS []dsRecord `json:"RECORDS"`
}

type dsRecord struct {
	SET dsSet `json:"SET"`
}

type dsSet struct {
	ID      int        `json:"ID"`
	TARGETS []dsTarget `json:"TARGETS"`
}

type dsTarget struct {
	DEST dsDest `json:"DEST"`
}

type dsDest struct {
	URI      string `json:"URI"`
	FLAGS    string `json:"FLAGS"`
	PRIORITY int    `json:"PRIORITY"`
	*dsFull
	ATTRS   *dsAttrs   `json:"ATTRS,omitempty"`
	LATENCY *dsLatency `json:"LATENCY,omitempty"`
	// DNS is sipfront's, for a destination named by host name: how old its
	// addresses are, the last lookup error, and the targets in use.
	DNS *dsDNS `json:"DNS,omitempty"`
	// STATE is sipfront's: the one word that also says "draining".
	STATE string `json:"STATE"`
}

type dsDNS struct {
	AGE     float64       `json:"AGE"` // seconds since DNS last confirmed the targets
	TTL     float64       `json:"TTL"`
	ERROR   *string       `json:"ERROR"` // the last lookup's error; null when it answered
	TARGETS []dsDNSTarget `json:"TARGETS"`
}

type dsDNSTarget struct {
	ADDRESS  string `json:"ADDRESS"`
	PROTO    string `json:"PROTO"`
	PRIORITY uint16 `json:"PRIORITY"`
	WEIGHT   uint16 `json:"WEIGHT"`
	USABLE   bool   `json:"USABLE"`
}

// dsFull are the members "dispatcher.list full" adds.
type dsFull struct {
	HOST         string `json:"HOST"`
	IPADDR       string `json:"IPADDR"`
	PORT         int    `json:"PORT"`
	PROTOID      int    `json:"PROTOID"`
	DNSTIME_SEC  int64  `json:"DNSTIME_SEC"`
	DNSTIME_USEC int64  `json:"DNSTIME_USEC"`
}

type dsAttrs struct {
	BODY     string  `json:"BODY"`
	DUID     *string `json:"DUID"`
	MAXLOAD  int     `json:"MAXLOAD"`
	WEIGHT   int     `json:"WEIGHT"`
	RWEIGHT  int     `json:"RWEIGHT"`
	SOCKET   *string `json:"SOCKET"`
	SOCKNAME *string `json:"SOCKNAME"`
	OBPROXY  *string `json:"OBPROXY"`
}

// dsLatency is Kamailio's LATENCY block (ds_ping_latency_stats), in
// milliseconds.
type dsLatency struct {
	AVG     float64 `json:"AVG"`
	STD     float64 `json:"STD"`
	EST     float64 `json:"EST"`
	MAX     int64   `json:"MAX"`
	TIMEOUT uint64  `json:"TIMEOUT"`
}

type listMode uint8

const (
	listNormal listMode = iota
	listShort
	listFull
)

// dsList answers Kamailio's shape: sets by id (Kamailio prints them in the
// order of its AVL tree, an accident), destinations in Kamailio order.
func (m *methods) dsList(_ context.Context, p rpc.Params) (any, error) {
	mode := listNormal
	if p.Len() > 0 {
		s, err := p.StringAuto(0)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.EqualFold(s, "short"):
			mode = listShort
		case strings.EqualFold(s, "full"):
			mode = listFull
		}
	}
	sets := m.e.Dispatcher().Current().Sets()
	if len(sets) == 0 {
		return nil, errNoSets
	}
	out := &dsList{NRSETS: len(sets), RECORDS: make([]dsRecord, len(sets))}
	for i, s := range sets {
		ds := s.Dests()
		rec := &out.RECORDS[i]
		rec.SET.ID = s.ID()
		rec.SET.TARGETS = make([]dsTarget, len(ds))
		for j, d := range ds {
			m.dest(&rec.SET.TARGETS[j].DEST, d, mode)
		}
	}
	return out, nil
}

func (m *methods) dest(out *dsDest, d *dispatcher.Dest, mode listMode) {
	st := d.State()
	out.URI, out.FLAGS, out.PRIORITY, out.STATE = d.URI, st.KamailioFlags(), d.Priority, st.String()
	dns, named := d.DNS()
	if mode == listFull {
		// PORT is the port used (Kamailio shows 0 when the URI has none);
		// DNSTIME is when DNS last confirmed a named destination's
		// addresses, 0 for an IP literal, as Kamailio shows them.
		out.dsFull = &dsFull{HOST: d.Host, IPADDR: d.Addr.Addr().Unmap().String(), PORT: int(d.Port), PROTOID: protoID(d)}
		if named && !dns.ResolvedAt.IsZero() {
			out.dsFull.DNSTIME_SEC = dns.ResolvedAt.Unix()
			out.dsFull.DNSTIME_USEC = int64(dns.ResolvedAt.Nanosecond() / 1000)
		}
	}
	if named {
		out.DNS = &dsDNS{AGE: math.Round(dns.Age(m.now()).Seconds()*1000) / 1000, TTL: dns.TTL.Seconds(), TARGETS: []dsDNSTarget{}}
		if dns.LastErr != nil {
			e := dns.LastErr.Error()
			out.DNS.ERROR = &e
		}
		for _, t := range dns.Targets {
			out.DNS.TARGETS = append(out.DNS.TARGETS, dsDNSTarget{ADDRESS: t.Addr.String(), PROTO: t.Transport.String(),
				PRIORITY: t.Priority, WEIGHT: t.Weight, USABLE: t.Usable})
		}
	}
	if mode != listShort && d.Attrs.Present {
		out.ATTRS = attrsOf(&d.Attrs)
	}
	out.LATENCY = m.latency(d)
}

// protoID is Kamailio's PROTOID: 0 when the URI names no transport (even
// for sips:), else 1 udp, 2 tcp, 3 tls.
func protoID(d *dispatcher.Dest) int {
	if !strings.Contains(strings.ToLower(d.URI), ";transport=") {
		return 0
	}
	switch d.Transport {
	case dispatcher.UDP:
		return 1
	case dispatcher.TCP:
		return 2
	case dispatcher.TLS:
		return 3
	}
	return 0
}

// attrsOf is Kamailio's ATTRS block: the eight members, with null for a
// string attribute the line did not set.
func attrsOf(a *dispatcher.Attrs) *dsAttrs {
	str := func(has dispatcher.AttrMask, v string) *string {
		if a.Has&has == 0 {
			return nil
		}
		return &v
	}
	return &dsAttrs{
		BODY:     a.Body,
		DUID:     str(dispatcher.AttrDUID, a.DUID),
		MAXLOAD:  a.MaxLoad,
		WEIGHT:   a.Weight,
		RWEIGHT:  a.RWeight,
		SOCKET:   str(dispatcher.AttrSocket, a.Socket),
		SOCKNAME: str(dispatcher.AttrSockName, a.SockName),
		OBPROXY:  str(dispatcher.AttrOBProxy, a.OBProxy),
	}
}

// latency is the LATENCY block: on every destination while a prober is
// configured (as Kamailio with ds_ping_latency_stats), and on a destination
// with probe data otherwise. The prober keeps a moving average and a recent
// maximum, no variance: AVG and EST are the moving average, STD is 0, MAX the
// recent maximum, TIMEOUT the failed probes (timeouts and refused replies).
func (m *methods) latency(d *dispatcher.Dest) *dsLatency {
	ewma, mx, fails := d.RT.LatencyEWMA.Load(), d.RT.LatencyMax.Load(), d.RT.ProbeFailures.Load()
	if m.prober == nil && ewma == 0 && mx == 0 && fails == 0 {
		return nil
	}
	ms := func(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 } // µs precision
	return &dsLatency{AVG: ms(ewma), EST: ms(ewma), MAX: (mx + 500_000) / 1_000_000, TIMEOUT: fails}
}

// dsReload re-reads the list file through the engine (as SIGHUP does).
func (m *methods) dsReload(context.Context, rpc.Params) (any, error) {
	diff, warns, err := m.e.Reload()
	if err != nil {
		return nil, withDetail(errReloadFailed, err)
	}
	m.refreshProber()
	var b strings.Builder
	b.WriteString(okReloaded)
	b.WriteByte('\n')
	b.WriteString(diff.String())
	for _, w := range warns {
		b.WriteString("\n! ")
		b.WriteString(w.String())
	}
	return b.String(), nil
}

// parseState reads Kamailio's state parameter: the first character picks
// the state (i/0 inactive, a/1 active, d/2 disabled, t/3 trying, any case)
// and a second p adds probing (not to disabled); what follows is ignored, as
// in Kamailio.
func parseState(s string) (dispatcher.State, bool) {
	probing := len(s) > 1 && (s[1] == 'p' || s[1] == 'P')
	var st dispatcher.State
	switch s[0] {
	case '0', 'i', 'I':
		st = dispatcher.Inactive
	case '1', 'a', 'A':
	case '2', 'd', 'D':
		return dispatcher.Disabled, true
	case '3', 't', 'T':
		st = dispatcher.Trying
	default:
		return 0, false
	}
	if probing {
		st |= dispatcher.Probing
	}
	return st, true
}

// matchAddress reports whether s names d as dispatcher.set_state names a
// destination: its URI ignoring case, with "sip:" optional, or its duid (the
// reading of dispatcher.Dispatcher.SetState and Remove).
func matchAddress(d *dispatcher.Dest, s string) bool {
	if strings.EqualFold(d.URI, s) || (d.Attrs.DUID != "" && d.Attrs.DUID == s) {
		return true
	}
	lower := strings.ToLower(s)
	return !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") &&
		len(d.URI) == len(s)+4 && strings.EqualFold(d.URI[:4], "sip:") && strings.EqualFold(d.URI[4:], s)
}

func matchDUID(d *dispatcher.Dest, s string) bool { return d.Attrs.DUID != "" && d.Attrs.DUID == s }

// transition applies clear/set to the destinations of a set that target
// names ("all": every one), and reports whether there was any.
func (m *methods) transition(set int, target string, match func(*dispatcher.Dest, string) bool,
	clear, st dispatcher.State, reason string) bool {
	s := m.e.Dispatcher().Current().Set(set)
	if s == nil {
		return false
	}
	n := 0
	for _, d := range s.Dests() {
		if target == "all" || match(d, target) {
			d.Transition(clear, st, reason)
			n++
		}
	}
	return n > 0
}

func (m *methods) dsSetState(_ context.Context, p rpc.Params) (any, error) {
	res, err := m.setState(p, matchAddress, "operator: dispatcher.set_state")
	changesSetState.count(err)
	return res, err
}

func (m *methods) dsSetDUIDState(_ context.Context, p rpc.Params) (any, error) {
	res, err := m.setState(p, matchDUID, "operator: dispatcher.set_duid_state")
	changesSetDUIDState.count(err)
	return res, err
}

// setState replaces the whole state word, as Kamailio does: "a" on a
// draining destination ends the draining too.
func (m *methods) setState(p rpc.Params, match func(*dispatcher.Dest, string) bool, reason string) (any, error) {
	state, err1 := p.StringAuto(0)
	set, err2 := p.Int(1)
	target, err3 := p.String(2)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, rpc.ErrInvalidParams
	}
	if state == "" {
		return nil, errInvalidState
	}
	st, ok := parseState(state)
	if !ok {
		return nil, errUnknownState
	}
	// Kamailio answers success for "all" in a set it does not have; an
	// unknown set is an error here, as an unknown destination is.
	if !m.transition(set, target, match, dispatcher.AllStates, st, reason) {
		return nil, errStateUpdate
	}
	return okStateUpdated, nil
}

func (m *methods) dsDrain(_ context.Context, p rpc.Params) (any, error) {
	res, err := m.drain(p, 0, dispatcher.Draining, "operator: dispatcher.drain")
	changesDrain.count(err)
	return res, err
}

func (m *methods) dsUndrain(_ context.Context, p rpc.Params) (any, error) {
	res, err := m.drain(p, dispatcher.Draining, 0, "operator: dispatcher.undrain")
	changesUndrain.count(err)
	return res, err
}

// drain sets or clears the Draining bit alone, so that the prober's view
// (inactive, trying, probing) and the operator's drain stay independent.
func (m *methods) drain(p rpc.Params, clear, st dispatcher.State, reason string) (any, error) {
	set, err1 := p.Int(0)
	target, err2 := p.String(1)
	if err1 != nil || err2 != nil {
		return nil, rpc.ErrInvalidParams
	}
	if !m.transition(set, target, matchAddress, clear, st, reason) {
		return nil, errStateUpdate
	}
	return okStateUpdated, nil
}

// pingReply is Kamailio's: NewPingState only when one was set.
type pingReply struct {
	New *int `json:"NewPingState,omitempty"`
	Old int  `json:"OldPingState"`
}

// dsPingActive without a prober reports 0 (nothing probes) and refuses to
// change it.
func (m *methods) dsPingActive(_ context.Context, p rpc.Params) (any, error) {
	if p.Len() == 0 {
		old := 0
		if m.prober != nil {
			old = m.prober.PingActive()
		}
		return pingReply{Old: old}, nil
	}
	state, err := p.Int(0)
	if err != nil {
		return nil, err
	}
	if m.prober == nil {
		changesPingActive.count(errPingState)
		return nil, withDetail(errPingState, errNoProber)
	}
	old := m.prober.SetPingActive(state)
	changesPingActive.count(nil)
	return pingReply{New: &state, Old: old}, nil
}

var errNoProber = errors.New("lb: no health prober is running")

// kamailioFlagsMax bounds the flags of dispatcher.add: Kamailio's list bits
// 1 inactive, 2 trying, 4 disabled, 8 probing, 16 no DNS at load.
const kamailioFlagsMax = 31

func (m *methods) dsAdd(_ context.Context, p rpc.Params) (any, error) {
	res, err := m.add(p)
	changesAdd.count(err)
	return res, err
}

func (m *methods) add(p rpc.Params) (any, error) {
	if p.Len() < 2 {
		return nil, rpc.ErrInvalidParams
	}
	set, err1 := p.Int(0)
	uri, err2 := p.String(1)
	flags, prio, attrs := 0, 0, ""
	var err3, err4, err5 error
	if p.Len() > 2 {
		flags, err3 = p.Int(2)
	}
	if p.Len() > 3 {
		prio, err4 = p.Int(3)
	}
	if p.Len() > 4 {
		attrs, err5 = p.String(4)
	}
	if errors.Join(err1, err2, err3, err4, err5) != nil {
		return nil, rpc.ErrInvalidParams
	}
	if flags < 0 || flags > kamailioFlagsMax {
		return nil, withDetail(errAddFailed, errors.New("flags must be 0-31 (1 inactive, 2 trying, 4 disabled, 8 probing, 16 no DNS)"))
	}
	// Flag 16 (Kamailio: do not resolve at load) means nothing here: names
	// are resolved once, at load, either way.
	if err := m.e.Dispatcher().Add(set, uri, dispatcher.State(flags&15), prio, attrs); err != nil {
		return nil, withDetail(errAddFailed, err)
	}
	m.refreshProber()
	return okAdded, nil
}

func (m *methods) dsRemove(_ context.Context, p rpc.Params) (any, error) {
	set, err1 := p.Int(0)
	uri, err2 := p.String(1)
	if err1 != nil || err2 != nil {
		changesRemove.count(rpc.ErrInvalidParams)
		return nil, rpc.ErrInvalidParams
	}
	err := m.e.Dispatcher().Remove(set, uri)
	changesRemove.count(err)
	if err != nil {
		return nil, withDetail(errRemoveFailed, err)
	}
	m.refreshProber()
	return okRemoved, nil
}

func (m *methods) dsSetWeight(_ context.Context, p rpc.Params) (any, error) {
	set, err1 := p.Int(0)
	uri, err2 := p.String(1)
	w, err3 := p.Int(2)
	if errors.Join(err1, err2, err3) != nil {
		changesSetWeight.count(rpc.ErrInvalidParams)
		return nil, rpc.ErrInvalidParams
	}
	err := m.e.Dispatcher().SetWeight(set, uri, w)
	changesSetWeight.count(err)
	if err != nil {
		return nil, withDetail(errWeightUpdate, err)
	}
	return okWeight, nil
}

// coreVersion answers like Kamailio's "kamailio 5.6.3 (x86_64/linux) ":
// name, version, (architecture/OS), without Kamailio's trailing space.
func (m *methods) coreVersion(context.Context, rpc.Params) (any, error) {
	return "sipfront " + m.version + " (" + runtime.GOARCH + "/" + runtime.GOOS + ")", nil
}

type uptimeReply struct {
	Now     string `json:"now"`
	UpSince string `json:"up_since"`
	Uptime  int64  `json:"uptime"`
}

// ctimeLayout is C's ctime(3) format, which Kamailio's core.uptime uses.
const ctimeLayout = "Mon Jan _2 15:04:05 2006"

func (m *methods) coreUptime(context.Context, rpc.Params) (any, error) {
	now, since := m.now(), m.e.Started()
	return uptimeReply{
		Now:     now.Format(ctimeLayout),
		UpSince: since.Format(ctimeLayout),
		Uptime:  int64(now.Sub(since) / time.Second),
	}, nil
}

// stat is one counter of stats.fetch, named group.name as in Kamailio.
type stat struct {
	group, name string
	value       uint64
}

// statsFetch answers Kamailio's stats.fetch: each parameter is "all", a
// group ("core:"), a counter of a group ("core:rcv_requests") or a counter
// name looked up in every group ("rcv_requests"); the reply maps
// "group.name" to the value as a decimal string. Names that match nothing
// add nothing.
func (m *methods) statsFetch(_ context.Context, p rpc.Params) (any, error) {
	if p.Len() == 0 {
		return nil, errStatsParameter
	}
	all := m.statistics()
	out := make(map[string]string)
	for i := 0; i < p.Len(); i++ {
		q, err := p.StringAuto(i)
		if err != nil {
			return nil, err
		}
		group, name, qualified := strings.Cut(q, ":")
		for _, s := range all {
			var hit bool
			switch {
			case q == "all":
				hit = true
			case qualified && name == "":
				hit = s.group == group
			case qualified:
				hit = s.group == group && s.name == name
			default:
				hit = s.name == q
			}
			if hit {
				out[s.group+"."+s.name] = strconv.FormatUint(s.value, 10)
			}
		}
	}
	return out, nil
}

// The statistics of stats.fetch, in four groups:
//
//   - core: Kamailio's core names for what sipfront counts alike
//     (rcv_requests, rcv_requests_invite..., rcv_replies, fwd_requests,
//     fwd_replies, drop_requests, drop_replies, bad_msg_hdr);
//   - sl: Kamailio's sl module names for the replies sipfront sends itself
//     (sent_replies, sent_err_replies, and the code buckets, each code
//     counted once: 400, 403, 483 by themselves, other 4xx in 4xx_replies,
//     5xx in 5xx_replies);
//   - lb: sipfront's own data-path counters, as in /metrics;
//   - dispatcher: the destination table now: sets, destinations, how many
//     are in each state, calls selected and probes failed.
func (m *methods) statistics() []stat {
	c := m.e.counters()
	var out []stat
	add := func(group, name string, v uint64) { out = append(out, stat{group, name, v}) }

	add("core", "rcv_requests", c.requestsTotal())
	for meth := parser.Method(1); int(meth) < methodCount; meth++ {
		add("core", "rcv_requests_"+methodName(meth), c.requests[meth])
	}
	add("core", "rcv_replies", c.responses)
	add("core", "fwd_requests", c.fwdRequests)
	add("core", "fwd_replies", c.fwdResponses)
	add("core", "drop_requests", c.drops[dropMalformedACK]+c.drops[dropUnanswerable]+c.drops[dropACKUnroutable])
	add("core", "drop_replies", c.drops[dropMalformedResponse]+c.drops[dropResponseNotOurs]+
		c.drops[dropResponseBadBranch]+c.drops[dropResponseNoVia]+c.drops[dropResponseUnroutable])
	add("core", "bad_msg_hdr", c.replies[replyMalformed]+c.drops[dropMalformedResponse]+c.drops[dropMalformedACK])

	var sent uint64
	buckets := map[string]uint64{}
	var bucketOrder []string
	for r := replyReason(0); r < replyReasonCount; r++ {
		b := slBucket(replyStatus[r].code)
		if _, ok := buckets[b]; !ok {
			bucketOrder = append(bucketOrder, b)
		}
		buckets[b] += c.replies[r]
		sent += c.replies[r]
	}
	add("sl", "sent_replies", sent)
	add("sl", "sent_err_replies", sent) // every reply sipfront sends itself is an error
	for _, b := range bucketOrder {
		add("sl", b, buckets[b])
	}

	add("lb", "requests_received", c.requestsTotal())
	for meth := parser.Method(0); int(meth) < methodCount; meth++ {
		add("lb", "requests_received_"+methodName(meth), c.requests[meth])
	}
	add("lb", "responses_received", c.responses)
	add("lb", "forwarded_requests", c.fwdRequests)
	add("lb", "forwarded_responses", c.fwdResponses)
	for r := replyReason(0); r < replyReasonCount; r++ {
		add("lb", "replies_"+replyNames[r], c.replies[r])
	}
	for d := dropReason(0); d < dropReasonCount; d++ {
		add("lb", "dropped_"+dropNames[d], c.drops[d])
	}
	add("lb", "send_errors", c.sendErrors)
	add("lb", "routed_by_cookie", c.routedByCookie)
	add("lb", "routed_by_route", c.routedByRoute)
	add("lb", "routed_by_request_uri", c.routedByURI)
	add("lb", "routed_by_select", c.routedBySelect)

	t := m.e.Dispatcher().Current()
	byState := map[string]uint64{}
	var selected, fails uint64
	for _, d := range t.Dests() {
		byState[d.State().String()]++
		selected += d.RT.Selected.Load()
		fails += d.RT.ProbeFailures.Load()
	}
	add("dispatcher", "sets", uint64(len(t.Sets())))
	add("dispatcher", "destinations", uint64(len(t.Dests())))
	for _, st := range stateWords {
		add("dispatcher", "destinations_"+st, byState[st])
	}
	add("dispatcher", "selected", selected)
	add("dispatcher", "probe_failures", fails)
	return out
}

// stateWords are the words dispatcher.State.String gives.
var stateWords = [...]string{"active", "trying", "inactive", "disabled", "draining", "probing"}

// slBucket is the sl module's counter for a reply code: a few codes have
// their own, the others count in their class.
func slBucket(code int) string {
	switch code {
	case 200, 202, 300, 301, 302, 400, 401, 403, 404, 407, 408, 483, 500:
		return strconv.Itoa(code) + "_replies"
	}
	if code < 200 || code >= 700 {
		return "xxx_replies" // as Kamailio counts them, 1xx included
	}
	return strconv.Itoa(code/100) + "xx_replies"
}

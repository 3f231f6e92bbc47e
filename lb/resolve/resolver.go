package resolve

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Transport is the SIP transport a target is reached over.
type Transport uint8

// Transports. The zero value means "not given" in a Query.
const (
	UDP Transport = iota + 1
	TCP
	TLS
)

func (t Transport) String() string {
	switch t {
	case UDP:
		return "udp"
	case TCP:
		return "tcp"
	case TLS:
		return "tls"
	}
	return "none"
}

// Query is the part of a SIP URI that RFC 3263 looks at.
type Query struct {
	// Host is a DNS name (not an IP literal), with or without the
	// trailing dot; a name without it goes through the search list.
	Host string
	// Port is the URI's port, 0 when it has none.
	Port uint16
	// Transport is the URI's transport parameter, 0 when it has none.
	Transport Transport
	// Secure is a sips: URI: only TLS targets.
	Secure bool
}

// Target is one address to send to.
type Target struct {
	Addr      netip.AddrPort
	Transport Transport
	// Priority and Weight are the SRV record's (RFC 2782: lower priority
	// first, weight shares within a priority); 0 and 0 for a target found
	// by A/AAAA alone.
	Priority uint16
	Weight   uint16
	// Name is the host the address record belongs to (the SRV target, or
	// the queried host), without the trailing dot.
	Name string
}

// Method says which step of RFC 3263 found the targets.
type Method uint8

// Methods.
const (
	ByNAPTR Method = iota + 1 // NAPTR, then SRV, then A/AAAA
	BySRV                     // SRV, then A/AAAA
	ByAddr                    // A/AAAA alone
	ByHosts                   // the hosts file
)

func (m Method) String() string {
	switch m {
	case ByNAPTR:
		return "naptr"
	case BySRV:
		return "srv"
	case ByAddr:
		return "a"
	case ByHosts:
		return "hosts"
	}
	return "none"
}

// Result is what a Lookup found.
type Result struct {
	// Targets in RFC 3263 order: by SRV priority, then weight (highest
	// first), then record order; for each host its IPv4 addresses before
	// its IPv6 ones. No two targets have the same address, port and
	// transport.
	Targets []Target
	// TTL is the smallest TTL of every record the lookup used, and of the
	// negative answers it went past (so that a record added later is seen
	// when this expires).
	TTL time.Duration
	// Name is the name that was found (after the search list), with its
	// trailing dot.
	Name string
	// Method is the step of RFC 3263 that gave the targets.
	Method Method
}

// Resolver runs lookups. It is safe for concurrent use.
type Resolver struct {
	cfg   Config
	rot   atomic.Uint32
	hosts *hostsFile
}

// maxTargets bounds a Result; maxSRVTargets bounds the SRV records of one
// name that are followed to addresses, maxNAPTRTried the NAPTR records tried.
const (
	maxTargets    = 64
	maxSRVTargets = 16
	maxNAPTRTried = 8
)

// New returns a Resolver for cfg (copied). ErrNoServer when cfg has none.
func New(cfg Config) (*Resolver, error) {
	if len(cfg.Servers) == 0 {
		return nil, ErrNoServer
	}
	cfg.Servers = slices.Clone(cfg.Servers)
	cfg.Search = slices.Clone(cfg.Search)
	cfg.Transports = slices.Clone(cfg.Transports)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 2
	}
	if cfg.UDPSize < 512 {
		cfg.UDPSize = 1232
	}
	cfg.UDPSize = min(cfg.UDPSize, maxUDPReply)
	return &Resolver{cfg: cfg, hosts: &hostsFile{path: cfg.HostsFile}}, nil
}

// Config is the configuration in use.
func (r *Resolver) Config() Config { return r.cfg }

func (r *Resolver) allowed(t Transport) bool {
	return r.cfg.Transports == nil || slices.Contains(r.cfg.Transports, t)
}

// chain accumulates the smallest TTL along one lookup.
type chain struct {
	ttl    uint32
	hasTTL bool
}

func (c *chain) add(a *answer) {
	if a.hasTTL && (!c.hasTTL || a.ttl < c.ttl) {
		c.ttl, c.hasTTL = a.ttl, true
	}
}

// Lookup resolves q as RFC 3263 §4 says (see the package doc). A name
// without a trailing dot is tried with the search list, and the next
// candidate is tried only when one is not found; a server failure or a
// timeout ends the lookup with that error (so that a caller keeps what it
// had rather than act on half an answer). The error wraps ErrNotFound,
// ErrServer, ErrTimeout, ErrBadAnswer, ErrBadName or ErrNoServer.
func (r *Resolver) Lookup(ctx context.Context, q Query) (Result, error) {
	if err := checkName(strings.TrimSuffix(q.Host, ".")); err != nil {
		return Result{}, &QueryError{Name: "", Type: "host", Err: err}
	}
	if res, ok := r.fromHosts(q); ok {
		return res, nil
	}
	var first error
	for _, name := range r.candidates(q.Host) {
		res, err := r.lookupName(ctx, name, q)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Result{}, err
		}
		if first == nil {
			first = err
		}
	}
	return Result{}, first
}

// LookupHost returns the A and AAAA addresses of host (IPv4 first) and
// their smallest TTL: the port-given branch of Lookup, without ports.
func (r *Resolver) LookupHost(ctx context.Context, host string) ([]netip.Addr, time.Duration, error) {
	res, err := r.Lookup(ctx, Query{Host: host, Port: 1})
	if err != nil {
		return nil, 0, err
	}
	addrs := make([]netip.Addr, len(res.Targets))
	for i, t := range res.Targets {
		addrs[i] = t.Addr.Addr()
	}
	return addrs, res.TTL, nil
}

// fromHosts answers q from the hosts file when it lists the host: A/AAAA
// targets on the URI's port or the default one.
func (r *Resolver) fromHosts(q Query) (Result, bool) {
	host := strings.ToLower(strings.TrimSuffix(q.Host, "."))
	addrs := r.hosts.lookup(host)
	if len(addrs) == 0 {
		return Result{}, false
	}
	t := q.Transport
	if t == 0 {
		t = defaultTransport(q.Secure, r)
	}
	port := q.Port
	if port == 0 {
		port = defaultPort(t)
	}
	res := Result{Name: host + ".", Method: ByHosts, TTL: hostsTTL}
	for _, a := range addrs {
		if len(res.Targets) == maxTargets {
			break
		}
		res.Targets = append(res.Targets, Target{Addr: netip.AddrPortFrom(a, port), Transport: t, Name: host})
	}
	return res, true
}

func (r *Resolver) lookupName(ctx context.Context, name string, q Query) (Result, error) {
	var c chain
	secure := q.Secure || q.Transport == TLS
	res := Result{Name: name}
	var targets []Target
	var err error
	switch {
	case q.Port != 0:
		// §4.2: a port given means A/AAAA on that port.
		t := q.Transport
		if t == 0 {
			t = defaultTransport(secure, nil)
		}
		res.Method = ByAddr
		targets, err = r.addrs(ctx, &c, name, q.Port, t, 0, 0, nil)
	case q.Transport != 0:
		// §4.2: a transport given means SRV for it, then A/AAAA.
		var found bool
		targets, found, err = r.srv(ctx, &c, srvName(q.Transport, name), q.Transport)
		res.Method = BySRV
		if err == nil && !found {
			res.Method = ByAddr
			targets, err = r.addrs(ctx, &c, name, defaultPort(q.Transport), q.Transport, 0, 0, nil)
		}
	default:
		targets, res.Method, err = r.discover(ctx, &c, name, secure)
	}
	if err != nil {
		return Result{}, err
	}
	if len(targets) == 0 {
		return Result{}, &QueryError{Name: name, Type: "host", Err: ErrNotFound}
	}
	res.Targets = targets
	if c.hasTTL {
		res.TTL = time.Duration(c.ttl) * time.Second
	}
	return res, nil
}

// discover is §4.1 without a port or transport: NAPTR, then SRV for each
// transport we support, then A/AAAA. A server that refuses the NAPTR or SRV
// question (SERVFAIL, NOTIMP, REFUSED, FORMERR: some forwarders do for types
// they do not know) counts as having none; a timeout ends the lookup.
func (r *Resolver) discover(ctx context.Context, c *chain, name string, secure bool) ([]Target, Method, error) {
	a, err := r.ask(ctx, name, typeNAPTR)
	switch {
	case err == nil:
		c.add(&a)
		if ts, err := r.viaNAPTR(ctx, c, &a, secure); err != nil || len(ts) > 0 {
			return ts, ByNAPTR, err
		}
	case !errors.Is(err, ErrServer):
		return nil, 0, err
	}
	// No usable NAPTR: SRV for each transport, UDP first (sipfront's own),
	// sips: only over TLS.
	srvFound := false
	for _, t := range [...]Transport{UDP, TCP, TLS} {
		if (secure && t != TLS) || !r.allowed(t) {
			continue
		}
		ts, found, err := r.srv(ctx, c, srvName(t, name), t)
		if err != nil && !errors.Is(err, ErrServer) && !errors.Is(err, ErrNotFound) {
			return nil, 0, err
		}
		if len(ts) > 0 {
			return ts, BySRV, nil
		}
		srvFound = srvFound || found
	}
	if srvFound {
		// SRV records exist but lead nowhere: §4.2 does not fall back to
		// the domain's own address then.
		return nil, BySRV, &QueryError{Name: name, Type: "SRV", Err: detail(ErrNotFound, "no SRV target has an address")}
	}
	t := defaultTransport(secure, r)
	ts, err := r.addrs(ctx, c, name, defaultPort(t), t, 0, 0, nil)
	return ts, ByAddr, err
}

// viaNAPTR tries the usable NAPTR records by order and preference: flag
// "S", an empty regexp, a service we support, a replacement that is a name;
// the first whose SRV gives addresses wins.
func (r *Resolver) viaNAPTR(ctx context.Context, c *chain, a *answer, secure bool) ([]Target, error) {
	type cand struct {
		order, pref uint16
		t           Transport
		repl        string
	}
	var cs []cand
	for _, n := range a.naptrs {
		t := naptrTransport(n.services)
		if t == 0 || !strings.EqualFold(n.flags, "s") || n.regexp != "" || n.replace == "." ||
			(secure && t != TLS) || !r.allowed(t) {
			continue
		}
		cs = append(cs, cand{n.order, n.pref, t, n.replace})
	}
	slices.SortStableFunc(cs, func(x, y cand) int {
		return cmp.Or(cmp.Compare(x.order, y.order), cmp.Compare(x.pref, y.pref))
	})
	for i, n := range cs {
		if i == maxNAPTRTried {
			break
		}
		ts, _, err := r.srv(ctx, c, n.repl, n.t)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if len(ts) > 0 {
			return ts, nil
		}
	}
	// None led to an address: discover goes on with SRV and A/AAAA, which
	// report their own failure.
	return nil, nil
}

// naptrTransport maps a NAPTR services field to the transport it offers,
// 0 when sipfront cannot use it (SIP+D2S, WebSocket, other services).
func naptrTransport(s string) Transport {
	switch strings.ToUpper(s) {
	case "SIP+D2U":
		return UDP
	case "SIP+D2T":
		return TCP
	case "SIPS+D2T":
		return TLS
	}
	return 0
}

func srvName(t Transport, name string) string {
	switch t {
	case TCP:
		return "_sip._tcp." + name
	case TLS:
		return "_sips._tcp." + name
	}
	return "_sip._udp." + name
}

func defaultPort(t Transport) uint16 {
	if t == TLS {
		return 5061
	}
	return 5060
}

// defaultTransport is §4.1's choice for a URI without NAPTR or SRV: UDP
// for sip: (TCP when the proxy has no UDP), TLS for sips:.
func defaultTransport(secure bool, r *Resolver) Transport {
	if secure {
		return TLS
	}
	if r != nil && !r.allowed(UDP) && r.allowed(TCP) {
		return TCP
	}
	return UDP
}

// srv looks name up as SRV and follows its targets to addresses. found is
// false when there is no SRV record at all (the caller may fall back to
// A/AAAA); a lone "." target is found, with ErrNotFound: the service is
// decidedly not offered (RFC 2782). A target without address is skipped.
func (r *Resolver) srv(ctx context.Context, c *chain, name string, t Transport) ([]Target, bool, error) {
	if checkName(strings.TrimSuffix(name, ".")) != nil {
		return nil, false, &QueryError{Name: name, Type: "SRV", Err: ErrBadName}
	}
	a, err := r.ask(ctx, name, dnsmessage.TypeSRV)
	if err != nil {
		return nil, false, err
	}
	c.add(&a)
	if len(a.srvs) == 0 {
		return nil, false, nil
	}
	if len(a.srvs) == 1 && a.srvs[0].target == "." {
		return nil, true, &QueryError{Name: name, Type: "SRV", Err: detail(ErrNotFound, "service not offered (target \".\")")}
	}
	recs := slices.Clone(a.srvs)
	slices.SortStableFunc(recs, func(x, y srvRR) int {
		return cmp.Or(cmp.Compare(x.prio, y.prio), cmp.Compare(y.weight, x.weight))
	})
	var out []Target
	for i, s := range recs {
		if i == maxSRVTargets || len(out) >= maxTargets {
			break
		}
		if s.target == "." || checkName(strings.TrimSuffix(s.target, ".")) != nil {
			continue
		}
		ts, err := r.addrs(ctx, c, s.target, s.port, t, s.prio, s.weight, out)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return nil, true, err
		}
		out = ts
	}
	if len(out) == 0 {
		return nil, true, &QueryError{Name: name, Type: "SRV", Err: detail(ErrNotFound, "no SRV target has an address")}
	}
	return out, true, nil
}

// addrs appends the A then AAAA addresses of name to out as targets, minus
// duplicates. ErrNotFound when the name has neither; a failure of either
// query fails the whole (half an answer would drop live targets).
func (r *Resolver) addrs(ctx context.Context, c *chain, name string, port uint16, t Transport, prio, weight uint16, out []Target) ([]Target, error) {
	a4, err := r.ask(ctx, name, dnsmessage.TypeA)
	if err != nil {
		return out, err
	}
	c.add(&a4)
	var a6 answer
	if a4.rcode != dnsmessage.RCodeNameError {
		if a6, err = r.ask(ctx, name, dnsmessage.TypeAAAA); err != nil {
			return out, err
		}
		c.add(&a6)
	}
	n := len(out)
	host := strings.TrimSuffix(name, ".")
	for _, ip := range slices.Concat(a4.addrs, a6.addrs) {
		if len(out) == maxTargets {
			break
		}
		tg := Target{Addr: netip.AddrPortFrom(ip.Unmap(), port), Transport: t, Priority: prio, Weight: weight, Name: host}
		if slices.ContainsFunc(out, func(o Target) bool { return o.Addr == tg.Addr && o.Transport == tg.Transport }) {
			continue
		}
		out = append(out, tg)
	}
	if len(out) == n {
		return out, &QueryError{Name: name, Type: "A/AAAA", Err: ErrNotFound}
	}
	return out, nil
}

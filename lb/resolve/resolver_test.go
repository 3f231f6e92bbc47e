package resolve

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/lb/resolve/dnstest"
)

// newTestResolver points a Resolver at srv with short timeouts, so that the
// failure cases stay fast.
func newTestResolver(t testing.TB, cfg Config, srvs ...*dnstest.Server) *Resolver {
	t.Helper()
	for _, s := range srvs {
		cfg.Servers = append(cfg.Servers, s.Addr)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	if cfg.Attempts == 0 {
		cfg.Attempts = 1
	}
	if cfg.Ndots == 0 {
		cfg.Ndots = 1
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// zone is a small SIP deployment: NAPTR → SRV → A/AAAA for example.com,
// and names that exercise each branch of RFC 3263.
func zone() []dnstest.RR {
	return []dnstest.RR{
		// example.com: TCP preferred by NAPTR order, UDP second.
		dnstest.NAPTR("example.com", 3600, 10, 10, "S", "SIP+D2T", "", "_sip._tcp.example.com"),
		dnstest.NAPTR("example.com", 3600, 20, 10, "S", "SIP+D2U", "", "_sip._udp.example.com"),
		dnstest.SRV("_sip._tcp.example.com", 600, 10, 60, 5060, "pbx1.example.com"),
		dnstest.SRV("_sip._tcp.example.com", 600, 10, 20, 5062, "pbx2.example.com"),
		dnstest.SRV("_sip._tcp.example.com", 600, 20, 0, 5070, "pbx3.example.com"),
		dnstest.SRV("_sip._udp.example.com", 600, 10, 0, 5060, "pbx1.example.com"),
		dnstest.A("example.com", 300, "10.0.0.100"),
		dnstest.A("pbx1.example.com", 120, "10.0.0.1"),
		dnstest.A("pbx2.example.com", 300, "10.0.0.2"),
		dnstest.AAAA("pbx2.example.com", 90, "2001:db8::2"),
		dnstest.A("pbx3.example.com", 300, "10.0.0.3"),

		// srv.test: no NAPTR, SRV for UDP.
		dnstest.SRV("_sip._udp.srv.test", 60, 0, 0, 5080, "pbx1.example.com"),
		dnstest.SRV("_sips._tcp.srv.test", 60, 0, 0, 5081, "pbx2.example.com"),
		dnstest.A("srv.test", 60, "10.0.1.1"),

		// plain.test: A and AAAA only.
		dnstest.A("plain.test", 30, "10.0.2.1"),
		dnstest.A("plain.test", 30, "10.0.2.2"),
		dnstest.AAAA("plain.test", 40, "2001:db8::21"),

		// v6.test: AAAA only.
		dnstest.AAAA("v6.test", 50, "2001:db8::6"),

		// alias.test: a CNAME to pbx1.
		dnstest.CNAME("alias.test", 20, "pbx1.example.com"),

		// noservice.test: SRV "." says no SIP here; its A must not be used.
		dnstest.SRV("_sip._udp.noservice.test", 60, 0, 0, 0, "."),
		dnstest.A("noservice.test", 60, "10.0.3.1"),

		// oddnaptr.test: NAPTRs sipfront cannot use, then SRV.
		dnstest.NAPTR("oddnaptr.test", 60, 10, 10, "S", "SIP+D2S", "", "_sip._sctp.oddnaptr.test"),
		dnstest.NAPTR("oddnaptr.test", 60, 10, 20, "U", "SIP+D2U", "!^.*$!sip:x@y!", "."),
		dnstest.NAPTR("oddnaptr.test", 60, 10, 30, "S", "E2U+sip", "", "_sip._udp.oddnaptr.test"),
		dnstest.SRV("_sip._udp.oddnaptr.test", 60, 0, 0, 5090, "pbx3.example.com"),

		// deadsrv.test: SRV to a name without address: no fallback to A.
		dnstest.SRV("_sip._udp.deadsrv.test", 60, 0, 0, 5060, "gone.test"),
		dnstest.A("deadsrv.test", 60, "10.0.4.1"),
	}
}

func tg(addr string, tr Transport, prio, weight uint16, name string) Target {
	return Target{Addr: netip.MustParseAddrPort(addr), Transport: tr, Priority: prio, Weight: weight, Name: name}
}

func TestLookup(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(zone()...)
	r := newTestResolver(t, Config{}, srv)
	for _, tc := range []struct {
		name    string
		q       Query
		method  Method
		targets []Target
		ttl     time.Duration
		asked   []string // the questions, in order
	}{
		{
			name:   "NAPTR to SRV to A and AAAA",
			q:      Query{Host: "example.com"},
			method: ByNAPTR,
			targets: []Target{
				tg("10.0.0.1:5060", TCP, 10, 60, "pbx1.example.com"),
				tg("10.0.0.2:5062", TCP, 10, 20, "pbx2.example.com"),
				tg("[2001:db8::2]:5062", TCP, 10, 20, "pbx2.example.com"),
				tg("10.0.0.3:5070", TCP, 20, 0, "pbx3.example.com"),
			},
			ttl: 90 * time.Second, // pbx2's AAAA
			asked: []string{"NAPTR example.com.", "SRV _sip._tcp.example.com.",
				"A pbx1.example.com.", "AAAA pbx1.example.com.", "A pbx2.example.com.", "AAAA pbx2.example.com.",
				"A pbx3.example.com.", "AAAA pbx3.example.com."},
		},
		{
			name:    "NAPTR filtered to UDP by the proxy's transports",
			q:       Query{Host: "example.com"},
			method:  ByNAPTR,
			targets: []Target{tg("10.0.0.1:5060", UDP, 10, 0, "pbx1.example.com")},
			ttl:     120 * time.Second,
		},
		{
			name:    "SRV without NAPTR, UDP first",
			q:       Query{Host: "srv.test"},
			method:  BySRV,
			targets: []Target{tg("10.0.0.1:5080", UDP, 0, 0, "pbx1.example.com")},
			ttl:     60 * time.Second,
			asked:   []string{"NAPTR srv.test.", "SRV _sip._udp.srv.test.", "A pbx1.example.com.", "AAAA pbx1.example.com."},
		},
		{
			name:   "sips: only TLS",
			q:      Query{Host: "srv.test", Secure: true},
			method: BySRV,
			targets: []Target{tg("10.0.0.2:5081", TLS, 0, 0, "pbx2.example.com"),
				tg("[2001:db8::2]:5081", TLS, 0, 0, "pbx2.example.com")},
			ttl:   60 * time.Second,
			asked: []string{"NAPTR srv.test.", "SRV _sips._tcp.srv.test.", "A pbx2.example.com.", "AAAA pbx2.example.com."},
		},
		{
			name:    "explicit port: A and AAAA only",
			q:       Query{Host: "example.com", Port: 5080},
			method:  ByAddr,
			targets: []Target{tg("10.0.0.100:5080", UDP, 0, 0, "example.com")},
			ttl:     300 * time.Second,
			asked:   []string{"A example.com.", "AAAA example.com."},
		},
		{
			name:    "explicit transport: SRV for it",
			q:       Query{Host: "example.com", Transport: UDP},
			method:  BySRV,
			targets: []Target{tg("10.0.0.1:5060", UDP, 10, 0, "pbx1.example.com")},
			ttl:     120 * time.Second,
			asked:   []string{"SRV _sip._udp.example.com.", "A pbx1.example.com.", "AAAA pbx1.example.com."},
		},
		{
			name:    "explicit transport without SRV: A on the default port",
			q:       Query{Host: "plain.test", Transport: TLS},
			method:  ByAddr,
			targets: []Target{tg("10.0.2.1:5061", TLS, 0, 0, "plain.test"), tg("10.0.2.2:5061", TLS, 0, 0, "plain.test"), tg("[2001:db8::21]:5061", TLS, 0, 0, "plain.test")},
			ttl:     30 * time.Second,
			asked:   []string{"SRV _sips._tcp.plain.test.", "A plain.test.", "AAAA plain.test."},
		},
		{
			name:    "neither NAPTR nor SRV: A and AAAA on 5060",
			q:       Query{Host: "plain.test."},
			method:  ByAddr,
			targets: []Target{tg("10.0.2.1:5060", UDP, 0, 0, "plain.test"), tg("10.0.2.2:5060", UDP, 0, 0, "plain.test"), tg("[2001:db8::21]:5060", UDP, 0, 0, "plain.test")},
			ttl:     30 * time.Second,
			asked: []string{"NAPTR plain.test.", "SRV _sip._udp.plain.test.", "SRV _sip._tcp.plain.test.", "SRV _sips._tcp.plain.test.",
				"A plain.test.", "AAAA plain.test."},
		},
		{
			name:    "IPv6 only",
			q:       Query{Host: "v6.test", Port: 5060},
			method:  ByAddr,
			targets: []Target{tg("[2001:db8::6]:5060", UDP, 0, 0, "v6.test")},
			ttl:     50 * time.Second,
		},
		{
			name:    "CNAME followed, its TTL counts",
			q:       Query{Host: "alias.test", Port: 5060},
			method:  ByAddr,
			targets: []Target{tg("10.0.0.1:5060", UDP, 0, 0, "alias.test")},
			ttl:     20 * time.Second,
		},
		{
			name:    "NAPTRs of other services, flags or with a regexp are skipped",
			q:       Query{Host: "oddnaptr.test"},
			method:  BySRV,
			targets: []Target{tg("10.0.0.3:5090", UDP, 0, 0, "pbx3.example.com")},
			ttl:     60 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := r
			if strings.Contains(tc.name, "filtered") {
				rr = newTestResolver(t, Config{Transports: []Transport{UDP}}, srv)
			}
			srv.ResetQueries()
			res, err := rr.Lookup(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if res.Method != tc.method {
				t.Errorf("method %v, want %v", res.Method, tc.method)
			}
			if !slices.Equal(res.Targets, tc.targets) {
				t.Errorf("targets\n got %v\nwant %v", res.Targets, tc.targets)
			}
			if res.TTL != tc.ttl {
				t.Errorf("TTL %v, want %v", res.TTL, tc.ttl)
			}
			if tc.asked != nil {
				var got []string
				for _, q := range srv.Queries() {
					got = append(got, strings.TrimPrefix(q, "udp "))
				}
				if !slices.Equal(got, tc.asked) {
					t.Errorf("asked\n %q\nwant\n %q", got, tc.asked)
				}
			}
		})
	}
}

func TestLookupNotFound(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(zone()...)
	r := newTestResolver(t, Config{}, srv)
	for _, tc := range []struct {
		name  string
		q     Query
		never string // a question that must not be asked
	}{
		{"NXDOMAIN", Query{Host: "nosuch.test"}, ""},
		{"NXDOMAIN with port", Query{Host: "nosuch.test", Port: 5060}, "AAAA nosuch.test."},
		{"SRV target . means no service", Query{Host: "noservice.test", Transport: UDP}, "A noservice.test."},
		{"SRV target without address: no fallback to the domain's A", Query{Host: "deadsrv.test"}, "A deadsrv.test."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetQueries()
			res, err := r.Lookup(context.Background(), tc.q)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("got %v, %v; want ErrNotFound", res, err)
			}
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Name == "" {
				t.Errorf("error %v is not a *QueryError with a name", err)
			}
			if tc.never != "" && slices.Contains(srv.Queries(), "udp "+tc.never) {
				t.Errorf("asked %q: %q", tc.never, srv.Queries())
			}
		})
	}
}

// TestNegativeTTL: the NXDOMAIN of the NAPTR and SRV questions bounds the
// TTL, so a record added later is found when it expires.
func TestNegativeTTL(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(dnstest.A("plain.test", 3600, "10.0.2.1"))
	srv.SetNegTTL(45)
	r := newTestResolver(t, Config{}, srv)
	res, err := r.Lookup(context.Background(), Query{Host: "plain.test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.TTL != 45*time.Second {
		t.Errorf("TTL %v, want the negative TTL 45s", res.TTL)
	}
}

// TestTruncatedRetriesOverTCP: a truncated UDP reply sends the same
// question over TCP to the same server.
func TestTruncatedRetriesOverTCP(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(zone()...)
	srv.SetTruncate(true)
	r := newTestResolver(t, Config{}, srv)
	res, err := r.Lookup(context.Background(), Query{Host: "pbx2.example.com", Port: 5060})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Targets) != 2 {
		t.Errorf("targets %v, want pbx2's two addresses", res.Targets)
	}
	want := []string{"udp A pbx2.example.com.", "tcp A pbx2.example.com.", "udp AAAA pbx2.example.com.", "tcp AAAA pbx2.example.com."}
	if got := srv.Queries(); !slices.Equal(got, want) {
		t.Errorf("asked %q, want %q", got, want)
	}
}

// TestForgedReplyIgnored: a reply with another ID arriving first is dropped
// and the real one is read.
func TestForgedReplyIgnored(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(zone()...)
	srv.SetSpoof(true)
	r := newTestResolver(t, Config{}, srv)
	addrs, _, err := r.LookupHost(context.Background(), "pbx1.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Addr{netip.MustParseAddr("10.0.0.1")}; !slices.Equal(addrs, want) {
		t.Errorf("got %v, want %v", addrs, want)
	}
}

func TestServerFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode dnstest.Mode
		want error
	}{
		{"silent", dnstest.Silent, ErrTimeout},
		{"SERVFAIL", dnstest.ServFail, ErrServer},
		{"REFUSED", dnstest.Refused, ErrServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dnstest.Start(t)
			srv.Set(zone()...)
			srv.SetMode(tc.mode)
			r := newTestResolver(t, Config{Timeout: 100 * time.Millisecond, Attempts: 2}, srv)
			start := time.Now()
			_, err := r.Lookup(context.Background(), Query{Host: "example.com", Port: 5060})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("took %v", el)
			}
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Server != srv.Addr {
				t.Errorf("error %v does not name the server %v", err, srv.Addr)
			}
		})
	}
	t.Run("closed server is unreachable", func(t *testing.T) {
		srv := dnstest.Start(t)
		r := newTestResolver(t, Config{Timeout: time.Second}, srv)
		srv.Close()
		start := time.Now()
		_, err := r.Lookup(context.Background(), Query{Host: "example.com", Port: 5060})
		if !errors.Is(err, ErrServer) && !errors.Is(err, ErrTimeout) {
			t.Fatalf("got %v, want ErrServer", err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("took %v", el)
		}
	})
	t.Run("NAPTR refused counts as none", func(t *testing.T) {
		// A forwarder that refuses NAPTR but answers the rest is common;
		// here every type is refused, so the error comes from A.
		srv := dnstest.Start(t)
		srv.Set(zone()...)
		srv.SetMode(dnstest.ServFail)
		r := newTestResolver(t, Config{}, srv)
		_, err := r.Lookup(context.Background(), Query{Host: "plain.test"})
		if !errors.Is(err, ErrServer) {
			t.Fatalf("got %v, want ErrServer", err)
		}
		if q := srv.Queries(); len(q) < 2 || !strings.HasPrefix(q[len(q)-1], "udp A") {
			t.Errorf("asked %q, want the chain to reach A", q)
		}
	})
	t.Run("FORMERR to EDNS0: retry without it", func(t *testing.T) {
		srv := dnstest.Start(t)
		srv.Set(zone()...)
		srv.SetMode(dnstest.NoEDNS)
		r := newTestResolver(t, Config{}, srv)
		if _, _, err := r.LookupHost(context.Background(), "pbx1.example.com"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("second server answers when the first is silent", func(t *testing.T) {
		dead, live := dnstest.Start(t), dnstest.Start(t)
		dead.SetMode(dnstest.Silent)
		live.Set(zone()...)
		r := newTestResolver(t, Config{Timeout: 100 * time.Millisecond}, dead, live)
		if _, _, err := r.LookupHost(context.Background(), "pbx1.example.com"); err != nil {
			t.Fatal(err)
		}
		if len(dead.Queries()) == 0 {
			t.Error("the first server was not asked")
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		srv := dnstest.Start(t)
		srv.SetMode(dnstest.Silent)
		r := newTestResolver(t, Config{Timeout: 10 * time.Second, Attempts: 5}, srv)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.Lookup(ctx, Query{Host: "example.com"})
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("got %v, want ErrTimeout", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("took %v after the context ended", el)
		}
	})
}

func TestSearchList(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(dnstest.A("pbx.corp.test", 60, "10.0.5.1"))
	r := newTestResolver(t, Config{Search: []string{"other.test.", "corp.test."}, Ndots: 1}, srv)
	res, err := r.Lookup(context.Background(), Query{Host: "pbx", Port: 5060})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "pbx.corp.test." || len(res.Targets) != 1 {
		t.Errorf("got %+v", res)
	}
	want := []string{"udp A pbx.other.test.", "udp A pbx.corp.test.", "udp AAAA pbx.corp.test."}
	if got := srv.Queries(); !slices.Equal(got, want) {
		t.Errorf("asked %q, want %q", got, want)
	}
}

func TestCandidates(t *testing.T) {
	r := &Resolver{cfg: Config{Search: []string{"a.test.", "b.test."}, Ndots: 2}}
	for _, tc := range []struct {
		host string
		want []string
	}{
		{"x.", []string{"x."}},
		{"pbx", []string{"pbx.a.test.", "pbx.b.test.", "pbx."}},
		{"pbx.dc1", []string{"pbx.dc1.a.test.", "pbx.dc1.b.test.", "pbx.dc1."}},
		{"pbx.dc1.corp", []string{"pbx.dc1.corp.", "pbx.dc1.corp.a.test.", "pbx.dc1.corp.b.test."}},
	} {
		t.Run(tc.host, func(t *testing.T) {
			if got := r.candidates(tc.host); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBadNames(t *testing.T) {
	r := &Resolver{cfg: Config{Servers: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1")}, Attempts: 1, Timeout: time.Second}}
	for _, h := range []string{"", ".", "10.0.0.1", "::1", "a..b", "bad host", "x" + strings.Repeat(".abcdefgh", 30),
		strings.Repeat("a", 64) + ".test", "caf\xc3\xa9.test", "a/b.test"} {
		t.Run(h, func(t *testing.T) {
			_, err := r.Lookup(context.Background(), Query{Host: h})
			if !errors.Is(err, ErrBadName) {
				t.Errorf("got %v, want ErrBadName", err)
			}
		})
	}
}

func TestNewNeedsServer(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNoServer) {
		t.Errorf("got %v, want ErrNoServer", err)
	}
}

func TestQueryErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		err  *QueryError
		want string
	}{
		{&QueryError{Name: "_sip._udp.pbx.test.", Type: "SRV", Server: netip.MustParseAddrPort("127.0.0.1:53"), Err: detail(ErrTimeout, "timeout")},
			"resolve: SRV _sip._udp.pbx.test. @127.0.0.1:53: timeout"},
		{&QueryError{Name: "pbx.test.", Type: "A/AAAA", Err: ErrNotFound}, "resolve: A/AAAA pbx.test.: no address for name"},
		{&QueryError{Type: "host", Err: ErrBadName}, "resolve: host: bad host name"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q", got)
			}
			if !errors.Is(tc.err, errors.Unwrap(tc.err)) || errors.Unwrap(tc.err) == nil {
				t.Error("does not unwrap")
			}
		})
	}
}

package lb

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/health"
)

// Listen is one address sipfront receives SIP on.
type Listen struct {
	Transport string // "udp", "tcp" or "tls"
	Addr      netip.AddrPort
}

func (l Listen) String() string { return l.Transport + ":" + l.Addr.String() }

// ParseListen reads "udp:127.0.0.1:5060", "tcp:[::1]:5060", "tls:0.0.0.0:5061".
// A missing transport means udp; a missing port means 5060 (5061 for tls).
func ParseListen(s string) (Listen, error) {
	tr, addr, ok := strings.Cut(s, ":")
	if !ok || (tr != "udp" && tr != "tcp" && tr != "tls") {
		tr, addr = "udp", s
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		ip, err2 := netip.ParseAddr(strings.Trim(addr, "[]"))
		if err2 != nil {
			return Listen{}, fmt.Errorf("listen %q: want TRANSPORT:IP:PORT (IPv6 in brackets): %v", s, err)
		}
		port := uint16(5060)
		if tr == "tls" {
			port = 5061
		}
		ap = netip.AddrPortFrom(ip, port)
	}
	return Listen{Transport: tr, Addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}, nil
}

// Config is everything the engine needs. cmd/sipfront fills it from flags and
// the config file; tests fill it directly.
type Config struct {
	// Listen are the sockets to receive on (at least one).
	Listen []Listen
	// Advertise, when valid, is the address written in our Via, Record-Route
	// and Path instead of the listen address (a wildcard listen, or NAT in
	// front of sipfront). It is also recognised as ours.
	Advertise netip.AddrPort
	// DispatcherList is the path of the Kamailio-format list file.
	DispatcherList string
	// Strict refuses a list file with any skipped line.
	Strict bool
	// Set is the destination set initial requests go to.
	Set int
	// Alg selects within the set.
	Alg dispatcher.Alg
	// Workers is the number of receive workers per UDP listen address
	// (default GOMAXPROCS): each has its own SO_REUSEPORT socket.
	Workers int
	// Batch is how many datagrams one recvmmsg/sendmmsg moves (default 32).
	Batch int
	// SpreadRequests hands UDP requests to the workers at random instead
	// of by the kernel's hash of the sender's address and port, so one busy
	// peer (a carrier's SBC sending every call from one socket) uses every
	// core, as Kamailio's children sharing one socket do. Responses keep the
	// hash, so back-to-back responses of a back end stay in order. The
	// price: two requests of one peer sent back to back may cross (two
	// in-dialog INFOs, say), as with Kamailio. Off by default: order first.
	SpreadRequests bool
	// CookieKey keys the Record-Route cookie and the Via branch MAC. Copies
	// of sipfront sharing a key route each other's dialogs; a restart with
	// the same key keeps dialogs routable. Empty: a random key per process.
	CookieKey string
	// RecordRoute adds Record-Route to dialog-creating requests (default on;
	// turning it off means in-dialog requests bypass sipfront).
	NoRecordRoute bool
	// Logger receives operational logs (never one per message).
	Logger *slog.Logger
	// Resolve looks up destination host names at load (nil: IP literals
	// only). DNS, when set, does the whole RFC 3263 lookup with TTLs instead,
	// and the names are refreshed by TTL while the engine runs.
	Resolve func(host string) ([]netip.Addr, error)
	DNS     dispatcher.DNSFunc

	// Stream transports (TCP and TLS).
	Streams StreamConfig

	// Health configures the OPTIONS prober and passive detection (zero
	// value: Kamailio-like defaults). NoProbe turns probing off: destinations
	// then change state only by the operator's word and passive 503s.
	Health  health.Config
	NoProbe bool

	// Filter is the flood filter (off by default).
	Filter FilterConfig
}

// StreamConfig holds the TCP/TLS settings and the limits that protect the
// process from connection floods and slow senders.
type StreamConfig struct {
	// TLSCert and TLSKey are PEM files for the TLS listeners; they are read
	// again on SIGHUP (Engine.ReloadTLS). TLS, when set, is used instead
	// (tests, the demo's in-memory certificate).
	TLSCert, TLSKey string
	TLS             *tls.Config
	// TLSClientCA, when set, asks TLS clients for a certificate signed by
	// these CAs; TLSRequireClientCert refuses clients without one.
	TLSClientCA          string
	TLSRequireClientCert bool
	// TLSBackendCA verifies back ends reached over TLS (default: the system
	// roots); TLSBackendInsecure skips that verification.
	TLSBackendCA       string
	TLSBackendInsecure bool

	MaxConns         int           // in total (default 10000)
	MaxConnsPerIP    int           // per remote address (default 200)
	IdleTimeout      time.Duration // a connection with no traffic is closed (default 300 s)
	HandshakeTimeout time.Duration // TLS handshake (default 5 s)
	MessageTimeout   time.Duration // a message started must be complete within this (default 10 s)
	DialTimeout      time.Duration // connecting to a back end (default 2 s)
	WriteTimeout     time.Duration // one write to a connection (default 2 s)
}

func (s StreamConfig) withDefaults() StreamConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if s.MaxConns <= 0 {
		s.MaxConns = 10000
	}
	if s.MaxConnsPerIP <= 0 {
		s.MaxConnsPerIP = 200
	}
	def(&s.IdleTimeout, 300*time.Second)
	def(&s.HandshakeTimeout, 5*time.Second)
	def(&s.MessageTimeout, 10*time.Second)
	def(&s.DialTimeout, 2*time.Second)
	def(&s.WriteTimeout, 2*time.Second)
	return s
}

// withDefaults returns c with zero fields filled in.
func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.Set == 0 {
		c.Set = 1
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Streams = c.Streams.withDefaults()
	return c
}

// Validate checks the configuration before anything is opened.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Listen) == 0 {
		errs = append(errs, errors.New("no listen address (-listen udp:IP:PORT)"))
	}
	for _, l := range c.Listen {
		switch l.Transport {
		case "udp", "tcp":
		case "tls":
			if c.Streams.TLS == nil && (c.Streams.TLSCert == "" || c.Streams.TLSKey == "") {
				errs = append(errs, fmt.Errorf("listen %s: a TLS listener needs -tls-cert and -tls-key", l))
			}
		default:
			errs = append(errs, fmt.Errorf("listen %s: unknown transport", l))
		}
		if !l.Addr.Addr().IsValid() {
			errs = append(errs, fmt.Errorf("listen %s: invalid address", l))
		}
	}
	if c.DispatcherList == "" {
		errs = append(errs, errors.New("no destination list (-dispatcher-list FILE)"))
	}
	if c.Batch > 1024 {
		errs = append(errs, fmt.Errorf("batch %d exceeds 1024", c.Batch))
	}
	switch {
	case c.Alg == dispatcher.CallLoad:
		errs = append(errs, fmt.Errorf("-alg %v: call-load needs the stateful mode, which sipfront does not have yet", c.Alg))
	case c.Alg == dispatcher.Latency && c.NoProbe:
		errs = append(errs, fmt.Errorf("-alg %v: latency needs the prober, which is turned off", c.Alg))
	}
	if !c.NoProbe {
		if err := c.Health.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

package lb

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"

	"github.com/sipfront/sipfront/dispatcher"
)

// Listen is one address sipfront receives SIP on.
type Listen struct {
	Transport string // "udp" (tcp and tls come with the transport issue)
	Addr      netip.AddrPort
}

func (l Listen) String() string { return l.Transport + ":" + l.Addr.String() }

// ParseListen reads "udp:127.0.0.1:5060", "udp:[::1]:5060" or "udp:0.0.0.0:5060".
// A missing transport means udp; a missing port means 5060.
func ParseListen(s string) (Listen, error) {
	tr, addr, ok := strings.Cut(s, ":")
	if !ok || (tr != "udp" && tr != "tcp" && tr != "tls") {
		tr, addr = "udp", s
	}
	if tr != "udp" {
		return Listen{}, fmt.Errorf("listen %q: transport %s is not supported yet (udp only)", s, tr)
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		ip, err2 := netip.ParseAddr(strings.Trim(addr, "[]"))
		if err2 != nil {
			return Listen{}, fmt.Errorf("listen %q: want TRANSPORT:IP:PORT (IPv6 in brackets): %v", s, err)
		}
		ap = netip.AddrPortFrom(ip, 5060)
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
	// CookieKey keys the Record-Route cookie and the Via branch MAC. Copies
	// of sipfront sharing a key route each other's dialogs; a restart with
	// the same key keeps dialogs routable. Empty: a random key per process.
	CookieKey string
	// RecordRoute adds Record-Route to dialog-creating requests (default on;
	// turning it off means in-dialog requests bypass sipfront).
	NoRecordRoute bool
	// Logger receives operational logs (never one per message).
	Logger *slog.Logger
	// Resolve looks up destination host names at load (nil: IP literals only).
	Resolve func(host string) ([]netip.Addr, error)
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
	return c
}

// Validate checks the configuration before anything is opened.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Listen) == 0 {
		errs = append(errs, errors.New("no listen address (-listen udp:IP:PORT)"))
	}
	for _, l := range c.Listen {
		if l.Transport != "udp" {
			errs = append(errs, fmt.Errorf("listen %s: only udp is supported", l))
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
	switch c.Alg {
	case dispatcher.CallLoad, dispatcher.Latency:
		errs = append(errs, fmt.Errorf("algorithm %v is not available in stateless mode yet", c.Alg))
	}
	return errors.Join(errs...)
}

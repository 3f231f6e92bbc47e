package resolve

import (
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is where and how to ask. The zero value is not usable (no server);
// ReadResolvConf gives the system's.
type Config struct {
	// Servers are the recursive name servers, asked in order (each attempt
	// walks all of them).
	Servers []netip.AddrPort
	// Search are the suffixes tried for a name with fewer than Ndots dots,
	// each with its trailing dot ("example.com.").
	Search []string
	// Ndots: a name with at least this many dots is tried as it is first.
	Ndots int
	// Timeout bounds one try of one server. 0 means 2 s.
	Timeout time.Duration
	// Attempts is how many rounds over the servers a query makes. 0 means 2.
	Attempts int
	// Rotate starts each query at the next server instead of the first.
	Rotate bool
	// TCP sends every query over TCP (resolv.conf "use-vc").
	TCP bool
	// Transports limits what NAPTR and SRV discovery may choose, for a
	// proxy that cannot send over all three. Nil means UDP, TCP and TLS. A
	// URI's own transport parameter is always honoured.
	Transports []Transport
	// UDPSize is the EDNS0 payload size advertised. 0 means 1232 (the DNS
	// flag day 2020 value, which avoids IP fragmentation).
	UDPSize int
	// HostsFile is read before DNS is asked (see hosts.go); "" means none.
	// ReadResolvConf sets it to /etc/hosts.
	HostsFile string
}

// Limits from glibc's resolver (resolv.h), which resolv.conf files are
// written for: MAXNS, MAXDNSRCH, RES_MAXNDOTS, RES_MAXRETRANS (s), RES_MAXRETRY.
const (
	maxServers  = 3
	maxSearch   = 6
	maxNdots    = 15
	maxTimeout  = 30
	maxAttempts = 5

	maxConfSize = 64 << 10 // a resolv.conf larger than this is not one
)

// DefaultConfig is what a host without resolv.conf gets, as in glibc: a name
// server on the local host, ndots 1, 5 s timeout, 2 attempts.
func DefaultConfig() Config {
	return Config{
		Servers:  []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53"), netip.MustParseAddrPort("[::1]:53")},
		Ndots:    1,
		Timeout:  5 * time.Second,
		Attempts: 2,
	}
}

// SystemHosts is the hosts file ReadResolvConf puts in the Config.
const SystemHosts = "/etc/hosts"

// ReadResolvConf reads a resolv.conf file (usually /etc/resolv.conf), and
// sets HostsFile to SystemHosts. When the file cannot be read, the error
// says why and the Config is DefaultConfig's, so a caller may go on as glibc
// would.
func ReadResolvConf(path string) (Config, error) {
	c, err := readResolvConf(path)
	c.HostsFile = SystemHosts
	return c, err
}

func readResolvConf(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return DefaultConfig(), err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfSize))
	if err != nil {
		return DefaultConfig(), err
	}
	return ParseResolvConf(b), nil
}

// ParseResolvConf reads resolv.conf text as glibc does, within glibc's
// limits: "nameserver ADDR" (up to three; an IPv6 address may carry a zone),
// "domain NAME", "search NAME..." (the last of the two wins, up to six
// names), "options" ndots:N, timeout:N, attempts:N, rotate, use-vc (or tcp).
// Comments start with '#' or ';' at the start of a line or of a word. What it
// does not know it ignores; a value out of range is clamped, a malformed one
// ignored. Without a nameserver line the servers are DefaultConfig's. It
// never fails.
func ParseResolvConf(b []byte) Config {
	c := DefaultConfig()
	c.Servers = nil
	for line := range strings.SplitSeq(string(b), "\n") {
		f := fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 || len(c.Servers) >= maxServers {
				continue
			}
			ip, err := netip.ParseAddr(f[1])
			if err != nil {
				continue
			}
			c.Servers = append(c.Servers, netip.AddrPortFrom(ip.Unmap(), 53))
		case "domain", "search":
			c.Search = c.Search[:0:0]
			names := f[1:]
			if f[0] == "domain" && len(names) > 1 {
				names = names[:1]
			}
			for _, n := range names {
				if len(c.Search) == maxSearch {
					break
				}
				if n == "." || n == "" {
					continue // the root: a name as it is, tried anyway
				}
				if checkName(strings.TrimSuffix(n, ".")) != nil {
					continue
				}
				c.Search = append(c.Search, fqdn(n))
			}
		case "options":
			for _, o := range f[1:] {
				name, val, hasVal := strings.Cut(o, ":")
				switch {
				case hasVal && name == "ndots":
					if n, ok := optInt(val); ok {
						c.Ndots = min(n, maxNdots)
					}
				case hasVal && name == "timeout":
					if n, ok := optInt(val); ok {
						c.Timeout = time.Duration(min(max(n, 1), maxTimeout)) * time.Second
					}
				case hasVal && name == "attempts":
					if n, ok := optInt(val); ok {
						c.Attempts = min(max(n, 1), maxAttempts)
					}
				case o == "rotate":
					c.Rotate = true
				case o == "use-vc" || o == "usevc" || o == "tcp":
					c.TCP = true
				}
			}
		}
	}
	if len(c.Servers) == 0 {
		c.Servers = DefaultConfig().Servers
	}
	return c
}

// fields splits a line into words, stopping at a word that starts a
// comment.
func fields(line string) []string {
	f := strings.Fields(line)
	for i, w := range f {
		if w[0] == '#' || w[0] == ';' {
			return f[:i]
		}
	}
	return f
}

// optInt reads a non-negative decimal option value; large values saturate
// (they are clamped by the caller anyway).
func optInt(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		if n < 1<<20 {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n, true
}

// String renders c in resolv.conf syntax, so that ParseResolvConf reads it
// back into the same Config (Transports and UDPSize are not resolv.conf
// settings and are left out). A server on a port other than 53 has no
// resolv.conf syntax; it is written as a comment.
func (c Config) String() string {
	var b strings.Builder
	for _, s := range c.Servers {
		if s.Port() != 53 {
			b.WriteString("# ")
		}
		b.WriteString("nameserver ")
		b.WriteString(s.Addr().String())
		if s.Port() != 53 {
			b.WriteString(" port ")
			b.WriteString(strconv.Itoa(int(s.Port())))
		}
		b.WriteByte('\n')
	}
	if len(c.Search) > 0 {
		b.WriteString("search")
		for _, s := range c.Search {
			b.WriteByte(' ')
			b.WriteString(s)
		}
		b.WriteByte('\n')
	}
	b.WriteString("options ndots:")
	b.WriteString(strconv.Itoa(c.Ndots))
	b.WriteString(" timeout:")
	b.WriteString(strconv.Itoa(int(c.Timeout / time.Second)))
	b.WriteString(" attempts:")
	b.WriteString(strconv.Itoa(c.Attempts))
	if c.Rotate {
		b.WriteString(" rotate")
	}
	if c.TCP {
		b.WriteString(" use-vc")
	}
	b.WriteByte('\n')
	return b.String()
}

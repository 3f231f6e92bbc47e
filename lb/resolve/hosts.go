package resolve

import (
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// The hosts file comes before DNS, as with glibc's default "hosts: files
// dns": a name listed there (localhost, a lab's back ends) is resolved from
// it alone, to A/AAAA targets on the URI's port or the default one; NAPTR
// and SRV are not asked for it. The file is read again when its
// modification time or size changes, checked at most every hostsRecheck.

const (
	hostsRecheck = 5 * time.Second
	// hostsTTL is the TTL given to answers from the hosts file: they are
	// asked for again (and the file checked) this often.
	hostsTTL = time.Minute
)

// Hosts maps lower-case names (without trailing dot) to their addresses, in
// file order.
type Hosts map[string][]netip.Addr

// ParseHosts reads hosts file text: "ADDRESS NAME [ALIAS...]" per line,
// '#' starting a comment; an address may carry an IPv6 zone. Lines with a
// bad address are skipped, names that are not DNS names too; an address is
// listed once per name.
func ParseHosts(b []byte) Hosts {
	h := Hosts{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		for _, n := range f[1:] {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			if checkName(n) != nil {
				continue
			}
			if !containsAddr(h[n], ip) {
				h[n] = append(h[n], ip)
			}
		}
	}
	return h
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// hostsFile is the cached hosts file of a Resolver.
type hostsFile struct {
	path string

	mu      sync.Mutex
	checked time.Time
	mtime   time.Time
	size    int64
	hosts   Hosts
}

// lookup returns the addresses of name (lower case, no trailing dot) in the
// file, IPv4 first; nil when it is not there or the file cannot be read.
func (f *hostsFile) lookup(name string) []netip.Addr {
	if f == nil || f.path == "" {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.hosts == nil || now.Sub(f.checked) >= hostsRecheck {
		f.checked = now
		if fi, err := os.Stat(f.path); err != nil {
			f.hosts = Hosts{}
		} else if f.hosts == nil || !fi.ModTime().Equal(f.mtime) || fi.Size() != f.size {
			f.mtime, f.size = fi.ModTime(), fi.Size()
			f.hosts = readHosts(f.path)
		}
	}
	var v4, v6 []netip.Addr
	for _, a := range f.hosts[name] {
		if a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	return append(v4, v6...)
}

func readHosts(path string) Hosts {
	fh, err := os.Open(path)
	if err != nil {
		return Hosts{}
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, 4<<20))
	if err != nil {
		return Hosts{}
	}
	return ParseHosts(b)
}

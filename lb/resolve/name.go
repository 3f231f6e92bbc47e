package resolve

import (
	"net/netip"
	"strings"
)

// Host names as sipfront asks for them: ASCII labels of letters, digits,
// '-' and '_' (SRV owner names start with '_'; internal zones use it too),
// each 1..63 bytes, 253 bytes in all without the trailing dot. Anything else
// is refused before a query is built, so that no odd byte reaches a server or
// an error message.

const (
	maxLabel = 63
	maxName  = 253
)

// checkName validates a name without its trailing dot.
func checkName(n string) error {
	if n == "" || len(n) > maxName {
		return ErrBadName
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return ErrBadName // an IP literal is not looked up
	}
	l := 0
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c == '.':
			if l == 0 {
				return ErrBadName
			}
			l = 0
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return ErrBadName
		}
		l++
		if l > maxLabel {
			return ErrBadName
		}
	}
	if l == 0 {
		return ErrBadName
	}
	return nil
}

// fqdn adds the trailing dot.
func fqdn(n string) string {
	if strings.HasSuffix(n, ".") {
		return n
	}
	return n + "."
}

// candidates are the names to try for host, as the glibc stub resolver
// orders them: a rooted name alone; a name with at least ndots dots first as
// it is, then with each search suffix; a shorter one with the suffixes first.
func (r *Resolver) candidates(host string) []string {
	if strings.HasSuffix(host, ".") {
		return []string{host}
	}
	out := make([]string, 0, len(r.cfg.Search)+1)
	asIs := strings.Count(host, ".") >= r.cfg.Ndots
	if asIs {
		out = append(out, host+".")
	}
	for _, s := range r.cfg.Search {
		if len(host)+1+len(s) <= maxName+1 {
			out = append(out, host+"."+s)
		}
	}
	if !asIs {
		out = append(out, host+".")
	}
	return out
}

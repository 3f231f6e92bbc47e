package dispatcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// The list file is read the way Kamailio 5.6's ds_load_list reads it, byte
// for byte, so that a user's existing file means the same thing here: a line
// is `setid destination [flags [priority [attrs]]]`, fields are separated by
// runs of space, tab, CR or LF, '#' starts a comment anywhere a field may
// start (but not inside the attrs field), a number field that does not start
// with a digit is read as 0 and the text becomes the next field (so
// `1 sip:h duid=a` has flags 0, priority 0, attrs duid=a). Where Kamailio
// misreads a line (hex or negative numbers, overflow, long lines, a byte
// order mark, names that are not URIs) the loader reads it better and says,
// in a Warning, what Kamailio would have done.

// Options control loading and the Dispatcher.
type Options struct {
	// Strict turns every Warning into a *ParseError: the file is refused.
	Strict bool
	// DNS resolves a destination named by host name (RFC 3263: NAPTR, SRV,
	// A/AAAA, with TTLs; cmd/sipfront passes lb/resolve). The destination
	// keeps every target found (see Dest.Target) and Dispatcher.StartDNS
	// refreshes them by TTL. A name that fails when its line is loaded
	// skips the line with a warning. It is never called for an IP literal
	// nor for a token that is not a URI.
	DNS DNSFunc
	// Resolve is the older form of DNS: A/AAAA addresses of a host, without
	// TTL (refreshed every minute by StartDNS). Used when DNS is nil.
	Resolve func(host string) ([]netip.Addr, error)
	// DNSMinTTL and DNSMaxTTL bound the time between two lookups of a name,
	// whatever its TTL says: 0 means 5 s and 1 h. DNSMinTTL is also the
	// first retry after a failure (doubling while it lasts).
	DNSMinTTL, DNSMaxTTL time.Duration
	// DNSTimeout bounds one lookup (all of its queries); 0 means 10 s.
	DNSTimeout time.Duration
	// PreferIPv6 makes a host's IPv6 address take its calls when it also
	// has IPv4 ones (by default IPv4 does, and IPv6 is the fallback).
	PreferIPv6 bool
	// Check, when set, vets every destination before it is kept (for
	// example: an IPv6 destination with no IPv6 listener, a socket= attr
	// that is not one of ours); an error skips the line with a warning.
	Check func(d *Dest) error
	// Logger receives one line per destination state change. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// MaxListSize bounds the list file, so that a wrong path (a log file, a
// device) cannot exhaust memory.
const MaxListSize = 16 << 20

// kamailioLineMax is the longest line Kamailio reads whole (fgets, 1024).
const kamailioLineMax = 1023

// LoadFile reads and loads the list file at path. The file name in errors
// and warnings is path as given.
func LoadFile(path string, opts Options) (*Table, []Warning, error) {
	data, err := readList(path)
	if err != nil {
		return nil, nil, err
	}
	return Load(path, data, opts)
}

// Load loads a list from data; name is the file name used in messages. A
// list with no destination loads as a Table with no sets (Kamailio starts,
// and answers dispatcher.list with "No Destination Sets"). The error, when
// not nil, is a *ParseError.
func Load(name string, data []byte, opts Options) (*Table, []Warning, error) {
	l := newLoader(name, &opts)
	if err := l.parse(data); err != nil {
		return nil, l.warns, err
	}
	return newTable(name, l.dests), l.warns, nil
}

func readList(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ParseError{File: path, Err: fileErr(err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxListSize+1))
	if err != nil {
		return nil, &ParseError{File: path, Err: fileErr(err)}
	}
	if len(data) > MaxListSize {
		return nil, &ParseError{File: path, Err: detail(ErrTooLarge,
			"list file larger than "+strconv.Itoa(MaxListSize>>20)+" MiB")}
	}
	return data, nil
}

func fileErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%w: %w", ErrNoFile, err)
}

type idKey struct {
	set  int
	duid string
}

type addrKey struct {
	set  int
	tr   Transport
	ap   netip.AddrPort
	name dnsKey // a destination named by host name: its query instead
}

type loader struct {
	name   string
	opts   *Options
	dests  []*Dest
	warns  []Warning
	byDUID map[idKey]int   // → line
	byAddr map[addrKey]int // → line

	// DNS entries: made by this load, failed in this load, and those of
	// the running table (set by the Dispatcher; read only).
	entries map[dnsKey]*dnsEntry
	failed  map[dnsKey]error
	reuse   map[dnsKey]*dnsEntry
}

func newLoader(name string, opts *Options) *loader {
	return &loader{name: name, opts: opts, byDUID: map[idKey]int{}, byAddr: map[addrKey]int{},
		entries: map[dnsKey]*dnsEntry{}, failed: map[dnsKey]error{}}
}

// warn records a warning, or returns it as the error in Strict mode.
func (l *loader) warn(line, col int, tok string, sentinel error, reason, kam string) error {
	w := Warning{File: l.name, Line: line, Col: col, Token: tok, Reason: reason, Kamailio: kam, Err: sentinel}
	if l.opts.Strict {
		return w.asError()
	}
	l.warns = append(l.warns, w)
	return nil
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

func (l *loader) parse(data []byte) error {
	if bytes.HasPrefix(data, utf8BOM) {
		data = data[len(utf8BOM):]
		if err := l.warn(1, 1, "\ufeff", ErrCompat, "UTF-8 byte order mark ignored",
			"reads the mark as part of line 1, which it then misreads"); err != nil {
			return err
		}
	}
	for n := 1; len(data) > 0; n++ {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if err := l.line(n, line); err != nil {
			return err
		}
	}
	return nil
}

func isWS(c byte) bool    { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) int64 {
	switch {
	case c >= 'a':
		return int64(c-'a') + 10
	case c >= 'A':
		return int64(c-'A') + 10
	}
	return int64(c - '0')
}

func skipWS(s []byte, p int) int {
	for p < len(s) && isWS(s[p]) {
		p++
	}
	return p
}

// wsToken is the text from p to the next whitespace.
func wsToken(s []byte, p int) string {
	q := p
	for q < len(s) && !isWS(s[q]) {
		q++
	}
	return string(s[p:q])
}

// decimal reads digits as a non-negative int32. When it overflows, ok is
// false and wrapped is what Kamailio's int arithmetic makes of it.
func decimal(s []byte) (v int, wrapped int32, ok bool) {
	var n int64
	var w uint32
	ok = true
	for _, c := range s {
		w = w*10 + uint32(c-'0')
		if ok {
			n = n*10 + int64(c-'0')
			if n > 1<<31-1 {
				ok = false
			}
		}
	}
	return int(n), int32(w), ok
}

func (l *loader) line(n int, s []byte) error {
	p := skipWS(s, 0)
	if p == len(s) || s[p] == '#' {
		return nil
	}
	if len(s) > kamailioLineMax {
		if err := l.warn(n, 1, "", ErrCompat, "line of "+strconv.Itoa(len(s))+" bytes read whole",
			"reads the first 1023 bytes, then the rest as another line"); err != nil {
			return err
		}
	}

	// Set id: digits.
	idStart := p
	for p < len(s) && isDigit(s[p]) {
		p++
	}
	if p == idStart {
		tok := wsToken(s, idStart)
		return l.warn(n, idStart+1, tok, ErrBadSetID, "line skipped: set id is not a number",
			"reads set id 0 and the text as the destination")
	}
	idTok := string(s[idStart:p])
	setID, wrapped, ok := decimal(s[idStart:p])
	if !ok {
		return l.warn(n, idStart+1, idTok, ErrBadSetID, "line skipped: set id out of range",
			"wraps it to set "+strconv.Itoa(int(wrapped)))
	}
	p = skipWS(s, p)
	if p == len(s) || s[p] == '#' {
		return &ParseError{File: l.name, Line: n, Col: idStart + 1, Token: idTok, Err: ErrNoDestination}
	}

	// Destination: up to whitespace or '#'.
	uStart := p
	for p < len(s) && !isWS(s[p]) && s[p] != '#' {
		p++
	}
	uriTok := string(s[uStart:p])

	var flags, prio int
	var attrs string
	hasAttrs, aCol := false, 0
	p = skipWS(s, p)
	if p < len(s) && s[p] != '#' {
		v, np, skip, err := l.number(n, s, p, "flags")
		if skip || err != nil {
			return err
		}
		flags, p = v, skipWS(s, np)
		if p < len(s) && s[p] != '#' {
			v, np, skip, err := l.number(n, s, p, "priority")
			if skip || err != nil {
				return err
			}
			prio, p = v, skipWS(s, np)
			if p < len(s) && s[p] != '#' {
				// Attrs: up to whitespace; '#' is part of it.
				aStart := p
				for p < len(s) && !isWS(s[p]) {
					p++
				}
				attrs, hasAttrs, aCol = string(s[aStart:p]), true, aStart+1
				p = skipWS(s, p)
				if p < len(s) && s[p] != '#' {
					if err := l.warn(n, p+1, wsToken(s, p), ErrExtraText,
						"text after attrs ignored, as Kamailio does (attrs cannot contain spaces)", ""); err != nil {
						return err
					}
				}
			}
		}
	}
	return l.add(n, setID, uStart+1, uriTok, flags, prio, hasAttrs, aCol, attrs)
}

// number reads the flags or priority field at s[p]. Decimal as in
// Kamailio; hex ("0x1f") read as hex where Kamailio reads 0 and takes the
// rest as attrs; negative and int32-overflowing values skip the line.
// Text that does not start with a digit is 0, and stays for the next field.
func (l *loader) number(n int, s []byte, p int, what string) (v, np int, skip bool, err error) {
	c := s[p]
	switch {
	case c == '0' && p+2 < len(s) && (s[p+1] == 'x' || s[p+1] == 'X') && isHex(s[p+2]):
		q := p + 2
		var h int64
		over := false
		for q < len(s) && isHex(s[q]) {
			h = h*16 + hexVal(s[q])
			if h > 1<<31-1 {
				over = true
				h = 0
			}
			q++
		}
		tok := string(s[p:q])
		kam := "reads " + what + " 0 and attrs " + quoteToken(wsToken(s, p+1))
		if over {
			return 0, q, true, l.warn(n, p+1, tok, ErrBadNumber, "line skipped: "+what+" out of range", kam)
		}
		return int(h), q, false, l.warn(n, p+1, tok, ErrCompat, what+" read as hex "+strconv.FormatInt(h, 10), kam)
	case c == '-' && p+1 < len(s) && isDigit(s[p+1]):
		tok := wsToken(s, p)
		return 0, p, true, l.warn(n, p+1, tok, ErrBadNumber, "line skipped: negative "+what,
			"reads "+what+" 0 and attrs "+quoteToken(tok))
	case isDigit(c):
		q := p
		for q < len(s) && isDigit(s[q]) {
			q++
		}
		v, wrapped, ok := decimal(s[p:q])
		if !ok {
			return 0, q, true, l.warn(n, p+1, string(s[p:q]), ErrBadNumber, "line skipped: "+what+" out of range",
				"wraps it to "+strconv.Itoa(int(wrapped)))
		}
		return v, q, false, nil
	}
	return 0, p, false, nil
}

// otherScheme reports a token that starts with a URI scheme other than sip
// or sips ("tel:+1555", "mailto:x@y"), telling it from host:port.
func otherScheme(tok string) (string, bool) {
	i := strings.IndexByte(tok, ':')
	if i <= 0 {
		return "", false
	}
	for j := 0; j < i; j++ {
		c := tok[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	// host:port: the scheme-like part is a host name followed by digits.
	rest := tok[i+1:]
	k := 0
	for k < len(rest) && isDigit(rest[k]) {
		k++
	}
	if k > 0 && (k == len(rest) || rest[k] == ';' || rest[k] == '?') {
		return "", false
	}
	return tok[:i+1], true
}

// add builds the destination of one line and keeps it, or skips the line
// with a warning.
func (l *loader) add(n, set, uCol int, uriTok string, flags, prio int, hasAttrs bool, aCol int, attrs string) error {
	skip := func(col int, tok string, sentinel error, reason, kam string) error {
		return l.warn(n, col, tok, sentinel, "line skipped: "+reason, kam)
	}
	uri := uriTok
	schemeless := !hasPrefixFold(uri, "sip:") && !hasPrefixFold(uri, "sips:")
	if schemeless {
		// Kamailio prepends "sip:" only to tokens of 5..499 bytes.
		if len(uri) <= 4 || len(uri) >= 500 {
			return skip(uCol, uriTok, ErrBadURI, "not a URI", "")
		}
		if sch, ok := otherScheme(uri); ok {
			return skip(uCol, uriTok, ErrBadURI, "URI scheme "+quoteToken(sch)+" not supported (sip, sips)", "")
		}
		uri = "sip:" + uri
	}
	u, reason, kam := parseURI(uri)
	if reason != "" {
		return skip(uCol, uriTok, ErrBadURI, reason, kam)
	}
	if schemeless && !u.ip.IsValid() && !u.dotted {
		return skip(uCol, uriTok, ErrBadURI, "not a URI (write sip:"+uriTok+" for a host name without dots)",
			"looks "+quoteToken(u.host)+" up in DNS")
	}
	d := &Dest{Set: set, URI: uri, Host: u.host, Transport: u.transport, Flags: flags, Priority: prio, Line: n}
	port := u.port
	if port == 0 {
		port = 5060
		if u.transport == TLS {
			port = 5061
		}
	}
	d.Port = port
	if hasAttrs {
		a, notes, reason := parseAttrs(attrs)
		if reason != "" {
			return skip(aCol, attrs, ErrBadAttrs, "attrs: "+reason, "")
		}
		for _, nt := range notes {
			if err := l.warn(n, aCol, nt.token, ErrBadAttrs, nt.reason, nt.kamailio); err != nil {
				return err
			}
		}
		d.Attrs = a
	}

	if ip := u.ip; ip.IsValid() {
		if ip.Is4In6() {
			if err := l.warn(n, uCol, uriTok, ErrCompat, "IPv4-mapped address used as "+ip.Unmap().String(),
				"treats it as IPv6 and skips it without an IPv6 listener"); err != nil {
				return err
			}
		}
		d.Addr = netip.AddrPortFrom(ip.Unmap(), port)
		if l.opts.Check != nil {
			if err := l.opts.Check(d); err != nil {
				return skip(uCol, uriTok, ErrRejected, err.Error(), "")
			}
		}
	} else {
		q := DNSQuery{Host: u.host, Port: u.port, Secure: u.secure}
		if u.tparam {
			q.Transport = u.transport
		}
		e, err := l.entry(q)
		switch {
		case errors.Is(err, errNoResolver):
			return skip(uCol, uriTok, ErrResolve, "host name "+quoteToken(u.host)+" and no resolver", "")
		case errors.Is(err, errNoAddress):
			return skip(uCol, uriTok, ErrResolve, "no address for "+quoteToken(u.host), "")
		case err != nil:
			return skip(uCol, uriTok, ErrResolve, "cannot resolve "+quoteToken(u.host)+": "+err.Error(), "")
		}
		if err := d.setTargets(e, l.opts); err != nil {
			return skip(uCol, uriTok, ErrRejected, err.Error(), "")
		}
	}
	k := idKey{set, d.Attrs.DUID}
	if d.Attrs.DUID != "" {
		if prev, ok := l.byDUID[k]; ok {
			return skip(aCol, attrs, ErrDuplicate, "duid "+quoteToken(d.Attrs.DUID)+" already used on line "+
				strconv.Itoa(prev)+" in set "+strconv.Itoa(set), "keeps both")
		}
	}
	// A name is a duplicate by its query, not by its address: two names
	// may share a machine, and addresses change with DNS.
	ak := addrKey{set: set, tr: d.Transport, ap: d.Addr}
	if d.dns != nil {
		ak = addrKey{set: set, name: d.dns.key}
	}
	if prev, ok := l.byAddr[ak]; ok {
		return skip(uCol, uriTok, ErrDuplicate, "same address as line "+strconv.Itoa(prev)+" in set "+
			strconv.Itoa(set)+" (use weight= to give a destination a larger share)",
			"keeps both, which doubles its share of hashed calls")
	}
	if d.Attrs.DUID != "" {
		l.byDUID[k] = n
	}
	l.byAddr[ak] = n

	d.RT = newRuntime(State(flags) & kamailioStates)
	d.seed = seedOf(d)
	d.log = l.opts.Logger
	l.dests = append(l.dests, d)
	return nil
}

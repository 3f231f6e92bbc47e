package bpf

// This file holds the policy both implementations share: the configuration,
// the verdict reasons, and the payload rules (rules 5 and 6 of filter.c) in
// Go. Every constant and every comparison below mirrors filter.c; the fixture
// table in filter_test.go runs both and requires identical verdicts, and
// TestConstantsMatchC reads filter.c to check the numbers.

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// Reason says why a packet was passed or dropped. The numbering is the C enum
// reason of filter.c (the index of the per-CPU counters), and String gives
// the metric label.
type Reason uint8

const (
	Passed             Reason = iota // passed
	Allowed                          // allowed
	Ignored                          // ignored
	DroppedOperatorBan               // dropped_operator_ban
	DroppedBanned                    // dropped_banned
	DroppedRate                      // dropped_rate
	DroppedNotSIP                    // dropped_not_sip
	DroppedUserAgent                 // dropped_user_agent
)

// NumReasons is the number of Reason values.
const NumReasons = int(DroppedUserAgent) + 1

// Drop reports whether the packet is dropped.
func (r Reason) Drop() bool { return r >= DroppedOperatorBan }

// Counters holds one packet count per Reason, indexed by Reason.
type Counters [NumReasons]uint64

// Mode selects the filter implementation.
type Mode uint8

const (
	ModeOff  Mode = iota // off
	ModeUser             // user
	ModeXDP              // xdp
	ModeAuto             // auto
)

// ParseMode parses "xdp", "user", "off" or "auto" (case-insensitive).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off":
		return ModeOff, nil
	case "user":
		return ModeUser, nil
	case "xdp":
		return ModeXDP, nil
	case "auto":
		return ModeAuto, nil
	}
	return ModeOff, fmt.Errorf("%w: %q", ErrUnknownMode, s)
}

// Limits of the configuration, fixed by the layout of the XDP program's maps.
const (
	MaxUserAgents     = 8       // User-Agent prefixes
	MaxUserAgentLen   = 32      // bytes per prefix
	MaxPrefixes       = 16384   // entries in the allow list, and in the ban list
	DefaultMaxSources = 65536   // tracked source addresses when Config.MaxSources is 0
	MinSources        = 1024    // smallest Config.MaxSources
	MaxSourcesLimit   = 1 << 22 // largest Config.MaxSources
)

// Payload rule constants; see filter.c.
const (
	crlfMax       = 8      // leading CR/LF bytes skipped before the start line
	methodMax     = 32     // longest method token
	scanLimit     = 1024   // LFs searched for the User-Agent line, from the start line on
	sepMax        = 16     // bytes of "  :  " between User-Agent and its value
	payloadOffMax = 0x3fff // XDP passes payloads that start deeper in the frame
)

// DefaultRate is a starting point for Config.Rate: generous enough for a
// site of phones behind one NAT address re-registering and subscribing,
// tight enough to stop a scanner in its first second.
var DefaultRate = Rate{Packets: 100, Window: time.Second, Ban: time.Minute}

// Rate is the per-source rate limit, like Kamailio's pike: more than Packets
// packets from one source address within Window ban it for Ban.
type Rate struct {
	Packets int           // packets per window and source; 0 disables rate limiting (and new bans)
	Window  time.Duration // fixed window, started by the first packet after the last one expired
	Ban     time.Duration // how long an automatic ban lasts
}

// Config is the filter's policy.
type Config struct {
	// Ports are the SIP ports: UDP datagrams to them are checked, and TCP
	// SYNs to them get the per-source rules. At least one.
	Ports []uint16
	// Rate is the per-source rate limit.
	Rate Rate
	// Allow lists sources that no rule applies to (back ends, carriers).
	// At most MaxPrefixes.
	Allow []netip.Prefix
	// Ban lists sources whose packets are always dropped. At most
	// MaxPrefixes. AddBan and RemoveBan change it at run time.
	Ban []netip.Prefix
	// UserAgents are User-Agent prefixes whose requests and responses are
	// dropped, compared case-insensitively (ASCII), such as
	// "friendly-scanner" or "sipvicious". At most MaxUserAgents, each 1 to
	// MaxUserAgentLen printable ASCII bytes.
	UserAgents []string
	// MaxSources bounds the per-source state: the XDP program's LRU maps
	// and the user-space table. 0 means DefaultMaxSources.
	MaxSources int
}

// Validate checks c against the limits above.
func (c *Config) Validate() error {
	_, err := compile(c)
	return err
}

func (c *Config) maxSources() int {
	if c.MaxSources == 0 {
		return DefaultMaxSources
	}
	return c.MaxSources
}

// rules is a Config compiled for the packet path: the shape of the XDP
// program's config map value, in Go.
type rules struct {
	ports       [1024]uint64 // bitmap of SIP ports
	ratePackets uint32
	window      uint64 // ns
	ban         uint64 // ns
	ua          uaSet
	allow, bans []netip.Prefix // normalized, sorted, unique
	maxSources  int
}

type uaSet struct {
	count int
	lens  [MaxUserAgents]uint8
	pfx   [MaxUserAgents][MaxUserAgentLen]byte // lower-case
}

func compile(c *Config) (*rules, error) {
	r := &rules{}
	if len(c.Ports) == 0 {
		return nil, ErrNoPorts
	}
	for _, p := range c.Ports {
		if p == 0 {
			return nil, ErrBadPort
		}
		r.ports[p>>6] |= 1 << (p & 63)
	}
	if c.Rate.Packets < 0 || c.Rate.Packets > math.MaxUint32 ||
		(c.Rate.Packets > 0 && (c.Rate.Window <= 0 || c.Rate.Ban <= 0)) {
		return nil, fmt.Errorf("%w: %+v", ErrBadRate, c.Rate)
	}
	r.ratePackets = uint32(c.Rate.Packets)
	if c.Rate.Packets > 0 {
		r.window = uint64(c.Rate.Window)
		r.ban = uint64(c.Rate.Ban)
	}
	if len(c.UserAgents) > MaxUserAgents {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyAgents, len(c.UserAgents), MaxUserAgents)
	}
	for i, ua := range c.UserAgents {
		if !validUserAgent(ua) {
			return nil, fmt.Errorf("%w: %q", ErrBadUserAgent, ua)
		}
		r.ua.lens[i] = uint8(len(ua))
		for j := 0; j < len(ua); j++ {
			r.ua.pfx[i][j] = lower(ua[j])
		}
	}
	r.ua.count = len(c.UserAgents)
	var err error
	if r.allow, err = normPrefixes(c.Allow); err != nil {
		return nil, err
	}
	if r.bans, err = normPrefixes(c.Ban); err != nil {
		return nil, err
	}
	r.maxSources = c.maxSources()
	if r.maxSources < MinSources || r.maxSources > MaxSourcesLimit {
		return nil, fmt.Errorf("%w: %d, want %d to %d", ErrBadMaxSources, c.MaxSources, MinSources, MaxSourcesLimit)
	}
	return r, nil
}

func validUserAgent(s string) bool {
	if len(s) == 0 || len(s) > MaxUserAgentLen || s[0] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (r *rules) portListed(p uint16) bool { return r.ports[p>>6]&(1<<(p&63)) != 0 }

// normPrefix returns p masked, with an IPv4-mapped IPv6 prefix of /96 or
// longer turned into the IPv4 prefix it names: sources are compared the same
// way (see normAddr).
func normPrefix(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() { // netip.Prefix cannot hold a zone
		return netip.Prefix{}, fmt.Errorf("%w: %q", ErrBadPrefix, p.String())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func normPrefixes(in []netip.Prefix) ([]netip.Prefix, error) {
	if len(in) > MaxPrefixes {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyPrefixes, len(in), MaxPrefixes)
	}
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		q, err := normPrefix(p)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return sortPrefixes(out), nil
}

// normAddr names a source the way the XDP program does: an IPv4-mapped IPv6
// address (what a dual-stack socket reports for IPv4 peers) is its IPv4
// address, and zones are dropped.
func normAddr(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// The payload rules. b is the whole UDP payload.

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c | 0x20
	}
	return c
}

// tokenChars marks RFC 3261 token characters; filter.c has the same set as
// two 64-bit masks (TOKEN_LO, TOKEN_HI).
var tokenChars = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
		t[c] = true
	}
	return t
}()

func isAlpha(c byte) bool {
	c |= 0x20
	return c >= 'a' && c <= 'z'
}

// sipPayload is rules 5 and 6: sip_payload in filter.c.
func sipPayload(b []byte, ua *uaSet) Reason {
	n := len(b)
	i := 0
	for i < crlfMax && i < n && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	if i >= n {
		if n == 0 {
			return DroppedNotSIP
		}
		return Passed // a CRLF keep-alive
	}
	s := b[i:]
	if !isStatusLine(s) {
		j := 0
		for ; j < methodMax; j++ {
			if i+j >= n {
				return DroppedNotSIP
			}
			if !tokenChars[s[j]] {
				break
			}
		}
		if j == 0 || i+j+2 > n || s[j] != ' ' || !isAlpha(s[j+1]) {
			return DroppedNotSIP
		}
	}
	if ua.count == 0 {
		return Passed
	}
	h := uaFind(b, i)
	if h == 0 {
		return Passed
	}
	return uaHeader(b, h, ua)
}

func isStatusLine(s []byte) bool {
	return len(s) >= 9 && s[0]|0x20 == 's' && s[1]|0x20 == 'i' && s[2]|0x20 == 'p' &&
		s[3] == '/' && s[4] == '2' && s[5] == '.' && s[6] == '0' && s[7] == ' ' &&
		s[8] >= '0' && s[8] <= '9'
}

// uaFind is ua_block's scan: the offset of the first line after an LF at
// b[start : start+scanLimit] that begins with "user-age" (any case), or 0
// when an empty line, a line too short for "User-Agent" or the end of the
// window comes first.
func uaFind(b []byte, start int) int {
	n := len(b)
	window := b[start:min(n, start+scanLimit)]
	for off := 0; ; {
		i := bytes.IndexByte(window[off:], '\n')
		if i < 0 {
			return 0
		}
		h := start + off + i + 1
		if h+10 > n {
			return 0
		}
		l := b[h:]
		if l[0] == '\r' || l[0] == '\n' {
			return 0
		}
		if l[0]|0x20 == 'u' && l[1]|0x20 == 's' && l[2]|0x20 == 'e' && l[3]|0x20 == 'r' &&
			l[4] == '-' && l[5]|0x20 == 'a' && l[6]|0x20 == 'g' && l[7]|0x20 == 'e' {
			return h
		}
		off += i + 1
	}
}

// uaHeader is ua_header in filter.c.
func uaHeader(b []byte, h int, ua *uaSet) Reason {
	n := len(b)
	if h+10 > n || lower(b[h+8]) != 'n' || lower(b[h+9]) != 't' {
		return Passed
	}
	colon := false
	q := h + 10
	for w := 0; w <= sepMax; w, q = w+1, q+1 {
		if q >= n {
			return Passed
		}
		c := b[q]
		if c == ' ' || c == '\t' {
			continue
		}
		if c == ':' && !colon {
			colon = true
			continue
		}
		if !colon {
			return Passed
		}
		if uaPrefix(b, q, ua) {
			return DroppedUserAgent
		}
		return Passed
	}
	return Passed
}

// uaPrefix is ua_prefix in filter.c.
func uaPrefix(b []byte, v int, ua *uaSet) bool {
	for u := 0; u < ua.count; u++ {
		l := int(ua.lens[u])
		if l == 0 || v+l > len(b) {
			continue
		}
		j := 0
		for j < l && lower(b[v+j]) == ua.pfx[u][j] {
			j++
		}
		if j == l {
			return true
		}
	}
	return false
}

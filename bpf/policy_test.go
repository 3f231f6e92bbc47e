package bpf

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := fixtureConfig()
	for _, tc := range []struct {
		name   string
		edit   func(c *Config)
		err    error
		substr string
	}{
		{"fixture config", func(c *Config) {}, nil, ""},
		{"rate limiting off", func(c *Config) { c.Rate = Rate{} }, nil, ""},
		{"no ports", func(c *Config) { c.Ports = nil }, ErrNoPorts, ""},
		{"port 0", func(c *Config) { c.Ports = []uint16{5060, 0} }, ErrBadPort, ""},
		{"negative packets", func(c *Config) { c.Rate.Packets = -1 }, ErrBadRate, ""},
		{"no window", func(c *Config) { c.Rate.Window = 0 }, ErrBadRate, ""},
		{"no ban time", func(c *Config) { c.Rate.Ban = 0 }, ErrBadRate, ""},
		{"nine User-Agents", func(c *Config) { c.UserAgents = strings.Split("a b c d e f g h i", " ") }, ErrTooManyAgents, "9"},
		{"empty User-Agent", func(c *Config) { c.UserAgents = []string{""} }, ErrBadUserAgent, `""`},
		{"33-byte User-Agent", func(c *Config) { c.UserAgents = []string{strings.Repeat("x", 33)} }, ErrBadUserAgent, ""},
		{"User-Agent with a space first", func(c *Config) { c.UserAgents = []string{" x"} }, ErrBadUserAgent, ""},
		{"User-Agent with CR", func(c *Config) { c.UserAgents = []string{"x\r"} }, ErrBadUserAgent, ""},
		{"User-Agent with a space inside", func(c *Config) { c.UserAgents = []string{"Vax SIP"} }, nil, ""},
		{"zero prefix", func(c *Config) { c.Ban = []netip.Prefix{{}} }, ErrBadPrefix, ""},
		{"too many prefixes", func(c *Config) { c.Ban = make([]netip.Prefix, MaxPrefixes+1) }, ErrTooManyPrefixes, ""},
		{"MaxSources too small", func(c *Config) { c.MaxSources = 10 }, ErrBadMaxSources, "10"},
		{"MaxSources too big", func(c *Config) { c.MaxSources = MaxSourcesLimit + 1 }, ErrBadMaxSources, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.Ports = append([]uint16(nil), ok.Ports...)
			tc.edit(&c)
			err := c.Validate()
			if tc.err == nil {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("Validate = %v, want %v", err, tc.err)
			}
			if !strings.HasPrefix(err.Error(), "bpf: ") || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("error %q: want prefix \"bpf: \" and %q", err, tc.substr)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
		err  bool
	}{
		{"xdp", ModeXDP, false},
		{"user", ModeUser, false},
		{"off", ModeOff, false},
		{"auto", ModeAuto, false},
		{" AUTO ", ModeAuto, false},
		{"", 0, true},
		{"ebpf", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseMode(tc.in)
			if tc.err {
				if !errors.Is(err, ErrUnknownMode) {
					t.Fatalf("ParseMode(%q) = %v, %v", tc.in, m, err)
				}
				return
			}
			if err != nil || m != tc.want {
				t.Fatalf("ParseMode(%q) = %v, %v", tc.in, m, err)
			}
			if m.String() != strings.ToLower(strings.TrimSpace(tc.in)) {
				t.Fatalf("String() = %q", m.String())
			}
		})
	}
}

func TestReasons(t *testing.T) {
	drops := map[Reason]bool{DroppedOperatorBan: true, DroppedBanned: true, DroppedRate: true, DroppedNotSIP: true, DroppedUserAgent: true}
	for r := Reason(0); int(r) < NumReasons; r++ {
		if r.Drop() != drops[r] {
			t.Errorf("%s.Drop() = %v", r, r.Drop())
		}
		if strings.HasPrefix(r.String(), "dropped_") != drops[r] {
			t.Errorf("%s: label and Drop disagree", r)
		}
	}
}

func TestNormPrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"::ffff:10.1.2.3/120", "10.1.2.0/24"},
		{"::ffff:0:0/96", "0.0.0.0/0"},
		{"::ffff:0:0/95", "::fffe:0:0/95"},
		{"2001:db8::1/32", "2001:db8::/32"},
	} {
		got, err := normPrefix(netip.MustParsePrefix(tc.in))
		if err != nil || got.String() != tc.want {
			t.Errorf("normPrefix(%s) = %v, %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

// TestPrefixSet checks the bisection set against netip.Prefix.Contains over
// random prefixes and addresses, and a few edges.
func TestPrefixSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v4 bool) netip.Addr {
		if v4 {
			var b [4]byte
			for i := range b {
				b[i] = byte(rng.IntN(4)) // few values: many hits and nestings
			}
			return netip.AddrFrom4(b)
		}
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(3))
		}
		return netip.AddrFrom16(b)
	}
	for round := 0; round < 200; round++ {
		var list []netip.Prefix
		for i := 0; i < rng.IntN(12); i++ {
			v4 := rng.IntN(2) == 0
			bits := rng.IntN(33)
			if !v4 {
				bits = rng.IntN(129)
			}
			list = append(list, netip.PrefixFrom(randAddr(v4), bits).Masked())
		}
		s := newPrefixSet(sortPrefixes(append([]netip.Prefix(nil), list...)))
		for i := 0; i < 200; i++ {
			x := randAddr(rng.IntN(2) == 0)
			want := false
			for _, p := range list {
				if p.Contains(x) {
					want = true
				}
			}
			if got := s.contains(x); got != want {
				t.Fatalf("set %v contains(%s) = %v, want %v", list, x, got, want)
			}
		}
	}
	s := newPrefixSet([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")})
	if !s.contains(netip.MustParseAddr("255.255.255.255")) || s.contains(netip.MustParseAddr("::")) {
		t.Error("0.0.0.0/0 must hold every IPv4 address and no IPv6 one")
	}
	s = newPrefixSet([]netip.Prefix{netip.MustParsePrefix("::/0")})
	if !s.contains(netip.MustParseAddr("ffff::1")) || s.contains(netip.MustParseAddr("1.2.3.4")) {
		t.Error("::/0 must hold every IPv6 address and no IPv4 one")
	}
}

func TestOpenUserAndOff(t *testing.T) {
	var log strings.Builder
	logger := newTestLogger(&log)

	f, err := Open(ModeUser, nil, fixtureConfig(), logger)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := f.(*Userspace)
	if !ok || f.Mode() != ModeUser {
		t.Fatalf("Open(user) = %T %v", f, f.Mode())
	}
	u.Close()

	f, err = Open(ModeAuto, nil, fixtureConfig(), logger)
	if err != nil || f.Mode() != ModeUser {
		t.Fatalf("Open(auto, no interfaces) = %v, %v", f, err)
	}
	f.Close()
	if !strings.Contains(log.String(), "no interface given") {
		t.Fatalf("log %q does not say why", log.String())
	}

	f, err = Open(ModeOff, nil, fixtureConfig(), logger)
	if err != nil || f.Mode() != ModeOff {
		t.Fatalf("Open(off) = %v, %v", f, err)
	}
	if err := f.AddBan(netip.MustParsePrefix("10.0.0.0/8")); !errors.Is(err, ErrOff) {
		t.Fatalf("off AddBan = %v", err)
	}
	if c, err := f.Counters(); err != nil || c != (Counters{}) {
		t.Fatalf("off Counters = %v, %v", c, err)
	}

	if _, err := Open(ModeXDP, nil, fixtureConfig(), logger); !errors.Is(err, ErrNoInterfaces) {
		t.Fatalf("Open(xdp, no interfaces) = %v", err)
	}
	bad := fixtureConfig()
	bad.Ports = nil
	for _, m := range []Mode{ModeOff, ModeUser, ModeXDP, ModeAuto} {
		if _, err := Open(m, []string{"lo"}, bad, logger); !errors.Is(err, ErrNoPorts) {
			t.Fatalf("Open(%s, bad config) = %v", m, err)
		}
	}
	if lines := strings.Count(log.String(), "\n"); lines != 3 {
		t.Fatalf("%d log lines for three filters opened:\n%s", lines, log.String())
	}
}

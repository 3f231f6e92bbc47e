package health

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string // substring; "" for valid
	}{
		{"zero is valid", Config{}, ""},
		{"short interval, derived timeout", Config{Interval: 100 * time.Millisecond}, ""},
		{"accepted codes", Config{AcceptCodes: []int{403, 404, 405, 501}}, ""},
		{"flagged", Config{Mode: ProbeFlagged}, ""},
		{"sips from", Config{FromURI: "sips:lb@example.com"}, ""},
		{"tiny interval", Config{Interval: time.Microsecond}, "interval 1µs"},
		{"timeout too long", Config{Interval: time.Second, Timeout: time.Second}, "timeout 1s: must be positive and shorter than the interval 1s"},
		{"negative timeout", Config{Timeout: -time.Second}, "timeout -1s"},
		{"jitter 1", Config{Jitter: 1}, "jitter 1"},
		{"negative fail threshold", Config{FailThreshold: -1}, "fail threshold -1"},
		{"negative ok threshold", Config{OKThreshold: -2}, "ok threshold -2"},
		{"code out of range", Config{AcceptCodes: []int{200, 99}}, "accepted reply code 99"},
		{"code 700", Config{AcceptCodes: []int{700}}, "accepted reply code 700"},
		{"from not sip", Config{FromURI: "mailto:x@y"}, `from URI "mailto:x@y"`},
		{"from with brackets", Config{FromURI: "sip:a@b>;x"}, "from URI"},
		{"from with CRLF", Config{FromURI: "sip:a@b\r\nX: y"}, "from URI"},
		{"mode", Config{Mode: 9}, "mode mode(9)"},
		{"negative cap", Config{RetryAfterCap: -time.Second}, "Retry-After cap -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want an error containing %q", err, tc.err)
			}
			if !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), "health: ") {
				t.Errorf("%v: not an ErrConfig with the package prefix", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Interval != 10*time.Second || c.Jitter != 0.2 || c.Timeout != 2*time.Second ||
		c.FailThreshold != 2 || c.OKThreshold != 2 || c.FromURI != "sip:sipfront@localhost" ||
		c.Mode != ProbeAll || c.RetryAfterCap != 5*time.Minute {
		t.Errorf("defaults: %+v", c)
	}
	// Timeout defaults to half a short interval, so two intervals bound
	// the time to take a dead destination out.
	if c := (Config{Interval: time.Second}).withDefaults(); c.Timeout != 500*time.Millisecond {
		t.Errorf("timeout for a 1s interval: %v", c.Timeout)
	}
	if c := (Config{Jitter: -1}).withDefaults(); c.Jitter != 0 {
		t.Errorf("negative jitter: %v", c.Jitter)
	}
}

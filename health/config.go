package health

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Mode chooses which destinations are probed (Kamailio's ds_probing_mode).
type Mode uint8

const (
	// ProbeAll probes every destination that is not disabled (Kamailio
	// mode 1). It is the default: the zero Mode.
	ProbeAll Mode = iota
	// ProbeFlagged probes only destinations whose state has the Probing
	// bit: list flag 8, or dispatcher.set_state "ap"/"ip"/"tp" (Kamailio
	// mode 0). The others are left as the list and the operator set them.
	ProbeFlagged
)

func (m Mode) String() string {
	switch m {
	case ProbeAll:
		return "all"
	case ProbeFlagged:
		return "flagged"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Config tunes a Prober. The zero value is valid: every field has a default,
// shown in its comment, that applies when the field is zero.
type Config struct {
	// Interval between two probes of a destination (Kamailio
	// ds_ping_interval). Default 10s.
	Interval time.Duration
	// Jitter shortens each wait by up to this fraction of Interval, drawn
	// at random per probe, so that probes to many destinations (and from
	// many sipfront copies) spread out. A wait is never longer than
	// Interval: the "out within two intervals" bound holds. Default 0.2;
	// a negative value means none.
	Jitter float64
	// Timeout of one probe. Default min(Interval/2, 2s). It must be shorter
	// than Interval.
	Timeout time.Duration
	// FailThreshold is the number of failed probes in a row that makes a
	// destination inactive (Kamailio ds_probing_threshold). Default 2.
	FailThreshold int
	// OKThreshold is the number of successful probes in a row that makes an
	// inactive destination active again (Kamailio ds_inactive_threshold).
	// Default 2.
	OKThreshold int
	// AcceptCodes are reply codes accepted as success besides any 2xx,
	// which is always accepted (Kamailio ds_ping_reply_codes), for back
	// ends that answer OPTIONS with 403, 404, 405 or 501.
	AcceptCodes []int
	// FromURI is the From of probes (Kamailio ds_ping_from); a
	// destination's ping_from attr overrides it. Default
	// "sip:sipfront@localhost".
	FromURI string
	// Mode chooses which destinations are probed. Default ProbeAll.
	Mode Mode
	// RetryAfterCap bounds how long a 503 with Retry-After takes a
	// destination out. Default 5 minutes.
	RetryAfterCap time.Duration
	// NoPassive turns passive detection off: NoteSent, NoteReply and
	// NoteUnreachable then do nothing.
	NoPassive bool
}

// Defaults.
const (
	DefaultInterval      = 10 * time.Second
	DefaultJitter        = 0.2
	DefaultMaxTimeout    = 2 * time.Second
	DefaultFailThreshold = 2
	DefaultOKThreshold   = 2
	DefaultFromURI       = "sip:sipfront@localhost"
	DefaultRetryAfterCap = 5 * time.Minute
)

// ErrConfig is wrapped by every error of Config.Validate.
var ErrConfig = errors.New("health: bad configuration")

type configError struct{ msg string }

func (e *configError) Error() string { return "health: " + e.msg }
func (e *configError) Unwrap() error { return ErrConfig }

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	switch {
	case c.Jitter == 0:
		c.Jitter = DefaultJitter
	case c.Jitter < 0:
		c.Jitter = 0
	}
	if c.Timeout == 0 {
		c.Timeout = min(c.Interval/2, DefaultMaxTimeout)
	}
	if c.FailThreshold == 0 {
		c.FailThreshold = DefaultFailThreshold
	}
	if c.OKThreshold == 0 {
		c.OKThreshold = DefaultOKThreshold
	}
	if c.FromURI == "" {
		c.FromURI = DefaultFromURI
	}
	if c.RetryAfterCap == 0 {
		c.RetryAfterCap = DefaultRetryAfterCap
	}
	return c
}

// Validate checks c after defaults apply. Errors wrap ErrConfig and name the
// field.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(msg string) { errs = append(errs, &configError{msg}) }
	if c.Interval < time.Millisecond {
		bad("interval " + c.Interval.String() + ": must be at least 1ms")
	}
	if c.Jitter >= 1 {
		bad("jitter " + strconv.FormatFloat(c.Jitter, 'g', -1, 64) + ": must be below 1")
	}
	if c.Timeout <= 0 || c.Timeout >= c.Interval {
		bad("timeout " + c.Timeout.String() + ": must be positive and shorter than the interval " + c.Interval.String())
	}
	if c.FailThreshold < 1 {
		bad("fail threshold " + strconv.Itoa(c.FailThreshold) + ": must be at least 1")
	}
	if c.OKThreshold < 1 {
		bad("ok threshold " + strconv.Itoa(c.OKThreshold) + ": must be at least 1")
	}
	for _, code := range c.AcceptCodes {
		if code < 100 || code > 699 {
			bad("accepted reply code " + strconv.Itoa(code) + ": must be 100-699")
		}
	}
	if !strings.HasPrefix(strings.ToLower(c.FromURI), "sip:") && !strings.HasPrefix(strings.ToLower(c.FromURI), "sips:") ||
		strings.ContainsAny(c.FromURI, " \t\r\n<>\"") {
		bad("from URI " + strconv.Quote(c.FromURI) + ": must be a sip: or sips: URI without spaces, quotes or angle brackets")
	}
	if c.Mode > ProbeFlagged {
		bad("mode " + c.Mode.String() + ": unknown")
	}
	if c.RetryAfterCap < 0 {
		bad("Retry-After cap " + c.RetryAfterCap.String() + ": must not be negative")
	}
	return errors.Join(errs...)
}

package dispatcher

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them; compare
// with errors.Is, never by text. None of them carries bytes from a request.
var (
	ErrNoFile        = errors.New("dispatcher: cannot read list file")
	ErrTooLarge      = errors.New("dispatcher: list file too large")
	ErrNoDestination = errors.New("dispatcher: set id without destination")
	ErrBadSetID      = errors.New("dispatcher: bad set id")
	ErrBadURI        = errors.New("dispatcher: bad destination URI")
	ErrResolve       = errors.New("dispatcher: cannot resolve host")
	ErrBadNumber     = errors.New("dispatcher: bad number")
	ErrBadAttrs      = errors.New("dispatcher: bad attrs")
	ErrDuplicate     = errors.New("dispatcher: duplicate destination")
	ErrRejected      = errors.New("dispatcher: destination rejected")
	ErrCompat        = errors.New("dispatcher: read differently from Kamailio")
	ErrExtraText     = errors.New("dispatcher: text after attrs")
	ErrUnknownSet    = errors.New("dispatcher: unknown set")
	ErrUnknownDest   = errors.New("dispatcher: unknown destination")
	ErrExists        = errors.New("dispatcher: destination already in set")
	ErrBadWeight     = errors.New("dispatcher: weight not in 0..100")
	ErrBadAlg        = errors.New("dispatcher: unknown algorithm")
	ErrAlgStateful   = errors.New("dispatcher: algorithm needs stateful mode")
	ErrAlgProber     = errors.New("dispatcher: algorithm needs the health prober")
)

// ParseError is a list file the loader refuses, with the position of the
// problem. Line is 1-based; it is 0 when the problem concerns the whole file
// (a missing file). Col is the 1-based byte column of Token in its line.
type ParseError struct {
	File  string
	Line  int
	Col   int
	Token string
	Err   error
}

// Error reads like `dispatcher.list:3:1: "3": set id without destination`.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Col))
		}
	}
	b.WriteString(": ")
	if e.Token != "" {
		b.WriteString(quoteToken(e.Token))
		b.WriteString(": ")
	}
	msg := "unknown error"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "dispatcher: ")
	}
	b.WriteString(msg)
	return b.String()
}

// Unwrap gives the sentinel (possibly through a detail error).
func (e *ParseError) Unwrap() error { return e.Err }

// Warning is a line the loader skipped, or read differently from Kamailio.
// The file still loads (unless Options.Strict is set, which turns the first
// warning into a *ParseError).
type Warning struct {
	File  string
	Line  int
	Col   int
	Token string
	// Reason says what sipfront did and why, e.g. "line skipped: ...".
	Reason string
	// Kamailio says what Kamailio 5.6 does with the same line, when it
	// differs from what sipfront did; empty when they agree.
	Kamailio string
	// Err is the sentinel that classifies the warning (ErrBadURI, ...).
	Err error
}

// String reads like `dispatcher.list:4: "0x8": flags read as hex 8 (Kamailio: ...)`.
func (w Warning) String() string {
	var b strings.Builder
	b.WriteString(w.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(w.Line))
	b.WriteString(": ")
	if w.Token != "" {
		b.WriteString(quoteToken(w.Token))
		b.WriteString(": ")
	}
	b.WriteString(w.Reason)
	if w.Kamailio != "" {
		b.WriteString(" (Kamailio: ")
		b.WriteString(w.Kamailio)
		b.WriteByte(')')
	}
	return b.String()
}

// asError is the warning as the error Strict mode returns.
func (w Warning) asError() *ParseError {
	return &ParseError{File: w.File, Line: w.Line, Col: w.Col, Token: w.Token,
		Err: &detailError{sentinel: w.Err, msg: w.Reason}}
}

// detailError adds a specific message to a sentinel.
type detailError struct {
	sentinel error
	msg      string
}

func (e *detailError) Error() string { return "dispatcher: " + e.msg }
func (e *detailError) Unwrap() error { return e.sentinel }

func detail(sentinel error, msg string) error { return &detailError{sentinel: sentinel, msg: msg} }

// maxTokenShown bounds how much of a token goes into a message.
const maxTokenShown = 64

// quoteToken quotes a token for a message: Go syntax, so control bytes and
// invalid UTF-8 are escaped, and cut to maxTokenShown bytes.
func quoteToken(s string) string {
	if len(s) > maxTokenShown {
		return strconv.Quote(s[:maxTokenShown]) + "..."
	}
	return strconv.Quote(s)
}

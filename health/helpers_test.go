package health

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// TestMain silences the state-change lines the tests provoke; tests that
// check logging pass their own logger.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// sent is one datagram a fakeSender was asked to send.
type sent struct {
	b  []byte
	to netip.AddrPort
}

// fakeSender records what the prober sends; err, when set, fails Send.
type fakeSender struct {
	mu   sync.Mutex
	msgs []sent
	err  error
}

func (s *fakeSender) Send(b []byte, to netip.AddrPort, _ dispatcher.Transport) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.msgs = append(s.msgs, sent{append([]byte(nil), b...), to})
	return nil
}

func (s *fakeSender) ViaHost(netip.AddrPort, dispatcher.Transport) string { return "192.0.2.1:5060" }

// take returns and forgets what was sent so far.
func (s *fakeSender) take() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs
	s.msgs = nil
	return m
}

// loadDispatcher builds a Dispatcher from list lines; log, when not nil,
// receives the state changes.
func loadDispatcher(t testing.TB, log *slog.Logger, lines ...string) *dispatcher.Dispatcher {
	t.Helper()
	tbl, warns, err := dispatcher.Load("test.list", []byte(strings.Join(lines, "\n")), dispatcher.Options{Strict: true, Logger: log})
	if err != nil || len(warns) > 0 {
		t.Fatalf("load: %v %v", err, warns)
	}
	return dispatcher.New(tbl, dispatcher.Options{Logger: log})
}

// reload swaps a new table made of lines into d.
func reload(t testing.TB, d *dispatcher.Dispatcher, lines ...string) {
	t.Helper()
	tbl, warns, err := dispatcher.Load("test.list", []byte(strings.Join(lines, "\n")), dispatcher.Options{Strict: true})
	if err != nil || len(warns) > 0 {
		t.Fatalf("load: %v %v", err, warns)
	}
	d.Swap(tbl)
}

// rig is a Prober driven by hand: a fake clock, a fake sender, and step
// called by the test instead of the goroutine.
type rig struct {
	t   testing.TB
	p   *Prober
	d   *dispatcher.Dispatcher
	snd *fakeSender
	now time.Duration
}

// noJitter makes schedules exact in unit tests.
const noJitter = -1

func newRig(t testing.TB, cfg Config, lines ...string) *rig {
	t.Helper()
	return newRigLog(t, cfg, nil, lines...)
}

func newRigLog(t testing.TB, cfg Config, log *slog.Logger, lines ...string) *rig {
	t.Helper()
	r := &rig{t: t, d: loadDispatcher(t, log, lines...), snd: &fakeSender{}}
	p, err := New(r.d, r.snd, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.clock = func() time.Duration { return r.now }
	r.p = p
	return r
}

// at moves the clock to now and runs one step; it returns the step's wait.
func (r *rig) at(now time.Duration) time.Duration {
	r.now = now
	return r.p.step(now)
}

// dest returns the destination of set with the URI.
func (r *rig) dest(set int, uri string) *dispatcher.Dest {
	r.t.Helper()
	for _, d := range r.d.Current().Set(set).Dests() {
		if d.URI == uri {
			return d
		}
	}
	r.t.Fatalf("no %s in set %d", uri, set)
	return nil
}

// one expects exactly one probe sent since the last call and returns it.
func (r *rig) one() sent {
	r.t.Helper()
	m := r.snd.take()
	if len(m) != 1 {
		r.t.Fatalf("at %v: %d probes sent, want 1", r.now, len(m))
	}
	return m[0]
}

// none expects no probe sent since the last call.
func (r *rig) none() {
	r.t.Helper()
	if m := r.snd.take(); len(m) != 0 {
		r.t.Fatalf("at %v: %d probes sent, want none", r.now, len(m))
	}
}

// answer delivers a reply with code (and extra header lines) to probe s at
// the rig's time, then steps.
func (r *rig) answer(s sent, code int, extra ...string) {
	r.t.Helper()
	var m parser.Message
	b := replyTo(r.t, s.b, code, extra...)
	if err := parser.Parse(b, &m); err != nil {
		r.t.Fatalf("parse reply: %v", err)
	}
	r.p.Deliver(&m)
	r.p.step(r.now)
}

// replyTo builds the response a UAS sends to the request req.
func replyTo(t testing.TB, req []byte, code int, extra ...string) []byte {
	t.Helper()
	b, err := buildReply(req, code, extra...)
	if err != nil {
		t.Fatalf("%v\n%s", err, req)
	}
	return b
}

// buildReply is replyTo for goroutines that cannot fail a test.
func buildReply(req []byte, code int, extra ...string) ([]byte, error) {
	var m parser.Message
	if err := parser.Parse(req, &m); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("SIP/2.0 " + strconv.Itoa(code) + " Whatever\r\n")
	for _, h := range m.Headers() {
		switch h.Kind {
		case parser.KindVia, parser.KindFrom, parser.KindCallID, parser.KindCSeq:
			b.Write(m.Bytes(h.Name))
			b.WriteString(": ")
			b.Write(m.Bytes(h.Value))
			b.WriteString("\r\n")
		case parser.KindTo:
			b.WriteString("To: ")
			b.Write(m.Bytes(h.Value))
			b.WriteString(";tag=uas1\r\n")
		}
	}
	for _, x := range extra {
		b.WriteString(x + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes(), nil
}

// state names a destination's state as dispatcher.list shows it (FLAGS)
// plus the sipfront name.
func state(d *dispatcher.Dest) string {
	st := d.State()
	return st.KamailioFlags() + "/" + st.String()
}

func reason(d *dispatcher.Dest) string {
	_, r := d.LastChange()
	return r
}

var errSend = errors.New("sendto: network is unreachable")

// logLines is a slog handler target that counts the state-change lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(string(b)))
	return len(b), nil
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// parsed parses b into a new Message.
func parsed(t testing.TB, b []byte) *parser.Message {
	t.Helper()
	m := new(parser.Message)
	if err := parser.Parse(b, m); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return m
}

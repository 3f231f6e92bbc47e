package lb

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

// peer is a SIP endpoint for the end-to-end tests: a real UDP socket on
// loopback, a reader goroutine, and helpers to send and wait for messages.
type peer struct {
	t    testing.TB
	name string
	conn *net.UDPConn
	addr netip.AddrPort
	in   chan rx

	mu   sync.Mutex
	seen []rx // every message received, for assertions after the fact
	// tally, when set, replaces seen for long runs: the methods of the
	// requests received, by Call-ID, in order ("INVITE ACK BYE ").
	tally map[string]string
}

// tallyRequests makes the peer keep only the methods of the requests it
// receives, by Call-ID, instead of every message: a long run would
// otherwise hold gigabytes of parsed messages.
func (p *peer) tallyRequests() {
	p.mu.Lock()
	p.tally = map[string]string{}
	p.mu.Unlock()
}

type rx struct {
	b    []byte
	from netip.AddrPort
	to   netip.AddrPort // the peer that received it
	m    *parser.Message
}

func (r rx) header(k parser.Kind) string { return string(r.m.Value(k)) }
func (r rx) startLine() string {
	i := bytes.IndexByte(r.b, '\r')
	if i < 0 {
		return string(r.b)
	}
	return string(r.b[:i])
}

// newPeer opens a back end on 127.0.0.1. Phones use newPhone: another
// loopback address, because sipfront recognises back ends by IP and a phone
// must not look like one.
func newPeer(t testing.TB, name string) *peer { return newPeerAt(t, name, net.IPv4(127, 0, 0, 1)) }

// newPhone opens a phone on 127.0.0.2.
func newPhone(t testing.TB, name string) *peer { return newPeerAt(t, name, net.IPv4(127, 0, 0, 2)) }

func newPeerAt(t testing.TB, name string, ip net.IP) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	// A large receive buffer: a test back end must not be the one that
	// drops (bursts of a flood test reach it through sipfront).
	c.SetReadBuffer(8 << 20)
	p := &peer{t: t, name: name, conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), in: make(chan rx, 1024)}
	go p.read()
	t.Cleanup(func() { c.Close() })
	return p
}

func (p *peer) read() {
	buf := make([]byte, 65536)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			close(p.in)
			return
		}
		b := append([]byte(nil), buf[:n]...)
		m := new(parser.Message)
		if parser.Parse(b, m) != nil {
			m = nil
		}
		r := rx{b: b, from: from, to: p.addr, m: m}
		p.mu.Lock()
		if p.tally == nil {
			p.seen = append(p.seen, r)
		} else if m != nil && m.IsRequest() {
			p.tally[string(m.CallID())] += string(m.MethodBytes()) + " "
		}
		p.mu.Unlock()
		select {
		case p.in <- r:
		default:
		}
	}
}

func (p *peer) send(to netip.AddrPort, msg string) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort([]byte(msg), to); err != nil {
		p.t.Fatalf("%s send: %v", p.name, err)
	}
}

// expect waits up to 2 s for a message for which match is true, skipping
// others.
func (p *peer) expect(what string, match func(r rx) bool) rx {
	p.t.Helper()
	r, ok := p.await(what, 2*time.Second, match)
	if !ok {
		p.t.Fatalf("%s: no %s within 2s", p.name, what)
	}
	return r
}

// await waits up to d for a message for which match is true, skipping
// others; ok is false when d passed first.
func (p *peer) await(what string, d time.Duration, match func(r rx) bool) (r rx, ok bool) {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case r, open := <-p.in:
			if !open {
				p.t.Fatalf("%s: socket closed waiting for %s", p.name, what)
			}
			if r.m != nil && match(r) {
				return r, true
			}
		case <-deadline:
			return rx{}, false
		}
	}
}

// expectNothing checks that no message arrives for d.
func (p *peer) expectNothing(d time.Duration) {
	p.t.Helper()
	select {
	case r := <-p.in:
		p.t.Fatalf("%s: unexpected message:\n%s", p.name, r.b)
	case <-time.After(d):
	}
}

func isStatus(code int) func(rx) bool {
	return func(r rx) bool { return !r.m.IsRequest() && r.m.StatusCode() == code }
}

func isMethod(method string) func(rx) bool {
	return func(r rx) bool { return r.m.IsRequest() && string(r.m.MethodBytes()) == method }
}

// reqSpec describes a request a test phone sends.
type reqSpec struct {
	method, ruri, callID, branch, fromTag, toTag string
	cseq                                         int
	from                                         netip.AddrPort // Via sent-by and Contact
	routes                                       []string
	extra                                        []string
	maxForwards                                  int // 0 → 70; -1 → none
	body                                         string
}

func (s reqSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", s.method, s.ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", s.from, s.branch)
	switch {
	case s.maxForwards == 0:
		b.WriteString("Max-Forwards: 70\r\n")
	case s.maxForwards > 0:
		fmt.Fprintf(&b, "Max-Forwards: %d\r\n", s.maxForwards)
	}
	for _, r := range s.routes {
		fmt.Fprintf(&b, "Route: %s\r\n", r)
	}
	fmt.Fprintf(&b, "From: <sip:alice@example.com>;tag=%s\r\n", s.fromTag)
	if s.toTag != "" {
		fmt.Fprintf(&b, "To: <sip:bob@example.com>;tag=%s\r\n", s.toTag)
	} else {
		b.WriteString("To: <sip:bob@example.com>\r\n")
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\n", s.callID)
	cseqMethod := s.method
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", s.cseq, cseqMethod)
	fmt.Fprintf(&b, "Contact: <sip:alice@%s>\r\n", s.from)
	for _, e := range s.extra {
		b.WriteString(e + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(s.body), s.body)
	return b.String()
}

// respondTo builds a response to a received request as a UAS does: Vias,
// From, To (with toTag when given), Call-ID, CSeq and Record-Route copied,
// a Contact at contact.
func respondTo(r rx, code int, reason, toTag string, contact netip.AddrPort) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	m := r.m
	for _, h := range m.Headers() {
		line := string(r.b[h.Name.Start:h.End])
		switch h.Kind {
		case parser.KindVia, parser.KindFrom, parser.KindCallID, parser.KindCSeq, parser.KindRecordRoute:
			b.WriteString(line)
		case parser.KindTo:
			if toTag != "" && !strings.Contains(line, "tag=") {
				line = strings.TrimRight(line, "\r\n") + ";tag=" + toTag + "\r\n"
			}
			b.WriteString(line)
		}
	}
	if contact.IsValid() {
		fmt.Fprintf(&b, "Contact: <sip:uas@%s>\r\n", contact)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// uas answers requests automatically: INVITE → 100, 180, 200; BYE, CANCEL,
// OPTIONS, REGISTER, others → 200; ACK → nothing. It keeps serving until the
// test ends.
func (p *peer) serveUAS() {
	go func() {
		for r := range p.in {
			if r.m == nil || !r.m.IsRequest() {
				continue
			}
			tag := "uas-" + p.name
			switch string(r.m.MethodBytes()) {
			case "ACK":
			case "INVITE":
				p.conn.WriteToUDPAddrPort([]byte(respondTo(r, 100, "Trying", "", netip.AddrPort{})), r.from)
				p.conn.WriteToUDPAddrPort([]byte(respondTo(r, 180, "Ringing", tag, p.addr)), r.from)
				p.conn.WriteToUDPAddrPort([]byte(respondTo(r, 200, "OK", tag, p.addr)), r.from)
			default:
				p.conn.WriteToUDPAddrPort([]byte(respondTo(r, 200, "OK", tag, p.addr)), r.from)
			}
		}
	}()
}

// received returns the requests of a method the peer has seen so far.
func (p *peer) received(method string) []rx {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []rx
	for _, r := range p.seen {
		if r.m != nil && r.m.IsRequest() && string(r.m.MethodBytes()) == method {
			out = append(out, r)
		}
	}
	return out
}

// seen2 returns the requests seen with a Call-ID.
func (p *peer) seen2(callID string) []rx {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []rx
	for _, r := range p.seen {
		if r.m != nil && r.m.IsRequest() && string(r.m.CallID()) == callID {
			out = append(out, r)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// seenResponses returns the responses the peer has received so far.
func (p *peer) seenResponses() []rx {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []rx
	for _, r := range p.seen {
		if r.m != nil && !r.m.IsRequest() {
			out = append(out, r)
		}
	}
	return out
}

// transact sends a request and waits for the response match accepts,
// retransmitting every 500 ms (RFC 3261 timer A/E) up to 8 times, as a phone
// does over UDP: one datagram lost under load is not a failed call.
func (p *peer) transact(to netip.AddrPort, msg, what string, match func(rx) bool) rx {
	p.t.Helper()
	for attempt := 0; attempt < 8; attempt++ {
		p.send(to, msg)
		if r, ok := p.await(what, 500*time.Millisecond, match); ok {
			return r
		}
	}
	p.t.Fatalf("%s: no %s after 8 transmissions", p.name, what)
	return rx{}
}

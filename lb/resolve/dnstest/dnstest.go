// Package dnstest is a DNS server on loopback for tests, in the manner of
// net/http/httptest: UDP and TCP on one port of 127.0.0.1, answering from a
// zone the test may change at any time, with switches for the failures a
// resolver must survive (silence, SERVFAIL, REFUSED, FORMERR to EDNS0,
// truncated UDP replies, a forged reply ahead of the real one).
//
// It is not a DNS server for anything else: it knows one zone of records,
// answers every name with AA set, and keeps a log of the questions it was
// asked so that a test can check which lookups were made. It imports nothing
// of sipfront, so any package's tests may use it.
package dnstest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// RR is one record of the zone.
type RR struct {
	Name string // owner, with or without the trailing dot
	TTL  uint32
	Type dnsmessage.Type
	Body dnsmessage.ResourceBody
}

// TypeNAPTR is RFC 3403's type number.
const TypeNAPTR dnsmessage.Type = 35

func name(s string) dnsmessage.Name {
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return dnsmessage.MustNewName(s)
}

// A is an A record; it panics on a bad address (a test's typo).
func A(owner string, ttl uint32, ip string) RR {
	return RR{owner, ttl, dnsmessage.TypeA, &dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()}}
}

// AAAA is an AAAA record.
func AAAA(owner string, ttl uint32, ip string) RR {
	return RR{owner, ttl, dnsmessage.TypeAAAA, &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(ip).As16()}}
}

// SRV is an SRV record; target "." means "no service".
func SRV(owner string, ttl uint32, prio, weight, port uint16, target string) RR {
	return RR{owner, ttl, dnsmessage.TypeSRV, &dnsmessage.SRVResource{Priority: prio, Weight: weight, Port: port, Target: name(target)}}
}

// CNAME is a CNAME record.
func CNAME(owner string, ttl uint32, target string) RR {
	return RR{owner, ttl, dnsmessage.TypeCNAME, &dnsmessage.CNAMEResource{CNAME: name(target)}}
}

// NAPTR is a NAPTR record; replacement "." is the root.
func NAPTR(owner string, ttl uint32, order, pref uint16, flags, services, regexp, replacement string) RR {
	return RR{owner, ttl, TypeNAPTR, &dnsmessage.UnknownResource{Type: TypeNAPTR,
		Data: NAPTRData(order, pref, flags, services, regexp, replacement)}}
}

// NAPTRData encodes a NAPTR record body (RFC 3403 §4.1), the replacement
// uncompressed as the RFC requires. Strings longer than 255 bytes and labels
// longer than 63 are cut, so that any input encodes.
func NAPTRData(order, pref uint16, flags, services, regexp, replacement string) []byte {
	b := binary.BigEndian.AppendUint16(nil, order)
	b = binary.BigEndian.AppendUint16(b, pref)
	for _, s := range [...]string{flags, services, regexp} {
		s = s[:min(len(s), 255)]
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	for _, l := range strings.Split(strings.TrimSuffix(replacement, "."), ".") {
		if l == "" {
			continue
		}
		l = l[:min(len(l), 63)]
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// Mode is how the server answers.
type Mode uint8

// Modes.
const (
	Normal   Mode = iota
	Silent        // no reply at all: the client times out
	ServFail      // SERVFAIL to everything
	Refused       // REFUSED to everything
	NoEDNS        // FORMERR to a query with an OPT record, as old servers do
)

// Server is a running test server.
type Server struct {
	// Addr is where it listens, UDP and TCP.
	Addr netip.AddrPort

	udp net.PacketConn
	tcp net.Listener
	wg  sync.WaitGroup

	mu       sync.Mutex
	zone     []RR
	mode     Mode
	truncate bool
	spoof    bool
	negTTL   uint32
	log      []string
	conns    map[net.Conn]bool
	closed   bool
}

// New starts a server on 127.0.0.1 with an empty zone. Its sockets are
// bound when New returns, so queries sent at once are answered.
func New() (*Server, error) {
	var err error
	for range 10 {
		var u net.PacketConn
		u, err = net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		var l net.Listener
		l, err = net.Listen("tcp4", u.LocalAddr().String())
		if err != nil {
			u.Close() // the TCP port is taken: try another
			continue
		}
		s := &Server{udp: u, tcp: l, conns: map[net.Conn]bool{}}
		s.Addr = u.LocalAddr().(*net.UDPAddr).AddrPort()
		s.wg.Add(2)
		go s.serveUDP()
		go s.serveTCP()
		return s, nil
	}
	return nil, err
}

// Start is New for a test: it fails tb on error and closes the server at
// the end of the test.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := New()
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
}

// Set replaces the zone.
func (s *Server) Set(rrs ...RR) {
	s.mu.Lock()
	s.zone = append([]RR(nil), rrs...)
	s.mu.Unlock()
}

// SetMode sets how the server answers from now on.
func (s *Server) SetMode(m Mode) { s.mu.Lock(); s.mode = m; s.mu.Unlock() }

// SetTruncate makes every UDP reply an empty one with TC set (TCP replies
// stay whole), as a server does when the answer exceeds the UDP size.
func (s *Server) SetTruncate(on bool) { s.mu.Lock(); s.truncate = on; s.mu.Unlock() }

// SetSpoof makes the server send, before each UDP reply, a forged one with
// another ID and a wrong address, as an off-path attacker would.
func (s *Server) SetSpoof(on bool) { s.mu.Lock(); s.spoof = on; s.mu.Unlock() }

// SetNegTTL adds an SOA with this TTL and MINIMUM to negative answers
// (NXDOMAIN, no data), so that their TTL is known (RFC 2308); 0 leaves the
// SOA out.
func (s *Server) SetNegTTL(ttl uint32) { s.mu.Lock(); s.negTTL = ttl; s.mu.Unlock() }

// Queries is the log of questions received, oldest first, each as
// "udp SRV _sip._udp.pbx.example.com.".
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// ResetQueries empties the log.
func (s *Server) ResetQueries() { s.mu.Lock(); s.log = nil; s.mu.Unlock() }

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		spoof := s.spoof
		s.mu.Unlock()
		reply, forged := s.answer(buf[:n], "udp")
		if reply == nil {
			continue
		}
		if spoof && forged != nil {
			s.udp.WriteTo(forged, from)
		}
		s.udp.WriteTo(reply, from)
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		reply, _ := s.answer(q, "tcp")
		if reply == nil {
			continue
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(reply)))
		if _, err := c.Write(append(out, reply...)); err != nil {
			return
		}
	}
}

// answer builds the reply to query q (nil: say nothing), and a forged
// variant of it for SetSpoof.
func (s *Server) answer(q []byte, via string) (reply, forged []byte) {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil || h.Response {
		return nil, nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return nil, nil
	}
	question := qs[0]
	p.SkipAllAnswers()
	p.SkipAllAuthorities()
	hasOPT := false
	for {
		rh, err := p.AdditionalHeader()
		if err != nil {
			break
		}
		hasOPT = hasOPT || rh.Type == dnsmessage.TypeOPT
		p.SkipAdditional()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, via+" "+typeString(question.Type)+" "+question.Name.String())
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	switch {
	case s.mode == Silent:
		return nil, nil
	case s.mode == ServFail:
		rh.RCode = dnsmessage.RCodeServerFailure
		return build(rh, question, nil, nil), nil
	case s.mode == Refused:
		rh.RCode = dnsmessage.RCodeRefused
		return build(rh, question, nil, nil), nil
	case s.mode == NoEDNS && hasOPT:
		rh.RCode = dnsmessage.RCodeFormatError
		return build(rh, question, nil, nil), nil
	case s.truncate && via == "udp":
		rh.Truncated = true
		return build(rh, question, nil, nil), nil
	}

	var ans []RR
	cur := strings.ToLower(question.Name.String())
	known := false
	for range 8 {
		next := ""
		for _, rr := range s.zone {
			if strings.ToLower(name(rr.Name).String()) != cur {
				continue
			}
			known = true
			switch {
			case rr.Type == question.Type:
				ans = append(ans, rr)
			case rr.Type == dnsmessage.TypeCNAME:
				ans = append(ans, rr)
				next = strings.ToLower(rr.Body.(*dnsmessage.CNAMEResource).CNAME.String())
			}
		}
		if next == "" {
			break
		}
		cur = next
	}
	var auth []RR
	if len(ans) == 0 {
		if !known {
			rh.RCode = dnsmessage.RCodeNameError
		}
		if s.negTTL > 0 {
			auth = append(auth, RR{apex(question.Name.String()), s.negTTL, dnsmessage.TypeSOA, &dnsmessage.SOAResource{
				NS: name("ns." + apex(question.Name.String())), MBox: name("hostmaster." + apex(question.Name.String())),
				Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, MinTTL: s.negTTL}})
		}
	}
	reply = build(rh, question, ans, auth)
	fh := rh
	fh.ID ^= 0x5a5a
	forged = build(fh, question, []RR{A(question.Name.String(), 3600, "192.0.2.66")}, nil)
	return reply, forged
}

// apex is the last two labels of n, for the SOA of a negative answer.
func apex(n string) string {
	labels := strings.Split(strings.TrimSuffix(n, "."), ".")
	if len(labels) > 2 {
		labels = labels[len(labels)-2:]
	}
	return strings.Join(labels, ".") + "."
}

func build(h dnsmessage.Header, q dnsmessage.Question, ans, auth []RR) []byte {
	b := dnsmessage.NewBuilder(nil, h)
	b.EnableCompression()
	must(b.StartQuestions())
	must(b.Question(q))
	must(b.StartAnswers())
	for _, rr := range ans {
		add(&b, rr)
	}
	must(b.StartAuthorities())
	for _, rr := range auth {
		add(&b, rr)
	}
	msg, err := b.Finish()
	must(err)
	return msg
}

func add(b *dnsmessage.Builder, rr RR) {
	h := dnsmessage.ResourceHeader{Name: name(rr.Name), Type: rr.Type, Class: dnsmessage.ClassINET, TTL: rr.TTL}
	switch r := rr.Body.(type) {
	case *dnsmessage.AResource:
		must(b.AResource(h, *r))
	case *dnsmessage.AAAAResource:
		must(b.AAAAResource(h, *r))
	case *dnsmessage.SRVResource:
		must(b.SRVResource(h, *r))
	case *dnsmessage.CNAMEResource:
		must(b.CNAMEResource(h, *r))
	case *dnsmessage.SOAResource:
		must(b.SOAResource(h, *r))
	case *dnsmessage.UnknownResource:
		must(b.UnknownResource(h, *r))
	default:
		panic("dnstest: record type not supported")
	}
}

// must panics on a builder error: the server builds only what it can.
func must(err error) {
	if err != nil {
		panic("dnstest: " + err.Error())
	}
}

func typeString(t dnsmessage.Type) string {
	if t == TypeNAPTR {
		return "NAPTR"
	}
	return strings.TrimPrefix(t.String(), "Type")
}

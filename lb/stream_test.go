package lb

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

// streamPeer is a SIP endpoint on one TCP or TLS connection.
type streamPeer struct {
	t    testing.TB
	nc   net.Conn
	addr netip.AddrPort // local address (Via sent-by)
	in   chan rx
}

func newStreamPeer(t testing.TB, nc net.Conn) *streamPeer {
	p := &streamPeer{t: t, nc: nc, in: make(chan rx, 256)}
	la := nc.LocalAddr().(*net.TCPAddr).AddrPort()
	p.addr = netip.AddrPortFrom(la.Addr().Unmap(), la.Port())
	go p.read()
	t.Cleanup(func() { nc.Close() })
	return p
}

func (p *streamPeer) read() {
	defer close(p.in)
	var buf []byte
	tmp := make([]byte, 65536)
	for {
		n, err := p.nc.Read(tmp)
		buf = append(buf, tmp[:n]...)
		for {
			kind, m, ferr := parser.Frame(buf)
			if kind == parser.FrameIncomplete && string(buf) == "\r\n" {
				kind, m = parser.FramePong, 2 // a server's pong: nothing more will follow
			}
			if ferr != nil || kind == parser.FrameIncomplete {
				break
			}
			if kind == parser.FrameMessage || kind == parser.FramePong {
				b := append([]byte(nil), buf[:m]...)
				msg := new(parser.Message)
				if kind != parser.FrameMessage || parser.Parse(b, msg) != nil {
					msg = nil
				}
				p.in <- rx{b: b, m: msg}
			}
			buf = buf[m:]
		}
		if err != nil {
			return
		}
	}
}

func (p *streamPeer) send(msg string) {
	p.t.Helper()
	if _, err := p.nc.Write([]byte(msg)); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

func (p *streamPeer) expect(what string, match func(r rx) bool) rx {
	p.t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case r, ok := <-p.in:
			if !ok {
				p.t.Fatalf("connection closed waiting for %s", what)
			}
			if r.m != nil && match(r) {
				return r
			}
		case <-deadline:
			p.t.Fatalf("no %s within 3s", what)
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and ::1, kept in memory.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sipfront test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

type streamEngine struct {
	e    *Engine
	addr map[string]netip.AddrPort // by transport
	pool *x509.CertPool
}

// startStreamEngine runs sipfront with UDP, TCP and TLS listeners on ip and
// the given list file content.
func startStreamEngine(t testing.TB, ip string, list string, sc StreamConfig) *streamEngine {
	t.Helper()
	cert, pool := selfSigned(t)
	sc.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	var ls []Listen
	for _, tr := range []string{"udp", "tcp", "tls"} {
		l, err := ParseListen(tr + ":" + netip.AddrPortFrom(netip.MustParseAddr(ip), 0).String())
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	e, err := New(Config{Listen: ls, DispatcherList: path, Workers: 2, CookieKey: "k", Streams: sc, NoProbe: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, e)
	a := e.Addrs()
	return &streamEngine{e: e, addr: map[string]netip.AddrPort{"udp": a[0], "tcp": a[1], "tls": a[2]}, pool: pool}
}

func dialTCP(t testing.TB, from string, to netip.AddrPort) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	nc, err := d.Dial("tcp", to.String())
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

func dialTLS(t testing.TB, from string, to netip.AddrPort, pool *x509.CertPool) net.Conn {
	t.Helper()
	nc := dialTCP(t, from, to)
	tc := tls.Client(nc, &tls.Config{RootCAs: pool, ServerName: to.Addr().String(), MinVersion: tls.VersionTLS12})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc
}

func invite(tr string, from netip.AddrPort, callID string, body string) string {
	return fmt.Sprintf("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK-%s;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a-%s\r\nTo: <sip:bob@example.com>\r\n"+
		"Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@%s;transport=%s>\r\nContent-Length: %d\r\n\r\n%s",
		tr, from, callID, callID, callID, from, strings.ToLower(tr), len(body), body)
}

func inDialog(method, tr string, from netip.AddrPort, ruri, callID string, cseq int, routes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK-%s-%d;rport\r\n", method, ruri, tr, from, callID, cseq)
	for _, r := range routes {
		fmt.Fprintf(&b, "Route: %s\r\n", r)
	}
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a-%s\r\nTo: <sip:bob@example.com>;tag=b1\r\n"+
		"Call-ID: %s\r\nCSeq: %d %s\r\nContent-Length: 0\r\n\r\n", callID, callID, cseq, method)
	return b.String()
}

func rrValues(r rx) []string {
	var out []string
	for it := r.m.Values(parser.KindRecordRoute); it.Next(); {
		out = append(out, string(r.m.Bytes(it.Value())))
	}
	return out
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// TestStreamPhoneToUDPBackend: a phone on TCP (and one on TLS) calls through
// sipfront to a UDP back end; sipfront double-Record-Routes (RFC 5658), the
// back end answers over UDP, the phone gets its responses on its connection,
// and in-dialog requests cross both ways: the phone's BYE by the cookie, the
// back end's BYE over the phone's connection by the flow token.
func TestStreamPhoneToUDPBackend(t *testing.T) {
	uas := newPeer(t, "uas")
	se := startStreamEngine(t, "127.0.0.1", "1 sip:"+uas.addr.String()+"\n", StreamConfig{})
	for _, tc := range []struct{ tr, token string }{{"tcp", "TCP"}, {"tls", "TLS"}} {
		t.Run(tc.tr, func(t *testing.T) {
			var nc net.Conn
			if tc.tr == "tls" {
				nc = dialTLS(t, "127.0.0.2", se.addr["tls"], se.pool)
			} else {
				nc = dialTCP(t, "127.0.0.2", se.addr["tcp"])
			}
			phone := newStreamPeer(t, nc)
			callID := "stream-" + tc.tr
			phone.send(invite(tc.token, phone.addr, callID, "v=0\r\n"))
			got := uas.expect("INVITE at the back end", isMethod("INVITE"))
			top, _ := got.m.FirstValue(parser.KindVia)
			if v := string(got.m.Bytes(top)); !strings.HasPrefix(v, "SIP/2.0/UDP "+se.addr["udp"].String()+";branch=z9hG4bKsf") {
				t.Errorf("top Via at the back end: %q", v)
			}
			rr := rrValues(got)
			if len(rr) != 2 || !strings.Contains(rr[0], se.addr["udp"].String()+";lr;sfc=") ||
				!strings.Contains(rr[1], se.addr[tc.tr].String()+";transport="+tc.tr+";lr;sfc=") || !strings.Contains(rr[1], ";sft=") {
				t.Fatalf("Record-Route at the back end: %q", rr)
			}
			uas.send(got.from, respondTo(got, 180, "Ringing", "b1", uas.addr))
			uas.send(got.from, respondTo(got, 200, "OK", "b1", uas.addr))
			phone.expect("180", isStatus(180))
			ok := phone.expect("200", isStatus(200))
			if ok.m.Count(parser.KindVia) != 1 {
				t.Errorf("200 at the phone has %d Vias", ok.m.Count(parser.KindVia))
			}
			routes := reversed(rrValues(ok))
			contact := "sip:uas@" + uas.addr.String()
			phone.send(inDialog("ACK", tc.token, phone.addr, contact, callID, 1, routes))
			ack := uas.expect("ACK", isMethod("ACK"))
			if ack.m.Count(parser.KindRoute) != 0 {
				t.Errorf("ACK kept Routes: %q", ack.header(parser.KindRoute))
			}
			// The back end hangs up toward the phone: its route set is the
			// Record-Route list in order; the phone's contact is over TCP/TLS.
			bye := fmt.Sprintf("BYE sip:alice@%s;transport=%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-uas-%s\r\n"+
				"Route: %s\r\nRoute: %s\r\nMax-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=b1\r\n"+
				"To: <sip:alice@example.com>;tag=a-%s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
				phone.addr, tc.tr, uas.addr, tc.tr, rr[0], rr[1], callID, callID)
			uas.send(se.addr["udp"], bye)
			b := phone.expect("BYE from the back end", isMethod("BYE"))
			if b.m.Count(parser.KindRoute) != 0 {
				t.Errorf("BYE at the phone kept Routes: %q", b.header(parser.KindRoute))
			}
			phone.send(respondToStream(b, 200, "OK"))
			r := uas.expect("200 to the back end's BYE", isStatus(200))
			if r.m.Count(parser.KindVia) != 1 {
				t.Errorf("200 at the back end has %d Vias", r.m.Count(parser.KindVia))
			}
		})
	}
}

// respondToStream builds a response to a request received on a stream.
func respondToStream(r rx, code int, reason string) string {
	return respondTo(r, code, reason, "", netip.AddrPort{})
}

// TestStreamBackend: a UDP phone reaches a back end listed with
// ;transport=tcp: sipfront connects to it, reuses the connection for the next
// call, and relays responses from it.
func TestStreamBackend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	backend := netip.MustParseAddrPort(ln.Addr().String())
	accepted := make(chan *streamPeer, 4)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- newStreamPeer(t, nc)
		}
	}()
	se := startStreamEngine(t, "127.0.0.1", fmt.Sprintf("1 sip:%s;transport=tcp\n", backend), StreamConfig{})
	phone := newPhone(t, "phone")
	var be *streamPeer
	for i := 0; i < 3; i++ {
		callID := fmt.Sprintf("tcp-backend-%d", i)
		s := reqSpec{method: "OPTIONS", ruri: "sip:bob@example.com", callID: callID, branch: "z9hG4bK-" + callID,
			fromTag: "f", cseq: 1, from: phone.addr, body: strings.Repeat("x", 64<<10*(i/2))}
		if i == 2 {
			// A 64 KB message can only travel over a stream end to end: the
			// phone sends it over TCP too.
			nc := dialTCP(t, "127.0.0.2", se.addr["tcp"])
			sp := newStreamPeer(t, nc)
			sp.send(strings.Replace(s.String(), "SIP/2.0/UDP "+phone.addr.String(), "SIP/2.0/TCP "+sp.addr.String(), 1))
			got := be.expect("64 KB OPTIONS", isMethod("OPTIONS"))
			if len(got.m.Body()) != 64<<10 {
				t.Fatalf("body of %d bytes arrived", len(got.m.Body()))
			}
			be.send(respondToStream(got, 200, "OK"))
			sp.expect("200 to the 64 KB OPTIONS", isStatus(200))
			break
		}
		phone.send(se.addr["udp"], s.String())
		if be == nil {
			select {
			case be = <-accepted:
			case <-time.After(3 * time.Second):
				t.Fatal("sipfront did not connect to the back end")
			}
		}
		got := be.expect("OPTIONS at the back end", isMethod("OPTIONS"))
		top, _ := got.m.FirstValue(parser.KindVia)
		if v := string(got.m.Bytes(top)); !strings.HasPrefix(v, "SIP/2.0/TCP ") {
			t.Errorf("top Via %q", v)
		}
		be.send(respondToStream(got, 200, "OK"))
		phone.expect("200", isStatus(200))
	}
	select {
	case <-accepted:
		t.Error("a second connection to the back end was opened")
	default:
	}
}

// TestStreamSplitAndPing writes a request one byte per write (every split
// point), then a ping.
func TestStreamSplitAndPing(t *testing.T) {
	uas := newPeer(t, "uas")
	uas.serveUAS()
	se := startStreamEngine(t, "127.0.0.1", "1 sip:"+uas.addr.String()+"\n", StreamConfig{})
	nc := dialTCP(t, "127.0.0.2", se.addr["tcp"])
	nc.(*net.TCPConn).SetNoDelay(true)
	phone := newStreamPeer(t, nc)
	msg := invite("TCP", phone.addr, "split", "v=0\r\n")
	for i := 0; i < len(msg); i++ {
		if _, err := nc.Write([]byte{msg[i]}); err != nil {
			t.Fatal(err)
		}
	}
	phone.expect("200 after a byte-by-byte INVITE", isStatus(200))
	phone.send("\r\n\r\n")
	deadline := time.After(3 * time.Second)
	for {
		select {
		case r := <-phone.in:
			if string(r.b) == "\r\n" {
				return
			}
		case <-deadline:
			t.Fatal("no pong")
		}
	}
}

// TestStreamLimitsAndReaping: lost framing closes the connection; the
// per-address limit refuses the connection over it; hundreds of idle
// connections are reaped by the idle timeout, and no goroutine is left.
func TestStreamLimitsAndReaping(t *testing.T) {
	base := runtime.NumGoroutine()
	uas := newPeer(t, "uas")
	se := startStreamEngine(t, "127.0.0.1", "1 sip:"+uas.addr.String()+"\n",
		StreamConfig{IdleTimeout: 300 * time.Millisecond, MaxConnsPerIP: 250})
	t.Run("lost framing closes", func(t *testing.T) {
		nc := dialTCP(t, "127.0.0.2", se.addr["tcp"])
		nc.Write([]byte("OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2;branch=z9hG4bKx\r\n\r\n")) // no Content-Length
		nc.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := nc.Read(make([]byte, 10)); err == nil {
			t.Error("connection still open after a message without Content-Length")
		}
	})
	var conns []net.Conn
	for i := 0; i < 250; i++ {
		conns = append(conns, dialTCP(t, "127.0.0.3", se.addr["tcp"]))
	}
	over := dialTCP(t, "127.0.0.3", se.addr["tcp"])
	over.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := over.Read(make([]byte, 1)); err == nil {
		t.Error("connection over the per-address limit was served")
	}
	deadline := time.Now().Add(5 * time.Second)
	for se.e.streams.connections() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := se.e.streams.connections(); n != 0 {
		t.Fatalf("%d connections left after the idle timeout", n)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("an idle connection was not closed")
		}
		c.Close()
	}
	over.Close()
	deadline = time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+40 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+40 {
		t.Errorf("%d goroutines, %d at start: connection goroutines leak", n, base)
	}
}

// TestIPv6 runs a call over UDP and over TCP on ::1.
func TestIPv6(t *testing.T) {
	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback: ", err)
	}
	c.Close()
	uas := newPeerAt(t, "uas6", net.IPv6loopback)
	uas.serveUAS()
	se := startStreamEngine(t, "::1", "1 sip:"+uas.addr.String()+"\n", StreamConfig{})
	phone := newPeerAt(t, "phone6", net.IPv6loopback)
	// The back end and the phone share ::1; tell them apart by port in
	// this test by having the phone use a Route-less INVITE only.
	phone.send(se.addr["udp"], invite("UDP", phone.addr, "v6-udp", ""))
	ok := phone.expect("200 over UDP/IPv6", isStatus(200))
	if rr := ok.header(parser.KindRecordRoute); !strings.Contains(rr, "<sip:["+"::1]:") {
		t.Errorf("Record-Route %q", rr)
	}
	nc := dialTCP(t, "::1", se.addr["tcp"])
	sp := newStreamPeer(t, nc)
	sp.send(invite("TCP", sp.addr, "v6-tcp", ""))
	sp.expect("200 over TCP/IPv6", isStatus(200))
}

func TestFrameCopiesBody(t *testing.T) {
	// A guard for the stream reader: Frame's length covers the body.
	b := []byte(invite("TCP", netip.MustParseAddrPort("127.0.0.1:1"), "x", "hello"))
	_, n, err := parser.Frame(b)
	if err != nil || n != len(b) || !bytes.HasSuffix(b[:n], []byte("hello")) {
		t.Fatalf("Frame = %d, %v", n, err)
	}
}

// TestTLSVersionsAndClientCerts: TLS 1.2 and 1.3 both work; with a client CA
// and a required client certificate, a phone without one is refused and a
// phone with one signed by that CA gets through.
func TestTLSVersionsAndClientCerts(t *testing.T) {
	uas := newPeer(t, "uas")
	uas.serveUAS()
	// A CA and a client certificate it signs.
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "phones CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	clKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	clTmpl := &x509.Certificate{SerialNumber: big.NewInt(8), Subject: pkix.Name{CommonName: "phone 1001"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	clDER, _ := x509.CreateCertificate(rand.Reader, clTmpl, caCert, &clKey.PublicKey, caKey)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)

	se := startStreamEngine(t, "127.0.0.1", "1 sip:"+uas.addr.String()+"\n",
		StreamConfig{TLSClientCA: caFile, TLSRequireClientCert: true})
	dial := func(version uint16, certs []tls.Certificate) error {
		nc := dialTCP(t, "127.0.0.2", se.addr["tls"])
		tc := tls.Client(nc, &tls.Config{RootCAs: se.pool, ServerName: "127.0.0.1", MinVersion: version,
			MaxVersion: version, Certificates: certs})
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return err
		}
		p := newStreamPeer(t, tc)
		p.send(invite("TLS", p.addr, fmt.Sprint("tls-version-", version), ""))
		deadline := time.After(3 * time.Second)
		for {
			select {
			case r, ok := <-p.in:
				if !ok {
					return io.EOF // refused after the handshake (TLS 1.3 checks the client late)
				}
				if r.m != nil && isStatus(200)(r) {
					return nil
				}
			case <-deadline:
				return fmt.Errorf("no 200")
			}
		}
	}
	client := []tls.Certificate{{Certificate: [][]byte{clDER}, PrivateKey: clKey}}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		if err := dial(v, client); err != nil {
			t.Errorf("TLS %x with a client certificate: %v", v, err)
		}
		if err := dial(v, nil); err == nil {
			t.Errorf("TLS %x without a client certificate was served", v)
		}
	}
}

// TestLargeRequestUpgradesToTCP: RFC 3261 §18.1.1. A request over 1300
// bytes to a UDP back end goes over TCP when sipfront has a TCP listener;
// when the back end takes no TCP it falls back to UDP.
func TestLargeRequestUpgradesToTCP(t *testing.T) {
	big := strings.Repeat("a=x-padding:0123456789\r\n", 60) // ~1.4 KB of SDP-like body
	t.Run("back end on TCP too", func(t *testing.T) {
		udp := newPeer(t, "uas-udp")
		ln, err := net.Listen("tcp", udp.addr.String()) // same port, TCP
		if err != nil {
			t.Skip("TCP port taken: ", err)
		}
		defer ln.Close()
		got := make(chan *streamPeer, 1)
		go func() {
			if nc, err := ln.Accept(); err == nil {
				got <- newStreamPeer(t, nc)
			}
		}()
		se := startStreamEngine(t, "127.0.0.1", "1 sip:"+udp.addr.String()+"\n", StreamConfig{})
		phone := newPhone(t, "phone")
		phone.send(se.addr["udp"], invite("UDP", phone.addr, "big-tcp", big))
		select {
		case be := <-got:
			r := be.expect("INVITE over TCP", isMethod("INVITE"))
			if top, _ := r.m.FirstValue(parser.KindVia); !strings.HasPrefix(string(r.m.Bytes(top)), "SIP/2.0/TCP ") {
				t.Errorf("top Via %q", r.m.Bytes(top))
			}
		case <-time.After(3 * time.Second):
			t.Fatal("no TCP connection for a large request")
		}
	})
	t.Run("back end on UDP only", func(t *testing.T) {
		udp := newPeer(t, "uas-udp")
		se := startStreamEngine(t, "127.0.0.1", "1 sip:"+udp.addr.String()+"\n", StreamConfig{})
		phone := newPhone(t, "phone")
		phone.send(se.addr["udp"], invite("UDP", phone.addr, "big-udp", big))
		r := udp.expect("INVITE over UDP after TCP failed", isMethod("INVITE"))
		if len(r.m.Body()) != len(big) {
			t.Errorf("body of %d bytes", len(r.m.Body()))
		}
	})
}

package lb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sipfront/sipfront/parser"
)

// The stream transports, TCP and TLS. Every connection has one goroutine
// that reads, frames by Content-Length (parser.Frame) and hands each message
// to a processor taken from a pool; it writes under the connection's lock.
// Connections are found by transport and remote address: a response goes
// back over the connection its request came in on (our received/rport in the
// Via below ours name it), a request to a back end reuses the one connection
// per destination and transport, and a request toward a phone on TCP/TLS uses
// the connection named by the flow token in our Record-Route.
//
// What protects the process: a total and a per-address connection limit, an
// idle timeout, a TLS handshake timeout, a deadline for a message once its
// first byte arrived (slow senders), the parser's size limit, and a write
// deadline. A reader holds a small buffer while idle; the large one comes
// from a pool for the time a message is being read.

type connKey struct {
	tr   transport
	addr netip.AddrPort
}

type streamSet struct {
	e   *Engine
	cfg StreamConfig
	st  *workerStats // counters of the messages handled on connections

	listeners []streamListener
	cert      atomic.Pointer[tls.Certificate]
	server    *tls.Config
	client    *tls.Config

	procs sync.Pool // *proc, each with its own output buffer
	bufs  sync.Pool // *[]byte read buffers of readBufSize

	mu     sync.Mutex
	conns  map[connKey]*streamConn
	perIP  map[netip.Addr]int
	failed map[connKey]time.Time // destinations whose dial failed, until when
	total  int
	closed bool
	wg     sync.WaitGroup

	accepted, refused, dialed, dialFailed, framing, timeouts, closedConns, writeErrors atomic.Uint64
	noConn, pendingDropped, udpFallback                                                atomic.Uint64
	started, finished                                                                  atomic.Uint64 // messages handled (Engine.quiesce)
}

type streamListener struct {
	ln net.Listener
	id *ident
}

const (
	idleReadSize = 512      // what an idle connection reads into
	readBufSize  = 16 << 10 // pooled buffer for a message in progress
	maxPending   = 256      // messages queued while a connection is being dialed
	failBackoff  = 3 * time.Second
)

func newStreamSet(e *Engine) *streamSet {
	s := &streamSet{
		e:      e,
		cfg:    e.cfg.Streams,
		st:     new(workerStats),
		conns:  map[connKey]*streamConn{},
		perIP:  map[netip.Addr]int{},
		failed: map[connKey]time.Time{},
	}
	s.procs.New = func() any {
		return &proc{e: e, st: s.st, out: make([]byte, 0, parser.MaxMessageSize+parser.EditorScratch)}
	}
	s.bufs.New = func() any { b := make([]byte, readBufSize); return &b }
	return s
}

// listen opens Workers SO_REUSEPORT listeners on addr for tr.
func (s *streamSet) listen(tr transport, addr netip.AddrPort) (*ident, error) {
	if tr == trTLS && s.server == nil {
		if err := s.setupTLS(); err != nil {
			return nil, err
		}
	}
	id := &ident{tr: tr, addr: addr}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	network := "tcp4"
	if id.addr.Addr().Is6() {
		network = "tcp"
	}
	for i := 0; i < s.e.cfg.Workers; i++ {
		ln, err := lc.Listen(context.Background(), network, id.addr.String())
		if err != nil {
			return nil, err
		}
		id.addr = netip.AddrPortFrom(id.addr.Addr(), uint16(ln.Addr().(*net.TCPAddr).Port))
		s.listeners = append(s.listeners, streamListener{ln: ln, id: id})
	}
	return id, nil
}

// setupTLS prepares the server and client TLS configurations.
func (s *streamSet) setupTLS() error {
	if s.cfg.TLS != nil {
		s.server = s.cfg.TLS.Clone()
	} else {
		if err := s.reloadCert(); err != nil {
			return err
		}
		s.server = &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return s.cert.Load(), nil
			},
		}
	}
	if s.cfg.TLSClientCA != "" {
		pool, err := loadCAs(s.cfg.TLSClientCA)
		if err != nil {
			return err
		}
		s.server.ClientCAs = pool
		s.server.ClientAuth = tls.VerifyClientCertIfGiven
		if s.cfg.TLSRequireClientCert {
			s.server.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return nil
}

// reloadCert reads the certificate and key files again; the running
// certificate stays on error.
func (s *streamSet) reloadCert() error {
	if s.cfg.TLSCert == "" {
		return nil
	}
	c, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	s.cert.Store(&c)
	return nil
}

func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls CA %s: no certificate found", path)
	}
	return pool, nil
}

func (s *streamSet) clientTLS() (*tls.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.cfg.TLSBackendInsecure}
	if s.cfg.TLSBackendCA != "" {
		pool, err := loadCAs(s.cfg.TLSBackendCA)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	s.client = c
	return c, nil
}

// serve starts an accept loop per listener.
func (s *streamSet) serve(wg *sync.WaitGroup) {
	for _, l := range s.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.accept(l)
		}()
	}
}

func (s *streamSet) accept(l streamListener) {
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: back off briefly, never spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		remote := nc.RemoteAddr().(*net.TCPAddr).AddrPort()
		remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
		if uf := s.e.filter.user; uf != nil && uf.CheckConn(remote.Addr(), l.id.addr.Port(), time.Now()).Drop() {
			s.refused.Add(1)
			nc.Close()
			continue
		}
		c := &streamConn{s: s, key: connKey{tr: l.id.tr, addr: remote}, nc: nc, inbound: true}
		c.o = origin{tr: l.id.tr, src: remote, id: l.id, conn: c}
		if la, ok := nc.LocalAddr().(*net.TCPAddr); ok {
			c.o.local = la.AddrPort().Addr().Unmap()
		}
		if !s.add(c) {
			s.refused.Add(1)
			nc.Close()
			continue
		}
		s.accepted.Add(1)
		go c.run()
	}
}

// add registers a connection within the limits.
func (s *streamSet) add(c *streamConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.total >= s.cfg.MaxConns {
		return false
	}
	ip := c.key.addr.Addr()
	if c.inbound {
		if s.perIP[ip] >= s.cfg.MaxConnsPerIP {
			return false
		}
		s.perIP[ip]++
	}
	s.total++
	// A newer connection from the same address replaces the older one in
	// the index (the older still drains and closes on its own).
	s.conns[c.key] = c
	s.wg.Add(1)
	return true
}

func (s *streamSet) remove(c *streamConn) {
	s.mu.Lock()
	if s.conns[c.key] == c {
		delete(s.conns, c.key)
	}
	if c.inbound {
		ip := c.key.addr.Addr()
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
	}
	s.total--
	s.mu.Unlock()
	s.closedConns.Add(1)
	s.wg.Done()
}

func (s *streamSet) lookup(tr transport, addr netip.AddrPort) *streamConn {
	s.mu.Lock()
	c := s.conns[connKey{tr: tr, addr: addr}]
	s.mu.Unlock()
	return c
}

// send writes one message to its target's connection, opening one to a
// destination when the target allows it. Responses never open connections:
// their request's connection is gone, and so is their way back.
func (s *streamSet) send(b []byte, t target, st *workerStats) {
	c := t.conn
	if c == nil {
		c = s.lookup(t.tr, t.addr)
	}
	if c == nil {
		if !t.dial {
			s.noConn.Add(1)
			return
		}
		c = s.dial(t)
		if c == nil {
			s.fallback(b, t, st)
			return
		}
	}
	c.write(b, t)
}

// fallback sends a request whose connection could not be made: over UDP when
// it was upgraded to TCP for its size only (RFC 3261 §18.1.1), else it is
// dropped and counted.
func (s *streamSet) fallback(b []byte, t target, st *workerStats) {
	if t.tr == trTCP && t.upgraded && s.e.hasUDP {
		s.udpFallback.Add(1)
		s.e.send(b, target{tr: trUDP, addr: t.addr}, st)
		return
	}
	s.pendingDropped.Add(1)
}

// dial registers a connection to t in the dialing state and connects in the
// background; messages written meanwhile wait in its queue. It returns nil
// when the destination failed recently or the limits are reached.
func (s *streamSet) dial(t target) *streamConn {
	key := connKey{tr: t.tr, addr: t.addr}
	s.mu.Lock()
	if c := s.conns[key]; c != nil {
		s.mu.Unlock()
		return c
	}
	if until, ok := s.failed[key]; ok {
		if time.Now().Before(until) {
			s.mu.Unlock()
			return nil
		}
		delete(s.failed, key)
	}
	s.mu.Unlock()
	c := &streamConn{s: s, key: key, dialing: true}
	c.o = origin{tr: t.tr, src: t.addr, id: t.from, conn: c}
	if !s.add(c) {
		return nil
	}
	s.dialed.Add(1)
	go c.dialAndRun()
	return c
}

func (s *streamSet) markFailed(key connKey) {
	s.mu.Lock()
	s.failed[key] = time.Now().Add(failBackoff)
	s.mu.Unlock()
}

// handle processes one framed message from c.
func (s *streamSet) handle(msg []byte, c *streamConn) {
	s.started.Add(1)
	defer s.finished.Add(1)
	p := s.procs.Get().(*proc)
	res, t := p.handle(msg, &c.o, p.out[:0])
	if len(res) > 0 {
		s.e.send(res, t, s.st)
	}
	s.procs.Put(p)
}

func (s *streamSet) close() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*streamConn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, l := range s.listeners {
		l.ln.Close()
	}
	for _, c := range conns {
		c.close()
	}
}

func (s *streamSet) wait() { s.wg.Wait() }

// connections returns how many connections are open.
func (s *streamSet) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func (s *streamSet) writePrometheus(w io.Writer) {
	fmt.Fprintf(w, "sipfront_lb_stream_connections %d\n", s.connections())
	for _, c := range []struct {
		name string
		v    *atomic.Uint64
	}{
		{"sipfront_lb_stream_accepted_total", &s.accepted},
		{"sipfront_lb_stream_refused_total", &s.refused},
		{"sipfront_lb_stream_dialed_total", &s.dialed},
		{"sipfront_lb_stream_dial_failures_total", &s.dialFailed},
		{"sipfront_lb_stream_framing_errors_total", &s.framing},
		{"sipfront_lb_stream_timeouts_total", &s.timeouts},
		{"sipfront_lb_stream_closed_total", &s.closedConns},
		{"sipfront_lb_stream_write_errors_total", &s.writeErrors},
		{"sipfront_lb_stream_no_connection_total", &s.noConn},
		{"sipfront_lb_stream_pending_dropped_total", &s.pendingDropped},
		{"sipfront_lb_stream_udp_fallback_total", &s.udpFallback},
	} {
		fmt.Fprintf(w, "%s %d\n", c.name, c.v.Load())
	}
}

// pong answers a double-CRLF keep-alive (RFC 5626 §3.5.1).
var pong = []byte("\r\n")

// streamConn is one TCP or TLS connection, accepted or dialed.
type streamConn struct {
	s       *streamSet
	key     connKey
	inbound bool
	o       origin

	wmu     sync.Mutex
	nc      net.Conn // nil while dialing
	dialing bool
	pending []pendingMsg
	closed  bool
}

type pendingMsg struct {
	b []byte
	t target
}

// write sends b, or queues a copy while the connection is being dialed.
func (c *streamConn) write(b []byte, t target) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	switch {
	case c.closed:
		c.s.fallback(b, t, c.s.st)
	case c.dialing:
		if len(c.pending) >= maxPending {
			c.s.pendingDropped.Add(1)
			return
		}
		c.pending = append(c.pending, pendingMsg{b: append([]byte(nil), b...), t: t})
	default:
		c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		if _, err := c.nc.Write(b); err != nil {
			c.s.writeErrors.Add(1)
			c.closed = true
			c.nc.Close()
		}
	}
}

func (c *streamConn) close() {
	c.wmu.Lock()
	c.closed = true
	if c.nc != nil {
		c.nc.Close()
	}
	c.wmu.Unlock()
}

// dialAndRun connects to the destination, flushes what was queued, and reads.
func (c *streamConn) dialAndRun() {
	s := c.s
	nc, err := c.connect()
	c.wmu.Lock()
	pending := c.pending
	c.pending = nil
	c.dialing = false
	if err != nil || c.closed {
		c.closed = true
		c.wmu.Unlock()
		if nc != nil {
			nc.Close()
		}
		s.dialFailed.Add(1)
		s.markFailed(c.key)
		if pr := s.e.prober; pr != nil {
			pr.NoteUnreachable(c.key.addr) // passive detection, as an ICMP unreachable on UDP
		}
		s.e.log.Debug("stream: connect failed", "to", c.key.addr, "transport", viaToken(c.key.tr), "err", err)
		for _, p := range pending {
			s.fallback(p.b, p.t, s.st)
		}
		s.remove(c)
		return
	}
	c.nc = nc
	if la, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		c.o.local = la.AddrPort().Addr().Unmap()
	}
	for _, p := range pending {
		nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := nc.Write(p.b); err != nil {
			s.writeErrors.Add(1)
			c.closed = true
			break
		}
	}
	closed := c.closed
	c.wmu.Unlock()
	if closed {
		nc.Close()
		s.remove(c)
		return
	}
	c.read()
}

func (c *streamConn) connect() (net.Conn, error) {
	s := c.s
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	nc, err := d.Dial("tcp", c.key.addr.String())
	if err != nil || c.key.tr != trTLS {
		return nc, err
	}
	cfg, err := s.clientTLS()
	if err != nil {
		nc.Close()
		return nil, err
	}
	cfg = cfg.Clone()
	cfg.ServerName = c.key.addr.Addr().String()
	tc := tls.Client(nc, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// run serves an accepted connection: the TLS handshake, then reading.
func (c *streamConn) run() {
	s := c.s
	if c.key.tr == trTLS {
		tc := tls.Server(c.nc, s.server)
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			s.timeouts.Add(1)
			c.nc.Close()
			s.remove(c)
			return
		}
		c.wmu.Lock()
		c.nc = tc
		c.wmu.Unlock()
		// Read on a fresh goroutine: the handshake grew this one's stack,
		// and an idle connection should hold a small one (a connection's
		// idle cost is mostly its reader's stack and TLS buffers).
		go c.read()
		return
	}
	c.read()
}

// read frames and handles messages until the connection ends. An idle
// connection reads into a small array; a message in progress uses a pooled
// buffer that goes back to the pool as soon as it is consumed.
func (c *streamConn) read() {
	s := c.s
	defer func() {
		c.close()
		s.remove(c)
	}()
	var small [idleReadSize]byte
	var pooled *[]byte // the pooled buffer buf lives in, if any
	buf := small[:0]
	var started time.Time
	for {
		now := time.Now()
		if len(buf) == 0 {
			c.nc.SetReadDeadline(now.Add(s.cfg.IdleTimeout))
		} else {
			c.nc.SetReadDeadline(started.Add(s.cfg.MessageTimeout))
		}
		if len(buf) == cap(buf) {
			switch {
			case cap(buf) == idleReadSize:
				pooled = s.bufs.Get().(*[]byte)
				buf = append((*pooled)[:0], buf...)
			case cap(buf) < parser.MaxMessageSize+4:
				// A message larger than the pooled buffer: a buffer of its
				// own, for as long as it takes to read it.
				nb := make([]byte, len(buf), 2*cap(buf))
				copy(nb, buf)
				buf = nb
				if pooled != nil {
					s.bufs.Put(pooled)
					pooled = nil
				}
			default:
				s.framing.Add(1)
				return
			}
		}
		n, err := c.nc.Read(buf[len(buf):cap(buf)])
		if n > 0 && len(buf) == 0 {
			started = now
		}
		buf = buf[:len(buf)+n]
		off := 0
		for off < len(buf) {
			kind, m, ferr := parser.Frame(buf[off:])
			if ferr != nil {
				s.framing.Add(1)
				return
			}
			if kind == parser.FrameIncomplete {
				break
			}
			switch kind {
			case parser.FramePing:
				c.write(pong, target{})
			case parser.FrameMessage:
				s.handle(buf[off:off+m], c)
			}
			off += m
		}
		if off > 0 {
			rest := copy(buf, buf[off:])
			buf = buf[:rest]
			started = now
		}
		if len(buf) == 0 && cap(buf) != idleReadSize {
			if pooled != nil {
				s.bufs.Put(pooled)
				pooled = nil
			}
			buf = small[:0]
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.timeouts.Add(1)
			}
			return
		}
	}
}

//go:build linux

package sock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestResolveListen(t *testing.T) {
	tests := []struct {
		name    string
		network string
		addr    string // "" = zero AddrPort
		wantNet string
		wantAP  string
		wantErr error
	}{
		{"udp4 zero", "udp4", "", "udp4", "0.0.0.0:0", nil},
		{"udp4 addr", "udp4", "127.0.0.1:5060", "udp4", "127.0.0.1:5060", nil},
		{"udp4 mapped", "udp4", "[::ffff:127.0.0.1]:5060", "udp4", "127.0.0.1:5060", nil},
		{"udp4 v6", "udp4", "[::1]:5060", "", "", ErrAddrFamily},
		{"udp6 zero", "udp6", "", "udp6", "[::]:0", nil},
		{"udp6 addr", "udp6", "[::1]:5060", "udp6", "[::1]:5060", nil},
		{"udp6 v4", "udp6", "127.0.0.1:5060", "", "", ErrAddrFamily},
		{"udp6 mapped", "udp6", "[::ffff:127.0.0.1]:5060", "", "", ErrAddrFamily},
		{"udp zero is dual-stack", "udp", "", "udp", "[::]:0", nil},
		{"udp [::] is dual-stack", "udp", "[::]:5060", "udp", "[::]:5060", nil},
		{"udp 0.0.0.0 stays IPv4", "udp", "0.0.0.0:5060", "udp4", "0.0.0.0:5060", nil},
		{"udp v4", "udp", "127.0.0.1:5060", "udp4", "127.0.0.1:5060", nil},
		{"udp v6", "udp", "[::1]:5060", "udp6", "[::1]:5060", nil},
		{"tcp", "tcp", "127.0.0.1:5060", "", "", ErrNetwork},
		{"empty network", "", "127.0.0.1:5060", "", "", ErrNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ap netip.AddrPort
			if tc.addr != "" {
				ap = netip.MustParseAddrPort(tc.addr)
			}
			nw, got, err := resolveListen(tc.network, ap)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if nw != tc.wantNet || got.String() != tc.wantAP {
				t.Fatalf("got %s %s, want %s %s", nw, got, tc.wantNet, tc.wantAP)
			}
		})
	}
}

func TestListenFamilies(t *testing.T) {
	tests := []struct {
		name      string
		network   string
		addr      string
		needV6    bool
		wantDual  bool
		wantLocal string // address part of LocalAddr
	}{
		{"udp4 wildcard", "udp4", "0.0.0.0:0", false, false, "0.0.0.0"},
		{"udp 0.0.0.0", "udp", "0.0.0.0:0", false, false, "0.0.0.0"},
		{"udp [::] dual-stack", "udp", "[::]:0", true, true, "::"},
		{"udp6 [::] v6 only", "udp6", "[::]:0", true, false, "::"},
		{"udp ::1", "udp", "[::1]:0", true, false, "::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needV6 {
				have6(t)
			}
			c := listen(t, tc.network, tc.addr, Options{})
			if c.DualStack() != tc.wantDual {
				t.Errorf("DualStack() = %v, want %v", c.DualStack(), tc.wantDual)
			}
			if got := c.LocalAddr(); got.Addr().String() != tc.wantLocal || got.Port() == 0 {
				t.Errorf("LocalAddr() = %v, want %s with a port", got, tc.wantLocal)
			}
		})
	}
}

// Many datagrams from several sources, read in batches: every payload comes
// with its own source, and batching really happens (one recvmmsg returns more
// than one datagram when they are queued).
func TestBatchReceiveSources(t *testing.T) {
	c := listen(t, "udp4", "127.0.0.1:0", Options{RecvBuf: 1 << 20})
	const clients, each = 4, 25
	var peers []*net.UDPConn
	for i := 0; i < clients; i++ {
		peers = append(peers, peer(t, "127.0.0.1:0"))
	}
	for j := 0; j < each; j++ {
		for i, pc := range peers {
			send(t, pc, c.LocalAddr(), fmt.Sprintf("c%d-%d", i, j))
		}
	}
	b := NewBatch(32, 2048)
	msgs, sizes := readMsgs(t, c, b, clients*each)
	if len(msgs) != clients*each {
		t.Fatalf("received %d, want %d", len(msgs), clients*each)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		var i, j int
		if _, err := fmt.Sscanf(m.data, "c%d-%d", &i, &j); err != nil || i < 0 || i >= clients {
			t.Fatalf("bad payload %q", m.data)
		}
		if want := peerAddr(peers[i]); m.addr != want {
			t.Errorf("payload %q from %v, want %v", m.data, m.addr, want)
		}
		if m.local != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("Local = %v, want the bound address 127.0.0.1", m.local)
		}
		if seen[m.data] {
			t.Errorf("payload %q twice", m.data)
		}
		seen[m.data] = true
	}
	if sizes[0] < 2 {
		t.Errorf("first ReadBatch returned %d with %d datagrams queued; recvmmsg is not batching", sizes[0], clients*each)
	}
	if st := c.Stats(); st.Received != clients*each {
		t.Errorf("Stats.Received = %d, want %d", st.Received, clients*each)
	}
	if r, _ := c.BufferSizes(); r < 1<<20 {
		t.Logf("SO_RCVBUF obtained %d (asked 1 MiB; capped without privilege)", r)
	}
}

// A socket bound to 0.0.0.0 learns, per datagram, the address it arrived on,
// and a reply sent with that Local leaves from it. Without pktinfo the kernel
// picks the source itself (127.0.0.1 towards 127.0.0.1), which is what the
// proxy must avoid when it listens on several addresses.
func TestPktInfoLocalV4(t *testing.T) {
	tests := []struct {
		name      string
		pktinfo   bool
		target    string
		wantLocal string // "" = zero Addr
		wantFrom  string
	}{
		{"pktinfo 127.0.0.1", true, "127.0.0.1", "127.0.0.1", "127.0.0.1"},
		{"pktinfo 127.0.0.2", true, "127.0.0.2", "127.0.0.2", "127.0.0.2"},
		{"pktinfo 127.0.0.3", true, "127.0.0.3", "127.0.0.3", "127.0.0.3"},
		{"no pktinfo 127.0.0.2", false, "127.0.0.2", "", "127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := listen(t, "udp4", "0.0.0.0:0", Options{PktInfo: tc.pktinfo})
			pc := peer(t, "127.0.0.1:0")
			send(t, pc, to(tc.target, c), "ping")
			b := NewBatch(4, 1500)
			msgs, _ := readMsgs(t, c, b, 1)
			m := msgs[0]
			var want netip.Addr
			if tc.wantLocal != "" {
				want = netip.MustParseAddr(tc.wantLocal)
			}
			if m.local != want || m.addr != peerAddr(pc) || m.data != "ping" {
				t.Fatalf("got %q from %v local %v, want ping from %v local %v", m.data, m.addr, m.local, peerAddr(pc), want)
			}
			if tc.pktinfo && m.ifindex == 0 {
				t.Errorf("IfIndex = 0 with pktinfo")
			}
			// Reply in place: same slot, destination = source.
			copy(b.Msgs[0].Buf, "pong")
			b.Msgs[0].N = 4
			if n, err := c.WriteBatch(b, 1); n != 1 || err != nil || b.Msgs[0].Err != 0 {
				t.Fatalf("WriteBatch = %d, %v (msg err %v)", n, err, b.Msgs[0].Err)
			}
			data, from := recvPeer(t, pc)
			if data != "pong" || from != to(tc.wantFrom, c) {
				t.Fatalf("peer got %q from %v, want pong from %v", data, from, to(tc.wantFrom, c))
			}
		})
	}
}

// A dual-stack socket on [::]: IPv4 peers and local addresses come out
// unmapped, and replies from a local IPv4 address work through IPV6_PKTINFO.
func TestDualStack(t *testing.T) {
	have6(t)
	c := listen(t, "udp", "[::]:0", Options{PktInfo: true})
	if !c.DualStack() {
		t.Fatal("udp on [::] is not dual-stack")
	}
	tests := []struct {
		name, peerAddr, target string
	}{
		{"ipv4 127.0.0.3", "127.0.0.1:0", "127.0.0.3"},
		{"ipv4 127.0.0.1", "127.0.0.1:0", "127.0.0.1"},
		{"ipv6 ::1", "[::1]:0", "::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pc := peer(t, tc.peerAddr)
			send(t, pc, to(tc.target, c), "hello")
			b := NewBatch(2, 1500)
			msgs, _ := readMsgs(t, c, b, 1)
			m := msgs[0]
			if m.addr != peerAddr(pc) || m.addr.Addr().Is4In6() {
				t.Errorf("Addr = %v, want %v (unmapped)", m.addr, peerAddr(pc))
			}
			if m.local != netip.MustParseAddr(tc.target) {
				t.Errorf("Local = %v, want %s", m.local, tc.target)
			}
			if err := c.WriteTo([]byte("back"), m.addr, m.local); err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			data, from := recvPeer(t, pc)
			if data != "back" || from != to(tc.target, c) {
				t.Fatalf("peer got %q from %v, want back from %v", data, from, to(tc.target, c))
			}
		})
	}
}

// A Local of the other family than the destination is not an error: the
// kernel picks the source.
func TestLocalFamilyMismatch(t *testing.T) {
	have6(t)
	c := listen(t, "udp", "[::]:0", Options{PktInfo: true})
	pc := peer(t, "127.0.0.1:0")
	if err := c.WriteTo([]byte("x"), peerAddr(pc), netip.MustParseAddr("::1")); err != nil {
		t.Fatalf("WriteTo with an IPv6 source to an IPv4 peer: %v", err)
	}
	if data, from := recvPeer(t, pc); data != "x" || from != to("127.0.0.1", c) {
		t.Fatalf("peer got %q from %v", data, from)
	}
}

func TestReusePort(t *testing.T) {
	const socks, clients = 4, 64
	first := listen(t, "udp4", "127.0.0.1:0", Options{ReusePort: true})
	conns := []*Conn{first}
	addr := first.LocalAddr().String()
	for i := 1; i < socks; i++ {
		conns = append(conns, listen(t, "udp4", addr, Options{ReusePort: true}))
	}
	t.Run("without SO_REUSEPORT the port is taken", func(t *testing.T) {
		c, err := ListenUDP("udp4", first.LocalAddr(), Options{})
		if err == nil {
			c.Close()
			t.Fatal("second bind without SO_REUSEPORT succeeded")
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("err = %v, want EADDRINUSE", err)
		}
	})
	for i := 0; i < clients; i++ {
		pc := peer(t, "127.0.0.1:0")
		send(t, pc, first.LocalAddr(), fmt.Sprintf("m%d", i))
	}
	// Each datagram is queued on one of the sockets; sweep them with short
	// deadlines until all are found (or 5 s pass).
	total := 0
	per := make([]int, socks)
	b := NewBatch(clients, 64)
	for end := time.Now().Add(5 * time.Second); total < clients && time.Now().Before(end); {
		for i, c := range conns {
			for {
				c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
				k, err := c.ReadBatch(b)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				if err != nil {
					t.Fatalf("ReadBatch: %v", err)
				}
				per[i] += k
				total += k
			}
		}
	}
	if total != clients {
		t.Fatalf("received %d of %d", total, clients)
	}
	busy := 0
	for _, n := range per {
		if n > 0 {
			busy++
		}
	}
	// 64 flows landing all on one of 4 sockets has probability 4^-63.
	if busy < 2 {
		t.Fatalf("only %d of %d sockets received traffic", busy, socks)
	}
}

// ReadBatch returns what is queued without waiting for the batch to fill, and
// reads no more slots than Msgs holds.
func TestPartialBatch(t *testing.T) {
	c := listen(t, "udp4", "127.0.0.1:0", Options{})
	pc := peer(t, "127.0.0.1:0")
	b := NewBatch(16, 256)
	for i := 0; i < 5; i++ {
		send(t, pc, c.LocalAddr(), fmt.Sprintf("a%d", i))
	}
	msgs, sizes := readMsgs(t, c, b, 5)
	for i, m := range msgs {
		if m.data != fmt.Sprintf("a%d", i) {
			t.Errorf("message %d = %q (order must be kept)", i, m.data)
		}
	}
	for _, k := range sizes {
		if k < 1 || k > 5 {
			t.Errorf("ReadBatch returned %d", k)
		}
	}

	b.Msgs = b.Msgs[:2]
	for i := 0; i < 5; i++ {
		send(t, pc, c.LocalAddr(), fmt.Sprintf("b%d", i))
	}
	msgs, sizes = readMsgs(t, c, b, 5)
	if len(msgs) != 5 {
		t.Fatalf("got %d messages", len(msgs))
	}
	for _, k := range sizes {
		if k > 2 {
			t.Errorf("ReadBatch filled %d slots of a batch shortened to 2", k)
		}
	}
}

// A datagram larger than its slot is cut and flagged, through each receive
// call ReadBatch uses: recvmmsg (several slots), recvmsg (one slot, pktinfo)
// and recvfrom (one slot, no control data).
func TestTruncation(t *testing.T) {
	tests := []struct {
		name    string
		slots   int
		pktinfo bool
	}{
		{"recvmmsg", 4, true},
		{"recvmsg", 1, true},
		{"recvfrom", 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slots := tc.slots
			c := listen(t, "udp4", "127.0.0.1:0", Options{PktInfo: tc.pktinfo})
			pc := peer(t, "127.0.0.1:0")
			big := strings.Repeat("x", 60) + strings.Repeat("y", 40)
			send(t, pc, c.LocalAddr(), big)
			send(t, pc, c.LocalAddr(), "small")
			b := NewBatch(slots, 64)
			msgs, _ := readMsgs(t, c, b, 2)
			if !msgs[0].trunc || msgs[0].n != 64 || msgs[0].data != big[:64] {
				t.Errorf("big datagram: trunc=%v n=%d data=%q", msgs[0].trunc, msgs[0].n, msgs[0].data)
			}
			if msgs[1].trunc || msgs[1].data != "small" || msgs[1].addr != peerAddr(pc) {
				t.Errorf("small datagram: trunc=%v data=%q from %v", msgs[1].trunc, msgs[1].data, msgs[1].addr)
			}
			for _, m := range msgs {
				if m.local != netip.MustParseAddr("127.0.0.1") || (m.ifindex == 0) == tc.pktinfo {
					t.Errorf("Local %v IfIndex %d with pktinfo %v", m.local, m.ifindex, tc.pktinfo)
				}
			}
			if st := c.Stats(); st.Truncated != 1 || st.Received != 2 {
				t.Errorf("Stats = %+v, want Truncated 1 Received 2", st)
			}
		})
	}
}

func TestCloseUnblocksReader(t *testing.T) {
	c, err := ListenUDP("udp4", netip.MustParseAddrPort("127.0.0.1:0"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	pc := peer(t, "127.0.0.1:0")
	b := NewBatch(8, 256)
	first := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		if _, err := c.ReadBatch(b); err != nil {
			done <- err
			return
		}
		close(first)
		_, err := c.ReadBatch(b) // blocks: nothing more is sent
		done <- err
	}()
	send(t, pc, c.LocalAddr(), "ready")
	select {
	case <-first:
	case err := <-done:
		t.Fatalf("first ReadBatch: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("first datagram not read")
	}
	time.Sleep(20 * time.Millisecond) // let the reader park; correct either way
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != net.ErrClosed {
			t.Fatalf("blocked ReadBatch returned %v, want net.ErrClosed", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("ReadBatch took %v to notice Close", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still blocked 5s after Close")
	}
	if _, err := c.ReadBatch(b); err != net.ErrClosed {
		t.Errorf("ReadBatch after Close = %v, want net.ErrClosed", err)
	}
	if _, err := c.WriteBatch(b, 0); err != nil {
		t.Errorf("WriteBatch of 0 messages after Close = %v, want nil (nothing to do)", err)
	}
	b.Msgs[0] = Msg{Buf: b.Msgs[0].Buf, N: 1, Addr: peerAddr(pc)}
	if _, err := c.WriteBatch(b, 1); err != net.ErrClosed {
		t.Errorf("WriteBatch after Close = %v, want net.ErrClosed", err)
	}
	if err := c.WriteTo([]byte("x"), peerAddr(pc), netip.Addr{}); err != net.ErrClosed {
		t.Errorf("WriteTo after Close = %v, want net.ErrClosed", err)
	}
}

func TestReadDeadline(t *testing.T) {
	c := listen(t, "udp4", "127.0.0.1:0", Options{})
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := c.ReadBatch(NewBatch(1, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadBatch = %v, want deadline exceeded", err)
	}
}

// One bad message in the middle of a batch costs only itself: the kernel
// refuses port 0 (EINVAL, inside sendmmsg), an IPv6 destination cannot go out
// of an IPv4 socket and a zero Addr has nowhere to go (both caught before
// the system call).
func TestWriteBatchBadDestination(t *testing.T) {
	c := listen(t, "udp4", "127.0.0.1:0", Options{})
	pc := peer(t, "127.0.0.1:0")
	good := peerAddr(pc)
	tests := []struct {
		payload string
		dst     netip.AddrPort
		wantErr syscall.Errno
	}{
		{"g1", good, 0},
		{"port0", netip.MustParseAddrPort("127.0.0.1:0"), syscall.EINVAL},
		{"g2", good, 0},
		{"v6", netip.MustParseAddrPort("[::1]:5060"), syscall.EAFNOSUPPORT},
		{"zero", netip.AddrPort{}, syscall.EDESTADDRREQ},
		{"g3", good, 0},
		{"port0-last", netip.MustParseAddrPort("127.0.0.2:0"), syscall.EINVAL},
	}
	b := NewBatch(len(tests), 64)
	for i, tc := range tests {
		m := &b.Msgs[i]
		m.N = copy(m.Buf, tc.payload)
		m.Addr = tc.dst
	}
	n, err := c.WriteBatch(b, len(tests))
	if err != nil || n != 3 {
		t.Fatalf("WriteBatch = %d, %v; want 3, nil", n, err)
	}
	for i, tc := range tests {
		if b.Msgs[i].Err != tc.wantErr {
			t.Errorf("message %s: Err = %v, want %v", tc.payload, b.Msgs[i].Err, tc.wantErr)
		}
	}
	for _, want := range []string{"g1", "g2", "g3"} {
		if data, from := recvPeer(t, pc); data != want || from != c.LocalAddr() {
			t.Errorf("peer got %q from %v, want %q from %v", data, from, want, c.LocalAddr())
		}
	}
	if st := c.Stats(); st.Sent != 3 || st.SendErrors != 4 {
		t.Errorf("Stats = %+v, want Sent 3 SendErrors 4", st)
	}
	if err := c.WriteTo([]byte("x"), netip.MustParseAddrPort("127.0.0.1:0"), netip.Addr{}); err != syscall.EINVAL {
		t.Errorf("WriteTo port 0 = %v, want EINVAL", err)
	}
}

// IPv4 out of an IPv6-only socket is refused by the kernel per message.
func TestV6OnlyRefusesIPv4(t *testing.T) {
	have6(t)
	c := listen(t, "udp6", "[::]:0", Options{})
	pc := peer(t, "127.0.0.1:0")
	err := c.WriteTo([]byte("x"), peerAddr(pc), netip.Addr{})
	if err != syscall.ENETUNREACH {
		t.Fatalf("WriteTo IPv4 from udp6 = %v, want ENETUNREACH", err)
	}
}

func TestBatchMisuse(t *testing.T) {
	c := listen(t, "udp4", "127.0.0.1:0", Options{})
	b := NewBatch(2, 16)
	for _, n := range []int{-1, 3} {
		if _, err := c.WriteBatch(b, n); err != ErrBatchRange {
			t.Errorf("WriteBatch(n=%d) = %v, want ErrBatchRange", n, err)
		}
	}
	b.Msgs = b.Msgs[:0]
	if _, err := c.ReadBatch(b); err != ErrEmptyBatch {
		t.Errorf("ReadBatch(empty) = %v, want ErrEmptyBatch", err)
	}
	b.Msgs = b.Msgs[:2]
	b.Msgs[0] = Msg{Buf: b.Msgs[0].Buf, N: 17, Addr: c.LocalAddr()}
	if n, err := c.WriteBatch(b, 1); n != 0 || err != nil || b.Msgs[0].Err != syscall.EMSGSIZE {
		t.Errorf("WriteBatch N > len(Buf) = %d, %v, Err %v; want 0, nil, EMSGSIZE", n, err, b.Msgs[0].Err)
	}
	for _, tc := range []struct{ n, size int }{{0, 1}, {MaxBatch + 1, 1}, {1, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewBatch(%d, %d) did not panic", tc.n, tc.size)
				}
			}()
			NewBatch(tc.n, tc.size)
		}()
	}
}

// Zero-length datagrams are legal UDP and must round-trip as N == 0.
func TestEmptyDatagram(t *testing.T) {
	c := listen(t, "udp4", "127.0.0.1:0", Options{})
	b := NewBatch(1, 16)
	b.Msgs[0].N = 0
	b.Msgs[0].Addr = c.LocalAddr()
	if n, err := c.WriteBatch(b, 1); n != 1 || err != nil {
		t.Fatalf("WriteBatch empty = %d, %v", n, err)
	}
	msgs, _ := readMsgs(t, c, b, 1)
	if msgs[0].n != 0 || msgs[0].trunc || msgs[0].addr != c.LocalAddr() {
		t.Fatalf("got %+v", msgs[0])
	}
}

// One Conn used by a reader and two writers at once (run under -race): the
// read side and the write side keep their state apart, and WriteTo and
// WriteBatch serialise with each other.
func TestConcurrentUse(t *testing.T) {
	a := listen(t, "udp4", "127.0.0.1:0", Options{RecvBuf: 4 << 20})
	bb := listen(t, "udp4", "127.0.0.1:0", Options{RecvBuf: 4 << 20})
	const rounds, batch, singles = 50, 8, 200
	readAll := func(c *Conn, want int, done chan<- int) {
		b := NewBatch(16, 256)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n := 0
		for n < want {
			k, err := c.ReadBatch(b)
			if err != nil {
				break
			}
			n += k
		}
		done <- n
	}
	gotA, gotB := make(chan int, 1), make(chan int, 1)
	go readAll(a, rounds*batch, gotA)
	go readAll(bb, rounds*batch+singles, gotB)
	errs := make(chan error, 3)
	go func() { // b → a, batches
		wb := NewBatch(batch, 64)
		for i := range wb.Msgs {
			wb.Msgs[i].N, wb.Msgs[i].Addr = 10, a.LocalAddr()
		}
		for r := 0; r < rounds; r++ {
			if n, err := bb.WriteBatch(wb, batch); n != batch || err != nil {
				errs <- fmt.Errorf("b WriteBatch %d, %v", n, err)
				return
			}
		}
		errs <- nil
	}()
	go func() { // a → b, batches
		wb := NewBatch(batch, 64)
		for i := range wb.Msgs {
			wb.Msgs[i].N, wb.Msgs[i].Addr = 20, bb.LocalAddr()
		}
		for r := 0; r < rounds; r++ {
			if n, err := a.WriteBatch(wb, batch); n != batch || err != nil {
				errs <- fmt.Errorf("a WriteBatch %d, %v", n, err)
				return
			}
		}
		errs <- nil
	}()
	go func() { // a → b, single datagrams at the same time
		p := []byte("single")
		for i := 0; i < singles; i++ {
			if err := a.WriteTo(p, bb.LocalAddr(), netip.Addr{}); err != nil {
				errs <- fmt.Errorf("a WriteTo: %v", err)
				return
			}
		}
		errs <- nil
	}()
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := <-gotA; n != rounds*batch {
		t.Errorf("a received %d, want %d", n, rounds*batch)
	}
	if n := <-gotB; n != rounds*batch+singles {
		t.Errorf("b received %d, want %d", n, rounds*batch+singles)
	}
	if st := a.Stats(); st.Sent != rounds*batch+singles {
		t.Errorf("a Stats.Sent = %d", st.Sent)
	}
}

// TestSpreadRandomly: one peer's datagrams reach every socket of the group
// once random steering is attached (with the default hash they all go to
// one).
func TestSpreadRandomly(t *testing.T) {
	const n = 4
	var conns []*Conn
	addr := netip.MustParseAddrPort("127.0.0.1:0")
	for i := 0; i < n; i++ {
		c, err := ListenUDP("udp4", addr, Options{ReusePort: true, RecvBuf: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		addr = c.LocalAddr()
		conns = append(conns, c)
	}
	// Datagrams starting "keep" stay with the hash: one socket only.
	if err := conns[0].SpreadRandomly(n, 0x6b656570); err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	const sent = 400
	for i := 0; i < sent; i++ {
		peer.WriteToUDPAddrPort([]byte("spread"), addr)
		peer.WriteToUDPAddrPort([]byte("keep it"), addr)
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // no receive buffer overflows: this counts datagrams
		}
	}
	total, keptOn := 0, 0
	for i, c := range conns {
		b := NewBatch(64, 16)
		spread, kept := 0, 0
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			k, err := c.ReadBatch(b)
			if err != nil {
				break
			}
			for _, m := range b.Msgs[:k] {
				if strings.HasPrefix(string(m.Buf[:m.N]), "keep") {
					kept++
				} else {
					spread++
				}
			}
		}
		if spread == 0 {
			t.Errorf("socket %d got nothing of %d datagrams from one peer", i, sent)
		}
		if kept > 0 {
			keptOn++
			if kept != sent {
				t.Errorf("socket %d got %d of the %d kept datagrams", i, kept, sent)
			}
		}
		total += spread + kept
	}
	if total != 2*sent || keptOn != 1 {
		t.Errorf("%d of %d datagrams received; the kept ones on %d sockets", total, 2*sent, keptOn)
	}
}

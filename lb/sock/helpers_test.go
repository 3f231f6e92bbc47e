//go:build linux

package sock

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// got is a received message copied out of its slot.
type got struct {
	data    string
	n       int
	addr    netip.AddrPort
	local   netip.Addr
	ifindex int
	trunc   bool
}

func listen(t testing.TB, network, addr string, o Options) *Conn {
	t.Helper()
	c, err := ListenUDP(network, netip.MustParseAddrPort(addr), o)
	if err != nil {
		t.Fatalf("ListenUDP(%s, %s): %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// peer is a plain net.UDPConn: the other end of most tests, so that what this
// package sends and receives is checked against the standard library.
func peer(t testing.TB, addr string) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatalf("listen peer %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func peerAddr(pc *net.UDPConn) netip.AddrPort {
	ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// to returns addr with the port of c.
func to(addr string, c *Conn) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(addr), c.LocalAddr().Port())
}

func send(t testing.TB, pc *net.UDPConn, dst netip.AddrPort, data string) {
	t.Helper()
	if _, err := pc.WriteToUDPAddrPort([]byte(data), dst); err != nil {
		t.Fatalf("peer send to %v: %v", dst, err)
	}
}

// recvPeer reads one datagram on a plain socket, with a deadline.
func recvPeer(t testing.TB, pc *net.UDPConn) (string, netip.AddrPort) {
	t.Helper()
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := pc.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("peer receive: %v", err)
	}
	return string(buf[:n]), netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
}

// readMsgs reads with ReadBatch until want messages arrived (5 s at most) and
// returns copies of them together with the size of each ReadBatch result.
func readMsgs(t testing.TB, c *Conn, b *Batch, want int) ([]got, []int) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var out []got
	var sizes []int
	for len(out) < want {
		k, err := c.ReadBatch(b)
		if err != nil {
			t.Fatalf("ReadBatch after %d of %d messages: %v", len(out), want, err)
		}
		sizes = append(sizes, k)
		for _, m := range b.Msgs[:k] {
			out = append(out, got{
				data: string(m.Buf[:m.N]), n: m.N, addr: m.Addr, local: m.Local,
				ifindex: m.IfIndex, trunc: m.Trunc,
			})
		}
	}
	return out, sizes
}

// have6 skips the test when the host has no IPv6 loopback.
func have6(t testing.TB) {
	t.Helper()
	pc, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback on this host: %v", err)
	}
	pc.Close()
}

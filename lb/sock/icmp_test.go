//go:build linux

package sock

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

type icmpReport struct {
	dst   netip.AddrPort
	errno syscall.Errno
}

// closedPort returns an address on which nothing listens: a port just bound
// and released. The kernel answers datagrams to it with ICMP port unreachable.
func closedPort(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	pc := peer(t, addr)
	ap := peerAddr(pc)
	pc.Close()
	return ap
}

// waitErrQueue waits (without consuming anything) until the socket has an
// error pending, so a test knows the ICMP error has arrived.
func waitErrQueue(t *testing.T, c *Conn) {
	t.Helper()
	rc, _ := c.SyscallConn()
	var n int
	var perr error
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLERR}}
		n, perr = unix.Poll(fds, 5000)
		if n == 1 && fds[0].Revents&unix.POLLERR == 0 {
			n = 0
		}
	})
	if perr != nil || n != 1 {
		t.Fatalf("no error queued within 5s (poll %d, %v)", n, perr)
	}
}

var icmpCases = []struct {
	name    string
	network string
	listen  string
	peer    string // where the closed port and the live peer are
	needV6  bool
}{
	{"ipv4", "udp4", "127.0.0.1:0", "127.0.0.1:0", false},
	{"ipv6", "udp6", "[::1]:0", "[::1]:0", true},
	{"dual-stack to ipv4", "udp", "[::]:0", "127.0.0.1:0", true},
	{"dual-stack to ipv6", "udp", "[::]:0", "[::1]:0", true},
}

// A datagram to a closed loopback port comes back as ICMP port unreachable;
// ReadBatch, blocked at the time, reports it through OnICMP with the
// destination and ECONNREFUSED, and goes on reading data.
func TestICMPToClosedPort(t *testing.T) {
	for _, tc := range icmpCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needV6 {
				have6(t)
			}
			reports := make(chan icmpReport, 16)
			c := listen(t, tc.network, tc.listen, Options{RecvErr: true, OnICMP: func(dst netip.AddrPort, e syscall.Errno) {
				reports <- icmpReport{dst, e}
			}})
			data := make(chan string, 16)
			errc := make(chan error, 1)
			go func() {
				b := NewBatch(8, 256)
				for {
					k, err := c.ReadBatch(b)
					if err != nil {
						errc <- err
						return
					}
					for _, m := range b.Msgs[:k] {
						data <- string(m.Buf[:m.N])
					}
				}
			}()
			dead := closedPort(t, tc.peer)
			if err := c.WriteTo([]byte("anyone?"), dead, netip.Addr{}); err != nil {
				t.Fatalf("WriteTo closed port: %v", err)
			}
			select {
			case r := <-reports:
				if r.dst != dead || r.errno != syscall.ECONNREFUSED {
					t.Fatalf("OnICMP(%v, %v), want (%v, ECONNREFUSED)", r.dst, r.errno, dead)
				}
			case err := <-errc:
				t.Fatalf("ReadBatch failed because of the ICMP error: %v", err)
			case <-time.After(5 * time.Second):
				t.Fatal("OnICMP not called within 5s")
			}
			live := peer(t, tc.peer)
			send(t, live, netip.AddrPortFrom(peerAddr(live).Addr(), c.LocalAddr().Port()), "still here")
			select {
			case d := <-data:
				if d != "still here" {
					t.Fatalf("read %q", d)
				}
			case err := <-errc:
				t.Fatalf("ReadBatch: %v", err)
			case <-time.After(5 * time.Second):
				t.Fatal("datagram after the ICMP error not read")
			}
			if st := c.Stats(); st.ICMP != 1 {
				t.Errorf("Stats.ICMP = %d, want 1", st.ICMP)
			}
			c.Close()
			if err := <-errc; err != net.ErrClosed {
				t.Errorf("reader ended with %v", err)
			}
		})
	}
}

// The kernel reports a pending ICMP error on the next send of any
// destination, failing that send. WriteTo must retry it (the datagram to a
// live peer goes out), and the error must still reach OnICMP on the next read
// although the send consumed the pending error.
func TestICMPPendingErrorOnSend(t *testing.T) {
	for _, tc := range icmpCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needV6 {
				have6(t)
			}
			var reports []icmpReport
			c := listen(t, tc.network, tc.listen, Options{RecvErr: true, OnICMP: func(dst netip.AddrPort, e syscall.Errno) {
				reports = append(reports, icmpReport{dst, e})
			}})
			dead := closedPort(t, tc.peer)
			live := peer(t, tc.peer)
			if err := c.WriteTo([]byte("anyone?"), dead, netip.Addr{}); err != nil {
				t.Fatalf("WriteTo closed port: %v", err)
			}
			waitErrQueue(t, c)
			if err := c.WriteTo([]byte("to live"), peerAddr(live), netip.Addr{}); err != nil {
				t.Fatalf("WriteTo live peer after the ICMP error: %v", err)
			}
			if d, _ := recvPeer(t, live); d != "to live" {
				t.Fatalf("live peer got %q", d)
			}
			if st := c.Stats(); st.AsyncErrs != 1 || st.SendErrors != 0 {
				t.Errorf("Stats = %+v, want AsyncErrs 1 (the send met the pending error) and no send error", st)
			}
			send(t, live, netip.AddrPortFrom(peerAddr(live).Addr(), c.LocalAddr().Port()), "wake")
			b := NewBatch(4, 64)
			msgs, _ := readMsgs(t, c, b, 1)
			if msgs[0].data != "wake" {
				t.Fatalf("read %q", msgs[0].data)
			}
			if len(reports) != 1 || reports[0].dst != dead || reports[0].errno != syscall.ECONNREFUSED {
				t.Fatalf("OnICMP calls %v, want one (%v, ECONNREFUSED)", reports, dead)
			}
		})
	}
}

// Without RecvErr an unconnected socket never hears of ICMP errors: nothing
// is reported and nothing fails.
func TestICMPIgnoredWithoutRecvErr(t *testing.T) {
	called := false
	c := listen(t, "udp4", "127.0.0.1:0", Options{OnICMP: func(netip.AddrPort, syscall.Errno) { called = true }})
	dead := closedPort(t, "127.0.0.1:0")
	live := peer(t, "127.0.0.1:0")
	for i := 0; i < 3; i++ {
		if err := c.WriteTo([]byte("x"), dead, netip.Addr{}); err != nil {
			t.Fatalf("WriteTo closed port: %v", err)
		}
	}
	send(t, live, c.LocalAddr(), "data")
	msgs, _ := readMsgs(t, c, NewBatch(2, 64), 1)
	if msgs[0].data != "data" || called {
		t.Fatalf("read %q, OnICMP called %v", msgs[0].data, called)
	}
}

// Many errors at once overflow one round of the fixed event array; all of
// them must still be delivered, each with its own destination.
func TestICMPManyDestinations(t *testing.T) {
	got := map[netip.AddrPort]int{}
	c := listen(t, "udp4", "127.0.0.1:0", Options{RecvErr: true, RecvBuf: 1 << 20, OnICMP: func(dst netip.AddrPort, e syscall.Errno) {
		if e == syscall.ECONNREFUSED {
			got[dst]++
		}
	}})
	const n = 3*maxEvents + 5
	b := NewBatch(n, 16)
	// Bind all the ports before releasing any, so they are distinct.
	want := map[netip.AddrPort]bool{}
	var held []*net.UDPConn
	for i := range b.Msgs {
		pc := peer(t, "127.0.0.1:0")
		held = append(held, pc)
		want[peerAddr(pc)] = true
		b.Msgs[i].N = copy(b.Msgs[i].Buf, "x")
		b.Msgs[i].Addr = peerAddr(pc)
	}
	for _, pc := range held {
		pc.Close()
	}
	if sent, err := c.WriteBatch(b, n); err != nil || sent != n {
		t.Fatalf("WriteBatch = %d, %v (errs %v)", sent, err, b.Msgs[0].Err)
	}
	live := peer(t, "127.0.0.1:0")
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		send(t, live, c.LocalAddr(), "tick")
		readMsgs(t, c, NewBatch(4, 64), 1)
	}
	for dst := range want {
		if got[dst] != 1 {
			t.Errorf("destination %v reported %d times", dst, got[dst])
		}
	}
}

//go:build linux && !race

package sock

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The hot path allocates nothing: a full round trip (client WriteBatch, server
// ReadBatch with pktinfo, server replies in place with WriteBatch, client
// ReadBatch) and the single-datagram WriteTo. The race detector allocates on
// its own, hence the build tag.
func TestAllocsRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		network string
		server  string
		client  string
		needV6  bool
	}{
		{"ipv4", "udp4", "0.0.0.0:0", "127.0.0.1:0", false},
		{"dual-stack", "udp", "[::]:0", "127.0.0.1:0", true},
		{"ipv6", "udp6", "[::]:0", "[::1]:0", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needV6 {
				have6(t)
			}
			const n = 8
			srv := listen(t, tc.network, tc.server, Options{PktInfo: true, RecvErr: true, RecvBuf: 1 << 20})
			cli := listen(t, "udp", tc.client, Options{PktInfo: true, RecvBuf: 1 << 20})
			dst := netip.AddrPortFrom(cli.LocalAddr().Addr(), srv.LocalAddr().Port())
			out, in, back := NewBatch(n, 512), NewBatch(n, 512), NewBatch(n, 512)
			for i := range out.Msgs {
				out.Msgs[i].N = copy(out.Msgs[i].Buf, "OPTIONS sip:x SIP/2.0\r\n\r\n")
				out.Msgs[i].Addr = dst
			}
			srv.SetReadDeadline(time.Now().Add(30 * time.Second))
			cli.SetReadDeadline(time.Now().Add(30 * time.Second))
			var failed error
			round := func() {
				if _, err := cli.WriteBatch(out, n); err != nil {
					failed = err
					return
				}
				for got := 0; got < n; {
					k, err := srv.ReadBatch(in)
					if err != nil {
						failed = err
						return
					}
					// Reply in place: Addr and Local are already right.
					if _, err := srv.WriteBatch(in, k); err != nil {
						failed = err
						return
					}
					got += k
				}
				for got := 0; got < n; {
					k, err := cli.ReadBatch(back)
					if err != nil {
						failed = err
						return
					}
					got += k
				}
			}
			if a := testing.AllocsPerRun(200, round); a != 0 {
				t.Errorf("round trip allocates %.1f times", a)
			}
			if failed != nil {
				t.Fatal(failed)
			}
			if st := srv.Stats(); st.Received != 201*n || st.Sent != 201*n {
				t.Errorf("server Stats = %+v, want %d received and sent", st, 201*n)
			}

			payload := []byte("ping")
			if a := testing.AllocsPerRun(200, func() {
				if err := cli.WriteTo(payload, dst, netip.Addr{}); err != nil {
					failed = err
				}
				if _, err := srv.ReadBatch(in); err != nil {
					failed = err
				}
			}); a != 0 {
				t.Errorf("WriteTo+ReadBatch allocates %.1f times", a)
			}
			if failed != nil {
				t.Fatal(failed)
			}
		})
	}
}

// Draining the error queue and calling OnICMP allocates nothing either.
func TestAllocsICMP(t *testing.T) {
	calls := 0
	c := listen(t, "udp4", "127.0.0.1:0", Options{RecvErr: true, OnICMP: func(netip.AddrPort, syscall.Errno) { calls++ }})
	dead := closedPort(t, "127.0.0.1:0")
	self := c.LocalAddr()
	b := NewBatch(4, 64)
	payload := []byte("x")
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	// Poll for the queued error without the allocating closure of
	// waitErrQueue; the descriptor stays open for the whole test.
	rc, _ := c.SyscallConn()
	var fd int32
	rc.Control(func(f uintptr) { fd = int32(f) })
	fds := []unix.PollFd{{Fd: fd, Events: unix.POLLERR}}
	var failed error
	a := testing.AllocsPerRun(100, func() {
		if err := c.WriteTo(payload, dead, netip.Addr{}); err != nil {
			failed = err
		}
		if n, err := unix.Poll(fds, 5000); n != 1 || err != nil {
			failed = fmt.Errorf("no ICMP error queued: poll %d, %v", n, err)
		}
		if err := c.WriteTo(payload, self, netip.Addr{}); err != nil {
			failed = err
		}
		if _, err := c.ReadBatch(b); err != nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if a != 0 {
		t.Errorf("ICMP path allocates %.1f times", a)
	}
	if calls != 101 {
		t.Errorf("OnICMP called %d times, want 101", calls)
	}
}

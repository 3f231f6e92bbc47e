//go:build linux

package sock

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inNetNS runs setup on a thread moved into a new network namespace with lo
// up and the given extra addresses on lo. Sockets created by setup belong to
// that namespace for their whole life, whichever thread uses them later. The
// thread is never unlocked, so it exits with its goroutine and the namespace
// cannot leak into the rest of the process. Needs root and iproute2.
func inNetNS(t *testing.T, addrs []string, setup func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs iproute2 (ip) to configure the namespace")
	}
	var skip string
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			skip = "cannot create a network namespace: " + err.Error()
			return
		}
		// exec forks from this locked thread, so ip runs in the namespace.
		cmds := [][]string{{"link", "set", "lo", "up"}}
		for _, a := range addrs {
			cmds = append(cmds, []string{"addr", "add", a, "dev", "lo", "nodad"})
		}
		for _, args := range cmds {
			if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
				skip = "ip " + args[0] + " in the namespace failed: " + string(out)
				return
			}
		}
		if err := waitAddrs(addrs); err != nil {
			skip = err.Error()
			return
		}
		setup()
	}()
	<-done
	if skip != "" {
		t.Skip(skip)
	}
}

// waitAddrs returns once a datagram sent to each address arrives. The kernel
// finishes installing a new IPv6 address (its local route) in a work queue
// after `ip addr add` returns; a datagram sent in that window is dropped
// silently. Runs on the namespace's thread.
func waitAddrs(addrs []string) error {
	for _, a := range addrs {
		ip := netip.MustParsePrefix(a).Addr()
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return err
		}
		ok := false
		buf := make([]byte, 16)
		for try := 0; try < 200 && !ok; try++ {
			pc.WriteToUDPAddrPort([]byte("probe"), pc.LocalAddr().(*net.UDPAddr).AddrPort())
			pc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			_, _, err := pc.ReadFromUDPAddrPort(buf)
			ok = err == nil
		}
		pc.Close()
		if !ok {
			return fmt.Errorf("address %s in the namespace never became usable", ip)
		}
	}
	return nil
}

// IPv6 pktinfo with two local addresses, in a namespace of our own (the host
// has only ::1 we may use). The socket on [::] sees which address a datagram
// was sent to, and the reply leaves from it; without pktinfo the kernel would
// answer fd00:5::1 from fd00:5::1 itself (source selection prefers the same
// address), so the test tells the two apart.
func TestPktInfoLocalV6NetNS(t *testing.T) {
	var (
		srv, srvPlain *Conn
		pc            *net.UDPConn
		serr          error
	)
	inNetNS(t, []string{"fd00:5::1/128", "fd00:5::2/128"}, func() {
		if srv, serr = ListenUDP("udp6", netip.MustParseAddrPort("[::]:0"), Options{PktInfo: true}); serr != nil {
			return
		}
		if srvPlain, serr = ListenUDP("udp6", netip.MustParseAddrPort("[::]:0"), Options{}); serr != nil {
			return
		}
		pc, serr = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("[fd00:5::1]:0")))
	})
	t.Cleanup(func() {
		if srv != nil {
			srv.Close()
		}
		if srvPlain != nil {
			srvPlain.Close()
		}
		if pc != nil {
			pc.Close()
		}
	})
	if serr != nil {
		t.Fatalf("setup in the namespace: %v", serr)
	}
	tests := []struct {
		name     string
		conn     *Conn
		target   string
		wantFrom string
	}{
		{"pktinfo to ::2", srv, "fd00:5::2", "fd00:5::2"},
		{"pktinfo to ::1", srv, "fd00:5::1", "fd00:5::1"},
		{"no pktinfo to ::2", srvPlain, "fd00:5::2", "fd00:5::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			send(t, pc, to(tc.target, tc.conn), "v6")
			b := NewBatch(2, 256)
			msgs, _ := readMsgs(t, tc.conn, b, 1)
			m := msgs[0]
			if m.addr != peerAddr(pc) {
				t.Errorf("Addr = %v, want %v", m.addr, peerAddr(pc))
			}
			if tc.conn == srv && m.local != netip.MustParseAddr(tc.target) {
				t.Errorf("Local = %v, want %s", m.local, tc.target)
			}
			if n, err := tc.conn.WriteBatch(b, 1); n != 1 || err != nil {
				t.Fatalf("reply: %d, %v (msg err %v)", n, err, b.Msgs[0].Err)
			}
			data, from := recvPeer(t, pc)
			if data != "v6" || from != to(tc.wantFrom, tc.conn) {
				t.Fatalf("peer got %q from %v, want v6 from %v", data, from, to(tc.wantFrom, tc.conn))
			}
		})
	}
}

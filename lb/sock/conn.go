//go:build linux

package sock

// How a Conn blocks. The socket is a *net.UDPConn made by net.ListenConfig
// (with our socket options set in its Control hook, before bind), and every
// recvmmsg/sendmmsg runs inside syscall.RawConn.Read/Write callbacks. The
// alternative, a blocking file descriptor, costs an OS thread parked in the
// kernel per reader and cannot be woken by close(2) reliably (a thread blocked
// in recvmmsg on Linux is not woken when another thread closes the fd). Through
// the netpoller a reader parks like any goroutine, Close evicts the descriptor
// and wakes it with net.ErrClosed, read and write deadlines work, and the
// descriptor is never reused under a running call because RawConn holds a
// reference for the duration of the callback.
//
// The callbacks are method values created once in ListenUDP and stored in the
// Conn: a closure made per call would escape into the RawConn interface call
// and allocate. They communicate through fields of the Conn (rb, rn, …), which
// is why reads are serialised by rmu and writes by wmu.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure a socket. The zero value is a plain UDP socket.
type Options struct {
	// ReusePort sets SO_REUSEPORT so that several sockets (one per worker)
	// bind the same address and the kernel spreads datagrams over them by
	// flow hash. The proxy sets it.
	ReusePort bool
	// RecvBuf and SendBuf size SO_RCVBUF and SO_SNDBUF in bytes: ListenUDP
	// tries SO_RCVBUFFORCE/SO_SNDBUFFORCE first (root or CAP_NET_ADMIN may
	// exceed net.core.rmem_max/wmem_max) and falls back to the plain option
	// on EPERM. 0 leaves the system default. The size obtained is reported by
	// Conn.BufferSizes.
	RecvBuf, SendBuf int
	// PktInfo enables IP_PKTINFO (IPv4 socket) or IPV6_RECVPKTINFO (IPv6 and
	// dual-stack socket): each received message then carries its local
	// address in Msg.Local.
	PktInfo bool
	// RecvErr enables IP_RECVERR / IPV6_RECVERR: ICMP errors caused by our
	// datagrams are queued by the kernel and ReadBatch reports each through
	// OnICMP instead of them being lost.
	RecvErr bool
	// OnICMP receives, with RecvErr, the destination an ICMP error was about
	// and the errno the kernel mapped it to (ECONNREFUSED for port
	// unreachable, EHOSTUNREACH, ENETUNREACH, EMSGSIZE for "fragmentation
	// needed", …). It is called from ReadBatch's goroutine, while ReadBatch
	// holds the read side: it must return quickly and must not call ReadBatch
	// on the same Conn. It may be nil (errors are then only counted).
	OnICMP func(dst netip.AddrPort, errno syscall.Errno)
}

// Stats are cumulative counters of a Conn. They are updated once per batch
// with atomic adds and may be read from any goroutine.
type Stats struct {
	Received   uint64 // datagrams returned by ReadBatch
	Truncated  uint64 // of which were cut to the slot size (Msg.Trunc)
	Sent       uint64 // datagrams handed to the kernel by WriteBatch/WriteTo
	SendErrors uint64 // messages skipped by WriteBatch/WriteTo (Msg.Err set)
	ICMP       uint64 // ICMP errors read from the error queue (passed to OnICMP)
	ErrQueue   uint64 // other error-queue entries (local origin), dropped
	AsyncErrs  uint64 // pending socket errors met by recvmmsg/sendmmsg
}

// Conn is one UDP socket with batched I/O. See the package documentation for
// the rules on sharing it between goroutines.
type Conn struct {
	uc      *net.UDPConn
	rc      syscall.RawConn
	family  int  // unix.AF_INET or unix.AF_INET6
	v6only  bool // AF_INET6 socket that refuses IPv4
	local   netip.AddrPort
	bound   netip.Addr // Local for a received message without pktinfo
	recvErr bool
	pktInfo bool
	onICMP  func(netip.AddrPort, syscall.Errno)
	rcvBuf  int
	sndBuf  int

	// Read side, guarded by rmu; the fields carry arguments and results in
	// and out of readFn.
	rmu    sync.Mutex
	readFn func(fd uintptr) bool
	rb     *Batch
	rslots int
	rn     int
	rerr   syscall.Errno
	errq   errQueue

	// errPending is set by a writer that met a pending socket error (which
	// the kernel clears on report, so the reader will not see it) and by a
	// reader whose event array filled up: the next read drains the queue.
	errPending atomic.Bool

	// Write side, guarded by wmu.
	wmu     sync.Mutex
	writeFn func(fd uintptr) bool
	wb      *Batch
	wlo     int
	whi     int
	wn      int
	werr    syscall.Errno
	one     *Batch // the single slot WriteTo sends through

	received, truncated, sent, sendErrors atomic.Uint64
	icmp, errQueueOther, asyncErrs        atomic.Uint64
}

// ListenUDP opens a UDP socket on addr with the given options.
//
// Networks: "udp4" makes an IPv4 socket (a zero addr means 0.0.0.0).
// "udp6" makes an IPv6-only socket (IPV6_V6ONLY; a zero addr means [::]).
// "udp" follows the address: an IPv4 address (0.0.0.0 included) gives an IPv4
// socket, a specific IPv6 address an IPv6 socket, and [::] or the zero addr a
// dual-stack socket that also receives IPv4 (reported as plain IPv4). Port 0
// picks a free port; LocalAddr tells which.
//
// Every socket option failure is returned (wrapped, prefixed "sock:"), never
// ignored.
func ListenUDP(network string, addr netip.AddrPort, o Options) (*Conn, error) {
	nw, ap, err := resolveListen(network, addr)
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: func(nw, _ string, rc syscall.RawConn) error {
		family := unix.AF_INET6
		if nw == "udp4" {
			family = unix.AF_INET
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = setOptions(int(fd), family, o) }); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), nw, ap.String())
	if err != nil {
		return nil, err
	}
	uc := pc.(*net.UDPConn)
	c := &Conn{uc: uc, recvErr: o.RecvErr, pktInfo: o.PktInfo, onICMP: o.OnICMP}
	if c.rc, err = uc.SyscallConn(); err != nil {
		uc.Close()
		return nil, fmt.Errorf("sock: %w", err)
	}
	if err := c.inspect(); err != nil {
		uc.Close()
		return nil, err
	}
	c.local = uc.LocalAddr().(*net.UDPAddr).AddrPort()
	c.local = netip.AddrPortFrom(c.local.Addr().Unmap().WithZone(""), c.local.Port())
	if !c.local.Addr().IsUnspecified() {
		c.bound = c.local.Addr()
	}
	c.readFn = c.readReady
	c.writeFn = c.writeReady
	c.one = NewBatch(1, 0)
	return c, nil
}

// resolveListen maps (network, addr) to the network and address given to the
// net package; see ListenUDP for the rules.
func resolveListen(network string, addr netip.AddrPort) (string, netip.AddrPort, error) {
	a := addr.Addr()
	if a.Is4In6() {
		a = a.Unmap()
	}
	switch network {
	case "udp4":
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		if !a.Is4() {
			return "", netip.AddrPort{}, ErrAddrFamily
		}
	case "udp6":
		if !a.IsValid() {
			a = netip.IPv6Unspecified()
		}
		if !a.Is6() || addr.Addr().Is4In6() {
			return "", netip.AddrPort{}, ErrAddrFamily
		}
	case "udp":
		switch {
		case !a.IsValid() || a == netip.IPv6Unspecified():
			// The net package makes a dual-stack (IPV6_V6ONLY=0) socket for
			// "udp" on a wildcard address.
			a = netip.IPv6Unspecified()
		case a.Is4():
			network = "udp4"
		default:
			network = "udp6"
		}
	default:
		return "", netip.AddrPort{}, ErrNetwork
	}
	return network, netip.AddrPortFrom(a, addr.Port()), nil
}

// setOptions runs in the Control hook, after socket(2) and before bind(2).
func setOptions(fd, family int, o Options) error {
	set := func(level, opt, v int, name string) error {
		if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
			return fmt.Errorf("sock: setsockopt %s: %w", name, err)
		}
		return nil
	}
	if o.ReusePort {
		if err := set(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT"); err != nil {
			return err
		}
	}
	if err := setBuf(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, o.RecvBuf, "SO_RCVBUF"); err != nil {
		return err
	}
	if err := setBuf(fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, o.SendBuf, "SO_SNDBUF"); err != nil {
		return err
	}
	if family == unix.AF_INET {
		if o.PktInfo {
			if err := set(unix.IPPROTO_IP, unix.IP_PKTINFO, 1, "IP_PKTINFO"); err != nil {
				return err
			}
		}
		if o.RecvErr {
			return set(unix.IPPROTO_IP, unix.IP_RECVERR, 1, "IP_RECVERR")
		}
		return nil
	}
	if o.PktInfo {
		// On a dual-stack socket this also yields IPV6_PKTINFO (with a
		// mapped address) for IPv4 datagrams, so IP_PKTINFO is not needed.
		if err := set(unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"); err != nil {
			return err
		}
	}
	if o.RecvErr {
		if err := set(unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1, "IPV6_RECVERR"); err != nil {
			return err
		}
		// ICMPv4 errors for the IPv4 traffic of a dual-stack socket are
		// queued only when the IPv4-level flag is set too.
		return set(unix.IPPROTO_IP, unix.IP_RECVERR, 1, "IP_RECVERR")
	}
	return nil
}

// setBuf sets a buffer size, privileged option first.
func setBuf(fd, force, plain, size int, name string) error {
	if size <= 0 {
		return nil
	}
	err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("sock: setsockopt %sFORCE: %w", name, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size); err != nil {
		return fmt.Errorf("sock: setsockopt %s: %w", name, err)
	}
	return nil
}

// inspect reads back what the kernel made of the socket.
func (c *Conn) inspect() error {
	var gerr error
	err := c.rc.Control(func(fd uintptr) {
		get := func(level, opt int, name string) int {
			v, err := unix.GetsockoptInt(int(fd), level, opt)
			if err != nil && gerr == nil {
				gerr = fmt.Errorf("sock: getsockopt %s: %w", name, err)
			}
			return v
		}
		c.family = get(unix.SOL_SOCKET, unix.SO_DOMAIN, "SO_DOMAIN")
		if c.family == unix.AF_INET6 {
			c.v6only = get(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, "IPV6_V6ONLY") != 0
		}
		c.rcvBuf = get(unix.SOL_SOCKET, unix.SO_RCVBUF, "SO_RCVBUF")
		c.sndBuf = get(unix.SOL_SOCKET, unix.SO_SNDBUF, "SO_SNDBUF")
	})
	if err != nil {
		return fmt.Errorf("sock: %w", err)
	}
	return gerr
}

// LocalAddr is the bound address and port (IPv4 unmapped; [::] for a
// dual-stack socket).
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// DualStack reports whether the socket is an IPv6 socket that also carries
// IPv4.
func (c *Conn) DualStack() bool { return c.family == unix.AF_INET6 && !c.v6only }

// BufferSizes returns SO_RCVBUF and SO_SNDBUF as the kernel reports them after
// setup. Linux doubles the requested value to account for its bookkeeping, so
// a request of 4 MiB reads back as 8 MiB; without privilege the request is
// capped by net.core.rmem_max / wmem_max.
func (c *Conn) BufferSizes() (recv, send int) { return c.rcvBuf, c.sndBuf }

// Stats returns a snapshot of the counters.
func (c *Conn) Stats() Stats {
	return Stats{
		Received:   c.received.Load(),
		Truncated:  c.truncated.Load(),
		Sent:       c.sent.Load(),
		SendErrors: c.sendErrors.Load(),
		ICMP:       c.icmp.Load(),
		ErrQueue:   c.errQueueOther.Load(),
		AsyncErrs:  c.asyncErrs.Load(),
	}
}

// SetReadDeadline bounds blocked and future ReadBatch calls; past it they
// return an error that errors.Is os.ErrDeadlineExceeded. The zero time
// removes the deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.uc.SetReadDeadline(t) }

// SetWriteDeadline bounds WriteBatch and WriteTo while they wait for room in
// the send buffer.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.uc.SetWriteDeadline(t) }

// SyscallConn gives access to the descriptor (for example to attach a
// SO_ATTACH_REUSEPORT_EBPF program). The descriptor stays owned by the Conn.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

// Close closes the socket. A ReadBatch or WriteBatch blocked in another
// goroutine returns net.ErrClosed promptly; later calls return it at once.
func (c *Conn) Close() error { return c.uc.Close() }

// callErr turns an error from RawConn.Read/Write (closed, deadline) into what
// the caller sees: net.ErrClosed itself for a closed socket.
func callErr(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return net.ErrClosed
	}
	return err
}

// asyncErr reports whether errno is one the kernel stores as a pending socket
// error (sk_err) when an ICMP error arrives for a socket with IP_RECVERR, and
// returns on the next receive, or send, of any destination.
func asyncErr(e syscall.Errno) bool {
	switch e {
	case unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN,
		unix.ENETDOWN, unix.EMSGSIZE, unix.EPROTO, unix.ENOPROTOOPT, unix.EACCES,
		unix.ETIMEDOUT, unix.ECONNRESET:
		return true
	}
	return false
}

// Classic BPF for SO_ATTACH_REUSEPORT_CBPF. The program sees the UDP
// payload at offset 0 and returns the index of the socket in the
// SO_REUSEPORT group; an index past the group makes the kernel fall back to
// its hash of the sender's address and port.
const (
	skfAdOff    = -0x1000
	skfAdRandom = 56
	bpfLdWAbs   = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK     = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfAluModK  = 0x94 // BPF_ALU | BPF_MOD | BPF_K
	bpfRetA     = 0x16 // BPF_RET | BPF_A
	bpfRetK     = 0x06 // BPF_RET | BPF_K
)

// SpreadRandomly makes the kernel hand each datagram arriving for this
// socket's SO_REUSEPORT group to one of its n sockets at random, instead of
// by a hash of the sender's address and port, except datagrams whose
// payload starts with keep (when non-zero: the first four bytes, big
// endian), which keep the hash. With the hash every datagram of one busy
// peer (a carrier's SBC, a load generator) lands on one socket and one core;
// spread at random, any socket may get any datagram, which suits a caller
// that keeps no state per flow but gives up the order of one peer's
// datagrams. It applies to the whole group; call it once all n sockets are
// bound.
func (c *Conn) SpreadRandomly(n int, keep uint32) error {
	if n < 1 {
		return ErrBatchRange
	}
	off := int32(skfAdOff + skfAdRandom) // a negative offset selects the ancillary load
	prog := []unix.SockFilter{
		{Code: bpfLdWAbs, K: 0},                // A = first 4 payload bytes (a shorter payload ends the program: index 0)
		{Code: bpfJeqK, Jt: 3, Jf: 0, K: keep}, // kept prefix: to the last instruction
		{Code: bpfLdWAbs, K: uint32(off)},      // A = random
		{Code: bpfAluModK, K: uint32(n)},       // A %= n
		{Code: bpfRetA},                        // socket A
		{Code: bpfRetK, K: 0xffffffff},         // past the group: the kernel's hash
	}
	if keep == 0 {
		prog = prog[2:5]
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	var serr error
	err := c.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("sock: SO_ATTACH_REUSEPORT_CBPF: %w", serr)
	}
	return nil
}

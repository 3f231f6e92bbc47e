//go:build linux

package sock

// Reading, and the ICMP error queue.
//
// With IP_RECVERR the kernel does two things when an ICMP error arrives for
// one of our datagrams: it queues an entry (struct sock_extended_err plus the
// original destination) on the socket's error queue, and it sets the pending
// socket error sk_err, which the next recvmsg/recvmmsg returns instead of data
// (and which a sendmsg also consumes, failing that send). ReadBatch treats such
// an errno as "drain the error queue, then read again": it never fails or stalls
// because of ICMP. Entries are collected inside the RawConn callback into a
// fixed array and handed to OnICMP after the callback returns, so OnICMP runs
// outside the descriptor's lock (it may even Close the Conn).
//
// When a writer consumed the pending error, the reader may never see it; the
// writer then sets errPending and the next read callback drains the queue. In
// the proxy the worker that writes is the one that reads, so that is its next
// ReadBatch; a write from another goroutine (the prober) is noticed at the next
// wake-up of the reader, at the latest with the next datagram.

import (
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxEvents bounds the ICMP entries collected per callback; more stay queued
// in the kernel and are taken on the next round.
const maxEvents = 16

// errQueue is the reader's storage for MSG_ERRQUEUE receives.
type errQueue struct {
	hdr  unix.Msghdr
	name unix.RawSockaddrInet6
	oob  [256]byte // sock_extended_err + offender sockaddr (+ a pktinfo) fit with room
	ev   [maxEvents]icmpEvent
	n    int
}

type icmpEvent struct {
	dst   netip.AddrPort
	errno syscall.Errno
}

// ReadBatch blocks until at least one datagram is available, then receives as
// many as are queued, up to len(b.Msgs), with one recvmmsg. It returns how many
// slots it filled: b.Msgs[:k] hold their Buf[:N], Addr, Local, IfIndex and
// Trunc. The data stays valid until the next ReadBatch into b.
//
// ICMP errors met on the way are passed to Options.OnICMP and never end the
// call. A closed Conn gives net.ErrClosed; a passed read deadline an error
// that errors.Is os.ErrDeadlineExceeded. Calls on one Conn are serialised.
func (c *Conn) ReadBatch(b *Batch) (int, error) {
	n := b.slots()
	if n == 0 {
		return 0, ErrEmptyBatch
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rb, c.rslots = b, n
	defer func() { c.rb = nil }()
	for {
		c.rn, c.rerr = 0, 0
		err := c.rc.Read(c.readFn)
		c.deliverICMP()
		if err != nil {
			return 0, callErr(err)
		}
		if c.rn > 0 {
			k := c.rn
			trunc := b.finishRead(k, c.bound)
			c.received.Add(uint64(k))
			if trunc > 0 {
				c.truncated.Add(uint64(trunc))
			}
			return k, nil
		}
		if c.rerr != 0 {
			return 0, os.NewSyscallError("recvmmsg", c.rerr)
		}
		// Only ICMP entries this round: they are delivered; read again.
	}
}

// readReady is the RawConn.Read callback: false means "would block, park me".
func (c *Conn) readReady(fd uintptr) bool {
	b := c.rb
	if c.recvErr && c.errPending.Swap(false) {
		if c.drainErrQueue(fd) {
			c.errPending.Store(true)
			return true
		}
	}
	for {
		b.prepareRead(c.rslots)
		var r uintptr
		var e syscall.Errno
		if c.rslots == 1 && !c.pktInfo {
			// recvfrom costs less than recvmsg, which costs less than a
			// recvmmsg of one. MSG_TRUNC makes it return the datagram's
			// real length, which tells truncation.
			h := &b.hdrs[0]
			r, _, e = unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(b.iovs[0].Base)), uintptr(b.iovs[0].Len),
				unix.MSG_TRUNC, uintptr(unsafe.Pointer(h.Hdr.Name)), uintptr(unsafe.Pointer(&h.Hdr.Namelen)))
			if e == 0 {
				h.Hdr.SetControllen(0)
				if int(r) > int(b.iovs[0].Len) {
					r = uintptr(b.iovs[0].Len)
					h.Hdr.Flags = unix.MSG_TRUNC
				}
				h.Len = uint32(r)
				r = 1
			}
		} else if c.rslots == 1 {
			r, _, e = unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0].Hdr)), 0)
			if e == 0 {
				b.hdrs[0].Len = uint32(r)
				r = 1
			}
		} else {
			r, _, e = unix.RawSyscall6(unix.SYS_RECVMMSG, fd,
				uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(c.rslots), 0, 0, 0)
		}
		switch {
		case e == 0:
			c.rn = int(r)
			return true
		case e == unix.EINTR:
		case e == unix.EAGAIN:
			return c.errq.n > 0
		case asyncErr(e):
			// The pending error is cleared by this report; the entries
			// behind it are on the error queue (with RecvErr).
			c.asyncErrs.Add(1)
			if c.recvErr && c.drainErrQueue(fd) {
				c.errPending.Store(true)
				return true
			}
		default:
			c.rerr = e
			return true
		}
	}
}

// drainErrQueue reads error-queue entries into c.errq.ev until the queue is
// empty (false) or the array is full (true: more may be waiting).
func (c *Conn) drainErrQueue(fd uintptr) bool {
	q := &c.errq
	for q.n < maxEvents {
		q.hdr = unix.Msghdr{
			Name:    (*byte)(unsafe.Pointer(&q.name)),
			Namelen: unix.SizeofSockaddrInet6,
			Control: &q.oob[0],
		}
		q.hdr.SetControllen(len(q.oob))
		_, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&q.hdr)),
			unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return false // EAGAIN: empty
		}
		dst, _ := addrFromRaw(&q.name, q.hdr.Namelen)
		errno, origin, ok := parseExtendedErr(q.oob[:min(int(q.hdr.Controllen), len(q.oob))])
		if !ok || (origin != unix.SO_EE_ORIGIN_ICMP && origin != unix.SO_EE_ORIGIN_ICMP6) || !dst.IsValid() {
			// Local-origin entries (a send refused by the host itself)
			// were already reported by the failing send.
			c.errQueueOther.Add(1)
			continue
		}
		q.ev[q.n] = icmpEvent{dst: dst, errno: errno}
		q.n++
	}
	return true
}

// deliverICMP hands the collected entries to OnICMP, outside the RawConn
// callback.
func (c *Conn) deliverICMP() {
	q := &c.errq
	if q.n == 0 {
		return
	}
	c.icmp.Add(uint64(q.n))
	for i := 0; i < q.n; i++ {
		if c.onICMP != nil {
			c.onICMP(q.ev[i].dst, q.ev[i].errno)
		}
		q.ev[i] = icmpEvent{}
	}
	q.n = 0
}

// parseExtendedErr finds the IP_RECVERR / IPV6_RECVERR control message in oob
// and returns its errno and origin.
func parseExtendedErr(oob []byte) (syscall.Errno, uint8, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0, 0, false
		}
		data := oob[unix.SizeofCmsghdr:l]
		if ((h.Level == unix.IPPROTO_IP && h.Type == unix.IP_RECVERR) ||
			(h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_RECVERR)) &&
			len(data) >= int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			ee := (*unix.SockExtendedErr)(unsafe.Pointer(&data[0]))
			return syscall.Errno(ee.Errno), ee.Origin, true
		}
		next := cmsgAlign(l)
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return 0, 0, false
}

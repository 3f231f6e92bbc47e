//go:build linux

package sock

import (
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WriteBatch sends b.Msgs[:n]: each Buf[:N] to Addr, from Local when it is
// valid (see Msg.Local and Msg.IfIndex). It returns how many messages the
// kernel accepted.
//
// sendmmsg stops at the first message it cannot send; WriteBatch then records
// that message's errno in its Msg.Err, counts it, and carries on with the next,
// so one bad destination (EINVAL, EHOSTUNREACH, EPERM from a firewall, …)
// never costs the rest of the batch. Messages that cannot be expressed at all
// (zero Addr, IPv6 destination on an IPv4 socket, N outside Buf) are skipped
// the same way before any system call. A full send buffer parks the goroutine
// until there is room (or the write deadline passes).
//
// The error result is reserved for the call as a whole: net.ErrClosed, a
// passed write deadline, a broken descriptor, or ErrBatchRange. The messages
// before the failure were sent; see Msg.Err for each. WriteBatch keeps no
// reference to b after it returns. Calls on one Conn are serialised.
func (c *Conn) WriteBatch(b *Batch, n int) (int, error) {
	if n < 0 || n > b.slots() {
		return 0, ErrBatchRange
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b, n)
}

// WriteTo sends one datagram to `to`, from `from` when it is valid (the zero
// Addr lets the kernel choose). It returns nil when the kernel accepted the
// datagram, the errno (a syscall.Errno) when it refused it, net.ErrClosed
// when the Conn is closed. p is not retained after the call, but it escapes
// to the heap for the compiler (its address passes through the Conn), so a
// hot path should pass a long-lived buffer rather than a stack array. WriteTo
// is safe to call while another goroutine runs WriteBatch or ReadBatch.
func (c *Conn) WriteTo(p []byte, to netip.AddrPort, from netip.Addr) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	m := &c.one.Msgs[0]
	*m = Msg{Buf: p, N: len(p), Addr: to, Local: from}
	_, err := c.writeLocked(c.one, 1)
	e := m.Err
	m.Buf = nil
	if err != nil {
		return err
	}
	if e != 0 {
		return e
	}
	return nil
}

// maxSendRetries bounds the retries of one message after a pending-error
// errno (see writeLocked).
const maxSendRetries = 3

func (c *Conn) writeLocked(b *Batch, n int) (int, error) {
	for i := 0; i < n; i++ {
		b.Msgs[i].Err = b.prepareSend(i, c.family)
	}
	sent, failed := 0, 0
	retryAt, retries := -1, 0
	var err error
	for i := 0; i < n; {
		if b.Msgs[i].Err != 0 {
			failed++
			i++
			continue
		}
		j := i + 1
		for j < n && b.Msgs[j].Err == 0 {
			j++
		}
		c.wb, c.wlo, c.whi = b, i, j
		c.wn, c.werr = 0, 0
		if rerr := c.rc.Write(c.writeFn); rerr != nil {
			err = callErr(rerr)
			break
		}
		if c.werr == 0 && c.wn > 0 {
			sent += c.wn
			i += c.wn
			continue
		}
		e := c.werr
		switch {
		case e == unix.EBADF || e == unix.ENOTSOCK || e == unix.EFAULT:
			err = os.NewSyscallError("sendmmsg", e)
		case e == 0:
			// sendmmsg accepted nothing yet reported no error: never seen,
			// but looping on it would spin.
			e = unix.EIO
		case asyncErr(e) && (retryAt != i || retries < maxSendRetries):
			// Perhaps the pending error of an earlier ICMP, which the
			// kernel reports on (and clears with) the next send of any
			// destination: the reader must drain the queue, and this
			// message deserves another try. A few tries, because new
			// ICMP errors may keep arriving when many peers are dead;
			// an error that is really this message's comes back each
			// time and ends the tries.
			c.asyncErrs.Add(1)
			c.errPending.Store(true)
			if retryAt != i {
				retryAt, retries = i, 0
			}
			retries++
			continue
		}
		if err != nil {
			break
		}
		b.Msgs[i].Err = e
		failed++
		i++
	}
	c.wb = nil
	if sent > 0 {
		c.sent.Add(uint64(sent))
	}
	if failed > 0 {
		c.sendErrors.Add(uint64(failed))
	}
	return sent, err
}

// writeReady is the RawConn.Write callback: false means "buffer full, park".
func (c *Conn) writeReady(fd uintptr) bool {
	b := c.wb
	for {
		var r uintptr
		var e syscall.Errno
		if h := &b.hdrs[c.wlo].Hdr; c.whi-c.wlo == 1 && h.Controllen == 0 {
			// sendto costs less than sendmsg, which costs less than a
			// sendmmsg of one (WriteTo).
			_, _, e = unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(h.Iov.Base)), uintptr(h.Iov.Len),
				0, uintptr(unsafe.Pointer(h.Name)), uintptr(h.Namelen))
			r = 1
		} else if c.whi-c.wlo == 1 {
			_, _, e = unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(h)), 0)
			r = 1
		} else {
			r, _, e = unix.RawSyscall6(unix.SYS_SENDMMSG, fd,
				uintptr(unsafe.Pointer(&b.hdrs[c.wlo])), uintptr(c.whi-c.wlo), 0, 0, 0)
		}
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		c.wn, c.werr = int(r), e
		if e != 0 {
			c.wn = 0
		}
		return true
	}
}

//go:build linux

package sock

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxBatch is the largest batch: the kernel caps recvmmsg and sendmmsg at
// UIO_MAXIOV messages per call and silently ignores the rest.
const MaxBatch = 1024

// oobSize is the control buffer of one slot. Receiving needs one IPV6_PKTINFO
// message (CMSG_SPACE(20) = 40 bytes on 64-bit) or one IP_PKTINFO (32 bytes);
// sending needs the same. 64 keeps every slot's buffer 8-byte aligned, as
// struct cmsghdr requires.
const oobSize = 64

// Msg is one slot of a Batch: a received datagram after ReadBatch, or a
// datagram to send for WriteBatch.
//
// Lifetime: Buf[:N] of a received message is valid until the next ReadBatch
// into the same Batch. The address fields are values and may be kept.
type Msg struct {
	// Buf is the slot's storage; len(Buf) is the largest datagram the slot
	// receives. ReadBatch puts the datagram in Buf[:N]; WriteBatch sends
	// Buf[:N]. A caller may point Buf at other memory for sending (for example
	// a buffer that lives elsewhere); ReadBatch always receives into whatever
	// Buf is at the time of the call.
	Buf []byte
	// N is the datagram length: set by ReadBatch, set by the caller for
	// WriteBatch. A truncated datagram has N == len(Buf) and Trunc set.
	N int
	// Addr is the peer: the source on receive, the destination on send.
	// IPv4 peers on a dual-stack socket appear as plain IPv4 (never
	// ::ffff:a.b.c.d); a zone, if present, is ignored (see IfIndex).
	Addr netip.AddrPort
	// Local is the local address the datagram arrived on (from IP_PKTINFO /
	// IPV6_PKTINFO when Options.PktInfo is set, else the bound address if it
	// is not a wildcard, else the zero Addr). On send, a valid Local of the
	// destination's family is the source address of the datagram; the zero
	// Addr, or an address of the other family, lets the kernel choose.
	Local netip.Addr
	// IfIndex is the interface the datagram arrived on (pktinfo), or the scope
	// of a link-local IPv6 source. On send, a non-zero IfIndex pins the
	// outgoing interface (and is the scope of a link-local destination); leave
	// it 0 unless that is what you mean: a request forwarded to another host
	// must not keep the arrival interface of the request.
	IfIndex int
	// Trunc is set by ReadBatch when the datagram was larger than Buf and the
	// kernel cut it (MSG_TRUNC). The caller should drop such a message.
	Trunc bool
	// Err is set by WriteBatch and WriteTo: 0 when the message was handed to
	// the kernel, else the reason it was skipped (EINVAL, EHOSTUNREACH, EPERM,
	// EAFNOSUPPORT for an IPv6 destination on an IPv4 socket, EDESTADDRREQ for
	// a zero Addr, EMSGSIZE for N outside Buf). ReadBatch clears it.
	Err syscall.Errno
}

// Batch is a fixed set of message slots with the kernel structures that
// recvmmsg and sendmmsg need, allocated once by NewBatch.
//
// Msgs may be shortened (b.Msgs = b.Msgs[:k]) to read or send fewer slots; it
// must not be grown beyond the length NewBatch gave it, and its elements must
// not be moved to another Batch. A Batch is not safe for use by two calls at
// once; the same Batch may be read into and then written from (replying in
// place).
type Batch struct {
	Msgs []Msg

	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // big enough for a sockaddr_in too
	oob   []byte                  // oobSize per slot
}

// NewBatch returns a Batch of n slots, each with a receive buffer of bufSize
// bytes (all slots share one allocation). It panics when n is outside
// [1, MaxBatch] or bufSize is negative: both are programming errors.
func NewBatch(n, bufSize int) *Batch {
	if n < 1 || n > MaxBatch || bufSize < 0 {
		panic("sock: NewBatch: n must be in [1, MaxBatch] and bufSize >= 0")
	}
	b := &Batch{
		Msgs:  make([]Msg, n),
		hdrs:  make([]unix.Mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet6, n),
		oob:   make([]byte, n*oobSize),
	}
	store := make([]byte, n*bufSize)
	for i := range b.Msgs {
		lo, hi := i*bufSize, (i+1)*bufSize
		b.Msgs[i].Buf = store[lo:hi:hi]
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.Iovlen = 1
		h.Control = &b.oob[i*oobSize]
	}
	return b
}

// slots is how many slots a call may use: Msgs may have been shortened.
func (b *Batch) slots() int {
	return min(len(b.Msgs), len(b.hdrs))
}

// prepareRead resets the fields recvmmsg writes back, for n slots. It runs
// before every recvmmsg, so nothing left by a send (or an interrupted call)
// leaks into the next receive.
func (b *Batch) prepareRead(n int) {
	for i := 0; i < n; i++ {
		buf := b.Msgs[i].Buf
		iov := &b.iovs[i]
		if len(buf) > 0 {
			iov.Base = &buf[0]
		} else {
			iov.Base = nil
		}
		iov.SetLen(len(buf))
		h := &b.hdrs[i]
		h.Hdr.Namelen = unix.SizeofSockaddrInet6
		h.Hdr.SetControllen(oobSize)
		h.Hdr.Flags = 0
		h.Len = 0
	}
}

// finishRead turns the kernel's answer for slots [0, k) into Msg fields.
// bound is the Local used when no pktinfo arrived.
func (b *Batch) finishRead(k int, bound netip.Addr) (trunc int) {
	for i := 0; i < k; i++ {
		m := &b.Msgs[i]
		h := &b.hdrs[i]
		m.N = int(h.Len)
		m.Trunc = h.Hdr.Flags&unix.MSG_TRUNC != 0
		if m.Trunc {
			trunc++
		}
		m.Err = 0
		var scope uint32
		m.Addr, scope = addrFromRaw(&b.names[i], h.Hdr.Namelen)
		m.Local, m.IfIndex = bound, int(scope)
		if cl := int(h.Hdr.Controllen); cl > 0 {
			oob := b.oob[i*oobSize : i*oobSize+min(cl, oobSize)]
			if local, ifindex, ok := parsePktInfo(oob); ok {
				m.Local, m.IfIndex = local, ifindex
			}
		}
	}
	return trunc
}

// prepareSend fills the kernel structures of slot i for sendmmsg on a socket
// of the given family, returning the errno that makes the message unsendable
// (0 if it may be sent).
func (b *Batch) prepareSend(i int, family int) syscall.Errno {
	m := &b.Msgs[i]
	m.Err = 0
	if m.N < 0 || m.N > len(m.Buf) {
		return unix.EMSGSIZE
	}
	if !m.Addr.IsValid() {
		return unix.EDESTADDRREQ
	}
	iov := &b.iovs[i]
	if m.N > 0 {
		iov.Base = &m.Buf[0]
	} else {
		iov.Base = nil
	}
	iov.SetLen(m.N)
	h := &b.hdrs[i]
	h.Hdr.Flags = 0
	h.Len = 0
	dst := m.Addr.Addr().Unmap()
	namelen, errno := putSockaddr(&b.names[i], dst, m.Addr.Port(), family, m.IfIndex)
	if errno != 0 {
		return errno
	}
	h.Hdr.Namelen = namelen
	h.Hdr.SetControllen(putPktInfo(b.oob[i*oobSize:(i+1)*oobSize], family, dst.Is4(), m.Local.Unmap(), m.IfIndex))
	return 0
}

// ntohs reads a port stored in network byte order, whatever the host order.
func ntohs(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func htons(p *uint16, v uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(v>>8), byte(v)
}

// addrFromRaw decodes a sockaddr_in or sockaddr_in6 written by the kernel into
// a netip.AddrPort, unmapping IPv4-mapped addresses. It also returns the IPv6
// scope id (0 for IPv4). An unknown family or a short length gives the zero
// AddrPort.
func addrFromRaw(rsa *unix.RawSockaddrInet6, namelen uint32) (netip.AddrPort, uint32) {
	switch rsa.Family {
	case unix.AF_INET:
		if namelen < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}, 0
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(&sa.Port)), 0
	case unix.AF_INET6:
		if namelen < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}, 0
		}
		return netip.AddrPortFrom(netip.AddrFrom16(rsa.Addr).Unmap(), ntohs(&rsa.Port)), rsa.Scope_id
	}
	return netip.AddrPort{}, 0
}

// putSockaddr writes dst:port as the socket family expects it: sockaddr_in on
// an IPv4 socket, sockaddr_in6 (IPv4 as ::ffff:a.b.c.d) on an IPv6 socket.
// dst is already unmapped.
func putSockaddr(rsa *unix.RawSockaddrInet6, dst netip.Addr, port uint16, family, ifindex int) (uint32, syscall.Errno) {
	if family == unix.AF_INET {
		if !dst.Is4() {
			return 0, unix.EAFNOSUPPORT
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
		htons(&sa.Port, port)
		return unix.SizeofSockaddrInet4, 0
	}
	*rsa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
	htons(&rsa.Port, port)
	if dst.Is6() && (dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast()) {
		rsa.Scope_id = uint32(ifindex)
	}
	return unix.SizeofSockaddrInet6, 0
}

// putPktInfo writes the source-address control message into oob and returns
// its length (0 when the kernel is to choose). The source is used only when it
// has the destination's family: an IPv6 source for an IPv4 destination (or the
// reverse) cannot be honoured, and the kernel's choice is then the right one.
func putPktInfo(oob []byte, family int, dst4 bool, local netip.Addr, ifindex int) int {
	if local.IsValid() && local.Is4() != dst4 {
		local = netip.Addr{}
	}
	if !local.IsValid() && ifindex == 0 {
		return 0
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	if family == unix.AF_INET {
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&oob[unix.SizeofCmsghdr]))
		*pi = unix.Inet4Pktinfo{Ifindex: int32(ifindex)}
		if local.IsValid() {
			pi.Spec_dst = local.As4()
		}
		return unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	}
	// On an IPv6 socket IPV6_PKTINFO serves both families: the kernel takes an
	// IPv4-mapped source for an IPv4 destination (ip_cmsg_send with
	// allow_ipv6). As16 maps an IPv4 address.
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&oob[unix.SizeofCmsghdr]))
	*pi = unix.Inet6Pktinfo{Ifindex: uint32(ifindex)}
	if local.IsValid() {
		pi.Addr = local.As16()
	}
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo)
}

// parsePktInfo walks the control messages of one received datagram and
// returns the local address and interface from IP_PKTINFO or IPV6_PKTINFO.
// It reads only within oob and tolerates garbage (a short or zero cmsg_len
// ends the walk).
func parsePktInfo(oob []byte) (netip.Addr, int, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return netip.Addr{}, 0, false
		}
		data := oob[unix.SizeofCmsghdr:l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			// Spec_dst is the local address (for a broadcast it differs from
			// Addr, the header destination, and only it is a valid source).
			return netip.AddrFrom4(pi.Spec_dst), int(pi.Ifindex), true
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			return netip.AddrFrom16(pi.Addr).Unmap(), int(pi.Ifindex), true
		}
		next := cmsgAlign(l)
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return netip.Addr{}, 0, false
}

// cmsgAlign rounds a control message length up as CMSG_ALIGN does.
func cmsgAlign(l int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (l + a - 1) &^ (a - 1)
}

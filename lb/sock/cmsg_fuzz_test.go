//go:build linux

package sock

import (
	"encoding/binary"
	"math"
	"net/netip"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The control-message and sockaddr decoders read kernel-written memory through
// unsafe casts; the fuzz targets check them against a reference decoder that
// uses encoding/binary with explicit offsets, on arbitrary bytes, and check
// that encoders and decoders round-trip.

// refControl is the reference: the first IP_PKTINFO/IPV6_PKTINFO and the first
// IP_RECVERR/IPV6_RECVERR in a control buffer, walked as the kernel lays it out
// (cmsghdr: len size_t, level int32, type int32; data after the header; next
// header at len rounded up to the word size).
type refControl struct {
	local      netip.Addr
	ifindex    int
	pktOK      bool
	errno      syscall.Errno
	origin     uint8
	recverrOK  bool
	pktDone    bool
	recverDone bool
}

func refParse(oob []byte) refControl {
	var r refControl
	ne := binary.NativeEndian
	const hs = unix.SizeofCmsghdr // 16 on 64-bit, 12 on 32-bit: len is a size_t
	const align = int(unsafe.Sizeof(uintptr(0)))
	for off := 0; off+hs <= len(oob); {
		var l int
		if hs == 16 {
			l = int(ne.Uint64(oob[off:]))
		} else {
			l = int(ne.Uint32(oob[off:]))
		}
		if l < hs || l > len(oob)-off {
			break
		}
		level, typ := int32(ne.Uint32(oob[off+hs-8:])), int32(ne.Uint32(oob[off+hs-4:]))
		data := oob[off+hs : off+l]
		if !r.pktDone {
			switch {
			case level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= 12:
				r.local = netip.AddrFrom4([4]byte(data[4:8]))
				r.ifindex = int(int32(ne.Uint32(data[0:])))
				r.pktOK, r.pktDone = true, true
			case level == unix.IPPROTO_IPV6 && typ == unix.IPV6_PKTINFO && len(data) >= 20:
				r.local = netip.AddrFrom16([16]byte(data[0:16])).Unmap()
				r.ifindex = int(ne.Uint32(data[16:]))
				r.pktOK, r.pktDone = true, true
			}
		}
		if !r.recverDone && ((level == unix.IPPROTO_IP && typ == unix.IP_RECVERR) ||
			(level == unix.IPPROTO_IPV6 && typ == unix.IPV6_RECVERR)) && len(data) >= 16 {
			r.errno = syscall.Errno(ne.Uint32(data[0:]))
			r.origin = data[4]
			r.recverrOK, r.recverDone = true, true
		}
		off += (l + align - 1) &^ (align - 1)
	}
	return r
}

func FuzzParseControl(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Kernel control buffers are 8-byte aligned; so is a fresh slice.
		oob := append(make([]byte, 0, len(data)+8), data...)
		want := refParse(oob)
		local, ifindex, ok := parsePktInfo(oob)
		if ok != want.pktOK || (ok && (local != want.local || ifindex != want.ifindex)) {
			t.Fatalf("parsePktInfo = %v %d %v, reference %v %d %v", local, ifindex, ok, want.local, want.ifindex, want.pktOK)
		}
		errno, origin, ok := parseExtendedErr(oob)
		if ok != want.recverrOK || (ok && (errno != want.errno || origin != want.origin)) {
			t.Fatalf("parseExtendedErr = %v %d %v, reference %v %d %v", errno, origin, ok, want.errno, want.origin, want.recverrOK)
		}
		if want.pktOK && want.ifindex >= 0 && want.ifindex <= math.MaxInt32 {
			// What we parse, we can write back for sending and read again.
			var out [oobSize]byte
			family := unix.AF_INET6
			if want.local.Is4() {
				family = unix.AF_INET
			}
			n := putPktInfo(out[:], family, want.local.Is4(), want.local, want.ifindex)
			l2, i2, ok2 := parsePktInfo(out[:n])
			if !ok2 || l2 != want.local || i2 != want.ifindex {
				t.Fatalf("round trip of %v/%d gave %v/%d/%v", want.local, want.ifindex, l2, i2, ok2)
			}
		}
	})
}

func FuzzSockaddr(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1}, uint16(5060), uint32(0), true)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(5060), uint32(0), false)
	f.Fuzz(func(t *testing.T, ip []byte, port uint16, ifindex uint32, v4socket bool) {
		var a netip.Addr
		switch len(ip) {
		case 4:
			a = netip.AddrFrom4([4]byte(ip))
		case 16:
			a = netip.AddrFrom16([16]byte(ip))
		default:
			return
		}
		a = a.Unmap()
		family := unix.AF_INET6
		if v4socket {
			family = unix.AF_INET
		}
		var rsa unix.RawSockaddrInet6
		namelen, errno := putSockaddr(&rsa, a, port, family, int(ifindex))
		if v4socket && !a.Is4() {
			if errno != unix.EAFNOSUPPORT {
				t.Fatalf("IPv6 %v on an IPv4 socket: errno %v", a, errno)
			}
			return
		}
		if errno != 0 {
			t.Fatalf("putSockaddr(%v): %v", a, errno)
		}
		got, scope := addrFromRaw(&rsa, namelen)
		if got != netip.AddrPortFrom(a, port) {
			t.Fatalf("round trip %v:%d gave %v", a, port, got)
		}
		if ll := a.Is6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()); ll && scope != ifindex || !ll && scope != 0 {
			t.Fatalf("scope %d for %v with ifindex %d", scope, a, ifindex)
		}
		// The port is in network byte order in memory, as the kernel wants.
		raw := (*[unix.SizeofSockaddrInet6]byte)(unsafe.Pointer(&rsa))
		if raw[2] != byte(port>>8) || raw[3] != byte(port) {
			t.Fatalf("port %d stored as %x %x", port, raw[2], raw[3])
		}
		// A short name length never decodes.
		if got, _ := addrFromRaw(&rsa, namelen-1); got.IsValid() {
			t.Fatalf("decoded %v from a truncated sockaddr", got)
		}
	})
}

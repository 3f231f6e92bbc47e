package dispatcher

import (
	"encoding/binary"
	"net/netip"
)

// AddrKey is an address and port as integers, for sorted indexes searched
// on the data path (Table.ByAddr, the health prober's reply lookup):
// comparing two integers and a port is several times faster than
// netip.Addr.Compare. The IP is taken in its unmapped 16-byte form, so an
// IPv4-mapped IPv6 address matches its IPv4 form; IPv6 zones are not part
// of the key (a destination with a zone matches the same address in any
// zone).
type AddrKey struct {
	hi, lo uint64
	port   uint16
}

// KeyOf returns the key of ip and port.
func KeyOf(ip netip.Addr, port uint16) AddrKey {
	b := ip.Unmap().As16()
	return AddrKey{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), port: port}
}

// Compare orders keys by IP, then port: -1, 0 or +1 as cmp.Compare.
func (a *AddrKey) Compare(b *AddrKey) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo != b.lo:
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return int(a.port) - int(b.port)
}

// SameIP reports whether a and b have the same IP, whatever their ports.
func (a *AddrKey) SameIP(b *AddrKey) bool { return a.hi == b.hi && a.lo == b.lo }

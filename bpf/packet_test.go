package bpf

import (
	"encoding/binary"
	"net/netip"
)

// pkt describes a test frame; frame() builds it. Zero values give an
// untagged IPv4 UDP datagram from src to port 5060.
type pkt struct {
	src, dst netip.Addr
	vlans    []uint16 // TPIDs of the tags, outermost first (0x8100, 0x88a8)
	proto    byte     // 17 (default), 6, or anything else
	sport    uint16
	dport    uint16 // default 5060
	payload  []byte
	ipOpts   int    // IPv4: 4-byte NOP option words
	fragOff  uint16 // IPv4 flags+offset field (0x2000 = more fragments), or IPv6 fragment header when v6frag
	v6frag   bool
	v6ext    []byte // IPv6 extension headers (0, 43, 60) before the L4 header, 8 bytes each
	tcpFlags byte   // TCP flags (0x02 SYN, 0x12 SYN+ACK)
	udpLen   int    // overrides the UDP length field when non-zero (-1 writes 0)
	ipVer    byte   // overrides the IP version nibble when non-zero
	ihl      byte   // overrides the IPv4 IHL when non-zero
	ethType  uint16 // overrides the EtherType when non-zero
	truncate int    // cut the frame to this many bytes when non-zero
	pad      int    // pad the frame with zeros to this length (Ethernet minimum is 60)
}

func frame(p pkt) []byte {
	if !p.dst.IsValid() {
		if p.src.Is4() {
			p.dst = netip.MustParseAddr("10.0.0.1")
		} else {
			p.dst = netip.MustParseAddr("2001:db8::1")
		}
	}
	if p.proto == 0 {
		p.proto = 17
	}
	if p.dport == 0 {
		p.dport = 5060
	}
	if p.sport == 0 {
		p.sport = 40000
	}

	// Layer 4.
	var l4 []byte
	switch p.proto {
	case 17:
		l4 = make([]byte, 8, 8+len(p.payload))
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		ulen := 8 + len(p.payload)
		switch {
		case p.udpLen > 0:
			ulen = p.udpLen
		case p.udpLen < 0:
			ulen = 0
		}
		binary.BigEndian.PutUint16(l4[4:], uint16(ulen))
		l4 = append(l4, p.payload...)
	case 6:
		l4 = make([]byte, 20, 20+len(p.payload))
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		l4[12] = 5 << 4
		l4[13] = p.tcpFlags
		binary.BigEndian.PutUint16(l4[14:], 65535)
		l4 = append(l4, p.payload...)
	default:
		l4 = append([]byte{8, 0, 0, 0, 0, 1, 0, 1}, p.payload...) // an ICMP echo-ish body
	}

	// Layer 3.
	var l3 []byte
	ethType := uint16(0x0800)
	if p.src.Is4() && !p.dst.Is6() {
		ihl := 5 + p.ipOpts
		h := make([]byte, ihl*4)
		ver := byte(4)
		if p.ipVer != 0 {
			ver = p.ipVer
		}
		hl := byte(ihl)
		if p.ihl != 0 {
			hl = p.ihl
		}
		h[0] = ver<<4 | hl
		binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(l4)))
		binary.BigEndian.PutUint16(h[4:], 0x1234)
		binary.BigEndian.PutUint16(h[6:], p.fragOff)
		h[8] = 64
		h[9] = p.proto
		s, d := p.src.As4(), p.dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		for i := 20; i < len(h); i++ {
			h[i] = 1 // NOP
		}
		binary.BigEndian.PutUint16(h[10:], ipChecksum(h))
		l3 = append(h, l4...)
	} else {
		ethType = 0x86dd
		h := make([]byte, 40)
		ver := byte(6)
		if p.ipVer != 0 {
			ver = p.ipVer
		}
		h[0] = ver << 4
		next := p.proto
		var ext []byte
		chain := append([]byte(nil), p.v6ext...)
		if p.v6frag {
			chain = append(chain, 44)
		}
		for i, t := range chain {
			nh := next
			if i+1 < len(chain) {
				nh = chain[i+1]
			}
			e := make([]byte, 8)
			e[0] = nh
			if t == 44 {
				binary.BigEndian.PutUint16(e[2:], p.fragOff)
			} else if t == 0 || t == 60 {
				e[2], e[3] = 1, 4 // PadN
			}
			ext = append(ext, e...)
		}
		if len(chain) > 0 {
			next = chain[0]
		}
		h[6] = next
		h[7] = 64
		binary.BigEndian.PutUint16(h[4:], uint16(len(ext)+len(l4)))
		s, d := p.src.As16(), p.dst.As16()
		copy(h[8:], s[:])
		copy(h[24:], d[:])
		l3 = append(append(h, ext...), l4...)
	}
	if p.ethType != 0 {
		ethType = p.ethType
	}

	// Layer 2.
	f := []byte{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2}
	for _, tpid := range p.vlans {
		f = binary.BigEndian.AppendUint16(f, tpid)
		f = binary.BigEndian.AppendUint16(f, 100)
	}
	f = binary.BigEndian.AppendUint16(f, ethType)
	f = append(f, l3...)
	for len(f) < p.pad {
		f = append(f, 0)
	}
	if p.truncate > 0 && p.truncate < len(f) {
		f = f[:p.truncate]
	}
	return f
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// sipRequest returns a plausible request with the given method and
// User-Agent (none when ua is empty).
func sipRequest(method, ua string) []byte {
	s := method + " sip:bob@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds\r\n" +
		"Max-Forwards: 70\r\n" +
		"To: Bob <sip:bob@example.com>\r\n" +
		"From: Alice <sip:alice@example.com>;tag=1928301774\r\n" +
		"Call-ID: a84b4c76e66710@pc33.example.com\r\n" +
		"CSeq: 314159 " + method + "\r\n" +
		"Contact: <sip:alice@198.51.100.7>\r\n"
	if ua != "" {
		s += "User-Agent: " + ua + "\r\n"
	}
	s += "Content-Length: 0\r\n\r\n"
	return []byte(s)
}

// withHeaders returns a request whose header section is exactly hdrs.
func withHeaders(hdrs string) []byte {
	return []byte("OPTIONS sip:100@10.0.0.1 SIP/2.0\r\n" + hdrs + "\r\n")
}

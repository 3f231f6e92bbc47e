package lb

import (
	"encoding/binary"
	"math/bits"
)

// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudo-random function
// built for short inputs. sipfront uses it for the two things that must be
// unforgeable without a round trip to any store: the Via branch (so a
// response can be checked against the request it answers) and the
// Record-Route cookie. It is deterministic for a given key, so every copy of
// sipfront configured with the same key computes the same values.
//
// sipKey is the 128-bit key; sipHasher streams input so a hash over several
// message spans needs no concatenation buffer.

type sipKey struct{ k0, k1 uint64 }

type sipHasher struct {
	v0, v1, v2, v3 uint64
	buf            [8]byte
	nbuf           int
	total          int
}

func (k sipKey) hasher() sipHasher {
	return sipHasher{
		v0: k.k0 ^ 0x736f6d6570736575,
		v1: k.k1 ^ 0x646f72616e646f6d,
		v2: k.k0 ^ 0x6c7967656e657261,
		v3: k.k1 ^ 0x7465646279746573,
	}
}

func (h *sipHasher) round() {
	h.v0 += h.v1
	h.v1 = bits.RotateLeft64(h.v1, 13)
	h.v1 ^= h.v0
	h.v0 = bits.RotateLeft64(h.v0, 32)
	h.v2 += h.v3
	h.v3 = bits.RotateLeft64(h.v3, 16)
	h.v3 ^= h.v2
	h.v0 += h.v3
	h.v3 = bits.RotateLeft64(h.v3, 21)
	h.v3 ^= h.v0
	h.v2 += h.v1
	h.v1 = bits.RotateLeft64(h.v1, 17)
	h.v1 ^= h.v2
	h.v2 = bits.RotateLeft64(h.v2, 32)
}

func (h *sipHasher) block(m uint64) {
	h.v3 ^= m
	h.round()
	h.round()
	h.v0 ^= m
}

// write adds p to the input.
func (h *sipHasher) write(p []byte) {
	h.total += len(p)
	if h.nbuf > 0 {
		n := copy(h.buf[h.nbuf:], p)
		h.nbuf += n
		p = p[n:]
		if h.nbuf < 8 {
			return
		}
		h.block(binary.LittleEndian.Uint64(h.buf[:]))
		h.nbuf = 0
	}
	for len(p) >= 8 {
		h.block(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	h.nbuf = copy(h.buf[:], p)
}

// writeString adds s to the input.
func (h *sipHasher) writeString(s string) {
	for i := 0; i < len(s); i++ {
		h.writeByte(s[i])
	}
}

func (h *sipHasher) writeByte(c byte) {
	h.total++
	h.buf[h.nbuf] = c
	h.nbuf++
	if h.nbuf == 8 {
		h.block(binary.LittleEndian.Uint64(h.buf[:]))
		h.nbuf = 0
	}
}

// sum64 finishes the hash. The hasher must not be used afterwards.
func (h *sipHasher) sum64() uint64 {
	var last [8]byte
	copy(last[:], h.buf[:h.nbuf])
	last[7] = byte(h.total)
	h.block(binary.LittleEndian.Uint64(last[:]))
	h.v2 ^= 0xff
	h.round()
	h.round()
	h.round()
	h.round()
	return h.v0 ^ h.v1 ^ h.v2 ^ h.v3
}

// sum64 hashes b in one pass: the input is whole, so the compression loop
// reads 8 bytes at a time with no buffering (the data path's MACs).
func (k sipKey) sum64(b []byte) uint64 {
	v0 := k.k0 ^ 0x736f6d6570736575
	v1 := k.k1 ^ 0x646f72616e646f6d
	v2 := k.k0 ^ 0x6c7967656e657261
	v3 := k.k1 ^ 0x7465646279746573
	n := len(b)
	for len(b) >= 8 {
		m := binary.LittleEndian.Uint64(b)
		v3 ^= m
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= m
		b = b[8:]
	}
	var last uint64
	for i, c := range b {
		last |= uint64(c) << (8 * i)
	}
	last |= uint64(byte(n)) << 56
	v3 ^= last
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= last
	v2 ^= 0xff
	for i := 0; i < 4; i++ {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

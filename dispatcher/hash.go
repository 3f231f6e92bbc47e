package dispatcher

import "math/bits"

// The hash is XXH64 (Yann Collet's xxHash, 64-bit variant): fast, with good
// avalanche, and specified bit for bit, so every sipfront copy on every
// architecture computes the same value and therefore picks the same back end.
// It is not cryptographic: keys are chosen by callers, so a caller who can
// pick Call-IDs can steer calls, which a load balancer accepts.

const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// Hash returns the XXH64 hash of b with seed 0.
func Hash(b []byte) uint64 { return xxh64(b, 0, false) }

// HashMore hashes b with h as the seed, to combine several fields into one
// key (HashMore(Hash(callID), branch)). It is a chain, not a streaming
// continuation: HashMore(Hash(a), b) differs from Hash(a+b).
func HashMore(h uint64, b []byte) uint64 { return xxh64(b, h, false) }

// HashString is Hash for a string, without converting it.
func HashString(s string) uint64 { return xxh64(s, 0, false) }

// HashMoreString is HashMore for a string.
func HashMoreString(h uint64, s string) uint64 { return xxh64(s, h, false) }

// HashFold is Hash of b with ASCII letters folded to lower case, for the
// case-insensitive parts of SIP (URI hosts, schemes, parameter names). Bytes
// outside A-Z are hashed as they are.
func HashFold(b []byte) uint64 { return xxh64(b, 0, true) }

// HashFoldMore is HashMore with ASCII case folding.
func HashFoldMore(h uint64, b []byte) uint64 { return xxh64(b, h, true) }

func round(acc, input uint64) uint64 {
	acc += input * prime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * prime1
}

func mergeRound(acc, val uint64) uint64 {
	val = round(0, val)
	acc ^= val
	return acc*prime1 + prime4
}

// lower8 folds the ASCII upper-case letters among the eight bytes of x to
// lower case, all at once: a byte gets 0x20 when it is in 'A'..'Z'.
func lower8(x uint64) uint64 {
	const ones = 0x0101010101010101
	const high = 0x8080808080808080
	h7 := x &^ high                 // each byte's low seven bits
	geA := h7 + (0x80-'A')*ones     // high bit set where byte >= 'A'
	gtZ := h7 + (0x80-'Z'-1)*ones   // high bit set where byte > 'Z'
	upper := geA &^ gtZ &^ x & high // 'A'..'Z' and originally < 0x80
	return x | upper>>2             // 0x80>>2 == 0x20
}

func lower1(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// xxh64 is XXH64 of b (a string or a byte slice: one body for both, so a
// string key is hashed without a conversion), folding ASCII letters to
// lower case first when fold is set.
func xxh64[T string | []byte](b T, seed uint64, fold bool) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		v1 := seed + prime1 + prime2
		v2 := seed + prime2
		v3 := seed
		v4 := seed - prime1
		for len(b) >= 32 {
			w1, w2, w3, w4 := le64(b[0:8]), le64(b[8:16]), le64(b[16:24]), le64(b[24:32])
			if fold {
				w1, w2, w3, w4 = lower8(w1), lower8(w2), lower8(w3), lower8(w4)
			}
			v1 = round(v1, w1)
			v2 = round(v2, w2)
			v3 = round(v3, w3)
			v4 = round(v4, w4)
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) +
			bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = mergeRound(h, v1)
		h = mergeRound(h, v2)
		h = mergeRound(h, v3)
		h = mergeRound(h, v4)
	} else {
		h = seed + prime5
	}
	h += uint64(n)
	for len(b) >= 8 {
		w := le64(b)
		if fold {
			w = lower8(w)
		}
		h ^= round(0, w)
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
		b = b[8:]
	}
	if len(b) >= 4 {
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
		if fold {
			w = lower8(w)
		}
		h ^= w * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		b = b[4:]
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if fold {
			c = lower1(c)
		}
		h ^= uint64(c) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
	}
	return avalanche(h)
}

// le64 reads eight little-endian bytes; the compiler makes it one load.
func le64[T string | []byte](b T) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func avalanche(h uint64) uint64 {
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}

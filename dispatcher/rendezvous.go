package dispatcher

import "math/bits"

// Weighted rendezvous (highest random weight) hashing, in integers only.
//
// Every destination i has a seed s_i (the hash of its identity). For a key k
// its raw score is h_i = mix(k ^ s_i), a uniform 64-bit value. With equal
// weights the destination with the highest h_i wins. With weights w_i the
// winner is the one with the smallest -ln(u_i)/w_i, u_i = h_i/2^64: the
// minimum of exponential variables with rates w_i, which picks i with
// probability w_i/sum(w). Because each score depends only on the key and that
// destination, removing a destination moves only the keys it won, and they
// spread over the others in proportion to their weights.
//
// -ln(u) is computed as -log2(u) (the base does not change the argmin) in
// Q32 fixed point from a table, and the division by w_i as a multiplication
// by a precomputed 2^48/w_i into a 128-bit product. No floating point is
// involved, so the result is bit-identical on every architecture (Go may fuse
// float multiply-adds on some and not on others) and costs a few
// nanoseconds per destination.

// mix is the SplitMix64 finalizer: a bijection with full avalanche.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const log2Bits = 10 // table intervals: 1<<log2Bits

// log2Tab[i] = log2(1 + i/1024) in Q32, computed at init with integers only.
var log2Tab [1<<log2Bits + 1]uint64

func init() {
	for i := 0; i < 1<<log2Bits; i++ {
		log2Tab[i] = log2FracQ32(uint64(1<<log2Bits+i) << (62 - log2Bits))
	}
	log2Tab[1<<log2Bits] = 1 << 32
}

// log2FracQ32 returns log2(x) in Q32 for x in Q62 within [1, 2), by
// repeated squaring: each squaring yields one bit of the logarithm.
func log2FracQ32(x uint64) uint64 {
	z := x
	var r uint64
	for i := 0; i < 40; i++ {
		hi, lo := bits.Mul64(z, z)
		z = hi<<2 | lo>>62 // z*z in Q62, within [1, 4)
		r <<= 1
		if z >= 2<<62 {
			z >>= 1
			r |= 1
		}
	}
	return (r + 1<<7) >> 8 // Q40 → Q32, rounded
}

// negLog2Q32 returns -log2(h/2^64) in Q32 fixed point; it is at least 1 and
// below 65<<32. Linear interpolation in a 1024-step table is accurate to
// about 2^-22, far below what could bias a weight.
func negLog2Q32(h uint64) uint64 {
	x := h | 1
	lz := bits.LeadingZeros64(x)
	frac := x << lz << 1 // the bits after the leading one
	idx := frac >> (64 - log2Bits)
	rem := (frac >> (32 - log2Bits)) & 0xffffffff
	lo, hi := log2Tab[idx], log2Tab[idx+1]
	l2 := lo + ((hi-lo)*rem)>>32
	return uint64(1+lz)<<32 - l2
}

// recipOf is 2^48/w rounded up; cost = negLog2 * recip in 128 bits.
func recipOf(w uint32) uint64 {
	if w == 0 {
		return 0
	}
	return (1<<48 + uint64(w) - 1) / uint64(w)
}

// entry is what Select reads for one destination, packed for the loop.
type entry struct {
	rt   *Runtime
	d    *Dest
	seed uint64
	w    [numWeightKinds]uint32 // weight per kind; 0 = no share
	r    [numWeightKinds]uint64 // recipOf(w)
}

type weightKind uint8

const (
	wkHash    weightKind = iota // weight attr, 1 when unset
	wkWeight                    // weight attr, 0 allowed
	wkRWeight                   // rweight attr, 0 allowed
	numWeightKinds
)

// pickEqual returns the usable destination with the highest raw score.
// Ties (probability 2^-64) go to the higher seed, never to list order.
func pickEqual(ents []entry, key uint64) *Dest {
	var best *Dest
	var bestH, bestSeed uint64
	for i := range ents {
		e := &ents[i]
		if State(e.rt.state.Load())&unusable != 0 {
			continue
		}
		h := mix(key ^ e.seed)
		if best == nil || h > bestH || (h == bestH && e.seed > bestSeed) {
			best, bestH, bestSeed = e.d, h, e.seed
		}
	}
	return best
}

// pickWeighted returns the usable destination with a non-zero weight of kind
// k that has the smallest cost -log2(u)/w; nil when there is none.
func pickWeighted(ents []entry, key uint64, k weightKind) *Dest {
	var best *Dest
	var bestHi, bestLo, bestH, bestSeed uint64
	for i := range ents {
		e := &ents[i]
		if e.w[k] == 0 || State(e.rt.state.Load())&unusable != 0 {
			continue
		}
		h := mix(key ^ e.seed)
		hi, lo := bits.Mul64(negLog2Q32(h), e.r[k])
		if best == nil || hi < bestHi || (hi == bestHi && (lo < bestLo ||
			(lo == bestLo && (h > bestH || (h == bestH && e.seed > bestSeed))))) {
			best, bestHi, bestLo, bestH, bestSeed = e.d, hi, lo, h, e.seed
		}
	}
	return best
}

package dispatcher

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// XXH64 reference values (seed 0), as printed by xxhsum -H64.
func TestHashVectors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"", 0xef46db3751d8e999},
		{"a", 0xd24ec4f1a98c6e5b},
		{"abc", 0x44bc2cf5ad770999},
		{"The quick brown fox jumps over the lazy dog", 0x0b242d361fda71bc},
		{strings.Repeat("x", 100), 0x92f0de5a88a3c094},
	} {
		if got := Hash([]byte(tc.in)); got != tc.want {
			t.Errorf("Hash(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
		if got := HashString(tc.in); got != tc.want {
			t.Errorf("HashString(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestHashVariants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 200; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		seed := r.Uint64()
		if Hash(b) != HashString(string(b)) || HashMore(seed, b) != HashMoreString(seed, string(b)) {
			t.Fatalf("byte and string variants differ at length %d", n)
		}
		low := bytes.Clone(b)
		for i, c := range low {
			low[i] = lower1(c)
		}
		if HashFold(b) != Hash(low) || HashFoldMore(seed, b) != HashMore(seed, low) {
			t.Fatalf("fold variant differs from hashing the ASCII-lowered bytes at length %d", n)
		}
		if n > 0 && HashMore(seed, b) == HashMore(seed+1, b) {
			t.Fatalf("seed ignored at length %d", n)
		}
	}
}

// TestLower8 checks the eight-at-once folding against lower1 for every byte
// value in every lane.
func TestLower8(t *testing.T) {
	for lane := 0; lane < 8; lane++ {
		for c := 0; c < 256; c++ {
			x := uint64(0x5a41_7a61_405b_60ff) // neighbours of the ranges
			x &^= 0xff << (8 * lane)
			x |= uint64(c) << (8 * lane)
			var want uint64
			for i := 0; i < 8; i++ {
				want |= uint64(lower1(byte(x>>(8*i)))) << (8 * i)
			}
			if got := lower8(x); got != want {
				t.Fatalf("lower8(%#x) = %#x, want %#x", x, got, want)
			}
		}
	}
}

// TestNegLog2 compares the fixed-point logarithm with math.Log2.
func TestNegLog2(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(h uint64) {
		got := float64(negLog2Q32(h)) / (1 << 32)
		want := -math.Log2(float64(h|1) / math.Exp2(64))
		if math.Abs(got-want) > 1e-6 {
			t.Fatalf("negLog2Q32(%#x) = %.9f, want %.9f", h, got, want)
		}
		if negLog2Q32(h) == 0 {
			t.Fatalf("negLog2Q32(%#x) = 0", h)
		}
	}
	for _, h := range []uint64{0, 1, 2, 3, 1 << 32, 1<<63 - 1, 1 << 63, math.MaxUint64, math.MaxUint64 - 1} {
		check(h)
	}
	for i := 0; i < 100000; i++ {
		check(r.Uint64() >> r.IntN(64))
	}
	// Monotonic: a larger h never costs more.
	prev := negLog2Q32(1)
	for h := uint64(2); h < 1<<20; h += 7 {
		if v := negLog2Q32(h << 44); v > prev {
			t.Fatalf("not monotonic at %#x", h<<44)
		} else {
			prev = v
		}
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func itoa(i int) string { return strconv.Itoa(i) }

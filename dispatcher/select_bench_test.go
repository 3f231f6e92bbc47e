package dispatcher

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkSelect: one selection per op, per algorithm and set size, with
// distinct weights (the weighted path) and with none (the equal path).
func BenchmarkSelect(b *testing.B) {
	for _, n := range []int{2, 8, 32} {
		for _, weighted := range []bool{false, true} {
			attrs := noAttrs
			if weighted {
				attrs = func(i int) string { return fmt.Sprintf("weight=%d;rweight=%d", 1+i%10, 1+i%7) }
			}
			s := mkTable(b, nDests(n, attrs)...).Set(1)
			for _, alg := range []Alg{HashCallID, RoundRobin, Priority, Weight, RelWeight} {
				if !weighted && (alg == Weight || alg == RelWeight) {
					continue
				}
				name := fmt.Sprintf("%s/n=%d", alg, n)
				if weighted {
					name += "/weighted"
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					key := HashString("call-id@host")
					var d *Dest
					for i := 0; i < b.N; i++ {
						d = s.Select(alg, key+uint64(i))
					}
					if d == nil {
						b.Fatal("nil")
					}
				})
			}
		}
	}
}

func BenchmarkHash(b *testing.B) {
	for _, n := range []int{16, 40, 128} {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = 'A' + byte(i%26)
		}
		b.Run(fmt.Sprintf("Hash/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for i := 0; i < b.N; i++ {
				_ = Hash(buf)
			}
		})
		b.Run(fmt.Sprintf("HashFold/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for i := 0; i < b.N; i++ {
				_ = HashFold(buf)
			}
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	tbl := mkTable(b, nDests(32, noAttrs)...)
	ap := netip.MustParseAddrPort("10.0.0.17:5060")
	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = tbl.Set(1)
		}
	})
	b.Run("ByAddr", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = tbl.ByAddr(ap)
		}
	})
	b.Run("ByIP", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = tbl.ByIP(ap.Addr())
		}
	})
}

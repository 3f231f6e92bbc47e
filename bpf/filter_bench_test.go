package bpf

import (
	"testing"
	"time"
)

// BenchmarkXDP runs the program in the kernel (BPF_PROG_TEST_RUN with
// repeat) and reports its time per packet as ns/pkt. The Go-side ns/op
// includes the syscall; ns/pkt is the program.
func BenchmarkXDP(b *testing.B) {
	x := loadTestXDP(b, benchConfig())
	strictCfg := fixtureConfig()
	strictCfg.Rate.Ban = 24 * time.Hour
	strict := loadTestXDP(b, strictCfg)
	banned := udp4("198.51.100.99", invite)
	for i := 0; i < 6; i++ {
		strict.run(b, banned)
	}
	for _, bc := range []struct {
		name  string
		x     *XDP
		frame []byte
		want  uint32
	}{
		{"INVITE passes", x, udp4("198.51.100.1", invite), xdpPass},
		{"INVITE with 1KiB of headers passes", x, udp4("198.51.100.1", bigInvite), xdpPass},
		{"IPv6 INVITE passes", x, udp6("2001:db8::1", invite), xdpPass},
		{"scanner dropped", x, udp4("198.51.100.2", sipRequest("OPTIONS", "friendly-scanner")), xdpDrop},
		{"junk dropped", x, udp4("198.51.100.3", junk), xdpDrop},
		{"auto-banned source dropped", strict, banned, xdpDrop},
		{"operator-banned source dropped", x, udp4("203.0.113.1", invite), xdpDrop},
		{"other port ignored", x, frame(pkt{src: a("198.51.100.4"), dport: 443, payload: junk}), xdpPass},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ret, per, err := bc.x.objs.SipfrontFilter.Benchmark(bc.frame, b.N, b.ResetTimer)
			if err != nil {
				b.Fatal(err)
			}
			if ret != bc.want {
				b.Fatalf("action %d, want %d", ret, bc.want)
			}
			b.ReportMetric(float64(per.Nanoseconds()), "ns/pkt")
		})
	}
}

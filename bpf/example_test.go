package bpf_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/sipfront/sipfront/bpf"
)

// A receive worker asks the user-space filter about each datagram and drops
// what it drops.
func ExampleUserspace_Check() {
	f, err := bpf.NewUserspace(bpf.Config{
		Ports:      []uint16{5060},
		Rate:       bpf.Rate{Packets: 3, Window: time.Second, Ban: time.Minute},
		Allow:      []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		UserAgents: []string{"friendly-scanner"},
	})
	if err != nil {
		panic(err)
	}
	defer f.Close()

	now := time.Now()
	phone := netip.MustParseAddr("198.51.100.7")
	register := []byte("REGISTER sip:example.com SIP/2.0\r\nUser-Agent: Yealink\r\n\r\n")
	scan := []byte("OPTIONS sip:100@example.com SIP/2.0\r\nUser-Agent: friendly-scanner\r\n\r\n")

	for i := 0; i < 5; i++ {
		r := f.Check(phone, 5060, register, now)
		fmt.Println("REGISTER", i+1, r, r.Drop())
	}
	fmt.Println("scanner:", f.Check(netip.MustParseAddr("203.0.113.9"), 5060, scan, now))
	fmt.Println("back end:", f.Check(netip.MustParseAddr("::ffff:192.0.2.10"), 5060, []byte("junk"), now))
	fmt.Println("keep-alive:", f.Check(netip.MustParseAddr("2001:db8::1"), 5060, []byte("\r\n\r\n"), now))
	fmt.Println("other port:", f.Check(phone, 8080, register, now))
	// Output:
	// REGISTER 1 passed false
	// REGISTER 2 passed false
	// REGISTER 3 passed false
	// REGISTER 4 dropped_rate true
	// REGISTER 5 dropped_banned true
	// scanner: dropped_user_agent
	// back end: allowed
	// keep-alive: passed
	// other port: ignored
}

func ExampleParseMode() {
	for _, s := range []string{"auto", "XDP", "kernel"} {
		m, err := bpf.ParseMode(s)
		fmt.Println(m, err)
	}
	// Output:
	// auto <nil>
	// xdp <nil>
	// off bpf: unknown filter mode (want xdp, user, off or auto): "kernel"
}

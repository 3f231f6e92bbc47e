//go:build linux

package sock_test

import (
	"fmt"
	"net/netip"

	"github.com/sipfront/sipfront/lb/sock"
)

// A worker's loop in miniature: read a batch, answer each message in place
// (the slot already holds the peer as Addr and the arrival address as Local,
// so the answer leaves from the address the request came to), write the batch.
func Example() {
	srv, err := sock.ListenUDP("udp4", netip.MustParseAddrPort("0.0.0.0:0"), sock.Options{PktInfo: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	cli, err := sock.ListenUDP("udp4", netip.MustParseAddrPort("127.0.0.1:0"), sock.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cli.Close()

	// The client talks to 127.0.0.2, one of the server's addresses.
	server := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), srv.LocalAddr().Port())
	if err := cli.WriteTo([]byte("OPTIONS sip:ping SIP/2.0"), server, netip.Addr{}); err != nil {
		fmt.Println(err)
		return
	}

	b := sock.NewBatch(32, 2048)
	n, err := srv.ReadBatch(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range b.Msgs[:n] {
		m := &b.Msgs[i]
		fmt.Printf("got %q on %v\n", m.Buf[:m.N], m.Local)
		m.N = copy(m.Buf, "SIP/2.0 200 OK")
	}
	if _, err := srv.WriteBatch(b, n); err != nil {
		fmt.Println(err)
		return
	}

	in := sock.NewBatch(1, 2048)
	if _, err := cli.ReadBatch(in); err != nil {
		fmt.Println(err)
		return
	}
	m := in.Msgs[0]
	fmt.Printf("answer %q from %v\n", m.Buf[:m.N], m.Addr == server)
	// Output:
	// got "OPTIONS sip:ping SIP/2.0" on 127.0.0.2
	// answer "SIP/2.0 200 OK" from true
}

package dispatcher_test

import (
	"fmt"

	"github.com/sipfront/sipfront/dispatcher"
)

func ExampleLoad() {
	list := []byte(`# setid destination flags priority attrs
1 sip:10.0.0.1:5060 0 0 duid=pbx1;weight=50
1 10.0.0.2:5060     0 0 duid=pbx2;weight=50
1 sip:10.0.0.3      0x4
2 sip:10.0.1.1 -5
`)
	tbl, warns, err := dispatcher.Load("dispatcher.list", list, dispatcher.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range warns {
		fmt.Println(w)
	}
	for _, s := range tbl.Sets() {
		for _, d := range s.Dests() {
			fmt.Println(s.ID(), d.URI, d.Addr, d.Transport, d.State().KamailioFlags(), d.Attrs.Weight)
		}
	}
	// Output:
	// dispatcher.list:4: "0x4": flags read as hex 4 (Kamailio: reads flags 0 and attrs "x4")
	// dispatcher.list:5: "-5": line skipped: negative flags (Kamailio: reads flags 0 and attrs "-5")
	// 1 sip:10.0.0.3 10.0.0.3:5060 udp DX 0
	// 1 sip:10.0.0.2:5060 10.0.0.2:5060 udp AX 50
	// 1 sip:10.0.0.1:5060 10.0.0.1:5060 udp AX 50
}

func ExampleSet_Select() {
	tbl, _, _ := dispatcher.Load("dispatcher.list", []byte(
		"1 sip:10.0.0.1 0 0 duid=pbx1\n1 sip:10.0.0.2 0 0 duid=pbx2\n1 sip:10.0.0.3 0 0 duid=pbx3\n"),
		dispatcher.Options{})
	d := dispatcher.New(tbl, dispatcher.Options{})

	// The proxy hashes the Call-ID in place and selects with one atomic load.
	key := dispatcher.Hash([]byte("a84b4c76e66710@pc33.atlanta.com"))
	first := d.Current().Set(1).Select(dispatcher.HashCallID, key)
	fmt.Println("call goes to", first.Attrs.DUID)

	// The same key always lands on the same destination, on every copy.
	again := d.Current().Set(1).Select(dispatcher.HashCallID, key)
	fmt.Println("retransmission goes to", again.Attrs.DUID)

	// When that destination fails, only its calls move.
	_ = d.SetState(1, first.URI, dispatcher.Inactive, "probe timeout")
	fmt.Println("after failure:", d.Current().Set(1).Select(dispatcher.HashCallID, key).Attrs.DUID)
	// Output:
	// call goes to pbx3
	// retransmission goes to pbx3
	// after failure: pbx2
}

//go:build linux

package lb

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipfront/sipfront/bpf"
	"github.com/sipfront/sipfront/internal/netnstest"
	"github.com/sipfront/sipfront/parser"
)

// TestFloodThroughSipfrontXDP: sipfront runs in a namespace behind a veth
// with the XDP filter attached; from another namespace, 20 addresses flood
// it, a scanner probes it, an allow-listed carrier sends fast, and a phone
// places real calls. The calls all complete, every flood source is banned,
// the allow-listed and the phone never are, and the scanner gets nothing
// through.
func TestFloodThroughSipfrontXDP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and XDP")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	tag := fmt.Sprintf("%d", os.Getpid()%100000)
	nsA, nsB := netnstest.New(t, "sfa"+tag), netnstest.New(t, "sfb"+tag)
	netnstest.IP(t, "link", "add", "vsa"+tag, "netns", nsA.Name, "type", "veth", "peer", "name", "vsb"+tag, "netns", nsB.Name)
	netnstest.IP(t, "-n", nsA.Name, "addr", "add", "10.77.0.1/24", "dev", "vsa"+tag)
	netnstest.IP(t, "-n", nsA.Name, "link", "set", "vsa"+tag, "up")
	netnstest.IP(t, "-n", nsB.Name, "addr", "add", "10.77.0.2/24", "dev", "vsb"+tag)
	for i := 5; i < 30; i++ {
		netnstest.IP(t, "-n", nsB.Name, "addr", "add", fmt.Sprintf("10.77.0.%d/24", i), "dev", "vsb"+tag)
	}
	netnstest.IP(t, "-n", nsB.Name, "link", "set", "vsb"+tag, "up")

	var e *Engine
	var uas *peer
	lb := netip.MustParseAddrPort("10.77.0.1:5060")
	err := nsA.Do(func() error {
		uas = newPeer(t, "uas")
		uas.serveUAS()
		path := filepath.Join(t.TempDir(), "dispatcher.list")
		os.WriteFile(path, []byte("1 sip:"+uas.addr.String()+"\n"), 0o644)
		var err error
		e, err = New(Config{
			Listen:         []Listen{{Transport: "udp", Addr: lb}},
			DispatcherList: path, Workers: 2, CookieKey: "k", NoProbe: true,
			Filter: FilterConfig{Mode: bpf.ModeXDP, Interfaces: []string{"vsa" + tag},
				Rate:       bpf.Rate{Packets: 50, Window: time.Second, Ban: time.Minute},
				Allow:      []netip.Prefix{netip.MustParsePrefix("10.77.0.6/32")},
				UserAgents: []string{"friendly-scanner"}},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if errors.Is(err, bpf.ErrNotSupported) {
			t.Skip("XDP cannot run here: ", err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Filter().Mode() != bpf.ModeXDP {
		t.Fatalf("filter runs in mode %v", e.Filter().Mode())
	}
	runEngine(t, e)

	// Senders in the other namespace.
	var phone, carrier, scanner *peer
	var flood []*net.UDPConn
	err = nsB.Do(func() error {
		phone = newPeerAt(t, "phone", net.ParseIP("10.77.0.5"))
		carrier = newPeerAt(t, "carrier", net.ParseIP("10.77.0.6"))
		scanner = newPeerAt(t, "scanner", net.ParseIP("10.77.0.7"))
		for i := 10; i < 30; i++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(fmt.Sprintf("10.77.0.%d", i))})
			if err != nil {
				return err
			}
			t.Cleanup(func() { c.Close() })
			flood = append(flood, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	// The flood: 20 sources, bounded in count and time.
	for i, c := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := []byte(reqSpec{method: "OPTIONS", ruri: "sip:x@10.77.0.1", callID: fmt.Sprint("flood-", i),
				branch: fmt.Sprint("z9hG4bK-flood-", i), fromTag: "f", cseq: 1,
				from: c.LocalAddr().(*net.UDPAddr).AddrPort()}.String())
			for n := 0; n < 3000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				c.WriteToUDPAddrPort(msg, lb)
				if n%100 == 99 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	// The allow-listed carrier: 300 requests in one burst, far over the
	// rate limit, then retransmissions of the unanswered ones as a UA's
	// timer A would send them. The burst competes with the flood for the
	// veth's receive ring, which drops what does not fit before XDP runs
	// (a link loss, not the filter's), so answers are counted per request
	// after up to 4 retransmissions, and the filter's own work is checked by
	// the ban list and the counters below.
	carrierReq := func(n int) string {
		return reqSpec{method: "OPTIONS", ruri: "sip:x@10.77.0.1", callID: fmt.Sprint("carrier-", n),
			branch: fmt.Sprint("z9hG4bK-carrier-", n), fromTag: "f", cseq: 1, from: carrier.addr}.String()
	}
	carrierAnswered := func() map[string]bool {
		got := map[string]bool{}
		for _, r := range carrier.seenResponses() {
			if r.m.StatusCode() == 200 {
				got[string(r.m.CallID())] = true
			}
		}
		return got
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; n < 300; n++ {
			carrier.conn.WriteToUDPAddrPort([]byte(carrierReq(n)), lb)
		}
		for round := 0; round < 4; round++ {
			time.Sleep(100 * time.Millisecond)
			got := carrierAnswered()
			for n := 0; n < 300; n++ {
				if !got[fmt.Sprint("carrier-", n)] {
					carrier.conn.WriteToUDPAddrPort([]byte(carrierReq(n)), lb)
				}
			}
		}
	}()
	// The scanner.
	scanner.send(lb, strings.Replace(reqSpec{method: "OPTIONS", ruri: "sip:100@10.77.0.1", callID: "scan",
		branch: "z9hG4bK-scan", fromTag: "f", cseq: 1, from: scanner.addr}.String(),
		"Content-Length:", "User-Agent: friendly-scanner\r\nContent-Length:", 1))

	// Real calls, at a phone's pace, during the flood.
	const calls = 20
	for i := 0; i < calls; i++ {
		callID := fmt.Sprint("real-", i)
		ok := phone.transact(lb, reqSpec{method: "INVITE", ruri: "sip:bob@10.77.0.1", callID: callID, branch: "z9hG4bK-" + callID,
			fromTag: "f", cseq: 1, from: phone.addr}.String(), "200 during the flood", isStatus(200))
		bye := reqSpec{method: "BYE", ruri: "sip:uas@" + uas.addr.String(), callID: callID, branch: "z9hG4bK-bye-" + callID,
			fromTag: "f", toTag: "uas-uas", cseq: 2, from: phone.addr, routes: []string{ok.header(parser.KindRecordRoute)}}
		phone.transact(lb, bye.String(), "200 to BYE", func(r rx) bool {
			return isStatus(200)(r) && strings.Contains(r.header(parser.KindCSeq), "BYE")
		})
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	carrierOK := len(carrierAnswered())

	bans, err := e.Filter().AutoBans()
	if err != nil {
		t.Fatal(err)
	}
	banned := map[netip.Addr]bool{}
	for _, b := range bans {
		banned[b.Addr] = true
	}
	for i := 10; i < 30; i++ {
		if a := netip.MustParseAddr(fmt.Sprintf("10.77.0.%d", i)); !banned[a] {
			t.Errorf("flood source %v not banned", a)
		}
	}
	for _, a := range []string{"10.77.0.5", "10.77.0.6"} {
		if banned[netip.MustParseAddr(a)] {
			t.Errorf("%s was banned", a)
		}
	}
	if carrierOK != 300 {
		atUAS := 0
		for _, r := range uas.received("OPTIONS") {
			if strings.HasPrefix(string(r.m.CallID()), "carrier-") {
				atUAS++
			}
		}
		var sb strings.Builder
		e.WritePrometheus(&sb)
		t.Errorf("the allow-listed carrier got %d of 300 answers; %d reached the back end\n%s", carrierOK, atUAS, sb.String())
	}
	if n := len(scanner.seenResponses()); n != 0 {
		t.Errorf("the scanner got %d answers", n)
	}
	cs, _ := e.Filter().Counters()
	t.Logf("XDP counters: %v; %d calls completed during the flood", cs, calls)
	if cs[bpf.DroppedBanned]+cs[bpf.DroppedRate] == 0 || cs[bpf.DroppedUserAgent] == 0 {
		t.Errorf("counters: %v", cs)
	}
}

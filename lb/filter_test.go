package lb

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/bpf"
)

// TestFloodUserspaceFilter runs the flood filter in the workers (the mode
// for hosts without XDP): flood sources on loopback get banned, the back end
// (allow-listed by the engine) and a phone making calls never are, a scanner
// is dropped, and run-time bans and allows survive a reload.
func TestFloodUserspaceFilter(t *testing.T) {
	uas := newPeer(t, "uas")
	uas.serveUAS()
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	os.WriteFile(path, []byte("1 sip:"+uas.addr.String()+"\n"), 0o644)
	e, err := New(Config{
		Listen:         []Listen{{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		DispatcherList: path, Workers: 2, CookieKey: "k", NoProbe: true,
		Filter: FilterConfig{Mode: bpf.ModeUser, Rate: bpf.Rate{Packets: 30, Window: time.Second, Ban: time.Minute},
			UserAgents: []string{"sipvicious"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, e)
	lb := e.Addrs()[0]
	if e.Filter().Mode() != bpf.ModeUser {
		t.Fatalf("mode %v", e.Filter().Mode())
	}
	for i := 10; i < 15; i++ {
		src := newPeerAt(t, "flood", net.IPv4(127, 0, 0, byte(i)))
		for n := 0; n < 100; n++ {
			src.send(lb, reqSpec{method: "OPTIONS", ruri: "sip:x@h", callID: fmt.Sprint("f", i, n),
				branch: fmt.Sprint("z9hG4bK-f", i, n), fromTag: "f", cseq: 1, from: src.addr}.String())
		}
	}
	scanner := newPeerAt(t, "scanner", net.IPv4(127, 0, 0, 7))
	scanner.send(lb, strings.Replace(reqSpec{method: "OPTIONS", ruri: "sip:100@h", callID: "scan", branch: "z9hG4bK-scan",
		fromTag: "f", cseq: 1, from: scanner.addr}.String(), "Content-Length:", "User-Agent: sipvicious 0.3\r\nContent-Length:", 1))
	phone := newPhone(t, "phone")
	for i := 0; i < 10; i++ {
		phone.send(lb, reqSpec{method: "INVITE", ruri: "sip:bob@h", callID: fmt.Sprint("call", i),
			branch: fmt.Sprint("z9hG4bK-call", i), fromTag: "f", cseq: 1, from: phone.addr}.String())
		phone.expect("200", isStatus(200))
	}
	scanner.expectNothing(50 * time.Millisecond)
	bans, _ := e.Filter().AutoBans()
	banned := map[netip.Addr]bool{}
	for _, b := range bans {
		banned[b.Addr] = true
	}
	for i := 10; i < 15; i++ {
		if !banned[netip.AddrFrom4([4]byte{127, 0, 0, byte(i)})] {
			t.Errorf("127.0.0.%d not banned", i)
		}
	}
	if banned[phone.addr.Addr()] || banned[uas.addr.Addr()] {
		t.Error("the phone or the back end was banned")
	}
	// Run-time edits survive a reload.
	ban := netip.MustParsePrefix("192.0.2.0/24")
	if err := e.FilterBan(ban); err != nil {
		t.Fatal(err)
	}
	allow := netip.MustParsePrefix("198.51.100.7/32")
	if err := e.FilterAllow(allow); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	bl, _ := e.Filter().Bans()
	al, _ := e.Filter().Allowed()
	if !contains(bl, ban) || !contains(al, allow) || !contains(al, netip.PrefixFrom(uas.addr.Addr(), 32)) {
		t.Errorf("after reload: bans %v, allowed %v", bl, al)
	}
	var sb strings.Builder
	e.WritePrometheus(&sb)
	if !strings.Contains(sb.String(), `sipfront_lb_dropped_total{reason="filtered"}`) {
		t.Error("no filtered counter")
	}
}

func contains(ps []netip.Prefix, p netip.Prefix) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

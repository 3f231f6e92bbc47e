package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/lb/sock"
	"github.com/sipfront/sipfront/parser"
)

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no mode", nil, exitUsage, "usage"},
		{"unknown mode", []string{"storm"}, exitUsage, "unknown mode"},
		{"help", []string{"help"}, exitOK, ""},
		{"uac bad target", []string{"uac", "-target", "nowhere"}, exitUsage, "-target"},
		{"uac bad flow", []string{"uac", "-flows", "call=1,subscribe=2"}, exitUsage, "unknown flow"},
		{"uac zero weights", []string{"uac", "-flows", "call=0"}, exitUsage, "no flow"},
		{"uac zero rate", []string{"uac", "-rate", "0"}, exitUsage, "-rate"},
		{"uac unbounded", []string{"uac", "-duration", "0"}, exitUsage, "bound"},
		{"uac extra arg", []string{"uac", "now"}, exitUsage, "unexpected argument"},
		{"uas bad fractions", []string{"uas", "-fail", "0.7", "-drop", "0.7"}, exitUsage, "fractions"},
		{"uas bad code", []string{"uas", "-fail-code", "200"}, exitUsage, "-fail-code"},
		{"flood off loopback", []string{"flood", "-target", "192.168.0.1:5060"}, exitUsage, "127.0.0.0/8"},
		{"flood 10/8 sources to loopback", []string{"flood", "-src", "10.1.0.1"}, exitUsage, "inside 127.0.0.0/8"},
		{"flood sources leave 127/8", []string{"flood", "-src", "127.255.255.250", "-sources", "10"}, exitUsage, "inside 127.0.0.0/8"},
		{"flood bad kind", []string{"flood", "-kind", "nice"}, exitUsage, "-kind"},
		{"relay no backends", []string{"relay"}, exitUsage, "no back ends"},
		{"relay bad list", []string{"relay", "-dispatcher-list", "/nonexistent"}, exitUsage, "/nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb, context.Background())
			if code != tc.code || !strings.Contains(errb.String()+out.String(), tc.msg) {
				t.Errorf("exit %d (want %d), output %q (want %q)", code, tc.code, errb.String(), tc.msg)
			}
		})
	}
}

// TestUACCommand runs `sipbench uac` and `sipbench uas` as the command line
// does and reads the JSON summaries.
func TestUACCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := freeUDPPort(t)
	uasDone := make(chan string, 1)
	go func() {
		var out, errb bytes.Buffer
		run([]string{"uas", "-listen", addr.String()}, &out, &errb, ctx)
		uasDone <- out.String() + errb.String()
	}()
	p := newPeer(t) // wait until the UAS answers
	for i := 0; ; i++ {
		p.send([]byte(strings.Replace(proxiedInvite, "INVITE", "OPTIONS", 2)), addr)
		if p.recv(50*time.Millisecond) != nil {
			break
		}
		if i == 40 {
			t.Fatal("uas did not start")
		}
	}
	summary := filepath.Join(t.TempDir(), "uac.json")
	var out, errb bytes.Buffer
	code := run([]string{"uac", "-target", addr.String(), "-rate", "400", "-count", "200", "-hold", "20ms",
		"-flows", "call=2,options=1,register=1", "-json", summary, "-progress", "on"}, &out, &errb, context.Background())
	if code != exitOK {
		t.Fatalf("uac exit %d: %s", code, errb.String())
	}
	data, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var r uacResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Attempted != 200 || r.OK != 200 || r.Flows["call"].OK != 100 || r.Latency["invite"].P99Us == 0 {
		t.Errorf("summary: %s", data)
	}
	if !strings.Contains(errb.String(), "ok 200, failed 0") || !strings.Contains(errb.String(), "rate") {
		t.Errorf("stderr lacks the progress and summary lines: %q", errb.String())
	}
	cancel()
	var u uasResult
	if err := json.Unmarshal([]byte(strings.SplitN(<-uasDone, "\n}", 2)[0]+"\n}"), &u); err != nil {
		t.Fatalf("uas summary: %v", err)
	}
	// retransmissions may add requests on a busy machine; transactions may not
	if u.Counters["invites"] != 100 || u.Counters["acked"] != 100 || u.Requests["BYE"] < 100 || u.Requests["OPTIONS"] < 50 {
		t.Errorf("uas counters: %+v", u)
	}
}

func TestRelay(t *testing.T) {
	uas1 := startUAS(t, uasConfig{T1: 500 * time.Millisecond, T2: 4 * time.Second})
	uas2 := startUAS(t, uasConfig{T1: 500 * time.Millisecond, T2: 4 * time.Second})
	cfg := &relayConfig{Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backends: []netip.AddrPort{uas1, uas2}, Workers: 2, Batch: 16, MaxFlows: 16}
	r, err := startRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.wait(ctx) }()
	flows, _ := parseFlows("call=8,register=1,options=1")
	ucfg := &uacConfig{Target: r.listen[0].LocalAddr(), Local: netip.MustParseAddr("127.0.0.1"), Workers: 2, Rate: 1000, Count: 500,
		Duration: 2 * time.Second, Hold: 20 * time.Millisecond, Drain: 2 * time.Second, T1: 500 * time.Millisecond,
		T2: 4 * time.Second, Weights: flows, Service: "1000", MaxOpen: 1024, Batch: 32, RunID: 0x70}
	res, err := uacRun(ucfg, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 500 || res.Failed != 0 {
		t.Errorf("through the relay: %s", res.line())
	}
	// two UAC sockets = two flows, one per back end (round robin)
	r.mu.Lock()
	if len(r.flows) != 2 || r.flows[0].backend == r.flows[1].backend {
		t.Errorf("flows: %d", len(r.flows))
	}
	r.mu.Unlock()
	// every datagram the UAC sent reached a back end, every answer came back:
	// 400 calls × (INVITE, ACK, BYE) + 100 others, and 400 × (100, 180, 200,
	// 200 to BYE) + 100 answers, plus retransmissions on a busy machine
	if r.fwd.Load() != uint64(res.Messages["sent"]) || r.back.Load() != uint64(res.Messages["received"]) ||
		r.fwd.Load() < 1300 || r.back.Load() < 1700 || r.dropped.Load() != 0 {
		t.Errorf("forwarded %d returned %d dropped %d", r.fwd.Load(), r.back.Load(), r.dropped.Load())
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestFloodKinds(t *testing.T) {
	target := netip.MustParseAddrPort("127.0.0.1:5060")
	src := netip.MustParseAddrPort("127.1.0.7:4000")
	rnd := uint64(1)
	for k := 0; k < kindCount; k++ {
		t.Run(floodKinds[k], func(t *testing.T) {
			for i := uint64(0); i < 2*uint64(len(malformedTemplates)); i++ {
				b := appendFlood(nil, k, i, src, target, &rnd)
				var m parser.Message
				var e parser.Essentials
				err := parser.Parse(b, &m)
				if err == nil {
					err = m.Check(&e)
				}
				valid := k == kindScan || k == kindRegister || k == kindInvite
				if valid != (err == nil) {
					t.Fatalf("message %d: error %v, want valid=%v:\n%q", i, err, valid, b)
				}
			}
		})
	}
}

// receiveBySource reads up to want datagrams from rx (waiting 2 s at most)
// and counts them by source address.
func receiveBySource(rx *sock.Conn, want int) (n int, seen map[netip.Addr]int) {
	b := sock.NewBatch(64, 2048)
	seen = map[netip.Addr]int{}
	rx.SetReadDeadline(time.Now().Add(2 * time.Second))
	for n < want {
		k, err := rx.ReadBatch(b)
		if err != nil {
			break
		}
		for i := 0; i < k; i++ {
			seen[b.Msgs[i].Addr.Addr()]++
		}
		n += k
	}
	return n, seen
}

func TestFloodSources(t *testing.T) {
	rx, err := sock.ListenUDP("udp4", netip.MustParseAddrPort("127.0.0.1:0"), sock.Options{RecvBuf: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	cfg := &floodConfig{Target: rx.LocalAddr(), Rate: 50000, Count: 500, Duration: 5 * time.Second, Sources: 50,
		SrcBase: netip.MustParseAddr("127.1.0.1"), Kind: kindMix, Batch: 32}
	res, err := floodRun(cfg, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 500 || res.ByKind["junk"] != 100 || res.ByKind["scan"] != 100 {
		t.Errorf("sent %d by kind %v", res.Sent, res.ByKind)
	}
	n, seen := receiveBySource(rx, 500)
	if n != 500 || len(seen) != 50 {
		t.Errorf("received %d datagrams from %d sources", n, len(seen))
	}
	for a, c := range seen {
		if !in127(a) || a.Compare(netip.MustParseAddr("127.1.0.1")) < 0 || a.Compare(netip.MustParseAddr("127.1.0.50")) > 0 || c != 10 {
			t.Errorf("source %v sent %d", a, c)
		}
	}
}

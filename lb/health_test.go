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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/health"
)

// TestBackendKilledAndRestarted: under a call load, one of three back ends
// dies. The prober (OPTIONS every interval, sent from sipfront's socket) and
// passive detection take it out within two probe intervals; from then on new
// calls go only to the other two. It comes back up on the same address and
// is put back after OKThreshold probes, and takes calls again.
func TestBackendKilledAndRestarted(t *testing.T) {
	const interval = 250 * time.Millisecond
	var uases [3]*peer
	var list strings.Builder
	for i := range uases {
		uases[i] = newPeer(t, fmt.Sprint("uas", i))
		uases[i].serveUAS()
		fmt.Fprintf(&list, "1 sip:%s\n", uases[i].addr)
	}
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	os.WriteFile(path, []byte(list.String()), 0o644)
	var logs syncBuffer
	e, err := New(Config{
		Listen:         []Listen{{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		DispatcherList: path, Workers: 2, CookieKey: "k",
		Health: health.Config{Interval: interval, Timeout: interval / 3, FailThreshold: 2, OKThreshold: 2},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, e)
	lb := e.Addrs()[0]
	dests := e.Dispatcher().Current().Dests()
	victim := dests[0]
	for i, u := range uases {
		if u.addr == victim.Addr {
			victim, uases[0], uases[i] = dests[0], uases[i], uases[0]
			break
		}
	}
	waitState := func(d *dispatcher.Dest, want func(dispatcher.State) bool, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < within {
			if want(d.State()) {
				return time.Since(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%s: state %v after %v\n%s", d.URI, d.State(), within, logs.String())
		return 0
	}
	up := func(s dispatcher.State) bool {
		return s&dispatcher.Probing != 0 && s&(dispatcher.Inactive|dispatcher.Trying) == 0
	}
	for _, d := range dests {
		waitState(d, up, 5*time.Second)
	}

	// A steady load of calls (one INVITE per millisecond), bounded in time.
	phone := newPhone(t, "phone")
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			s := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: fmt.Sprintf("load-%d", n.Add(1)),
				branch: fmt.Sprintf("z9hG4bK-load-%d", i), fromTag: "f", cseq: 1, from: phone.addr}
			phone.conn.WriteToUDPAddrPort([]byte(s.String()), lb)
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(2 * interval)

	// Kill it.
	uases[0].conn.Close()
	took := waitState(victim, func(s dispatcher.State) bool { return s&dispatcher.Inactive != 0 }, 10*interval)
	t.Logf("dead back end inactive after %v (two probe intervals: %v)", took, 2*interval)
	if took > 2*interval+interval { // one interval of slack for a loaded 2-core machine
		t.Errorf("inactive after %v, want within about two intervals (%v)", took, 2*interval)
	}
	sel := victim.RT.Selected.Load()
	time.Sleep(3 * interval)
	if got := victim.RT.Selected.Load(); got != sel {
		t.Errorf("%d calls went to the dead back end after it was taken out", got-sel)
	}

	// Bring it back on the same address.
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(victim.Addr))
	if err != nil {
		t.Fatal(err)
	}
	back := &peer{t: t, name: "uas0-again", conn: c, addr: victim.Addr, in: make(chan rx, 1024)}
	go back.read()
	t.Cleanup(func() { c.Close() })
	back.serveUAS()
	took = waitState(victim, up, 20*interval)
	t.Logf("restarted back end active again after %v", took)
	sel = victim.RT.Selected.Load()
	deadline := time.Now().Add(5 * time.Second)
	for victim.RT.Selected.Load() == sel && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if victim.RT.Selected.Load() == sel {
		t.Error("the restarted back end takes no calls")
	}
	if !strings.Contains(logs.String(), "reason") || !strings.Contains(logs.String(), "inactive") {
		t.Errorf("state changes not logged with a reason:\n%s", logs.String())
	}
	_ = io.Discard
}

// TestTCPBackendProbed: a back end listed with ;transport=tcp is probed over
// TCP (sipfront's connection to it); when it stops listening, the failed
// connects take it out.
func TestTCPBackendProbed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				p := newStreamPeer(t, nc)
				for r := range p.in {
					if r.m != nil && r.m.IsRequest() {
						p.send(respondToStream(r, 200, "OK"))
					}
				}
			}()
		}
	}()
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	os.WriteFile(path, []byte(fmt.Sprintf("1 sip:%s;transport=tcp\n", addr)), 0o644)
	e, err := New(Config{
		Listen: []Listen{{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")},
			{Transport: "tcp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		DispatcherList: path, Workers: 1, CookieKey: "k",
		Health: health.Config{Interval: 200 * time.Millisecond, Timeout: 80 * time.Millisecond, FailThreshold: 2, OKThreshold: 2},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, e)
	d := e.Dispatcher().Current().Dests()[0]
	wait := func(what string, ok func(dispatcher.State) bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(d.State()); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: state %v (%s)", what, d.State(), d.State().KamailioFlags())
			}
		}
	}
	wait("probed over TCP", func(s dispatcher.State) bool { return s&dispatcher.Probing != 0 && s&dispatcher.Inactive == 0 })
	ln.Close()
	// The back end dies: its connection goes too.
	e.streams.mu.Lock()
	for _, c := range e.streams.conns {
		c.close()
	}
	e.streams.mu.Unlock()
	wait("taken out", func(s dispatcher.State) bool { return s&dispatcher.Inactive != 0 })
}

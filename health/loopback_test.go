package health

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// The loopback test plays the engine with a real UDP socket on 127.0.0.1:
// probes leave from it, calls leave from it, and its reader hands probe
// replies to Deliver and call replies to NoteReply, as lb's worker does.

// udpSender is the engine side of Sender.
type udpSender struct{ c *net.UDPConn }

func (s udpSender) Send(b []byte, to netip.AddrPort, _ dispatcher.Transport) error {
	_, err := s.c.WriteToUDPAddrPort(b, to)
	return err
}

func (s udpSender) ViaHost(netip.AddrPort, dispatcher.Transport) string {
	return s.c.LocalAddr().String()
}

// backend is a UAS on loopback that answers every request with 200 and
// counts what it got. stop closes its socket, as a crashed process would;
// start opens it again on the same port.
type backend struct {
	port    int
	mu      sync.Mutex
	c       *net.UDPConn
	wg      sync.WaitGroup
	options atomic.Int64
	invites atomic.Int64
}

func (b *backend) start(t *testing.T) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: b.port})
	if err != nil {
		t.Fatalf("back end listen: %v", err)
	}
	b.mu.Lock()
	b.c, b.port = c, c.LocalAddr().(*net.UDPAddr).Port
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		buf := make([]byte, 4096)
		for {
			n, src, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed
			}
			var m parser.Message
			if parser.Parse(buf[:n], &m) != nil || !m.IsRequest() {
				continue
			}
			switch string(m.MethodBytes()) {
			case "OPTIONS":
				b.options.Add(1)
			case "INVITE":
				b.invites.Add(1)
			}
			if r, err := buildReply(buf[:n], 200); err == nil {
				c.WriteToUDPAddrPort(r, src)
			}
		}
	}()
}

func (b *backend) stop() {
	b.mu.Lock()
	c := b.c
	b.mu.Unlock()
	c.Close()
	b.wg.Wait()
}

func (b *backend) addr() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(b.port))
}

// engine reads the replies on the engine socket.
type engine struct {
	c        *net.UDPConn
	p        *Prober
	answered atomic.Int64
	wg       sync.WaitGroup
}

func (e *engine) run() {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		buf := make([]byte, 4096)
		var m parser.Message
		var v parser.Via
		for {
			n, src, err := e.c.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			if parser.Parse(buf[:n], &m) != nil || m.IsRequest() {
				continue
			}
			top, ok := m.FirstValue(parser.KindVia)
			if !ok || parser.ParseVia(m.Raw(), top, &v) != nil {
				continue
			}
			if IsProbeBranch(v.Branch.In(m.Raw())) {
				e.p.Deliver(&m)
				continue
			}
			ra, _ := RetryAfter(&m)
			e.p.NoteReply(src, m.StatusCode(), ra)
			e.answered.Add(1)
		}
	}()
}

func invite(via string, i int) []byte {
	id := strconv.Itoa(i)
	return []byte("INVITE sip:svc@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + via + ";branch=z9hG4bKsf0000000000000000" + id + "\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:caller@example.com>;tag=" + id + "\r\n" +
		"To: <sip:svc@example.com>\r\nCall-ID: call-" + id + "@example.com\r\n" +
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
}

// TestLoopbackKillAndRestart: three back ends under a call load; one dies.
// It must be inactive within two probe intervals, and new calls must go to
// the other two only; restarted, it must be active again after OKThreshold
// probes, and take calls again. Once with passive detection (the silence
// alarm usually finds it first), once with probes alone.
func TestLoopbackKillAndRestart(t *testing.T) {
	for _, passive := range []bool{true, false} {
		t.Run("passive="+strconv.FormatBool(passive), func(t *testing.T) { loopbackKillAndRestart(t, !passive) })
	}
}

func loopbackKillAndRestart(t *testing.T, noPassive bool) {
	// Worst case to inactive: a probe at most one interval after the
	// kill, then FailThreshold timeouts (retried at once): 360 ms, within
	// the two intervals (400 ms) that the prober guarantees. A busy machine
	// (make test runs packages in parallel, other jobs fuzz) delays timers
	// and goroutines beyond that; the test measures that delay and allows
	// it, three times (the probe, two timeouts), on top of the bound.
	// TestDeadWithinTwoIntervals checks the bound itself on a fake clock.
	const interval, timeout = 200 * time.Millisecond, 80 * time.Millisecond
	bes := make([]*backend, 3)
	var lines []string
	for i := range bes {
		bes[i] = &backend{}
		bes[i].start(t)
		lines = append(lines, "1 sip:"+bes[i].addr().String())
	}
	defer func() {
		for _, b := range bes {
			b.stop()
		}
	}()
	disp := loadDispatcher(t, slog.New(slog.NewTextHandler(testWriter{t}, nil)), lines...)
	ec, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(disp, udpSender{ec}, Config{Interval: interval, Timeout: timeout, NoPassive: noPassive}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{c: ec, p: p}
	e.run()
	defer e.wg.Wait()
	defer ec.Close()
	p.Start()
	defer p.Stop()

	dest := func(b *backend) *dispatcher.Dest { return disp.Current().ByAddr(b.addr()) }
	waitFor := func(what string, limit time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %v", what, limit)
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(start)
	}
	waitFor("first probes answered", 2*time.Second, func() bool {
		for _, b := range bes {
			if dest(b).State() != dispatcher.Probing {
				return false
			}
		}
		return true
	})

	// The call load: one INVITE every millisecond or so, bounded in count
	// and time, each routed by Call-ID over the usable destinations.
	var (
		mu      sync.Mutex
		picks   = map[*dispatcher.Dest]int{}
		stopped = make(chan struct{})
		loadWG  sync.WaitGroup
	)
	resetPicks := func() map[*dispatcher.Dest]int {
		mu.Lock()
		defer mu.Unlock()
		old := picks
		picks = map[*dispatcher.Dest]int{}
		return old
	}
	loadWG.Add(1)
	go func() {
		defer loadWG.Done()
		via := ec.LocalAddr().String()
		deadline := time.Now().Add(20 * time.Second)
		for i := 0; i < 20000 && time.Now().Before(deadline); i++ {
			select {
			case <-stopped:
				return
			default:
			}
			key := dispatcher.HashString("call-" + strconv.Itoa(i) + "@example.com")
			d := disp.Current().Set(1).Select(dispatcher.HashCallID, key)
			if d == nil {
				continue
			}
			mu.Lock()
			picks[d]++
			mu.Unlock()
			ec.WriteToUDPAddrPort(invite(via, i), d.Addr)
			p.NoteSent(d)
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { close(stopped); loadWG.Wait() }()

	time.Sleep(3 * interval)
	victim := bes[1]
	vd := dest(victim)
	if n := victim.invites.Load(); n == 0 {
		t.Fatal("the victim took no calls before it died")
	}
	silence := passiveSilence.Get()
	lag := watchLag()
	killed := time.Now()
	victim.stop()
	waitFor("dead back end inactive", 10*interval, func() bool { return vd.State()&dispatcher.Inactive != 0 })
	maxLag := lag()
	// Measured by the time of the state change itself, not by when this
	// goroutine noticed it.
	at, why := vd.LastChange()
	took := at.Sub(killed)
	t.Logf("inactive %v after the kill (%s; silence alarms %d; scheduling lag up to %v)",
		took.Round(time.Millisecond), why, passiveSilence.Get()-silence, maxLag.Round(time.Millisecond))
	if took > 2*interval+3*maxLag {
		t.Fatalf("inactive %v after the kill: not within two intervals (%v) plus three times the scheduling lag (%v)",
			took, 2*interval, maxLag)
	}

	// New calls go to the others only (picks made before the change had
	// time to land first).
	time.Sleep(50 * time.Millisecond)
	resetPicks()
	before := []int64{bes[0].invites.Load(), bes[2].invites.Load()}
	time.Sleep(3 * interval)
	got := resetPicks()
	if got[vd] != 0 {
		t.Fatalf("%d calls routed to the inactive back end", got[vd])
	}
	if got[dest(bes[0])] == 0 || got[dest(bes[2])] == 0 {
		t.Fatalf("calls not spread over the survivors: %v", got)
	}
	if bes[0].invites.Load() == before[0] || bes[2].invites.Load() == before[1] {
		t.Fatal("the survivors received no calls")
	}

	// Restart: active again after OKThreshold probes.
	victim.options.Store(0)
	victim.invites.Store(0)
	restarted := time.Now()
	victim.start(t)
	waitFor("restarted back end active", 20*interval, func() bool { return vd.Usable() })
	// Exactly OKThreshold probes on a quiet machine; a probe whose answer
	// a starved goroutine handled too late counts as failed and restarts
	// the count, which the reason shows as well.
	at, why = vd.LastChange()
	n := victim.options.Load()
	t.Logf("active %v after the restart, after %d probes (%s)", at.Sub(restarted).Round(time.Millisecond), n, why)
	if want := inARow("probe reply 200", DefaultOKThreshold); why != want || n < DefaultOKThreshold {
		t.Errorf("active after %d probes, reason %q; want %d probes, reason %q", n, why, DefaultOKThreshold, want)
	}
	waitFor("restarted back end takes calls", 2*time.Second, func() bool { return victim.invites.Load() > 0 })

	for _, b := range bes {
		if l := dest(b).RT.LatencyEWMA.Load(); l <= 0 {
			t.Errorf("%s: latency EWMA %v", b.addr(), time.Duration(l))
		}
	}
	if e.answered.Load() == 0 {
		t.Error("no call was answered")
	}
}

// testWriter sends log lines to t.Log, shown when the test fails or -v.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// watchLag measures how late a 1 ms sleep wakes up, until the returned
// function is called, which returns the worst lateness seen.
func watchLag() func() time.Duration {
	var worst atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			t0 := time.Now()
			time.Sleep(time.Millisecond)
			if l := int64(time.Since(t0) - time.Millisecond); l > worst.Load() {
				worst.Store(l)
			}
		}
	}()
	return func() time.Duration {
		close(stop)
		<-done
		return time.Duration(worst.Load())
	}
}

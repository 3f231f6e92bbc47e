package lb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// loadPhone is a UAC for the load test: one socket, one call at a time,
// every wait bounded, errors returned (it runs off the test goroutine).
type loadPhone struct {
	conn *net.UDPConn
	addr netip.AddrPort
	lb   netip.AddrPort
	buf  []byte
	m    parser.Message
}

func newLoadPhone(t testing.TB, lb netip.AddrPort) *loadPhone {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &loadPhone{conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), lb: lb, buf: make([]byte, 65536)}
}

// await reads until the final response to method in callID, which must be
// a 200; it returns its Record-Route and Contact. The wait is long (a loaded
// machine may not run this goroutine for seconds, and an expired deadline
// fails a read even with a datagram waiting), and a timeout gets one last
// look at the socket before it counts.
func (p *loadPhone) await(callID, method string) (rr, contact string, err error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := p.conn.SetReadDeadline(deadline); err != nil {
			return "", "", err
		}
		n, _, err := p.conn.ReadFromUDPAddrPort(p.buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if err2 := p.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err2 == nil {
				n, _, err = p.conn.ReadFromUDPAddrPort(p.buf)
			}
		}
		if err != nil {
			return "", "", fmt.Errorf("%s %s: no final response: %w", method, callID, err)
		}
		if parser.Parse(p.buf[:n], &p.m) != nil || p.m.IsRequest() || string(p.m.CallID()) != callID ||
			!strings.HasSuffix(string(p.m.Value(parser.KindCSeq)), " "+method) {
			continue // a provisional response or a stray
		}
		code := p.m.StatusCode()
		if code < 200 {
			continue
		}
		if code != 200 {
			return "", "", fmt.Errorf("%s %s: %d", method, callID, code)
		}
		return string(p.m.Value(parser.KindRecordRoute)), string(p.m.Value(parser.KindContact)), nil
	}
}

func (p *loadPhone) send(s reqSpec) error {
	_, err := p.conn.WriteToUDPAddrPort([]byte(s.String()), p.lb)
	return err
}

// call runs INVITE, 200, ACK, BYE, 200 through sipfront.
func (p *loadPhone) call(callID string) error {
	inv := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: callID, branch: "z9hG4bK-i-" + callID,
		fromTag: "f-" + callID, cseq: 1, from: p.addr}
	if err := p.send(inv); err != nil {
		return err
	}
	rr, contact, err := p.await(callID, "INVITE")
	if err != nil {
		return err
	}
	ruri := strings.TrimSuffix(strings.TrimPrefix(contact, "<"), ">")
	_, toTag, _ := strings.Cut(string(p.m.Value(parser.KindTo)), "tag=")
	ack := reqSpec{method: "ACK", ruri: ruri, callID: callID, branch: "z9hG4bK-a-" + callID,
		fromTag: "f-" + callID, toTag: toTag, cseq: 1, from: p.addr, routes: []string{rr}}
	if err := p.send(ack); err != nil {
		return err
	}
	bye := ack
	bye.method, bye.branch, bye.cseq = "BYE", "z9hG4bK-b-"+callID, 2
	if err := p.send(bye); err != nil {
		return err
	}
	_, _, err = p.await(callID, "BYE")
	return err
}

// TestReloadsUnderLoad reloads the list 1000 times through dispatcher.reload
// while phones place calls through sipfront, and requires every call to
// complete with each of its requests (INVITE, ACK, BYE) delivered exactly
// once, all to the same back end. The two list versions move the weights
// (so new calls shift between back ends from one reload to the next), the
// priorities and a disabled third destination that comes and goes, the way
// a deploy tool rewrites the file: written beside it, renamed over it.
func TestReloadsUnderLoad(t *testing.T) {
	// A bound for a starved machine; 1-3 s is usual.
	reloadsUnderLoad(t, 1000, 60*time.Second)
}

// TestReloadSoak is the long run of TestReloadsUnderLoad, for the bench
// harness (bench/reload-soak.sh, make bench): SIPFRONT_RELOAD_SOAK sets the
// number of reloads. It is skipped in the test suite.
func TestReloadSoak(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("SIPFRONT_RELOAD_SOAK"))
	if err != nil || n <= 0 {
		t.Skip("a long run: set SIPFRONT_RELOAD_SOAK to a number of reloads (bench/reload-soak.sh)")
	}
	// About 1-3 ms a reload with its calls; the budget allows ten times that.
	reloadsUnderLoad(t, n, time.Duration(n)*30*time.Millisecond+time.Minute)
}

// reloadsUnderLoad does the work of TestReloadsUnderLoad with a number of
// reloads and a time budget: four phones place one call per two reloads.
func reloadsUnderLoad(t testing.TB, reloads int, timeBudget time.Duration) {
	const (
		phones       = 4
		listWeighted = "1 sip:%[1]s 0 0 weight=50\n1 sip:%[2]s 0 0 weight=50\n"
		listShifted  = "1 sip:%[1]s 0 0 weight=5\n1 sip:%[2]s 0 5 weight=95\n1 sip:%[3]s 4\n"
	)
	callsPerLoad := reloads / 2 // per phone, paced over the reloads: one call per two reloads
	a, b, spare := newPeer(t, "a"), newPeer(t, "b"), newPeer(t, "spare")
	a.serveUAS()
	b.serveUAS()
	spare.serveUAS()
	for _, p := range []*peer{a, b, spare} {
		p.tallyRequests() // keep a long run's memory small
	}
	versions := [2]string{
		fmt.Sprintf(listWeighted, a.addr, b.addr),
		fmt.Sprintf(listShifted, a.addr, b.addr, spare.addr),
	}
	e, c, path := ctlEngineConfig(t, versions[0], func(cfg *Config) {
		cfg.Alg = dispatcher.Weight
		cfg.Workers = 2
	}, ControlOptions{})

	ctx, cancel := context.WithTimeout(context.Background(), timeBudget)
	defer cancel()
	var wg sync.WaitGroup
	var placed, reloaded atomic.Int64
	errc := make(chan error, phones)
	for i := 0; i < phones; i++ {
		p := newLoadPhone(t, e.Addrs()[0])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < callsPerLoad && ctx.Err() == nil; n++ {
				// Pace: call n starts once 2n reloads are done, so the
				// calls spread over the whole run of reloads.
				for reloaded.Load() < int64(n*reloads/callsPerLoad) && ctx.Err() == nil {
					time.Sleep(100 * time.Microsecond)
				}
				placed.Add(1)
				if err := p.call(fmt.Sprintf("load-%d-%d", i, n)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}

	start := time.Now()
	tmp := filepath.Join(filepath.Dir(path), "dispatcher.list.new")
	for i := 1; i <= reloads && ctx.Err() == nil; i++ {
		if err := os.WriteFile(tmp, []byte(versions[i%2]), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		r := call(t, c, "dispatcher.reload", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, "Ok. Dispatcher successfully reloaded.") ||
			strings.Contains(r.body, "no change") {
			t.Fatalf("reload %d: %+v", i, r)
		}
		reloaded.Store(int64(i))
		select {
		case err := <-errc:
			t.Fatalf("during reload %d: %v\n%s", i, err, loadDiagnosis(t, c, err, a, b, spare))
		default:
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("the reloads did not finish within %v", timeBudget)
	}
	reloadTime := time.Since(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("call failed: %v\n%s", err, loadDiagnosis(t, c, err, a, b, spare))
	}
	calls := int(placed.Load())
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("%d reloads in %v (%v each), %d calls; after: heap in use %d KB (engine and test peers), %d goroutines",
		reloads, reloadTime.Round(time.Millisecond), (reloadTime / time.Duration(reloads)).Round(time.Microsecond),
		calls, ms.HeapInuse>>10, runtime.NumGoroutine())
	if calls != phones*callsPerLoad {
		t.Errorf("%d calls placed, want %d", calls, phones*callsPerLoad)
	}

	// Every call: INVITE, ACK and BYE once each, all at one back end.
	type seenAt struct {
		uas     string
		methods string
	}
	byCall := map[string]*seenAt{}
	for _, p := range []*peer{a, b, spare} {
		p.mu.Lock()
		for id, methods := range p.tally {
			if s := byCall[id]; s != nil {
				t.Errorf("call %s reached %s and %s", id, s.uas, p.name)
				continue
			}
			byCall[id] = &seenAt{uas: p.name, methods: methods}
		}
		p.mu.Unlock()
	}
	if len(byCall) != calls {
		t.Errorf("%d calls reached the back ends, %d were placed", len(byCall), calls)
	}
	perUAS := map[string]int{}
	for id, s := range byCall {
		perUAS[s.uas]++
		if s.methods != "INVITE ACK BYE " {
			t.Errorf("call %s at %s: %s", id, s.uas, s.methods)
		}
	}
	if perUAS["spare"] != 0 {
		t.Errorf("the disabled destination took %d calls", perUAS["spare"])
	}
	if perUAS["a"] == 0 || perUAS["b"] == 0 {
		t.Errorf("calls per back end %v: both should have taken some", perUAS)
	}
	var selected uint64
	for _, d := range e.Dispatcher().Current().Dests() {
		selected += d.RT.Selected.Load()
	}
	if selected != uint64(calls) {
		t.Errorf("selected counters sum to %d across reloads, want %d calls", selected, calls)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("the test ran out of its time budget")
	}
}

// loadDiagnosis says where a failed call got stuck: what each back end saw
// of it and sipfront's counters.
func loadDiagnosis(t testing.TB, c *Control, err error, peers ...*peer) string {
	var b strings.Builder
	id := ""
	if f := strings.Fields(err.Error()); len(f) > 1 {
		id = strings.TrimSuffix(f[1], ":")
	}
	for _, p := range peers {
		p.mu.Lock()
		fmt.Fprintf(&b, "%s saw %q\n", p.name, p.tally[id])
		p.mu.Unlock()
	}
	r := call(t, c, "stats.fetch", `["lb:"]`)
	b.WriteString(r.body)
	return b.String()
}

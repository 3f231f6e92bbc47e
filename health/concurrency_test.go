package health

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Several workers receive the same reply (a retransmitted 200): exactly one
// Deliver claims it.
func TestDeliverConcurrent(t *testing.T) {
	r := newRig(t, unit(nil), "1 "+a)
	r.at(0)
	m := parsed(t, replyTo(t, r.one().b, 200))
	base := staleReplies.Get()
	const workers = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r.p.Deliver(m)
		}()
	}
	close(start)
	wg.Wait()
	if n := staleReplies.Get() - base; n != workers-1 {
		t.Fatalf("%d deliveries counted stale, want %d", n, workers-1)
	}
	r.at(ms)
	if got := state(r.dest(1, a)); got != "AP/probing" {
		t.Fatalf("%s", got)
	}
}

// The running prober, workers calling every per-message method, and
// reloads, all at once (meant for -race); afterwards the prober still
// follows the table.
func TestConcurrentUse(t *testing.T) {
	lines := func(n int) []string {
		var l []string
		for i := 0; i < n; i++ {
			l = append(l, fmt.Sprintf("1 sip:10.0.1.%d:5060", i+1))
		}
		return l
	}
	d := loadDispatcher(t, nil, lines(8)...)
	snd := &fakeSender{}
	p, err := New(d, snd, Config{Interval: 20 * time.Millisecond, Timeout: 5 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Stop()
	stale := parsed(t, replyTo(t, appendOptions(nil, &probe{uri: "sip:x", from: "sip:y", viaHost: "h:1", slot: 1, nonce: nonceBit | 9}), 200))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tbl := d.Current()
				ds := tbl.Dests()
				if len(ds) == 0 {
					continue
				}
				x := ds[(i+w)%len(ds)]
				p.NoteSent(x)
				p.NoteReply(x.Addr, 200+i%400, time.Duration(i%3)*time.Second)
				if i%7 == 0 {
					p.NoteUnreachable(x.Addr)
				}
				p.Deliver(stale)
				if i%100 == 0 {
					p.SetPingActive(1 - i%200/100)
				}
			}
		}(w)
	}
	for i := 0; i < 10; i++ {
		reload(t, d, lines(4+i%5)...)
		p.Refresh()
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	p.SetPingActive(1)
	reload(t, d, "1 sip:10.0.2.1:5060")
	p.Refresh()
	deadline := time.Now().Add(2 * time.Second)
	for {
		found := false
		for _, s := range snd.take() {
			found = found || s.to.String() == "10.0.2.1:5060"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the prober does not probe the destination of the last reload")
		}
		time.Sleep(time.Millisecond)
	}
}

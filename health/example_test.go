package health_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/health"
	"github.com/sipfront/sipfront/parser"
)

// answering stands for the engine and a healthy back end at once: every
// probe it is asked to send comes straight back as a 200, which it hands to
// Deliver as the engine's worker does for a response whose top Via branch
// carries health.BranchPrefix.
type answering struct {
	p     *health.Prober
	first chan string
}

func (s *answering) ViaHost(netip.AddrPort, dispatcher.Transport) string { return "192.0.2.1:5060" }

func (s *answering) Send(b []byte, to netip.AddrPort, _ dispatcher.Transport) error {
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	select {
	case s.first <- string(line):
	default:
	}
	reply := append([]byte("SIP/2.0 200 OK\r\n"), rest...)
	reply = bytes.Replace(reply, []byte(">\r\nCall-ID"), []byte(">;tag=be1\r\nCall-ID"), 1)
	var m parser.Message
	var v parser.Via
	if parser.Parse(reply, &m) != nil {
		return nil
	}
	if top, ok := m.FirstValue(parser.KindVia); ok && parser.ParseVia(m.Raw(), top, &v) == nil &&
		health.IsProbeBranch(v.Branch.In(m.Raw())) {
		s.p.Deliver(&m)
	}
	return nil
}

func Example() {
	tbl, _, err := dispatcher.Load("dispatcher.list", []byte("1 sip:192.0.2.10:5060\n"), dispatcher.Options{})
	if err != nil {
		panic(err)
	}
	disp := dispatcher.New(tbl, dispatcher.Options{Logger: slog.New(slog.DiscardHandler)})
	snd := &answering{first: make(chan string, 1)}
	p, err := health.New(disp, snd, health.Config{Interval: time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	snd.p = p
	d := disp.Current().Set(1).Dests()[0]
	fmt.Println(d.URI, d.State().KamailioFlags())

	p.Start()
	defer p.Stop()
	fmt.Println(<-snd.first)
	for d.State() != dispatcher.Probing {
		time.Sleep(time.Millisecond)
	}
	_, reason := d.LastChange()
	fmt.Println(d.URI, d.State().KamailioFlags(), reason, d.RT.LatencyEWMA.Load() > 0)
	// Output:
	// sip:192.0.2.10:5060 AX
	// OPTIONS sip:192.0.2.10:5060 SIP/2.0
	// sip:192.0.2.10:5060 AP probe reply 200 true
}

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/lb"
	"github.com/sipfront/sipfront/lb/rpc"
	"github.com/sipfront/sipfront/parser"
)

// runDemo shows sipfront doing its job on one host with nothing installed:
// two in-process back ends ("PBXs"), sipfront in front of them on loopback,
// and a phone placing calls (INVITE → 100/180/200 → ACK → BYE → 200). Half
// way, one back end is taken out and the calls keep working on the other.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sipfront demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	calls := fs.Int("calls", 10, "calls to place before and after the failover")
	verbose := fs.Bool("v", false, "log what sipfront logs")
	rpcAddr := fs.String("rpc", rpc.DefaultAddr, "control API address for sipfrontctl (off: none)")
	serve := fs.Bool("serve", false, "keep running after the calls (query it with sipfrontctl; Ctrl-C stops)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *calls < 1 || *calls > 1000 {
		fmt.Fprintln(stderr, "sipfront demo: -calls must be between 1 and 1000")
		return exitUsage
	}
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	d, err := startDemo(slog.New(slog.NewTextHandler(logOut, nil)), *rpcAddr)
	if err != nil {
		fmt.Fprintf(stderr, "sipfront demo: %v\n", err)
		return exitFailure
	}
	defer d.stop()
	if d.rpcErr != nil {
		fmt.Fprintf(stdout, "(control API not started: %v)\n", d.rpcErr)
	}
	ok := d.play(stdout, *calls)
	if *serve {
		fmt.Fprintf(stdout, "\nsipfront keeps running. In another terminal:\n")
		if d.ctl != nil {
			fmt.Fprintf(stdout, "  go run ./cmd/sipfrontctl -rpc %s dispatcher.list\n", d.ctl.Addr())
			fmt.Fprintf(stdout, "  go run ./cmd/sipfrontctl -rpc %s dispatcher.drain 1 sip:%s\n", d.ctl.Addr(), d.pbxs[0].addr)
			fmt.Fprintf(stdout, "  curl -s http://%s/metrics | grep sipfront_lb_forwarded\n", d.ctl.Addr())
		}
		fmt.Fprintf(stdout, "Ctrl-C stops it.\n")
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		<-sigs
		signal.Stop(sigs)
	}
	if !ok {
		return exitFailure
	}
	return exitOK
}

type demoPBX struct {
	name  string
	conn  *net.UDPConn
	addr  netip.AddrPort
	calls atomic.Int64
}

type demo struct {
	ctl    *lb.Control
	rpcErr error
	dir    string
	pbxs   []*demoPBX
	eng    *lb.Engine
	lbAddr netip.AddrPort
	phone  *net.UDPConn
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startDemo(logger *slog.Logger, rpcAddr string) (*demo, error) {
	d := &demo{}
	var err error
	if d.dir, err = os.MkdirTemp("", "sipfront-demo-"); err != nil {
		return nil, err
	}
	var list strings.Builder
	list.WriteString("# written by sipfront demo: set 1, two back ends\n")
	for _, name := range []string{"pbx-a", "pbx-b"} {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			d.stop()
			return nil, err
		}
		p := &demoPBX{name: name, conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort()}
		d.pbxs = append(d.pbxs, p)
		fmt.Fprintf(&list, "1 sip:%s 0 0 duid=%s\n", p.addr, name)
		d.wg.Add(1)
		go func() { defer d.wg.Done(); p.serve() }()
	}
	listPath := filepath.Join(d.dir, "dispatcher.list")
	if err := os.WriteFile(listPath, []byte(list.String()), 0o644); err != nil {
		d.stop()
		return nil, err
	}
	d.eng, err = lb.New(lb.Config{
		Listen:         []lb.Listen{{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		DispatcherList: listPath,
		Alg:            dispatcher.HashCallID,
		CookieKey:      "sipfront demo",
		Logger:         logger,
	})
	if err != nil {
		d.stop()
		return nil, err
	}
	d.lbAddr = d.eng.Addrs()[0]
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	if rpcAddr != rpcOff {
		// The control API, so sipfrontctl can look at the demo; a busy
		// port (another sipfront) only costs the demo its API.
		if d.ctl, d.rpcErr = lb.NewControl(d.eng, lb.ControlOptions{Addr: rpcAddr, Version: version, Logger: logger}); d.ctl != nil {
			d.wg.Add(1)
			go func() { defer d.wg.Done(); _ = d.ctl.Serve(ctx) }()
		}
	}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); _ = d.eng.Run(ctx) }()
	// The phone lives on another loopback address, as a phone is not a back
	// end; 127.0.0.1 if the host lacks the rest of 127/8.
	d.phone, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		d.phone, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	}
	if err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *demo) stop() {
	if d.cancel != nil {
		d.cancel()
	}
	for _, p := range d.pbxs {
		p.conn.Close()
	}
	if d.phone != nil {
		d.phone.Close()
	}
	d.wg.Wait()
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

// play places the calls and prints what happened; true when every call
// completed.
func (d *demo) play(w io.Writer, n int) bool {
	fmt.Fprintf(w, "sipfront demo: sipfront on udp:%s, back ends %s (%s) and %s (%s), phone on %s\n\n",
		d.lbAddr, d.pbxs[0].name, d.pbxs[0].addr, d.pbxs[1].name, d.pbxs[1].addr, d.phone.LocalAddr())
	failed := 0
	place := func(from, to int) {
		for i := from; i < to; i++ {
			line, err := d.call(i)
			if err != nil {
				failed++
				fmt.Fprintf(w, "call %2d: FAILED: %v\n", i+1, err)
				continue
			}
			fmt.Fprintf(w, "call %2d: %s\n", i+1, line)
		}
	}
	place(0, n)
	fmt.Fprintf(w, "\n%s is taken out (as the health prober or `sipfrontctl dispatcher.set_state i 1 sip:%s` would):\n\n",
		d.pbxs[1].name, d.pbxs[1].addr)
	if err := d.eng.Dispatcher().SetState(1, "sip:"+d.pbxs[1].addr.String(), dispatcher.Inactive, "demo"); err != nil {
		fmt.Fprintf(w, "set state: %v\n", err)
		return false
	}
	place(n, 2*n)
	fmt.Fprintf(w, "\n%d calls placed, %d completed, %d failed; %s took %d, %s took %d.\n",
		2*n, 2*n-failed, failed, d.pbxs[0].name, d.pbxs[0].calls.Load(), d.pbxs[1].name, d.pbxs[1].calls.Load())
	return failed == 0
}

// call places one call and describes it.
func (d *demo) call(i int) (string, error) {
	start := time.Now()
	phone := d.phone.LocalAddr().(*net.UDPAddr).AddrPort()
	callID := fmt.Sprintf("demo-%d-%d@%s", i, start.UnixNano(), phone.Addr())
	tag := fmt.Sprintf("ph%d", i)
	inv := fmt.Sprintf("INVITE sip:1002@demo.example SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-demo-inv-%d;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: \"Phone\" <sip:1001@demo.example>;tag=%s\r\nTo: <sip:1002@demo.example>\r\n"+
		"Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:1001@%s>\r\nContent-Type: application/sdp\r\n"+
		"Content-Length: 31\r\n\r\nv=0\r\ns=demo\r\nt=0 0\r\nm=audio 0 x\r\n",
		phone, i, tag, callID, phone)
	var got []int
	ok, err := d.transact(inv, func(code int) { got = append(got, code) })
	if err != nil {
		return "", fmt.Errorf("INVITE: %v (got %v)", err, got)
	}
	var om parser.Message
	if err := parser.Parse(ok, &om); err != nil {
		return "", err
	}
	rr := string(om.Value(parser.KindRecordRoute))
	to := string(om.Value(parser.KindTo))
	contact := ""
	var na parser.NameAddr
	if h, found := om.Header(parser.KindContact); found && parser.ParseNameAddr(ok, h.Value, &na) == nil {
		contact = string(na.URI.In(ok))
	}
	pbx := "?"
	if i := strings.Index(to, "tag="); i >= 0 {
		pbx = to[i+4:]
	}
	ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-demo-ack-%d;rport\r\nRoute: %s\r\n"+
		"Max-Forwards: 70\r\nFrom: \"Phone\" <sip:1001@demo.example>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n"+
		"Content-Length: 0\r\n\r\n", contact, phone, i, rr, tag, to, callID)
	if _, err := d.phone.WriteToUDPAddrPort([]byte(ack), d.lbAddr); err != nil {
		return "", err
	}
	bye := fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-demo-bye-%d;rport\r\nRoute: %s\r\n"+
		"Max-Forwards: 70\r\nFrom: \"Phone\" <sip:1001@demo.example>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 2 BYE\r\n"+
		"Content-Length: 0\r\n\r\n", contact, phone, i, rr, tag, to, callID)
	byeOK, err := d.transact(bye, nil)
	if err != nil {
		return "", fmt.Errorf("BYE: %v", err)
	}
	// The BYE must have reached the back end that answered the INVITE: its
	// 200 carries that back end's Contact.
	if parser.Parse(byeOK, &om) != nil {
		return "", errors.New("BYE: unparsable 200")
	}
	if h, found := om.Header(parser.KindContact); !found || parser.ParseNameAddr(byeOK, h.Value, &na) != nil ||
		string(na.URI.In(byeOK)) != contact {
		return "", fmt.Errorf("BYE answered by another back end than %s", pbx)
	}
	codes := make([]string, len(got))
	for i, c := range got {
		codes[i] = fmt.Sprint(c)
	}
	return fmt.Sprintf("INVITE → %s, answered %s, ACK and BYE routed by the Record-Route cookie → 200 (%.1f ms)",
		pbx, strings.Join(codes, " "), float64(time.Since(start).Microseconds())/1000), nil
}

// transact sends a request and waits for its final response, retransmitting
// as RFC 3261 timer A/E would (500 ms, doubling) for up to 4 s.
func (d *demo) transact(req string, provisional func(int)) ([]byte, error) {
	var m parser.Message
	buf := make([]byte, 65536)
	method := req[:strings.IndexByte(req, ' ')]
	interval := 500 * time.Millisecond
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := d.phone.WriteToUDPAddrPort([]byte(req), d.lbAddr); err != nil {
			return nil, err
		}
		retry := time.Now().Add(interval)
		interval *= 2
		for {
			d.phone.SetReadDeadline(retry)
			n, _, err := d.phone.ReadFromUDPAddrPort(buf)
			if err != nil {
				break // retransmit
			}
			if parser.Parse(buf[:n], &m) != nil || m.IsRequest() {
				continue
			}
			_, cm, err := m.CSeq()
			if err != nil || string(cm.In(buf)) != method {
				continue
			}
			if provisional != nil {
				provisional(m.StatusCode())
			}
			if m.StatusCode() >= 200 {
				if m.StatusCode() >= 300 {
					return nil, fmt.Errorf("%d %s", m.StatusCode(), m.Bytes(m.Reason()))
				}
				return append([]byte(nil), buf[:n]...), nil
			}
		}
	}
	return nil, errors.New("no final response within 4 s")
}

// serve answers like a PBX: INVITE → 100, 180, 200 (To tag = its name,
// Contact = its address, Record-Route echoed); BYE and others → 200.
func (p *demoPBX) serve() {
	buf := make([]byte, 65536)
	var m parser.Message
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if parser.Parse(buf[:n], &m) != nil || !m.IsRequest() || m.Method() == parser.MethodACK {
			continue
		}
		reply := func(code int, reason string, tag bool) {
			var b bytes.Buffer
			fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
			for _, h := range m.Headers() {
				line := buf[h.Name.Start:h.End]
				switch h.Kind {
				case parser.KindVia, parser.KindFrom, parser.KindCallID, parser.KindCSeq, parser.KindRecordRoute:
					b.Write(line)
				case parser.KindTo:
					if tag && !bytes.Contains(line, []byte("tag=")) {
						b.Write(bytes.TrimRight(line, "\r\n"))
						fmt.Fprintf(&b, ";tag=%s\r\n", p.name)
					} else {
						b.Write(line)
					}
				}
			}
			fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\nContent-Length: 0\r\n\r\n", p.name, p.addr)
			p.conn.WriteToUDPAddrPort(b.Bytes(), from)
		}
		if m.Method() == parser.MethodINVITE {
			p.calls.Add(1)
			reply(100, "Trying", false)
			reply(180, "Ringing", true)
			reply(200, "OK", true)
			continue
		}
		reply(200, "OK", true)
	}
}

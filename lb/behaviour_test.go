package lb

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// viaBranches returns the branch of every Via of a received message.
func topBranch(t *testing.T, r rx) string {
	t.Helper()
	top, ok := r.m.FirstValue(parser.KindVia)
	var v parser.Via
	if !ok || parser.ParseVia(r.b, top, &v) != nil {
		t.Fatalf("no top Via in\n%s", r.b)
	}
	return string(v.Branch.In(r.b))
}

func TestRetransmissionAndCancelFollowInvite(t *testing.T) {
	var uases []*peer
	var addrs []netip.AddrPort
	for i := 0; i < 4; i++ {
		p := newPeer(t, fmt.Sprint("uas", i))
		uases = append(uases, p)
		addrs = append(addrs, p.addr)
	}
	// round-robin: the documented stateless form hashes the call identity.
	_, lb := startEngine(t, dispatcher.RoundRobin, addrs...)
	phone := newPhone(t, "phone")
	for call := 0; call < 20; call++ {
		inv := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: fmt.Sprintf("rtx-%d", call),
			branch: fmt.Sprintf("z9hG4bK-rtx%d", call), fromTag: "f", cseq: 1, from: phone.addr}
		phone.send(lb, inv.String())
		phone.send(lb, inv.String()) // retransmission
		cancel := inv
		cancel.method = "CANCEL"
		phone.send(lb, cancel.String())
		var got []rx
		deadline := time.Now().Add(2 * time.Second)
		for len(got) < 3 && time.Now().Before(deadline) {
			got = got[:0]
			for _, u := range uases {
				for _, r := range u.seen2(inv.callID) {
					got = append(got, r)
				}
			}
			time.Sleep(time.Millisecond)
		}
		if len(got) != 3 {
			t.Fatalf("call %d: %d messages reached back ends, want 3", call, len(got))
		}
		b0 := topBranch(t, got[0])
		for _, r := range got[1:] {
			if r.from != got[0].from || r.to != got[0].to {
				t.Fatalf("call %d: INVITE, retransmission and CANCEL reached different back ends", call)
			}
			if topBranch(t, r) != b0 {
				t.Errorf("call %d: branch %s differs from %s", call, topBranch(t, r), b0)
			}
		}
	}
}

func TestFailoverWhenDestinationInactive(t *testing.T) {
	uas1, uas2 := newPeer(t, "uas1"), newPeer(t, "uas2")
	uas1.serveUAS()
	uas2.serveUAS()
	e, lb := startEngine(t, dispatcher.HashCallID, uas1.addr, uas2.addr)
	phone := newPhone(t, "phone")
	send := func(n int, prefix string) {
		for i := 0; i < n; i++ {
			inv := reqSpec{method: "OPTIONS", ruri: "sip:bob@example.com", callID: fmt.Sprintf("%s-%d", prefix, i),
				branch: fmt.Sprintf("z9hG4bK-%s%d", prefix, i), fromTag: "f", cseq: 1, from: phone.addr}
			phone.send(lb, inv.String())
			phone.expect("200", isStatus(200))
		}
	}
	send(40, "before")
	if len(uas1.received("OPTIONS")) == 0 || len(uas2.received("OPTIONS")) == 0 {
		t.Fatalf("calls not spread: %d/%d", len(uas1.received("OPTIONS")), len(uas2.received("OPTIONS")))
	}
	if err := e.Dispatcher().SetState(1, "sip:"+uas1.addr.String(), dispatcher.Inactive, "test"); err != nil {
		t.Fatal(err)
	}
	n1 := len(uas1.received("OPTIONS"))
	send(40, "after")
	if got := len(uas1.received("OPTIONS")); got != n1 {
		t.Errorf("inactive destination got %d new requests", got-n1)
	}
	// Every destination out: 503.
	if err := e.Dispatcher().SetState(1, "sip:"+uas2.addr.String(), dispatcher.Inactive, "test"); err != nil {
		t.Fatal(err)
	}
	inv := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: "none", branch: "z9hG4bK-none", fromTag: "f", cseq: 1, from: phone.addr}
	phone.send(lb, inv.String())
	phone.expect("503", isStatus(503))
}

func TestCookies(t *testing.T) {
	uas := newPeer(t, "uas")
	uas.serveUAS()
	e, lb := startEngine(t, dispatcher.HashCallID, uas.addr)
	phone := newPhone(t, "phone")
	inv := reqSpec{method: "INVITE", ruri: "sip:bob@example.com", callID: "ck", branch: "z9hG4bK-ck", fromTag: "f", cseq: 1, from: phone.addr}
	phone.send(lb, inv.String())
	rr := phone.expect("200", isStatus(200)).header(parser.KindRecordRoute)
	i := strings.Index(rr, "sfc=")
	if i < 0 {
		t.Fatalf("no cookie in %q", rr)
	}
	cookie := rr[i+4 : len(rr)-1]

	t.Run("forged", func(t *testing.T) {
		forged := []byte(cookie)
		// Change the last character of the MAC text to another base64url one.
		if forged[len(forged)-1] == 'A' {
			forged[len(forged)-1] = 'B'
		} else {
			forged[len(forged)-1] = 'A'
		}
		for _, c := range []string{string(forged), "AAAA", "!!", strings.Repeat("A", 60)} {
			bye := reqSpec{method: "BYE", ruri: "sip:uas@" + uas.addr.String(), callID: "ck", branch: "z9hG4bK-f" + c,
				fromTag: "f", toTag: "x", cseq: 2, from: phone.addr,
				routes: []string{"<sip:" + lb.String() + ";lr;sfc=" + c + ">"}}
			phone.send(lb, bye.String())
			r := phone.expect("403", func(r rx) bool { return !r.m.IsRequest() })
			if r.m.StatusCode() != 403 {
				t.Errorf("cookie %q: %s\n%s", c, r.startLine(), r.b)
			}
		}
	})
	t.Run("stale", func(t *testing.T) {
		// The destination is removed by a reload: its cookie no longer routes.
		other := newPeer(t, "other")
		path := e.cfg.DispatcherList
		if err := os.WriteFile(path, []byte("1 sip:"+other.addr.String()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.Reload(); err != nil {
			t.Fatal(err)
		}
		bye := reqSpec{method: "BYE", ruri: "sip:uas@" + uas.addr.String(), callID: "ck", branch: "z9hG4bK-stale",
			fromTag: "f", toTag: "x", cseq: 3, from: phone.addr, routes: []string{rr}}
		phone.send(lb, bye.String())
		r := phone.expect("403", func(r rx) bool { return !r.m.IsRequest() })
		if r.m.StatusCode() != 403 || !strings.Contains(r.startLine(), "Unknown Destination") {
			t.Errorf("stale cookie: %s", r.startLine())
		}
	})
	t.Run("relay denied", func(t *testing.T) {
		// A phone cannot use our Route to reach an arbitrary next hop.
		bye := reqSpec{method: "BYE", ruri: "sip:x@192.0.2.9", callID: "ck", branch: "z9hG4bK-relay",
			fromTag: "f", toTag: "x", cseq: 4, from: phone.addr,
			routes: []string{"<sip:" + lb.String() + ";lr>", "<sip:192.0.2.9;lr>"}}
		phone.send(lb, bye.String())
		r := phone.expect("403", func(r rx) bool { return !r.m.IsRequest() })
		if r.m.StatusCode() != 403 || !strings.Contains(r.startLine(), "Relaying Denied") {
			t.Errorf("relay: %s", r.startLine())
		}
	})
}

func TestLocalReplies(t *testing.T) {
	uas := newPeer(t, "uas")
	uas.serveUAS()
	_, lb := startEngine(t, dispatcher.HashCallID, uas.addr)
	phone := newPhone(t, "phone")
	base := reqSpec{method: "OPTIONS", ruri: "sip:bob@example.com", callID: "lr", branch: "z9hG4bK-lr", fromTag: "f", cseq: 1, from: phone.addr}
	for _, tc := range []struct {
		name string
		msg  func() string
		code int
	}{
		{"max-forwards 0", func() string { s := base; s.maxForwards = -1; s.extra = []string{"Max-Forwards: 0"}; return s.String() }, 483},
		{"tel uri", func() string { s := base; s.ruri = "tel:+15551234"; return s.String() }, 416},
		{"version", func() string { return strings.Replace(base.String(), "SIP/2.0\r\n", "SIP/3.0\r\n", 1) }, 505},
		{"proxy-require", func() string { s := base; s.extra = []string{"Proxy-Require: foo, bar"}; return s.String() }, 420},
		{"bad cseq", func() string { return strings.Replace(base.String(), "CSeq: 1 OPTIONS", "CSeq: x OPTIONS", 1) }, 400},
		{"cseq method", func() string { return strings.Replace(base.String(), "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1) }, 400},
		{"unknown method mismatch", func() string {
			return strings.Replace(strings.Replace(base.String(), "OPTIONS sip", "FOO sip", 1), "CSeq: 1 OPTIONS", "CSeq: 1 INVITE", 1)
		}, 501},
		{"bare cookie branch", func() string { s := base; s.branch = "z9hG4bK"; return s.String() }, 400},
		{"short body", func() string { return strings.Replace(base.String(), "Content-Length: 0", "Content-Length: 10", 1) }, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			phone.send(lb, tc.msg())
			r := phone.expect("reply", func(r rx) bool { return !r.m.IsRequest() })
			if r.m.StatusCode() != tc.code {
				t.Fatalf("got %s, want %d", r.startLine(), tc.code)
			}
			if tc.code == 420 && r.header(parser.KindUnsupported) != "foo, bar" {
				t.Errorf("Unsupported %q", r.header(parser.KindUnsupported))
			}
			if !strings.Contains(r.header(parser.KindTo), "tag=") {
				t.Errorf("reply without To tag: %q", r.header(parser.KindTo))
			}
		})
	}
	t.Run("malformed ACK is never answered", func(t *testing.T) {
		s := base
		s.method = "ACK"
		phone.send(lb, strings.Replace(s.String(), "CSeq: 1 ACK", "CSeq: x ACK", 1))
		phone.expectNothing(100 * time.Millisecond)
	})
	t.Run("response not ours is dropped", func(t *testing.T) {
		phone.send(lb, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"+
			"To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
		phone.expectNothing(100 * time.Millisecond)
	})
	t.Run("response with a forged branch is dropped", func(t *testing.T) {
		phone.send(lb, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP "+lb.String()+";branch=z9hG4bKsf0123456789abcdef01234567\r\n"+
			"Via: SIP/2.0/UDP "+phone.addr.String()+";branch=z9hG4bKv\r\nFrom: <sip:a@b>;tag=1\r\n"+
			"To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
		phone.expectNothing(100 * time.Millisecond)
	})
}

func TestLoopDetected(t *testing.T) {
	// A list that names sipfront itself: the request comes back unchanged.
	// The port is known only once sipfront runs, so the list is rewritten and
	// reloaded.
	e, lb := startEngine(t, dispatcher.HashCallID, netip.MustParseAddrPort("127.0.0.1:9"))
	if err := os.WriteFile(e.cfg.DispatcherList, []byte("1 sip:"+lb.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	phone := newPhone(t, "phone")
	s := reqSpec{method: "OPTIONS", ruri: "sip:bob@example.com", callID: "loop", branch: "z9hG4bK-loop", fromTag: "f", cseq: 1, from: phone.addr}
	phone.send(lb, s.String())
	r := phone.expect("482", func(r rx) bool { return !r.m.IsRequest() })
	if r.m.StatusCode() != 482 {
		t.Fatalf("got %s", r.startLine())
	}
}

func TestRegisterByAoRWithPath(t *testing.T) {
	var uases []*peer
	var addrs []netip.AddrPort
	for i := 0; i < 3; i++ {
		p := newPeer(t, fmt.Sprint("reg", i))
		p.serveUAS()
		uases = append(uases, p)
		addrs = append(addrs, p.addr)
	}
	_, lb := startEngine(t, dispatcher.RoundRobin, addrs...)
	phone := newPhone(t, "phone")
	for i := 0; i < 6; i++ {
		reg := fmt.Sprintf("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-reg%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=r%d\r\nTo: <sip:alice@EXAMPLE.com>\r\n"+
			"Call-ID: reg-%d\r\nCSeq: %d REGISTER\r\nContact: <sip:alice@%s>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n",
			phone.addr, i, i, i, i+1, phone.addr)
		phone.send(lb, reg)
		phone.expect("200", isStatus(200))
	}
	var hit *peer
	for _, u := range uases {
		if n := len(u.received("REGISTER")); n > 0 {
			if hit != nil {
				t.Fatal("one AoR reached two back ends")
			}
			hit = u
		}
	}
	r := hit.received("REGISTER")[0]
	path := r.header(parser.KindPath)
	if !strings.HasPrefix(path, "<sip:"+lb.String()+";lr;sfc=") {
		t.Errorf("Path %q", path)
	}
	if c := r.header(parser.KindContact); c != "<sip:alice@"+phone.addr.String()+">" {
		t.Errorf("Contact changed: %q", c)
	}
}

// TestTortureCorpusThroughProxy sends every RFC 4475 / RFC 5118 message to a
// running sipfront and checks the action its verdict names: forwarded with
// only Via, Max-Forwards, Record-Route/Path changed; answered with the
// status; or dropped. The process must survive them all.
func TestTortureCorpusThroughProxy(t *testing.T) {
	backend := newPeer(t, "backend")
	_, lb := startEngine(t, dispatcher.HashCallID, backend.addr)
	phone := newPhone(t, "phone")
	f, err := os.Open("../parser/testdata/torture/cases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	n := 0
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		file, verdict := c[0], c[4]
		n++
		t.Run(strings.TrimSuffix(file, ".sip"), func(t *testing.T) {
			msg, err := os.ReadFile(filepath.Join("../parser/testdata/torture", file))
			if err != nil {
				t.Fatal(err)
			}
			phone.send(lb, string(msg))
			switch {
			case verdict == "forward":
				got := backend.expect("forwarded request", func(r rx) bool { return r.m.IsRequest() })
				checkForwarded(t, msg, got)
				phone.expectNothing(20 * time.Millisecond)
			case strings.HasPrefix(verdict, "reply:"):
				r := phone.expect(verdict, func(r rx) bool { return !r.m.IsRequest() })
				if want := strings.TrimPrefix(verdict, "reply:"); fmt.Sprint(r.m.StatusCode()) != want {
					t.Errorf("answered %s, want %s", r.startLine(), want)
				}
				backend.expectNothing(20 * time.Millisecond)
			case verdict == "drop":
				phone.expectNothing(50 * time.Millisecond)
				backend.expectNothing(10 * time.Millisecond)
			default:
				t.Fatalf("unknown verdict %q", verdict)
			}
		})
	}
	if n < 60 {
		t.Errorf("only %d corpus messages", n)
	}
	// Still alive and routing.
	s := reqSpec{method: "OPTIONS", ruri: "sip:bob@example.com", callID: "alive", branch: "z9hG4bK-alive", fromTag: "f", cseq: 1, from: phone.addr}
	phone.send(lb, s.String())
	backend.expect("OPTIONS after the corpus", isMethod("OPTIONS"))
}

// checkForwarded compares a forwarded request with what was sent: same start
// line, same body, and the same header lines in the same order except our
// Via, the client Via's received/rport, Max-Forwards, and our Record-Route or
// Path.
func checkForwarded(t *testing.T, sent []byte, got rx) {
	t.Helper()
	var in parser.Message
	if err := parser.Parse(sent, &in); err != nil {
		t.Fatalf("sent message does not parse: %v", err)
	}
	if !bytes.Equal(got.m.Body(), in.Body()) {
		t.Error("body changed")
	}
	if string(got.m.Bytes(got.m.RequestURI())) != string(in.Bytes(in.RequestURI())) {
		t.Error("Request-URI changed")
	}
	type line struct{ name, value string }
	collect := func(m *parser.Message, b []byte, ours bool) []line {
		var out []line
		skippedOurVia := false
		for _, h := range m.Headers() {
			v := string(h.Value.In(b))
			switch h.Kind {
			case parser.KindMaxForwards:
				continue
			case parser.KindVia:
				if ours && !skippedOurVia {
					skippedOurVia = true
					continue
				}
				// received/rport were added to the first client Via: compare
				// up to them.
				if i := strings.Index(v, ";received="); i >= 0 {
					v = v[:i]
				}
				v = strings.TrimSuffix(strings.Split(v, ";rport")[0], ";rport")
			case parser.KindRecordRoute, parser.KindPath:
				if ours && strings.Contains(v, "sfc=") {
					continue
				}
			}
			out = append(out, line{string(h.Name.In(b)), v})
		}
		return out
	}
	a, b := collect(&in, sent, false), collect(got.m, got.b, true)
	if len(a) != len(b) {
		t.Fatalf("%d header lines forwarded, %d sent\nsent:\n%s\nforwarded:\n%s", len(b), len(a), sent, got.b)
	}
	for i := range a {
		if a[i].name != b[i].name || (a[i].name != "Via" && a[i].name != "v" && !strings.EqualFold(a[i].name, "via") && a[i].value != b[i].value) {
			t.Errorf("line %d: sent %q: %q, forwarded %q: %q", i, a[i].name, a[i].value, b[i].name, b[i].value)
		}
	}
}

// TestSpreadRequests: with SpreadRequests, one phone's requests reach both
// workers, while one back end's responses all reach the same one (they stay
// in order).
func TestSpreadRequests(t *testing.T) {
	uas := newPeer(t, "uas")
	uas.serveUAS()
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	os.WriteFile(path, []byte("1 sip:"+uas.addr.String()+"\n"), 0o644)
	e, err := New(Config{Listen: []Listen{{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		DispatcherList: path, Workers: 2, CookieKey: "k", NoProbe: true, SpreadRequests: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, e)
	phone := newPhone(t, "phone")
	for i := 0; i < 200; i++ {
		phone.transact(e.Addrs()[0], reqSpec{method: "OPTIONS", ruri: "sip:x@h", callID: fmt.Sprint("spread-", i),
			branch: fmt.Sprint("z9hG4bK-spread-", i), fromTag: "f", cseq: 1, from: phone.addr}.String(), "200", isStatus(200))
	}
	var reqs, resps []uint64
	for _, w := range e.workers {
		reqs = append(reqs, w.p.st.requests[parser.MethodOPTIONS].Load())
		resps = append(resps, w.p.st.responses.Load())
	}
	if reqs[0] == 0 || reqs[1] == 0 {
		t.Errorf("requests per worker %v: not spread", reqs)
	}
	if resps[0] != 0 && resps[1] != 0 {
		t.Errorf("responses per worker %v: one back end's responses crossed workers", resps)
	}
}

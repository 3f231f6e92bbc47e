package lb

import (
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"regexp"
	"testing"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/parser"
)

// The whole stateless path without sockets: parse → check → route →
// rewrite, for the three messages every call is made of. Addresses follow
// parser/testdata/messages/README.md: the phone is 198.51.100.77:5060,
// sipfront 203.0.113.10:5060, the back ends 10.0.0.11 and 10.0.0.12.

var (
	benchPhone   = netip.MustParseAddrPort("198.51.100.77:5060")
	benchSelf    = netip.MustParseAddrPort("203.0.113.10:5060")
	benchBackend = netip.MustParseAddrPort("10.0.0.11:5060")
)

// pathFixture is a proc wired to an engine without sockets, and the three
// messages: the phone's INVITE, the back end's 200 to it (with the Via
// sipfront really wrote), and the phone's BYE (with the Record-Route
// sipfront really wrote).
type pathFixture struct {
	p             *proc
	o             origin
	invite, ok200 []byte
	bye           []byte
	out           []byte
}

func newPathFixture(tb testing.TB) *pathFixture {
	tb.Helper()
	tbl, _, err := dispatcher.Load("bench.list", []byte("1 sip:10.0.0.11:5060\n1 sip:10.0.0.12:5060\n"), dispatcher.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	self, _ := newSelf([]netip.AddrPort{benchSelf}, netip.AddrPort{})
	id := &ident{tr: trUDP, addr: benchSelf, fixed: []byte(benchSelf.String())}
	e := &Engine{
		cfg:    Config{Set: 1, Alg: dispatcher.HashCallID, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		disp:   dispatcher.New(tbl, dispatcher.Options{}),
		key:    newKey("bench"),
		self:   self,
		hasUDP: true,
	}
	e.idents[trUDP] = []*ident{id}
	// Probing on, as in production: the data path feeds the prober's
	// passive detection (NoteSent, NoteReply) on every message.
	if err := e.newProber(); err != nil {
		tb.Fatal(err)
	}
	f := &pathFixture{p: &proc{e: e, st: new(workerStats)}, out: make([]byte, 0, sendSlot),
		o: origin{tr: trUDP, local: benchSelf.Addr(), id: id}}
	read := func(name string) []byte {
		b, err := os.ReadFile("../parser/testdata/messages/" + name + ".sip")
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	f.invite = read("invite")
	// Route the INVITE once to learn what sipfront writes.
	f.o.src = benchPhone
	fwd, dst := f.p.handle(f.invite, &f.o, f.out)
	if !dst.addr.IsValid() {
		tb.Fatalf("INVITE not forwarded")
	}
	var m parser.Message
	if err := parser.Parse(fwd, &m); err != nil {
		tb.Fatal(err)
	}
	ourVia, _ := m.FirstValue(parser.KindVia)
	rr := m.Value(parser.KindRecordRoute)
	f.ok200 = regexp.MustCompile(`Via: SIP/2.0/UDP 203\.0\.113\.10:5060;branch=[^\r]*`).
		ReplaceAll(read("ok200"), append([]byte("Via: "), fwd[ourVia.Start:ourVia.End]...))
	f.bye = regexp.MustCompile(`Route: <[^\r]*>`).ReplaceAll(read("bye"), append([]byte("Route: "), rr...))
	return f
}

// from returns the source a message of the fixture comes from: the 200
// comes from the back end, the others from the phone.
func (f *pathFixture) handle(msg []byte, src netip.AddrPort) ([]byte, netip.AddrPort) {
	f.o.src = src
	out, t := f.p.handle(msg, &f.o, f.out[:0])
	return out, t.addr
}

func TestWholePath(t *testing.T) {
	f := newPathFixture(t)
	out, dst := f.handle(f.ok200, benchBackend)
	if dst != benchPhone {
		t.Errorf("200 goes to %v, want the phone", dst)
	}
	if bytes.Contains(out, []byte("z9hG4bKsf")) {
		t.Error("our Via left in the 200")
	}
	out, dst = f.handle(f.bye, benchPhone)
	if !dst.IsValid() || (dst != benchBackend && dst != netip.MustParseAddrPort("10.0.0.12:5060")) {
		t.Fatalf("BYE goes to %v\n%s", dst, out)
	}
	if f.p.st.routedByCookie.Load() != 1 {
		t.Errorf("BYE not routed by the cookie")
	}
}

type srcAddr netip.AddrPort

func (s srcAddr) ap() netip.AddrPort { return netip.AddrPort(s) }

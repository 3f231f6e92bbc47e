package lb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/health"
	"github.com/sipfront/sipfront/lb/rpc"
)

// The health prober is what ControlOptions.Prober expects, Refresh included.
var (
	_ Prober                 = (*health.Prober)(nil)
	_ interface{ Refresh() } = (*health.Prober)(nil)
)

// The Kamailio list the recordings of lb/rpc/testdata/kamailio were made
// with (same content as its dispatcher.list).
const kamList = "1 sip:127.0.0.1:5171 0 0 duid=a;weight=50\n1 sip:127.0.0.1:5172\n"

// ctlEngine starts an engine on 127.0.0.1:0 whose list file holds list, and
// a control API in front of it on 127.0.0.1:0; both stop when the test ends.
// It returns the engine, the control server and the list file's path.
func ctlEngine(t testing.TB, list string, o ControlOptions) (*Engine, *Control, string) {
	t.Helper()
	return ctlEngineConfig(t, list, nil, o)
}

// ctlEngineConfig is ctlEngine with a chance to change the engine's Config.
func ctlEngineConfig(t testing.TB, list string, tweak func(*Config), o ControlOptions) (*Engine, *Control, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dispatcher.list")
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Listen:         []Listen{{Transport: "udp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}},
		DispatcherList: path,
		Workers:        1,
		CookieKey:      "control test key",
		NoProbe:        true, // probes would be stray requests at the test back ends
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	c, err := NewControl(e, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone, serveDone := make(chan error, 1), make(chan error, 1)
	go func() { runDone <- e.Run(ctx) }()
	go func() { serveDone <- c.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := <-serveDone; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e, c, path
}

// httpReply is what the server sent: status code, reason phrase, body.
type httpReply struct {
	status int
	reason string
	body   string
}

// ctlDo sends one HTTP request to the control server.
func ctlDo(t testing.TB, c *Control, method, path, body string, hdr ...string) httpReply {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+c.Addr().String()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	_, reason, _ := strings.Cut(resp.Status, " ")
	return httpReply{resp.StatusCode, reason, string(b)}
}

// call posts a JSON-RPC request with id 1 and the given params (raw JSON,
// empty for none).
func call(t testing.TB, c *Control, method, params string, hdr ...string) httpReply {
	t.Helper()
	body := `{"jsonrpc":"2.0","method":"` + method + `"`
	if params != "" {
		body += `,"params":` + params
	}
	return ctlDo(t, c, http.MethodPost, "/RPC", body+`,"id":1}`, hdr...)
}

// okReply and errReply are the bodies of a success and of an error, id 1.
func okReply(result string) httpReply {
	return httpReply{200, "OK", `{"jsonrpc":"2.0","result":` + result + `,"id":1}`}
}

func errReply(code int, msg string) httpReply {
	b, _ := json.Marshal(msg)
	return httpReply{code, msg, `{"jsonrpc":"2.0","error":{"code":` + itoa(code) + `,"message":` + string(b) + `},"id":1}`}
}

func itoa(n int) string { return string(appendUint(nil, uint64(n))) }

// listResult returns the result of dispatcher.list (mode as params).
func listResult(t testing.TB, c *Control, params string) dsList {
	t.Helper()
	r := call(t, c, "dispatcher.list", params)
	if r.status != 200 {
		t.Fatalf("dispatcher.list: %+v", r)
	}
	var rep struct{ Result dsList }
	if err := json.Unmarshal([]byte(r.body), &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Result
}

// destOf finds a destination in a dispatcher.list result.
func destOf(l dsList, set int, uri string) *dsDest {
	for i := range l.RECORDS {
		if l.RECORDS[i].SET.ID != set {
			continue
		}
		for j := range l.RECORDS[i].SET.TARGETS {
			if d := &l.RECORDS[i].SET.TARGETS[j].DEST; d.URI == uri {
				return d
			}
		}
	}
	return nil
}

// flagsOf is "FLAGS STATE" of a destination, or "absent".
func flagsOf(t testing.TB, c *Control, set int, uri string) string {
	t.Helper()
	d := destOf(listResult(t, c, ""), set, uri)
	if d == nil {
		return "absent"
	}
	return d.FLAGS + " " + d.STATE
}

// stripState removes sipfront's STATE members, leaving Kamailio's reply.
var stateMember = regexp.MustCompile(`,"STATE":"[a-z]+"`)

// transcriptBody returns the body Kamailio answered to the request named
// name in lb/rpc/testdata/kamailio/transcript-5.6.3.txt.
func transcriptBody(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("rpc/testdata/kamailio/transcript-5.6.3.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "=== "+name+"\n")
	if !ok {
		t.Fatalf("no %q in the transcript", name)
	}
	for _, line := range strings.Split(after, "\n") {
		if strings.HasPrefix(line, "{") {
			return line
		}
	}
	t.Fatalf("no body for %q in the transcript", name)
	return ""
}

// TestDispatcherListMatchesKamailio compares dispatcher.list with what
// Kamailio 5.6.3 answered for the same list, byte for byte once sipfront's
// STATE members are taken out: the jsonrpcs reply (transcript, both active)
// and the kamcmd recording (after dispatcher.set_state i on 5171).
func TestDispatcherListMatchesKamailio(t *testing.T) {
	_, c, _ := ctlEngine(t, kamList, ControlOptions{})
	r := ctlDo(t, c, http.MethodPost, "/RPC", `{"jsonrpc":"2.0","method":"dispatcher.list","id":3}`)
	if got, want := stateMember.ReplaceAllString(r.body, ""), transcriptBody(t, "ds_list"); r.status != 200 || got != want {
		t.Errorf("dispatcher.list:\n got %d %s\nwant %s", r.status, got, want)
	}
	if n := strings.Count(r.body, `"STATE":"active"`); n != 2 {
		t.Errorf("want STATE active on both destinations: %s", r.body)
	}

	if r := call(t, c, "dispatcher.set_state", `["i",1,"sip:127.0.0.1:5171"]`); r != okReply(`"Ok. Dispatcher state updated."`) {
		t.Fatalf("set_state: %+v", r)
	}
	want, err := os.ReadFile("../cmd/sipfrontctl/testdata/kamcmd/dispatcher_list.json")
	if err != nil {
		t.Fatal(err)
	}
	r = call(t, c, "dispatcher.list", "")
	if got := stateMember.ReplaceAllString(r.body, ""); got != strings.TrimSpace(string(want)) {
		t.Errorf("after set_state i:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(r.body, `"FLAGS":"IX","PRIORITY":0,"ATTRS":{"BODY":"duid=a;weight=50","DUID":"a","MAXLOAD":0,"WEIGHT":50,"RWEIGHT":0,"SOCKET":null,"SOCKNAME":null,"OBPROXY":null},"STATE":"inactive"`) {
		t.Errorf("STATE is not the last member of DEST: %s", r.body)
	}
}

// fakeProber stands in for the health prober.
type fakeProber struct {
	state     atomic.Int64
	refreshes atomic.Int64
}

func (f *fakeProber) PingActive() int { return int(f.state.Load()) }
func (f *fakeProber) SetPingActive(s int) int {
	return int(f.state.Swap(int64(s)))
}
func (f *fakeProber) Refresh() { f.refreshes.Add(1) }

// rpcCase is one call and what must come back; setup runs first (after the
// engine starts), check after the call.
type rpcCase struct {
	name   string
	list   string // kamList when empty
	opts   ControlOptions
	setup  func(t *testing.T, e *Engine, c *Control, path string)
	method string
	params string
	want   httpReply
	match  string // when set, the body must match this regexp instead of want.body
	check  func(t *testing.T, e *Engine, c *Control, path string)
}

func wantFlags(set int, uri, want string) func(*testing.T, *Engine, *Control, string) {
	return func(t *testing.T, _ *Engine, c *Control, _ string) {
		t.Helper()
		if got := flagsOf(t, c, set, uri); got != want {
			t.Errorf("%s: %s, want %s", uri, got, want)
		}
	}
}

func rewrite(content string) func(*testing.T, *Engine, *Control, string) {
	return func(t *testing.T, _ *Engine, _ *Control, path string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func callFirst(method, params string) func(*testing.T, *Engine, *Control, string) {
	return func(t *testing.T, _ *Engine, c *Control, _ string) {
		t.Helper()
		if r := call(t, c, method, params); r.status != 200 {
			t.Fatalf("%s %s: %+v", method, params, r)
		}
	}
}

func steps(fs ...func(*testing.T, *Engine, *Control, string)) func(*testing.T, *Engine, *Control, string) {
	return func(t *testing.T, e *Engine, c *Control, path string) {
		t.Helper()
		for _, f := range fs {
			f(t, e, c, path)
		}
	}
}

const (
	d5171 = "sip:127.0.0.1:5171"
	d5172 = "sip:127.0.0.1:5172"
)

var (
	stateOK     = okReply(`"Ok. Dispatcher state updated."`)
	invalid     = errReply(500, "Invalid Parameters")
	stateFailed = errReply(500, "State Update Failed")
)

func TestRPCMethods(t *testing.T) {
	version := "sipfront dev (" + runtime.GOARCH + "/" + runtime.GOOS + ")"
	for _, tc := range []rpcCase{
		// dispatcher.list
		{name: "list short leaves out ATTRS", method: "dispatcher.list", params: `["short"]`,
			want: okReply(`{"NRSETS":1,"RECORDS":[{"SET":{"ID":1,"TARGETS":[` +
				`{"DEST":{"URI":"sip:127.0.0.1:5172","FLAGS":"AX","PRIORITY":0,"STATE":"active"}},` +
				`{"DEST":{"URI":"sip:127.0.0.1:5171","FLAGS":"AX","PRIORITY":0,"STATE":"active"}}]}}]}`)},
		{name: "list full adds the address", method: "dispatcher.list", params: `["FULL"]`,
			list: "2 sip:127.0.0.1:5173;transport=tcp 8 3 ;\n2 sips:127.0.0.1:5174 0 1\n",
			want: okReply(`{"NRSETS":1,"RECORDS":[{"SET":{"ID":2,"TARGETS":[` +
				`{"DEST":{"URI":"sip:127.0.0.1:5173;transport=tcp","FLAGS":"AP","PRIORITY":3,"HOST":"127.0.0.1","IPADDR":"127.0.0.1","PORT":5173,"PROTOID":2,"DNSTIME_SEC":0,"DNSTIME_USEC":0,` +
				`"ATTRS":{"BODY":"","DUID":null,"MAXLOAD":0,"WEIGHT":0,"RWEIGHT":0,"SOCKET":null,"SOCKNAME":null,"OBPROXY":null},"STATE":"probing"}},` +
				`{"DEST":{"URI":"sips:127.0.0.1:5174","FLAGS":"AX","PRIORITY":1,"HOST":"127.0.0.1","IPADDR":"127.0.0.1","PORT":5174,"PROTOID":0,"DNSTIME_SEC":0,"DNSTIME_USEC":0,"STATE":"active"}}]}}]}`)},
		{name: "list with an unknown mode is the normal list", method: "dispatcher.list", params: `["xyz"]`,
			match: `^\{"jsonrpc":"2.0","result":\{"NRSETS":1,.*"ATTRS":\{"BODY":"duid=a;weight=50"`, want: httpReply{status: 200, reason: "OK"}},
		{name: "list with a number is the normal list", method: "dispatcher.list", params: `[5]`,
			match: `"ATTRS":\{"BODY":"duid=a;weight=50"`, want: httpReply{status: 200, reason: "OK"}},
		{name: "list with an object parameter", method: "dispatcher.list", params: `[{"a":1}]`, want: invalid},
		{name: "list of nothing", list: "# nothing\n", method: "dispatcher.list", want: errReply(500, "No Destination Sets")},
		{name: "list shows draining", setup: callFirst("dispatcher.drain", `[1,"`+d5172+`"]`),
			method: "dispatcher.list", params: `["short"]`,
			want: okReply(`{"NRSETS":1,"RECORDS":[{"SET":{"ID":1,"TARGETS":[` +
				`{"DEST":{"URI":"sip:127.0.0.1:5172","FLAGS":"AX","PRIORITY":0,"STATE":"draining"}},` +
				`{"DEST":{"URI":"sip:127.0.0.1:5171","FLAGS":"AX","PRIORITY":0,"STATE":"active"}}]}}]}`)},
		{name: "list shows probe latency where there is some",
			setup: func(t *testing.T, e *Engine, _ *Control, _ string) {
				d := e.Dispatcher().Current().Set(1).Dests()[1] // 5171
				d.RT.LatencyEWMA.Store(12_345_678)
				d.RT.LatencyMax.Store(40_600_000)
				d.RT.ProbeFailures.Store(3)
			},
			method: "dispatcher.list", params: `["short"]`,
			want: okReply(`{"NRSETS":1,"RECORDS":[{"SET":{"ID":1,"TARGETS":[` +
				`{"DEST":{"URI":"sip:127.0.0.1:5172","FLAGS":"AX","PRIORITY":0,"STATE":"active"}},` +
				`{"DEST":{"URI":"sip:127.0.0.1:5171","FLAGS":"AX","PRIORITY":0,"LATENCY":{"AVG":12.346,"STD":0,"EST":12.346,"MAX":41,"TIMEOUT":3},"STATE":"active"}}]}}]}`)},
		{name: "list shows latency everywhere with a prober", opts: ControlOptions{Prober: new(fakeProber)},
			method: "dispatcher.list", params: `["short"]`,
			want: okReply(`{"NRSETS":1,"RECORDS":[{"SET":{"ID":1,"TARGETS":[` +
				`{"DEST":{"URI":"sip:127.0.0.1:5172","FLAGS":"AX","PRIORITY":0,"LATENCY":{"AVG":0,"STD":0,"EST":0,"MAX":0,"TIMEOUT":0},"STATE":"active"}},` +
				`{"DEST":{"URI":"sip:127.0.0.1:5171","FLAGS":"AX","PRIORITY":0,"LATENCY":{"AVG":0,"STD":0,"EST":0,"MAX":0,"TIMEOUT":0},"STATE":"active"}}]}}]}`)},

		// dispatcher.reload
		{name: "reload without change", method: "dispatcher.reload",
			want: okReply(`"Ok. Dispatcher successfully reloaded.\nno change"`)},
		{name: "reload says what changed", method: "dispatcher.reload",
			setup: rewrite("1 sip:127.0.0.1:5171 0 5 duid=a;weight=50\n1 sip:127.0.0.1:5173\n"),
			want: okReply(`"Ok. Dispatcher successfully reloaded.\n+ set 1 sip:127.0.0.1:5173\n- set 1 sip:127.0.0.1:5172\n` +
				`~ set 1 sip:127.0.0.1:5171: priority 0 -> 5"`),
			check: steps(wantFlags(1, d5172, "absent"), wantFlags(1, "sip:127.0.0.1:5173", "AX active"))},
		{name: "reload lists warnings", method: "dispatcher.reload",
			setup: rewrite(kamList + "1 not-a-uri\n"),
			match: `^\{"jsonrpc":"2.0","result":"Ok. Dispatcher successfully reloaded.\\nno change\\n! [^"]*dispatcher.list:3: \\"not-a-uri\\": line skipped: not a URI .*","id":1\}$`,
			want:  httpReply{status: 200, reason: "OK"}},
		{name: "reload keeps states", method: "dispatcher.reload",
			setup: steps(callFirst("dispatcher.set_state", `["d",1,"`+d5171+`"]`), callFirst("dispatcher.drain", `[1,"`+d5172+`"]`)),
			want:  okReply(`"Ok. Dispatcher successfully reloaded.\nno change"`),
			check: steps(wantFlags(1, d5171, "DX disabled"), wantFlags(1, d5172, "AX draining"))},
		{name: "reload keeps latency and counters", method: "dispatcher.reload",
			setup: steps(func(t *testing.T, e *Engine, _ *Control, _ string) {
				d := e.Dispatcher().Current().Set(1).Dests()[1] // 5171
				d.RT.LatencyEWMA.Store(2_500_000)
				d.RT.LatencyMax.Store(7_000_000)
				d.RT.ProbeFailures.Store(4)
				d.RT.Selected.Store(42)
			}, rewrite(kamList+"1 sip:127.0.0.1:5173\n")),
			want: okReply(`"Ok. Dispatcher successfully reloaded.\n+ set 1 sip:127.0.0.1:5173"`),
			check: func(t *testing.T, _ *Engine, c *Control, _ string) {
				d := destOf(listResult(t, c, ""), 1, d5171)
				if d == nil || d.LATENCY == nil || *d.LATENCY != (dsLatency{AVG: 2.5, EST: 2.5, MAX: 7, TIMEOUT: 4}) {
					t.Errorf("latency after reload: %+v", d)
				}
				if r := call(t, c, "stats.fetch", `["dispatcher:selected"]`); r != okReply(`{"dispatcher.selected":"42"}`) {
					t.Errorf("selected after reload: %+v", r)
				}
			}},
		{name: "reload failure keeps the running table", method: "dispatcher.reload",
			setup: steps(callFirst("dispatcher.set_state", `["i",1,"`+d5171+`"]`), rewrite("1 sip:127.0.0.1:5179\n3\n")),
			match: `^\{"jsonrpc":"2.0","error":\{"code":500,"message":"Reload Failed: [^"]*/dispatcher.list:2:1: \\"3\\": set id without destination"\},"id":1\}$`,
			want:  httpReply{status: 500},
			check: steps(wantFlags(1, d5171, "IX inactive"), wantFlags(1, "sip:127.0.0.1:5179", "absent"))},
		{name: "reload of a missing file", method: "dispatcher.reload",
			setup: func(t *testing.T, _ *Engine, _ *Control, path string) { os.Remove(path) },
			match: `"message":"Reload Failed: [^"]*/dispatcher.list: cannot read list file: no such file or directory"`,
			want:  httpReply{status: 500}},

		// dispatcher.set_state
		{name: "set_state i", method: "dispatcher.set_state", params: `["i",1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "IX inactive")},
		{name: "set_state ip", method: "dispatcher.set_state", params: `["IP",1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "IP inactive")},
		{name: "set_state dp is DX", method: "dispatcher.set_state", params: `["dp",1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "DX disabled")},
		{name: "set_state t", method: "dispatcher.set_state", params: `["t",1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "TX trying")},
		{name: "set_state ap", method: "dispatcher.set_state", params: `["ap",1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "AP probing")},
		{name: "set_state 0 as a number", method: "dispatcher.set_state", params: `[0,1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "IX inactive")},
		{name: "set_state 2 as a string", method: "dispatcher.set_state", params: `["2",1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "DX disabled")},
		{name: "set_state reads the first letters only", method: "dispatcher.set_state", params: `["disable",1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "DX disabled")},
		{name: "set_state a ends draining", setup: callFirst("dispatcher.drain", `[1,"`+d5171+`"]`),
			method: "dispatcher.set_state", params: `["a",1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "AX active")},
		{name: "set_state all", method: "dispatcher.set_state", params: `["d",1,"all"]`, want: stateOK,
			check: steps(wantFlags(1, d5171, "DX disabled"), wantFlags(1, d5172, "DX disabled"))},
		{name: "set_state without sip: and in upper case", method: "dispatcher.set_state", params: `["i",1,"127.0.0.1:5172"]`, want: stateOK, check: wantFlags(1, d5172, "IX inactive")},
		{name: "set_state by duid", method: "dispatcher.set_state", params: `["i",1,"a"]`, want: stateOK, check: wantFlags(1, d5171, "IX inactive")},
		{name: "set_state URI case", method: "dispatcher.set_state", params: `["i",1,"SIP:127.0.0.1:5172"]`, want: stateOK, check: wantFlags(1, d5172, "IX inactive")},
		{name: "set_state unknown destination", method: "dispatcher.set_state", params: `["i",1,"sip:127.0.0.1:9"]`, want: stateFailed},
		{name: "set_state unknown set", method: "dispatcher.set_state", params: `["i",7,"all"]`, want: stateFailed},
		{name: "set_state bad letter", method: "dispatcher.set_state", params: `["x",1,"` + d5171 + `"]`, want: errReply(500, "Unknown State Value"),
			check: wantFlags(1, d5171, "AX active")},
		{name: "set_state empty state", method: "dispatcher.set_state", params: `["",1,"` + d5171 + `"]`, want: errReply(500, "Invalid State Parameter")},
		{name: "set_state missing params", method: "dispatcher.set_state", params: `["i"]`, want: invalid},
		{name: "set_state group as string", method: "dispatcher.set_state", params: `["i","1","` + d5171 + `"]`, want: invalid},
		{name: "set_state group as float", method: "dispatcher.set_state", params: `["i",1.7,"` + d5171 + `"]`, want: invalid},
		{name: "set_state address as number", method: "dispatcher.set_state", params: `["a",1,5]`, want: invalid},
		{name: "set_state state as object", method: "dispatcher.set_state", params: `[{},1,"` + d5171 + `"]`, want: invalid},
		{name: "set_state params as object", method: "dispatcher.set_state", params: `{"state":"i","group":1,"address":"` + d5171 + `"}`,
			want: stateOK, check: wantFlags(1, d5171, "IX inactive")},

		// dispatcher.set_duid_state
		{name: "set_duid_state", method: "dispatcher.set_duid_state", params: `["d",1,"a"]`, want: stateOK, check: wantFlags(1, d5171, "DX disabled")},
		{name: "set_duid_state does not take a URI", method: "dispatcher.set_duid_state", params: `["d",1,"` + d5172 + `"]`, want: stateFailed},
		{name: "set_duid_state unknown duid", method: "dispatcher.set_duid_state", params: `["d",1,"zz"]`, want: stateFailed},
		{name: "set_duid_state missing params", method: "dispatcher.set_duid_state", params: `["d",1]`, want: invalid},

		// dispatcher.ping_active
		{name: "ping_active without prober", method: "dispatcher.ping_active", want: okReply(`{"OldPingState":0}`)},
		{name: "ping_active set without prober", method: "dispatcher.ping_active", params: `[1]`,
			want: errReply(500, "Ping State Update Failed: no health prober is running")},
		{name: "ping_active read", opts: ControlOptions{Prober: newFakeProber(1)}, method: "dispatcher.ping_active",
			want: okReply(`{"OldPingState":1}`)},
		{name: "ping_active pause", opts: ControlOptions{Prober: newFakeProber(1)}, method: "dispatcher.ping_active", params: `[0]`,
			want: okReply(`{"NewPingState":0,"OldPingState":1}`),
			check: func(t *testing.T, _ *Engine, c *Control, _ string) {
				if r := call(t, c, "dispatcher.ping_active", ""); r != okReply(`{"OldPingState":0}`) {
					t.Errorf("after pausing: %+v", r)
				}
			}},
		{name: "ping_active with a string", opts: ControlOptions{Prober: newFakeProber(1)}, method: "dispatcher.ping_active", params: `["x"]`, want: invalid},

		// dispatcher.add
		{name: "add", method: "dispatcher.add", params: `[1,"sip:127.0.0.1:5173"]`, want: okReply(`"Ok. Dispatcher destination added."`),
			check: wantFlags(1, "sip:127.0.0.1:5173", "AX active")},
		{name: "add with flags, priority and attrs", method: "dispatcher.add", params: `[2,"127.0.0.1:5174",4,5,"duid=x;weight=20"]`,
			want: okReply(`"Ok. Dispatcher destination added."`),
			check: func(t *testing.T, _ *Engine, c *Control, _ string) {
				d := destOf(listResult(t, c, ""), 2, "sip:127.0.0.1:5174")
				if d == nil || d.FLAGS != "DX" || d.PRIORITY != 5 || d.ATTRS == nil || *d.ATTRS.DUID != "x" || d.ATTRS.WEIGHT != 20 {
					t.Errorf("added destination: %+v", d)
				}
			}},
		{name: "add flag 16 means nothing here", method: "dispatcher.add", params: `[1,"sip:127.0.0.1:5173",16]`,
			want: okReply(`"Ok. Dispatcher destination added."`), check: wantFlags(1, "sip:127.0.0.1:5173", "AX active")},
		{name: "add a destination the set has", method: "dispatcher.add", params: `[1,"sip:127.0.0.1:5172"]`,
			want: errReply(500, "Adding dispatcher dst failed: set 1 already has sip:127.0.0.1:5172")},
		{name: "add a bad URI", method: "dispatcher.add", params: `[1,"bad uri"]`,
			want: errReply(500, "Adding dispatcher dst failed: URI must be one token without spaces or '#'")},
		{name: "add a host that is not a URI", method: "dispatcher.add", params: `[1,"sip:"]`,
			match: `"message":"Adding dispatcher dst failed: run-time add:1:3: \\"sip:\\": `, want: httpReply{status: 500}},
		{name: "add bad flags", method: "dispatcher.add", params: `[1,"sip:127.0.0.1:5173",64]`,
			want: errReply(500, "Adding dispatcher dst failed: flags must be 0-31 (1 inactive, 2 trying, 4 disabled, 8 probing, 16 no DNS)")},
		{name: "add negative priority", method: "dispatcher.add", params: `[1,"sip:127.0.0.1:5173",0,-1]`,
			want: errReply(500, "Adding dispatcher dst failed: set id and priority must not be negative")},
		{name: "add one parameter", method: "dispatcher.add", params: `[1]`, want: invalid},
		{name: "add group as string", method: "dispatcher.add", params: `["1","sip:127.0.0.1:5173"]`, want: invalid},
		{name: "add attrs as number", method: "dispatcher.add", params: `[1,"sip:127.0.0.1:5173",0,0,7]`, want: invalid},
		{name: "add refreshes the prober", opts: ControlOptions{Prober: newFakeProber(1)},
			method: "dispatcher.add", params: `[1,"sip:127.0.0.1:5173"]`, want: okReply(`"Ok. Dispatcher destination added."`),
			check: func(t *testing.T, _ *Engine, c *Control, _ string) {
				if n := c.m.prober.(*fakeProber).refreshes.Load(); n != 1 {
					t.Errorf("prober refreshed %d times", n)
				}
			}},

		// dispatcher.remove
		{name: "remove", method: "dispatcher.remove", params: `[1,"` + d5172 + `"]`, want: okReply(`"Ok. Dispatcher destination removed."`),
			check: wantFlags(1, d5172, "absent")},
		{name: "remove by duid", method: "dispatcher.remove", params: `[1,"a"]`, want: okReply(`"Ok. Dispatcher destination removed."`),
			check: steps(wantFlags(1, d5171, "absent"), wantFlags(1, d5172, "AX active"))},
		{name: "remove unknown destination", method: "dispatcher.remove", params: `[1,"sip:127.0.0.1:9"]`,
			want: errReply(500, `Removing dispatcher dst failed: no destination "sip:127.0.0.1:9" in set 1`)},
		{name: "remove from unknown set", method: "dispatcher.remove", params: `[9,"` + d5172 + `"]`,
			want: errReply(500, "Removing dispatcher dst failed: no set 9")},
		{name: "remove missing params", method: "dispatcher.remove", params: `[1]`, want: invalid},

		// dispatcher.set_weight
		{name: "set_weight", method: "dispatcher.set_weight", params: `[1,"a",80]`, want: okReply(`"Ok. Dispatcher weight updated."`),
			check: func(t *testing.T, _ *Engine, c *Control, _ string) {
				d := destOf(listResult(t, c, ""), 1, d5171)
				if d == nil || d.ATTRS == nil || d.ATTRS.WEIGHT != 80 || d.ATTRS.BODY != "weight=80;duid=a" {
					t.Errorf("after set_weight: %+v", d.ATTRS)
				}
			}},
		{name: "set_weight out of range", method: "dispatcher.set_weight", params: `[1,"a",101]`,
			want: errReply(500, "Weight Update Failed: weight not in 0..100")},
		{name: "set_weight unknown destination", method: "dispatcher.set_weight", params: `[1,"zz",5]`,
			want: errReply(500, `Weight Update Failed: no destination "zz" in set 1`)},
		{name: "set_weight as string", method: "dispatcher.set_weight", params: `[1,"a","5"]`, want: invalid},

		// dispatcher.drain / undrain
		{name: "drain", method: "dispatcher.drain", params: `[1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "AX draining")},
		{name: "drain keeps the prober's state", setup: callFirst("dispatcher.set_state", `["ip",1,"`+d5171+`"]`),
			method: "dispatcher.drain", params: `[1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "IP inactive"),
		},
		{name: "drain all", method: "dispatcher.drain", params: `[1,"all"]`, want: stateOK,
			check: steps(wantFlags(1, d5171, "AX draining"), wantFlags(1, d5172, "AX draining"))},
		{name: "undrain", setup: callFirst("dispatcher.drain", `[1,"`+d5171+`"]`),
			method: "dispatcher.undrain", params: `[1,"` + d5171 + `"]`, want: stateOK, check: wantFlags(1, d5171, "AX active")},
		{name: "drain unknown destination", method: "dispatcher.drain", params: `[1,"sip:127.0.0.1:9"]`, want: stateFailed},
		{name: "undrain unknown set", method: "dispatcher.undrain", params: `[3,"all"]`, want: stateFailed},
		{name: "drain missing params", method: "dispatcher.drain", params: `[1]`, want: invalid},

		// core.*
		{name: "core.version", method: "core.version", want: okReply(`"` + version + `"`)},
		{name: "core.version with a version", opts: ControlOptions{Version: "1.2.3"}, method: "core.version",
			want: okReply(`"sipfront 1.2.3 (` + runtime.GOARCH + "/" + runtime.GOOS + `)"`)},
		{name: "core.uptime", method: "core.uptime", want: httpReply{status: 200, reason: "OK"},
			match: `^\{"jsonrpc":"2.0","result":\{"now":"[A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] \d\d:\d\d:\d\d \d{4}","up_since":"[^"]+","uptime":\d+\},"id":1\}$`},

		// stats.fetch
		{name: "stats.fetch without parameter", method: "stats.fetch", want: errReply(400, "Please provide which stats to retrieve")},
		{name: "stats.fetch unknown", method: "stats.fetch", params: `["nosuch"]`, want: okReply(`{}`)},
		{name: "stats.fetch one", method: "stats.fetch", params: `["core:rcv_requests"]`, want: okReply(`{"core.rcv_requests":"0"}`)},
		{name: "stats.fetch by name in any group", method: "stats.fetch", params: `["fwd_replies","destinations"]`,
			want: okReply(`{"core.fwd_replies":"0","dispatcher.destinations":"2"}`)},
		{name: "stats.fetch a group", method: "stats.fetch", params: `["sl:"]`,
			want: okReply(`{"sl.400_replies":"0","sl.403_replies":"0","sl.483_replies":"0","sl.4xx_replies":"0","sl.5xx_replies":"0","sl.sent_err_replies":"0","sl.sent_replies":"0"}`)},
		{name: "stats.fetch counts states", method: "stats.fetch", params: `["dispatcher:"]`,
			setup: steps(callFirst("dispatcher.drain", `[1,"a"]`)),
			want: okReply(`{"dispatcher.destinations":"2","dispatcher.destinations_active":"1","dispatcher.destinations_disabled":"0",` +
				`"dispatcher.destinations_draining":"1","dispatcher.destinations_inactive":"0","dispatcher.destinations_probing":"0",` +
				`"dispatcher.destinations_trying":"0","dispatcher.probe_failures":"0","dispatcher.selected":"0","dispatcher.sets":"1"}`)},
		{name: "stats.fetch all", method: "stats.fetch", params: `["all"]`, want: httpReply{status: 200, reason: "OK"},
			match: `"core.rcv_requests_invite":"0".*"dispatcher.sets":"1".*"lb.dropped_keepalive":"0".*"sl.sent_replies":"0"`},
		{name: "stats.fetch object parameter", method: "stats.fetch", params: `[{}]`, want: invalid},

		// The registry.
		{name: "unknown method", method: "dispatcher.hash", params: `[1,"x"]`, want: errReply(500, "Method Not Found")},
		{name: "listMethods", method: "system.listMethods",
			want: okReply(`["core.uptime","core.version","dispatcher.add","dispatcher.drain","dispatcher.list",` +
				`"dispatcher.ping_active","dispatcher.reload","dispatcher.remove","dispatcher.set_duid_state",` +
				`"dispatcher.set_state","dispatcher.set_weight","dispatcher.undrain",` +
				`"filter.allow","filter.allowed","filter.ban","filter.bans","filter.disallow","filter.stats","filter.unban",` +
				`"stats.fetch","system.listMethods","system.methodHelp","system.methodSignature"]`)},
		{name: "filter methods answer with the filter off", method: "filter.stats", want: errReply(500, "Flood filter is off")},
		{name: "methodHelp", method: "system.methodHelp", params: `["core.uptime"]`, want: okReply(`"Returns uptime of SIP server."`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := tc.list
			if list == "" {
				list = kamList
			}
			e, c, path := ctlEngine(t, list, tc.opts)
			if tc.setup != nil {
				tc.setup(t, e, c, path)
			}
			got := call(t, c, tc.method, tc.params)
			if tc.match != "" {
				if got.status != tc.want.status || (tc.want.reason != "" && got.reason != tc.want.reason) ||
					!regexp.MustCompile(tc.match).MatchString(got.body) {
					t.Errorf("got %d %q %s\nwant %d matching %s", got.status, got.reason, got.body, tc.want.status, tc.match)
				}
			} else if got != tc.want {
				t.Errorf("got  %d %q %s\nwant %d %q %s", got.status, got.reason, got.body, tc.want.status, tc.want.reason, tc.want.body)
			}
			if tc.check != nil {
				tc.check(t, e, c, path)
			}
		})
	}
}

func newFakeProber(state int) *fakeProber {
	p := new(fakeProber)
	p.state.Store(int64(state))
	return p
}

// TestRunTimeChangesSurviveReload: add, remove and set_weight made through
// the API are still in force after reloads of an unchanged file, and give
// way when the file itself says otherwise.
func TestRunTimeChangesSurviveReload(t *testing.T) {
	_, c, path := ctlEngine(t, kamList, ControlOptions{})
	for _, s := range [][2]string{
		{"dispatcher.add", `[1,"sip:127.0.0.1:5173",0,7]`},
		{"dispatcher.add", `[2,"sip:127.0.0.1:5174"]`},
		{"dispatcher.remove", `[1,"` + d5172 + `"]`},
		{"dispatcher.set_weight", `[1,"a",20]`},
		{"dispatcher.drain", `[1,"sip:127.0.0.1:5173"]`},
	} {
		if r := call(t, c, s[0], s[1]); r.status != 200 {
			t.Fatalf("%s %s: %+v", s[0], s[1], r)
		}
	}
	check := func(when string) {
		t.Helper()
		l := listResult(t, c, "")
		if d := destOf(l, 1, "sip:127.0.0.1:5173"); d == nil || d.PRIORITY != 7 || d.STATE != "draining" {
			t.Errorf("%s: added destination %+v", when, d)
		}
		if d := destOf(l, 2, "sip:127.0.0.1:5174"); d == nil {
			t.Errorf("%s: set 2 lost", when)
		}
		if d := destOf(l, 1, d5172); d != nil {
			t.Errorf("%s: removed destination is back", when)
		}
		if d := destOf(l, 1, d5171); d == nil || d.ATTRS.WEIGHT != 20 {
			t.Errorf("%s: weight %+v", when, d)
		}
	}
	check("before reload")
	for i := 0; i < 3; i++ {
		if r := call(t, c, "dispatcher.reload", ""); r != okReply(`"Ok. Dispatcher successfully reloaded.\nno change"`) {
			t.Fatalf("reload %d: %+v", i, r)
		}
		check("after reload")
	}
	// The file now lists 5173 itself (priority 1): the file wins for its
	// columns, the destination keeps its state (draining).
	if err := os.WriteFile(path, []byte(kamList+"1 sip:127.0.0.1:5173 0 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := call(t, c, "dispatcher.reload", "")
	if r.status != 200 || !strings.Contains(r.body, `~ set 1 sip:127.0.0.1:5173: priority 7 -> 1`) {
		t.Fatalf("reload with the file listing the added destination: %+v", r)
	}
	if d := destOf(listResult(t, c, ""), 1, "sip:127.0.0.1:5173"); d == nil || d.PRIORITY != 1 || d.STATE != "draining" {
		t.Errorf("after the file took over: %+v", d)
	}
}

// TestMatchAddressAgreesWithDispatcher: the control API's reading of an
// address (drain, set_state) is the dispatcher's (Remove, SetState).
func TestMatchAddressAgreesWithDispatcher(t *testing.T) {
	const list = "1 sip:127.0.0.1:5171 0 0 duid=a\n1 SIP:127.0.0.1:5172\n1 sips:127.0.0.1:5173\n"
	for _, s := range []string{"sip:127.0.0.1:5171", "SIP:127.0.0.1:5171", "127.0.0.1:5171", "a", "A",
		"sip:127.0.0.1:5172", "127.0.0.1:5172", "sips:127.0.0.1:5173", "127.0.0.1:5173", "sip:127.0.0.1:5173", "", "sip:"} {
		tbl, _, err := dispatcher.Load("l", []byte(list), dispatcher.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d := dispatcher.New(tbl, dispatcher.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		var ours []string
		for _, x := range tbl.Dests() {
			if matchAddress(x, s) {
				ours = append(ours, x.URI)
			}
		}
		err = d.Remove(1, s)
		var theirs []string
		if err == nil {
			left := map[string]bool{}
			for _, x := range d.Current().Dests() {
				left[x.URI] = true
			}
			for _, x := range tbl.Dests() {
				if !left[x.URI] {
					theirs = append(theirs, x.URI)
				}
			}
		} else if !errors.Is(err, dispatcher.ErrUnknownDest) {
			t.Fatal(err)
		}
		if strings.Join(ours, ",") != strings.Join(theirs, ",") {
			t.Errorf("%q: control API matches %v, dispatcher.Remove %v", s, ours, theirs)
		}
	}
}

func TestControlAccess(t *testing.T) {
	const token = "s3cret"
	rpcBody := `{"jsonrpc":"2.0","method":"core.version","id":1}`
	t.Run("token protects RPC and metrics, not healthz", func(t *testing.T) {
		_, c, _ := ctlEngine(t, kamList, ControlOptions{Token: token})
		for _, tc := range []struct {
			name, method, path string
			hdr                []string
			status             int
		}{
			{"rpc without token", http.MethodPost, "/RPC", nil, 401},
			{"rpc wrong token", http.MethodPost, "/RPC", []string{"Authorization", "Bearer nope"}, 401},
			{"rpc with token", http.MethodPost, "/RPC", []string{"Authorization", "Bearer " + token}, 200},
			{"metrics without token", http.MethodGet, "/metrics", nil, 401},
			{"metrics wrong scheme", http.MethodGet, "/metrics", []string{"Authorization", "Basic " + token}, 401},
			{"metrics with token", http.MethodGet, "/metrics", []string{"Authorization", "bearer " + token}, 200},
			{"healthz without token", http.MethodGet, "/healthz", nil, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if r := ctlDo(t, c, tc.method, tc.path, rpcBody, tc.hdr...); r.status != tc.status {
					t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.status)
				}
			})
		}
	})
	t.Run("bind", func(t *testing.T) {
		e, _, _ := ctlEngine(t, kamList, ControlOptions{})
		for _, tc := range []struct {
			addr, token string
			want        error
		}{
			{"0.0.0.0:0", "", rpc.ErrNeedToken},
			{":0", "", rpc.ErrNeedToken},
			{"192.0.2.1:9060", "", rpc.ErrNeedToken},
			{"127.0.0.1", "", rpc.ErrBadAddr},
			{"nonsense", token, rpc.ErrBadAddr},
		} {
			if _, err := NewControl(e, ControlOptions{Addr: tc.addr, Token: tc.token}); !errors.Is(err, tc.want) {
				t.Errorf("%q token %q: %v, want %v", tc.addr, tc.token, err, tc.want)
			}
		}
		c, err := NewControl(e, ControlOptions{Addr: "localhost:0"})
		if err != nil {
			t.Fatalf("localhost: %v", err)
		}
		if !c.Addr().Addr().IsLoopback() {
			t.Errorf("localhost listens on %v", c.Addr())
		}
		c.Close()
		// Port in use: the error comes from NewControl, before anything runs.
		c1, err := NewControl(e, ControlOptions{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		defer c1.Close()
		if _, err := NewControl(e, ControlOptions{Addr: c1.Addr().String()}); err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("second listen on %v: %v", c1.Addr(), err)
		}
	})
	t.Run("bad requests never crash", func(t *testing.T) {
		_, c, _ := ctlEngine(t, kamList, ControlOptions{MaxBody: 200})
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			reason                   string
		}{
			{"bad json", http.MethodPost, "/RPC", `{"jsonrpc":"2.0","method":`, 400, "Parse Error"},
			{"empty body", http.MethodPost, "/RPC", ``, 400, "Parse Error"},
			{"get on RPC", http.MethodGet, "/RPC", ``, 400, "Parse Error"},
			{"not a request", http.MethodPost, "/RPC", `[1]`, 200, "OK"}, // a batch, answered as Kamailio does
			{"too large", http.MethodPost, "/RPC", `{"jsonrpc":"2.0","method":"core.version","params":["` + strings.Repeat("x", 300) + `"],"id":1}`, 413, "Request Entity Too Large"},
			{"browser", http.MethodPost, "/RPC", rpcBody, 403, "Forbidden"},
			{"post metrics", http.MethodPost, "/metrics", ``, 405, "Method Not Allowed"},
			{"unknown path", http.MethodGet, "/debug/pprof/", ``, 404, "Not Found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var hdr []string
				if tc.name == "browser" {
					hdr = []string{"Origin", "http://example.com"}
				}
				r := ctlDo(t, c, tc.method, tc.path, tc.body, hdr...)
				if r.status != tc.status || r.reason != tc.reason {
					t.Errorf("%d %q %s, want %d %q", r.status, r.reason, r.body, tc.status, tc.reason)
				}
			})
		}
		if r := call(t, c, "core.version", ""); r.status != 200 {
			t.Errorf("server unwell after bad requests: %+v", r)
		}
	})
}

func TestHealthz(t *testing.T) {
	e, c, _ := ctlEngine(t, kamList, ControlOptions{})
	if r := ctlDo(t, c, http.MethodGet, "/healthz", ""); r != (httpReply{200, "OK", "ok\n"}) {
		t.Errorf("healthy: %+v", r)
	}
	if r := ctlDo(t, c, http.MethodHead, "/healthz", ""); r.status != 200 {
		t.Errorf("HEAD: %+v", r)
	}
	call(t, c, "dispatcher.set_state", `["d",1,"`+d5171+`"]`)
	call(t, c, "dispatcher.drain", `[1,"`+d5172+`"]`)
	if r := ctlDo(t, c, http.MethodGet, "/healthz", ""); r != (httpReply{503, "Service Unavailable", "no usable destination in set 1\n"}) {
		t.Errorf("nothing usable: %+v", r)
	}
	call(t, c, "dispatcher.undrain", `[1,"`+d5172+`"]`)
	if r := ctlDo(t, c, http.MethodGet, "/healthz", ""); r.status != 200 {
		t.Errorf("after undrain: %+v", r)
	}
	e.close() // what Run does when it ends
	if r := ctlDo(t, c, http.MethodGet, "/healthz", ""); r != (httpReply{503, "Service Unavailable", "stopped\n"}) {
		t.Errorf("stopped engine: %+v", r)
	}
}

func TestHealthzTCPOnly(t *testing.T) {
	e, c, _ := ctlEngineConfig(t, kamList, func(cfg *Config) {
		cfg.Listen = []Listen{{Transport: "tcp", Addr: netip.MustParseAddrPort("127.0.0.1:0")}}
	}, ControlOptions{})
	if r := ctlDo(t, c, http.MethodGet, "/healthz", ""); r != (httpReply{200, "OK", "ok\n"}) {
		t.Errorf("healthy: %+v", r)
	}
	e.close()
	if r := ctlDo(t, c, http.MethodGet, "/healthz", ""); r != (httpReply{503, "Service Unavailable", "stopped\n"}) {
		t.Errorf("stopped engine: %+v", r)
	}
}

// TestEngineProber: with probing on, the control API uses the engine's
// prober without being told: ping_active reads and pauses it, and
// dispatcher.list carries LATENCY.
func TestEngineProber(t *testing.T) {
	uas := newPeer(t, "uas")
	uas.serveUAS() // answers the probes
	e, c, _ := ctlEngineConfig(t, "1 sip:"+uas.addr.String()+"\n", func(cfg *Config) { cfg.NoProbe = false }, ControlOptions{})
	if e.Prober() == nil {
		t.Fatal("the engine has no prober")
	}
	if r := call(t, c, "dispatcher.ping_active", ""); r != okReply(`{"OldPingState":1}`) {
		t.Errorf("read: %+v", r)
	}
	if r := call(t, c, "dispatcher.ping_active", "[0]"); r != okReply(`{"NewPingState":0,"OldPingState":1}`) {
		t.Errorf("pause: %+v", r)
	}
	if got := e.Prober().PingActive(); got != 0 {
		t.Errorf("the prober's ping state is %d after pausing", got)
	}
	if d := destOf(listResult(t, c, ""), 1, "sip:"+uas.addr.String()); d == nil || d.LATENCY == nil {
		t.Errorf("no LATENCY with a prober: %+v", d)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	e, _, _ := ctlEngine(t, kamList, ControlOptions{})
	c, err := NewControl(e, ControlOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	if r := call(t, c, "core.version", ""); r.status != 200 {
		t.Fatalf("%+v", r)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop")
	}
	cl := &rpc.Client{Addr: c.Addr().String()}
	if _, err := cl.Call(context.Background(), "core.version"); !errors.Is(err, rpc.ErrUnreachable) {
		t.Errorf("after stop: %v", err)
	}
}

package lb

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzMethods are the methods FuzzRPCMethods calls, picked by the first
// byte of the input.
var fuzzMethods = [...]string{
	"dispatcher.list", "dispatcher.reload", "dispatcher.set_state", "dispatcher.set_duid_state",
	"dispatcher.ping_active", "dispatcher.add", "dispatcher.remove", "dispatcher.set_weight",
	"dispatcher.drain", "dispatcher.undrain", "core.version", "core.uptime", "stats.fetch",
}

// FuzzRPCMethods calls the control API's methods with arbitrary parameters,
// one engine for the whole run so that changes pile up as an operator's
// would. Invariants: every answer is a JSON-RPC 2.0 reply with exactly one
// of result and error; no method panics (the handler would answer "Internal
// Server Error"); a method error is HTTP 500 with code 500 (400 for
// stats.fetch without parameters), never a bare Go error text; and the
// destination table stays listable, its sets in order and every destination
// in the set it claims.
func FuzzRPCMethods(f *testing.F) {
	for _, s := range []struct {
		method byte
		params string
	}{
		{0, `["full"]`}, {0, `[]`}, {1, ``}, {2, `["i",1,"sip:127.0.0.1:5171"]`}, {2, `["xp",1,"all"]`},
		{2, `["",1,"a"]`}, {3, `["d",1,"a"]`}, {4, `[0]`}, {4, `["x"]`}, {5, `[3,"sip:127.0.0.1:5199",8,2,"duid=z;weight=7"]`},
		{5, `[1,"sip:[::1]:5060"]`}, {5, `[1,"sips:host.invalid"]`}, {5, `[-1,"x"]`}, {6, `[1,"a"]`}, {6, `[2,"all"]`},
		{7, `[1,"a",100]`}, {7, `[1,"a",-3]`}, {8, `[1,"all"]`}, {9, `[1,"sip:127.0.0.1:5172"]`}, {10, ``},
		{11, `[1,2]`}, {12, `["all"]`}, {12, `["core:","x:y",":",""]`}, {5, `{"a":1,"b":"sip:127.0.0.1:1"}`},
		{2, `[null,null,null]`}, {5, `[1,"1 sip:127.0.0.1:5 0 0 #"]`}, {7, `[1,"a",1e3]`},
	} {
		f.Add(s.method, s.params)
	}
	_, c, _ := ctlEngine(f, kamList, ControlOptions{})
	h := c.srv.Handler
	f.Fuzz(func(t *testing.T, pick byte, params string) {
		method := fuzzMethods[int(pick)%len(fuzzMethods)]
		body := `{"jsonrpc":"2.0","method":"` + method + `"`
		if params != "" {
			body += `,"params":` + params
		}
		body += `,"id":7}`
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/RPC", strings.NewReader(body)))
		var rep struct {
			JSONRPC string           `json:"jsonrpc"`
			Result  *json.RawMessage `json:"result"`
			Error   *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || rep.JSONRPC != "2.0" {
			t.Fatalf("%s %s: not a JSON-RPC reply: %d %s", method, params, w.Code, w.Body)
		}
		switch {
		case (rep.Result == nil) == (rep.Error == nil):
			t.Fatalf("%s %s: want exactly one of result and error: %s", method, params, w.Body)
		case rep.Error != nil && rep.Error.Message == "Internal Server Error":
			t.Fatalf("%s %s: the method panicked", method, params)
		case rep.Error != nil && strings.HasPrefix(rep.Error.Message, "dispatcher: "),
			rep.Error != nil && strings.HasPrefix(rep.Error.Message, "lb: "):
			t.Fatalf("%s %s: a Go error leaked as the message: %q", method, params, rep.Error.Message)
		case rep.Error != nil && rep.Error.Code >= 0 && w.Code != rep.Error.Code:
			t.Fatalf("%s %s: HTTP %d for code %d", method, params, w.Code, rep.Error.Code)
		}

		// The table is still whole.
		tbl := c.e.Dispatcher().Current()
		prev := -1 << 63
		for _, s := range tbl.Sets() {
			if s.ID() <= prev {
				t.Fatalf("sets out of order after %s %s", method, params)
			}
			prev = s.ID()
			for _, d := range s.Dests() {
				if d.Set != s.ID() || d.RT == nil {
					t.Fatalf("destination %s in set %d claims set %d", d.URI, s.ID(), d.Set)
				}
			}
		}
		lw := httptest.NewRecorder()
		h.ServeHTTP(lw, httptest.NewRequest(http.MethodPost, "/RPC", strings.NewReader(`{"jsonrpc":"2.0","method":"dispatcher.list","id":1}`)))
		if lw.Code != http.StatusOK && !strings.Contains(lw.Body.String(), "No Destination Sets") {
			t.Fatalf("dispatcher.list after %s %s: %d %s", method, params, lw.Code, lw.Body)
		}
	})
}

package rpc

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// kamCase is one request replayed against the handler. kam is what Kamailio
// 5.6.3 (xhttp + jsonrpcs, testdata/kamailio/kamailio.cfg) answered, recorded
// with curl in testdata/kamailio/transcript-5.6.3.txt. want is sipfront's
// answer where it is better than Kamailio's (doc.go says why); nil means
// sipfront copies Kamailio byte for byte: status, reason phrase and body.
type kamCase struct {
	name   string
	method string   // HTTP method, POST when empty
	hdr    []string // extra header name, value pairs
	body   string
	kam    reply
	want   *reply
}

var bigBody = `{"jsonrpc":"2.0","method":"core.version","params":["` + strings.Repeat("x", 100000) + `"],"id":1}`

func ok(body string) reply { return reply{200, "OK", body} }

func kerr(status int, msg, id string) reply {
	return reply{status, msg, `{"jsonrpc":"2.0","error":{"code":` + strconv.Itoa(status) + `,"message":"` + msg + `"},"id":` + id + `}`}
}

func parseErr() *reply {
	return &reply{400, "Parse Error", `{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse Error"},"id":null}`}
}

func invalidReq(id string) *reply {
	return &reply{400, "Invalid Request", `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":` + id + `}`}
}

func better(r reply) *reply { return &r }

const version = `"kamailio 5.6.3 (x86_64/linux) "`

var noReply = reply{}

var kamCases = []kamCase{
	// Copied.
	{name: "good_num_id", body: `{"jsonrpc":"2.0","method":"core.version","id":1}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`)},
	{name: "good_str_id", body: `{"jsonrpc":"2.0","method":"core.version","id":"abc"}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":"abc"}`)},
	{name: "good_big_id", body: `{"jsonrpc":"2.0","method":"core.version","id":123456789012345}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":123456789012345}`)},
	{name: "id_escaped_string", body: `{"jsonrpc":"2.0","method":"core.version","id":"a\"b\u00e9\n"}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":"a\"bé\n"}`)},
	{name: "notification", body: `{"jsonrpc":"2.0","method":"core.version"}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `}`)},
	{name: "duplicate_id_first_wins", body: `{"jsonrpc":"2.0","method":"core.version","id":1,"id":2}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`)},
	{name: "leading_space", body: ` {"jsonrpc":"2.0","method":"core.version","id":1}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`)},
	{name: "unknown_method", body: `{"jsonrpc":"2.0","method":"no.such","id":2}`,
		kam: kerr(500, "Method Not Found", "2")},
	{name: "method_case_sensitive", body: `{"jsonrpc":"2.0","method":"Core.Version","id":1}`,
		kam: kerr(500, "Method Not Found", "1")},
	{name: "core_help_is_not_kamailio", body: `{"jsonrpc":"2.0","method":"core.help","params":["core.version"],"id":9}`,
		kam: kerr(500, "Method Not Found", "9")},
	{name: "set_state_good", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i",1,"sip:127.0.0.1:5171"],"id":4}`,
		kam: ok(`{"jsonrpc":"2.0","result":"Ok. Dispatcher state updated.","id":4}`)},
	{name: "set_state_state_as_number", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":[1,1,"sip:127.0.0.1:5171"],"id":4}`,
		kam: ok(`{"jsonrpc":"2.0","result":"Ok. Dispatcher state updated.","id":4}`)},
	{name: "set_state_missing_params", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i"],"id":6}`,
		kam: kerr(500, "Invalid Parameters", "6")},
	{name: "set_state_address_as_number", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["a",1,5],"id":4}`,
		kam: kerr(500, "Invalid Parameters", "4")},
	{name: "set_state_unknown_destination", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i",1,"sip:127.0.0.1:9"],"id":6}`,
		kam: kerr(500, "State Update Failed", "6")},
	{name: "set_state_bad_state", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["x",1,"sip:127.0.0.1:5171"],"id":6}`,
		kam: kerr(500, "Unknown State Value", "6")},
	{name: "params_object_positional", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":{"state":"i","group":1,"address":"sip:127.0.0.1:5171"},"id":8}`,
		kam: ok(`{"jsonrpc":"2.0","result":"Ok. Dispatcher state updated.","id":8}`)},
	{name: "params_empty_object", body: `{"jsonrpc":"2.0","method":"core.version","params":{},"id":1}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`)},
	{name: "extra_params_ignored", body: `{"jsonrpc":"2.0","method":"core.version","params":[1,2],"id":8}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":8}`)},
	{name: "batch", body: `[{"jsonrpc":"2.0","method":"core.version","id":1},{"jsonrpc":"2.0","method":"core.uptime","id":2}]`,
		kam: ok(`{"jsonrpc":"2.0","result":{}}`)},
	{name: "batch_empty", body: `[]`,
		kam: ok(`{"jsonrpc":"2.0","result":{}}`)},
	{name: "content_type_text_plain", hdr: []string{"Content-Type", "text/plain"}, body: `{"jsonrpc":"2.0","method":"core.version","id":1}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`)},
	{name: "content_type_form", hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: `{"jsonrpc":"2.0","method":"core.version","id":1}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`)},
	{name: "put", method: http.MethodPut, body: `{"jsonrpc":"2.0","method":"core.version","id":1}`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`)},
	{name: "method_help", body: `{"jsonrpc":"2.0","method":"system.methodHelp","params":["core.version"],"id":9}`,
		kam: ok(`{"jsonrpc":"2.0","result":"Returns the version string of the server.","id":9}`)},
	{name: "method_help_unknown", body: `{"jsonrpc":"2.0","method":"system.methodHelp","params":["no.such"],"id":1}`,
		kam: kerr(400, "command not found", "1")},
	{name: "method_help_no_param", body: `{"jsonrpc":"2.0","method":"system.methodHelp","id":1}`,
		kam: kerr(400, "Method Name Expected", "1")},
	{name: "method_signature", body: `{"jsonrpc":"2.0","method":"system.methodSignature","params":["core.version"],"id":1}`,
		kam: kerr(500, "Not Implemented Yet", "1")},

	// Better: the id echoed as written, not through a C double.
	{name: "float_id", body: `{"jsonrpc":"2.0","method":"core.version","id":1.5}`,
		kam:  ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1.500000}`),
		want: better(ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1.5}`))},
	{name: "exponent_id", body: `{"jsonrpc":"2.0","method":"core.version","id":1e3}`,
		kam:  ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1000}`),
		want: better(ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1e3}`))},
	{name: "huge_id", body: `{"jsonrpc":"2.0","method":"core.version","id":99999999999999999999}`,
		kam:  ok(`{"jsonrpc":"2.0","result":` + version + `,"id":100000000000000016384}`),
		want: better(ok(`{"jsonrpc":"2.0","result":` + version + `,"id":99999999999999999999}`))},
	{name: "null_id", body: `{"jsonrpc":"2.0","method":"core.version","id":null}`,
		kam:  ok(`{"jsonrpc":"2.0","result":` + version + `,"id":0}`),
		want: better(ok(`{"jsonrpc":"2.0","result":` + version + `,"id":null}`))},
	{name: "object_id", body: `{"jsonrpc":"2.0","method":"core.version","id":{"a":1}}`,
		kam:  ok(`{"jsonrpc":"2.0","result":` + version + `,"id":0}`),
		want: invalidReq("null")},
	{name: "bool_id", body: `{"jsonrpc":"2.0","method":"core.version","id":true}`,
		kam:  ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`),
		want: invalidReq("null")},

	// Better: requests Kamailio answers with a silent empty success.
	{name: "no_jsonrpc_member", body: `{"method":"core.version","id":7}`,
		kam: ok(`{"jsonrpc":"2.0","result":{},"id":7}`), want: invalidReq("7")},
	{name: "jsonrpc_1_0", body: `{"jsonrpc":"1.0","method":"core.version","id":7}`,
		kam: ok(`{"jsonrpc":"2.0","result":{},"id":7}`), want: invalidReq("7")},
	{name: "jsonrpc_number", body: `{"jsonrpc":2.0,"method":"core.version","id":1}`,
		kam: ok(`{"jsonrpc":"2.0","result":{},"id":1}`), want: invalidReq("1")},
	{name: "missing_method", body: `{"jsonrpc":"2.0","id":2}`,
		kam: ok(`{"jsonrpc":"2.0","result":{},"id":2}`), want: invalidReq("2")},
	{name: "method_number", body: `{"jsonrpc":"2.0","method":5,"id":2}`,
		kam: ok(`{"jsonrpc":"2.0","result":{},"id":2}`), want: invalidReq("2")},
	{name: "not_an_object", body: `42`,
		kam: ok(`{"jsonrpc":"2.0","result":{}}`), want: invalidReq("null")},
	{name: "params_string", body: `{"jsonrpc":"2.0","method":"core.version","params":"x","id":8}`,
		kam: ok(`{"jsonrpc":"2.0","result":{},"id":8}`), want: better(kerr(500, "Invalid Parameters", "8"))},
	{name: "params_null_is_none", body: `{"jsonrpc":"2.0","method":"core.version","params":null,"id":1}`,
		kam:  ok(`{"jsonrpc":"2.0","result":{},"id":1}`),
		want: better(ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`))},

	// Better: a wrong type is an error, not a guess.
	{name: "set_state_group_as_string", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i","1","sip:127.0.0.1:5171"],"id":5}`,
		kam: kerr(500, "State Update Failed", "5"), want: better(kerr(500, "Invalid Parameters", "5"))},
	{name: "set_state_group_fraction", body: `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i",1.7,"sip:127.0.0.1:5171"],"id":4}`,
		kam:  ok(`{"jsonrpc":"2.0","result":"Ok. Dispatcher state updated.","id":4}`),
		want: better(kerr(500, "Invalid Parameters", "4"))},

	// Better: Kamailio sends nothing and closes, or runs a broken request.
	{name: "empty_body", body: ``, kam: noReply, want: parseErr()},
	{name: "bad_json", body: `{"jsonrpc":"2.0","method":`, kam: noReply, want: parseErr()},
	{name: "get", method: http.MethodGet, kam: noReply, want: parseErr()},
	{name: "trailing_garbage", body: `{"jsonrpc":"2.0","method":"core.version","id":1} xyz`,
		kam: ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`), want: parseErr()},
	{name: "body_over_limit", body: bigBody, kam: noReply,
		want: better(reply{413, "Request Entity Too Large", `{"jsonrpc":"2.0","error":{"code":413,"message":"Request Entity Too Large"},"id":null}`})},
	{name: "browser_origin", hdr: []string{"Origin", "http://evil.example"}, body: `{"jsonrpc":"2.0","method":"core.version","id":1}`,
		kam:  ok(`{"jsonrpc":"2.0","result":` + version + `,"id":1}`),
		want: better(reply{403, "Forbidden", `{"jsonrpc":"2.0","error":{"code":403,"message":"Forbidden"},"id":null}`})},
}

// TestKamailioCompat replays the recorded requests against sipfront's handler.
func TestKamailioCompat(t *testing.T) {
	url := serve(t, testRegistry(), HandlerOptions{})
	for _, tc := range kamCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.kam
			if tc.want != nil {
				want = *tc.want
			}
			got := do(t, url, tc.method, tc.body, tc.hdr...)
			if got != want {
				t.Errorf("got  %d %q %s\nwant %d %q %s", got.status, got.reason, got.body, want.status, want.reason, want.body)
			}
		})
	}
}

// TestKamailioLive checks the recorded observations against a running
// Kamailio, so the table stays true: start it with
// testdata/kamailio/kamailio.cfg and set SIPFRONT_KAMAILIO_RPC to its /RPC URL
// (http://127.0.0.1:18080/RPC).
func TestKamailioLive(t *testing.T) {
	url := os.Getenv("SIPFRONT_KAMAILIO_RPC")
	if url == "" {
		t.Skip("SIPFRONT_KAMAILIO_RPC not set: no Kamailio to compare with")
	}
	for _, tc := range kamCases {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, url, tc.method, tc.body, tc.hdr...)
			if got != tc.kam {
				t.Errorf("Kamailio now answers %d %q %s\nrecorded           %d %q %s",
					got.status, got.reason, got.body, tc.kam.status, tc.kam.reason, tc.kam.body)
			}
		})
	}
}

package rpc

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

const vres = `"result":"kamailio 5.6.3 (x86_64/linux) "`

// TestHandlerCodec covers the framing paths the Kamailio table does not: id
// forms, params shapes, method results and errors.
func TestHandlerCodec(t *testing.T) {
	url := serve(t, testRegistry(), HandlerOptions{Logger: discardLogger()})
	cases := []struct {
		name string
		body string
		want reply
	}{
		{"id_negative", `{"jsonrpc":"2.0","method":"core.version","id":-7}`,
			ok(`{"jsonrpc":"2.0",` + vres + `,"id":-7}`)},
		{"id_minus_zero_as_written", `{"jsonrpc":"2.0","method":"core.version","id":-0}`,
			ok(`{"jsonrpc":"2.0",` + vres + `,"id":-0}`)},
		{"id_empty_string", `{"jsonrpc":"2.0","method":"core.version","id":""}`,
			ok(`{"jsonrpc":"2.0",` + vres + `,"id":""}`)},
		{"id_unicode_escape_decoded", `{"jsonrpc":"2.0","method":"core.version","id":"\u0041\u00e9\u20ac"}`,
			ok(`{"jsonrpc":"2.0",` + vres + `,"id":"Aé€"}`)},
		{"id_control_char_escaped", `{"jsonrpc":"2.0","method":"core.version","id":"a\u0001b\tc"}`,
			ok(`{"jsonrpc":"2.0",` + vres + `,"id":"a\u0001b\tc"}`)},
		{"id_invalid_utf8_replaced", "{\"jsonrpc\":\"2.0\",\"method\":\"core.version\",\"id\":\"a\xffb\"}",
			ok(`{"jsonrpc":"2.0",` + vres + `,"id":"a\ufffdb"}`)},
		{"id_array_invalid", `{"jsonrpc":"2.0","method":"core.version","id":[1]}`,
			*invalidReq("null")},
		{"id_nan_is_not_json", `{"jsonrpc":"2.0","method":"core.version","id":NaN}`,
			*parseErr()},
		{"number_lenient_form_rejected", `{"jsonrpc":"2.0","method":"core.version","id":01}`,
			*parseErr()},
		{"control_char_in_string_rejected", "{\"jsonrpc\":\"2.0\",\"method\":\"core.version\",\"id\":\"a\x01\"}",
			*parseErr()},
		{"whitespace_only", " \r\n\t ", *parseErr()},
		{"invalid_request_keeps_id", `{"jsonrpc":"2.0","method":null,"id":"x"}`,
			*invalidReq(`"x"`)},
		{"invalid_request_notification_has_no_id", `{"jsonrpc":"1.0","method":"core.version"}`,
			reply{400, "Invalid Request", `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"}}`}},
		{"unknown_method_before_bad_params", `{"jsonrpc":"2.0","method":"no.such","params":7,"id":1}`,
			kerr(500, "Method Not Found", "1")},
		{"params_array", `{"jsonrpc":"2.0","method":"test.echo","params":[1,"two",[3],{"4":null}],"id":1}`,
			ok(`{"jsonrpc":"2.0","result":[4,"1","\"two\"","[3]","{\"4\":null}"],"id":1}`)},
		{"params_object_values_in_order", `{"jsonrpc":"2.0","method":"test.echo","params":{"z":1,"a":2,"z":3},"id":1}`,
			ok(`{"jsonrpc":"2.0","result":[3,"1","2","3"],"id":1}`)},
		{"params_absent", `{"jsonrpc":"2.0","method":"test.echo","id":1}`,
			ok(`{"jsonrpc":"2.0","result":[0],"id":1}`)},
		{"params_bool_invalid", `{"jsonrpc":"2.0","method":"test.echo","params":true,"id":1}`,
			kerr(500, "Invalid Parameters", "1")},
		{"nil_result_is_empty_object", `{"jsonrpc":"2.0","method":"test.nil","id":1}`,
			ok(`{"jsonrpc":"2.0","result":{},"id":1}`)},
		{"html_not_escaped", `{"jsonrpc":"2.0","method":"test.html","id":1}`,
			ok(`{"jsonrpc":"2.0","result":"<sip:a@b>;tag=1&x","id":1}`)},
		{"panic_is_500", `{"jsonrpc":"2.0","method":"test.panic","id":1}`,
			kerr(500, "Internal Server Error", "1")},
		{"unencodable_result_is_500", `{"jsonrpc":"2.0","method":"test.unencodable","id":1}`,
			kerr(500, "Internal Server Error", "1")},
		{"typed_nil_error_is_500", `{"jsonrpc":"2.0","method":"test.typednil","id":1}`,
			kerr(500, "Internal Server Error", "1")},
		{"wrapped_rpc_error", `{"jsonrpc":"2.0","method":"test.wrapped","id":1}`,
			kerr(404, "No Such Thing", "1")},
		{"plain_error_text_sanitised_in_reason", `{"jsonrpc":"2.0","method":"test.plainerror","id":1}`,
			reply{500, `dispatcher: reload: list.txt:3:7: "sip:": bad URI  X-Injected: 1`,
				`{"jsonrpc":"2.0","error":{"code":500,"message":"dispatcher: reload: list.txt:3:7: \"sip:\": bad URI\r\nX-Injected: 1"},"id":1}`}},
		{"list_methods", `{"jsonrpc":"2.0","method":"system.listMethods","id":1}`,
			ok(`{"jsonrpc":"2.0","result":["core.version","dispatcher.set_state","system.listMethods","system.methodHelp","system.methodSignature","test.echo","test.html","test.nil","test.panic","test.plainerror","test.typednil","test.unencodable","test.wrapped"],"id":1}`)},
		{"method_help_undocumented", `{"jsonrpc":"2.0","method":"system.methodHelp","params":["test.nil"],"id":1}`,
			ok(`{"jsonrpc":"2.0","result":"undocumented","id":1}`)},
		{"method_help_of_builtin", `{"jsonrpc":"2.0","method":"system.methodHelp","params":["system.listMethods"],"id":1}`,
			ok(`{"jsonrpc":"2.0","result":"Lists the RPC methods this server answers.","id":1}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, url, "", tc.body)
			if got != tc.want {
				t.Errorf("got  %d %q %s\nwant %d %q %s", got.status, got.reason, got.body, tc.want.status, tc.want.reason, tc.want.body)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestHandlerPanicLoggedAndSurvived checks that a panicking method is logged
// with its stack and that the server keeps answering.
func TestHandlerPanicLoggedAndSurvived(t *testing.T) {
	var logged bytes.Buffer
	url := serve(t, testRegistry(), HandlerOptions{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	for range 3 {
		if got := do(t, url, "", `{"jsonrpc":"2.0","method":"test.panic","id":1}`); got.status != 500 {
			t.Fatalf("panic answered %d %s", got.status, got.body)
		}
	}
	if got := do(t, url, "", `{"jsonrpc":"2.0","method":"core.version","id":2}`); got.status != 200 {
		t.Fatalf("after panics: %d %s", got.status, got.body)
	}
	// The stack names the file where the method panicked.
	for _, want := range []string{"method=test.panic", "panic=boom", "stack=", "helpers_test.go"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
}

func TestHandlerBodyLimit(t *testing.T) {
	call := `{"jsonrpc":"2.0","method":"core.version","id":1}`
	const limit = 256
	url := serve(t, testRegistry(), HandlerOptions{MaxBody: limit})
	tooLarge := reply{413, "Request Entity Too Large", `{"jsonrpc":"2.0","error":{"code":413,"message":"Request Entity Too Large"},"id":null}`}
	cases := []struct {
		name    string
		body    io.Reader
		length  int64 // -1: unknown, so the client sends it chunked
		want    reply
		wantErr bool
	}{
		{"exactly_the_limit", strings.NewReader(call + strings.Repeat(" ", limit-len(call))), limit,
			ok(`{"jsonrpc":"2.0",` + vres + `,"id":1}`), false},
		{"one_byte_over", strings.NewReader(call + strings.Repeat(" ", limit-len(call)+1)), limit + 1, tooLarge, false},
		{"chunked_over", strings.NewReader(call + strings.Repeat(" ", 10*limit)), -1, tooLarge, false},
		{"chunked_within", strings.NewReader(call), -1, ok(`{"jsonrpc":"2.0",` + vres + `,"id":1}`), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, url, io.NopCloser(tc.body))
			req.ContentLength = tc.length
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			_, reason, _ := strings.Cut(resp.Status, " ")
			if got := (reply{resp.StatusCode, reason, string(b)}); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// A declared length over the limit is refused before any byte is read:
	// the server answers while the client has sent only the headers.
	t.Run("declared_length_not_read", func(t *testing.T) {
		addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/RPC")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /RPC HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
		b := make([]byte, 512)
		n, _ := io.ReadAtLeast(c, b, 12)
		if !bytes.HasPrefix(b[:n], []byte("HTTP/1.1 413 ")) {
			t.Errorf("got %q", b[:n])
		}
	})
}

func TestHandlerDefaultBodyLimit(t *testing.T) {
	url := serve(t, testRegistry(), HandlerOptions{})
	call := `{"jsonrpc":"2.0","method":"core.version","id":1}`
	if got := do(t, url, "", call+strings.Repeat(" ", DefaultMaxBody-len(call))); got.status != 200 {
		t.Errorf("64 KiB: %d", got.status)
	}
	if got := do(t, url, "", call+strings.Repeat(" ", DefaultMaxBody-len(call)+1)); got.status != 413 {
		t.Errorf("64 KiB + 1: %d", got.status)
	}
}

func TestHandlerToken(t *testing.T) {
	const token = "s3cret-token"
	url := serve(t, testRegistry(), HandlerOptions{Token: token})
	call := `{"jsonrpc":"2.0","method":"core.version","id":1}`
	unauthorized := reply{401, "Unauthorized", `{"jsonrpc":"2.0","error":{"code":401,"message":"Unauthorized"},"id":null}`}
	forbidden := reply{403, "Forbidden", `{"jsonrpc":"2.0","error":{"code":403,"message":"Forbidden"},"id":null}`}
	good := ok(`{"jsonrpc":"2.0",` + vres + `,"id":1}`)
	cases := []struct {
		name string
		hdr  []string
		want reply
	}{
		{"missing", nil, unauthorized},
		{"wrong", []string{"Authorization", "Bearer nope"}, unauthorized},
		{"prefix_of_token", []string{"Authorization", "Bearer s3cret"}, unauthorized},
		{"token_plus_suffix", []string{"Authorization", "Bearer " + token + "x"}, unauthorized},
		{"basic_scheme", []string{"Authorization", "Basic " + token}, unauthorized},
		{"empty_bearer", []string{"Authorization", "Bearer "}, unauthorized},
		{"accepted", []string{"Authorization", "Bearer " + token}, good},
		{"scheme_case_insensitive", []string{"Authorization", "bearer " + token}, good},
		{"browser_refused_even_with_token", []string{"Authorization", "Bearer " + token, "Origin", "http://127.0.0.1"}, forbidden},
		{"fetch_metadata_refused", []string{"Authorization", "Bearer " + token, "Sec-Fetch-Site", "same-origin"}, forbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := do(t, url, "", call, tc.hdr...); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("www_authenticate", func(t *testing.T) {
		resp, err := http.Post(url, "application/json", strings.NewReader(call))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="sipfront"` {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
}

// TestHandlerConnections checks that success replies keep the connection and
// that an error with a custom reason phrase closes it after the reply.
func TestHandlerConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(NewHandler(testRegistry(), HandlerOptions{}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	client := srv.Client()
	post := func(body string) *http.Response {
		resp, err := client.Post(srv.URL+"/RPC", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for range 5 {
		post(`{"jsonrpc":"2.0","method":"core.version","id":1}`)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 successful calls used %d connections, want 1", n)
	}
	resp := post(`{"jsonrpc":"2.0","method":"no.such","id":1}`)
	if !resp.Close || resp.Status != "500 Method Not Found" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("error reply: status %q, close %v, content type %q", resp.Status, resp.Close, resp.Header.Get("Content-Type"))
	}
	post(`{"jsonrpc":"2.0","method":"core.version","id":1}`)
	if n := conns.Load(); n != 2 {
		t.Errorf("after a closing error reply: %d connections, want 2", n)
	}
}

// TestHandlerWithoutHijack covers writers that cannot be hijacked (a
// recorder, HTTP/2): the standard reason phrase, the same body.
func TestHandlerWithoutHijack(t *testing.T) {
	h := NewHandler(testRegistry(), HandlerOptions{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/RPC", strings.NewReader(`{"jsonrpc":"2.0","method":"no.such","id":3}`)))
	if rec.Code != 500 || rec.Body.String() != `{"jsonrpc":"2.0","error":{"code":500,"message":"Method Not Found"},"id":3}` {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
}

func TestHandlerHead(t *testing.T) {
	url := serve(t, testRegistry(), HandlerOptions{})
	resp, err := http.Head(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Close {
		t.Errorf("HEAD: %s, close %v", resp.Status, resp.Close)
	}
}

func TestErrorStatus(t *testing.T) {
	cases := []struct {
		name string
		e    Error
		want int
	}{
		{"kamailio_500", Error{Code: 500}, 500},
		{"kamailio_400", Error{Code: 400}, 400},
		{"jsonrpc_code", Error{Code: -32601}, 500},
		{"not_an_error_status", Error{Code: 200}, 500},
		{"explicit", Error{Code: -32700, HTTPStatus: 400}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Status(); got != tc.want {
				t.Errorf("Status() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestReasonPhrase(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Method Not Found", "Method Not Found"},
		{"a\r\nb\x00c\x7fd", "a  b c d"},
		{strings.Repeat("x", 200), strings.Repeat("x", 127)},
		{"Zürich", "Zürich"},
	}
	for _, tc := range cases {
		t.Run(tc.want[:min(len(tc.want), 16)], func(t *testing.T) {
			if got := reasonPhrase(tc.in); got != tc.want {
				t.Errorf("reasonPhrase(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestHandlerWire reads a reply off the socket byte for byte: the reason
// phrase is the message, the headers are the ones Kamailio sends (plus
// Connection: close), and a method's error text cannot inject a header.
func TestHandlerWire(t *testing.T) {
	url := serve(t, testRegistry(), HandlerOptions{Logger: discardLogger()})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/RPC")
	cases := []struct {
		name, body, status, reply string
	}{
		{"method_not_found", `{"jsonrpc":"2.0","method":"no.such","id":2}`,
			"500 Method Not Found",
			`{"jsonrpc":"2.0","error":{"code":500,"message":"Method Not Found"},"id":2}`},
		{"injection_attempt", `{"jsonrpc":"2.0","method":"test.plainerror","id":1}`,
			`500 dispatcher: reload: list.txt:3:7: "sip:": bad URI  X-Injected: 1`,
			`{"jsonrpc":"2.0","error":{"code":500,"message":"dispatcher: reload: list.txt:3:7: \"sip:\": bad URI\r\nX-Injected: 1"},"id":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "POST /RPC HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(tc.body))+"\r\n\r\n"+tc.body)
			got, err := io.ReadAll(c) // the server closes after the reply
			if err != nil {
				t.Fatal(err)
			}
			want := "HTTP/1.1 " + tc.status + "\r\nContent-Type: application/json\r\nContent-Length: " +
				strconv.Itoa(len(tc.reply)) + "\r\nConnection: close\r\n\r\n" + tc.reply
			if string(got) != want {
				t.Errorf("got\n%q\nwant\n%q", got, want)
			}
		})
	}
}

package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestClientCall(t *testing.T) {
	url := serve(t, testRegistry(), HandlerOptions{Logger: discardLogger()})
	c := &Client{Addr: strings.TrimPrefix(strings.TrimSuffix(url, "/RPC"), "http://")}
	ctx := context.Background()
	cases := []struct {
		name    string
		method  string
		params  []any
		want    string // result JSON
		wantErr *Error
	}{
		{"string_result", "core.version", nil, `"kamailio 5.6.3 (x86_64/linux) "`, nil},
		{"typed_params", "test.echo", []any{"i", 1, "sip:10.0.0.5"}, `[3,"\"i\"","1","\"sip:10.0.0.5\""]`, nil},
		{"set_state", "dispatcher.set_state", []any{"i", 1, "sip:127.0.0.1:5171"}, `"Ok. Dispatcher state updated."`, nil},
		{"method_not_found", "no.such", nil, "", &Error{Code: 500, Message: "Method Not Found", HTTPStatus: 500}},
		{"invalid_params", "dispatcher.set_state", []any{"i"}, "", &Error{Code: 500, Message: "Invalid Parameters", HTTPStatus: 500}},
		{"kamailio_400", "system.methodHelp", nil, "", &Error{Code: 400, Message: "Method Name Expected", HTTPStatus: 400}},
		{"panic", "test.panic", nil, "", &Error{Code: 500, Message: "Internal Server Error", HTTPStatus: 500}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Call(ctx, tc.method, tc.params...)
			if tc.wantErr != nil {
				var e *Error
				if !errors.As(err, &e) || *e != *tc.wantErr {
					t.Fatalf("err = %#v, want %#v", err, tc.wantErr)
				}
				if !errors.Is(err, &Error{Code: tc.wantErr.Code, Message: tc.wantErr.Message}) {
					t.Errorf("errors.Is does not match by code and message")
				}
				return
			}
			if err != nil || string(res) != tc.want {
				t.Errorf("Call = %s, %v; want %s", res, err, tc.want)
			}
		})
	}
	if _, err := c.Call(ctx, "no.such"); !errors.Is(err, ErrMethodNotFound) {
		t.Errorf("errors.Is(err, ErrMethodNotFound) false for %v", err)
	}
}

func TestClientCallRaw(t *testing.T) {
	url := serve(t, testRegistry(), HandlerOptions{})
	c := &Client{Addr: url}
	body, err := c.CallRaw(context.Background(), "core.version")
	if err != nil || string(body) != `{"jsonrpc":"2.0","result":"kamailio 5.6.3 (x86_64/linux) ","id":1}` {
		t.Errorf("CallRaw = %s, %v", body, err)
	}
	body, err = c.CallRaw(context.Background(), "no.such")
	if !errors.Is(err, ErrMethodNotFound) || string(body) != `{"jsonrpc":"2.0","error":{"code":500,"message":"Method Not Found"},"id":2}` {
		t.Errorf("CallRaw = %s, %v", body, err)
	}
}

func TestClientToken(t *testing.T) {
	url := serve(t, testRegistry(), HandlerOptions{Token: "tok"})
	ctx := context.Background()
	if _, err := (&Client{Addr: url}).Call(ctx, "core.version"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("without token: %v", err)
	}
	if _, err := (&Client{Addr: url, Token: "bad"}).Call(ctx, "core.version"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bad token: %v", err)
	}
	if res, err := (&Client{Addr: url, Token: "tok"}).Call(ctx, "core.version"); err != nil {
		t.Errorf("good token: %s, %v", res, err)
	}
}

func TestClientURL(t *testing.T) {
	cases := []struct{ addr, want string }{
		{"", "http://127.0.0.1:9060/RPC"},
		{"127.0.0.1:5000", "http://127.0.0.1:5000/RPC"},
		{"[::1]:9060", "http://[::1]:9060/RPC"},
		{"https://lb.example:8443/RPC", "https://lb.example:8443/RPC"},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			if got := (&Client{Addr: tc.addr}).URL(); got != tc.want {
				t.Errorf("URL() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClientUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = (&Client{Addr: addr}).Call(context.Background(), "core.version")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %v", err)
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	var r Registry
	r.Register("slow", "", func(ctx context.Context, _ Params) (any, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	})
	url := serve(t, &r, HandlerOptions{})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := (&Client{Addr: url}).Call(ctx, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

// TestClientBadReplies runs the client against servers that do not speak
// JSON-RPC properly.
func TestClientBadReplies(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		wantErr error
		wantRPC *Error
	}{
		{"not_found_html", 404, "<html>404</html>", nil, &Error{Code: 404, Message: "Not Found", HTTPStatus: 404}},
		{"ok_not_json", 200, "hello", ErrBadReply, nil},
		{"wrong_version", 200, `{"jsonrpc":"1.0","result":1,"id":1}`, ErrBadReply, nil},
		{"other_id", 200, `{"jsonrpc":"2.0","result":1,"id":99}`, ErrBadReply, nil},
		{"both_members", 200, `{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"},"id":1}`, ErrBadReply, nil},
		{"neither_member", 200, `{"jsonrpc":"2.0","id":1}`, ErrBadReply, nil},
		{"error_without_code", 500, `{"jsonrpc":"2.0","error":{"message":"x"},"id":1}`, ErrBadReply, nil},
		{"kamailio_batch_answer_has_no_id", 200, `{"jsonrpc":"2.0","result":{}}`, nil, nil},
		{"null_result", 200, `{"jsonrpc":"2.0","result":null,"id":1}`, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			_, err := (&Client{Addr: srv.URL}).Call(context.Background(), "m")
			switch {
			case tc.wantRPC != nil:
				var e *Error
				if !errors.As(err, &e) || *e != *tc.wantRPC {
					t.Errorf("err = %v, want %v", err, tc.wantRPC)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			default:
				if err != nil {
					t.Errorf("err = %v", err)
				}
			}
		})
	}
}

// TestClientKamailioLive calls a running Kamailio (see TestKamailioLive) with
// the same client sipfrontctl uses.
func TestClientKamailioLive(t *testing.T) {
	url := os.Getenv("SIPFRONT_KAMAILIO_RPC")
	if url == "" {
		t.Skip("SIPFRONT_KAMAILIO_RPC not set: no Kamailio to call")
	}
	c := &Client{Addr: url}
	res, err := c.Call(context.Background(), "dispatcher.list")
	if err != nil || !strings.HasPrefix(string(res), `{"NRSETS":`) {
		t.Errorf("dispatcher.list = %s, %v", res, err)
	}
	_, err = c.Call(context.Background(), "dispatcher.set_state", "i", "1", "sip:127.0.0.1:5171")
	if !errors.Is(err, &Error{Code: 500, Message: "State Update Failed"}) {
		t.Errorf("set_state with a string group = %v", err)
	}
}

package rpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Test methods that answer like Kamailio 5.6.3's, so that the framing can be
// compared with the recorded replies byte for byte. They are fakes of the
// methods package lb implements for real; only their framing matters here.
const kamVersion = "kamailio 5.6.3 (x86_64/linux) "

var (
	errStateUpdateFailed = &Error{Code: 500, Message: "State Update Failed"}
	errUnknownState      = &Error{Code: 500, Message: "Unknown State Value"}
)

func testRegistry() *Registry {
	var r Registry
	r.Register("core.version", "Returns the version string of the server.",
		func(context.Context, Params) (any, error) { return kamVersion, nil })
	r.Register("dispatcher.set_state", "Set the state of a destination",
		func(_ context.Context, p Params) (any, error) {
			// Kamailio scans all three first, then checks the state, then
			// looks the destination up.
			state, err := p.StringAuto(0)
			if err != nil {
				return nil, err
			}
			group, err := p.Int(1)
			if err != nil {
				return nil, err
			}
			addr, err := p.String(2)
			if err != nil {
				return nil, err
			}
			switch strings.ToLower(state) {
			case "a", "i", "d", "t", "ap", "ip", "dp", "tp", "0", "1", "2", "3":
			default:
				return nil, errUnknownState
			}
			if group != 1 || (addr != "sip:127.0.0.1:5171" && addr != "sip:127.0.0.1:5172") {
				return nil, errStateUpdateFailed
			}
			return "Ok. Dispatcher state updated.", nil
		})
	r.Register("test.panic", "", func(context.Context, Params) (any, error) {
		panic("boom")
	})
	r.Register("test.plainerror", "", func(context.Context, Params) (any, error) {
		return nil, errors.New("dispatcher: reload: list.txt:3:7: \"sip:\": bad URI\r\nX-Injected: 1")
	})
	r.Register("test.wrapped", "", func(context.Context, Params) (any, error) {
		return nil, errors.Join(errors.New("context"), &Error{Code: 404, Message: "No Such Thing"})
	})
	r.Register("test.typednil", "", func(context.Context, Params) (any, error) {
		var e *Error
		return nil, e
	})
	r.Register("test.nil", "", func(context.Context, Params) (any, error) { return nil, nil })
	r.Register("test.unencodable", "", func(context.Context, Params) (any, error) {
		return make(chan int), nil
	})
	r.Register("test.echo", "Echoes its params: Len, then each as Raw JSON.",
		func(_ context.Context, p Params) (any, error) {
			out := []any{p.Len()}
			for i := range p.Len() {
				out = append(out, string(p.Raw(i)))
			}
			return out, nil
		})
	r.Register("test.html", "", func(context.Context, Params) (any, error) {
		return "<sip:a@b>;tag=1&x", nil
	})
	return &r
}

// reply is one observed HTTP answer; status 0 means the server sent none.
type reply struct {
	status int
	reason string
	body   string
}

// do sends one request to url and returns what came back.
func do(t testing.TB, url, method, body string, hdr ...string) reply {
	t.Helper()
	if method == "" {
		method = http.MethodPost
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{} // no reply (Kamailio's way with bad input)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading reply: %v", err)
	}
	_, reason, _ := strings.Cut(resp.Status, " ")
	return reply{status: resp.StatusCode, reason: reason, body: string(b)}
}

// serve starts the handler on a loopback server for the test's lifetime.
func serve(t testing.TB, r *Registry, o HandlerOptions) string {
	t.Helper()
	srv := httptest.NewServer(NewHandler(r, o))
	t.Cleanup(srv.Close)
	return srv.URL + "/RPC"
}

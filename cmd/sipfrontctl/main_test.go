package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/sipfront/sipfront/lb/rpc"
)

// The Kamailio shape of dispatcher.list, as package lb builds it: ordered
// structs, ATTRS only when the list line had attrs, null for unset strings.
type dsAttrs struct {
	BODY     string  `json:"BODY"`
	DUID     string  `json:"DUID"`
	MAXLOAD  int     `json:"MAXLOAD"`
	WEIGHT   int     `json:"WEIGHT"`
	RWEIGHT  int     `json:"RWEIGHT"`
	SOCKET   *string `json:"SOCKET"`
	SOCKNAME *string `json:"SOCKNAME"`
	OBPROXY  *string `json:"OBPROXY"`
}

type dsDest struct {
	URI      string   `json:"URI"`
	FLAGS    string   `json:"FLAGS"`
	PRIORITY int      `json:"PRIORITY"`
	ATTRS    *dsAttrs `json:"ATTRS,omitempty"`
}

type dsTarget struct {
	DEST dsDest `json:"DEST"`
}

type dsSet struct {
	ID      int        `json:"ID"`
	TARGETS []dsTarget `json:"TARGETS"`
}

type dsRecord struct {
	SET dsSet `json:"SET"`
}

type dsList struct {
	NRSETS  int        `json:"NRSETS"`
	RECORDS []dsRecord `json:"RECORDS"`
}

func testRegistry() *rpc.Registry {
	var r rpc.Registry
	r.Register("dispatcher.list", "Print all dispatcher destinations",
		func(context.Context, rpc.Params) (any, error) {
			return dsList{NRSETS: 1, RECORDS: []dsRecord{{SET: dsSet{ID: 1, TARGETS: []dsTarget{
				{DEST: dsDest{URI: "sip:127.0.0.1:5172", FLAGS: "AX"}},
				{DEST: dsDest{URI: "sip:127.0.0.1:5171", FLAGS: "IX", ATTRS: &dsAttrs{
					BODY: "duid=a;weight=50", DUID: "a", WEIGHT: 50}}},
			}}}}}, nil
		})
	r.Register("dispatcher.set_state", "", func(_ context.Context, p rpc.Params) (any, error) {
		if _, err := p.StringAuto(0); err != nil {
			return nil, err
		}
		if _, err := p.Int(1); err != nil {
			return nil, err
		}
		if _, err := p.String(2); err != nil {
			return nil, err
		}
		return "Ok. Dispatcher state updated.", nil
	})
	r.Register("test.params", "", func(_ context.Context, p rpc.Params) (any, error) {
		raws := make([]string, p.Len())
		for i := range raws {
			raws[i] = string(p.Raw(i))
		}
		return strings.Join(raws, " "), nil
	})
	r.Register("test.slow", "", func(ctx context.Context, _ rpc.Params) (any, error) {
		<-ctx.Done() // until the client gives up
		return nil, ctx.Err()
	})
	return &r
}

// server starts the RPC handler on loopback and clears the environment
// variables sipfrontctl reads, so that the developer's own cannot leak in.
func server(t *testing.T, token string) string {
	t.Helper()
	t.Setenv("SIPFRONT_RPC", "")
	t.Setenv("SIPFRONT_RPC_TOKEN", "")
	srv := httptest.NewServer(rpc.NewHandler(testRegistry(), rpc.HandlerOptions{
		Token: token, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func runCtl(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRun(t *testing.T) {
	addr := server(t, "")
	golden, err := os.ReadFile("testdata/kamcmd/dispatcher_list.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  string
		stderrNone bool
	}{
		{name: "dispatcher_list_like_kamcmd", args: []string{"-rpc", addr, "dispatcher.list"},
			code: 0, stdout: string(golden), stderrNone: true},
		{name: "string_result", args: []string{"-rpc", addr, "dispatcher.set_state", "i", "1", "sip:10.0.0.5"},
			code: 0, stdout: "Ok. Dispatcher state updated.\n", stderrNone: true},
		{name: "param_typing", args: []string{"-rpc", addr, "test.params", "i", "1", "sip:10.0.0.5", "s:5", "i:7", "-3", "1.5", ""},
			code: 0, stdout: `"i" 1 "sip:10.0.0.5" "5" 7 -3 "1.5" ""` + "\n", stderrNone: true},
		{name: "state_digit_sent_as_number", args: []string{"-rpc", addr, "test.params", "0", "1", "sip:a"},
			code: 0, stdout: `0 1 "sip:a"` + "\n"},
		{name: "json_output", args: []string{"-rpc", addr, "-json", "dispatcher.set_state", "d", "1", "sip:a"},
			code: 0, stdout: `{"jsonrpc":"2.0","result":"Ok. Dispatcher state updated.","id":1}` + "\n", stderrNone: true},
		{name: "json_output_nested_as_received", args: []string{"-json", "-rpc", addr, "dispatcher.list"},
			code: 0, stdout: `{"jsonrpc":"2.0","result":{"NRSETS":1,"RECORDS":[{"SET":{"ID":1,"TARGETS":[{"DEST":{"URI":"sip:127.0.0.1:5172","FLAGS":"AX","PRIORITY":0}},{"DEST":{"URI":"sip:127.0.0.1:5171","FLAGS":"IX","PRIORITY":0,"ATTRS":{"BODY":"duid=a;weight=50","DUID":"a","MAXLOAD":0,"WEIGHT":50,"RWEIGHT":0,"SOCKET":null,"SOCKNAME":null,"OBPROXY":null}}}]}}]},"id":1}` + "\n"},
		{name: "method_not_found", args: []string{"-rpc", addr, "no.such"},
			code: 1, stderrHas: "error: 500 - Method Not Found\n"},
		{name: "invalid_params_group_string", args: []string{"-rpc", addr, "dispatcher.set_state", "i", "s:1", "sip:a"},
			code: 1, stderrHas: "error: 500 - Invalid Parameters\n"},
		{name: "json_error_prints_reply_too", args: []string{"-rpc", addr, "-json", "no.such"},
			code: 1, stdout: `{"jsonrpc":"2.0","error":{"code":500,"message":"Method Not Found"},"id":1}` + "\n",
			stderrHas: "error: 500 - Method Not Found\n"},
		{name: "builtin_list_methods", args: []string{"-rpc", addr, "system.listMethods"},
			code: 0, stdout: "dispatcher.list\ndispatcher.set_state\nsystem.listMethods\nsystem.methodHelp\nsystem.methodSignature\ntest.params\ntest.slow\n"},
		{name: "builtin_method_help", args: []string{"-rpc", addr, "system.methodHelp", "dispatcher.list"},
			code: 0, stdout: "Print all dispatcher destinations\n"},
		{name: "url_address", args: []string{"-rpc", "http://" + addr + "/RPC", "dispatcher.set_state", "a", "1", "x"},
			code: 0, stdout: "Ok. Dispatcher state updated.\n"},
		{name: "timeout", args: []string{"-rpc", addr, "-timeout", "100ms", "test.slow"},
			code: 1, stderrHas: "sipfrontctl: no answer from http://" + addr + "/RPC within 100ms\n"},
		{name: "no_method", args: []string{"-rpc", addr}, code: 2, stderrHas: "sipfrontctl: no METHOD given\nusage: sipfrontctl"},
		{name: "bad_flag", args: []string{"-nope", "core.version"}, code: 2, stderrHas: "flag provided but not defined: -nope"},
		{name: "bad_forced_int", args: []string{"-rpc", addr, "dispatcher.set_state", "i", "i:one", "sip:a"},
			code: 2, stderrHas: `sipfrontctl: parameter 2: "i:one" is not an integer`},
		{name: "bad_timeout", args: []string{"-timeout", "0s", "core.version"}, code: 2, stderrHas: "-timeout must be positive"},
		{name: "help", args: []string{"-h"}, code: 0, stderrHas: "usage: sipfrontctl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCtl(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if tc.stdout != "" || tc.code == 0 && tc.name != "help" {
				if stdout != tc.stdout {
					t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout)
				}
			}
			if tc.stderrNone && stderr != "" {
				t.Errorf("stderr %q, want none", stderr)
			}
			if !strings.Contains(stderr, tc.stderrHas) {
				t.Errorf("stderr %q lacks %q", stderr, tc.stderrHas)
			}
		})
	}
}

func TestRunToken(t *testing.T) {
	addr := server(t, "s3cret")
	t.Run("missing", func(t *testing.T) {
		code, _, stderr := runCtl("-rpc", addr, "dispatcher.list")
		if code != 1 || stderr != "error: 401 - Unauthorized\n" {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("wrong", func(t *testing.T) {
		code, _, stderr := runCtl("-rpc", addr, "-token", "nope", "dispatcher.list")
		if code != 1 || stderr != "error: 401 - Unauthorized\n" {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("flag", func(t *testing.T) {
		if code, out, stderr := runCtl("-rpc", addr, "-token", "s3cret", "dispatcher.set_state", "a", "1", "x"); code != 0 || out != "Ok. Dispatcher state updated.\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv("SIPFRONT_RPC_TOKEN", "s3cret")
		if code, _, stderr := runCtl("-rpc", addr, "dispatcher.list"); code != 0 {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("flag_overrides_env", func(t *testing.T) {
		t.Setenv("SIPFRONT_RPC_TOKEN", "s3cret")
		if code, _, _ := runCtl("-rpc", addr, "-token", "nope", "dispatcher.list"); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})
	t.Run("help_does_not_print_env_token", func(t *testing.T) {
		t.Setenv("SIPFRONT_RPC_TOKEN", "s3cret")
		if _, _, stderr := runCtl("-h"); strings.Contains(stderr, "s3cret") {
			t.Errorf("usage shows the token: %s", stderr)
		}
	})
}

func TestRunAddrFromEnv(t *testing.T) {
	addr := server(t, "")
	t.Setenv("SIPFRONT_RPC", addr)
	if code, out, stderr := runCtl("dispatcher.set_state", "a", "1", "x"); code != 0 || out != "Ok. Dispatcher state updated.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	// The flag wins over the environment.
	if code, _, stderr := runCtl("-rpc", closedAddr(t), "dispatcher.list"); code != 1 || !strings.Contains(stderr, "cannot connect") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestRunCannotConnect(t *testing.T) {
	t.Setenv("SIPFRONT_RPC", "")
	t.Setenv("SIPFRONT_RPC_TOKEN", "")
	addr := closedAddr(t)
	code, out, stderr := runCtl("-rpc", addr, "dispatcher.list")
	want := "sipfrontctl: cannot connect to " + addr + ": connect: connection refused (is sipfront running with -rpc " + addr + "?)\n"
	if code != 1 || out != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q\nwant stderr %q", code, out, stderr, want)
	}
}

// TestRunNotJSONRPC points sipfrontctl at an HTTP server that is not an RPC
// endpoint: the HTTP status is reported like an RPC error.
func TestRunNotJSONRPC(t *testing.T) {
	t.Setenv("SIPFRONT_RPC_TOKEN", "")
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	code, _, stderr := runCtl("-rpc", srv.URL+"/RPC", "dispatcher.list")
	if code != 1 || stderr != "error: 404 - Not Found\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestRunKamailioLive calls a running Kamailio (see lb/rpc TestKamailioLive)
// and compares with the kamcmd output recorded from it.
func TestRunKamailioLive(t *testing.T) {
	url := os.Getenv("SIPFRONT_KAMAILIO_RPC")
	if url == "" {
		t.Skip("SIPFRONT_KAMAILIO_RPC not set: no Kamailio to call")
	}
	for _, m := range []string{"core.version", "tm.stats", "core.sockets_list"} {
		want, err := os.ReadFile("testdata/kamcmd/" + map[string]string{
			"core.version": "core_version", "tm.stats": "tm_stats", "core.sockets_list": "sockets_list"}[m] + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		if code, out, stderr := runCtl("-rpc", url, m); code != 0 || out != string(want) {
			t.Errorf("%s: exit %d, stderr %q\n%s\nwant\n%s", m, code, stderr, out, want)
		}
	}
}

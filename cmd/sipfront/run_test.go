package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func runCmd(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb, ctx)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitCodes(t *testing.T) {
	good := writeFile(t, "dispatcher.list", "1 sip:127.0.0.1:5071\n")
	bad := writeFile(t, "bad.list", "# a set id alone refuses the file, as in Kamailio\n3\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown flag", []string{"-nope"}, exitUsage, "flag provided but not defined"},
		{"no listen", []string{"-dispatcher-list", good}, exitUsage, "no listen address"},
		{"no list", []string{"-listen", "udp:127.0.0.1:0"}, exitUsage, "no destination list"},
		{"bad listen", []string{"-listen", "udp:nonsense", "-dispatcher-list", good}, exitUsage, "-listen"},
		{"unknown transport", []string{"-listen", "sctp:127.0.0.1:0", "-dispatcher-list", good}, exitUsage, "-listen"},
		{"bad alg", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", good, "-alg", "fastest"}, exitUsage, "-alg"},
		{"call-load needs stateful mode", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", good, "-alg", "10"}, exitUsage, "-alg"},
		{"missing list file", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", "/nonexistent/list"}, exitUsage, "/nonexistent/list"},
		{"refused list", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", bad}, exitUsage, bad + ":2:1"},
		{"extra argument", []string{"serve"}, exitUsage, "unexpected argument"},
		{"bad filter", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", good, "-filter", "maybe"}, exitUsage, "-filter"},
		{"bad filter rate", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", good, "-filter-rate", "fast"}, exitUsage, "-filter-rate"},
		{"bad filter prefix", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", good, "-filter-allow", "10.0.0.0/33"}, exitUsage, "-filter-allow"},
		{"bad probe code", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", good, "-probe-codes", "200,abc"}, exitUsage, "-probe-codes"},
		{"tls without cert", []string{"-listen", "tls:127.0.0.1:0", "-dispatcher-list", good}, exitUsage, "-tls-cert"},
		{"rpc open without token", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", good, "-rpc", "0.0.0.0:9060"}, exitUsage, "-rpc: rpc: a non-loopback RPC address needs a token"},
		{"rpc not host:port", []string{"-listen", "udp:127.0.0.1:0", "-dispatcher-list", good, "-rpc", "9060"}, exitUsage, "-rpc: rpc: bad address"},
		{"version", []string{"-version"}, exitOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q lacks %q", stderr, tc.msg)
			}
			if tc.code == exitUsage && strings.Count(strings.TrimSpace(stderr), "\n") > 0 && !strings.Contains(tc.name, "flag") {
				t.Errorf("want one clear line, got:\n%s", stderr)
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	list := writeFile(t, "dispatcher.list", "1 sip:127.0.0.1:5071\n")
	t.Run("errors name file and line", func(t *testing.T) {
		for _, tc := range []struct{ content, msg string }{
			{"# comment\n\nno-equals-sign\n", ":3: want key = value"},
			{"listen = udp:127.0.0.1:0\nfrobnicate = 1\n", `:2: unknown key "frobnicate"`},
			{"workers = many\n", ":1: workers:"},
			{"config = other.conf\n", ":1:"},
		} {
			cf := writeFile(t, "sipfront.conf", tc.content)
			code, _, stderr := runCmd(t, nil, "-config", cf, "-dispatcher-list", list)
			if code != exitUsage || !strings.Contains(stderr, cf+tc.msg) {
				t.Errorf("%q: exit %d, stderr %q, want %q", tc.content, code, stderr, cf+tc.msg)
			}
		}
	})
	t.Run("file configures, flags override, SIGTERM-like stop exits 0", func(t *testing.T) {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		cf := writeFile(t, "sipfront.conf", fmt.Sprintf("# example\nlisten = udp:127.0.0.1:%d\ndispatcher-list = /nonexistent\nalg = round-robin\nworkers = 1\nrpc = 127.0.0.1:0\n", port))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		var errb syncBuffer
		go func() {
			done <- run([]string{"-config", cf, "-dispatcher-list", list, "-cookie-key", "k"}, &bytes.Buffer{}, &errb, ctx)
		}()
		// Wait until it listens, then stop it.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(errb.String(), "listening") {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("exit %d: %s", code, errb.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("did not stop")
		}
		if !strings.Contains(errb.String(), fmt.Sprintf("udp:127.0.0.1:%d", port)) {
			t.Errorf("did not listen where the file said: %s", errb.String())
		}
	})
}

func TestExampleConfigParses(t *testing.T) {
	// The commented example in the repository must stay valid.
	var o options
	fs := newFlagSet(&o, &bytes.Buffer{})
	if err := applyConfigFile(fs, "../../sipfront.conf.example"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.config(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

func TestDemo(t *testing.T) {
	code, out, stderr := runCmd(t, nil, "demo", "-calls", "5")
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "10 calls placed, 10 completed, 0 failed") {
		t.Errorf("demo output:\n%s", out)
	}
	after := out[strings.Index(out, "taken out"):]
	if strings.Contains(after, "INVITE → pbx-b") {
		t.Errorf("a call reached the back end that was taken out:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test to
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinaries builds sipfront and sipfrontctl into a temporary directory:
// the CLI test runs the real programs, as an operator would.
func buildBinaries(t *testing.T) (sipfront, sipfrontctl string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds two binaries; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the binaries")
	}
	dir := t.TempDir()
	sipfront, sipfrontctl = filepath.Join(dir, "sipfront"), filepath.Join(dir, "sipfrontctl")
	for _, b := range [][2]string{{sipfront, "."}, {sipfrontctl, "../sipfrontctl"}} {
		cmd := exec.Command(goTool, "build", "-o", b[0], b[1])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	return sipfront, sipfrontctl
}

var controlAddr = regexp.MustCompile(`msg="control API listening" addr=(\S+)`)

// optionsResponder is a back end that answers OPTIONS with 200, so that
// sipfront's prober keeps it active; it returns its host:port.
func optionsResponder(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			if !strings.HasPrefix(msg, "OPTIONS ") {
				continue
			}
			reply := "SIP/2.0 200 OK\r\n"
			for _, l := range strings.Split(msg, "\r\n")[1:] {
				name, _, _ := strings.Cut(l, ":")
				switch strings.ToLower(strings.TrimSpace(name)) {
				case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
					reply += l + "\r\n"
				}
			}
			c.WriteToUDPAddrPort([]byte(reply+"Content-Length: 0\r\n\r\n"), from)
		}
	}()
	return c.LocalAddr().String()
}

// TestSipfrontctlAgainstSipfront starts the sipfront binary with the control
// API on loopback and a token, and drives it with the sipfrontctl binary:
// the kamcmd-style output, -json, state changes, errors and their exit
// codes, a reload by RPC and one by SIGHUP, metrics, and a clean stop.
func TestSipfrontctlAgainstSipfront(t *testing.T) {
	sipfront, sipfrontctl := buildBinaries(t)
	const token = "ctl-test-token"
	// Two back ends that answer the prober (it runs by default), and
	// addresses nobody answers for the ones added later.
	pbxA, pbxB := "sip:"+optionsResponder(t), "sip:"+optionsResponder(t)
	list := writeFile(t, "dispatcher.list", "1 "+pbxA+" 0 0 duid=a;weight=50\n1 "+pbxB+"\n")

	var stderr syncBuffer
	d := exec.Command(sipfront, "-listen", "udp:127.0.0.1:0", "-dispatcher-list", list, "-workers", "1",
		"-cookie-key", "k", "-rpc", "127.0.0.1:0", "-rpc-token", token)
	d.Stderr = &stderr
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.Wait() }()
	defer func() {
		if d.ProcessState == nil {
			d.Process.Kill()
			<-exited
		}
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := controlAddr.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no control API address in the log:\n%s", stderr.String())
		}
	}

	ctl := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := exec.Command(sipfrontctl, append([]string{"-rpc", addr}, args...)...)
		cmd.Env = append(os.Environ(), "SIPFRONT_RPC_TOKEN="+token)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings, in order
		stderr string
	}{
		{"list", []string{"dispatcher.list"}, 0,
			[]string{"NRSETS: 1", "URI: " + pbxB, "FLAGS: A", "STATE: ", "URI: " + pbxA, "DUID: a", "WEIGHT: 50"}, ""},
		{"set_state", []string{"dispatcher.set_state", "i", "1", pbxA}, 0, []string{"Ok. Dispatcher state updated."}, ""},
		{"list json after set_state", []string{"-json", "dispatcher.list"}, 0,
			[]string{`{"jsonrpc":"2.0","result":{"NRSETS":1,`, `"URI":"` + pbxA + `","FLAGS":"I`, `"STATE":"inactive"`}, ""},
		{"bad state", []string{"dispatcher.set_state", "x", "1", pbxA}, 1, nil, "error: 500 - Unknown State Value\n"},
		{"unknown destination", []string{"dispatcher.set_state", "a", "1", "sip:127.0.0.1:9"}, 1, nil, "error: 500 - State Update Failed\n"},
		{"drain", []string{"dispatcher.drain", "1", pbxB}, 0, []string{"Ok. Dispatcher state updated."}, ""},
		{"add", []string{"dispatcher.add", "2", "sip:127.0.0.1:5180", "4", "3"}, 0, []string{"Ok. Dispatcher destination added."}, ""},
		{"list after drain and add", []string{"dispatcher.list"}, 0,
			[]string{"NRSETS: 2", "ID: 1", "URI: " + pbxB, "STATE: draining", "ID: 2", "URI: sip:127.0.0.1:5180", "FLAGS: DX", "PRIORITY: 3"}, ""},
		{"wrong token", []string{"-token", "nope", "core.version"}, 1, nil, "error: 401 - Unauthorized\n"},
		{"version", []string{"core.version"}, 0, []string{"sipfront dev ("}, ""},
		{"stats", []string{"stats.fetch", "core:"}, 0, []string{"core.rcv_requests: 0"}, ""},
		{"ping_active", []string{"dispatcher.ping_active"}, 0, []string{"OldPingState: 1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := ctl(tc.args...)
			if code != tc.code || errOut != tc.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q\nstdout:\n%s", code, errOut, tc.code, tc.stderr, out)
			}
			rest := out
			for _, s := range tc.stdout {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Errorf("stdout lacks %q (in order):\n%s", s, out)
					break
				}
				rest = rest[i+len(s):]
			}
		})
	}

	t.Run("reload by RPC", func(t *testing.T) {
		if err := os.WriteFile(list, []byte("1 "+pbxA+" 0 0 duid=a;weight=50\n1 sip:127.0.0.1:5173 4\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := ctl("dispatcher.reload")
		want := "Ok. Dispatcher successfully reloaded.\n+ set 1 sip:127.0.0.1:5173\n- set 1 " + pbxB + "\n"
		if code != 0 || out != want {
			t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %s", code, out, want, errOut)
		}
		// The state set before the reload stays; the run-time add stays.
		_, out, _ = ctl("-json", "dispatcher.list")
		for _, s := range []string{`"URI":"` + pbxA + `","FLAGS":"I`, `"URI":"sip:127.0.0.1:5180"`} {
			if !strings.Contains(out, s) {
				t.Errorf("after reload, no %s in %s", s, out)
			}
		}
	})
	t.Run("reload failure names file and line", func(t *testing.T) {
		if err := os.WriteFile(list, []byte("1 "+pbxA+"\n7\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := ctl("dispatcher.reload")
		if want := "error: 500 - Reload Failed: " + list + `:2:1: "7": set id without destination` + "\n"; code != 1 || errOut != want {
			t.Errorf("exit %d, stderr %q, want %q", code, errOut, want)
		}
	})
	t.Run("reload by SIGHUP", func(t *testing.T) {
		// pbxB comes back (a new destination, active, answering probes).
		if err := os.WriteFile(list, []byte("1 "+pbxB+"\n1 sip:127.0.0.1:5174 4\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			_, out, _ := ctl("-json", "dispatcher.list")
			if strings.Contains(out, `"URI":"sip:127.0.0.1:5174"`) && strings.Contains(out, `"URI":"`+pbxB+`"`) &&
				!strings.Contains(out, `"URI":"sip:127.0.0.1:5173"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SIGHUP did not reload: %s", out)
			}
		}
	})
	t.Run("metrics and healthz", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), `sipfront_dispatcher_reloads_total{result="ok"} 2`) {
			t.Errorf("/metrics %d:\n%s", resp.StatusCode, b.String())
		}
		resp, err = http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("/healthz %d", resp.StatusCode)
		}
	})

	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("sipfront exited with %v:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sipfront did not stop on SIGTERM")
	}
	if code, _, errOut := ctl("core.version"); code != 1 || !strings.Contains(errOut, "cannot connect") {
		t.Errorf("after stop: exit %d, %s", code, errOut)
	}
}

// TestRPCAddressInUse: a busy -rpc port ends sipfront with exit 1 and a last
// line that says what to do.
func TestRPCAddressInUse(t *testing.T) {
	busy, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	list := writeFile(t, "dispatcher.list", "1 sip:127.0.0.1:5071\n")
	code, _, stderr := runCmd(t, nil, "-listen", "udp:127.0.0.1:0", "-dispatcher-list", list, "-rpc", busy.Addr().String())
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != exitFailure || !strings.HasPrefix(last, "sipfront: ") || !strings.Contains(last, "address already in use") ||
		!strings.Contains(last, "-rpc off") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

package main

// The harness smoke test (`make test`): the sipfront daemon, built from this
// tree and run as a process, between sipbench's UAC and two sipbench UAS back
// ends for two seconds; then, when SIPp is installed, SIPp's UAC through the
// same sipfront, and sipbench's UAC against a SIPp back end. Every call must
// complete. The long sweeps are `make bench`.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildSipfront builds cmd/sipfront into dir.
func buildSipfront(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not in PATH: cannot build cmd/sipfront")
	}
	bin := filepath.Join(dir, "sipfront")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/sipfront/sipfront/cmd/sipfront").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cmd/sipfront: %v\n%s", err, out)
	}
	return bin
}

func freeUDPPort(t *testing.T) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// startSipfront runs the daemon and waits until it forwards: an OPTIONS sent
// through it comes back answered by a back end.
func startSipfront(t *testing.T, bin, list string) netip.AddrPort {
	t.Helper()
	var addr netip.AddrPort
	var cmd *exec.Cmd
	var logf *os.File
	for try := 0; try < 3; try++ { // the free port may be taken in between
		addr = freeUDPPort(t)
		var err error
		logf, err = os.Create(filepath.Join(t.TempDir(), "sipfront.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(bin, "-listen", "udp:"+addr.String(), "-dispatcher-list", list, "-cookie-key", "smoke", "-log-level", "warn", "-rpc", "off")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if waitForwarding(t, addr, 5*time.Second) {
			break
		}
		cmd.Process.Kill()
		cmd.Wait()
		cmd = nil
	}
	if cmd == nil {
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("sipfront did not start forwarding:\n%s", log)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				log, _ := os.ReadFile(logf.Name())
				t.Errorf("sipfront exit: %v\n%s", err, log)
			}
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Errorf("sipfront did not stop on SIGTERM")
		}
	})
	return addr
}

func waitForwarding(t *testing.T, addr netip.AddrPort, within time.Duration) bool {
	p := newPeer(t)
	deadline := time.Now().Add(within)
	for i := 0; time.Now().Before(deadline); i++ {
		opt := fmt.Sprintf("OPTIONS sip:probe@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;rport;branch=z9hG4bKready%d\r\nMax-Forwards: 70\r\n"+
			"From: <sip:smoke@127.0.0.1>;tag=r\r\nTo: <sip:probe@%s>\r\nCall-ID: ready%d@smoke\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			addr, p.addr(), i, addr, i)
		p.send([]byte(opt), addr)
		if g := p.recv(100 * time.Millisecond); g != nil && !g.m.IsRequest() && g.m.StatusCode() == 200 {
			return true
		}
	}
	return false
}

func writeList(t *testing.T, backends ...netip.AddrPort) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# smoke test back ends\n")
	for i, a := range backends {
		fmt.Fprintf(&b, "1 sip:%s 0 0 duid=uas%d\n", a, i)
	}
	p := filepath.Join(t.TempDir(), "dispatcher.list")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSmoke(t *testing.T) {
	bin := buildSipfront(t, t.TempDir())
	uas1 := startUAS(t, uasConfig{T1: 500 * time.Millisecond, T2: 4 * time.Second})
	uas2 := startUAS(t, uasConfig{T1: 500 * time.Millisecond, T2: 4 * time.Second})
	sf := startSipfront(t, bin, writeList(t, uas1, uas2))

	t.Run("sipbench", func(t *testing.T) {
		flows, _ := parseFlows("call=8,register=1,options=1")
		cfg := &uacConfig{Target: sf, Local: netip.MustParseAddr("127.0.0.1"), Workers: 2, Rate: 500, Count: 1000,
			Duration: 3 * time.Second, Hold: 100 * time.Millisecond, Drain: 3 * time.Second, T1: 500 * time.Millisecond,
			T2: 4 * time.Second, Weights: flows, Service: "1000", MaxOpen: 4096, Batch: 32, RunID: 0x5e}
		r, err := uacRun(cfg, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", r.line())
		if r.Attempted != 1000 || r.OK != 1000 || r.Failed != 0 {
			t.Errorf("attempted %d ok %d failed %d: failures %v codes %v", r.Attempted, r.OK, r.Failed, r.Failures, r.Codes)
		}
		if r.Flows["call"].OK != 800 || r.Latency["invite"].Count != 800 || r.Latency["bye"].Count != 800 ||
			r.Flows["register"].OK != 100 || r.Flows["options"].OK != 100 {
			t.Errorf("flows %v latency counts %d/%d", r.Flows, r.Latency["invite"].Count, r.Latency["bye"].Count)
		}
	})

	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Log("SIPp parts skipped: sipp not installed (apt-get install sip-tester)")
		return
	}
	scen, _ := filepath.Abs("../../bench/sipp")
	t.Run("sipp-uac", func(t *testing.T) {
		dir := t.TempDir()
		cmd := exec.Command(sipp, "-sf", filepath.Join(scen, "uac.xml"), "-i", "127.0.0.1", "-p", fmt.Sprint(freeUDPPort(t).Port()),
			"-m", "200", "-r", "200", "-d", "100", "-recv_timeout", "5000", "-timeout", "20", "-nostdin", "-trace_err",
			"-s", "1000", sf.String())
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil { // SIPp exits 0 only when every call succeeded
			errs, _ := filepath.Glob(filepath.Join(dir, "*errors*"))
			var detail []byte
			if len(errs) > 0 {
				detail, _ = os.ReadFile(errs[0])
			}
			t.Fatalf("sipp uac: %v\n%s\n%s", err, tail(out, 2000), tail(detail, 2000))
		}
	})
	t.Run("sipp-uas", func(t *testing.T) {
		port := freeUDPPort(t)
		cmd := exec.Command(sipp, "-sf", filepath.Join(scen, "uas.xml"), "-i", "127.0.0.1", "-p", fmt.Sprint(port.Port()),
			"-nostdin", "-timeout", "20")
		cmd.Dir = t.TempDir()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		list := writeList(t, port)
		sf2 := startSipfront(t, bin, list) // waits until SIPp answers the probe
		flows, _ := parseFlows("call")
		cfg := &uacConfig{Target: sf2, Local: netip.MustParseAddr("127.0.0.1"), Workers: 1, Rate: 200, Count: 200,
			Duration: 2 * time.Second, Hold: 50 * time.Millisecond, Drain: 3 * time.Second, T1: 500 * time.Millisecond,
			T2: 4 * time.Second, Weights: flows, Service: "1000", MaxOpen: 1024, Batch: 32, RunID: 0x5f}
		r, err := uacRun(cfg, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.OK != 200 || r.Failed != 0 {
			t.Errorf("sipbench uac against a SIPp back end: %s; failures %v", r.line(), r.Failures)
		}
	})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

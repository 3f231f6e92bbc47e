package lb

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freeUDPPort returns a UDP port that was free a moment ago on ip.
func freeUDPPort(t testing.TB, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startProcess runs a command until the test ends (killed at cleanup) and
// returns its combined output buffer.
func startProcess(t testing.TB, name string, args ...string) *syncBuffer {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group: Kamailio forks workers that would outlive a
	// signal to the main process and keep the output pipe open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return out
}

func needSIPp(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		t.Skip("sipp not installed (apt-get install sip-tester; .ci/run does it)")
	}
	return p
}

// TestSIPpCallsThroughSipfront runs SIPp as the phone and as two back ends:
// 200 calls (INVITE, 100, 180, 200, ACK, BYE, 200) through sipfront must all
// complete, spread over both back ends; the phone uses UDP, then TCP
// (`sipp -t t1`) with the back ends on UDP.
func TestSIPpCallsThroughSipfront(t *testing.T) {
	for _, tr := range []string{"u1", "t1"} {
		t.Run(tr, func(t *testing.T) { testSIPp(t, tr) })
	}
}

func testSIPp(t *testing.T, transport string) {
	sipp := needSIPp(t)
	const calls = 200
	var backends []netip.AddrPort
	var uasOut []*syncBuffer
	for i := 0; i < 2; i++ {
		port := freeUDPPort(t, "127.0.0.1")
		backends = append(backends, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
		uasOut = append(uasOut, startProcess(t, sipp, "-sf", "testdata/sipp/uas.xml", "-i", "127.0.0.1",
			"-p", fmt.Sprint(port), "-aa", "-nostdin", "-timeout", "30s", "-trace_screen",
			"-screen_file", filepath.Join(t.TempDir(), "uas.screen")))
	}
	time.Sleep(300 * time.Millisecond) // SIPp binds within this on every machine seen
	var list strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&list, "1 sip:%s\n", b)
	}
	se := startStreamEngine(t, "127.0.0.1", list.String(), StreamConfig{})
	e, lb := se.e, se.addr["udp"]
	if transport == "t1" {
		lb = se.addr["tcp"]
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	uac := exec.CommandContext(ctx, sipp, "-sf", "testdata/sipp/uac.xml", "-s", "1002", lb.String(), "-t", transport,
		"-i", "127.0.0.2", "-p", fmt.Sprint(freeUDPPort(t, "127.0.0.2")),
		"-m", fmt.Sprint(calls), "-r", "100", "-l", "50", "-nostdin",
		"-timeout", "40s", "-timeout_error", "-recv_timeout", "5000")
	var out bytes.Buffer
	uac.Stdout, uac.Stderr = &out, &out
	err := uac.Run()
	if err != nil {
		t.Fatalf("sipp uac: %v\n%s", err, tail(out.String(), 3000))
	}
	// SIPp exits 0 only when every call succeeded.
	if !strings.Contains(out.String(), "Successful call") {
		t.Fatalf("no call statistics:\n%s", tail(out.String(), 2000))
	}
	var total uint64
	for _, d := range e.Dispatcher().Current().Dests() {
		n := d.RT.Selected.Load()
		if n == 0 {
			t.Errorf("%s took no call", d.URI)
		}
		total += n
	}
	if total != calls {
		t.Errorf("%d INVITEs dispatched, want %d (retransmissions would show here too)", total, calls)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

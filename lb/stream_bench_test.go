package lb

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipfront/sipfront/parser"
)

// BenchmarkIdleTLSConnMemory opens 500 TLS connections to sipfront from a
// helper process (so only sipfront's side is in this process), lets them go
// idle, and reports sipfront's heap and stack growth per connection
// (bytes/conn). The target from issue 8: under 20 KB (Kamailio documents
// about 65 KB per idle TLS connection with OpenSSL).
func BenchmarkIdleTLSConnMemory(b *testing.B) {
	const n = 500
	uas := newPeer(b, "uas")
	se := startStreamEngine(b, "127.0.0.1", "1 sip:"+uas.addr.String()+"\n", StreamConfig{MaxConnsPerIP: n + 10})
	mem := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	for b.Loop() {
		before := mem()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTLSClients$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("SIPFRONT_TLS_CLIENTS=%s,%d", se.addr["tls"], n))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		ready := make([]byte, 5)
		if _, err := io.ReadFull(stdout, ready); err != nil || string(ready) != "ready" {
			b.Fatalf("helper: %q %v", ready, err)
		}
		time.Sleep(100 * time.Millisecond) // every server goroutine parked in Read
		if got := se.e.streams.connections(); got != n {
			b.Fatalf("%d connections open, want %d", got, n)
		}
		after := mem()
		b.ReportMetric(float64(after-before)/n, "bytes/conn")
		stdin.Close()
		cmd.Wait()
	}
}

// TestHelperTLSClients is the client side of BenchmarkIdleTLSConnMemory,
// run in its own process; a plain test run skips it.
func TestHelperTLSClients(t *testing.T) {
	spec := os.Getenv("SIPFRONT_TLS_CLIENTS")
	if spec == "" {
		t.Skip("helper process for BenchmarkIdleTLSConnMemory")
	}
	addr, count, _ := strings.Cut(spec, ",")
	n, _ := strconv.Atoi(count)
	to := netip.MustParseAddrPort(addr)
	var conns []net.Conn
	for i := 0; i < n; i++ {
		nc := dialTCP(t, "127.0.0.2", to)
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, tc)
	}
	os.Stdout.WriteString("ready")
	io.Copy(io.Discard, os.Stdin) // until the benchmark closes stdin
	for _, c := range conns {
		c.Close()
	}
}

// benchCalls places calls through sipfront over tr (udp, tcp or tls) from a
// phone in this process to a UDP back end in this process, and reports
// wall time and process CPU per call (user+system, all goroutines: the
// phone and the back end are counted too, so compare transports with each
// other, not with other tools).
func benchCalls(b *testing.B, tr string) {
	uas := newPeer(b, "uas")
	uas.serveUAS()
	se := startStreamEngine(b, "127.0.0.1", "1 sip:"+uas.addr.String()+"\n", StreamConfig{})
	token := strings.ToUpper(tr)
	var send func(string)
	var expect func(string, func(rx) bool) rx
	var from netip.AddrPort
	switch tr {
	case "udp":
		p := newPhone(b, "phone")
		from = p.addr
		send = func(m string) { p.send(se.addr["udp"], m) }
		expect = p.expect
	case "tcp", "tls":
		var nc net.Conn
		if tr == "tls" {
			nc = dialTLS(b, "127.0.0.2", se.addr["tls"], se.pool)
		} else {
			nc = dialTCP(b, "127.0.0.2", se.addr["tcp"])
		}
		p := newStreamPeer(b, nc)
		from = p.addr
		send = p.send
		expect = p.expect
	}
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	i := 0
	for b.Loop() {
		i++
		callID := fmt.Sprintf("bench-%s-%d", tr, i)
		send(invite(token, from, callID, ""))
		ok := expect("200", isStatus(200))
		routes := reversed(rrValues(ok))
		contact := "sip:uas@" + uas.addr.String()
		send(inDialog("ACK", token, from, contact, callID, 1, routes))
		send(inDialog("BYE", token, from, contact, callID, 2, routes))
		expect("200 to BYE", func(r rx) bool { return isStatus(200)(r) && strings.Contains(r.header(parser.KindCSeq), "BYE") })
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(cpu.Microseconds())/float64(i), "cpu-µs/call")
}

func BenchmarkCallUDP(b *testing.B) { benchCalls(b, "udp") }
func BenchmarkCallTCP(b *testing.B) { benchCalls(b, "tcp") }
func BenchmarkCallTLS(b *testing.B) { benchCalls(b, "tls") }

//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sipfront/sipfront/lb/sock"
)

// TestFloodTenOnlyInNetns: from the host's network namespace a 10/8 target
// is refused; from a namespace made here, a flood to 10/8 from a local 10/8
// range (ip route add local ... dev lo) is sent and arrives from every
// source.
func TestFloodTenOnlyInNetns(t *testing.T) {
	if isolatedNetns() {
		t.Skip("this test process already runs in a namespace of its own")
	}
	var out, errb bytes.Buffer
	code := run([]string{"flood", "-target", "10.0.0.1:5060", "-src", "10.1.0.1", "-duration", "1ms"}, &out, &errb, context.Background())
	if code != exitUsage || !strings.Contains(errb.String(), "network namespace") {
		t.Fatalf("10/8 target from the host namespace: exit %d, %q", code, errb.String())
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	ns := fmt.Sprintf("sbflood%d", os.Getpid()%100000)
	ip := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if o, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, o)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "addr", "add", "10.66.0.1/32", "dev", "lo")
	ip("-n", ns, "route", "add", "local", "10.67.0.0/24", "dev", "lo")

	// Everything below runs on one OS thread switched into the namespace
	// (sockets belong to the namespace of the thread that makes them).
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		if !isolatedNetns() {
			done <- fmt.Errorf("isolatedNetns is false inside %s", ns)
			return
		}
		done <- floodInto(t)
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// floodInto sends 300 datagrams from 30 sources of 10.67.0.0/24 to a socket
// on 10.66.0.1 and checks they all arrive from those sources.
func floodInto(t *testing.T) error {
	rx, err := sock.ListenUDP("udp4", netip.MustParseAddrPort("10.66.0.1:0"), sock.Options{RecvBuf: 4 << 20})
	if err != nil {
		return err
	}
	defer rx.Close()
	cfg := &floodConfig{Target: rx.LocalAddr(), Rate: 30000, Count: 300, Duration: 5 * time.Second, Sources: 30,
		SrcBase: netip.MustParseAddr("10.67.0.1"), Kind: kindScan, Batch: 16}
	res, err := floodRun(cfg, context.Background())
	if err != nil {
		return err
	}
	if res.Sent != 300 {
		return fmt.Errorf("sent %d of 300 (%d errors)", res.Sent, res.SendErrors)
	}
	b := sock.NewBatch(64, 2048)
	seen := map[netip.Addr]int{}
	n := 0
	rx.SetReadDeadline(time.Now().Add(2 * time.Second))
	for n < 300 {
		k, err := rx.ReadBatch(b)
		if err != nil {
			break
		}
		for i := 0; i < k; i++ {
			seen[b.Msgs[i].Addr.Addr()]++
		}
		n += k
	}
	if n != 300 || len(seen) != 30 {
		return fmt.Errorf("received %d datagrams from %d sources", n, len(seen))
	}
	for a, c := range seen {
		if !netip.MustParsePrefix("10.67.0.0/24").Contains(a) || c != 10 {
			return fmt.Errorf("source %v sent %d", a, c)
		}
	}
	return nil
}

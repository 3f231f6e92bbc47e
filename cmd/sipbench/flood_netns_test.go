//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/internal/netnstest"
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
	ns := netnstest.New(t, fmt.Sprintf("sbflood%d", os.Getpid()%100000))
	netnstest.IP(t, "-n", ns.Name, "addr", "add", "10.66.0.1/32", "dev", "lo")
	netnstest.IP(t, "-n", ns.Name, "route", "add", "local", "10.67.0.0/24", "dev", "lo")

	// Everything below runs on one OS thread switched into the namespace
	// (sockets belong to the namespace of the thread that makes them).
	err := ns.Do(func() error {
		if !isolatedNetns() {
			return fmt.Errorf("isolatedNetns is false inside %s", ns.Name)
		}
		return floodInto(t)
	})
	if err != nil {
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
	n, seen := receiveBySource(rx, 300)
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

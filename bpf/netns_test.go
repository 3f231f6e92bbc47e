//go:build linux

package bpf

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sipfront/sipfront/internal/netnstest"
)

// TestNetnsFlood attaches the filter to a veth in a namespace with a plain
// UDP listener behind it and sends from another namespace: a flood from 24
// addresses (IPv4 and IPv6), a scanner, a fast allow-listed peer and a slow
// ordinary one. The flood sources must end up banned and mostly dropped; the
// allow-listed and slow senders must get everything through.
func TestNetnsFlood(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if reason := hostCannotRunXDP(); reason != "" {
		t.Skip("XDP not available here: " + reason)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 not installed")
	}

	var rnd [3]byte
	rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	rx, tx := netnstest.New(t, "sfbpf-rx-"+tag), netnstest.New(t, "sfbpf-tx-"+tag)
	rxIf, txIf := "sfr"+tag, "sft"+tag
	netnstest.IP(t, "link", "add", rxIf, "netns", rx.Name, "type", "veth", "peer", "name", txIf, "netns", tx.Name)
	netnstest.IP(t, "-n", rx.Name, "addr", "add", "10.77.0.1/24", "dev", rxIf)
	netnstest.IP(t, "-n", rx.Name, "addr", "add", "fd77::1/64", "dev", rxIf, "nodad")
	netnstest.IP(t, "-n", rx.Name, "link", "set", rxIf, "up")

	var flood []netip.Addr
	for i := 0; i < 20; i++ {
		flood = append(flood, netip.AddrFrom4([4]byte{10, 77, 0, byte(10 + i)}))
	}
	for i := 0; i < 4; i++ {
		flood = append(flood, netip.MustParseAddr(fmt.Sprintf("fd77::%x", 0x10+i)))
	}
	slow, allowed, scanner := a("10.77.0.50"), a("fd77::60"), a("10.77.0.70")
	for _, src := range append(slices.Clone(flood), slow, allowed, scanner) {
		cidr := src.String() + "/24"
		args := []string{"-n", tx.Name, "addr", "add", cidr, "dev", txIf}
		if src.Is6() {
			args = []string{"-n", tx.Name, "addr", "add", src.String() + "/64", "dev", txIf, "nodad"}
		}
		netnstest.IP(t, args...)
	}
	netnstest.IP(t, "-n", tx.Name, "link", "set", txIf, "up")

	// The filter and the listener, in rx.
	const limit = 20
	cfg := Config{
		Ports:      []uint16{5060},
		Rate:       Rate{Packets: limit, Window: time.Second, Ban: time.Minute},
		Allow:      []netip.Prefix{netip.MustParsePrefix("fd77::60/128")},
		UserAgents: []string{"friendly-scanner"},
	}
	var (
		f    Filter
		conn *net.UDPConn
	)
	err := rx.Do(func() error {
		var err error
		if f, err = Open(ModeAuto, []string{rxIf}, cfg, newTestLogger(io.Discard)); err != nil {
			return err
		}
		conn, err = net.ListenUDP("udp", &net.UDPAddr{Port: 5060})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	defer conn.Close()
	x, ok := f.(*XDP)
	if !ok {
		t.Fatalf("Open(auto) on a veth gave %s", f.Mode())
	}
	t.Logf("attached: %+v", x.Attachments())
	// Room for everything that gets through, so the socket loses nothing.
	if rc, err := conn.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		})
	}

	var (
		mu  sync.Mutex
		got = map[netip.Addr]int{}
	)
	go func() {
		buf := make([]byte, 2048)
		for {
			conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got[from.Addr().Unmap()]++
			mu.Unlock()
		}
	}()

	// Senders, in tx: one socket per source address.
	socks := map[netip.Addr]*net.UDPConn{}
	err = tx.Do(func() error {
		for _, src := range append(slices.Clone(flood), slow, allowed, scanner) {
			dst := netip.MustParseAddr("10.77.0.1")
			if src.Is6() {
				dst = netip.MustParseAddr("fd77::1")
			}
			c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)),
				net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 5060)))
			if err != nil {
				return err
			}
			socks[src] = c
		}
		return nil
	})
	for _, c := range socks {
		defer c.Close()
	}
	if err != nil {
		t.Fatal(err)
	}

	const perFlood, allowedCount, slowCount, scannerCount = 200, 100, 10, 10
	var wg sync.WaitGroup
	send := func(src netip.Addr, n int, every time.Duration, payload []byte) {
		defer wg.Done()
		for i := 0; i < n; i++ {
			socks[src].Write(payload)
			if every > 0 {
				time.Sleep(every)
			}
		}
	}
	wg.Add(4)
	go func() {
		defer wg.Done()
		for i := 0; i < perFlood; i++ {
			for _, src := range flood {
				socks[src].Write(invite)
			}
		}
	}()
	go send(allowed, allowedCount, time.Millisecond, sipRequest("OPTIONS", "friendly-scanner"))
	go send(slow, slowCount, 80*time.Millisecond, registerReq)
	go send(scanner, scannerCount, 10*time.Millisecond, sipRequest("OPTIONS", "friendly-scanner"))
	wg.Wait()

	// Wait (bounded) for the expected deliveries.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		ready := got[allowed] == allowedCount && got[slow] == slowCount
		mu.Unlock()
		if ready {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	c, err := f.Counters()
	if err != nil {
		t.Fatal(err)
	}
	bans, err := f.AutoBans()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("counters %v; delivered %d from the allow-listed peer, %d from the slow one, %d from the scanner",
		c, got[allowed], got[slow], got[scanner])

	if got[allowed] != allowedCount {
		t.Errorf("allow-listed peer: %d of %d delivered", got[allowed], allowedCount)
	}
	if got[slow] != slowCount {
		t.Errorf("slow sender: %d of %d delivered", got[slow], slowCount)
	}
	if got[scanner] != 0 {
		t.Errorf("scanner: %d delivered", got[scanner])
	}
	var banned []netip.Addr
	for _, b := range bans {
		banned = append(banned, b.Addr)
	}
	if want := slices.SortedFunc(slices.Values(flood), netip.Addr.Compare); !slices.Equal(banned, want) {
		t.Errorf("automatic bans %v, want the flood sources %v", banned, want)
	}
	for _, src := range flood {
		if n := got[src]; n == 0 || n > limit {
			t.Errorf("flood source %s: %d delivered, want 1..%d", src, n, limit)
		}
	}
	if c[DroppedRate] != uint64(len(flood)) {
		t.Errorf("dropped_rate = %d, want one per flood source (%d)", c[DroppedRate], len(flood))
	}
	if c[DroppedBanned] < uint64(len(flood)*(perFlood/2)) {
		t.Errorf("dropped_banned = %d, want most of the flood", c[DroppedBanned])
	}
	if c[DroppedUserAgent] != scannerCount || c[Allowed] != allowedCount {
		t.Errorf("dropped_user_agent = %d, allowed = %d; want %d, %d", c[DroppedUserAgent], c[Allowed], scannerCount, allowedCount)
	}

	// Detached, a banned source gets through again.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	before := got[flood[0]]
	mu.Unlock()
	socks[flood[0]].Write(invite)
	deadline = time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := got[flood[0]]
		mu.Unlock()
		if n > before {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if got[flood[0]] != before+1 {
		t.Errorf("after Close, %s still blocked", flood[0])
	}
}

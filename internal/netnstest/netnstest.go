// Package netnstest makes named network namespaces for tests (ip netns add,
// removed when the test ends) and runs code inside them, so that tests of
// the XDP filter, the proxy and the flood generator can build veth pairs and
// 10/8 addresses without touching the host's network.
//
// It never decides whether a test can run: callers check for root and for
// iproute2 and skip with their own reason before calling New.
package netnstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// NS is a named network namespace made for one test.
type NS struct{ Name string }

// IP runs ip(8) with args and fails the test when it fails; every call is
// bounded by a timeout so that a wedged ip cannot stall the suite.
func IP(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
}

// New adds the namespace name with its loopback up, and deletes it (with
// the links inside) when the test ends.
func New(t testing.TB, name string) *NS {
	t.Helper()
	IP(t, "netns", "add", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		exec.CommandContext(ctx, "ip", "netns", "del", name).Run()
	})
	IP(t, "-n", name, "link", "set", "lo", "up")
	return &NS{name}
}

// Do runs fn on an OS thread switched into the namespace: sockets made and
// interfaces looked up inside belong to it, and keep doing so afterwards.
// The thread switches back even when fn ends its goroutine (t.Fatal,
// t.Skip); if it cannot, it stays locked, so the runtime retires it with
// the goroutine instead of reusing it in the wrong namespace.
func (n *NS) Do(fn func() error) (err error) {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + n.Name)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() {
		if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
			err = errors.Join(err, fmt.Errorf("netnstest: leaving namespace %s: %w", n.Name, serr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

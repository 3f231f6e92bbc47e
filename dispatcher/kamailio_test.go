package dispatcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKamailioAgrees loads list files into a real Kamailio 5.6 (when it is
// installed) and checks that every destination sipfront reads the way
// Kamailio does (no warning with a Kamailio note on its line) has the same
// set, URI, flags letters, priority and attrs body, in the same order; that
// every Kamailio destination sipfront lacks comes from a line sipfront
// reports as read differently; and that the files Kamailio refuses, sipfront
// refuses too.
func TestKamailioAgrees(t *testing.T) {
	kam, err1 := exec.LookPath("kamailio")
	kamcmd, err2 := exec.LookPath("kamcmd")
	if err1 != nil || err2 != nil {
		t.Skip("kamailio or kamcmd not installed")
	}
	mods := "/usr/lib/x86_64-linux-gnu/kamailio/modules"
	if _, err := os.Stat(filepath.Join(mods, "dispatcher.so")); err != nil {
		t.Skip("kamailio dispatcher module not found in " + mods)
	}
	files := []string{"basic", "crlf", "attrs-in-flags", "attrs", "order", "states", "transport",
		"duplicates", "negative", "hex-flags", "overflow", "bad-uri", "bom", "setid-alone", "ipv6", "comments-only"}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path, _ := filepath.Abs(filepath.Join("testdata/lists", name+".list"))
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			port := freeUDPPort(t)
			ours, warns, ourErr := Load(path, raw, Options{Check: likeKamailio(port)})
			kset, kerr := runKamailio(t, kam, kamcmd, mods, path, port)
			if (ourErr != nil) != (kerr != nil) {
				t.Fatalf("sipfront: %v; Kamailio: %v", ourErr, kerr)
			}
			if kerr != nil {
				return
			}
			lines := strings.Split(string(raw), "\n")
			differs := map[int]bool{}
			for _, w := range warns {
				if w.Kamailio != "" {
					differs[w.Line] = true
				}
			}
			type key struct {
				set int
				uri string
			}
			pending := map[key][]*Dest{}
			for _, d := range ours.Dests() {
				if !differs[d.Line] {
					pending[key{d.Set, d.URI}] = append(pending[key{d.Set, d.URI}], d)
				}
			}
			var matched []*Dest
			for _, k := range kset {
				ds := pending[key{k.set, k.uri}]
				if len(ds) == 0 {
					if !explained(k.uri, lines, differs) {
						t.Errorf("Kamailio has set %d %s, sipfront does not and gives no reason", k.set, k.uri)
					}
					continue
				}
				d := ds[0]
				pending[key{k.set, k.uri}] = ds[1:]
				matched = append(matched, d)
				body := "-"
				if d.Attrs.Present {
					body = d.Attrs.Body
				}
				if got := fmt.Sprintf("%s %d %s", d.State().KamailioFlags(), d.Priority, body); got != fmt.Sprintf("%s %d %s", k.flags, k.prio, k.body) {
					t.Errorf("set %d %s: sipfront %q, Kamailio %q", k.set, k.uri, got, fmt.Sprintf("%s %d %s", k.flags, k.prio, k.body))
				}
			}
			for k, ds := range pending {
				for _, d := range ds {
					t.Errorf("sipfront has set %d %s (line %d), Kamailio does not", k.set, k.uri, d.Line)
				}
			}
			// Same order within each set (Kamailio lists the sets themselves
			// in the order of its AVL tree; sipfront by id).
			for _, s := range ours.Sets() {
				var want, got []*Dest
				for _, d := range s.Dests() {
					for _, m := range matched {
						if m == d {
							want = append(want, d)
						}
					}
				}
				for _, m := range matched {
					if m.Set == s.ID() {
						got = append(got, m)
					}
				}
				for i := range want {
					if want[i] != got[i] {
						t.Errorf("set %d order differs at %d: sipfront %s, Kamailio %s", s.ID(), i, want[i].URI, got[i].URI)
						break
					}
				}
			}
		})
	}
}

// likeKamailio is the Check that makes sipfront skip what this Kamailio
// configuration skips: IPv6 (no IPv6 listener), a socket= that is not its
// listener, any sockname= (it has no named sockets).
func likeKamailio(port int) func(*Dest) error {
	return func(d *Dest) error {
		switch {
		case d.Addr.Addr().Is6():
			return errors.New("no IPv6 listener")
		case d.Attrs.Has&AttrSockName != 0:
			return errors.New("unknown sockname")
		case d.Attrs.Has&AttrSocket != 0 && d.Attrs.Socket != "udp:127.0.0.1:"+strconv.Itoa(port):
			return errors.New("not a local socket")
		}
		return nil
	}
}

// explained: a Kamailio destination sipfront lacks must come from a line
// that sipfront reported as read differently from Kamailio.
func explained(uri string, lines []string, differs map[int]bool) bool {
	for n := range differs {
		if n >= 1 && n <= len(lines) && (strings.Contains(lines[n-1], uri) ||
			strings.Contains(lines[n-1], strings.TrimPrefix(uri, "sip:"))) {
			return true
		}
	}
	return false
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

type kamDest struct {
	set        int
	uri, flags string
	prio       int
	body       string // "-" without ATTRS
}

// runKamailio starts Kamailio on list and returns its dispatcher.list, or
// an error when Kamailio refuses to start.
func runKamailio(t *testing.T, kam, kamcmd, mods, list string, port int) ([]kamDest, error) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl.sock")
	cfg := fmt.Sprintf(`#!KAMAILIO
debug=1
log_stderror=yes
listen=udp:127.0.0.1:%d
children=1
disable_tcp=yes
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=off
mpath="%s/"
loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "ctl.so"
loadmodule "dispatcher.so"
modparam("ctl", "binrpc", "unix:%s")
modparam("dispatcher", "list_file", "%s")
request_route { sl_send_reply("404", "Not Here"); }
`, port, mods, sock, list)
	cfgPath := filepath.Join(dir, "k.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kam, "-DD", "-E", "-f", cfgPath, "-Y", dir, "-P", filepath.Join(dir, "pid"), "-m", "32", "-M", "4")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	// Kamailio forks workers that inherit stderr: run it in a process group
	// of its own so that the cleanup ends them all, and bound the wait for
	// the stderr pipe in case one survives.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start kamailio: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pgid := cmd.Process.Pid
	defer func() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			done <- err
			return nil, fmt.Errorf("kamailio exited: %v", err)
		default:
		}
		if out, err := exec.CommandContext(ctx, kamcmd, "-s", "unix:"+sock, "dispatcher.list").CombinedOutput(); err == nil ||
			strings.Contains(string(out), "No Destination Sets") {
			return parseKamcmd(string(out)), nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio did not answer; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parseKamcmd reads kamcmd's rendering of dispatcher.list.
func parseKamcmd(out string) []kamDest {
	var ds []kamDest
	set := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), "\t ")
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "ID":
			set, _ = strconv.Atoi(value)
		case "URI":
			ds = append(ds, kamDest{set: set, uri: value, body: "-"})
		case "FLAGS":
			ds[len(ds)-1].flags = value
		case "PRIORITY":
			ds[len(ds)-1].prio, _ = strconv.Atoi(value)
		case "BODY":
			ds[len(ds)-1].body = value
		}
	}
	return ds
}

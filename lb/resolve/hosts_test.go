package resolve

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipfront/sipfront/lb/resolve/dnstest"
)

func TestParseHosts(t *testing.T) {
	a := netip.MustParseAddr
	got := ParseHosts([]byte("# comment\n127.0.0.1 localhost\n::1 localhost ip6-localhost # tail\n" +
		"10.0.0.5\tPBX1.lab.test pbx1 pbx1\n10.0.0.6 pbx1\nbogus name\n10.0.0.7\n::ffff:10.0.0.8 mapped.test bad..name\n" +
		"fe80::1%eth0 zoned.test\n"))
	want := Hosts{
		"localhost":     {a("127.0.0.1"), a("::1")},
		"ip6-localhost": {a("::1")},
		"pbx1.lab.test": {a("10.0.0.5")},
		"pbx1":          {a("10.0.0.5"), a("10.0.0.6")},
		"mapped.test":   {a("10.0.0.8")},
		"zoned.test":    {a("fe80::1%eth0")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// TestLookupHostsFirst: a name in the hosts file is answered from it,
// without DNS; the file is read again when it changes.
func TestLookupHostsFirst(t *testing.T) {
	srv := dnstest.Start(t)
	srv.Set(zone()...)
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte("10.0.0.9 lab-pbx.test\n2001:db8::9 lab-pbx.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newTestResolver(t, Config{HostsFile: path}, srv)
	for _, tc := range []struct {
		name string
		q    Query
		want []Target
	}{
		{"default port, IPv4 first", Query{Host: "LAB-PBX.test."}, []Target{
			tg("10.0.0.9:5060", UDP, 0, 0, "lab-pbx.test"), tg("[2001:db8::9]:5060", UDP, 0, 0, "lab-pbx.test")}},
		{"port and transport from the URI", Query{Host: "lab-pbx.test", Port: 5099, Transport: TCP}, []Target{
			tg("10.0.0.9:5099", TCP, 0, 0, "lab-pbx.test"), tg("[2001:db8::9]:5099", TCP, 0, 0, "lab-pbx.test")}},
		{"sips", Query{Host: "lab-pbx.test", Secure: true}, []Target{
			tg("10.0.0.9:5061", TLS, 0, 0, "lab-pbx.test"), tg("[2001:db8::9]:5061", TLS, 0, 0, "lab-pbx.test")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetQueries()
			res, err := r.Lookup(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if res.Method != ByHosts || res.TTL != hostsTTL || !slices.Equal(res.Targets, tc.want) {
				t.Errorf("got %+v", res)
			}
			if q := srv.Queries(); len(q) != 0 {
				t.Errorf("DNS asked %q", q)
			}
		})
	}
	// A name not in the file goes to DNS.
	if _, _, err := r.LookupHost(context.Background(), "pbx1.example.com"); err != nil {
		t.Fatal(err)
	}
	// The file changes: seen after the recheck interval.
	if err := os.WriteFile(path, []byte("10.0.0.10 lab-pbx.test other.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.hosts.mu.Lock()
	r.hosts.checked = time.Now().Add(-hostsRecheck)
	r.hosts.mu.Unlock()
	addrs, _, err := r.LookupHost(context.Background(), "lab-pbx.test")
	if err != nil || !slices.Equal(addrs, []netip.Addr{netip.MustParseAddr("10.0.0.10")}) {
		t.Errorf("after the change: %v, %v", addrs, err)
	}
}

// FuzzHosts: any input reads into valid names and addresses, and writing
// the result back as a hosts file reads into the same map.
func FuzzHosts(f *testing.F) {
	f.Add([]byte("127.0.0.1 localhost\n::1 localhost ip6-localhost\n"))
	f.Add([]byte("# c\n10.0.0.5\tPBX1.lab.test pbx1 # x\nfe80::1%eth0 z.test\n::ffff:1.2.3.4 m.test\n"))
	f.Add([]byte("bogus\n1.2.3.4\n1.2.3.4 bad..name ok.\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := ParseHosts(b)
		var out strings.Builder
		for name, addrs := range h {
			if name != strings.ToLower(name) || checkName(name) != nil {
				t.Fatalf("name %q", name)
			}
			if len(addrs) == 0 {
				t.Fatalf("%q without address", name)
			}
			for i, a := range addrs {
				if !a.IsValid() || a.Is4In6() || slices.Contains(addrs[:i], a) {
					t.Fatalf("%q: address %v", name, a)
				}
				out.WriteString(a.String() + " " + name + "\n")
			}
		}
		if again := ParseHosts([]byte(out.String())); !reflect.DeepEqual(again, h) {
			t.Fatalf("rendering reads back differently:\n%v\n%v", h, again)
		}
	})
}

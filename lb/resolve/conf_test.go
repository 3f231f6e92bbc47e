package resolve

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestParseResolvConf(t *testing.T) {
	ap := netip.MustParseAddrPort
	def := DefaultConfig()
	for _, tc := range []struct {
		name string
		text string
		want Config
	}{
		{"empty: glibc defaults", "", def},
		{
			"typical",
			"# generated\nnameserver 10.0.0.53\nnameserver 2001:db8::53\nsearch corp.test lab.test\noptions ndots:2 timeout:1 attempts:3 rotate\n",
			Config{Servers: []netip.AddrPort{ap("10.0.0.53:53"), ap("[2001:db8::53]:53")}, Search: []string{"corp.test.", "lab.test."},
				Ndots: 2, Timeout: time.Second, Attempts: 3, Rotate: true},
		},
		{
			"at most three servers, bad ones skipped, zones kept",
			"nameserver 1.1.1.1\nnameserver bogus\nnameserver fe80::1%eth0\nnameserver ::ffff:8.8.8.8\nnameserver 9.9.9.9\n",
			Config{Servers: []netip.AddrPort{ap("1.1.1.1:53"), netip.AddrPortFrom(netip.MustParseAddr("fe80::1%eth0"), 53), ap("8.8.8.8:53")},
				Ndots: 1, Timeout: 5 * time.Second, Attempts: 2},
		},
		{
			"domain and search: the last wins; domain takes one name",
			"search a.test b.test\ndomain c.test d.test\n",
			Config{Servers: def.Servers, Search: []string{"c.test."}, Ndots: 1, Timeout: 5 * time.Second, Attempts: 2},
		},
		{
			"search: bad names and comments dropped, at most six",
			"search a.test bad..name . b.test. c d e f g h ; i\n",
			Config{Servers: def.Servers, Search: []string{"a.test.", "b.test.", "c.", "d.", "e.", "f."}, Ndots: 1, Timeout: 5 * time.Second, Attempts: 2},
		},
		{
			"options clamped; malformed ignored; CRLF",
			"options ndots:99 timeout:0 attempts:77 use-vc\r\noptions ndots:x timeout: attempts:-1 edns0 trust-ad\r\n",
			Config{Servers: def.Servers, Ndots: 15, Timeout: time.Second, Attempts: 5, TCP: true},
		},
		{
			"comments: # and ; at the start of a line or word",
			"; nameserver 1.1.1.1\n  # nameserver 2.2.2.2\nnameserver 3.3.3.3 # trailing\n",
			Config{Servers: []netip.AddrPort{ap("3.3.3.3:53")}, Ndots: 1, Timeout: 5 * time.Second, Attempts: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseResolvConf([]byte(tc.text))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
			if again := ParseResolvConf([]byte(got.String())); !reflect.DeepEqual(again, got) {
				t.Errorf("String does not read back:\n%s\n%#v", got.String(), again)
			}
		})
	}
}

func TestReadResolvConf(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(p, []byte("nameserver 127.0.0.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadResolvConf(p)
	if err != nil || len(c.Servers) != 1 || c.Servers[0] != netip.MustParseAddrPort("127.0.0.53:53") {
		t.Errorf("got %+v, %v", c, err)
	}
	if c.HostsFile != SystemHosts {
		t.Errorf("HostsFile %q, want %q", c.HostsFile, SystemHosts)
	}
	c, err = ReadResolvConf(filepath.Join(dir, "missing"))
	want := DefaultConfig()
	want.HostsFile = SystemHosts
	if err == nil || !reflect.DeepEqual(c, want) {
		t.Errorf("missing file: got %+v, %v; want the defaults and an error", c, err)
	}
}

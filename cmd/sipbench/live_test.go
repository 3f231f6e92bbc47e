package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
)

func TestParseARP(t *testing.T) {
	const table = `IP address       HW type     Flags       HW address            Mask     Device
10.200.0.1       0x1         0x2         76:2e:01:aa:bb:cc     *        vethB
10.200.0.9       0x1         0x0         00:00:00:00:00:00     *        vethB
10.200.0.7       0x1         0x6         02:00:00:00:00:07     *        eth1
`
	for _, tc := range []struct {
		name, addr, mac, dev string
	}{
		{"complete entry", "10.200.0.1", "76:2e:01:aa:bb:cc", "vethB"},
		{"incomplete entry is none", "10.200.0.9", "", ""},
		{"complete and permanent", "10.200.0.7", "02:00:00:00:00:07", "eth1"},
		{"absent", "10.200.0.2", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mac, dev, err := parseARP(table, netip.MustParseAddr(tc.addr))
			if err != nil {
				t.Fatal(err)
			}
			if mac.String() != tc.mac || dev != tc.dev {
				t.Fatalf("got %q on %q, want %q on %q", mac, dev, tc.mac, tc.dev)
			}
		})
	}
}

func testLiveTarget() *liveTarget {
	return &liveTarget{ifindex: 7, srcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0xb}, dstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0xa}}
}

// TestLiveTemplates: every kind of the mix, templateVariants of each, each a
// well-formed frame (checksum, lengths, addresses) carrying what the socket
// flood sends for that kind.
func TestLiveTemplates(t *testing.T) {
	cfg := &floodConfig{Target: netip.MustParseAddrPort("10.200.0.1:5060"), SrcBase: netip.MustParseAddr("10.201.0.1"), Sources: 4, Kind: kindMix}
	lt := testLiveTarget()
	tmpl := liveTemplates(cfg, lt)
	if len(tmpl) != kindCount*templateVariants {
		t.Fatalf("%d templates, want %d", len(tmpl), kindCount*templateVariants)
	}
	var per [kindCount]int
	for i, tp := range tmpl {
		per[tp.kind]++
		if tp.kind != i%kindCount {
			t.Errorf("template %d is kind %d: the kinds must come in turn", i, tp.kind)
		}
		f := tp.frame
		if !bytes.Equal(f[0:6], lt.dstMAC) || !bytes.Equal(f[6:12], lt.srcMAC) || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
			t.Fatalf("template %d: Ethernet header % x", i, f[:14])
		}
		ip := f[14:34]
		if ipChecksum(ip) != 0 {
			t.Errorf("template %d: IPv4 checksum does not verify", i)
		}
		if int(binary.BigEndian.Uint16(ip[2:])) != len(f)-14 || int(binary.BigEndian.Uint16(f[38:])) != len(f)-34 {
			t.Errorf("template %d: IP or UDP length wrong", i)
		}
		if netip.AddrFrom4([4]byte(ip[12:16])) != cfg.SrcBase || netip.AddrFrom4([4]byte(ip[16:20])) != cfg.Target.Addr() ||
			binary.BigEndian.Uint16(f[36:]) != 5060 {
			t.Errorf("template %d: addresses", i)
		}
		payload := string(f[42:])
		switch tp.kind {
		case kindScan:
			if !strings.HasPrefix(payload, "OPTIONS ") || !strings.Contains(payload, "User-Agent: friendly-scanner") {
				t.Errorf("scan template: %q", payload)
			}
		case kindRegister:
			if !strings.HasPrefix(payload, "REGISTER ") {
				t.Errorf("register template: %q", payload)
			}
		case kindInvite:
			if !strings.HasPrefix(payload, "INVITE ") || !strings.Contains(payload, "User-Agent: pplsip") {
				t.Errorf("invite template: %q", payload)
			}
		}
	}
	for k, n := range per {
		if n != templateVariants {
			t.Errorf("kind %s: %d templates", floodKinds[k], n)
		}
	}
}

// TestLiveGenProgram runs livegen.c without live frames (BPF_PROG_TEST_RUN
// hands back the frame): it redirects, sets the sources in turn over the
// range, keeps the IPv4 checksum right from one frame to the next, and
// passes frames that do not come from the veth's address. Needs root (or
// CAP_BPF and CAP_NET_ADMIN).
func TestLiveGenProgram(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load a BPF program")
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Skip("cannot raise RLIMIT_MEMLOCK:", err)
	}
	lt := testLiveTarget()
	var objs livegenObjects
	if err := loadLivegenObjects(&objs, nil); err != nil {
		t.Skip("cannot load the generator program here:", err)
	}
	defer objs.Close()
	base := netip.MustParseAddr("10.201.255.254") // the range crosses 10.202.0.0
	b := base.As4()
	c := livegenLiveConfig{Ifindex: uint32(lt.ifindex), SrcBase: binary.BigEndian.Uint32(b[:]), Sources: 5}
	copy(c.Mac[:], lt.srcMAC)
	if err := objs.LiveConfig.Update(uint32(0), &c, ebpf.UpdateAny); err != nil {
		t.Fatal(err)
	}
	cfg := &floodConfig{Target: netip.MustParseAddrPort("10.200.0.1:5060"), SrcBase: base, Sources: 5, Kind: kindScan}
	frame := liveTemplates(cfg, lt)[0].frame
	out := make([]byte, len(frame)+256)
	for i := 0; i < 12; i++ {
		opts := &ebpf.RunOptions{Data: frame, DataOut: out}
		ret, err := objs.SipbenchLivegen.Run(opts)
		if err != nil {
			t.Fatal(err)
		}
		const xdpRedirect = 4
		if ret != xdpRedirect {
			t.Fatalf("frame %d: action %d, want XDP_REDIRECT", i, ret)
		}
		got := opts.DataOut
		want := nthAddr(base, i%5)
		if src := netip.AddrFrom4([4]byte(got[26:30])); src != want {
			t.Fatalf("frame %d: source %v, want %v", i, src, want)
		}
		if ipChecksum(got[14:34]) != 0 {
			t.Fatalf("frame %d: IPv4 checksum does not verify", i)
		}
		if !bytes.Equal(got[34:], frame[34:]) || !bytes.Equal(got[:24], frame[:24]) {
			t.Fatalf("frame %d: bytes other than the source and checksum changed", i)
		}
		frame = append([]byte(nil), got...) // the next run starts from this frame, as a live page may
	}
	other := append([]byte(nil), frame...)
	other[11] ^= 1 // not the veth's address: a loopback frame
	ret, err := objs.SipbenchLivegen.Run(&ebpf.RunOptions{Data: other})
	if err != nil {
		t.Fatal(err)
	}
	const xdpPass = 2
	if ret != xdpPass {
		t.Fatalf("foreign frame: action %d, want XDP_PASS", ret)
	}
}

// TestLiveRefused: outside a namespace of its own, xdp-live is refused
// before anything is loaded; so are a non-10/8 target and a missing -iface.
func TestLiveRefused(t *testing.T) {
	cfg := &floodConfig{Target: netip.MustParseAddrPort("10.200.0.1:5060"), SrcBase: netip.MustParseAddr("10.201.0.1"), Sources: 4}
	for _, tc := range []struct {
		name     string
		mod      func(c *floodConfig)
		iface    string
		isolated bool
		want     string
	}{
		{"host namespace", nil, "vethB", false, "network namespace"},
		{"loopback target", func(c *floodConfig) { c.Target = netip.MustParseAddrPort("127.0.0.1:5060") }, "vethB", true, "-target"},
		{"sources leave 10/8", func(c *floodConfig) { c.SrcBase = netip.MustParseAddr("10.255.255.254") }, "vethB", true, "-src"},
		{"no interface", nil, "", true, "-iface is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *cfg
			if tc.mod != nil {
				tc.mod(&c)
			}
			_, err := checkLiveTarget(&c, tc.iface, tc.isolated)
			if !errors.Is(err, errLiveRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a refusal naming %q", err, tc.want)
			}
		})
	}
	var out, errb bytes.Buffer
	if isolatedNetns() {
		t.Skip("this test process already runs in a namespace of its own")
	}
	code := run([]string{"flood", "-inject", "xdp-live", "-iface", "lo", "-target", "10.0.0.1:5060", "-src", "10.1.0.1", "-duration", "1ms"}, &out, &errb, context.Background())
	if code != exitUsage || !strings.Contains(errb.String(), "network namespace") {
		t.Fatalf("xdp-live from the host namespace: exit %d, %q", code, errb.String())
	}
}

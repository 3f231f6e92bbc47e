package main

// flood -inject xdp-live: the flood delivered to a veth as a NIC driver
// delivers received frames to XDP, without a socket buffer.
//
// The socket flood (flood.go) sends through UDP sockets: each datagram is a
// socket buffer built by the sender's stack, which the receiving veth's XDP
// path must copy into a page of its own (the socket left too little headroom)
// before the XDP program runs; a NIC never does that copy. Here the frames
// are made by the kernel from templates with BPF_PROG_TEST_RUN in live-frame
// mode (BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18+, as xdp-tools' xdp-trafficgen
// does): livegen.c sets each frame's source address and redirects it out of
// the veth named by -iface, whose ndo_xdp_xmit queues it on the peer as an
// xdp_frame. The peer runs its XDP program (sipfront's filter) on the frame in
// its NAPI poll, in softirq, as a NIC driver would; a frame it passes, or
// every frame when the peer has no program, becomes a socket buffer there and
// goes up the stack to the socket.
//
// The peer must have NAPI on its receive queue for ndo_xdp_xmit to accept
// frames: an XDP program attached, or GRO enabled (ethtool -K PEER gro on).
// Without either the kernel drops every frame (the veth counts them as
// xdp_xmit errors) and nothing arrives.
//
// Payloads are those of the socket flood (appendFlood), made once as
// templates: per kind, templateVariants messages, and -kind mix takes the
// kinds in turn, one template per test run of up to liveChunk frames. The
// sources cycle over -sources addresses from -src, one per frame, across
// templates. Sent counts the frames the program ran on; the peer's receipt is
// the caller's to measure (the filter's counters, ethtool -S on the veth).
//
// The same fence as the socket flood, tighter: only inside a network
// namespace other than the host's, only to a 10.0.0.0/8 target whose
// neighbour entry lies on -iface, and only out of a veth.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

const (
	// templateVariants is the number of messages made per kind.
	templateVariants = 8
	// liveChunk bounds the frames of one test run: the kernel sets up a
	// page pool per run, so runs of a few frames cost the generator more
	// system time per frame; a smaller chunk interleaves the kinds more
	// finely and keeps the pacing finer. Either way the receiving side sees
	// the same frames.
	liveChunk = 256
	// liveMinRun is the fewest frames a run is started with (but for the
	// last of -count): a paced thread waits until that many are due. Each
	// run registers a page pool under one of the kernel's 65534 XDP memory
	// model IDs, and when the peer passes frames up the stack (mode user)
	// the pool outlives the run until its pages come back from the
	// socket, a second or more; runs of a few frames each (20 frames every
	// 200 µs at 100k frames/s) then held tens of thousands of IDs and the
	// runs failed with ENOSPC, as would anything else on the host that
	// registers an XDP memory model meanwhile.
	liveMinRun = 256
	// liveBatch is the kernel's batch: frames made, run and flushed to the
	// veth before the next batch (at most 256).
	liveBatch = 64
	// bpfTestXDPLiveFrames is BPF_F_TEST_XDP_LIVE_FRAMES.
	bpfTestXDPLiveFrames = 1 << 1
	// liveSrcPort is the UDP source port of every frame.
	liveSrcPort = 40000
)

// liveTarget is where the frames go: the veth to send them out of and the
// addresses of its link.
type liveTarget struct {
	ifindex int
	srcMAC  net.HardwareAddr // the veth's own
	dstMAC  net.HardwareAddr // the target's, from the neighbour table
}

// errLiveRefused is wrapped by every refusal of the xdp-live checks.
var errLiveRefused = errors.New("sipbench flood: xdp-live refused")

// checkLiveTarget applies the fence of -inject xdp-live and finds the link
// addresses: a namespace of its own, a 10/8 target and sources, an interface
// whose driver is veth, and the target's neighbour entry on it.
func checkLiveTarget(cfg *floodConfig, iface string, isolated bool) (*liveTarget, error) {
	last := nthAddr(cfg.SrcBase, max(cfg.Sources, 1)-1)
	switch {
	case !isolated:
		return nil, fmt.Errorf("%w: only from a network namespace other than the host's", errLiveRefused)
	case !in10(cfg.Target.Addr()):
		return nil, fmt.Errorf("%w: -target must be in 10.0.0.0/8", errLiveRefused)
	case !in10(cfg.SrcBase) || !in10(last) || last.Less(cfg.SrcBase):
		return nil, fmt.Errorf("%w: -src and -sources must stay inside 10.0.0.0/8", errLiveRefused)
	case iface == "":
		return nil, fmt.Errorf("%w: -iface is required", errLiveRefused)
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("%w: -iface %q: %v", errLiveRefused, iface, err)
	}
	drv, err := ifaceDriver(iface)
	if err != nil {
		return nil, fmt.Errorf("%w: -iface %q: driver: %v", errLiveRefused, iface, err)
	}
	if drv != "veth" {
		return nil, fmt.Errorf("%w: -iface %q is a %s device, not a veth", errLiveRefused, iface, drv)
	}
	mac, err := resolveNeighbour(cfg.Target.Addr(), iface, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errLiveRefused, err)
	}
	return &liveTarget{ifindex: ifc.Index, srcMAC: ifc.HardwareAddr, dstMAC: mac}, nil
}

// ifaceDriver returns the driver name of an interface (ETHTOOL_GDRVINFO).
func ifaceDriver(iface string) (string, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	info, err := unix.IoctlGetEthtoolDrvinfo(fd, iface)
	if err != nil {
		return "", err
	}
	return unix.ByteSliceToString(info.Driver[:]), nil
}

// resolveNeighbour returns the link address of a on iface: from the
// neighbour table of this thread's namespace, after one datagram to the
// discard port makes the kernel resolve it when it has no entry yet.
func resolveNeighbour(a netip.Addr, iface string, wait time.Duration) (net.HardwareAddr, error) {
	deadline := time.Now().Add(wait)
	poked := false
	for {
		mac, dev, err := arpEntry(a)
		if err != nil {
			return nil, err
		}
		if mac != nil {
			if dev != iface {
				return nil, fmt.Errorf("target %s is reached through %s, not -iface %s", a, dev, iface)
			}
			return mac, nil
		}
		if !poked {
			poked = true
			if err := pokeNeighbour(a); err != nil {
				return nil, err
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no neighbour entry for %s on %s", a, iface)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pokeNeighbour sends one empty datagram to a's discard port (9).
func pokeNeighbour(a netip.Addr) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, nil, 0, &unix.SockaddrInet4{Port: 9, Addr: a.As4()}); err != nil {
		return fmt.Errorf("resolving %s: %w", a, err)
	}
	return nil
}

// arpEntry reads the complete neighbour entry of a from this thread's
// namespace (/proc/thread-self/net/arp): its link address and device, nil
// when there is none yet.
func arpEntry(a netip.Addr) (net.HardwareAddr, string, error) {
	b, err := os.ReadFile("/proc/thread-self/net/arp")
	if err != nil {
		return nil, "", err
	}
	return parseARP(string(b), a)
}

// parseARP finds a in the text of /proc/net/arp ("IP address  HW type
// Flags  HW address  Mask  Device"); only complete entries (flag 0x2) count.
func parseARP(text string, a netip.Addr) (net.HardwareAddr, string, error) {
	for _, line := range strings.Split(text, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 6 || f[0] != a.String() {
			continue
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32)
		if err != nil || flags&0x2 == 0 {
			continue
		}
		mac, err := net.ParseMAC(f[3])
		if err != nil {
			return nil, "", fmt.Errorf("neighbour entry of %s: %v", a, err)
		}
		return mac, f[5], nil
	}
	return nil, "", nil
}

// liveTemplate is one frame the generator repeats.
type liveTemplate struct {
	kind  int
	frame []byte
}

// liveTemplates makes the frames: per kind (all kinds in turn for mix),
// templateVariants payloads of the socket flood, each in an Ethernet, IPv4
// and UDP header from the first source to the target. The IPv4 checksum is
// right for the first source; the program updates it per frame. The UDP
// checksum is 0 (none, allowed for IPv4).
func liveTemplates(cfg *floodConfig, lt *liveTarget) []liveTemplate {
	kinds := []int{cfg.Kind}
	if cfg.Kind == kindMix {
		kinds = kinds[:0]
		for k := 0; k < kindCount; k++ {
			kinds = append(kinds, k)
		}
	}
	src := netip.AddrPortFrom(cfg.SrcBase, liveSrcPort)
	rnd := uint64(0x9e3779b97f4a7c15)
	var out []liveTemplate
	for v := 0; v < templateVariants; v++ {
		for _, k := range kinds {
			payload := appendFlood(nil, k, uint64(v*kindCount+k), src, cfg.Target, &rnd)
			out = append(out, liveTemplate{kind: k, frame: udpFrame(lt, src, cfg.Target, payload)})
		}
	}
	return out
}

// udpFrame builds an Ethernet + IPv4 (no options, DF) + UDP frame.
func udpFrame(lt *liveTarget, src, dst netip.AddrPort, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f[0:6], lt.dstMAC)
	copy(f[6:12], lt.srcMAC)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8] = 64
	ip[9] = 17
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	udp := f[34:42]
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(f[42:], payload)
	return f
}

// ipChecksum is the IPv4 header checksum of h (its checksum field zero).
func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// liveGen is the loaded generator program.
type liveGen struct {
	objs livegenObjects
	hold link.Link
}

// loadLiveGen loads livegen.c, points it at the veth and source range, and
// attaches it in generic mode to the namespace's loopback.
//
// Why the loopback: a test run with a repeat count adds the program to the
// kernel's XDP dispatcher before the run and takes it out after, and each
// change of the dispatcher waits for an RCU grace period (synchronize_rcu,
// 20 to 60 ms here), so every run would cost tens of milliseconds of
// waiting whatever its size. An attachment keeps the program in the
// dispatcher for the whole flood, and runs then cost only their frames. On
// the loopback the program sees only loopback frames, which never carry the
// veth's MAC address, and passes them untouched. The attachment goes with
// the process (an XDP link).
func loadLiveGen(lt *liveTarget, base netip.Addr, sources int) (*liveGen, error) {
	g := &liveGen{}
	if err := loadLivegenObjects(&g.objs, nil); err != nil {
		return nil, fmt.Errorf("load the generator program: %w", err)
	}
	b := base.As4()
	c := livegenLiveConfig{Ifindex: uint32(lt.ifindex), SrcBase: binary.BigEndian.Uint32(b[:]), Sources: uint32(sources)}
	copy(c.Mac[:], lt.srcMAC)
	if err := g.objs.LiveConfig.Update(uint32(0), &c, ebpf.UpdateAny); err != nil {
		g.close()
		return nil, fmt.Errorf("configure the generator program: %w", err)
	}
	lo, err := loopback()
	if err != nil {
		g.close()
		return nil, err
	}
	if g.hold, err = link.AttachXDP(link.XDPOptions{Program: g.objs.SipbenchLivegen, Interface: lo.Index, Flags: link.XDPGenericMode}); err != nil {
		g.close()
		return nil, fmt.Errorf("attach the generator program to %s (generic mode): %w", lo.Name, err)
	}
	return g, nil
}

// loopback finds the loopback interface of this thread's namespace.
func loopback() (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for i := range ifs {
		if ifs[i].Flags&net.FlagLoopback != 0 {
			return &ifs[i], nil
		}
	}
	return nil, errors.New("no loopback interface in this namespace")
}

func (g *liveGen) close() {
	if g.hold != nil {
		g.hold.Close()
	}
	g.objs.Close()
}

// made is the number of frames the program has redirected so far, summed
// over the CPUs (live_count).
//
// It is the count to report, not the sum of the runs asked for: a test run
// interrupted by a signal returns EINTR after sending part of its frames,
// and the library runs it again from the start, so the runs' sizes miss the
// frames of the interrupted part (about one run in 30000 here).
func (g *liveGen) made() (uint64, error) {
	var per []uint64
	if err := g.objs.LiveCount.Lookup(uint32(0), &per); err != nil {
		return 0, fmt.Errorf("read the generator's frame count: %w", err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n, nil
}

// send runs the program on n frames made from frame, in live-frame mode.
func (g *liveGen) send(frame []byte, n int) error {
	_, err := g.objs.SipbenchLivegen.Run(&ebpf.RunOptions{Data: frame, Repeat: uint32(n),
		Flags: bpfTestXDPLiveFrames, BatchSize: liveBatch})
	if err != nil {
		return fmt.Errorf("BPF_PROG_TEST_RUN (live frames): %w", err)
	}
	return nil
}

// liveRun sends the flood through the generator: cfg.Rate frames per second
// in all, cfg.Count in all, for at most cfg.Duration, from threads OS
// threads (thread i pinned to CPU i mod the CPU count when threads > 1),
// each paced in runs of liveMinRun to liveChunk frames (fewer only for the
// last of the count).
func liveRun(cfg *floodConfig, iface string, threads int, stop context.Context) (*floodResult, error) {
	lt, err := checkLiveTarget(cfg, iface, isolatedNetns())
	if err != nil {
		return nil, err
	}
	g, err := loadLiveGen(lt, cfg.SrcBase, cfg.Sources)
	if err != nil {
		return nil, err
	}
	defer g.close()
	tmpl := liveTemplates(cfg, lt)
	// Worker threads join this thread's network namespace: a test run
	// redirects by interface index in the namespace of the thread.
	ns, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	type share struct {
		byKind [kindCount]uint64
		sent   uint64
		runs   uint64
		err    error
	}
	shares := make([]share, threads)
	start := time.Now()
	var wg sync.WaitGroup
	for t := range shares {
		sh := &shares[t]
		count := uint64(cfg.Count) / uint64(threads)
		if t < int(uint64(cfg.Count)%uint64(threads)) {
			count++
		}
		rate := cfg.Rate / float64(threads)
		work := func() {
			for sh.sent < count {
				now := time.Now()
				el := now.Sub(start)
				if el >= cfg.Duration || stop.Err() != nil {
					return
				}
				due := min(uint64(rate*el.Seconds()), count)
				if due <= sh.sent || due-sh.sent < liveMinRun && due < count {
					time.Sleep(200 * time.Microsecond)
					continue
				}
				// one run, then the clock again: a thread that falls
				// behind (the peer's receive work runs inline in its
				// runs) must still stop at -duration, not send its whole
				// backlog first
				tp := &tmpl[(int(sh.runs)+t*len(tmpl)/threads)%len(tmpl)] // threads start at different templates
				n := min(due-sh.sent, liveChunk)
				if sh.err = g.send(tp.frame, int(n)); sh.err != nil {
					return
				}
				sh.sent += n
				sh.byKind[tp.kind] += n
				sh.runs++
			}
		}
		if threads == 1 {
			work()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine, namespace and all
			if sh.err = unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); sh.err != nil {
				return
			}
			var set unix.CPUSet
			set.Set(t % runtime.NumCPU())
			if sh.err = unix.SchedSetaffinity(0, &set); sh.err != nil {
				return
			}
			work()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	res := &floodResult{Mode: "flood", Inject: "xdp-live", Target: cfg.Target.String(), Sources: cfg.Sources,
		ElapsedS: el.Seconds(), ByKind: map[string]uint64{}}
	var byKind [kindCount]uint64
	for i := range shares {
		sh := &shares[i]
		if sh.err != nil {
			return nil, sh.err
		}
		res.Sent += sh.sent
		res.Runs += sh.runs
		for k, n := range sh.byKind {
			byKind[k] += n
		}
	}
	if made, err := g.made(); err != nil {
		return nil, err
	} else if made > res.Sent {
		res.Sent = made
	}
	if el > 0 {
		res.Rate = float64(res.Sent) / el.Seconds()
	}
	for k, n := range byKind {
		if n > 0 {
			res.ByKind[floodKinds[k]] = n
		}
	}
	return res, nil
}

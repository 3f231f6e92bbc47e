package main

// relay: the benchmark's floor. It forwards datagrams between clients and
// back ends without reading a byte of them, so whatever a SIP proxy costs on
// top of it is the cost of being a proxy.
//
// Without parsing, the only way to route answers back is by address, as a NAT
// does: every client address (IP and port) gets its own upstream socket and a
// back end (round robin over new clients); what arrives from the client is
// sent from that socket to its back end, what arrives on that socket goes back
// to the client from the listen address. In-dialog requests and their answers
// therefore always cross the same back end as the client's first message.
//
// Listen sockets: one per worker (SO_REUSEPORT), each read by its worker with
// recvmmsg and sent on with sendmmsg straight from the receive buffers (no
// copy). Each upstream socket has a goroutine that does the reverse, one per
// client address (not per message).

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sipfront/sipfront/lb/sock"
)

type relayConfig struct {
	Listen   netip.AddrPort
	Backends []netip.AddrPort
	Workers  int
	Batch    int
	MaxFlows int
}

type relayFlow struct {
	client  netip.AddrPort
	backend netip.AddrPort
	up      *sock.Conn
}

type relay struct {
	cfg     *relayConfig
	listen  []*sock.Conn
	mu      sync.Mutex // guards flows and next on the slow path (new client)
	flows   []*relayFlow
	next    int
	wg      sync.WaitGroup
	fwd     atomic.Uint64
	back    atomic.Uint64
	dropped atomic.Uint64
}

// flowTable is a worker's open-addressing table of the flows it has seen.
type flowTable struct {
	keys  []netip.AddrPort
	flows []*relayFlow
	mask  uint64
	n     int
}

func newFlowTable(size int) *flowTable {
	s := 16
	for s < 2*size {
		s <<= 1
	}
	return &flowTable{keys: make([]netip.AddrPort, s), flows: make([]*relayFlow, s), mask: uint64(s - 1)}
}

func addrHash(a netip.AddrPort) uint64 {
	b := a.Addr().As16()
	h := uint64(a.Port()) * 0x9e3779b97f4a7c15
	for _, c := range b[8:] {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h ^ h>>29
}

func (t *flowTable) get(a netip.AddrPort) *relayFlow {
	for i := addrHash(a) & t.mask; ; i = (i + 1) & t.mask {
		f := t.flows[i]
		if f == nil || t.keys[i] == a {
			return f
		}
	}
}

func (t *flowTable) put(a netip.AddrPort, f *relayFlow) {
	i := addrHash(a) & t.mask
	for t.flows[i] != nil {
		i = (i + 1) & t.mask
	}
	t.keys[i], t.flows[i] = a, f
	t.n++
}

// newFlow opens the upstream socket for a client and starts its reader.
func (r *relay) newFlow(client netip.AddrPort, listen *sock.Conn) (*relayFlow, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.flows { // another worker may have made it
		if f.client == client {
			return f, nil
		}
	}
	if len(r.flows) >= r.cfg.MaxFlows {
		return nil, errors.New("sipbench relay: too many client addresses")
	}
	up, err := sock.ListenUDP("udp", netip.AddrPortFrom(r.cfg.Listen.Addr(), 0), sock.Options{RecvBuf: 8 << 20, SendBuf: 8 << 20})
	if err != nil {
		return nil, err
	}
	f := &relayFlow{client: client, backend: r.cfg.Backends[r.next%len(r.cfg.Backends)], up: up}
	r.next++
	r.flows = append(r.flows, f)
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.upstream(f, listen) }()
	return f, nil
}

// upstream relays what the back end sends on a flow's socket to its client.
func (r *relay) upstream(f *relayFlow, listen *sock.Conn) {
	b := sock.NewBatch(r.cfg.Batch, 65536/8)
	for {
		n, err := f.up.ReadBatch(b)
		if err != nil {
			return
		}
		for i := 0; i < n; i++ {
			b.Msgs[i].Addr = f.client
			b.Msgs[i].Local = netip.Addr{}
		}
		k, err := listen.WriteBatch(b, n)
		r.back.Add(uint64(k))
		if k < n {
			r.dropped.Add(uint64(n - k))
		}
		if err != nil {
			return
		}
	}
}

// worker relays what clients send to the listen socket.
func (r *relay) worker(listen *sock.Conn) error {
	in := sock.NewBatch(r.cfg.Batch, 65536/8)
	out := sock.NewBatch(r.cfg.Batch, 0)
	table := newFlowTable(r.cfg.MaxFlows)
	for {
		n, err := listen.ReadBatch(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		var cur *relayFlow
		k := 0
		send := func() {
			if k > 0 {
				sent, _ := cur.up.WriteBatch(out, k)
				r.fwd.Add(uint64(sent))
				if sent < k {
					r.dropped.Add(uint64(k - sent))
				}
				k = 0
			}
		}
		for i := 0; i < n; i++ {
			m := &in.Msgs[i]
			f := table.get(m.Addr)
			if f == nil {
				if f, err = r.newFlow(m.Addr, listen); err != nil {
					r.dropped.Add(1)
					continue
				}
				table.put(m.Addr, f)
			}
			if f != cur {
				send()
				cur = f
			}
			o := &out.Msgs[k]
			o.Buf = m.Buf[:m.N]
			o.N = m.N
			o.Addr = f.backend
			k++
		}
		send()
	}
}

func (r *relay) close() {
	for _, c := range r.listen {
		c.Close()
	}
	r.mu.Lock()
	for _, f := range r.flows {
		f.up.Close()
	}
	r.mu.Unlock()
}

// readBackends takes the destinations of a Kamailio-format dispatcher.list
// (second field of each line, "sip:IP:PORT"), as the harness gives every
// subject the same file.
func readBackends(path string) ([]netip.AddrPort, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.AddrPort
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		uri := strings.TrimPrefix(fields[1], "sip:")
		if i := strings.IndexByte(uri, ';'); i >= 0 {
			uri = uri[:i]
		}
		ap, err := netip.ParseAddrPort(uri)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q: want sip:IP:PORT", path, line, fields[1])
		}
		out = append(out, ap)
	}
	return out, sc.Err()
}

func runRelay(args []string, stdout, stderr io.Writer, stop context.Context) int {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg relayConfig
	var backends addrList
	listen := fs.String("listen", "127.0.0.1:5060", "`IP:PORT` clients send to (udp:IP:PORT accepted)")
	fs.Var(&backends, "backends", "back end `IP:PORT` list, comma separated (or -dispatcher-list)")
	list := fs.String("dispatcher-list", "", "take the back ends from a Kamailio-format list `FILE`")
	fs.IntVar(&cfg.Workers, "workers", 1, "listen sockets (SO_REUSEPORT), one goroutine each")
	fs.IntVar(&cfg.Batch, "batch", 32, "datagrams per recvmmsg/sendmmsg")
	fs.IntVar(&cfg.MaxFlows, "max-flows", 4096, "client addresses relayed at most")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sipbench relay: "+format+"\n", a...)
		return exitUsage
	}
	var err error
	if cfg.Listen, err = parseAddr(*listen); err != nil {
		return fail("-listen %v", err)
	}
	cfg.Backends = backends
	if *list != "" {
		more, err := readBackends(*list)
		if err != nil {
			return fail("%v", err)
		}
		cfg.Backends = append(cfg.Backends, more...)
	}
	switch {
	case len(cfg.Backends) == 0:
		return fail("no back ends (-backends or -dispatcher-list)")
	case cfg.Workers < 1 || cfg.Workers > 64:
		return fail("-workers must be 1..64")
	case cfg.Batch < 1 || cfg.Batch > 1024:
		return fail("-batch must be 1..1024")
	case cfg.MaxFlows < 1 || cfg.MaxFlows > 1<<16:
		return fail("-max-flows must be 1..65536")
	}
	r, err := startRelay(&cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sipbench relay: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "sipbench relay: %s -> %v, %d workers\n", r.listen[0].LocalAddr(), cfg.Backends, cfg.Workers)
	err = r.wait(stop)
	fmt.Fprintf(stderr, "sipbench relay: forwarded %d, returned %d, dropped %d\n", r.fwd.Load(), r.back.Load(), r.dropped.Load())
	if err != nil {
		fmt.Fprintf(stderr, "sipbench relay: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func startRelay(cfg *relayConfig) (*relay, error) {
	r := &relay{cfg: cfg}
	addr := cfg.Listen
	for i := 0; i < cfg.Workers; i++ {
		c, err := sock.ListenUDP("udp", addr, sock.Options{ReusePort: cfg.Workers > 1, RecvBuf: 8 << 20, SendBuf: 8 << 20})
		if err != nil {
			r.close()
			return nil, err
		}
		addr = c.LocalAddr()
		r.listen = append(r.listen, c)
	}
	return r, nil
}

// wait runs the workers until stop ends, then closes everything.
func (r *relay) wait(stop context.Context) error {
	errs := make(chan error, len(r.listen))
	for _, c := range r.listen {
		go func() { errs <- r.worker(c) }()
	}
	var first error
	got := 0
	select {
	case <-stop.Done():
	case first = <-errs:
		got = 1
	}
	r.close()
	for ; got < len(r.listen); got++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	r.wg.Wait()
	return first
}

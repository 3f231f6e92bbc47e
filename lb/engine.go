package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipfront/sipfront/dispatcher"
	"github.com/sipfront/sipfront/health"
	"github.com/sipfront/sipfront/lb/sock"
	"github.com/sipfront/sipfront/parser"
)

// Engine is a running sipfront: the destination table, the sockets and their
// workers. New opens everything (so errors surface before Run), Run serves
// until its context ends, then closes the sockets and waits for the workers.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	disp    *dispatcher.Dispatcher
	key     sipKey
	self    selfAddrs
	idents  [trMax][]*ident // our listeners per transport, in -listen order
	hasUDP  bool
	workers []*udpWorker
	streams *streamSet
	prober  *health.Prober // nil when probing is off
	filter  filterState
	stats   []*workerStats // one per UDP worker, plus one shared by stream connections
	started time.Time

	closeOnce sync.Once
}

// New validates cfg, loads the destination list and opens the sockets. A
// list that cannot be loaded returns its *dispatcher.ParseError.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	e := &Engine{cfg: cfg, log: cfg.Logger, started: time.Now()}
	opts := dispatcher.Options{Strict: cfg.Strict, Logger: cfg.Logger, Resolve: cfg.Resolve, DNS: cfg.DNS}
	tbl, warns, err := dispatcher.LoadFile(cfg.DispatcherList, opts)
	if err != nil {
		return nil, err
	}
	for _, w := range warns {
		e.log.Warn(w.String())
	}
	if len(tbl.Sets()) == 0 {
		e.log.Warn("dispatcher: no destination sets loaded; requests will get 503", "file", cfg.DispatcherList)
	} else if tbl.Set(cfg.Set) == nil {
		e.log.Warn("dispatcher: the selected set is not in the list; requests will get 503", "set", cfg.Set)
	}
	e.disp = dispatcher.New(tbl, opts)
	if cfg.CookieKey == "" {
		e.log.Warn("no cookie key configured: a random one is used, so dialogs do not survive a restart and copies cannot share them (set -cookie-key)")
	}
	e.key = newKey(cfg.CookieKey)
	e.streams = newStreamSet(e)
	if err := e.open(); err != nil {
		e.close()
		return nil, err
	}
	var bound []netip.AddrPort
	for tr := range e.idents {
		for _, id := range e.idents[tr] {
			bound = append(bound, id.addr)
			if cfg.Advertise.IsValid() {
				bound = append(bound, netip.AddrPortFrom(cfg.Advertise.Addr(), id.addr.Port()))
			}
		}
	}
	if e.self, err = newSelf(bound, cfg.Advertise); err != nil {
		e.close()
		return nil, err
	}
	if err := e.newProber(); err != nil {
		e.close()
		return nil, err
	}
	if err := e.openFilter(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// open binds every listen address: Workers SO_REUSEPORT sockets per UDP
// address, Workers SO_REUSEPORT listeners per TCP/TLS address. With port 0
// the first socket picks the port and the others bind the same one.
func (e *Engine) open() error {
	for _, l := range e.cfg.Listen {
		var id *ident
		var err error
		switch l.Transport {
		case "udp":
			id, err = e.openUDP(l)
			e.hasUDP = true
		case "tcp":
			id, err = e.streams.listen(trTCP, l.Addr)
		case "tls":
			id, err = e.streams.listen(trTLS, l.Addr)
		}
		if err != nil {
			return fmt.Errorf("listen %s: %w", l, err)
		}
		switch {
		case e.cfg.Advertise.IsValid():
			// The advertised address, with the advertised port for UDP and
			// the listener's own port for TCP and TLS.
			port := id.addr.Port()
			if id.tr == trUDP {
				port = e.cfg.Advertise.Port()
			}
			id.fixed = []byte(netip.AddrPortFrom(e.cfg.Advertise.Addr(), port).String())
		case !id.addr.Addr().IsUnspecified():
			id.fixed = []byte(id.addr.String())
		}
		e.idents[id.tr] = append(e.idents[id.tr], id)
		e.log.Info("listening", "addr", l.Transport+":"+id.addr.String(), "workers", e.cfg.Workers)
	}
	e.stats = append(e.stats, e.streams.st)
	return nil
}

func (e *Engine) openUDP(l Listen) (*ident, error) {
	id := &ident{tr: trUDP, addr: l.Addr}
	for i := 0; i < e.cfg.Workers; i++ {
		c, err := sock.ListenUDP("udp", id.addr, sock.Options{
			ReusePort: true,
			RecvBuf:   8 << 20,
			SendBuf:   8 << 20,
			PktInfo:   id.addr.Addr().IsUnspecified(),
			RecvErr:   true, // ICMP unreachable: passive detection of dead back ends
			OnICMP:    e.onICMP,
		})
		if err != nil {
			return nil, err
		}
		id.addr = netip.AddrPortFrom(id.addr.Addr(), c.LocalAddr().Port())
		if id.udp == nil {
			id.udp = c
		}
		st := new(workerStats)
		e.stats = append(e.stats, st)
		e.workers = append(e.workers, newUDPWorker(e, c, st, id))
	}
	if e.cfg.Workers > 1 && e.cfg.SpreadRequests {
		// Requests at random, responses ("SIP/...") by the flow hash.
		if err := id.udp.SpreadRandomly(e.cfg.Workers, 0x5349502f); err != nil {
			// An old kernel without SO_ATTACH_REUSEPORT_CBPF: the flow hash
			// still works, one peer per core.
			e.log.Warn("udp: requests spread by flow (random spreading unavailable)", "err", err)
		}
	}
	return id, nil
}

// identFor picks the listener our Via names when a message that came from o
// leaves over tr: o's own listener when the transport stays, else the first
// listener of tr of the same address family, else any of tr, else o's (a
// response over a connection needs no listener of its own).
func (e *Engine) identFor(tr transport, o *origin) *ident {
	if o.id != nil && o.id.tr == tr {
		return o.id
	}
	ids := e.idents[tr]
	v4 := o.local.Unmap().Is4()
	for _, id := range ids {
		if a := id.addr.Addr().Unmap(); a.Is4() == v4 || a.IsUnspecified() {
			return id
		}
	}
	if len(ids) > 0 {
		return ids[0]
	}
	return o.id
}

// Addrs returns the bound listen addresses, in -listen order (with the port
// the kernel chose for port 0).
func (e *Engine) Addrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, l := range e.cfg.Listen {
		tr := map[string]transport{"udp": trUDP, "tcp": trTCP, "tls": trTLS}[l.Transport]
		for _, id := range e.idents[tr] {
			if id.addr.Addr() == l.Addr.Addr() && (l.Addr.Port() == 0 || id.addr.Port() == l.Addr.Port()) {
				out = append(out, id.addr)
				break
			}
		}
	}
	return out
}

// Dispatcher returns the destination table holder.
func (e *Engine) Dispatcher() *dispatcher.Dispatcher { return e.disp }

// Started returns when the engine was created.
func (e *Engine) Started() time.Time { return e.started }

// Reload re-reads the list file and swaps the table atomically; on error the
// running table stays in force.
func (e *Engine) Reload() (dispatcher.Diff, []dispatcher.Warning, error) {
	diff, warns, err := e.disp.Reload(e.cfg.DispatcherList)
	if err != nil {
		e.log.Error("dispatcher: reload failed; the running table stays", "err", err)
		return diff, warns, err
	}
	for _, w := range warns {
		e.log.Warn(w.String())
	}
	e.log.Info("dispatcher: reloaded", "added", len(diff.Added), "removed", len(diff.Removed), "changed", len(diff.Changed))
	if e.prober != nil {
		e.prober.Refresh()
	}
	e.refreshFilter()
	e.quiesce()
	return diff, warns, nil
}

// quiesce returns once every message that was being handled when it was
// called has finished, so a reload answers only when every worker uses the
// new table (DESIGN.md). A UDP worker counts its batches (odd while it
// handles one); stream connections count the messages started and finished.
// The wait is bounded: a worker stuck in a send does not hold a reload.
func (e *Engine) quiesce() {
	deadline := time.Now().Add(time.Second)
	for _, w := range e.workers {
		g := w.gen.Load()
		for g&1 == 1 && w.gen.Load() == g && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	started := e.streams.started.Load()
	for e.streams.finished.Load() < started && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond)
	}
}

// Prober returns the health prober, nil when probing is off.
func (e *Engine) Prober() *health.Prober { return e.prober }

// ReloadTLS re-reads the TLS certificate and key (SIGHUP); on error the
// running certificate stays.
func (e *Engine) ReloadTLS() error {
	if e.cfg.Streams.TLSCert == "" || e.idents[trTLS] == nil {
		return nil
	}
	if err := e.streams.reloadCert(); err != nil {
		return err
	}
	e.log.Info("tls: certificate reloaded", "file", e.cfg.Streams.TLSCert)
	return nil
}

// Run serves until ctx is done, then closes the sockets and returns once
// every worker has stopped. The error is the first worker failure, if any.
func (e *Engine) Run(ctx context.Context) error {
	errc := make(chan error, len(e.workers)+1)
	var wg sync.WaitGroup
	for _, w := range e.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(); err != nil {
				errc <- err
			}
		}()
	}
	e.streams.serve(&wg)
	if e.prober != nil {
		e.prober.Start()
	}
	dnsCtx, stopDNS := context.WithCancel(ctx)
	dnsDone := e.disp.StartDNS(dnsCtx) // refreshes names by TTL; closed at once when there is nothing to ask
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopDNS()
	<-dnsDone
	if e.prober != nil {
		e.prober.Stop() // before the sockets it sends from close
	}
	e.close()
	wg.Wait()
	e.streams.wait()
	return err
}

func (e *Engine) close() {
	e.closeOnce.Do(func() {
		for _, w := range e.workers {
			_ = w.conn.Close()
		}
		e.streams.close()
		if e.filter.f != nil {
			_ = e.filter.f.Close() // detaches the XDP program
		}
	})
}

// WritePrometheus writes the data-path counters and the per-destination
// series in Prometheus text format.
func (e *Engine) WritePrometheus(w io.Writer) {
	writeStats(w, e.stats)
	e.streams.writePrometheus(w)
	e.disp.WritePrometheus(w)
}

// send delivers one outgoing message from a goroutine that is not a UDP
// worker's batch (stream readers, and UDP workers for targets their own
// socket cannot serve).
func (e *Engine) send(b []byte, t target, st *workerStats) {
	if isStream(t.tr) {
		e.streams.send(b, t, st)
		return
	}
	from := t.from
	if from == nil || from.udp == nil {
		if ids := e.idents[trUDP]; len(ids) > 0 {
			from = ids[0]
		} else {
			st.sendErrors.Add(1)
			return
		}
	}
	var local netip.Addr
	if !from.addr.Addr().IsUnspecified() {
		local = from.addr.Addr()
	}
	if err := from.udp.WriteTo(b, t.addr, local); err != nil {
		st.sendErrors.Add(1)
	}
}

// udpWorker owns one socket, its batches and its processor.
type udpWorker struct {
	gen  atomic.Uint64 // odd while a batch is handled (see Engine.quiesce)
	e    *Engine
	conn *sock.Conn
	id   *ident
	rb   *sock.Batch
	sb   *sock.Batch
	p    proc
	o    origin
	wild bool
}

// sendSlot is the room of one UDP send slot: the largest datagram plus what a
// rewrite adds.
const sendSlot = maxUDPPayload + parser.EditorScratch

func newUDPWorker(e *Engine, c *sock.Conn, st *workerStats, id *ident) *udpWorker {
	w := &udpWorker{
		e:    e,
		conn: c,
		id:   id,
		rb:   sock.NewBatch(e.cfg.Batch, 65536),
		sb:   sock.NewBatch(e.cfg.Batch, sendSlot),
		wild: id.addr.Addr().IsUnspecified(),
	}
	w.p.e, w.p.st = e, st
	w.o = origin{tr: trUDP, id: id, local: id.addr.Addr()}
	return w
}

// run is the worker loop: read a batch, process each datagram in place, send
// the results in one batch. Nothing in it allocates.
func (w *udpWorker) run() error {
	for {
		n, err := w.conn.ReadBatch(w.rb)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("udp worker %s: %w", w.conn.LocalAddr(), err)
		}
		w.gen.Add(1) // odd: handling this batch
		k := 0
		uf := w.e.filter.user
		var now time.Time
		if uf != nil {
			now = time.Now()
		}
		for i := 0; i < n; i++ {
			in := &w.rb.Msgs[i]
			if in.Trunc {
				w.p.st.drops[dropTruncated].Add(1)
				continue
			}
			if uf != nil && uf.Check(in.Addr.Addr(), w.id.addr.Port(), in.Buf[:in.N], now).Drop() {
				w.p.st.drops[dropFiltered].Add(1) // the flood filter in user space
				continue
			}
			w.o.src = in.Addr
			if w.wild {
				w.o.local = in.Local
			}
			out := &w.sb.Msgs[k]
			res, t := w.p.handle(in.Buf[:in.N], &w.o, out.Buf[:0:cap(out.Buf)])
			if len(res) == 0 {
				continue
			}
			if t.tr != trUDP || (t.from != nil && t.from != w.id) {
				// Another transport, or another UDP listener named in our
				// Via: not this socket's batch.
				w.e.send(res, t, w.p.st)
				continue
			}
			out.N = len(res)
			out.Addr = t.addr
			out.IfIndex = 0
			out.Local = netip.Addr{}
			if w.wild {
				out.Local = in.Local // reply from the address the request arrived on
			}
			k++
		}
		if k == 0 {
			w.gen.Add(1)
			continue
		}
		_, err = w.conn.WriteBatch(w.sb, k)
		w.gen.Add(1) // even: waiting for the next batch
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("udp worker %s: %w", w.conn.LocalAddr(), err)
		}
		for i := 0; i < k; i++ {
			if w.sb.Msgs[i].Err != 0 {
				w.p.st.sendErrors.Add(1)
			}
		}
	}
}

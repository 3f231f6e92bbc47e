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
	"time"

	"github.com/sipfront/sipfront/dispatcher"
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
	workers []*udpWorker
	stats   []*workerStats
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
	opts := dispatcher.Options{Strict: cfg.Strict, Logger: cfg.Logger, Resolve: cfg.Resolve}
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
	if err := e.openUDP(); err != nil {
		e.close()
		return nil, err
	}
	var bound []netip.AddrPort
	for _, w := range e.workers {
		bound = append(bound, w.conn.LocalAddr())
	}
	if e.self, err = newSelf(bound, cfg.Advertise); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// openUDP opens Workers SO_REUSEPORT sockets per UDP listen address. With
// port 0 the first socket picks the port and the others bind the same one.
func (e *Engine) openUDP() error {
	for _, l := range e.cfg.Listen {
		addr := l.Addr
		for i := 0; i < e.cfg.Workers; i++ {
			c, err := sock.ListenUDP("udp", addr, sock.Options{
				ReusePort: true,
				RecvBuf:   8 << 20,
				SendBuf:   8 << 20,
				PktInfo:   addr.Addr().IsUnspecified(),
			})
			if err != nil {
				return fmt.Errorf("listen %s: %w", l, err)
			}
			addr = netip.AddrPortFrom(addr.Addr(), c.LocalAddr().Port())
			st := new(workerStats)
			e.stats = append(e.stats, st)
			e.workers = append(e.workers, newUDPWorker(e, c, st, addr))
		}
		e.log.Info("listening", "addr", "udp:"+addr.String(), "workers", e.cfg.Workers)
	}
	return nil
}

// Addrs returns the bound listen addresses (one per listen, with the port
// the kernel chose for port 0).
func (e *Engine) Addrs() []netip.AddrPort {
	var out []netip.AddrPort
	seen := map[netip.AddrPort]bool{}
	for _, w := range e.workers {
		a := w.conn.LocalAddr()
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
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
	return diff, warns, nil
}

// Run serves until ctx is done, then closes the sockets and returns once
// every worker has stopped. The error is the first worker failure, if any.
func (e *Engine) Run(ctx context.Context) error {
	errc := make(chan error, len(e.workers))
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
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	e.close()
	wg.Wait()
	return err
}

func (e *Engine) close() {
	e.closeOnce.Do(func() {
		for _, w := range e.workers {
			_ = w.conn.Close()
		}
	})
}

// WritePrometheus writes the data-path counters and the per-destination
// series in Prometheus text format.
func (e *Engine) WritePrometheus(w io.Writer) {
	writeStats(w, e.stats)
	e.disp.WritePrometheus(w)
}

// udpWorker owns one socket, its batches and its processor.
type udpWorker struct {
	conn *sock.Conn
	rb   *sock.Batch
	sb   *sock.Batch
	p    proc
	wild bool
}

// sendSlot is the room of one send slot: the largest datagram plus what a
// rewrite adds.
const sendSlot = maxUDPPayload + parser.EditorScratch

func newUDPWorker(e *Engine, c *sock.Conn, st *workerStats, addr netip.AddrPort) *udpWorker {
	w := &udpWorker{
		conn: c,
		rb:   sock.NewBatch(e.cfg.Batch, 65536),
		sb:   sock.NewBatch(e.cfg.Batch, sendSlot),
		wild: addr.Addr().IsUnspecified(),
	}
	w.p.e, w.p.st, w.p.port = e, st, addr.Port()
	switch {
	case e.cfg.Advertise.IsValid():
		w.p.fixed = []byte(e.cfg.Advertise.String())
	case !w.wild:
		w.p.fixed = []byte(addr.String())
	}
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
		k := 0
		for i := 0; i < n; i++ {
			in := &w.rb.Msgs[i]
			if in.Trunc {
				w.p.st.drops[dropTruncated].Add(1)
				continue
			}
			out := &w.sb.Msgs[k]
			res, dst := w.p.handle(in.Buf[:in.N], in.Addr, in.Local, out.Buf[:0:cap(out.Buf)])
			if len(res) == 0 {
				continue
			}
			out.N = len(res)
			out.Addr = dst
			out.IfIndex = 0
			out.Local = netip.Addr{}
			if w.wild {
				out.Local = in.Local // reply from the address the request arrived on
			}
			k++
		}
		if k == 0 {
			continue
		}
		if _, err := w.conn.WriteBatch(w.sb, k); err != nil {
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

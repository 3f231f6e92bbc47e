package lb

// The control API: one HTTP server beside the engine (DESIGN.md, contract
// "-rpc 127.0.0.1:PORT"):
//
//	POST /RPC      JSON-RPC 2.0 as Kamailio's jsonrpcs answers it (lb/rpc),
//	               with the methods of rpcmethods.go
//	GET  /metrics  Prometheus text: process and Go runtime metrics, every
//	               package's registered metrics, the data-path counters and
//	               the per-destination series
//	GET  /healthz  200 "ok" while sipfront can take calls, else 503 and why
//
// Access. The server listens on loopback unless a token is configured
// (rpc.CheckBind). With a token, /RPC and /metrics need it as
// "Authorization: Bearer TOKEN": /metrics names every back end of the farm
// (its URI labels) and how much traffic each takes, which is worth as much
// to an attacker as the RPC's dispatcher.list, and Prometheus sends a bearer
// token with one line of scrape configuration. /healthz stays open, so that
// load balancers and orchestrators can probe it; it tells nothing but "ok" or
// the reason it is not.
//
// /healthz checks, in this order:
//   - the engine's receive sockets are open (from New until Run returns or
//     a worker fails): else 503 "stopped";
//   - the set that initial requests go to has a destination that takes new
//     calls (not inactive, disabled or draining): else 503 "no usable
//     destination in set N", since every new call would get a 503.
//
// Timeouts bound every connection (headers 5 s, whole request 10 s, reply
// 30 s, idle 60 s) and the RPC body is at most rpc.DefaultMaxBody unless
// ControlOptions.MaxBody says otherwise: a slow or hostile client cannot
// hold the server. The RPC handler never lets a method's panic out.

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/sipfront/sipfront/lb/rpc"
)

// ControlOptions configure the control API.
type ControlOptions struct {
	// Addr is host:port to listen on; empty means rpc.DefaultAddr. A host
	// that is not loopback needs Token.
	Addr string
	// Token, when set, must come as "Authorization: Bearer TOKEN" with every
	// call to /RPC and every scrape of /metrics.
	Token string
	// MaxBody bounds an RPC request body in bytes (0: rpc.DefaultMaxBody).
	MaxBody int64
	// Version is what core.version reports ("dev" when empty).
	Version string
	// Prober is what dispatcher.ping_active reads and switches; it also
	// turns on the LATENCY block of dispatcher.list. Nil means the engine's
	// own prober (Engine.Prober), if probing is on.
	Prober Prober
	// Logger receives the server's own lines; nil means the engine's.
	Logger *slog.Logger
}

// Control is the control API server of one Engine.
type Control struct {
	e   *Engine
	ln  net.Listener
	srv *http.Server
	log *slog.Logger
	tok []byte
	m   *methods
}

// HTTP server limits.
const (
	controlReadHeaderTimeout = 5 * time.Second
	controlReadTimeout       = 10 * time.Second
	controlWriteTimeout      = 30 * time.Second
	controlIdleTimeout       = 60 * time.Second
	controlMaxHeaderBytes    = 16 << 10
	controlShutdownTimeout   = 5 * time.Second
)

// NewControl checks the address (loopback, or a token), listens on it, and
// returns the server, ready for Serve: errors surface before the engine runs.
func NewControl(e *Engine, o ControlOptions) (*Control, error) {
	if o.Addr == "" {
		o.Addr = rpc.DefaultAddr
	}
	if err := rpc.CheckBind(o.Addr, o.Token); err != nil {
		return nil, err
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Logger == nil {
		o.Logger = e.log
	}
	if o.Prober == nil {
		if p := e.Prober(); p != nil { // a nil *health.Prober must not become a non-nil Prober
			o.Prober = p
		}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("lb: control API: %w", err)
	}
	c := &Control{e: e, ln: ln, log: o.Logger}
	if o.Token != "" {
		c.tok = []byte(o.Token)
	}
	reg := new(rpc.Registry)
	c.m = &methods{e: e, version: o.Version, prober: o.Prober, now: time.Now}
	c.m.register(reg)

	mux := http.NewServeMux()
	// Every HTTP method reaches the RPC handler, which answers a request
	// without a body (a GET) with a JSON-RPC parse error, as documented in
	// lb/rpc; Kamailio reads the body whatever the method.
	mux.Handle("/RPC", rpc.NewHandler(reg, rpc.HandlerOptions{Token: o.Token, MaxBody: o.MaxBody, Logger: o.Logger}))
	mux.HandleFunc("GET /metrics", c.serveMetrics)
	mux.HandleFunc("GET /healthz", c.serveHealth)
	c.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: controlReadHeaderTimeout,
		ReadTimeout:       controlReadTimeout,
		WriteTimeout:      controlWriteTimeout,
		IdleTimeout:       controlIdleTimeout,
		MaxHeaderBytes:    controlMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
	}
	c.log.Info("control API listening", "addr", c.Addr().String(), "token", o.Token != "")
	return c, nil
}

// Addr is the address the server listens on (with the port the kernel chose
// for port 0).
func (c *Control) Addr() netip.AddrPort {
	if a, ok := c.ln.Addr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// Serve answers requests until ctx ends, then shuts the server down: it stops
// accepting, lets the calls in progress finish (at most 5 s) and returns nil.
// Any other end of the server is returned as an error.
func (c *Control) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- c.srv.Serve(c.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("lb: control API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), controlShutdownTimeout)
	defer cancel()
	if err := c.srv.Shutdown(sctx); err != nil {
		_ = c.srv.Close() // calls still running after the grace period
	}
	<-errc
	return nil
}

// Close stops a Control that Serve never ran (or closes it at once).
func (c *Control) Close() error {
	err := c.srv.Close()
	if lerr := c.ln.Close(); err == nil && lerr != nil && !errors.Is(lerr, net.ErrClosed) {
		err = lerr
	}
	return err
}

// authorized checks the bearer token in constant time; true without a token.
func (c *Control) authorized(r *http.Request) bool {
	if c.tok == nil {
		return true
	}
	auth := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(auth) < len(scheme) || !strings.EqualFold(auth[:len(scheme)], scheme) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[len(scheme):])), c.tok) == 1
}

func (c *Control) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !c.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sipfront"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	// Rendered into a buffer first: a slow scraper holds no lock, and a
	// HEAD gets the right Content-Length.
	var b bytes.Buffer
	metrics.WritePrometheus(&b, true)
	c.e.WritePrometheus(&b)
	h := w.Header()
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b.Bytes()) // a scraper that went away needs no answer
}

// health is the /healthz verdict: "" when healthy, else why not.
func (c *Control) health() string {
	if !c.e.socketsOpen() {
		return "stopped"
	}
	set := c.e.routingSet()
	if s := c.e.Dispatcher().Current().Set(set); s != nil {
		for _, d := range s.Dests() {
			if d.Usable() {
				return ""
			}
		}
	}
	return "no usable destination in set " + strconv.Itoa(set)
}

func (c *Control) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if why := c.health(); why != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(why + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

package rpc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchWriter is a ResponseWriter that keeps nothing, so that the benchmark
// measures the handler and not a recorder.
type benchWriter struct {
	hdr    http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.hdr }
func (w *benchWriter) WriteHeader(s int)   { w.status = s }
func (w *benchWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

type benchBody struct{ *bytes.Reader }

func (benchBody) Close() error { return nil }

// benchHandler runs one call through ServeHTTP per iteration, reusing the
// request and the writer: the cost of the codec, registry and reply, without
// the network.
func benchHandler(b *testing.B, body string, wantStatus int) {
	h := NewHandler(testRegistry(), HandlerOptions{})
	rd := bytes.NewReader([]byte(body))
	req := httptest.NewRequest(http.MethodPost, "/RPC", nil)
	req.Body = benchBody{rd}
	req.ContentLength = int64(len(body))
	w := &benchWriter{hdr: make(http.Header)}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rd.Seek(0, io.SeekStart)
		h.ServeHTTP(w, req)
	}
	if w.status != wantStatus {
		b.Fatalf("status %d", w.status)
	}
}

func BenchmarkHandlerCall(b *testing.B) {
	benchHandler(b, `{"jsonrpc":"2.0","method":"core.version","id":1}`, 200)
}

func BenchmarkHandlerCallParams(b *testing.B) {
	benchHandler(b, `{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["i",1,"sip:127.0.0.1:5171"],"id":42}`, 200)
}

func BenchmarkHandlerMethodNotFound(b *testing.B) {
	benchHandler(b, `{"jsonrpc":"2.0","method":"no.such","id":1}`, 500)
}

// BenchmarkLoopbackCall is one Client.Call over loopback HTTP with keep-alive:
// what sipfrontctl or a monitoring script pays per call.
func BenchmarkLoopbackCall(b *testing.B) {
	srv := httptest.NewServer(NewHandler(testRegistry(), HandlerOptions{}))
	defer srv.Close()
	c := &Client{Addr: srv.URL + "/RPC"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Call(ctx, "dispatcher.set_state", "i", 1, "sip:127.0.0.1:5171"); err != nil {
			b.Fatal(err)
		}
	}
}

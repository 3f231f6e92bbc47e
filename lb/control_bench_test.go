package lb

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// farmList is a list of n destinations in 10 sets, with attrs on half.
func farmList(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d sip:10.%d.%d.%d:5060", i%10+1, i>>16&255, i>>8&255, i&255)
		if i%2 == 0 {
			fmt.Fprintf(&b, " 0 %d duid=pbx%d;weight=%d", i%3, i, i%100+1)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// benchControl serves one request through the control server's handler
// (no network), b.N times.
func benchControl(b *testing.B, list, method, path, body string) {
	_, c, _ := ctlEngine(b, list, ControlOptions{})
	h := c.srv.Handler
	b.ReportAllocs()
	var size int
	for b.Loop() {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/reply")
}

// The control API is off the data path; these measure what an operator's
// or a scraper's request costs on a farm of 1000 destinations.

func BenchmarkDispatcherList1000(b *testing.B) {
	benchControl(b, farmList(1000), http.MethodPost, "/RPC", `{"jsonrpc":"2.0","method":"dispatcher.list","id":1}`)
}

func BenchmarkStatsFetchAll(b *testing.B) {
	benchControl(b, farmList(1000), http.MethodPost, "/RPC", `{"jsonrpc":"2.0","method":"stats.fetch","params":["all"],"id":1}`)
}

func BenchmarkMetrics1000(b *testing.B) {
	benchControl(b, farmList(1000), http.MethodGet, "/metrics", "")
}

func BenchmarkHealthz1000(b *testing.B) {
	benchControl(b, farmList(1000), http.MethodGet, "/healthz", "")
}

func BenchmarkSetState(b *testing.B) {
	benchControl(b, farmList(1000), http.MethodPost, "/RPC",
		`{"jsonrpc":"2.0","method":"dispatcher.set_state","params":["a",1,"sip:10.0.3.222:5060"],"id":1}`)
}

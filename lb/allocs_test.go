//go:build !race

package lb

import "testing"

// TestWholePathAllocs fails if the stateless path allocates for any of the
// three messages of a call.
func TestWholePathAllocs(t *testing.T) {
	f := newPathFixture(t)
	for _, tc := range []struct {
		name string
		msg  []byte
		src  srcAddr
	}{
		{"invite", f.invite, srcAddr(benchPhone)},
		{"ok200", f.ok200, srcAddr(benchBackend)},
		{"bye", f.bye, srcAddr(benchPhone)},
	} {
		f.handle(tc.msg, tc.src.ap())
		n := testing.AllocsPerRun(500, func() {
			out, _ := f.handle(tc.msg, tc.src.ap())
			if len(out) == 0 {
				t.Fatal("not forwarded")
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per message, want 0", tc.name, n)
		}
	}
}

package lb

import "testing"

// BenchmarkWholePath measures one message through the stateless path (parse,
// check, route, rewrite into the send slot), no sockets: an initial INVITE
// with a 910-byte SDP, the back end's 200 OK, and an in-dialog BYE routed by
// its cookie.
func BenchmarkWholePath(b *testing.B) {
	f := newPathFixture(b)
	for _, tc := range []struct {
		name string
		msg  []byte
		src  func() srcAddr
	}{
		{"invite", f.invite, func() srcAddr { return srcAddr(benchPhone) }},
		{"ok200", f.ok200, func() srcAddr { return srcAddr(benchBackend) }},
		{"bye", f.bye, func() srcAddr { return srcAddr(benchPhone) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			src := tc.src()
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.msg)))
			for b.Loop() {
				out, dst := f.handle(tc.msg, src.ap())
				if len(out) == 0 || !dst.IsValid() {
					b.Fatal("message not forwarded")
				}
			}
		})
	}
}

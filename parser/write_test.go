package parser

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/rewrite")

// proxyRequest applies what a stateless proxy does to a request it forwards.
func proxyRequest(e *Editor, m *Message) {
	top, _ := m.FirstValue(KindVia)
	var v Via
	if err := ParseVia(m.Raw(), top, &v); err != nil {
		panic(err)
	}
	e.SetReceived(m, &v, []byte("198.51.100.7"), 40123)
	e.PrependVia(m, []byte("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsf.golden"))
	mf, ok, _ := m.MaxForwards()
	if !ok {
		mf = 71
	}
	e.SetMaxForwards(m, mf-1)
}

var rewriteCases = map[string]func(*Editor, *Message){
	"proxy-invite": func(e *Editor, m *Message) {
		proxyRequest(e, m)
		e.AddRecordRoute(m, []byte("<sip:127.0.0.1:5060;lr;sfd=cookie>"))
	},
	"compact-forms": func(e *Editor, m *Message) {
		proxyRequest(e, m)
		e.AddRecordRoute(m, []byte("<sip:127.0.0.1;lr>"))
	},
	"response-top-via-line":   func(e *Editor, m *Message) { e.RemoveTopVia(m) },
	"response-top-via-comma":  func(e *Editor, m *Message) { e.RemoveTopVia(m) },
	"response-top-via-folded": func(e *Editor, m *Message) { e.RemoveTopVia(m) },
	"bye-pop-route-comma": func(e *Editor, m *Message) {
		e.RemoveTopRoute(m)
		proxyRequest(e, m)
	},
	"ack-pop-route-line": func(e *Editor, m *Message) {
		e.RemoveTopRoute(m)
		proxyRequest(e, m) // no Max-Forwards: one is inserted
	},
	"pop-two-routes": func(e *Editor, m *Message) { e.RemoveTopRoutes(m, 2) },
	"register-path": func(e *Editor, m *Message) {
		proxyRequest(e, m)
		e.AddPath(m, []byte("<sip:127.0.0.1:5060;lr;sfd=p>"))
	},
}

func TestRewriteGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/rewrite/*.in.sip")
	if len(ins) != len(rewriteCases) {
		t.Fatalf("%d input files for %d cases", len(ins), len(rewriteCases))
	}
	for _, in := range ins {
		name := filepath.Base(in[:len(in)-len(".in.sip")])
		t.Run(name, func(t *testing.T) {
			op, ok := rewriteCases[name]
			if !ok {
				t.Fatalf("no operations for %s", in)
			}
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			m := mustParse(t, src)
			var e Editor
			op(&e, m)
			out, err := e.AppendTo(nil, m)
			if err != nil {
				t.Fatalf("AppendTo: %v", err)
			}
			if len(out) != e.Size(m) {
				t.Errorf("Size %d, wrote %d", e.Size(m), len(out))
			}
			// The result must itself parse and validate.
			var m2 Message
			if err := Parse(out, &m2); err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, out)
			}
			if !bytes.Equal(m2.Body(), m.Body()) {
				t.Error("body changed")
			}
			golden := filepath.Join("testdata/rewrite", name+".out.sip")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
		})
	}
}

func TestEditorUnchangedIsIdentical(t *testing.T) {
	for _, in := range []string{"testdata/rewrite/proxy-invite.in.sip", "testdata/rewrite/response-top-via-folded.in.sip"} {
		src, _ := os.ReadFile(in)
		m := mustParse(t, src)
		var e Editor
		out, err := e.AppendTo(nil, m)
		if err != nil || !bytes.Equal(out, src) {
			t.Errorf("%s: unchanged message not byte-identical (%v)", in, err)
		}
	}
}

func TestEditorErrors(t *testing.T) {
	m := mustParse(t, sip("", "OPTIONS sip:h SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "l: 0"))
	t.Run("no route to remove", func(t *testing.T) {
		var e Editor
		e.RemoveTopRoute(m)
		if _, err := e.AppendTo(nil, m); !errors.Is(err, ErrNoSuchHeader) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("overlap", func(t *testing.T) {
		var e Editor
		e.RemoveTopVia(m)
		e.Replace(Span{m.HeaderStart() + 2, m.HeaderStart() + 4}, []byte("x"))
		if _, err := e.AppendTo(nil, m); !errors.Is(err, ErrEditOverlap) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("too many edits", func(t *testing.T) {
		var e Editor
		for i := 0; i <= MaxEdits; i++ {
			e.Insert(m.HeaderStart(), []byte("X: y\r\n"))
		}
		if _, err := e.AppendTo(nil, m); !errors.Is(err, ErrTooManyEdits) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("text too long", func(t *testing.T) {
		var e Editor
		e.Insert(m.HeaderStart(), make([]byte, EditorScratch+1))
		if _, err := e.AppendTo(nil, m); !errors.Is(err, ErrEditText) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("reset clears", func(t *testing.T) {
		var e Editor
		e.RemoveTopRoute(m)
		e.Reset()
		out, err := e.AppendTo(nil, m)
		if err != nil || !bytes.Equal(out, m.Buf()) {
			t.Errorf("after Reset: %v", err)
		}
	})
}

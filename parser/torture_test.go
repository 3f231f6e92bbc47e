package parser

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// semanticErrors are Check failures of messages that are syntactically fine
// but unusable as they are (RFC 4475 §3.1.2.17, §3.3.1, §3.3.8): the corpus
// counts them as parsed ("ok") and leaves the answer to the proxy.
var semanticErrors = []error{ErrCSeqMethod, ErrDuplicate, ErrMissingVia, ErrMissingFrom, ErrMissingTo,
	ErrMissingCallID, ErrMissingCSeq}

func isSemantic(err error) bool {
	for _, s := range semanticErrors {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

type tortureCase struct {
	file, section, kind, parse, proxy, reason string
}

func readTortureCases(t *testing.T) []tortureCase {
	t.Helper()
	f, err := os.Open("testdata/torture/cases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []tortureCase
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 6 {
			t.Fatalf("cases.tsv: %d columns in %q", len(c), sc.Text())
		}
		cases = append(cases, tortureCase{c[0], c[1], c[2], c[3], c[4], c[5]})
	}
	return cases
}

// TestTortureCorpus runs every RFC 4475 / RFC 5118 message through Parse and
// Check and compares with the verdict in cases.tsv. No message is skipped:
// the test also fails when a .sip file has no verdict or a verdict no file.
func TestTortureCorpus(t *testing.T) {
	cases := readTortureCases(t)
	files, _ := filepath.Glob("testdata/torture/*.sip")
	if len(files) != len(cases) {
		t.Errorf("%d message files but %d verdicts", len(files), len(cases))
	}
	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.file, ".sip"), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata/torture", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var m Message
			perr := Parse(b, &m)
			var cerr error
			if perr == nil {
				var e Essentials
				cerr = m.Check(&e)
			}
			got := "ok"
			if perr != nil || (cerr != nil && !isSemantic(cerr)) {
				got = "error"
			}
			if got != tc.parse {
				t.Errorf("parse verdict %s (Parse: %v, Check: %v), want %s: %s", got, perr, cerr, tc.parse, tc.reason)
			}
			if perr == nil && m.IsRequest() != (tc.kind == "request") {
				t.Errorf("kind mismatch: request=%v, want %s", m.IsRequest(), tc.kind)
			}
		})
	}
}

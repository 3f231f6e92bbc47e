// Package sipfront_test holds repository-wide guard tests: the import rules of
// STYLE.md, enforced by the test suite rather than by review.
package sipfront_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sipfront/sipfront"

// allowedImports maps each package of ours (relative to the module) to the
// packages of ours it may import. Packages under a listed prefix inherit its
// rule only when listed explicitly; a package missing from this table fails the
// test, so a new package must be placed in the layout on purpose.
var allowedImports = map[string][]string{
	"parser":          nil,
	"dispatcher":      {"parser"},
	"health":          {"parser", "dispatcher"},
	"bpf":             nil,
	"lb/sock":         nil,
	"lb/rpc":          nil,
	"lb/resolve":      nil,
	"lb/tm":           {"parser", "dispatcher"},
	"lb/registrar":    {"parser"},
	"lb":              {"parser", "dispatcher", "health", "bpf", "lb/sock", "lb/rpc", "lb/tm", "lb/registrar", "lb/resolve"},
	"cmd/sipfront":    {"*"},
	"cmd/sipfrontctl": {"lb/rpc"},
	"cmd/sipbench":    {"parser", "lb/sock"},
	"bench":           nil,
	".":               nil, // this guard test itself

	// A loopback DNS server for the tests of lb/resolve and its users.
	"lb/resolve/dnstest": nil,
	// Network namespaces for the tests of bpf, lb and cmd/sipbench.
	"internal/netnstest": nil,
}

func TestImportLayout(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pkg := rel(fields[0])
		allowed, known := allowedImports[pkg]
		if !known {
			t.Errorf("package %q is not in the layout table (layout_test.go); place it on purpose", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			if !permitted(allowed, rel(imp)) {
				t.Errorf("%s imports %s, which the layout forbids (allowed: %v)", pkg, rel(imp), allowed)
			}
		}
	}
}

func rel(importPath string) string {
	if importPath == module {
		return "."
	}
	return strings.TrimPrefix(importPath, module+"/")
}

func permitted(allowed []string, imp string) bool {
	for _, a := range allowed {
		if a == "*" || a == imp {
			return true
		}
	}
	return false
}

package bpf

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// TestOpenAutoUnknownInterface: a misspelt interface is a configuration
// error, not a reason to fall back, when XDP itself works.
func TestOpenAutoUnknownInterface(t *testing.T) {
	f, err := Open(ModeAuto, []string{"sipfront-nope0"}, fixtureConfig(), newTestLogger(io.Discard))
	if err == nil {
		f.Close()
		if reason := hostCannotRunXDP(); f.Mode() == ModeUser && reason != "" {
			t.Skip("XDP not available here (" + reason + "); auto fell back before looking at interfaces")
		}
		t.Fatal("Open(auto) with an unknown interface succeeded")
	}
	if errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "sipfront-nope0") {
		t.Fatalf("Open(auto) = %v, want an interface error naming it", err)
	}
}

// TestOpenAutoFallsBack runs Open(auto) in a child process without
// privileges (as nobody, via setpriv): loading must fail with
// ErrNotSupported and auto must settle on user space, logging why.
func TestOpenAutoFallsBack(t *testing.T) {
	if os.Getenv("SIPFRONT_BPF_CHILD") == "open-auto" {
		var log bytes.Buffer
		f, err := Open(ModeAuto, []string{"lo"}, fixtureConfig(), newTestLogger(&log))
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("mode=" + f.Mode().String() + "\n" + log.String())
		f.Close()
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop privileges for the child")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	// The child runs as nobody and cannot read go test's private
	// directory: give it a copy of this binary it can execute.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sipfront-bpf-child")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bpf.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		bin, "-test.run=^TestOpenAutoFallsBack$")
	cmd.Env = append(os.Environ(), "SIPFRONT_BPF_CHILD=open-auto", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "mode=user") || !strings.Contains(s, "XDP unavailable") || strings.Count(s, "level=") != 1 {
		t.Fatalf("child output:\n%s", s)
	}
	t.Logf("child: %s", strings.TrimSpace(s))
}

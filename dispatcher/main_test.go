package dispatcher

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the state-change log lines the tests provoke by the
// hundred; tests that check logging pass their own Logger.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

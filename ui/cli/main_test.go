package cli

import (
	"os"
	"testing"
)

// TestMain reads FyneApp.toml as main does, so that `version` and the
// About text are the real ones.
func TestMain(m *testing.M) {
	b, err := os.ReadFile("../../FyneApp.toml")
	if err != nil {
		panic(err)
	}
	SetVersion(string(b), "test")
	code := m.Run()
	stopPG()
	os.Exit(code)
}

package ui

import (
	"testing"

	"amtstresen/app"
	"amtstresen/ui/internal/memstore"
)

// newTestStore returns the store the UI tests run against.
func newTestStore(t *testing.T) app.Store {
	t.Helper()
	return memstore.New(testReg)
}

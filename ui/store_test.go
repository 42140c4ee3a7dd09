package ui

import (
	"context"
	"path/filepath"
	"testing"

	"amtstresen/app"
	"amtstresen/storage"
)

// newTestStore returns the store the UI tests run against: the real
// SQLite store on a file in the test's temporary folder.
func newTestStore(t *testing.T) app.Store {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "amtstresen.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

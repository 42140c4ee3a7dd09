package integration

import (
	"context"
	"testing"

	"amtstresen/storage"
	"amtstresen/sync"
)

// The sync needs what sync.Store names; storage.DB provides it.
var _ sync.Store = (*storage.DB)(nil)

// openStore opens the real SQLite store (build with -tags sqlite_fts5).
func openStore(t testing.TB, path string) sync.Store {
	t.Helper()
	db, err := storage.Open(context.Background(), path, reg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

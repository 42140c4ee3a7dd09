package integration

import (
	"context"
	"testing"

	"amtstresen/app"
	"amtstresen/storage"
	portalsync "amtstresen/sync"
)

// The sync groups each batch into one transaction when the store offers it.
var _ portalsync.Batcher = (*storage.DB)(nil)

// openStore opens the real SQLite store (build with -tags sqlite_fts5).
func openStore(t testing.TB, path string) app.Store {
	t.Helper()
	db, err := storage.Open(context.Background(), path, reg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

package integration

import (
	"context"
	"testing"

	"amtstresen/app"
	"amtstresen/storage"
)

// openStore opens the real SQLite store (build with -tags sqlite_fts5).
func openStore(t testing.TB, path string) app.Store {
	t.Helper()
	db, err := storage.Open(context.Background(), path, reg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

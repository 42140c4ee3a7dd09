package integration

import (
	"context"
	"testing"

	"amtstresen/app"
	"amtstresen/storage"
)

// The sync needs what app.IntakeStore names; storage.DB provides it.
var _ app.IntakeStore = (*storage.DB)(nil)

// openStore opens the real SQLite store (build with -tags sqlite_fts5).
func openStore(t testing.TB, path string) app.IntakeStore {
	t.Helper()
	db, err := storage.Open(context.Background(), path, reg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

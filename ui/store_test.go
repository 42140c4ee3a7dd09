package ui

import (
	"context"
	"path/filepath"
	"testing"

	"amtstresen/app"
	"amtstresen/storage"
)

// testStore is the store of the tests that run the window without access
// control (Options.Actor zero, which no program does): the real SQLite
// store, and the audited opening of a case as app.Scoped.ReadCase writes
// it, for whichever clerk the window names (the preferences decide who
// that is). The tests under access control use app.Scoped itself.
type testStore struct{ *storage.DB }

var _ Store = testStore{}

func (s testStore) ReadCase(ctx context.Context, ref string, by app.Actor) (*app.Case, error) {
	c, err := s.CaseByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	return c, s.Audit(ctx, app.AuditEntry{Clerk: by.Clerk, Name: by.Name, Office: c.Office, Action: app.ActionCaseRead, Ref: c.Ref})
}

// newTestStore returns the store the UI tests run against: the real
// SQLite store on a file in the test's temporary folder.
func newTestStore(t *testing.T) testStore {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "amtstresen.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return testStore{db}
}

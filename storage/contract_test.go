package storage

import (
	"context"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/storetest"
)

// TestContract runs the storage contract (storage/storetest) against
// SQLite files on disk.
func TestContract(t *testing.T) { storetest.Run(t, openContract) }

var _ storetest.Store = (*DB)(nil)

// contractDB is one test's database for the contract suite.
type contractDB struct{ db *DB }

func openContract(t *testing.T, now func() time.Time) storetest.Adapter {
	db := openTest(t)
	db.now = now
	return contractDB{db}
}

func (c contractDB) Store() storetest.Store { return c.db }

// As is the store through app.Scoped, as the window uses it.
func (c contractDB) As(t *testing.T, account string) storetest.Clerk {
	t.Helper()
	a, setup, err := app.ResolveActor(context.Background(), c.db, account)
	if err != nil {
		t.Fatal(err)
	}
	if setup {
		t.Fatal("setup mode with roles assigned")
	}
	return app.NewScoped(c.db, a)
}

// Reopen opens the same file again, as a second program would.
func (c contractDB) Reopen(t *testing.T) storetest.Store {
	t.Helper()
	db, err := Open(context.Background(), c.db.Path(), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.now = c.db.now
	return db
}

// TestOutboxContract runs the outbox contract (issue 16) against SQLite
// files on disk.
func TestOutboxContract(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T, now func() time.Time) storetest.OutboxAdapter {
		return openContract(t, now).(contractDB)
	})
}

func (c contractDB) Outbox() storetest.OutboxStore { return c.db }

// OutboxAs is the outbox through app.Scoped, as the window uses it.
func (c contractDB) OutboxAs(t *testing.T, account string) app.OutboxStore {
	t.Helper()
	a, _, err := app.ResolveActor(context.Background(), c.db, account)
	if err != nil {
		t.Fatal(err)
	}
	return app.NewScoped(c.db, a).Outbox(c.db)
}

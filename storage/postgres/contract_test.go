package postgres

import (
	"context"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/storetest"
)

// TestContract runs the storage contract (storage/storetest) against a
// database of the private PostgreSQL: the store as a login with the
// administration's, the sync's and the purge's rights; a clerk as the
// login role SetRole made, connected with it (row-level security), behind
// app.Scoped as in the window.
func TestContract(t *testing.T) { storetest.Run(t, openContract) }

var _ storetest.Store = (*DB)(nil)

type contractDB struct {
	tdb *testDB
	all *login
	st  *DB
	now func() time.Time
}

func openContract(t *testing.T, now func() time.Time) storetest.Adapter {
	tdb := newDB(t)
	all := tdb.allLogin()
	st := all.open(t)
	st.now = now
	return &contractDB{tdb: tdb, all: all, st: st, now: now}
}

func (c *contractDB) Store() storetest.Store { return c.st }

// As connects as the clerk's own login role. SetRole made it without a
// password (the IT gives one, or the server trusts Kerberos); the test
// gives it one as the cluster's superuser.
func (c *contractDB) As(t *testing.T, account string) storetest.Clerk {
	t.Helper()
	db, a := c.clerk(t, account)
	return app.NewScoped(db, a)
}

// clerk connects as the account's login role.
func (c *contractDB) clerk(t *testing.T, account string) (*DB, app.Actor) {
	t.Helper()
	ctx := context.Background()
	l := &login{db: c.tdb, Account: account, Password: pgtest.Password()}
	if err := cluster.Exec(ctx, "postgres", "ALTER ROLE "+pgtest.Ident(account)+" PASSWORD '"+l.Password+"'"); err != nil {
		t.Fatal(err)
	}
	db := l.open(t)
	db.now = c.now
	a, setup, err := app.ResolveActor(ctx, db, account)
	if err != nil {
		t.Fatal(err)
	}
	if setup {
		t.Fatal("setup mode with roles assigned")
	}
	return db, a
}

// Reopen connects once more as the store's login, as a second program.
func (c *contractDB) Reopen(t *testing.T) storetest.Store {
	t.Helper()
	db := c.all.open(t)
	db.now = c.now
	return db
}

// TestOutboxContract runs the outbox contract (issue 16) against the
// private PostgreSQL: the sync's login for the store, a clerk as their own
// login role (row-level security) behind app.Scoped.
func TestOutboxContract(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T, now func() time.Time) storetest.OutboxAdapter {
		return openContract(t, now).(*contractDB)
	})
}

func (c *contractDB) Outbox() storetest.OutboxStore { return c.st }

// OutboxAs connects as the clerk's own login role, as As does.
func (c *contractDB) OutboxAs(t *testing.T, account string) app.OutboxStore {
	t.Helper()
	db, a := c.clerk(t, account)
	return app.NewScoped(db, a).Outbox(db)
}

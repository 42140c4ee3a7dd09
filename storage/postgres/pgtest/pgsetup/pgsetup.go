// Package pgsetup makes an Amtstresen database on a private test cluster
// (pgtest) the way the README tells the IT to: a migration role, a
// database it owns and migrates, and a login role per clerk made by
// set_clerk_role. For the tests and measuring programs outside package
// postgres (the window, the offline outbox, the benchmarks); the
// package's own tests have their helpers.
package pgsetup

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"amtstresen/app"
	"amtstresen/storage/postgres"
	"amtstresen/storage/postgres/pgtest"
)

// Migrator is the migration role of the test clusters.
const Migrator = "amtstresen_migration"

// DB is a migrated database on a cluster.
type DB struct {
	C    *pgtest.Cluster
	Name string
	pw   string
}

// New creates and migrates a database on c (creating the migration role
// when the cluster has none yet); it is dropped when t ends.
func New(t testing.TB, c *pgtest.Cluster) *DB {
	t.Helper()
	d, err := Create(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Exec(context.Background(), "postgres", "DROP DATABASE IF EXISTS "+pgtest.Ident(d.Name)+" WITH (FORCE)")
	})
	return d
}

// Create is New without a test; nothing drops the database.
func Create(c *pgtest.Cluster) (*DB, error) {
	ctx := context.Background()
	pw := pgtest.Password()
	err := c.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'", Migrator, pw))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42710" { // exists: a second database on the cluster
		err = c.Exec(ctx, "postgres", fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", Migrator, pw))
	}
	if err != nil {
		return nil, err
	}
	name, err := c.NewDatabase(Migrator, "")
	if err != nil {
		return nil, err
	}
	d := &DB{C: c, Name: name, pw: pw}
	conn, err := pgx.Connect(ctx, c.URL(name, Migrator, pw))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if err := postgres.Migrate(ctx, conn); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return d, nil
}

// Login is a login role with its password.
type Login struct {
	Account  string
	Password string
	URL      string // without the password, as in [database] url
}

// Clerk makes the login role of a clerk (kind clerk, lead or admin) of
// office through set_clerk_role, with a password; it fails t on an error.
func (d *DB) Clerk(t testing.TB, account, kind string, office app.OfficeKey, name string) *Login {
	t.Helper()
	l, err := d.CreateClerk(account, kind, office, name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Service makes a login of the service accounts (e.g. "admin", "sync",
// "purge" for a store without access control), by hand as the README
// says; it fails t on an error.
func (d *DB) Service(t testing.TB, account string, groups ...string) *Login {
	t.Helper()
	l, err := d.CreateService(account, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// CreateClerk is Clerk without a test.
func (d *DB) CreateClerk(account, kind string, office app.OfficeKey, name string) (*Login, error) {
	ctx := context.Background()
	l := &Login{Account: account, Password: pgtest.Password(), URL: d.URL(account)}
	v, err := postgres.ScramVerifier(l.Password)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, d.C.URL(d.Name, Migrator, d.pw))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT amtstresen.set_clerk_role($1, $2, $3, $4, $5)", account, kind, string(office), name, v); err != nil {
		return nil, fmt.Errorf("set_clerk_role %s: %w", account, err)
	}
	return l, nil
}

// CreateService is Service without a test.
func (d *DB) CreateService(account string, groups ...string) (*Login, error) {
	l := &Login{Account: account, Password: pgtest.Password(), URL: d.URL(account)}
	q := fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT amtstresen_konto TO %s", pgtest.Ident(account), l.Password, pgtest.Ident(account))
	for _, g := range groups {
		q += fmt.Sprintf("; GRANT %s TO %s", pgtest.Ident("amtstresen_"+g), pgtest.Ident(account))
	}
	if err := d.C.Exec(context.Background(), "postgres", q); err != nil {
		return nil, err
	}
	return l, nil
}

// URL is the address of the database for account, without password.
func (d *DB) URL(account string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", account, d.C.Port, d.Name)
}

// Open opens the store as the login; closed when t ends.
func (l *Login) Open(t testing.TB, reg *app.Registry) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), l.URL, l.Password, reg)
	if err != nil {
		t.Fatalf("open as %s: %v", l.Account, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenScoped opens the store as the login and returns it behind
// app.Scoped, as ui/cli hands it to the window, with the login's actor.
func (l *Login) OpenScoped(t testing.TB, reg *app.Registry) (*postgres.DB, *app.Scoped, app.Actor) {
	t.Helper()
	db := l.Open(t, reg)
	a, _, err := app.ResolveActor(context.Background(), db, l.Account)
	if err != nil {
		t.Fatal(err)
	}
	return db, app.NewScoped(db, a), a
}

package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"amtstresen/app"
	"amtstresen/storage/internal/migfiles"
)

// Migrations are SQL files named NNNN_what.sql, numbered from 0001 without
// gaps; file N brings the schema to version N. They are append-only:
// released files are never edited (see TestSchemaV1Frozen).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations is the ordered list, checked once at start-up.
var migrations = mustLoadMigrations()

// SchemaVersion is the schema version this program writes.
var SchemaVersion = len(migrations)

func mustLoadMigrations() []migfiles.File {
	ms, err := migfiles.Load(migrationFS, "migrations")
	if err != nil {
		panic(err) // the binary itself is broken; tests catch it
	}
	return ms
}

// Beginner opens transactions: a *pgx.Conn, a pgxpool.Pool.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Migrate applies the missing migrations, each in one transaction together
// with its row in amtstresen.schema_version. It must run as the migration
// role: the owner of the database with CREATEROLE (README, "PostgreSQL").
// Migrators that start at once wait for each other (an advisory lock);
// a database written by a newer program is refused (app.ETOONEW).
func Migrate(ctx context.Context, db Beginner) error {
	for {
		done, err := migrateOne(ctx, db)
		if err != nil || done {
			return err
		}
	}
}

// bookkeeping creates the schema and the version table, the part of the
// schema that is not a migration.
const bookkeeping = `
CREATE SCHEMA IF NOT EXISTS amtstresen;
CREATE TABLE IF NOT EXISTS amtstresen.schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user
);`

// migrateLock is the key of the advisory lock held while migrating
// (advisory locks are per database).
const migrateLock = 0x616d7473 // "amts"

func migrateOne(ctx context.Context, db Beginner) (done bool, err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
		return false, fmt.Errorf("migrate: lock: %w", err)
	}
	v, err := version(ctx, tx)
	if err != nil {
		return false, err
	}
	switch {
	case v > len(migrations):
		return false, tooNew(v)
	case v == len(migrations):
		return true, nil
	case v == 0:
		if err := preflight(ctx, tx); err != nil {
			return false, err
		}
	}
	if err := apply(ctx, tx, migrations[v]); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("migrate %s: commit: %w", migrations[v].Name, err)
	}
	return false, nil
}

// version reads the schema version (0 for an empty database), creating
// the bookkeeping tables when they are missing. Reading needs no more
// than a clerk's rights: Migrate of a current database is a no-op for
// every Amtstresen role.
func version(ctx context.Context, tx pgx.Tx) (int, error) {
	v, err := readVersion(ctx, tx)
	if err == nil {
		return v, nil
	}
	if !missingSchema(err) {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT version"); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, bookkeeping); err != nil {
		return 0, migrateError("migrate: version table", err)
	}
	return 0, nil
}

// readVersion reads the version behind a savepoint, so that the
// transaction goes on when the table is missing.
func readVersion(ctx context.Context, tx pgx.Tx) (int, error) {
	if _, err := tx.Exec(ctx, "SAVEPOINT version"); err != nil {
		return 0, err
	}
	var v int
	err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM amtstresen.schema_version").Scan(&v)
	return v, err
}

func missingSchema(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") // undefined_table, invalid_schema_name
}

func apply(ctx context.Context, tx pgx.Tx, m migfiles.File) error {
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return migrateError("migrate "+m.Name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO amtstresen.schema_version (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return fmt.Errorf("migrate %s: set version: %w", m.Name, err)
	}
	return nil
}

func tooNew(v int) error {
	return &app.Error{Code: app.ETOONEW, Message: fmt.Sprintf(
		"Die Datenbank wurde von einer neueren Version von Amtstresen eingerichtet (Schema %d, dieses Programm kennt Schema %d); bitte die neuere Version verwenden.",
		v, len(migrations))}
}

// preflight checks what the first migration needs, with messages for the
// IT admin who set the database up.
func preflight(ctx context.Context, tx pgx.Tx) error {
	var serverVersion int
	var encoding string
	var createRole bool
	err := tx.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, pg_encoding_to_char(encoding),
		(SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user)
		FROM pg_database WHERE datname = current_database()`).Scan(&serverVersion, &encoding, &createRole)
	if err != nil {
		return fmt.Errorf("migrate: check server: %w", err)
	}
	switch {
	case serverVersion < 150000:
		return app.Errorf(app.EINVALID, "Amtstresen braucht PostgreSQL 15 oder neuer (der Server hat Version %d.%d).", serverVersion/10000, serverVersion%10000)
	case encoding != "UTF8":
		return app.Errorf(app.EINVALID, "Die Datenbank muss mit ENCODING 'UTF8' angelegt sein (sie hat %s). Bitte neu anlegen: CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0.", encoding)
	case !createRole:
		return app.Errorf(app.EINVALID, "Die Migrationsrolle braucht das Recht CREATEROLE, um die Rollen der Sachbearbeitung anzulegen (ALTER ROLE … CREATEROLE).")
	}
	return nil
}

// migrateError turns a missing privilege into a German message for the admin.
func migrateError(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
		return &app.Error{Code: app.EFORBIDDEN, Err: fmt.Errorf("%s: %w", op, err),
			Message: "Die Datenbank kann nur die Migrationsrolle einrichten: die Eigentümerin der Datenbank, mit CREATEROLE (README, Abschnitt PostgreSQL)."}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Querier is what reads one row: a connection, a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SchemaVersionOf reads the database's schema version as any Amtstresen
// role may: 0 for a database without the schema yet.
func SchemaVersionOf(ctx context.Context, q Querier) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM amtstresen.schema_version").Scan(&v)
	if missingSchema(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// CheckSchema: nil when the schema version is the one of this program,
// app.ETOONEW when newer, and a German message asking for the migration
// when older or missing.
func CheckSchema(ctx context.Context, q Querier) error {
	v, err := SchemaVersionOf(ctx, q)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	switch {
	case v > len(migrations):
		return tooNew(v)
	case v < len(migrations):
		return app.Errorf(app.EINVALID, "Die Datenbank hat Schema %d, dieses Programm braucht Schema %d. Bitte die IT, die Datenbank einmal mit der Migrationsrolle zu aktualisieren: amtstresen --db postgres://amtstresen_migration@SERVER/DATENBANK upgrade-db", v, len(migrations))
	}
	return nil
}

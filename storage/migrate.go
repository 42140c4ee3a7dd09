package storage

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"amtstresen/app"
	"amtstresen/storage/internal/migfiles"
)

// Migrations are SQL files named NNNN_what.sql, numbered from 0001 without
// gaps; file N brings the schema to PRAGMA user_version N. They are
// append-only: released files are never edited (see TestSchemaV1Frozen).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the ordered list, checked once at start-up.
var migrations = mustLoadMigrations()

// SchemaVersion is the schema version this program writes.
var SchemaVersion = len(migrations)

func mustLoadMigrations() []migration {
	ms, err := loadMigrations()
	if err != nil {
		panic(err) // the binary itself is broken; tests catch it
	}
	return ms
}

func loadMigrations() ([]migration, error) {
	files, err := migfiles.Load(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	out := make([]migration, len(files))
	for i, f := range files {
		out[i] = migration{version: f.Version, name: f.Name, sql: f.SQL}
	}
	return out, nil
}

// migrate applies the missing migrations, each in one transaction together
// with its user_version. The version is read inside the transaction, so
// two programs opening a new file at once do not both migrate it.
func (db *DB) migrate(ctx context.Context) error {
	for {
		done, err := db.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (db *DB) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, fmt.Errorf("migrate: read version: %w", err)
	}
	switch {
	case v > len(migrations):
		return false, &app.Error{Code: app.ETOONEW, Message: fmt.Sprintf(
			"Die Datenbank wurde von einer neueren Version von Amtstresen geschrieben (Schema %d, dieses Programm kennt Schema %d); bitte die neuere Version verwenden.",
			v, len(migrations))}
	case v == len(migrations):
		return true, nil
	}
	m := migrations[v]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		if strings.Contains(err.Error(), "no such module: fts5") {
			return false, fmt.Errorf("migrate %s: SQLite without FTS5; build with -tags sqlite_fts5: %w", m.name, err)
		}
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return false, fmt.Errorf("migrate %s: set version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %s: commit: %w", m.name, err)
	}
	db.log.Info("schema migrated", "version", m.version, "file", m.name)
	return false, nil
}

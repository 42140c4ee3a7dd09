package storage

import (
	"context"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"amtstresen/app"
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
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %04d", m.name, i+1)
		}
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

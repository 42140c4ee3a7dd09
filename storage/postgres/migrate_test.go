package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/migfiles"
	"amtstresen/storage/postgres/pgtest"
)

func TestSchemaV1Frozen(t *testing.T) {
	frozen, err := os.ReadFile("testdata/schema_v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	if migrations[0].SQL != string(frozen) {
		t.Fatal("migrations/0001_init.sql differs from testdata/schema_v1.sql: released migrations are append-only; add a new migration instead")
	}
}

// A database of schema version 1 with data is brought to the current
// version by Migrate, data intact, and what the later migrations add
// works on the old rows.
func TestUpgradeFromV1(t *testing.T) {
	ctx := context.Background()
	name := cluster.CreateDatabase(t, migrator, "")
	owner := pgtest.Connect(t, cluster.URL(name, migrator, migratorPassword))
	schema, err := os.ReadFile("testdata/schema_v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, bookkeeping); err != nil {
		t.Fatal(err)
	}
	if err := apply(ctx, tx, migfiles.File{Version: 1, Name: "0001_init.sql", SQL: string(schema)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	db := &testDB{t: t, name: name}
	sync := db.serviceLogin("abgleich", "sync").conn()
	id := insertCase(t, sync, testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Name: "Anna Zöller", Author: "portal"})
	clerk := db.newLogin("zel", "clerk", "vg-zell")

	if err := Migrate(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if err := CheckSchema(ctx, clerk.conn()); err != nil {
		t.Fatalf("after upgrade: %v", err)
	}
	var v int
	var by string
	if err := owner.QueryRow(ctx, "SELECT version, applied_by FROM amtstresen.schema_version ORDER BY version DESC LIMIT 1").Scan(&v, &by); err != nil || v != SchemaVersion || by != migrator {
		t.Fatalf("version %d by %s, %v; want %d by %s", v, by, err, SchemaVersion, migrator)
	}
	// The old rows, seen as before by the clerk of their office.
	conn := clerk.conn()
	for _, tbl := range []string{"cases WHERE id", "case_docs WHERE case_id", "notes WHERE case_id", "attachments WHERE case_id", "case_search WHERE case_id"} {
		if n := count(t, conn, "SELECT count(*) FROM amtstresen."+tbl+" = $1", id); n != 1 {
			t.Errorf("%s: %d rows after upgrade", tbl, n)
		}
	}
	// Version 4 finds the old case through the office in its search row.
	if list, err := clerk.open(t).ListCases(ctx, app.CaseFilter{Query: "zöller"}); err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("search after upgrade: %+v, %v", list, err)
	}
	// Version 2 announces changes, also of cases written under version 1.
	if _, err := conn.Exec(ctx, "LISTEN "+ChannelCase); err != nil {
		t.Fatal(err)
	}
	if _, err := sync.Exec(ctx, "UPDATE amtstresen.cases SET status = 'in_progress' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if n, err := conn.WaitForNotification(wctx); err != nil || !strings.Contains(n.Payload, fmt.Sprintf(`"id" : %d`, id)) {
		t.Errorf("notification after upgrade: %v, %v", n, err)
	}
}

// A database written by a newer program is refused, in German, by the
// migration and by a clerk's program; an older one asks for the migration.
func TestSchemaVersionChecks(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	owner := db.owner()
	clerk := db.newLogin("zel", "clerk", "vg-zell").conn()
	if err := CheckSchema(ctx, clerk); err != nil {
		t.Fatalf("current schema: %v", err)
	}
	for _, conn := range []Beginner{owner, clerk} {
		if err := Migrate(ctx, conn); err != nil {
			t.Fatalf("migrate a current schema: %v", err)
		}
	}
	if _, err := owner.Exec(ctx, "INSERT INTO amtstresen.schema_version (version, name) VALUES ($1, 'from the future')", SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{"migrate": Migrate(ctx, owner), "check": CheckSchema(ctx, clerk)} {
		var ae *app.Error
		if !errors.As(err, &ae) || ae.Code != app.ETOONEW || !strings.Contains(ae.Message, "neueren Version von Amtstresen") {
			t.Errorf("%s on a newer schema: %v", what, err)
		}
	}
	if _, err := owner.Exec(ctx, "DELETE FROM amtstresen.schema_version WHERE version >= $1", SchemaVersion); err != nil {
		t.Fatal(err)
	}
	if err := CheckSchema(ctx, clerk); app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), fmt.Sprintf("braucht Schema %d", SchemaVersion)) || !strings.Contains(app.ErrorMessage(err), "upgrade-db") {
		t.Errorf("older schema: %v", err)
	}
	// A clerk cannot migrate.
	if err := Migrate(ctx, clerk); app.ErrorCode(err) != app.EFORBIDDEN || !strings.Contains(app.ErrorMessage(err), "Migrationsrolle") {
		t.Errorf("clerk migrates: %v", err)
	}
	// An empty database is no schema at all.
	empty := cluster.CreateDatabase(t, migrator, "")
	if err := CheckSchema(ctx, pgtest.Connect(t, cluster.URL(empty, migrator, migratorPassword))); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("empty database: %v", err)
	}
}

// Several programs migrating a new database at once: one migrates, the
// others wait and find it done.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	name := cluster.CreateDatabase(t, migrator, "")
	var wg gosync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		conn := pgtest.Connect(t, cluster.URL(name, migrator, migratorPassword))
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = Migrate(ctx, conn) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	db := &testDB{t: t, name: name}
	if n := count(t, db.owner(), "SELECT count(*) FROM amtstresen.schema_version"); n != SchemaVersion {
		t.Errorf("%d version rows, want %d", n, SchemaVersion)
	}
}

// A migration role without CREATEROLE is told what it lacks.
func TestMigratePreflight(t *testing.T) {
	ctx := context.Background()
	role := fmt.Sprintf("ohne_createrole%d", accounts.Add(1))
	pw := pgtest.Password()
	if err := cluster.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, pw)); err != nil {
		t.Fatal(err)
	}
	name := cluster.CreateDatabase(t, role, "")
	err := Migrate(ctx, pgtest.Connect(t, cluster.URL(name, role, pw)))
	if app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "CREATEROLE") {
		t.Errorf("migrate without CREATEROLE: %v", err)
	}
}

// A test's database: a copy of the migrated template (go test -run '^$'
// -bench NewDatabase ./storage/postgres/).
func BenchmarkNewDatabase(b *testing.B) {
	for b.Loop() {
		name, err := cluster.NewDatabase(migrator, template)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cluster.Exec(context.Background(), "postgres", "DROP DATABASE "+pgtest.Ident(name))
		b.StartTimer()
	}
}

// Migrating an empty database to the current schema.
func BenchmarkMigrate(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		name, err := cluster.NewDatabase(migrator, "")
		if err != nil {
			b.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, cluster.URL(name, migrator, migratorPassword))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := Migrate(ctx, conn); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		conn.Close(ctx)
		cluster.Exec(ctx, "postgres", "DROP DATABASE "+pgtest.Ident(name))
		b.StartTimer()
	}
}

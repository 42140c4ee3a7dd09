package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"amtstresen/ui"
)

// The window on PostgreSQL gets the store's change feed and the offline
// outbox for walk-in applications (a 0600 file in the data folder); on
// the SQLite file the file's change feed and no outbox.
func TestWindowWiringLiveAndOffline(t *testing.T) {
	c, db := pgDatabase(t)
	ctx := context.Background()
	clerk := account("ulla")
	conn, err := pgx.Connect(ctx, c.URL(db, pgMigrator, pgMigratorPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT amtstresen.set_clerk_role($1, 'clerk', 'vg-ulmen', 'Ulla Ulmer', NULL)", clerk); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, "postgres", "ALTER ROLE "+clerk+" PASSWORD 'Ulla-Kennwort-1'"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("AMTSTRESEN_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("AMTSTRESEN_CONFIG_DIR", filepath.Join(dir, "config"))
	t.Setenv("AMTSTRESEN_DB", "")
	t.Setenv("AMTSTRESEN_TEST_DBPW", "Ulla-Kennwort-1")
	t.Setenv("DISPLAY", ":0") // the window itself is replaced below
	cfg := writeConfig(t, "[database]\nurl = \""+pgURL(c, db, "")+"\"\npassword_env = \"AMTSTRESEN_TEST_DBPW\"\n")
	as(t, clerk)
	var got ui.Options
	old := runWindow
	runWindow = func(ctx context.Context, o ui.Options) error { got = o; return nil }
	t.Cleanup(func() { runWindow = old })

	mustRun(t, "gui", "--config", cfg)
	if got.Changes == nil || got.Offline == nil || got.Actor.Clerk != clerk {
		t.Fatalf("window options on PostgreSQL: changes %v, offline %v, actor %+v", got.Changes, got.Offline, got.Actor)
	}
	fi, err := os.Stat(filepath.Join(dir, "data", OfflineFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("offline outbox file: %v %v", fi, err)
	}

	got = ui.Options{}
	mustRun(t, "gui", "--db", filepath.Join(dir, "a.db"))
	if got.Changes == nil || got.Offline != nil {
		t.Errorf("window options on SQLite: changes %v, offline %v", got.Changes, got.Offline)
	}
}

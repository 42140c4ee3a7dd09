package pgtest

import (
	"context"
	"strings"
	"testing"
)

func TestClusterAndDatabases(t *testing.T) {
	c := Start(t)
	ctx := context.Background()
	pw := Password()
	if err := c.Exec(ctx, "postgres", "CREATE ROLE owner1 LOGIN PASSWORD '"+pw+"'"); err != nil {
		t.Fatal(err)
	}
	err := c.Template("tpl", "owner1", func(ctx context.Context, url string) error {
		return c.Exec(ctx, "tpl", "CREATE TABLE t (x int); INSERT INTO t VALUES (42); ALTER TABLE t OWNER TO owner1")
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.CreateDatabase(t, "owner1", "tpl"), c.CreateDatabase(t, "owner1", "tpl")
	if a == b {
		t.Fatal("same name twice")
	}
	// Each copy is its own: a change in one is not in the other.
	conn := Connect(t, c.URL(a, "owner1", pw))
	if _, err := conn.Exec(ctx, "UPDATE t SET x = 7"); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := Connect(t, c.URL(b, "owner1", pw)).QueryRow(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Fatalf("copy b: %d, %v", x, err)
	}
	// TCP needs the password.
	if _, err := c.Psql(a, "owner1", "falsch", "SELECT 1"); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Fatalf("wrong password: %v", err)
	}
	out, err := c.Psql(a, "owner1", pw, "SELECT x FROM t")
	if err != nil || strings.TrimSpace(out) != "7" {
		t.Fatalf("psql: %q, %v", out, err)
	}
	empty := c.CreateDatabase(t, "owner1", "")
	if err := c.Exec(ctx, empty, "SELECT * FROM t"); err == nil {
		t.Fatal("empty database has the template's table")
	}
}

// What the primary committed is on the synchronous standby; after the
// primary is gone the promoted standby has it and takes writes.
func TestStandbyFailover(t *testing.T) {
	c := Start(t)
	s := c.StartSyncStandby(t)
	ctx := context.Background()
	if err := c.Exec(ctx, "postgres", "CREATE TABLE t (x int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if err := c.Exec(ctx, "postgres", "INSERT INTO t VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	// Read-only before promotion.
	if err := s.Exec(ctx, "postgres", "INSERT INTO t VALUES (0)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("standby took a write: %v", err)
	}
	c.Kill()
	if err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	conn := Connect(t, s.SuperURL("postgres"))
	var n, max int
	if err := conn.QueryRow(ctx, "SELECT count(*), max(x) FROM t").Scan(&n, &max); err != nil || n != 100 || max != 100 {
		t.Fatalf("after failover: %d rows, max %d, %v", n, max, err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO t VALUES (101)"); err != nil {
		t.Fatal(err)
	}
}

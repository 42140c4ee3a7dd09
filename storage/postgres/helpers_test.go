package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"amtstresen/storage/postgres/pgtest"
)

// One private cluster for the package's tests; each test gets a database
// of its own, copied from a template migrated once.
var cluster *pgtest.Cluster

// The migration role of the test cluster, as an IT admin would create it.
const migrator = "amtstresen_migration"

var migratorPassword = pgtest.Password()

const template = "amtstresen_template"

func TestMain(m *testing.M) {
	c, err := pgtest.StartCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster = c
	err = c.Exec(context.Background(), "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'", migrator, migratorPassword))
	if err == nil {
		err = c.Template(template, migrator, func(ctx context.Context, _ string) error {
			conn, err := pgx.Connect(ctx, c.URL(template, migrator, migratorPassword))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			return Migrate(ctx, conn)
		})
	}
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	if benchCluster != nil {
		benchCluster.Stop() // its files stay for the next run
	}
	c.Stop()
	os.Exit(code)
}

// testDB is a migrated database of one test.
type testDB struct {
	t    testing.TB
	name string
}

// newDB returns a fresh migrated database, dropped when t ends.
func newDB(t testing.TB) *testDB {
	t.Helper()
	return &testDB{t: t, name: cluster.CreateDatabase(t, migrator, template)}
}

// owner connects as the migration role.
func (db *testDB) owner() *pgx.Conn {
	db.t.Helper()
	return pgtest.Connect(db.t, cluster.URL(db.name, migrator, migratorPassword))
}

// super connects as the cluster's superuser.
func (db *testDB) super() *pgx.Conn {
	db.t.Helper()
	return pgtest.Connect(db.t, cluster.SuperURL(db.name))
}

var accounts atomic.Int64

// login is a clerk's login role, made by set_clerk_role as
// `amtstresen roles set` will make it.
type login struct {
	db       *testDB
	Account  string
	Password string
}

// newLogin creates the login role of a clerk of kind in office (through
// set_clerk_role, called by the migration role) with a password. Roles
// belong to the whole cluster: the account name is unique per test run.
func (db *testDB) newLogin(name, kind, office string) *login {
	db.t.Helper()
	l := &login{db: db, Account: fmt.Sprintf("%s%d", name, accounts.Add(1)), Password: pgtest.Password()}
	v, err := ScramVerifier(l.Password)
	if err != nil {
		db.t.Fatal(err)
	}
	if _, err := db.owner().Exec(context.Background(), "SELECT amtstresen.set_clerk_role($1, $2, $3, $4, $5)",
		l.Account, kind, office, "Test "+name, v); err != nil {
		db.t.Fatalf("set_clerk_role %s %s %s: %v", l.Account, kind, office, err)
	}
	return l
}

// serviceLogin creates a login for a service account (sync, purge) the
// way the README tells the IT admin to: by hand, as superuser.
func (db *testDB) serviceLogin(name, kind string) *login {
	db.t.Helper()
	l := &login{db: db, Account: fmt.Sprintf("%s%d", name, accounts.Add(1)), Password: pgtest.Password()}
	q := fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT amtstresen_konto, amtstresen_%s TO %s", l.Account, l.Password, kind, l.Account)
	if err := cluster.Exec(context.Background(), "postgres", q); err != nil {
		db.t.Fatal(err)
	}
	return l
}

// conn connects as the login over TCP with its password.
func (l *login) conn() *pgx.Conn {
	l.db.t.Helper()
	return pgtest.Connect(l.db.t, l.url())
}

func (l *login) url() string { return cluster.URL(l.db.name, l.Account, l.Password) }

var testNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// testCase is what insertCase writes: a case with its documents, search
// row, one attachment (content in blobs), a note and an audit entry.
type testCase struct {
	Ref     string
	Office  string
	Channel string
	Flags   []string
	Name    string // applicant
	Author  string // of the note and the audit entry
}

// insertCase writes c with q in one transaction and returns its id.
func insertCase(t testing.TB, q *pgx.Conn, c testCase) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := q.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	id, err := insertCaseTx(ctx, tx, c)
	if err != nil {
		t.Fatalf("insert case %s: %v", c.Ref, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("insert case %s: commit: %v", c.Ref, err)
	}
	return id
}

func insertCaseTx(ctx context.Context, tx pgx.Tx, c testCase) (int64, error) {
	if c.Channel == "" {
		c.Channel = "portal"
	}
	if c.Flags == nil {
		c.Flags = []string{}
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO amtstresen.cases (ref, office, channel, service, status, flags, applicant_name, applicant_sort, received_at, updated_at)
		VALUES ($1, $2, $3, 'hund-anmelden', 'received', $4, $5, lower($5), $6, $6) RETURNING id`,
		c.Ref, c.Office, c.Channel, c.Flags, c.Name, testNow).Scan(&id)
	if err != nil {
		return 0, err
	}
	data := []byte("Impfpass von " + c.Ref)
	steps := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO amtstresen.case_docs (case_id, applicant, fields) VALUES ($1, $2, '{"hund":{"name":"Bello"}}')`,
			[]any{id, fmt.Sprintf(`{"vorname":"","nachname":%q}`, c.Name)}},
		{`INSERT INTO amtstresen.case_search (case_id, doc) VALUES ($1, amtstresen.search_vector($2))`,
			[]any{id, strings.Join(SearchWords(c.Ref+" "+c.Name+" Bello"), " ")}},
		{`INSERT INTO amtstresen.blobs (sha256, size, data) VALUES (encode(sha256($1), 'hex'), length($1), $1) ON CONFLICT DO NOTHING`,
			[]any{data}},
		{`INSERT INTO amtstresen.attachments (case_id, pos, name, size, sha256, blob) VALUES ($1, 0, 'impfpass.pdf', length($2::bytea), encode(sha256($2::bytea), 'hex'), encode(sha256($2::bytea), 'hex'))`,
			[]any{id, data}},
		{`INSERT INTO amtstresen.notes (case_id, at, author, kind, text) VALUES ($1, $2, $3, 'note', 'angelegt')`,
			[]any{id, testNow, c.Author}},
		{`INSERT INTO amtstresen.audit_log (at, clerk, action, ref) VALUES ($1, $2, 'case.create', $3)`,
			[]any{testNow, c.Author, c.Ref}},
	}
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s.q, s.args...); err != nil {
			return 0, fmt.Errorf("%.50s: %w", s.q, err)
		}
	}
	return id, nil
}

// count runs a count(*) query.
func count(t testing.TB, q *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// pgCode returns the SQLSTATE of err ("" when none).
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

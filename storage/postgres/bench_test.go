package postgres

// Benchmarks on a database of realistic size: the 1,000,000 cases of the
// SQLite store's benchmarks (storage/internal/benchdata), loaded into a
// PostgreSQL cluster of their own by COPY. The cluster's files are kept
// in os.TempDir() per schema (version and content) and size, so that repeated runs
// start at once (generating takes a few minutes):
//
//	go test -tags "sqlite_fts5 ci" -run XXX -bench . -benchtime 200x ./storage/postgres/
//
// AMTSTRESEN_BENCH_CASES=20000 makes a smaller one for a quick look. The
// benchmark cluster writes as a server does (fsync, full_page_writes,
// synchronous_commit on) with 512 MB of shared buffers. Each query runs
// as a clerk of VG Zell (the clerk's own login role: row-level security)
// and as an administrator; p50-ms and p99-ms are the median and the 99th
// percentile of the single calls.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/benchdata"
	"amtstresen/storage/postgres/pgtest"
)

const benchCasesDefault = 1_000_000

func benchCases() int {
	if n, err := strconv.Atoi(os.Getenv("AMTSTRESEN_BENCH_CASES")); err == nil && n > 0 {
		return n
	}
	return benchCasesDefault
}

// The bench cluster's database and logins (a throwaway cluster on
// loopback; the password is the same for all).
const (
	benchDB       = "amtstresen"
	benchPassword = "bench"
	benchAdmin    = "bench_admin"
	benchClerk    = "bench_zell" // clerk of VG Zell
)

// benchEnd is when the generated cases end (as the SQLite benchmarks).
var benchEnd = time.Date(2026, 11, 27, 10, 0, 0, 0, app.Berlin)

var (
	benchOnce    gosync.Once
	benchCluster *pgtest.Cluster
	benchErr     error
)

// benchStore opens the benchmark database as the login, generating the
// cluster first when it is missing.
func benchStore(b *testing.B, login string) *DB {
	b.Helper()
	benchOnce.Do(func() { benchCluster, benchErr = startBenchCluster(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	u := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", login, benchCluster.Port, benchDB)
	db, err := Open(context.Background(), u, benchPassword, testReg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// startBenchCluster starts the kept cluster; TestMain stops it.
func startBenchCluster(b *testing.B) (*pgtest.Cluster, error) {
	n := benchCases()
	// Named by the schema's content: a changed migration makes a new one.
	h := sha256.New()
	for _, m := range migrations {
		h.Write([]byte(m.SQL))
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("amtstresen-pgbench-schema%d-%x-%d", SchemaVersion, h.Sum(nil)[:4], n))
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		start := time.Now()
		tmp := fmt.Sprintf("%s.%d.tmp", dir, os.Getpid())
		if err := generateBenchCluster(tmp, n); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return nil, err
		}
		b.Logf("generated %d cases in %s: %s", n, time.Since(start).Round(time.Second), dir)
	}
	c, _, err := pgtest.StartKept(dir, map[string]string{"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on",
		"shared_buffers": "'512MB'", "effective_cache_size": "'4GB'", "random_page_cost": "1.1",
		// BenchmarkClerks: 50 windows with a pool of 2 and a listening
		// connection each.
		"max_connections": "250"})
	return c, err
}

// generateBenchCluster makes the cluster in dir: schema by Migrate as the
// migration role, the logins by set_clerk_role, then the cases by COPY as
// the superuser with triggers off, the indexes built afterwards.
func generateBenchCluster(dir string, n int) error {
	ctx := context.Background()
	c, _, err := pgtest.StartKept(dir, map[string]string{"shared_buffers": "'512MB'", "maintenance_work_mem": "'1GB'", "max_wal_size": "'4GB'"})
	if err != nil {
		return err
	}
	defer c.Stop()
	setup := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'", migrator, benchPassword),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", benchDB, migrator),
	}
	for _, q := range setup {
		if err := c.Exec(ctx, "postgres", q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	owner, err := pgx.Connect(ctx, c.URL(benchDB, migrator, benchPassword))
	if err != nil {
		return err
	}
	defer owner.Close(ctx)
	if err := Migrate(ctx, owner); err != nil {
		return err
	}
	v, err := ScramVerifier(benchPassword)
	if err != nil {
		return err
	}
	for _, l := range [][3]string{{benchAdmin, "admin", ""}, {benchClerk, "clerk", "vg-zell"}} {
		if _, err := owner.Exec(ctx, "SELECT amtstresen.set_clerk_role($1, $2, $3, '', $4)", l[0], l[1], l[2], v); err != nil {
			return fmt.Errorf("login %s: %w", l[0], err)
		}
	}
	if err := loadBenchCases(ctx, c, n); err != nil {
		return err
	}
	return c.Exec(ctx, benchDB, "CHECKPOINT")
}

// benchTables are the tables loaded, whose indexes are built after the load.
var benchTables = []string{"cases", "case_docs", "case_search"}

func loadBenchCases(ctx context.Context, c *pgtest.Cluster, n int) error {
	super, err := pgx.Connect(ctx, c.SuperURL(benchDB))
	if err != nil {
		return err
	}
	defer super.Close(ctx)
	// The indexes (but the keys) go and come back after the load.
	rows, err := super.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'amtstresen' AND tablename = ANY ($1)
		AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%key'`, benchTables)
	if err != nil {
		return err
	}
	type index struct{ name, def string }
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var i index
		return i, r.Scan(&i.name, &i.def)
	})
	if err != nil {
		return err
	}
	for _, i := range indexes {
		if _, err := super.Exec(ctx, "DROP INDEX amtstresen."+pgx.Identifier{i.name}.Sanitize()); err != nil {
			return err
		}
	}
	if _, err := super.Exec(ctx, "CREATE UNLOGGED TABLE amtstresen.bench_search (case_id bigint, words text)"); err != nil {
		return err
	}

	// One generator feeds three COPYs on three connections.
	type copyTable struct {
		name string
		cols []string
		ch   chan []any
	}
	tables := []*copyTable{
		{name: "cases", cols: []string{"ref", "idempotency_key", "office", "channel", "service", "portal_case", "status", "assignee", "flags",
			"municipality", "applicant_name", "applicant_sort", "birthdate", "email", "received_at", "updated_at", "closed_at"}},
		{name: "case_docs", cols: []string{"case_id", "applicant", "fields", "raw"}},
		{name: "bench_search", cols: []string{"case_id", "words"}},
	}
	errs := make(chan error, len(tables)+1)
	for _, tb := range tables {
		tb.ch = make(chan []any, 1024)
		conn, err := pgx.Connect(ctx, c.SuperURL(benchDB))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		// No triggers (written_tx, NOTIFY) and no foreign key checks.
		if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
			return err
		}
		go func() {
			_, err := conn.CopyFrom(ctx, pgx.Identifier{"amtstresen", tb.name}, tb.cols, pgx.CopyFromFunc(func() ([]any, error) {
				row, ok := <-tb.ch
				if !ok {
					return nil, nil
				}
				return row, nil
			}))
			if err != nil {
				for range tb.ch { // let the generator finish
				}
			}
			errs <- err
		}()
	}
	seqs, err := benchdata.Generate(testReg, n, benchEnd, func(k *benchdata.Case) error {
		var portal, raw, closed any
		if k.PortalCase != "" {
			portal, raw = k.PortalCase, string(k.Raw)
		}
		if !k.ClosedAt.IsZero() {
			closed = k.ClosedAt
		}
		a := k.Applicant
		applicant, _ := json.Marshal(a)
		tables[0].ch <- []any{k.Ref, k.Key, string(k.Office), string(k.Channel), k.Service, portal, string(k.Status), k.Assignee, flagsCol(k.Flags),
			k.Municipality, a.Name(), a.SortKey(), a.BirthDate, a.Email, k.ReceivedAt, k.UpdatedAt, closed}
		tables[1].ch <- []any{k.ID, string(applicant), string(k.Fields), raw}
		tables[2].ch <- []any{k.ID, strings.Join(SearchWords(k.Doc.Text()), " ")}
		return nil
	})
	for _, tb := range tables {
		close(tb.ch)
	}
	for range tables {
		if cerr := <-errs; cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	// The generator numbers the cases from 1 as the identity does.
	var maxID, count int64
	if err := super.QueryRow(ctx, "SELECT max(id), count(*) FROM amtstresen.cases").Scan(&maxID, &count); err != nil || maxID != int64(n) || count != int64(n) {
		return fmt.Errorf("loaded cases: max id %d, %d rows, %v; want %d", maxID, count, err, n)
	}
	steps := []string{
		// Without the triggers that copy office, month and open, copied here.
		"SET session_replication_role = replica",
		`INSERT INTO amtstresen.case_search (case_id, office, month, open, doc) SELECT b.case_id, c.office, amtstresen.case_month(c.received_at),
			c.status NOT IN ('done', 'rejected', 'withdrawn'), amtstresen.search_vector(b.words)
			FROM amtstresen.bench_search b JOIN amtstresen.cases c ON c.id = b.case_id`,
		// The search's word list, which the triggers would have kept.
		"INSERT INTO amtstresen.search_words (lexeme) SELECT DISTINCT l FROM amtstresen.case_search, unnest(tsvector_to_array(doc)) l",
		"RESET session_replication_role",
		"DROP TABLE amtstresen.bench_search",
	}
	for _, i := range indexes {
		steps = append(steps, i.def)
	}
	for k, v := range seqs {
		steps = append(steps, fmt.Sprintf("INSERT INTO amtstresen.ref_counters (prefix, year, last) VALUES ('%s', %s, %d)", k[:len(k)-4], k[len(k)-4:], v))
	}
	steps = append(steps, "VACUUM (ANALYZE)")
	for _, q := range steps {
		if _, err := super.Exec(ctx, q); err != nil {
			return fmt.Errorf("%.60s: %w", q, err)
		}
	}
	return nil
}

// timed runs fn b.N times (after one call that warms the caches, as a
// second page view would) and reports the median and the 99th percentile.
func timed(b *testing.B, fn func() (rows int, err error)) {
	b.Helper()
	rows, err := fn()
	if err != nil {
		b.Fatal(err)
	}
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if rows, err = fn(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, d)
	b.ReportMetric(float64(rows), "rows")
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

func benchList(b *testing.B, db *DB, f app.CaseFilter) {
	b.Helper()
	ctx := context.Background()
	timed(b, func() (int, error) {
		got, err := db.ListCases(ctx, f)
		return len(got), err
	})
}

var openStatuses = []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}

// benchAs runs the sub-benchmarks as the clerk of VG Zell and as the
// administrator.
func benchAs(b *testing.B, fn func(b *testing.B, db *DB)) {
	for _, login := range []string{benchClerk, benchAdmin} {
		b.Run(strings.TrimPrefix(login, "bench_"), func(b *testing.B) { fn(b, benchStore(b, login)) })
	}
}

// BenchmarkListFilteredPage: the queue of one office, open statuses,
// newest first, page of 50 (the default view); then other views.
func BenchmarkListFilteredPage(b *testing.B) {
	zell := []app.OfficeKey{app.OfficeZell}
	benchAs(b, func(b *testing.B, db *DB) {
		for _, tc := range []struct {
			name string
			f    app.CaseFilter
		}{
			{"office+open", app.CaseFilter{Offices: zell, Statuses: openStatuses}},
			{"office+done", app.CaseFilter{Offices: zell, Statuses: []app.Status{app.StatusDone}}},
			{"all-offices+open", app.CaseFilter{Statuses: openStatuses}},
			{"everything", app.CaseFilter{}},
			{"office+open+offset1900", app.CaseFilter{Offices: zell, Statuses: openStatuses, Offset: 1900}},
			{"office+open+sort-applicant", app.CaseFilter{Offices: zell, Statuses: openStatuses, Sort: "+applicant"}},
			{"office+open+sort-status", app.CaseFilter{Offices: zell, Statuses: openStatuses, Sort: "+status"}},
			{"office+service+all-statuses", app.CaseFilter{Offices: zell, Service: "hund-anmelden"}},
			{"assignee+open", app.CaseFilter{Offices: zell, Statuses: openStatuses, Assignee: "ZEL3"}},
			{"unassigned+open", app.CaseFilter{Offices: zell, Statuses: openStatuses, Unassigned: true}},
			{"flag+all-statuses", app.CaseFilter{Flag: app.FlagAttachmentMissing}},
		} {
			b.Run(tc.name, func(b *testing.B) { benchList(b, db, tc.f) })
		}
		// A window's update after an announcement: the announced cases
		// through its filter (app.PatchPage).
		b.Run("announced-cases", func(b *testing.B) {
			f := app.CaseFilter{Offices: zell, Statuses: openStatuses}
			rows, err := db.ListCases(context.Background(), f)
			if err != nil || len(rows) < 3 {
				b.Fatalf("page: %d rows, %v", len(rows), err)
			}
			f.IDs, f.Limit = []int64{rows[0].ID, rows[len(rows)/2].ID, rows[len(rows)-1].ID}, 3
			benchList(b, db, f)
		})
		b.Run("count-office+open", func(b *testing.B) {
			f := app.CaseFilter{Offices: zell, Statuses: openStatuses}
			timed(b, func() (int, error) { return db.CountCases(context.Background(), f) })
		})
	})
}

// BenchmarkSearch: search as you type, page of 50.
func BenchmarkSearch(b *testing.B) {
	benchAs(b, func(b *testing.B, db *DB) {
		for _, tc := range []struct {
			name string
			f    app.CaseFilter
		}{
			{"surname-prefix", app.CaseFilter{Query: "Zöl"}},
			{"common-surname-prefix", app.CaseFilter{Query: "Müll"}},
			{"first+surname", app.CaseFilter{Query: "Anna Schmi"}},
			{"surname+office+open", app.CaseFilter{Query: "Schmidt", Offices: []app.OfficeKey{app.OfficeZell}, Statuses: openStatuses}},
			{"reference", app.CaseFilter{Query: "ZEL-2024-01234"}},
			{"one-letter", app.CaseFilter{Query: "M"}},
		} {
			b.Run(tc.name, func(b *testing.B) { benchList(b, db, tc.f) })
		}
	})
}

// BenchmarkClaim: a clerk of VG Zell takes a case of the office (one
// transaction: the row locked, the assignee set, the audit entry; a
// durable commit). The cases are released again outside the timing.
func BenchmarkClaim(b *testing.B) {
	db := benchStore(b, benchClerk)
	ctx := context.Background()
	free, err := db.ListCases(ctx, app.CaseFilter{Offices: []app.OfficeKey{app.OfficeZell}, Statuses: []app.Status{app.StatusReceived},
		Unassigned: true, Limit: 1000})
	if err != nil || len(free) == 0 {
		b.Fatalf("no free cases: %v", err)
	}
	by := app.Actor{Clerk: benchClerk, Office: app.OfficeZell}
	var claimed []string
	release := func() {
		for _, ref := range claimed {
			if err := db.Release(ctx, ref, by); err != nil {
				b.Fatal(err)
			}
		}
		claimed = claimed[:0]
	}
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(claimed) == len(free) {
			b.StopTimer()
			release()
			b.StartTimer()
		}
		ref := free[len(claimed)].Ref
		t0 := time.Now()
		if err := db.Claim(ctx, ref, by); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t0))
		claimed = append(claimed, ref)
	}
	b.StopTimer()
	reportPercentiles(b, d)
	release()
}

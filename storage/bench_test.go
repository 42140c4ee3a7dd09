package storage

// Benchmarks on a database of realistic size: 1,000,000 cases (about
// eight years of the Kreis and its four Verbandsgemeinden). The database
// is generated once per schema version and size and kept in os.TempDir(),
// so that repeated runs start at once:
//
//	go test -tags sqlite_fts5 -run XXX -bench . -benchtime 200x ./storage/
//
// AMTSTRESEN_BENCH_CASES=20000 makes a smaller one for a quick look.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/benchdata"
)

const benchCasesDefault = 1_000_000

func benchCases() int {
	if n, err := strconv.Atoi(os.Getenv("AMTSTRESEN_BENCH_CASES")); err == nil && n > 0 {
		return n
	}
	return benchCasesDefault
}

// benchDB opens the cached benchmark database, generating it first when
// it is missing.
func benchDB(b *testing.B) *DB {
	b.Helper()
	n := benchCases()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("amtstresen-bench-schema%d-%d.db", SchemaVersion, n))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		start := time.Now()
		tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
		if err := generateBenchDB(tmp, n); err != nil {
			os.Remove(tmp)
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		fi, _ := os.Stat(path)
		b.Logf("generated %d cases in %s (%d MB): %s", n, time.Since(start).Round(time.Second), fi.Size()>>20, path)
	}
	db, err := Open(context.Background(), path, testReg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// generateBenchDB writes n cases in one transaction with prepared
// statements: schema by Open (migrations), then bulk inserts on a
// connection without journal, then Close (PRAGMA optimize).
func generateBenchDB(path string, n int) error {
	ctx := context.Background()
	db, err := Open(ctx, path, testReg)
	if err != nil {
		return err
	}
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=OFF&_synchronous=OFF&_cache_size=-400000")
	if err != nil {
		return err
	}
	raw.SetMaxOpenConns(1)
	defer raw.Close()
	if err := fillBench(ctx, raw, n); err != nil {
		return err
	}
	if _, err := raw.Exec("PRAGMA journal_mode = WAL"); err != nil {
		return err
	}
	raw.Close()
	db, err = Open(ctx, path, testReg)
	if err != nil {
		return err
	}
	return db.Close()
}

func fillBench(ctx context.Context, raw *sql.DB, n int) error {
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insCase, err := tx.PrepareContext(ctx, `INSERT INTO cases (id, ref, idempotency_key, office, channel, service, portal_case, status, assignee,
		flags, municipality, routing_reason, applicant_name, applicant_sort, birthdate, email, received_at, updated_at, closed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insDoc, err := tx.PrepareContext(ctx, `INSERT INTO case_docs (case_id, applicant, fields, raw) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insFTS, err := tx.PrepareContext(ctx, `INSERT INTO cases_fts (rowid, ref, applicant, service, place, fields, alt) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	seqs, err := benchdata.Generate(testReg, n, testNow, func(c *benchdata.Case) error {
		var portal, rawJSON any
		if c.PortalCase != "" {
			portal, rawJSON = c.PortalCase, string(c.Raw)
		}
		a := c.Applicant
		if _, err := insCase.ExecContext(ctx, c.ID, c.Ref, c.Key, string(c.Office), string(c.Channel), c.Service, portal, string(c.Status), c.Assignee,
			encodeFlags(c.Flags), c.Municipality, "", a.Name(), sortKey(a), a.BirthDate, a.Email, fmtTime(c.ReceivedAt),
			fmtTime(c.UpdatedAt), fmtTime(c.ClosedAt)); err != nil {
			return err
		}
		applicant, _ := json.Marshal(a)
		if _, err := insDoc.ExecContext(ctx, c.ID, string(applicant), string(c.Fields), rawJSON); err != nil {
			return err
		}
		d := c.Doc
		_, err := insFTS.ExecContext(ctx, c.ID, d.Ref, d.Applicant, d.Service, d.Place, d.Fields, d.Alt)
		return err
	})
	if err != nil {
		return err
	}
	for k, v := range seqs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ref_counters (prefix, year, last) VALUES (?, ?, ?)`, k[:len(k)-4], k[len(k)-4:], v); err != nil {
			return err
		}
	}
	return tx.Commit()
}

var openStatuses = []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}

func benchList(b *testing.B, db *DB, f app.CaseFilter) {
	b.Helper()
	ctx := context.Background()
	got, err := db.ListCases(ctx, f) // warm the cache like a second page view
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got, err = db.ListCases(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(got)), "rows")
}

// BenchmarkListFilteredPage: the queue of one office, open statuses,
// newest first, page of 50 (the default view); then other views.
func BenchmarkListFilteredPage(b *testing.B) {
	db := benchDB(b)
	zell := []app.OfficeKey{app.OfficeZell}
	b.Run("office+open", func(b *testing.B) { benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses}) })
	b.Run("office+done", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: []app.Status{app.StatusDone}})
	})
	b.Run("all-offices+open", func(b *testing.B) { benchList(b, db, app.CaseFilter{Statuses: openStatuses}) })
	b.Run("everything", func(b *testing.B) { benchList(b, db, app.CaseFilter{}) })
	b.Run("office+open+offset1900", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Offset: 1900})
	})
	b.Run("office+open+sort-applicant", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Sort: "+applicant"})
	})
	b.Run("office+open+sort-status", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Sort: "+status"})
	})
	b.Run("office+service+all-statuses", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Service: "hund-anmelden"})
	})
	b.Run("assignee+open", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Assignee: "ZEL3"})
	})
	b.Run("unassigned+open", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Unassigned: true})
	})
	b.Run("flag+all-statuses", func(b *testing.B) { benchList(b, db, app.CaseFilter{Flag: app.FlagOutsideDistrict}) })
	b.Run("count-office+open", func(b *testing.B) {
		ctx := context.Background()
		f := app.CaseFilter{Offices: zell, Statuses: openStatuses}
		n := 0
		for i := 0; i < b.N; i++ {
			var err error
			if n, err = db.CountCases(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "cases")
	})
}

// BenchmarkSearch: search as you type for a surname, page of 50.
func BenchmarkSearch(b *testing.B) {
	db := benchDB(b)
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
}

// BenchmarkClaim: a clerk takes a case (one write transaction with its
// audit entry). The cases are released again outside the timing.
func BenchmarkClaim(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	free, err := db.ListCases(ctx, app.CaseFilter{Statuses: []app.Status{app.StatusReceived}, Unassigned: true, Limit: 1000})
	if err != nil || len(free) == 0 {
		b.Fatalf("no free cases: %v", err)
	}
	by := app.Actor{Clerk: "bench", Office: app.OfficeZell}
	var claimed []string
	release := func() {
		for _, ref := range claimed {
			if err := db.Release(ctx, ref, by); err != nil {
				b.Fatal(err)
			}
		}
		claimed = claimed[:0]
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(claimed) == len(free) {
			b.StopTimer()
			release()
			b.StartTimer()
		}
		ref := free[len(claimed)].Ref
		if err := db.Claim(ctx, ref, by); err != nil {
			b.Fatal(err)
		}
		claimed = append(claimed, ref)
	}
	b.StopTimer()
	release()
}

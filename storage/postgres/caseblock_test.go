package postgres

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/storage/storetest"
	portalsync "amtstresen/sync"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

// blockOf prepares n applications of the two offices, keys prefix-0 …,
// each with the receipt of its mail.
func blockOf(t *testing.T, db *DB, prefix string, n int) ([]app.PreparedCase, []*app.Receipt) {
	t.Helper()
	var ps []app.PreparedCase
	var rcs []*app.Receipt
	offices := []app.OfficeKey{app.OfficeUlmen, app.OfficeZell}
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("%s-%d", prefix, i)
		ps = append(ps, db.PrepareCase(storetest.DogCase(t, key, "Karl", "Ulmer", offices[i%2], storetest.Start)))
		rcs = append(rcs, &app.Receipt{SHA256: "sum-" + key, Mailbox: "INBOX", UID: uint32(i + 1), Kind: "antrag", PortalCase: key})
	}
	return ps, rcs
}

// refsOf lists the references of the cases, by office prefix, sorted.
func refsOf(t *testing.T, tdb *testDB) map[string][]string {
	t.Helper()
	rows, err := tdb.super().Query(context.Background(), "SELECT ref FROM amtstresen.cases ORDER BY ref")
	if err != nil {
		t.Fatal(err)
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range refs {
		p, _, _ := strings.Cut(r, "-")
		out[p] = append(out[p], r)
	}
	return out
}

// gapFree fails unless each prefix's references are 1 … n of 2026.
func gapFree(t *testing.T, refs map[string][]string, want map[string]int) {
	t.Helper()
	for p, n := range want {
		var w []string
		for i := 1; i <= n; i++ {
			w = append(w, app.FormatRef(p, 2026, i))
		}
		if !slices.Equal(refs[p], w) {
			t.Errorf("%s: %v, want 1 … %d", p, refs[p], n)
		}
	}
}

// Three syncs write blocks of cases of the same two offices at the same
// time, as two runners would without the sync lock; the third rolls its
// batch back after its block. The numbers of each office are 1 … n
// without gaps or duplicates, and the rolled-back block left nothing.
func TestCaseBlocksGapFreeUnderConcurrency(t *testing.T) {
	tdb := newDB(t)
	ctx := context.Background()
	l := tdb.serviceLogin("abgleich", "sync")
	const n = 40
	start := make(chan struct{})
	errs := make(chan error, 3)
	var wg gosync.WaitGroup
	for r := 0; r < 3; r++ {
		db := l.open(t)
		ps, rcs := blockOf(t, db, fmt.Sprintf("r%d", r), n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errBack := errors.New("rolled back")
			err := db.Batch(ctx, func(tx app.PortalStore) error {
				// Two blocks per batch, as the sync's runs between messages.
				for _, part := range [][2]int{{0, n / 2}, {n / 2, n}} {
					created, err := tx.CreatePreparedCases(ctx, ps[part[0]:part[1]], rcs[part[0]:part[1]])
					if err != nil || len(created) != part[1]-part[0] || slices.Contains(created, false) {
						return fmt.Errorf("runner %d: %v, %v", r, created, err)
					}
				}
				if r == 2 {
					return errBack
				}
				return nil
			})
			if r == 2 && errors.Is(err, errBack) {
				err = nil
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	gapFree(t, refsOf(t, tdb), map[string]int{"ULM": n, "ZEL": n})
	if c := count(t, tdb.super(), "SELECT count(*) FROM amtstresen.cases WHERE portal_case LIKE 'r2-%'"); c != 0 {
		t.Errorf("%d cases of the rolled-back block", c)
	}
	for _, table := range []string{"case_docs", "case_search", "outbox", "mail_receipts"} {
		if c := count(t, tdb.super(), "SELECT count(*) FROM amtstresen."+table); c != 2*n {
			t.Errorf("%s: %d rows, want %d", table, c, 2*n)
		}
	}
	if c := count(t, tdb.super(), "SELECT count(*) FROM amtstresen.audit_log WHERE action = 'case.create'"); c != 2*n {
		t.Errorf("%d audit entries, want %d", c, 2*n)
	}
}

// A clerk's program creates a case with a key of the sync's block while
// the block is written (the key was not there when the block looked): the
// block fails on the server and leaves nothing; the cases are created one
// by one instead, the one with the clerk's key reported as there already,
// the numbers without gaps.
func TestCaseBlockFallsBackOneByOne(t *testing.T) {
	tdb := newDB(t)
	ctx := context.Background()
	sync := tdb.serviceLogin("abgleich", "sync").open(t)
	other := tdb.allLogin().open(t)
	ps, rcs := blockOf(t, sync, "f", 10)
	// The other program's transaction holds the key "f-7" (uncommitted).
	taken := make(chan struct{})
	release := make(chan struct{})
	otherDone := make(chan error, 1)
	go func() {
		otherDone <- other.Batch(ctx, func(tx app.PortalStore) error {
			nc := storetest.DogCase(t, "f-7", "Erika", "Vorher", app.OfficeKaisersesch, storetest.Start)
			if _, created, err := tx.CreateCase(ctx, nc, nil); err != nil || !created {
				return fmt.Errorf("other: %v, %v", created, err)
			}
			close(taken)
			<-release
			return nil
		})
	}()
	<-taken
	var created []bool
	var failed error
	done := make(chan error, 1)
	go func() {
		done <- sync.Batch(ctx, func(tx app.PortalStore) error {
			created, failed = tx.CreatePreparedCases(ctx, ps, rcs)
			return nil
		})
	}()
	// The block waits for the other transaction's key; let it commit.
	time.Sleep(300 * time.Millisecond)
	close(release)
	if err := <-otherDone; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, true, true, true, true, true, false, true, true}
	if failed != nil || !slices.Equal(created, want) {
		t.Fatalf("created %v, %v; want %v", created, failed, want)
	}
	gapFree(t, refsOf(t, tdb), map[string]int{"ULM": 5, "ZEL": 4, "KAI": 1})
	if c := count(t, tdb.super(), "SELECT count(*) FROM amtstresen.audit_log WHERE action = 'case.create'"); c != 10 {
		t.Errorf("%d audit entries, want 10", c)
	}
	if c := count(t, tdb.super(), "SELECT count(*) FROM amtstresen.mail_receipts"); c != 10 {
		t.Errorf("%d receipts, want 10", c)
	}
	if c := count(t, tdb.super(), "SELECT count(*) FROM amtstresen.case_search"); c != 10 {
		t.Errorf("%d search rows, want 10", c)
	}
}

// The portal sync takes the same mails into PostgreSQL (runs of
// applications written as blocks) as into the SQLite store (one by one):
// the same result, the same cases with the same numbers, flags, files,
// notes and messages to the citizen, the same review list. The mix has
// messages right after their application in the same batch, messages
// before it, re-deliveries, copies and mails for review.
func TestSyncIntoPostgresAsSQLite(t *testing.T) {
	ctx := context.Background()
	g := portaltest.New(11)
	mails := g.Mix(120)
	tdb := newDB(t)
	pg := tdb.serviceLogin("abgleich", "sync").open(t)
	lite, err := storage.Open(ctx, filepath.Join(t.TempDir(), "lite.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	type taken struct {
		res   *portalsync.Result
		cases map[string]string
	}
	type store interface {
		portalsync.Store
		AllCases(ctx context.Context) ([]*app.Case, error)
	}
	syncInto := func(st store) taken {
		srv, err := portaltest.StartMemServer("eingang", "geheim", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		for _, m := range mails {
			if err := srv.Append("INBOX", m.Raw); err != nil {
				t.Fatal(err)
			}
		}
		cfg := &app.Config{IMAP: app.IMAPConfig{Address: srv.Addr, TLS: mailbox.TLSNone, Username: srv.User},
			Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
		cfg.Defaults()
		s, err := portalsync.New(cfg, st, testReg, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Password = func() (string, error) { return "geheim", nil }
		s.BatchSize = 25
		res, err := s.Sync(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := st.AllCases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := taken{res: res, cases: map[string]string{}}
		for _, c := range cs {
			notes, err := st.Notes(ctx, c.Ref)
			if err != nil {
				t.Fatal(err)
			}
			var atts []string
			for _, a := range c.Attachments {
				atts = append(atts, a.SHA256+"/"+a.Problem)
			}
			out.cases[c.PortalCase] = fmt.Sprintf("%s %s %s %v %v notes=%d", c.Ref, c.Office, c.Status, c.Flags, atts, len(notes))
		}
		items, err := st.ReviewItems(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			out.cases["review "+it.SHA256] = string(it.Reason) + " " + it.PortalCase
		}
		return out
	}
	want, got := syncInto(lite), syncInto(pg)
	want.res.Duration, got.res.Duration = 0, 0
	if *got.res != *want.res {
		t.Errorf("result\n got %+v\nwant %+v", got.res, want.res)
	}
	if want.res.Cases < 50 || want.res.Messages == 0 || want.res.Review == 0 {
		t.Errorf("the mix took in too little: %+v", want.res)
	}
	for k, w := range want.cases {
		if got.cases[k] != w {
			t.Errorf("%s:\n got %s\nwant %s", k, got.cases[k], w)
		}
	}
	if len(got.cases) != len(want.cases) {
		t.Errorf("%d cases and review items, want %d", len(got.cases), len(want.cases))
	}
	// Each new case audited once (the sync's login reads no audit log),
	// and the citizen heard of each new application once.
	if n := count(t, tdb.super(), "SELECT count(*) FROM amtstresen.audit_log WHERE action = 'case.create'"); n != want.res.Cases {
		t.Errorf("%d case.create entries for %d cases", n, want.res.Cases)
	}
	if n := count(t, tdb.super(), "SELECT count(*) FROM amtstresen.outbox WHERE status = 'eingegangen'"); n != want.res.Cases {
		t.Errorf("%d eingegangen messages for %d cases", n, want.res.Cases)
	}
}

// A citizen's message changes its case's updated_at in place (HOT, no
// entry in the case's twenty indexes): the pages the sync fills keep room
// for it (migration 0010, fillfactor 85).
func TestMessageUpdatesCaseInPlace(t *testing.T) {
	tdb := newDB(t)
	ctx := context.Background()
	db := tdb.serviceLogin("abgleich", "sync").open(t)
	ps, rcs := blockOf(t, db, "h", 300)
	if err := db.Batch(ctx, func(tx app.PortalStore) error {
		_, err := tx.CreatePreparedCases(ctx, ps, rcs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"h-3", "h-150", "h-299"} {
		if err := db.AddMessage(ctx, k, "m-"+k, &app.Note{Text: "Hallo"}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	db.Close() // its sessions report their statistics as they end
	var upd, hot int
	for try := 0; try < 50 && upd < 3; try++ {
		time.Sleep(100 * time.Millisecond)
		if err := tdb.super().QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_all_tables
			WHERE schemaname = 'amtstresen' AND relname = 'cases'`).Scan(&upd, &hot); err != nil {
			t.Fatal(err)
		}
	}
	if upd != 3 || hot != 3 {
		t.Errorf("%d updates of cases, %d of them in place; want 3 and 3", upd, hot)
	}
}

package sync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	gosync "sync"
	"testing"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync/internal/memstore"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

// TestSyncSameMailTwiceSQLite: with the SQLite store the receipts of a
// batch are looked up in one query. A mail that is in the inbox twice
// (same Message-ID, in one batch), and one taken in by an earlier run
// that did not file it, are each taken in once and filed.
func TestSyncSameMailTwiceSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "a.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := portaltest.New(8)
	a := g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"})
	b := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
	citizen := g.CitizenMail()

	first := startMem(t, nil)
	appendAll(t, first, b.Raw)
	if _, err := newMemSyncer(t, first, db, nil).Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// A new mailbox (as after a crash before filing, or a restored server):
	// b again, a twice, the citizen's mail twice.
	// (The in-memory servers share one UIDVALIDITY: forget the cursor.)
	if err := db.SaveSyncState(ctx, &app.SyncState{Mailbox: "INBOX"}); err != nil {
		t.Fatal(err)
	}
	srv := startMem(t, nil)
	appendAll(t, srv, a.Raw, b.Raw, citizen.Raw, a.Raw, citizen.Raw)
	s := newMemSyncer(t, srv, db, nil)
	res, err := s.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cases != 1 || res.Review != 1 || res.Recovered != 3 {
		t.Errorf("result %+v, want 1 case, 1 review, 3 recovered", res)
	}
	cases, _ := db.AllCases(ctx)
	if len(cases) != 2 {
		t.Errorf("%d cases, want 2", len(cases))
	}
	reviews, _ := db.ReviewItems(ctx, true)
	if len(reviews) != 1 {
		t.Errorf("%d review items, want 1", len(reviews))
	}
	if srv.Count("INBOX") != 0 || srv.Count("Übernommen") != 3 || srv.Count("Zur Sichtung") != 2 {
		t.Errorf("inbox %d, Übernommen %d, Zur Sichtung %d", srv.Count("INBOX"), srv.Count("Übernommen"), srv.Count("Zur Sichtung"))
	}
}

// gatedStore is a batching store whose commits become durable only when
// the test says so.
type gatedStore struct {
	*memstore.Batching
	calls   chan struct{} // one per call of Durable
	release chan error
}

func (g *gatedStore) Durable(ctx context.Context) error {
	g.calls <- struct{}{}
	return <-g.release
}

// TestSyncFilesOnlyWhenDurable: a mail is filed on the server only after
// the store says its commit is on disk; when that fails, the mail stays
// in the inbox (it is taken in again, once, by the next run).
func TestSyncFilesOnlyWhenDurable(t *testing.T) {
	g := portaltest.New(9)
	srv := startMem(t, nil)
	for range 3 {
		appendAll(t, srv, g.Antrag(portaltest.AntragSpec{}).Raw)
	}
	st := &gatedStore{Batching: &memstore.Batching{Store: memstore.New()}, calls: make(chan struct{}), release: make(chan error)}
	s := newMemSyncer(t, srv, st, nil)
	s.BatchSize = 100
	done := make(chan error, 1)
	go func() { _, err := s.Sync(context.Background(), nil); done <- err }()
	select {
	case <-st.calls:
	case err := <-done:
		t.Fatalf("sync ended (%v) without asking whether its commit is on disk", err)
	}
	// Committed (the cases are there), not yet on disk: nothing filed.
	if len(st.Cases) != 3 || srv.Count("INBOX") != 3 {
		t.Fatalf("before the disk: cases %d, inbox %d", len(st.Cases), srv.Count("INBOX"))
	}
	st.release <- errors.New("disk full")
	if err := <-done; err == nil {
		t.Fatal("no error when the store could not sync")
	}
	if srv.Count("INBOX") != 3 || srv.Count("Übernommen") != 0 {
		t.Errorf("after the failed sync: inbox %d, Übernommen %d", srv.Count("INBOX"), srv.Count("Übernommen"))
	}
	// The next run: the receipts say taken in, the mails are only filed.
	go func() { _, err := s.Sync(context.Background(), nil); done <- err }()
	<-st.calls
	st.release <- nil
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(st.Cases) != 3 || srv.Count("INBOX") != 0 || srv.Count("Übernommen") != 3 {
		t.Errorf("after the second run: cases %d, inbox %d, Übernommen %d", len(st.Cases), srv.Count("INBOX"), srv.Count("Übernommen"))
	}
}

// TestSplitBatches: small first and last batches, the rest full, every
// mail once and in order, no batch over the byte limit.
func TestSplitBatches(t *testing.T) {
	refs := make([]mailbox.Ref, 10000)
	for i := range refs {
		refs[i] = mailbox.Ref{UID: uint32(i + 1), Size: 1000}
	}
	b := splitBatches(refs, 500, 32<<20)
	var sizes []int
	next := uint32(1)
	for _, batch := range b {
		sizes = append(sizes, len(batch))
		for _, r := range batch {
			if r.UID != next {
				t.Fatalf("uid %d where %d belongs", r.UID, next)
			}
			next++
		}
	}
	if next != 10001 || sizes[0] != 100 || sizes[len(sizes)-1] != 100 || sizes[1] != 500 || sizes[len(sizes)-2] != 300 {
		t.Errorf("batch sizes %v", sizes)
	}
	for _, batch := range splitBatches(refs[:50], 500, 20_000) {
		if len(batch) > 20 {
			t.Errorf("batch of %d mails over the byte limit", len(batch))
		}
	}
	if b := splitBatches(refs[:3], 500, 32<<20); len(b) != 1 {
		t.Errorf("3 mails: %d batches", len(b))
	}
}

// failingDisk is a batching store whose n-th sync to disk fails.
type failingDisk struct {
	*memstore.Batching
	mu    gosync.Mutex
	calls int
	fail  int
}

func (f *failingDisk) Durable(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == f.fail {
		return errors.New("disk full")
	}
	return nil
}

// TestSyncFilingFailsMidway: a batch that cannot be filed (its commit
// could not be synced to disk) stops the sync, and the cursor does not
// pass it; the next run takes nothing in twice and
// files the rest.
func TestSyncFilingFailsMidway(t *testing.T) {
	g := portaltest.New(10)
	srv := startMem(t, nil)
	for range 20 {
		appendAll(t, srv, g.Antrag(portaltest.AntragSpec{}).Raw)
	}
	st := &failingDisk{Batching: &memstore.Batching{Store: memstore.New()}, fail: 2}
	s := newMemSyncer(t, srv, st, nil)
	s.BatchSize = 5 // batches of 1, 5, 5, 5, 3, 1 mails
	if _, err := s.Sync(context.Background(), nil); err == nil {
		t.Fatal("no error when a batch could not be synced to disk")
	}
	state, _ := st.SyncState(context.Background(), "INBOX")
	if state == nil || state.LastUID > 1 {
		t.Errorf("cursor %+v passes the batch that was not filed (UIDs 2-6)", state)
	}
	if srv.Count("INBOX") < 5 {
		t.Errorf("inbox %d: the batch that was not filed must stay", srv.Count("INBOX"))
	}
	st.fail = 0
	res, err := s.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Cases) != 20 || srv.Count("INBOX") != 0 || srv.Count("Übernommen") != 20 {
		t.Errorf("after the second run: cases %d, inbox %d, Übernommen %d (%s)", len(st.Cases), srv.Count("INBOX"), srv.Count("Übernommen"), res.Summary())
	}
}

// gcStore notes the collector's setting while the sync stores.
type gcStore struct {
	*memstore.Store
	percent int
}

func (g *gcStore) Batch(ctx context.Context, fn func(tx app.PortalStore) error) error {
	g.percent = debug.SetGCPercent(100)
	debug.SetGCPercent(g.percent)
	return g.Store.Batch(ctx, fn)
}

// TestSyncLeavesTheCollector: the sync changes no setting of the whole
// process (the garbage collector is the program's: ui/cli relaxes it
// through OnRun); OnRun is called as each run starts and what it returns
// as the run ends.
func TestSyncLeavesTheCollector(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC set in the environment")
	}
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	srv := startMem(t, nil)
	appendAll(t, srv, portaltest.New(12).Antrag(portaltest.AntragSpec{}).Raw)
	st := &gcStore{Store: memstore.New()}
	s := newMemSyncer(t, srv, st, nil)
	mustSync(t, s)
	if st.percent != 100 {
		t.Errorf("GOGC %d while the sync stored, want 100 (untouched)", st.percent)
	}
	var events []string
	s.OnRun = func() func() {
		events = append(events, "start")
		return func() { events = append(events, "end") }
	}
	appendAll(t, srv, portaltest.New(13).Antrag(portaltest.AntragSpec{}).Raw)
	mustSync(t, s)
	if len(events) != 2 || events[0] != "start" || events[1] != "end" || len(st.Cases) != 2 {
		t.Errorf("hook calls %v, %d cases", events, len(st.Cases))
	}
}

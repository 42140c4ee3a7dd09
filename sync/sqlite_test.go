package sync

import (
	"context"
	"path/filepath"
	"testing"

	"amtstresen/app"
	"amtstresen/storage"
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

package offline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/offline"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/postgres/pgtest/pgsetup"
	"amtstresen/storage/storetest"
)

var reg = app.Default()

// walkIn is a walk-in application for office o with the form's key.
func walkIn(t *testing.T, key, last string, o app.OfficeKey) *app.NewCase {
	nc := storetest.DogCase(t, key, "Anna", last, o, storetest.Start)
	nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, "ulm_a"
	return nc
}

func open(t *testing.T, path string) *offline.Outbox {
	t.Helper()
	ob, err := offline.Open(context.Background(), path, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

// The outbox keeps an application under one provisional reference (also
// when held twice), in a file only its user can read, across a restart
// of the program; written and refused entries say so.
func TestOutboxHoldAndSettle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ausgang", "offline.db")
	ob := open(t, path)
	nc := walkIn(t, "form-1", "Schmitt", app.OfficeUlmen)
	e, err := ob.Hold(ctx, nc, app.OfficeUlmen, "ulm_a")
	if err != nil {
		t.Fatal(err)
	}
	if !app.IsProvisionalRef(e.ProvisionalRef) || !strings.HasPrefix(e.ProvisionalRef, "ULM-2026-V-") || e.State != app.OfflineWaiting {
		t.Fatalf("entry %+v", e)
	}
	again, err := ob.Hold(ctx, nc, app.OfficeUlmen, "ulm_a")
	if err != nil || again.ProvisionalRef != e.ProvisionalRef {
		t.Fatalf("held twice: %+v, %v", again, err)
	}
	other, err := ob.Hold(ctx, walkIn(t, "form-2", "Weber", app.OfficeUlmen), app.OfficeUlmen, "ulm_a")
	if err != nil || other.ProvisionalRef == e.ProvisionalRef {
		t.Fatalf("second: %+v, %v", other, err)
	}
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, fi.Mode(), err)
		}
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v", fi.Mode())
	}
	ob.Close()

	ob = open(t, path)
	es, err := ob.Entries(ctx, app.OfflineWaiting)
	if err != nil || len(es) != 2 || es[0].Key != "form-1" || es[0].Case.Applicant.LastName != "Schmitt" || es[0].Clerk != "ulm_a" {
		t.Fatalf("after reopening: %+v, %v", es, err)
	}
	if err := ob.Written(ctx, "form-1", "ULM-2026-00001"); err != nil {
		t.Fatal(err)
	}
	if err := ob.Refused(ctx, "form-2", "Die Dienststelle ist unbekannt."); err != nil {
		t.Fatal(err)
	}
	if err := ob.Written(ctx, "form-9", "ULM-2026-00009"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("unknown key: %v", err)
	}
	es, _ = ob.Entries(ctx, "")
	if len(es) != 2 || es[0].State != app.OfflineWritten || es[0].FinalRef != "ULM-2026-00001" ||
		es[1].State != app.OfflineConflict || es[1].Message == "" || es[1].DoneAt.IsZero() {
		t.Errorf("settled: %+v", es)
	}
	if w, _ := ob.Entries(ctx, app.OfflineWaiting); len(w) != 0 {
		t.Errorf("still waiting: %+v", w)
	}
}

// A counter of VG Ulmen loses its PostgreSQL server: the walk-in
// application is refused as unavailable and kept in the outbox; a replay
// while the server is down changes nothing; when it is back, the replay
// writes it under its final reference (the provisional one still finds
// it), records a refusal in German, and an application written before a
// crash (the outbox not yet told) is not written twice.
func TestOfflineIntakeReplayedWhenServerBack(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	l := d.Clerk(t, "ulm_a", "clerk", app.OfficeUlmen, "Anna Ulmer")
	_, st, actor := l.OpenScoped(t, reg)
	ob := open(t, filepath.Join(t.TempDir(), "offline.db"))

	c.Shutdown()
	nc := walkIn(t, "form-1", "Schmitt", app.OfficeUlmen)
	if _, _, err := st.CreateCase(ctx, nc, nil); !app.Unavailable(err) {
		t.Fatalf("create without server: %v", err)
	}
	held, err := ob.Hold(ctx, nc, app.OfficeUlmen, actor.Clerk)
	if err != nil {
		t.Fatal(err)
	}
	bad := walkIn(t, "form-2", "Weber", app.OfficeUlmen)
	bad.Routing.Office = "vg-unbekannt" // refused by the store
	if _, err := ob.Hold(ctx, bad, app.OfficeUlmen, actor.Clerk); err != nil {
		t.Fatal(err)
	}
	res, err := app.ReplayOffline(ctx, ob, st)
	if !app.Unavailable(err) || len(res) != 0 {
		t.Fatalf("replay without server: %+v, %v", res, err)
	}
	if w, _ := ob.Entries(ctx, app.OfflineWaiting); len(w) != 2 {
		t.Fatalf("waiting after a failed replay: %d", len(w))
	}

	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // the pool reconnects on its own
		if res, err = app.ReplayOffline(ctx, ob, st); !app.Unavailable(err) || i > 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || len(res) != 2 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	if r := res[0]; r.Case == nil || !r.Created || r.Entry.FinalRef != "ULM-2026-00001" || r.Case.ProvisionalRef != held.ProvisionalRef {
		t.Errorf("written: %+v", r)
	}
	if r := res[1]; r.Err == nil || r.Entry.State != app.OfflineConflict || !strings.Contains(r.Entry.Message, "unbekannt") {
		t.Errorf("refused: %+v", r)
	}
	got, err := st.CaseByRef(ctx, held.ProvisionalRef)
	if err != nil || got.Ref != "ULM-2026-00001" {
		t.Fatalf("by provisional ref: %+v, %v", got, err)
	}
	es, _ := ob.Entries(ctx, "")
	if es[0].State != app.OfflineWritten || es[1].State != app.OfflineConflict {
		t.Errorf("outbox: %+v", es)
	}

	// Written, and the program died before the outbox heard of it.
	third := walkIn(t, "form-3", "Becker", app.OfficeUlmen)
	e3, err := ob.Hold(ctx, third, app.OfficeUlmen, actor.Clerk)
	if err != nil {
		t.Fatal(err)
	}
	w := *third
	w.ProvisionalRef = e3.ProvisionalRef
	if _, _, err := st.CreateCase(ctx, &w, nil); err != nil {
		t.Fatal(err)
	}
	res, err = app.ReplayOffline(ctx, ob, st)
	if err != nil || len(res) != 1 || res[0].Created || res[0].Entry.FinalRef != "ULM-2026-00002" {
		t.Fatalf("replay after a crash: %+v, %v", res, err)
	}
	if n, _ := st.CountCases(ctx, app.CaseFilter{}); n != 2 {
		t.Errorf("%d cases, want 2", n)
	}
	if res, err := app.ReplayOffline(ctx, ob, st); err != nil || len(res) != 0 {
		t.Errorf("nothing left: %+v, %v", res, err)
	}
}

package offline_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/storage/offline"
	"amtstresen/storage/postgres"
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

// An outbox file of the previous program version (walk-in applications
// only, no schema version) is brought up to date when opened: its
// application still waits, and changes to cases can be kept in it.
func TestOutboxUpgradesOldFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "offline.db")
	old, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`CREATE TABLE entries (
    key TEXT PRIMARY KEY, provisional_ref TEXT NOT NULL UNIQUE, office TEXT NOT NULL, clerk TEXT NOT NULL,
    held_at TEXT NOT NULL, new_case TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'waiting',
    final_ref TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '', done_at TEXT NOT NULL DEFAULT '') STRICT;
INSERT INTO entries (key, provisional_ref, office, clerk, held_at, new_case) VALUES
    ('form-old', 'ULM-2026-V-0011223344556677', 'vg-ulmen', 'ulm_a', '2026-12-07T09:00:00Z', '{"Applicant":{"nachname":"Alt"}}');`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	ob := open(t, path)
	es, err := ob.Entries(ctx, app.OfflineWaiting)
	if err != nil || len(es) != 1 || es[0].Key != "form-old" || es[0].Case.Applicant.LastName != "Alt" || es[0].Tried {
		t.Fatalf("old entry after the upgrade: %+v, %v", es, err)
	}
	a, err := ob.HoldAction(ctx, &app.OfflineAction{Kind: app.OfflineNote, Ref: "ULM-2026-00001", Text: "Rückruf", Clerk: "ulm_a",
		Seen: app.OfflineSeen{Status: app.StatusReceived, Office: app.OfficeUlmen, UpdatedAt: storetest.Start}})
	if err != nil || a.Key == "" || a.State != app.OfflineWaiting || !a.Seen.UpdatedAt.Equal(storetest.Start) {
		t.Fatalf("held after the upgrade: %+v, %v", a, err)
	}
	ob.Close()
	ob = open(t, path) // opened again: no step runs twice
	if as, err := ob.Actions(ctx, ""); err != nil || len(as) != 1 {
		t.Fatalf("actions after reopening: %+v, %v", as, err)
	}
	if err := ob.Discard(ctx, "form-old"); err != nil {
		t.Fatal(err)
	}
	if err := ob.Discard(ctx, a.Key); err != nil {
		t.Fatal(err)
	}
	es, _ = ob.Entries(ctx, "")
	as, _ := ob.Actions(ctx, "")
	if len(es) != 0 || len(as) != 0 {
		t.Errorf("after discarding: %+v %+v", es, as)
	}
	ob.Close()

	// A file of a newer program is refused in German, not opened.
	newer, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newer.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	newer.Close()
	if _, err := offline.Open(ctx, path, reg); app.ErrorCode(err) != app.ETOONEW || !strings.Contains(app.ErrorMessage(err), "neueren Version") {
		t.Errorf("a newer file: %v", err)
	}

	// A file of the version before applications could be discarded
	// while waiting (schema step 3), two applications waiting in it:
	// both still wait, not marked as being sent, so the clerk can
	// discard them until the replay marks one.
	path = filepath.Join(t.TempDir(), "offline.db")
	open(t, path).Close()
	prev, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prev.Exec(`ALTER TABLE entries DROP COLUMN tried; PRAGMA user_version = 3;
INSERT INTO entries (key, provisional_ref, office, clerk, held_at, new_case) VALUES
    ('form-a', 'ULM-2026-V-00000000000000aa', 'vg-ulmen', 'ulm_a', '2026-12-07T09:00:00Z', '{"Applicant":{"nachname":"Alt"}}'),
    ('form-b', 'ULM-2026-V-00000000000000bb', 'vg-ulmen', 'ulm_a', '2026-12-07T09:01:00Z', '{"Applicant":{"nachname":"Bald"}}');`); err != nil {
		t.Fatal(err)
	}
	prev.Close()
	ob = open(t, path)
	es, err = ob.Entries(ctx, app.OfflineWaiting)
	if err != nil || len(es) != 2 || es[0].Tried || es[1].Tried {
		t.Fatalf("after the upgrade from step 3: %+v, %v", es, err)
	}
	if err := ob.TryEntry(ctx, "form-b"); err != nil {
		t.Fatal(err)
	}
	if err := ob.Discard(ctx, "form-a"); err != nil {
		t.Errorf("discard after the upgrade: %v", err)
	}
	if err := ob.Discard(ctx, "form-b"); app.ErrorCode(err) != app.ECONFLICT {
		t.Errorf("discard of one being sent after the upgrade: %v", err)
	}
	ob.Close()
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v int
	if err := raw.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 4 {
		t.Errorf("schema %d, %v", v, err)
	}
}

// Two clerks of VG Ulmen, Anna Ulmer's counter without its server: her
// claims, status change and notes wait on her PC with what she saw. When
// the server is back they are replayed in order, each once: a claim is
// done, a claim of a case Max Becker took meanwhile is refused in German
// naming him (his claim stays), a status change after it too, a note is
// added even to his case, and a note sent just before a crash (the
// outbox not told) is not added twice. A case forwarded away meanwhile
// refuses the claim and the note, and the note's text stays in the
// message. A status change over M. Becker's (he moved the case without
// claiming it) is refused too. A claim and a status change sent before a crash are found
// done, not done again nor taken for another's work.
func TestOfflineActionsReplayed(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	sys := d.Service(t, "abgleich", "sync", "admin").Open(t, reg)
	db, st, anna := d.Clerk(t, "ulm_a", "clerk", app.OfficeUlmen, "Anna Ulmer").OpenScoped(t, reg)
	msgs := st.Outbox(db) // as the window has it
	_, other, max := d.Clerk(t, "ulm_b", "clerk", app.OfficeUlmen, "M. Becker").OpenScoped(t, reg)
	// The windows name their clerks as set up at the first start.
	anna.Name, max.Name = "Anna Ulmer", "M. Becker"
	ob := open(t, filepath.Join(t.TempDir(), "offline.db"))
	var cs []*app.Case
	for i, name := range []string{"Frei", "Becker", "Notiz", "Weg", "Absturz", "Status"} {
		nc := storetest.DogCase(t, "p-"+name, "Karl", name, app.OfficeUlmen, storetest.Start.Add(time.Duration(i)*time.Minute))
		cc, _, err := sys.CreateCase(ctx, nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, cc)
	}
	free, taken, noted, gone, crashedClaim, moved := cs[0], cs[1], cs[2], cs[3], cs[4], cs[5]
	seen := func(c *app.Case) app.OfflineSeen {
		return app.OfflineSeen{Status: c.Status, Assignee: c.Assignee, Office: c.Office, UpdatedAt: c.UpdatedAt}
	}
	hold := func(a app.OfflineAction) *app.OfflineAction {
		t.Helper()
		a.Clerk, a.Name = anna.Clerk, anna.Name
		h, err := ob.HoldAction(ctx, &a)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	c.Shutdown()
	if err := st.Claim(ctx, free.Ref, anna); !app.Unavailable(err) {
		t.Fatalf("claim without server: %v", err)
	}
	hold(app.OfflineAction{Kind: app.OfflineClaim, Ref: free.Ref, Seen: seen(free)})
	hold(app.OfflineAction{Kind: app.OfflineClaim, Ref: taken.Ref, Seen: seen(taken)})
	afterClaim := seen(taken)
	afterClaim.Assignee = anna.Clerk // the window showed her pending claim
	hold(app.OfflineAction{Kind: app.OfflineStatus, Ref: taken.Ref, Status: app.StatusInProgress, Seen: afterClaim})
	hold(app.OfflineAction{Kind: app.OfflineNote, Ref: taken.Ref, Text: "Hund bereits gechippt", Seen: afterClaim})
	crashed := hold(app.OfflineAction{Kind: app.OfflineNote, Ref: noted.Ref, Text: "Rückruf erbeten", Seen: seen(noted)})
	hold(app.OfflineAction{Kind: app.OfflineClaim, Ref: gone.Ref, Seen: seen(gone)})
	hold(app.OfflineAction{Kind: app.OfflineNote, Ref: gone.Ref, Text: "Bescheid an Tierarzt", Seen: seen(gone)})
	cc := hold(app.OfflineAction{Kind: app.OfflineClaim, Ref: crashedClaim.Ref, Seen: seen(crashedClaim)})
	claimedSeen := seen(crashedClaim)
	claimedSeen.Assignee = anna.Clerk
	cst := hold(app.OfflineAction{Kind: app.OfflineStatus, Ref: crashedClaim.Ref, Status: app.StatusInProgress, Text: "begonnen", Seen: claimedSeen})
	hold(app.OfflineAction{Kind: app.OfflineStatus, Ref: moved.Ref, Status: app.StatusWithdrawn, Text: "telefonisch zurückgenommen", Seen: seen(moved)})
	if res, err := app.ReplayOfflineActions(ctx, ob, st, msgs, reg, anna); !app.Unavailable(err) || len(res) != 0 {
		t.Fatalf("replay without server: %+v, %v", res, err)
	}

	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; ; i++ { // the pool reconnects on its own
		if err = other.Claim(ctx, taken.Ref, max); !app.Unavailable(err) || i > 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Forward(ctx, gone.Ref, app.OfficeZell, "wohnt in Zell", max); err != nil {
		t.Fatal(err)
	}
	if err := other.SetStatus(ctx, moved.Ref, app.StatusInProgress, "", max); err != nil { // without claiming it
		t.Fatal(err)
	}
	// The note was sent before a crash: on the server, the outbox not told.
	if err := ob.TryAction(ctx, crashed.Key, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.AddNote(ctx, noted.Ref, crashed.Text, anna); err != nil {
		t.Fatal(err)
	}
	if err := ob.TryAction(ctx, cc.Key, 0); err != nil { // and a claim
		t.Fatal(err)
	}
	if err := st.Claim(ctx, crashedClaim.Ref, anna); err != nil {
		t.Fatal(err)
	}
	if err := ob.TryAction(ctx, cst.Key, 0); err != nil { // and its status change
		t.Fatal(err)
	}
	if err := st.SetStatus(ctx, crashedClaim.Ref, app.StatusInProgress, "begonnen", anna); err != nil {
		t.Fatal(err)
	}

	res, err := app.ReplayOfflineActions(ctx, ob, st, msgs, reg, anna)
	if err != nil || len(res) != 10 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	wantMsg := []string{
		"",
		"Der Vorgang " + taken.Ref + " wurde inzwischen von M. Becker übernommen; Ihre Übernahme wurde nicht ausgeführt.",
		"Der Vorgang " + taken.Ref + " wurde inzwischen von M. Becker übernommen; Ihre Statusänderung auf „In Bearbeitung“ wurde nicht ausgeführt.",
		"",
		"",
		"Der Vorgang " + gone.Ref + " ist für Sie nicht mehr sichtbar (an eine andere Dienststelle weitergeleitet oder gelöscht); Ihre Übernahme wurde nicht ausgeführt.",
		"Der Vorgang " + gone.Ref + " ist für Sie nicht mehr sichtbar (an eine andere Dienststelle weitergeleitet oder gelöscht); Ihre Notiz „Bescheid an Tierarzt“ wurde nicht ausgeführt.",
		"",
		"",
		"Der Status des Vorgangs " + moved.Ref + " wurde inzwischen von M. Becker auf „In Bearbeitung“ geändert; Ihre Statusänderung auf „Zurückgenommen“ wurde nicht ausgeführt.",
	}
	for i, r := range res {
		if r.Action.Message != wantMsg[i] || r.Conflict != (wantMsg[i] != "") {
			t.Errorf("%d (%s %s): conflict %v %q, want %q", i, r.Action.Kind, r.Action.Ref, r.Conflict, r.Action.Message, wantMsg[i])
		}
	}
	if got, _ := st.CaseByRef(ctx, free.Ref); got.Assignee != anna.Clerk {
		t.Errorf("free case assignee %q", got.Assignee)
	}
	if got, _ := st.CaseByRef(ctx, taken.Ref); got.Assignee != max.Clerk || got.Status != app.StatusReceived {
		t.Errorf("Max's case changed over his claim: %q %s", got.Assignee, got.Status)
	}
	countNotes := func(ref, text string) int {
		ns, err := st.Notes(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range ns {
			if x.Text == text {
				n++
			}
		}
		return n
	}
	if n := countNotes(taken.Ref, "Hund bereits gechippt"); n != 1 {
		t.Errorf("note on Max's case %d times", n)
	}
	if n := countNotes(noted.Ref, "Rückruf erbeten"); n != 1 {
		t.Errorf("note sent before the crash is there %d times, want 1", n)
	}
	for _, ref := range []string{free.Ref, crashedClaim.Ref} {
		claims, err := st.AuditEntries(ctx, app.AuditFilter{Ref: ref, Action: app.ActionCaseClaim})
		if err != nil || len(claims) != 1 {
			t.Errorf("claims of %s: %+v, %v", ref, claims, err)
		}
	}
	if moves, err := st.AuditEntries(ctx, app.AuditFilter{Ref: crashedClaim.Ref, Action: app.ActionCaseStatus}); err != nil || len(moves) != 1 {
		t.Errorf("status changes of %s: %+v, %v", crashedClaim.Ref, moves, err)
	}

	// Replayed again (a second window, a retry): nothing is done twice.
	if res, err := app.ReplayOfflineActions(ctx, ob, st, msgs, reg, anna); err != nil || len(res) != 0 {
		t.Errorf("second replay: %+v, %v", res, err)
	}
	if got, _ := st.CaseByRef(ctx, moved.Ref); got.Status != app.StatusInProgress {
		t.Errorf("his status change overwritten: %s", got.Status)
	}
	if as, _ := ob.Actions(ctx, app.OfflineConflict); len(as) != 5 {
		t.Errorf("%d conflicts kept, want 5", len(as))
	}
}

// A status change kept with its message to the citizen (documents and
// deadline too) comes back from the file as kept, also after a restart;
// an outbox file of the previous version (schema step 2) with a status
// change waiting in it is brought up to date when opened: the change
// still waits, without a message, and new ones keep theirs.
func TestOutboxKeepsMessageOfStatusChange(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "offline.db")
	ob := open(t, path)
	ob.Close()
	// The file as the previous version left it: step 2, a status change
	// waiting.
	old, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`ALTER TABLE actions DROP COLUMN tell; ALTER TABLE entries DROP COLUMN tried; PRAGMA user_version = 2;
INSERT INTO actions (key, kind, ref, status, text, seen_status, seen_assignee, seen_office, seen_updated, clerk, held_at)
    VALUES ('offline-alt', 'status', 'ULM-2026-00001', 'in_progress', '', 'received', '', 'vg-ulmen', '2026-12-07T09:00:00Z', 'ulm_a', '2026-12-07T09:05:00Z');`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	ob = open(t, path)
	deadline := time.Date(2026, 12, 21, 0, 0, 0, 0, app.Berlin)
	tell := &app.Tell{Status: app.PortalDocsMissing, Text: "Guten Tag Karl Frei,\nbitte reichen Sie den Impfpass nach.",
		Documents: []string{"Impfpass", "Foto des Hundes"}, Deadline: deadline}
	if _, err := ob.HoldAction(ctx, &app.OfflineAction{Kind: app.OfflineStatus, Ref: "ULM-2026-00002", Status: app.StatusWaiting,
		Text: "intern: Impfpass fehlt", Tell: tell, Clerk: "ulm_a",
		Seen: app.OfflineSeen{Status: app.StatusInProgress, Office: app.OfficeUlmen, UpdatedAt: storetest.Start}}); err != nil {
		t.Fatal(err)
	}
	ob.Close()
	ob = open(t, path)
	as, err := ob.Actions(ctx, app.OfflineWaiting)
	if err != nil || len(as) != 2 {
		t.Fatalf("after the upgrade: %+v, %v", as, err)
	}
	if as[0].Key != "offline-alt" || as[0].Status != app.StatusInProgress || as[0].Tell != nil {
		t.Errorf("the old change: %+v", as[0])
	}
	got := as[1].Tell
	if got == nil || got.Status != tell.Status || got.Text != tell.Text || strings.Join(got.Documents, "|") != "Impfpass|Foto des Hundes" ||
		!got.Deadline.Equal(deadline) || as[1].Text != "intern: Impfpass fehlt" {
		t.Errorf("the message kept: %+v (%+v)", got, as[1])
	}
	ob.Close()
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v int
	if err := raw.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 4 {
		t.Errorf("schema %d, %v", v, err)
	}
}

// tellEnv is a shared store of one adapter for the replay of status
// changes with their message: the portal sync that takes cases in, and
// the scoped stores of two clerks of VG Ulmen, Anna Ulmer (with her
// outbox store, as her window has it) and M. Becker.
type tellEnv struct {
	sys        app.CaseStore
	st, other  *app.Scoped
	msgs       app.OutboxStore
	anna, max  app.Actor
	restartDB  func() // the server comes back; nil for SQLite
	shutdownDB func()
}

func sqliteTellEnv(t *testing.T) *tellEnv {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "amtstresen.db"), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin := app.Actor{Clerk: "it", Role: app.RoleAdmin}
	for _, ra := range []app.RoleAssignment{{Clerk: "it", Role: app.RoleAdmin},
		{Clerk: "ulm_a", Role: app.RoleClerk, Office: app.OfficeUlmen}, {Clerk: "ulm_b", Role: app.RoleClerk, Office: app.OfficeUlmen}} {
		if err := db.SetRole(ctx, ra, admin); err != nil {
			t.Fatal(err)
		}
	}
	e := &tellEnv{sys: db}
	for _, c := range []struct {
		account string
		st      **app.Scoped
		a       *app.Actor
	}{{"ulm_a", &e.st, &e.anna}, {"ulm_b", &e.other, &e.max}} {
		a, _, err := app.ResolveActor(ctx, db, c.account)
		if err != nil {
			t.Fatal(err)
		}
		*c.a, *c.st = a, app.NewScoped(db, a)
	}
	e.msgs = e.st.Outbox(db)
	return e
}

func postgresTellEnv(t *testing.T) *tellEnv {
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	e := &tellEnv{sys: d.Service(t, "abgleich", "sync", "admin").Open(t, reg), shutdownDB: c.Shutdown}
	var db *postgres.DB
	db, e.st, e.anna = d.Clerk(t, "ulm_a", "clerk", app.OfficeUlmen, "Anna Ulmer").OpenScoped(t, reg)
	_, e.other, e.max = d.Clerk(t, "ulm_b", "clerk", app.OfficeUlmen, "M. Becker").OpenScoped(t, reg)
	e.msgs = e.st.Outbox(db)
	e.restartDB = func() {
		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// crashAfterWrite is the outbox of a program that dies after the store
// has written the change with the key and before the outbox records it.
type crashAfterWrite struct {
	*offline.Outbox
	key string
}

func (c crashAfterWrite) ActionDone(ctx context.Context, key string) error {
	if key == c.key {
		return errors.New("Programm abgestürzt")
	}
	return c.Outbox.ActionDone(ctx, key)
}

// A status change made without the server tells the citizen as online:
// the message the clerk confirmed waits with it on this PC, and the
// replay writes status and message together, once, through the store's
// ChangeCase, on SQLite and on PostgreSQL. A replay that dies between
// writing and recording it does not queue the message again. A change
// over M. Becker's status change writes neither status nor message and
// says so; a change that tells, kept without its message by the previous
// version, is not written without it.
func TestOfflineStatusChangeTellsCitizen(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(*testing.T) *tellEnv
	}{{"sqlite", sqliteTellEnv}, {"postgres", postgresTellEnv}} {
		t.Run(tc.name, func(t *testing.T) { testStatusChangeTells(t, tc.env(t)) })
	}
}

func testStatusChangeTells(t *testing.T, e *tellEnv) {
	ctx := context.Background()
	e.anna.Name, e.max.Name = "Anna Ulmer", "M. Becker"
	path := filepath.Join(t.TempDir(), "offline.db")
	ob := open(t, path)
	var cs []*app.Case
	for i, name := range []string{"Fehlt", "Absturz", "Becker", "Alt"} {
		nc := storetest.DogCase(t, "p-"+name, "Karl", name, app.OfficeUlmen, storetest.Start.Add(time.Duration(i)*time.Minute))
		c, _, err := e.sys.CreateCase(ctx, nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	docs, crashed, taken, old := cs[0], cs[1], cs[2], cs[3]
	seen := func(c *app.Case, s app.Status) app.OfflineSeen {
		return app.OfflineSeen{Status: s, Office: c.Office, UpdatedAt: c.UpdatedAt}
	}
	hold := func(a app.OfflineAction) *app.OfflineAction {
		t.Helper()
		a.Clerk, a.Name = e.anna.Clerk, e.anna.Name
		h, err := ob.HoldAction(ctx, &a)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if e.shutdownDB != nil {
		e.shutdownDB()
		_, err := e.msgs.ChangeCase(ctx, docs.Ref, app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusInProgress}, nil, e.anna)
		if !app.Unavailable(err) {
			t.Fatalf("without server: %v", err)
		}
	}
	deadline := app.AddWorkingDays(time.Now(), 10)
	docsText := "Guten Tag Karl Fehlt,\nbitte reichen Sie den Impfpass nach (von Hand ergänzt)."
	withdrawn := "Guten Tag Karl Absturz,\nIhr Antrag ist zurückgenommen."
	hold(app.OfflineAction{Kind: app.OfflineStatus, Ref: docs.Ref, Status: app.StatusInProgress, Seen: seen(docs, app.StatusReceived)})
	hold(app.OfflineAction{Kind: app.OfflineStatus, Ref: docs.Ref, Status: app.StatusWaiting, Text: "intern: Impfpass fehlt",
		Tell: &app.Tell{Status: app.PortalDocsMissing, Text: docsText, Documents: []string{"Impfpass"}, Deadline: deadline},
		Seen: seen(docs, app.StatusInProgress)})
	crash := hold(app.OfflineAction{Kind: app.OfflineStatus, Ref: crashed.Ref, Status: app.StatusWithdrawn, Text: "telefonisch",
		Tell: &app.Tell{Status: app.PortalWithdrawn, Text: withdrawn}, Seen: seen(crashed, app.StatusReceived)})
	hold(app.OfflineAction{Kind: app.OfflineStatus, Ref: taken.Ref, Status: app.StatusWithdrawn, Text: "telefonisch",
		Tell: &app.Tell{Status: app.PortalWithdrawn, Text: "Guten Tag Karl Becker, zurückgenommen."}, Seen: seen(taken, app.StatusReceived)})
	// Kept by the previous version: no message with it.
	hold(app.OfflineAction{Kind: app.OfflineStatus, Ref: old.Ref, Status: app.StatusWithdrawn, Text: "telefonisch", Seen: seen(old, app.StatusReceived)})
	if e.restartDB != nil {
		e.restartDB()
	}
	var err error
	for i := 0; ; i++ { // the pool reconnects on its own
		if err = e.other.SetStatus(ctx, taken.Ref, app.StatusInProgress, "", e.max); !app.Unavailable(err) || i > 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}

	// The program dies after the store wrote the withdrawal.
	res, err := app.ReplayOfflineActions(ctx, crashAfterWrite{ob, crash.Key}, e.st, e.msgs, reg, e.anna)
	if err == nil || len(res) != 2 {
		t.Fatalf("replay that crashed: %+v, %v", res, err)
	}
	if c, _ := e.st.CaseByRef(ctx, crashed.Ref); c.Status != app.StatusWithdrawn {
		t.Fatalf("status before the crash: %s", c.Status)
	}
	ob.Close()
	ob = open(t, path) // started again
	res, err = app.ReplayOfflineActions(ctx, ob, e.st, e.msgs, reg, e.anna)
	if err != nil || len(res) != 3 {
		t.Fatalf("replay after the crash: %+v, %v", res, err)
	}
	if r := res[0]; r.Conflict || r.Action.Key != crash.Key {
		t.Errorf("the crashed withdrawal: %+v", r)
	}
	want := "Der Status des Vorgangs " + taken.Ref + " wurde inzwischen von M. Becker auf „In Bearbeitung“ geändert; " +
		"Ihre Statusänderung auf „Zurückgenommen“ wurde nicht ausgeführt und die Nachricht an den Bürger nicht verschickt."
	if r := res[1]; !r.Conflict || r.Action.Message != want {
		t.Errorf("over M. Becker's change: %q, want %q", r.Action.Message, want)
	}
	if r := res[2]; !r.Conflict || !strings.Contains(r.Action.Message, "Ihre Statusänderung auf „Zurückgenommen“ wurde nicht ausgeführt: Zu „") ||
		!strings.Contains(r.Action.Message, "geht eine Nachricht an den Bürger") {
		t.Errorf("kept without its message: %+v", r)
	}
	if res, err := app.ReplayOfflineActions(ctx, ob, e.st, e.msgs, reg, e.anna); err != nil || len(res) != 0 {
		t.Errorf("replayed again: %+v, %v", res, err)
	}

	// What the citizens are told: each message once, as the clerk wrote it.
	told := func(c *app.Case, st app.PortalStatus) []app.Outgoing {
		t.Helper()
		ms, err := e.msgs.CaseMessages(ctx, c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		var out []app.Outgoing
		for _, m := range ms {
			if m.Status == st {
				out = append(out, m)
			}
		}
		return out
	}
	ms := told(docs, app.PortalDocsMissing)
	if len(ms) != 1 || ms[0].Text != docsText || strings.Join(ms[0].Documents, "|") != "Impfpass" || !ms[0].Deadline.Equal(deadline) ||
		ms[0].QueuedBy != e.anna.Clerk || ms[0].State != app.OutboxQueued || strings.Contains(ms[0].Text, "intern") {
		t.Errorf("Unterlagen fehlen: %+v", ms)
	}
	if c, _ := e.st.CaseByRef(ctx, docs.Ref); c.Status != app.StatusWaiting {
		t.Errorf("status %s", c.Status)
	}
	if ms := told(crashed, app.PortalWithdrawn); len(ms) != 1 || ms[0].Text != withdrawn {
		t.Errorf("withdrawal written before the crash: %d messages %+v, want 1", len(ms), ms)
	}
	for _, c := range []*app.Case{taken, old} {
		if ms := told(c, app.PortalWithdrawn); len(ms) != 0 {
			t.Errorf("%s: a message though the change was not made: %+v", c.Ref, ms)
		}
	}
	if c, _ := e.st.CaseByRef(ctx, taken.Ref); c.Status != app.StatusInProgress {
		t.Errorf("M. Becker's status overwritten: %s", c.Status)
	}
	if c, _ := e.st.CaseByRef(ctx, old.Ref); c.Status != app.StatusReceived {
		t.Errorf("written without a message: %s", c.Status)
	}
}

// discardWhileListed is the outbox of a replay during which the clerk
// discards a change or an application after the replay listed it, before
// it is sent.
type discardWhileListed struct {
	*offline.Outbox
	key string
}

func (d discardWhileListed) Actions(ctx context.Context, state app.OfflineState) ([]app.OfflineAction, error) {
	as, err := d.Outbox.Actions(ctx, state)
	if err == nil {
		err = d.Outbox.Discard(ctx, d.key)
	}
	return as, err
}

func (d discardWhileListed) Entries(ctx context.Context, state app.OfflineState) ([]app.OfflineEntry, error) {
	es, err := d.Outbox.Entries(ctx, state)
	if err == nil {
		err = d.Outbox.Discard(ctx, d.key)
	}
	return es, err
}

// While the server is away, Anna Ulmer takes back changes she made by
// mistake: a claim and a note waiting in the file are discarded from it
// (also after a restart they are gone), a status change the replay has
// already marked as being sent is not (German: it is on its way), and a
// note discarded after the replay listed it is left out. The replay
// sends only the rest.
func TestOfflineWaitingChangeDiscarded(t *testing.T) {
	ctx := context.Background()
	e := sqliteTellEnv(t)
	path := filepath.Join(t.TempDir(), "offline.db")
	ob := open(t, path)
	var cs []*app.Case
	for i, name := range []string{"Falsch", "Status", "Notiz", "Eilig"} {
		nc := storetest.DogCase(t, "p-"+name, "Karl", name, app.OfficeUlmen, storetest.Start.Add(time.Duration(i)*time.Minute))
		c, _, err := e.sys.CreateCase(ctx, nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	wrong, moved, noted, late := cs[0], cs[1], cs[2], cs[3]
	hold := func(kind app.OfflineActionKind, c *app.Case, s app.Status, text string) *app.OfflineAction {
		t.Helper()
		h, err := ob.HoldAction(ctx, &app.OfflineAction{Kind: kind, Ref: c.Ref, Status: s, Text: text, Clerk: e.anna.Clerk,
			Seen: app.OfflineSeen{Status: c.Status, Office: c.Office, UpdatedAt: c.UpdatedAt}})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	claim := hold(app.OfflineClaim, wrong, "", "")
	status := hold(app.OfflineStatus, moved, app.StatusInProgress, "begonnen")
	mistake := hold(app.OfflineNote, noted, "", "Rückruf erbeten (falscher Vorgang)")
	hold(app.OfflineNote, noted, "", "Hund bereits gechippt")
	lateNote := hold(app.OfflineNote, late, "", "eilig")
	// The replay marks the status change as being sent (the server came
	// back for a moment).
	if err := ob.TryAction(ctx, status.Key, 0); err != nil {
		t.Fatal(err)
	}

	for _, k := range []string{claim.Key, mistake.Key} {
		if err := ob.Discard(ctx, k); err != nil {
			t.Fatalf("discard %s: %v", k, err)
		}
	}
	err := ob.Discard(ctx, status.Key)
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "Die Änderung an "+moved.Ref+" ist schon unterwegs zum Server") {
		t.Errorf("discard of a change being sent: %v", err)
	}
	if err := ob.Discard(ctx, claim.Key); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("discarded twice: %v", err)
	}
	ob.Close()
	ob = open(t, path) // the file, after a restart
	as, err := ob.Actions(ctx, "")
	var kept []string
	for _, a := range as {
		kept = append(kept, a.Ref+" "+string(a.Kind)+" "+a.Text)
	}
	if want := []string{moved.Ref + " status begonnen", noted.Ref + " note Hund bereits gechippt", late.Ref + " note eilig"}; err != nil ||
		strings.Join(kept, "|") != strings.Join(want, "|") {
		t.Fatalf("kept %q, want %q (%v)", kept, want, err)
	}

	res, err := app.ReplayOfflineActions(ctx, discardWhileListed{ob, lateNote.Key}, e.st, e.msgs, reg, e.anna)
	if err != nil || len(res) != 2 || res[0].Action.Key != status.Key || res[0].Conflict || res[1].Action.Text != "Hund bereits gechippt" || res[1].Conflict {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	if c, err := e.st.CaseByRef(ctx, wrong.Ref); err != nil || c.Assignee != "" {
		t.Errorf("the discarded claim was sent: %+v, %v", c, err)
	}
	if c, err := e.st.CaseByRef(ctx, moved.Ref); err != nil || c.Status != app.StatusInProgress {
		t.Errorf("the status change: %+v, %v", c, err)
	}
	for ref, want := range map[string]string{noted.Ref: "Hund bereits gechippt\n", late.Ref: ""} {
		ns, err := e.st.Notes(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		for _, n := range ns {
			if n.Kind == "note" {
				got.WriteString(n.Text + "\n")
			}
		}
		if got.String() != want {
			t.Errorf("notes of %s: %q, want %q", ref, got.String(), want)
		}
	}
	if as, err := ob.Actions(ctx, ""); err != nil || len(as) != 2 || as[0].State != app.OfflineWritten || as[1].State != app.OfflineWritten {
		t.Errorf("left in the file: %+v, %v", as, err)
	}
}

// While the server is away, Anna Ulmer takes back a walk-in application
// she took by mistake: it is deleted from the file (also after a restart
// it is gone) and never reaches the server. One the replay has already
// marked as being sent is not discarded (German: on its way, perhaps
// stored under its final reference), one discarded after the replay
// listed it is left out, and one the server refused can still be
// discarded.
func TestOfflineWaitingApplicationDiscarded(t *testing.T) {
	ctx := context.Background()
	e := sqliteTellEnv(t)
	path := filepath.Join(t.TempDir(), "offline.db")
	ob := open(t, path)
	hold := func(nc *app.NewCase) *app.OfflineEntry {
		t.Helper()
		h, err := ob.Hold(ctx, nc, app.OfficeUlmen, e.anna.Clerk)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	wrong := hold(walkIn(t, "form-falsch", "Schmitt", app.OfficeUlmen))
	sent := hold(walkIn(t, "form-unterwegs", "Weber", app.OfficeUlmen))
	late := hold(walkIn(t, "form-spaet", "Becker", app.OfficeUlmen))
	bad := walkIn(t, "form-bad", "Fehler", app.OfficeUlmen)
	bad.Routing.Office = "vg-unbekannt" // refused by the store
	refused := hold(bad)
	// The replay marks one as being sent (the server came back for a
	// moment).
	if err := ob.TryEntry(ctx, sent.Key); err != nil {
		t.Fatal(err)
	}

	if err := ob.Discard(ctx, wrong.Key); err != nil {
		t.Fatalf("discard a waiting application: %v", err)
	}
	err := ob.Discard(ctx, sent.Key)
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "Der Antrag "+sent.ProvisionalRef+" ist schon unterwegs zum Server") ||
		!strings.Contains(app.ErrorMessage(err), "endgültigen Aktenzeichen") {
		t.Errorf("discard of an application being sent: %v", err)
	}
	if err := ob.Discard(ctx, wrong.Key); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("discarded twice: %v", err)
	}
	if err := ob.TryEntry(ctx, wrong.Key); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("marking a discarded application: %v", err)
	}
	ob.Close()
	ob = open(t, path) // the file, after a restart
	es, err := ob.Entries(ctx, "")
	var kept []string
	for _, x := range es {
		kept = append(kept, fmt.Sprintf("%s %s %v", x.Key, x.State, x.Tried))
	}
	if want := []string{"form-unterwegs waiting true", "form-spaet waiting false", "form-bad waiting false"}; err != nil ||
		strings.Join(kept, "|") != strings.Join(want, "|") {
		t.Fatalf("kept %q, want %q (%v)", kept, want, err)
	}

	res, err := app.ReplayOffline(ctx, discardWhileListed{ob, late.Key}, e.st)
	if err != nil || len(res) != 2 || res[0].Entry.Key != sent.Key || res[0].Err != nil || res[1].Entry.Key != refused.Key || res[1].Err == nil {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	for last, want := range map[string]int{"Schmitt": 0, "Weber": 1, "Becker": 0, "Fehler": 0} {
		if n, err := e.st.CountCases(ctx, app.CaseFilter{Query: last}); err != nil || n != want {
			t.Errorf("cases of %s on the server: %d, %v; want %d", last, n, err, want)
		}
	}
	if _, err := e.st.CaseByRef(ctx, wrong.ProvisionalRef); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("the discarded application by its provisional reference: %v", err)
	}
	// Refused (after it was marked as being sent): still discardable.
	if err := ob.Discard(ctx, refused.Key); err != nil {
		t.Errorf("discard a refused application: %v", err)
	}
	es, err = ob.Entries(ctx, "")
	if err != nil || len(es) != 1 || es[0].Key != sent.Key || es[0].State != app.OfflineWritten {
		t.Errorf("left in the file: %+v, %v", es, err)
	}
	if res, err := app.ReplayOffline(ctx, ob, e.st); err != nil || len(res) != 0 {
		t.Errorf("replayed again: %+v, %v", res, err)
	}
}

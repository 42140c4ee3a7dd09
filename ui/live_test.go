package ui

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
	"amtstresen/storage/offline"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/postgres/pgtest/pgsetup"
	"amtstresen/storage/storetest"
)

// eventually runs the window's pending work until cond holds, failing the
// test after d; it returns how long it took.
func (h *harness) eventually(d time.Duration, what string, cond func() bool) time.Duration {
	h.t.Helper()
	start := time.Now()
	for {
		h.wait()
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > d {
			h.t.Fatalf("%s: not on screen within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// queueRow returns the queue's row of ref as loaded, nil when not there.
func (h *harness) queueRow(ref string) *app.CaseSummary {
	for _, r := range h.m.queue.pages[0] {
		if r.Ref == ref {
			return &r
		}
	}
	return nil
}

// Two counters of VG Ulmen on one private PostgreSQL: the window of the
// lead (on Fyne's test driver, with the PostgreSQL store's change feed)
// shows within a second what the other counter and the portal sync do: a
// new case, a claim, a status move, a note, a forward, a review item
// handled. Then the server stops: the window says so in German, and again
// when it is back, and shows changes again.
func TestLiveUpdatesFromAnotherCounter(t *testing.T) {
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	lead := d.Clerk(t, "ulm_lead", "lead", app.OfficeUlmen, "Lena Leitner")
	other := d.Clerk(t, "ulm_b", "clerk", app.OfficeUlmen, "Bernd Ulmer")
	sys := d.Service(t, "abgleich", "sync", "admin").Open(t, testReg)
	dbW, w, actW := lead.OpenScoped(t, testReg)
	_, b, actB := other.OpenScoped(t, testReg)
	ctx := context.Background()

	h := newHarness(t, w, func(o *Options) { o.Actor, o.Changes = actW, dbW })
	within := time.Second

	// The feed connects in the background: the portal sync's cases until
	// the first is on screen (later ones must be within the second).
	var cs *app.Case
	for i := 0; ; i++ {
		nc := storetest.DogCase(t, "p-"+string(rune('a'+i)), "Karl", "Ulmer", app.OfficeUlmen, storetest.Start)
		var err error
		if cs, _, err = sys.CreateCase(ctx, nc, nil); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for h.wait(); h.queueRow(cs.Ref) == nil && time.Since(start) < 500*time.Millisecond; h.wait() {
			time.Sleep(5 * time.Millisecond)
		}
		if h.queueRow(cs.Ref) != nil {
			break
		}
		if i > 20 {
			t.Fatal("no case of the sync on screen within 10 s")
		}
	}

	nc := storetest.DogCase(t, "p-new", "Anna", "Schmitt", app.OfficeUlmen, storetest.Start)
	cs, _, err := sys.CreateCase(ctx, nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new case: %v", h.eventually(within, "new case", func() bool { return h.queueRow(cs.Ref) != nil }))

	h.eventually(within, "count", func() bool { return h.m.queue.counted })
	rereads, count := h.m.queue.rereads, h.m.queue.count
	if err := b.Claim(ctx, cs.Ref, actB); err != nil {
		t.Fatal(err)
	}
	t.Logf("claim: %v", h.eventually(within, "claim", func() bool { r := h.queueRow(cs.Ref); return r != nil && r.Assignee == "ulm_b" }))
	// The announced case was read and patched into the page; the page was
	// not read whole, and the cases were not counted again.
	if h.m.queue.rereads != rereads || h.m.queue.count != count || !h.m.queue.counted {
		t.Errorf("claim: %d page re-reads, count %d (was %d)", h.m.queue.rereads-rereads, h.m.queue.count, count)
	}

	h.m.openCase(cs.Ref)
	h.eventually(within, "case open", func() bool { return h.m.caseView != nil && h.m.caseView.c != nil })
	if err := b.SetStatus(ctx, cs.Ref, app.StatusInProgress, "", actB); err != nil {
		t.Fatal(err)
	}
	t.Logf("status: %v", h.eventually(within, "status in the open case", func() bool { return h.m.caseView.c.Status == app.StatusInProgress }))
	if err := b.AddNote(ctx, cs.Ref, "Rückruf erbeten", actB); err != nil {
		t.Fatal(err)
	}
	t.Logf("note: %v", h.eventually(within, "note in the open case", func() bool {
		return slices.ContainsFunc(h.m.caseView.notes, func(n app.Note) bool { return n.Text == "Rückruf erbeten" })
	}))
	h.m.closeCase()
	if err := b.Forward(ctx, cs.Ref, app.OfficeZell, "wohnt in Zell", actB); err != nil {
		t.Fatal(err)
	}
	t.Logf("forward: %v", h.eventually(within, "forwarded case gone from the queue", func() bool { return h.queueRow(cs.Ref) == nil }))
	// It left the office's cases: counted again.
	h.eventually(within, "count after the forward", func() bool { return h.m.queue.counted && h.m.queue.count == count-1 })

	it := &app.ReviewItem{MessageID: "<f@x>", Subject: "Frage zur Hundesteuer", Reason: app.ReviewNotPortal, ReceivedAt: storetest.Start, Raw: []byte("x")}
	if err := sys.AddReview(ctx, it, nil); err != nil {
		t.Fatal(err)
	}
	inReview := func() bool {
		return slices.ContainsFunc(h.m.review.items, func(r app.ReviewItem) bool { return r.ID == it.ID })
	}
	t.Logf("review item: %v", h.eventually(within, "review item", inReview))
	if err := b.ResolveReview(ctx, it.ID, "handled", "erledigt", actB); err != nil {
		t.Fatal(err)
	}
	t.Logf("review handled: %v", h.eventually(within, "review item handled", func() bool { return !inReview() }))

	// The server stops and comes back.
	banner := func() string {
		if !h.m.live.banner.Visible() {
			return ""
		}
		return h.m.live.text.Text
	}
	c.Shutdown()
	h.eventually(10*time.Second, "offline banner", func() bool { return strings.Contains(banner(), "Keine Verbindung zum Datenbankserver") })
	if h.m.live.text.Importance != widget.DangerImportance {
		t.Error("offline banner without emphasis")
	}
	time.Sleep(time.Second)
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	h.eventually(15*time.Second, "back banner", func() bool { return strings.Contains(banner(), "wieder hergestellt") })
	nc = storetest.DogCase(t, "p-after", "Otto", "Ulmer", app.OfficeUlmen, storetest.Start)
	for i := 0; ; i++ {
		if cs, _, err = sys.CreateCase(ctx, nc, nil); err == nil {
			break
		}
		if i > 50 {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the pool's connections were cut
	}
	h.eventually(within, "a case after the reconnect", func() bool { return h.queueRow(cs.Ref) != nil })
}

// A counter of VG Ulmen whose database server went away takes a walk-in
// application anyway: the banner says how, the form is kept on the PC
// under a provisional reference and its receipt printed with it; when
// the server is back, the application is written once, under its final
// reference, and the clerk is told both.
func TestOfflineIntakeAtTheCounter(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	db, st, act := d.Clerk(t, "ulm_a", "clerk", app.OfficeUlmen, "Anna Ulmer").OpenScoped(t, testReg)
	ob, err := offline.Open(ctx, filepath.Join(t.TempDir(), "offline.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	h := newHarness(t, st, func(o *Options) { o.Actor, o.Changes, o.Offline = act, db, ob })

	c.Shutdown()
	h.eventually(10*time.Second, "offline banner", func() bool {
		return h.m.live.banner.Visible() && strings.Contains(h.m.live.text.Text, "vorläufiges Aktenzeichen")
	})
	s := h.m.intake
	h.m.show(ScreenIntake)
	s.fill(dogCase("Anna", "Muster", "56766", "Auderath"))
	s.onSave()
	h.wait()
	es, err := ob.Entries(ctx, app.OfflineWaiting)
	if err != nil || len(es) != 1 {
		t.Fatalf("outbox: %+v, %v", es, err)
	}
	prov := es[0].ProvisionalRef
	if !strings.HasPrefix(prov, "ULM-2026-V-") || !strings.Contains(s.lastSave.Text, prov+" (vorläufig)") {
		t.Errorf("provisional %q, message %q", prov, s.lastSave.Text)
	}
	if jobs := h.print.jobs(); len(jobs) != 1 || jobs[0] != prov {
		t.Errorf("printed %q, want the receipt of %s", jobs, prov)
	}
	if s.dirty() {
		t.Error("the form was not emptied for the next citizen")
	}
	if b := s.offlineBtn; !b.Visible() || b.Text != "Auf diesem PC vorgemerkt: 1" {
		t.Errorf("offline button %q visible %v", b.Text, b.Visible())
	}

	// One the server will refuse (kept by an older program version with
	// an office this one does not know).
	bad := storetest.DogCase(t, "form-bad", "Bruno", "Fehler", app.OfficeUlmen, storetest.Start)
	bad.Channel, bad.PortalCase, bad.Raw, bad.Clerk = app.ChannelCounter, "", nil, act.Clerk
	bad.Routing.Office = "vg-unbekannt"
	refused, err := ob.Hold(ctx, bad, app.OfficeUlmen, act.Clerk)
	if err != nil {
		t.Fatal(err)
	}

	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	h.eventually(30*time.Second, "written after the reconnect", func() bool {
		es, _ := ob.Entries(ctx, app.OfflineWritten)
		return len(es) == 1
	})
	h.eventually(time.Second, "told", func() bool {
		return strings.Contains(h.m.lastMessage, prov+" ist jetzt ULM-2026-00001 (Anna Muster)") &&
			strings.Contains(h.m.lastMessage, "Diese Anträge hat der Server abgelehnt") &&
			strings.Contains(h.m.lastMessage, refused.ProvisionalRef+" (Bruno Fehler): Die Dienststelle „vg-unbekannt“ ist unbekannt")
	})
	if es, _ := ob.Entries(ctx, app.OfflineConflict); len(es) != 1 || es[0].Key != "form-bad" {
		t.Errorf("refused entry not kept: %+v", es)
	}
	h.wait()
	h.m.closeDialogs()
	h.m.showOfflineEntries()
	h.wait()
	if !strings.Contains(h.m.lastMessage, refused.ProvisionalRef+" (Bruno Fehler, ") || !strings.Contains(h.m.lastMessage, "abgelehnt – Die Dienststelle") ||
		strings.Contains(h.m.lastMessage, prov) {
		t.Errorf("kept applications: %q", h.m.lastMessage)
	}
	if b := s.offlineBtn; !b.Visible() || b.Text != "Auf diesem PC vorgemerkt: 1" {
		t.Errorf("offline button after the replay %q visible %v", b.Text, b.Visible())
	}
	got, err := st.CaseByRef(ctx, prov)
	if err != nil || got.Ref != "ULM-2026-00001" || got.ProvisionalRef != prov || got.Channel != app.ChannelCounter {
		t.Fatalf("case by provisional ref: %+v, %v", got, err)
	}
	if n, _ := st.CountCases(ctx, app.CaseFilter{}); n != 1 {
		t.Errorf("%d cases, want 1", n)
	}
}

// TestLiveMessageStates: the sender (the portal sync's service account)
// marks the open case's message sent and the portal's quittung arrives;
// the clerk's window shows each state within a second, through
// PostgreSQL's NOTIFY on the outbox.
func TestLiveMessageStates(t *testing.T) {
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	clerk := d.Clerk(t, "ulm_c", "clerk", app.OfficeUlmen, "Carla Ulmer")
	sys := d.Service(t, "abgleich", "sync", "admin").Open(t, testReg)
	db, sc, act := clerk.OpenScoped(t, testReg)
	ctx := context.Background()
	h := newHarness(t, sc, func(o *Options) { o.Actor, o.Changes, o.Messages = act, db, sc.Outbox(db) })
	// The feed connects in the background: cases of the sync until one
	// is on screen; the last one is the case of this test.
	var cs *app.Case
	for i := 0; ; i++ {
		var err error
		if cs, _, err = sys.CreateCase(ctx, storetest.DogCase(t, "p-msg"+string(rune('a'+i)), "Karl", "Ulmer", app.OfficeUlmen, storetest.Start), nil); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for h.wait(); h.queueRow(cs.Ref) == nil && time.Since(start) < 500*time.Millisecond; h.wait() {
			time.Sleep(5 * time.Millisecond)
		}
		if h.queueRow(cs.Ref) != nil {
			break
		}
		if i > 20 {
			t.Fatal("no case of the sync on screen within 10 s")
		}
	}
	h.m.openCase(cs.Ref)
	h.eventually(5*time.Second, "case open", func() bool { return h.m.caseView != nil && h.m.caseView.c != nil })
	ms, err := sys.CaseMessages(ctx, cs.Ref)
	if err != nil || len(ms) != 1 {
		t.Fatalf("messages %+v %v", ms, err)
	}
	state := func() app.OutboxState {
		if cv := h.m.caseView; cv != nil && len(cv.outgoing) == 1 {
			return cv.outgoing[0].State
		}
		return ""
	}
	if state() != app.OutboxQueued {
		t.Fatalf("state %q", state())
	}
	if err := sys.MarkSent(ctx, ms[0].Nachricht, time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Logf("sent: %v", h.eventually(time.Second, "sent", func() bool { return state() == app.OutboxSent }))
	if err := sys.ApplyQuittung(ctx, &app.Quittung{Nachricht: ms[0].Nachricht, PortalCase: cs.PortalCase, Result: app.OutboxServicekonto, At: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("quittung: %v", h.eventually(time.Second, "im Servicekonto", func() bool { return state() == app.OutboxServicekonto }))
	if !strings.Contains(markup(h.m.caseView.content), "Im Servicekonto") {
		t.Error("the case view does not say Im Servicekonto")
	}
}

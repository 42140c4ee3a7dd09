package ui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
	"amtstresen/storage/offline"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/postgres/pgtest/pgsetup"
	"amtstresen/storage/storetest"
)

// queueCell is the text the queue's table shows for ref in column key.
func (h *harness) queueCell(ref, key string) string {
	q := h.m.queue
	col := -1
	for i, c := range q.cols {
		if c.key == key {
			col = i
		}
	}
	for i, r := range q.pages[0] {
		if r.Ref == ref {
			l := widget.NewLabel("")
			q.updateCell(widget.TableCellID{Row: i, Col: col}, l)
			return l.Text
		}
	}
	return ""
}

// offlineSetup is a private PostgreSQL with the portal sync's cases of
// VG Ulmen, Anna Ulmer's window on it with an outbox on this PC, and the
// store of a second clerk, M. Becker.
func offlineSetup(t *testing.T, feed bool, names ...string) (c *pgtest.Cluster, h *harness, ob *offline.Outbox, cs []*app.Case, other *app.Scoped, max app.Actor) {
	ctx := context.Background()
	c = pgtest.Start(t)
	d := pgsetup.New(t, c)
	sys := d.Service(t, "abgleich", "sync", "admin").Open(t, testReg)
	db, st, act := d.Clerk(t, "ulm_a", "clerk", app.OfficeUlmen, "Anna Ulmer").OpenScoped(t, testReg)
	_, other, max = d.Clerk(t, "ulm_b", "clerk", app.OfficeUlmen, "M. Becker").OpenScoped(t, testReg)
	max.Name = "M. Becker" // as his window names him
	for i, name := range names {
		nc := storetest.DogCase(t, "p-"+name, "Karl", name, app.OfficeUlmen, storetest.Start.Add(time.Duration(i)*time.Minute))
		cc, _, err := sys.CreateCase(ctx, nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, cc)
	}
	ob, err := offline.Open(ctx, filepath.Join(t.TempDir(), "offline.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	h = newHarness(t, st, func(o *Options) {
		o.Actor, o.Offline, o.Messages = act, ob, st.Outbox(db) // as ui/cli has it
		if feed {
			o.Changes = db
		}
	})
	return c, h, ob, cs, other, max
}

// openShown opens the case in the window and waits until it is shown.
func (h *harness) openShown(ref string) *caseView {
	h.m.openCase(ref)
	h.eventually(5*time.Second, "case open", func() bool { return h.m.caseView != nil && h.m.caseView.c != nil })
	return h.m.caseView
}

// changeWithoutServer stops the server and, once the window knows, makes
// three changes to the open case: claim, "In Bearbeitung", a note
// "Rückruf erbeten".
func (h *harness) changeWithoutServer(c *pgtest.Cluster, cv *caseView) {
	h.t.Helper()
	c.Shutdown()
	h.eventually(10*time.Second, "offline banner", func() bool { return h.m.live.offline })
	cv.onClaim()
	h.wait()
	cv.setStatus(app.StatusInProgress, "")
	h.wait()
	cv.addNote("Rückruf erbeten")
	h.wait()
}

// Anna Ulmer's counter loses the server while a case is on screen: she
// claims it, moves it to "In Bearbeitung" and adds a note. The case and
// its queue row say "wartet auf Server". A second case she opens from the
// queue still on screen shows the row's data, and she claims it too.
// When the server is back the changes are written once, in order, she is
// told, and the second case is read from the server.
func TestOfflineChangesWrittenWhenServerBack(t *testing.T) {
	old := offlineRetry
	offlineRetry = 500 * time.Millisecond
	t.Cleanup(func() { offlineRetry = old })
	ctx := context.Background()
	c, h, ob, cs, _, _ := offlineSetup(t, true, "Frei", "Zeile")
	st := h.store
	ref, ref2 := cs[0].Ref, cs[1].Ref
	h.eventually(5*time.Second, "queue rows", func() bool { return h.queueRow(ref) != nil && h.queueRow(ref2) != nil })
	cv := h.openShown(ref)

	h.changeWithoutServer(c, cv)
	as, err := ob.Actions(ctx, app.OfflineWaiting)
	if err != nil || len(as) != 3 || as[0].Kind != app.OfflineClaim || as[1].Kind != app.OfflineStatus || as[2].Kind != app.OfflineNote {
		t.Fatalf("kept: %+v, %v", as, err)
	}
	if s := as[1].Seen; s.Assignee != "ulm_a" || s.Status != app.StatusReceived || !s.UpdatedAt.Equal(cs[0].UpdatedAt) {
		t.Errorf("the status change saw %+v", s)
	}
	if !cv.pendingL.Visible() || !strings.Contains(cv.pendingL.Text, "wartet auf Server: Übernahme") ||
		!strings.Contains(cv.pendingL.Text, "Notiz „Rückruf erbeten“") {
		t.Errorf("case view: %q visible %v", cv.pendingL.Text, cv.pendingL.Visible())
	}
	if s := cv.summary.Text; !strings.Contains(s, "In Bearbeitung") || !strings.Contains(s, "ulm_a") {
		t.Errorf("summary %q", s)
	}
	if !cv.claim.Disabled() {
		t.Error("claim still offered after the offline claim")
	}
	h.m.closeCase()
	if s := h.queueCell(ref, "status"); s != "In Bearbeitung · wartet auf Server" {
		t.Errorf("queue row status %q", s)
	}
	if s := h.queueCell(ref, "assignee"); s != "ulm_a" {
		t.Errorf("queue row assignee %q", s)
	}
	cv2 := h.openShown(ref2)
	if !cv2.rowOnly || !strings.Contains(cv2.summary.Text, "nur die Angaben aus dem Arbeitsvorrat") || cv2.claim.Disabled() || !cv2.printBtn.Disabled() {
		t.Fatalf("opened from the row: rowOnly %v %q", cv2.rowOnly, cv2.summary.Text)
	}
	cv2.onClaim()
	h.wait()
	if !strings.Contains(cv2.pendingL.Text, "wartet auf Server: Übernahme") {
		t.Errorf("second case: %q", cv2.pendingL.Text)
	}

	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	h.eventually(30*time.Second, "written after the reconnect", func() bool {
		as, _ := ob.Actions(ctx, app.OfflineWritten)
		return len(as) == 4
	})
	h.eventually(time.Second, "told", func() bool {
		return strings.Contains(h.m.lastMessage, "Ohne Verbindung vorgemerkte Änderungen sind jetzt gespeichert") &&
			strings.Contains(h.m.lastMessage, ref+": Notiz „Rückruf erbeten“")
	})
	got, err := st.CaseByRef(ctx, ref)
	if err != nil || got.Assignee != "ulm_a" || got.Status != app.StatusInProgress {
		t.Fatalf("on the server: %+v, %v", got, err)
	}
	ns, _ := st.Notes(ctx, ref)
	n := 0
	for _, x := range ns {
		if x.Text == "Rückruf erbeten" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("note %d times", n)
	}
	claims, _ := st.AuditEntries(ctx, app.AuditFilter{Ref: ref, Action: app.ActionCaseClaim})
	if len(claims) != 1 {
		t.Errorf("%d claims", len(claims))
	}
	if got, err := st.CaseByRef(ctx, ref2); err != nil || got.Assignee != "ulm_a" {
		t.Errorf("second case on the server: %+v, %v", got, err)
	}
	h.eventually(5*time.Second, "second case read from the server", func() bool {
		cv := h.m.caseView
		return cv == cv2 && !cv.rowOnly && len(cv.audit) > 0 && !cv.pendingL.Visible()
	})
	h.eventually(5*time.Second, "marker gone", func() bool {
		return h.queueCell(ref, "status") == "In Bearbeitung" && len(h.m.pending) == 0
	})
}

// Without the server, a status change that tells the citizen shows the
// message first, as online; the text Anna Ulmer edits waits with the
// change on this PC, and when the server is back the status and that
// message are written together, once.
func TestOfflineStatusChangeTellsCitizen(t *testing.T) {
	old := offlineRetry
	offlineRetry = 500 * time.Millisecond
	t.Cleanup(func() { offlineRetry = old })
	ctx := context.Background()
	c, h, ob, cs, _, _ := offlineSetup(t, true, "Zurück")
	ref := cs[0].Ref
	cv := h.openShown(ref)

	c.Shutdown()
	h.eventually(10*time.Second, "offline banner", func() bool { return h.m.live.offline })
	cv.setStatus(app.StatusWithdrawn, "telefonisch zurückgenommen")
	h.wait()
	f := cv.tell
	if f == nil || strings.TrimSpace(f.text.Text) == "" {
		t.Fatal("no message dialog (with the template's text) without the server")
	}
	if as, _ := ob.Actions(ctx, ""); len(as) != 0 {
		t.Fatalf("kept before the message was confirmed: %+v", as)
	}
	edited := f.text.Text + "\nDie Hundemarke geben Sie bitte im Bürgerbüro ab."
	f.text.SetText(edited)
	f.submit()
	h.wait()
	as, err := ob.Actions(ctx, app.OfflineWaiting)
	if err != nil || len(as) != 1 || as[0].Tell == nil || as[0].Tell.Text != edited || as[0].Text != "telefonisch zurückgenommen" {
		t.Fatalf("kept: %+v, %v", as, err)
	}
	if !strings.Contains(cv.pendingL.Text, "wartet auf Server: Status „Zurückgenommen“ mit Nachricht an den Bürger") {
		t.Errorf("case view: %q", cv.pendingL.Text)
	}

	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	h.eventually(30*time.Second, "written after the reconnect", func() bool {
		as, _ := ob.Actions(ctx, app.OfflineWritten)
		return len(as) == 1
	})
	h.eventually(time.Second, "told", func() bool {
		return strings.Contains(h.m.lastMessage, ref+": Status „Zurückgenommen“ mit Nachricht an den Bürger")
	})
	if got, err := h.store.CaseByRef(ctx, ref); err != nil || got.Status != app.StatusWithdrawn {
		t.Fatalf("on the server: %+v, %v", got, err)
	}
	ms, err := h.m.o.Messages.CaseMessages(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Status == app.PortalWithdrawn {
			n++
			if m.Text != strings.TrimSpace(edited) || m.QueuedBy != "ulm_a" || strings.Contains(m.Text, "telefonisch") {
				t.Errorf("message %+v", m)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d messages of the withdrawal, want 1", n)
	}
}

// Anna Ulmer's window has no change feed here: it learns that the server
// is away when her claim and note fail, and keeps both. Before her
// window writes them, M. Becker claims the case. Her claim is not
// applied over his (he keeps the case), she is told in German who did
// what, her note is added anyway; "Verwerfen" asks first, Enter keeps.
// An application the server refused can be copied back into the form.
func TestOfflineClaimConflictShownInGerman(t *testing.T) {
	ctx := context.Background()
	c, h, ob, cs, other, max := offlineSetup(t, false, "Becker")
	st := h.store
	ref := cs[0].Ref
	cv := h.openShown(ref)

	c.Shutdown()
	cv.onClaim()
	h.eventually(10*time.Second, "claim kept", func() bool {
		as, _ := ob.Actions(ctx, app.OfflineWaiting)
		return len(as) == 1
	})
	cv.addNote("Hund bereits gechippt")
	h.eventually(10*time.Second, "note kept", func() bool {
		as, _ := ob.Actions(ctx, app.OfflineWaiting)
		return len(as) == 2
	})
	bad := storetest.DogCase(t, "form-bad", "Bruno", "Fehler", app.OfficeUlmen, storetest.Start)
	bad.Channel, bad.PortalCase, bad.Raw, bad.Clerk = app.ChannelCounter, "", nil, "ulm_a"
	bad.Routing.Office = "vg-unbekannt" // kept by an older version; the server refuses it
	refused, err := ob.Hold(ctx, bad, app.OfficeUlmen, "ulm_a")
	if err != nil {
		t.Fatal(err)
	}

	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // his pool reconnects on its own
		if err = other.Claim(ctx, ref, max); !app.Unavailable(err) || i > 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := "Der Vorgang " + ref + " wurde inzwischen von M. Becker übernommen; Ihre Übernahme wurde nicht ausgeführt."
	h.eventually(30*time.Second, "conflict shown", func() bool {
		if h.m.offlineDlg == nil {
			h.m.replayOffline()
			h.wait()
			time.Sleep(100 * time.Millisecond)
		}
		return strings.Contains(h.m.lastMessage, want)
	})
	if !strings.Contains(h.m.lastMessage, refused.ProvisionalRef+" (Bruno Fehler): Die Dienststelle") {
		t.Errorf("refused application not shown: %q", h.m.lastMessage)
	}
	got, err := st.CaseByRef(ctx, ref)
	if err != nil || got.Assignee != "ulm_b" {
		t.Fatalf("his claim: %+v, %v", got, err)
	}
	ns, _ := st.Notes(ctx, ref)
	if n := strings.Count(noteTexts(ns), "Hund bereits gechippt"); n != 1 {
		t.Errorf("note %d times", n)
	}
	h.eventually(5*time.Second, "the open case says it too", func() bool {
		return cv.pendingL.Visible() && strings.Contains(cv.pendingL.Text, "nicht ausgeführt: "+want) &&
			strings.Contains(cv.summary.Text, "bearbeitet von M. Becker (ulm_b)")
	})

	// Verwerfen asks; Enter keeps it.
	box := h.m.offlineBox
	discard := findButton(box, "Verwerfen")
	if discard == nil || findButton(box, "In Formular übernehmen") == nil {
		t.Fatalf("actions: %q", markup(box))
	}
	test.Tap(discard)
	h.wait()
	if !strings.Contains(h.m.lastMessage, "Wirklich verwerfen?") {
		t.Fatalf("not asked: %q", h.m.lastMessage)
	}
	h.press(fyne.KeyReturn)
	h.wait()
	kept := func() int {
		es, _ := ob.Entries(ctx, app.OfflineConflict)
		as, _ := ob.Actions(ctx, app.OfflineConflict)
		return len(es) + len(as)
	}
	if kept() != 2 {
		t.Fatalf("Enter discarded: %d kept", kept())
	}
	for _, b := range []string{"Verwerfen", "Verwerfen"} {
		test.Tap(findButton(h.m.offlineBox, b))
		h.wait()
		test.Tap(h.m.topDialog().okBtn)
		h.wait()
		h.wait()
	}
	if kept() != 0 {
		t.Errorf("after discarding both: %d kept", kept())
	}

	// Copied back into the form: nothing typed is lost.
	refused2 := *bad
	refused2.IdempotencyKey = "form-bad-2"
	e2, err := ob.Hold(ctx, &refused2, app.OfficeUlmen, "ulm_a")
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Refused(ctx, e2.Key, "Die Dienststelle ist unbekannt."); err != nil {
		t.Fatal(err)
	}
	h.m.showOfflineEntries()
	h.wait()
	test.Tap(findButton(h.m.offlineBox, "In Formular übernehmen"))
	h.wait()
	s := h.m.intake
	if s.last.Text != "Fehler" || s.first.Text != "Bruno" || s.fromOffline != e2.Key || h.m.current() != ScreenIntake {
		t.Errorf("form: %q %q key %q screen %v", s.first.Text, s.last.Text, s.fromOffline, h.m.current())
	}
	if s.fieldEntry("hund.rasse").Text != "Dackel" {
		t.Errorf("the dog's breed was not copied: %q", s.fieldEntry("hund.rasse").Text)
	}
	// Saved from the form (now with the right office): the refused copy goes.
	s.onSave()
	h.eventually(10*time.Second, "saved and the refused copy gone", func() bool {
		es, _ := ob.Entries(ctx, "")
		return len(es) == 0 && strings.HasPrefix(s.lastSave.Text, "Gespeichert: ULM-2026-")
	})
	if n, _ := st.CountCases(ctx, app.CaseFilter{Query: "Fehler"}); n != 1 {
		t.Errorf("%d cases of Bruno Fehler, want 1", n)
	}
}

func noteTexts(ns []app.Note) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(n.Text + "\n")
	}
	return b.String()
}

// offlineLine is the line of the list "Auf diesem PC vorgemerkt" that
// contains text, with its buttons.
func (h *harness) offlineLine(text string) fyne.CanvasObject {
	h.t.Helper()
	for _, o := range h.m.offlineBox.Objects {
		if c, ok := o.(*fyne.Container); ok && len(c.Objects) > 0 {
			if l, ok := c.Objects[0].(*widget.Label); ok && strings.Contains(l.Text, text) {
				return c
			}
		}
	}
	h.t.Fatalf("no line %q in %q", text, markup(h.m.offlineBox))
	return nil
}

// Without the server, Anna Ulmer claims a case, sets a status and writes
// a note, then sees her mistake: in "Auf diesem PC vorgemerkt" each
// waiting change has "Verwerfen", which asks first (Enter keeps it) and
// then takes it out of the file; the case and its queue row no longer
// say "wartet auf Server" for it. A change the replay has already marked
// as being sent is not discarded: she is told it is on its way.
func TestOfflineWaitingChangeDiscardedInWindow(t *testing.T) {
	ctx := context.Background()
	c, h, ob, cs, _, _ := offlineSetup(t, true, "Falsch")
	ref := cs[0].Ref
	h.eventually(5*time.Second, "queue row", func() bool { return h.queueRow(ref) != nil })
	cv := h.openShown(ref)

	h.changeWithoutServer(c, cv)
	waiting := func() int {
		as, err := ob.Actions(ctx, app.OfflineWaiting)
		if err != nil {
			t.Fatal(err)
		}
		return len(as)
	}
	if n := waiting(); n != 3 {
		t.Fatalf("%d changes kept, want 3", n)
	}
	h.m.showOfflineEntries()
	h.wait()
	if n := strings.Count(markup(h.m.offlineBox), "wartet auf den Server"); n != 3 {
		t.Fatalf("list: %q", markup(h.m.offlineBox))
	}

	// The status change: asked, Enter keeps it; then discarded.
	test.Tap(findButton(h.offlineLine("Status „In Bearbeitung“"), "Verwerfen"))
	h.wait()
	if want := "Status „In Bearbeitung“ für " + ref + " verwerfen? Die Änderung wird nicht an den Server gesendet."; h.m.lastMessage != want {
		t.Fatalf("asked %q, want %q", h.m.lastMessage, want)
	}
	h.press(fyne.KeyReturn)
	h.wait()
	if n := waiting(); n != 3 {
		t.Fatalf("Enter discarded: %d kept", n)
	}
	test.Tap(findButton(h.offlineLine("Status „In Bearbeitung“"), "Verwerfen"))
	h.wait()
	test.Tap(h.m.topDialog().okBtn)
	h.eventually(5*time.Second, "status change gone", func() bool {
		return waiting() == 2 && h.queueCell(ref, "status") == "Eingegangen · wartet auf Server" &&
			!strings.Contains(cv.pendingL.Text, "Status") && strings.Contains(cv.pendingL.Text, "Übernahme") &&
			!strings.Contains(cv.summary.Text, "In Bearbeitung")
	})
	for _, line := range []string{"Übernahme", "Notiz „Rückruf erbeten“"} {
		test.Tap(findButton(h.offlineLine(line), "Verwerfen"))
		h.wait()
		test.Tap(h.m.topDialog().okBtn)
		h.wait()
		h.wait()
	}
	h.eventually(5*time.Second, "nothing waits", func() bool {
		return waiting() == 0 && h.queueCell(ref, "status") == "Eingegangen" && h.queueCell(ref, "assignee") == "" &&
			!cv.pendingL.Visible() && !cv.claim.Disabled() && !h.m.intake.offlineBtn.Visible()
	})

	// The replay has marked this note as being sent: it stays.
	cv.addNote("unterwegs")
	h.wait()
	as, err := ob.Actions(ctx, app.OfflineWaiting)
	if err != nil || len(as) != 1 {
		t.Fatalf("kept: %+v, %v", as, err)
	}
	if err := ob.TryAction(ctx, as[0].Key, 0); err != nil {
		t.Fatal(err)
	}
	h.m.showOfflineEntries()
	h.wait()
	test.Tap(findButton(h.offlineLine("Notiz „unterwegs“"), "Verwerfen"))
	h.wait()
	test.Tap(h.m.topDialog().okBtn)
	h.wait()
	h.wait()
	if !strings.Contains(h.m.lastMessage, "ist schon unterwegs zum Server") || waiting() != 1 {
		t.Errorf("discarded while being sent: %q, %d kept", h.m.lastMessage, waiting())
	}
}

// Without the server, Anna Ulmer takes a walk-in application and the
// citizen leaves with the provisional receipt, then withdraws at once. In
// "Auf diesem PC vorgemerkt" her waiting application has "Verwerfen",
// which says what happens (not sent, deleted from this PC, the receipt
// invalid: tell the citizen) and asks first (Enter keeps it); then it is
// gone from the file and the intake's button no longer counts it. One the
// replay has already marked as being sent stays (she is told it is on its
// way), and another clerk's waiting application on this PC has no
// "Verwerfen".
func TestOfflineWaitingApplicationDiscardedInWindow(t *testing.T) {
	ctx := context.Background()
	c, h, ob, _, _, _ := offlineSetup(t, true)
	c.Shutdown()
	h.eventually(10*time.Second, "offline banner", func() bool { return h.m.live.offline })
	s := h.m.intake
	h.m.show(ScreenIntake)
	take := func(first, last string) app.OfflineEntry {
		t.Helper()
		s.fill(dogCase(first, last, "56766", "Auderath"))
		s.onSave()
		h.wait()
		es, err := ob.Entries(ctx, app.OfflineWaiting)
		if err != nil || len(es) == 0 || es[len(es)-1].Case.Applicant.LastName != last {
			t.Fatalf("kept: %+v, %v", es, err)
		}
		return es[len(es)-1]
	}
	waiting := func() int {
		es, err := ob.Entries(ctx, app.OfflineWaiting)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	e := take("Anna", "Muster")
	if b := s.offlineBtn; !b.Visible() || b.Text != "Auf diesem PC vorgemerkt: 1" {
		t.Fatalf("offline button %q visible %v", b.Text, b.Visible())
	}
	test.Tap(s.offlineBtn)
	h.wait()
	test.Tap(findButton(h.offlineLine(e.ProvisionalRef), "Verwerfen"))
	h.wait()
	if want := "Den Antrag " + e.ProvisionalRef + " (Anna Muster) verwerfen? Er wird nicht an den Server gesendet, seine Angaben werden von diesem PC gelöscht, " +
		"und die vorläufige Quittung des Bürgers wird ungültig. Bitte sagen Sie es dem Bürger."; h.m.lastMessage != want {
		t.Fatalf("asked %q, want %q", h.m.lastMessage, want)
	}
	h.press(fyne.KeyReturn)
	h.wait()
	if n := waiting(); n != 1 {
		t.Fatalf("Enter discarded: %d kept", n)
	}
	test.Tap(findButton(h.offlineLine(e.ProvisionalRef), "Verwerfen"))
	h.wait()
	test.Tap(h.m.topDialog().okBtn)
	h.eventually(5*time.Second, "application gone", func() bool {
		return waiting() == 0 && !s.offlineBtn.Visible() && h.m.offlineBox != nil &&
			strings.Contains(markup(h.m.offlineBox), "Auf diesem PC ist nichts vorgemerkt.")
	})
	if es, _ := ob.Entries(ctx, ""); len(es) != 0 {
		t.Errorf("left in the file: %+v", es)
	}

	// The replay has marked this one as being sent: it stays.
	h.m.closeDialogs()
	sent := take("Berta", "Unterwegs")
	if err := ob.TryEntry(ctx, sent.Key); err != nil {
		t.Fatal(err)
	}
	// Another clerk's, on this PC: hers to discard, not Anna Ulmer's.
	nc := storetest.DogCase(t, "form-kollege", "Carl", "Kollege", app.OfficeUlmen, storetest.Start)
	nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, "ulm_b"
	other, err := ob.Hold(ctx, nc, app.OfficeUlmen, "ulm_b")
	if err != nil {
		t.Fatal(err)
	}
	h.m.showOfflineEntries()
	h.wait()
	for _, o := range h.m.offlineBox.Objects {
		if c, ok := o.(*fyne.Container); ok && strings.Contains(markup(c), other.ProvisionalRef) {
			t.Errorf("another clerk's application has buttons: %q", markup(c))
		}
	}
	if !strings.Contains(markup(h.m.offlineBox), other.ProvisionalRef+" (Carl Kollege, ") {
		t.Errorf("another clerk's application not listed: %q", markup(h.m.offlineBox))
	}
	test.Tap(findButton(h.offlineLine(sent.ProvisionalRef), "Verwerfen"))
	h.wait()
	test.Tap(h.m.topDialog().okBtn)
	h.wait()
	h.wait()
	if !strings.Contains(h.m.lastMessage, "Der Antrag "+sent.ProvisionalRef+" ist schon unterwegs zum Server") || waiting() != 2 {
		t.Errorf("discarded while being sent: %q, %d kept", h.m.lastMessage, waiting())
	}
	if b := s.offlineBtn; !b.Visible() || b.Text != "Auf diesem PC vorgemerkt: 2" {
		t.Errorf("offline button %q visible %v", b.Text, b.Visible())
	}
}

// A counter PC started without its server (the away window) lists the
// applications it keeps in the queue's place: one discarded there is no
// longer listed.
func TestAwayWindowApplicationDiscarded(t *testing.T) {
	ctx := context.Background()
	ob, err := offline.Open(ctx, filepath.Join(t.TempDir(), "offline.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	connect := func(ctx context.Context) (*Connection, error) {
		return nil, app.Errorf(app.EUNAVAILABLE, "Der Datenbankserver ist nicht erreichbar.")
	}
	h := newHarness(t, nil, func(o *Options) { o.Connect, o.Offline, o.Actor = connect, ob, app.Actor{Clerk: "ulm_a"} })
	m, s := h.m, h.m.intake
	if !m.away() {
		t.Fatal("not the away window")
	}
	m.show(ScreenIntake)
	s.fill(dogCase("Anna", "Muster", "56766", "Auderath"))
	s.onSave()
	h.wait()
	es, err := ob.Entries(ctx, app.OfflineWaiting)
	if err != nil || len(es) != 1 {
		t.Fatalf("kept: %+v, %v", es, err)
	}
	prov := es[0].ProvisionalRef
	if got := m.awayUI.entries.Text; !strings.Contains(got, prov+" (Anna Muster, ") {
		t.Fatalf("queue's place: %q", got)
	}
	test.Tap(s.offlineBtn)
	h.wait()
	test.Tap(findButton(h.offlineLine(prov), "Verwerfen"))
	h.wait()
	test.Tap(m.topDialog().okBtn)
	h.eventually(5*time.Second, "no longer listed", func() bool {
		return m.awayUI.entries.Text == "Auf diesem PC ist kein Antrag vorgemerkt." && !s.offlineBtn.Visible()
	})
	if es, _ := ob.Entries(ctx, ""); len(es) != 0 {
		t.Errorf("left in the file: %+v", es)
	}
}

package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// withOutbox runs the window with the store's outbox, as ui/cli does.
func withOutbox(store testStore) func(*Options) {
	return func(o *Options) { o.Messages = store.DB }
}

// portalCase takes in a portal application of VG Cochem (the harness's
// office) as the sync does: with its "eingegangen" message.
func portalCase(t *testing.T, store testStore, portal string) *app.Case {
	t.Helper()
	it := testReg.Intake(dogCase("Anna", "Muster", "56253", "Treis-Karden"), testNow)
	nc, err := it.NewCase(portal, "portal", testNow)
	if err != nil {
		t.Fatal(err)
	}
	nc.Channel, nc.PortalCase = app.ChannelPortal, portal
	c, _, err := store.CreateCase(context.Background(), nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// byStatus returns the message of the status (the last one queued).
func byStatus(ms []app.Outgoing, st app.PortalStatus) *app.Outgoing {
	var out *app.Outgoing
	for i := range ms {
		if ms[i].Status == st {
			out = &ms[i]
		}
	}
	return out
}

func messagesOf(t *testing.T, store testStore, ref string) []app.Outgoing {
	t.Helper()
	ms, err := store.CaseMessages(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestStatusChangeShowsMessage: moving a portal case to "Wartet auf
// Bürger" asks for the internal reason, then shows the message to the
// citizen filled in from the template; the clerk picks the missing
// documents from the service's list, sets the deadline in working days and
// edits the text. Only then do the status and the message change,
// together; the internal reason is not in the message.
func TestStatusChangeShowsMessage(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	c := portalCase(t, store, "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4b01")
	if err := store.SetStatus(context.Background(), c.Ref, app.StatusInProgress, "", app.Actor{Clerk: "mm", Office: app.OfficeCochem}); err != nil {
		t.Fatal(err)
	}
	h.m.openCase(c.Ref)
	h.wait()
	cv := h.m.caseView
	if !strings.Contains(markup(cv.content), "Eingereiht") {
		t.Fatalf("the eingegangen message is not in the case view:\n%s", markup(cv.content))
	}
	test.Tap(cv.status)
	for i, s := range cv.statusOptions {
		if s == app.StatusWaiting {
			cv.statusSel.SetSelectedIndex(i)
		}
	}
	cv.reasonEntry.SetText("intern: Tierarzt sagt, Impfpass fehlt")
	cv.submit()
	h.wait()
	f := cv.tell
	if f == nil {
		t.Fatal("no message dialog after the reason")
	}
	if got := h.caseByRef(c.Ref).Status; got != app.StatusInProgress {
		t.Fatalf("status changed before the message was confirmed: %s", got)
	}
	if !strings.Contains(f.text.Text, "Guten Tag Anna Muster") || !strings.Contains(f.text.Text, c.Ref) {
		t.Errorf("draft text: %q", f.text.Text)
	}
	if len(f.docs) != 3 || f.docs[1].Text != "Heimtierausweis oder Impfpass mit Chipnummer" {
		t.Fatalf("documents offered: %d", len(f.docs))
	}
	f.submit() // no document picked
	if cv.tell == nil || !strings.Contains(f.errLabel.Text, "Unterlage") {
		t.Fatalf("accepted without a document (error %q)", f.errLabel.Text)
	}
	f.docs[1].SetChecked(true)
	if !strings.Contains(f.text.Text, "Heimtierausweis oder Impfpass mit Chipnummer") {
		t.Errorf("the picked document is not in the text: %q", f.text.Text)
	}
	f.days.SetText("5")
	deadline := app.AddWorkingDays(testNow, 5)
	if !strings.Contains(f.until.Text, app.FormatDate(deadline)) || !strings.Contains(f.text.Text, app.FormatDate(deadline)) {
		t.Errorf("deadline %s: label %q, text %q", app.FormatDate(deadline), f.until.Text, f.text.Text)
	}
	if f.hint.Visible() {
		t.Errorf("hint before any edit: %q", f.hint.Text)
	}
	edited := f.text.Text + "\nMit freundlichen Grüßen, Ihre VG Cochem"
	f.text.SetText(edited)
	// Written in by hand: a new deadline no longer rewrites the text, and
	// the dialog says so.
	f.days.SetText("6")
	f.days.SetText("5")
	if f.text.Text != edited || !f.hint.Visible() || !strings.Contains(f.hint.Text, "von Hand geändert") {
		t.Errorf("after editing and a new deadline: text %q, hint %v %q", f.text.Text, f.hint.Visible(), f.hint.Text)
	}
	f.submit()
	h.wait()
	if got := h.caseByRef(c.Ref).Status; got != app.StatusWaiting {
		t.Fatalf("status %s", got)
	}
	ms := messagesOf(t, store, c.Ref)
	if len(ms) != 2 {
		t.Fatalf("%d messages", len(ms))
	}
	m := byStatus(ms, app.PortalDocsMissing)
	if m == nil || m.Text != strings.TrimSpace(edited) || len(m.Documents) != 1 ||
		m.Documents[0] != "Heimtierausweis oder Impfpass mit Chipnummer" || !m.Deadline.Equal(deadline) || m.QueuedBy != "mm" {
		t.Errorf("message %+v", m)
	}
	if strings.Contains(m.Text, "Tierarzt sagt") {
		t.Error("the internal reason went into the message")
	}
	if text := markup(h.m.caseView.content); !strings.Contains(text, "Unterlagen fehlen") || !strings.Contains(text, "Frist "+app.FormatDate(deadline)) {
		t.Errorf("case view does not list the message:\n%s", text)
	}
}

// forwardTo fills the forward dialog and confirms the reason: the message
// dialog opens.
func forwardTo(h *harness, cv *caseView, to app.OfficeKey, reason string) {
	test.Tap(cv.forward)
	for i, k := range cv.forwardKeys {
		if k == to {
			cv.forwardSel.SetSelectedIndex(i)
		}
	}
	cv.reasonEntry.SetText(reason)
	cv.submit()
	h.wait()
}

// TestMessageDialogEscChangesNothing: Esc in the message dialog cancels
// the forward too; Enter sends it with the forward.
func TestMessageDialogEscChangesNothing(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	c := portalCase(t, store, "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4b02")
	h.m.openCase(c.Ref)
	h.wait()
	cv := h.m.caseView
	forwardTo(h, cv, app.OfficeZell, "Wohnt in Zell")
	if cv.tell == nil || cv.tell.status != app.PortalForwarded || !strings.Contains(cv.tell.text.Text, "Verbandsgemeindeverwaltung Zell") {
		t.Fatalf("forward message: %+v", cv.tell)
	}
	h.press(fyne.KeyEscape)
	h.wait()
	if got := h.caseByRef(c.Ref); got.Office != app.OfficeCochem {
		t.Errorf("forwarded although cancelled: %s", got.Office)
	}
	if ms := messagesOf(t, store, c.Ref); len(ms) != 1 {
		t.Errorf("%d messages after Esc", len(ms))
	}
	// Again, confirmed with Enter.
	forwardTo(h, cv, app.OfficeZell, "Wohnt in Zell")
	h.w.Canvas().Unfocus()
	h.press(fyne.KeyReturn)
	h.wait()
	ms := messagesOf(t, store, c.Ref)
	if got := h.caseByRef(c.Ref); got.Office != app.OfficeZell || len(ms) != 2 || byStatus(ms, app.PortalForwarded).ForwardedTo != app.OfficeZell {
		t.Errorf("forward with Enter: office %s, messages %+v", got.Office, ms)
	}
}

// TestFreeMessageAndStates: "Nachricht an Bürger" sends a free message;
// the case lists every message with its state as the portal reported it,
// and the queue filters on citizens the portal cannot reach.
func TestFreeMessageAndStates(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	ctx := context.Background()
	c := portalCase(t, store, "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4b03")
	h.m.openCase(c.Ref)
	h.wait()
	cv := h.m.caseView
	test.Tap(cv.tellBtn)
	f := cv.tell
	if f == nil || !f.free || !strings.Contains(f.text.Text, "Guten Tag Anna Muster") {
		t.Fatalf("free message dialog: %+v", f)
	}
	f.text.SetText("Wir melden uns nächste Woche telefonisch.")
	f.submit()
	h.wait()
	ms := messagesOf(t, store, c.Ref)
	var free, received app.Outgoing
	for _, m := range ms {
		if m.Free {
			free = m
		} else {
			received = m
		}
	}
	if len(ms) != 2 || free.Text != "Wir melden uns nächste Woche telefonisch." {
		t.Fatalf("messages %+v", ms)
	}
	if err := store.MarkSent(ctx, received.Nachricht, testNow); err != nil {
		t.Fatal(err)
	}
	if err := store.ApplyQuittung(ctx, &app.Quittung{Nachricht: free.Nachricht, PortalCase: c.PortalCase, Result: app.OutboxUnzustellbar, At: testNow}, nil); err != nil {
		t.Fatal(err)
	}
	h.m.refresh()
	h.wait()
	text := markup(h.m.caseView.content)
	for _, want := range []string{"Versendet", "Unzustellbar – Brief drucken"} {
		if !strings.Contains(text, want) {
			t.Errorf("case view lacks %q:\n%s", want, text)
		}
	}
	if f := h.m.caseView.flags; !f.Visible() || !strings.Contains(f.Text, "Bürger nicht erreichbar") {
		t.Errorf("flag not shown: %q", f.Text)
	}
	h.m.back()
	h.wait()
	q := h.m.queue
	q.flag.SetSelected("Bürger nicht erreichbar")
	h.wait()
	if q.count != 1 || h.cell(0, 0) != c.Ref {
		t.Errorf("queue filter citizen-unreachable: %d cases", q.count)
	}
}

// TestOutboxScreen: "Rückmeldungen" lists the messages not delivered with
// the reason and what to do, sends one again, and lists the letters to
// print (a walk-in case's answer), which the clerk marks printed.
func TestOutboxScreen(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	ctx := context.Background()
	c := portalCase(t, store, "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4b04")
	ms := messagesOf(t, store, c.Ref)
	reason := "Der Mailserver hat den Empfänger abgelehnt (550). Bitte die IT verständigen; bis dahin per Brief antworten."
	if err := store.MarkFailed(ctx, ms[0].Nachricht, app.OutboxFailure{Class: "permanent", Code: 550, Reason: reason}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	it := testReg.Intake(dogCase("Eva", "Thal", "56253", "Treis-Karden"), testNow)
	nc, err := it.NewCase("form-1", "mm", testNow)
	if err != nil {
		t.Fatal(err)
	}
	walkIn, _, err := store.CreateCase(ctx, nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	by := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	if _, err := store.ChangeCase(ctx, walkIn.Ref, app.CaseChange{}, &app.Tell{Text: "Ihre Hundemarke liegt zur Abholung bereit."}, by); err != nil {
		t.Fatal(err)
	}
	h.m.show(ScreenOutbox)
	h.wait()
	text := markup(h.m.outbox.box)
	for _, want := range []string{"Nicht zugestellte Nachrichten", c.Ref, "Nicht versendet", reason, "Druckaufträge", walkIn.Ref,
		"Ihre Hundemarke liegt zur Abholung bereit.", "Vorgang vom Schalter"} {
		if !strings.Contains(text, want) {
			t.Errorf("Rückmeldungen lacks %q:\n%s", want, text)
		}
	}
	b := findButton(h.m.outbox.box, "Erneut senden")
	if b == nil {
		t.Fatal("no Erneut senden")
	}
	test.Tap(b)
	h.wait()
	if ms := messagesOf(t, store, c.Ref); ms[0].State != app.OutboxQueued {
		t.Errorf("after Erneut senden: %s", ms[0].State)
	}
	b = findButton(h.m.outbox.box, "Drucken")
	if b == nil {
		t.Fatal("no Drucken")
	}
	test.Tap(b)
	h.wait()
	if jobs := h.print.jobs(); len(jobs) != 1 || jobs[0] != walkIn.Ref+" Schreiben" {
		t.Errorf("printed %q", jobs)
	}
	if jobs, _ := store.PrintJobs(ctx, app.PrintFilter{}); len(jobs) != 0 {
		t.Errorf("open print jobs after printing: %+v", jobs)
	}
	if es, _ := store.AuditEntries(ctx, app.AuditFilter{Ref: walkIn.Ref, Action: app.ActionCasePrint}); len(es) != 1 || es[0].Detail != "brief:drucker" {
		t.Errorf("print not audited: %+v", es)
	}
	// A second letter, marked printed by hand (printed elsewhere).
	if _, err := store.ChangeCase(ctx, walkIn.Ref, app.CaseChange{}, &app.Tell{Text: "Nachtrag."}, by); err != nil {
		t.Fatal(err)
	}
	h.m.outbox.reload()
	h.wait()
	b = findButton(h.m.outbox.box, "Als gedruckt markieren")
	if b == nil {
		t.Fatal("no Als gedruckt markieren")
	}
	test.Tap(b)
	h.wait()
	if jobs, _ := store.PrintJobs(ctx, app.PrintFilter{}); len(jobs) != 1 || len(h.m.dialogs) != 1 || !strings.Contains(h.m.lastMessage, "nicht rückgängig") {
		t.Fatalf("marked without asking: %d open jobs, %d dialogs, %q", len(jobs), len(h.m.dialogs), h.m.lastMessage)
	}
	test.Tap(h.m.topDialog().okBtn) // Als gedruckt markieren
	h.wait()
	if jobs, _ := store.PrintJobs(ctx, app.PrintFilter{}); len(jobs) != 0 {
		t.Errorf("open print jobs after marking: %+v", jobs)
	}
	if text := markup(h.m.outbox.box); !strings.Contains(text, "Keine Briefe zu drucken.") {
		t.Errorf("after marking:\n%s", text)
	}
}

// TestMessageDialogOnScreen: the message dialog that the reason dialog's
// Weiterleiten opens stays on screen with its text focused. Before, closing
// the reason dialog took the message dialog's overlay with it: the clerk
// saw nothing, and Enter sent an unseen message.
func TestMessageDialogOnScreen(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	c := portalCase(t, store, "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4b08")
	h.m.openCase(c.Ref)
	h.wait()
	cv := h.m.caseView
	forwardTo(h, cv, app.OfficeZell, "Wohnt in Zell")
	if cv.tell == nil {
		t.Fatal("no message dialog")
	}
	ov := h.w.Canvas().Overlays()
	if len(ov.List()) != 1 || !strings.Contains(markup(ov.Top()), "Diese Nachricht geht über das Bürgerportal") {
		t.Fatalf("the message dialog is not on screen: %d overlays", len(ov.List()))
	}
	if h.w.Canvas().Focused() != cv.tell.text {
		t.Errorf("focus on %T, not the text", h.w.Canvas().Focused())
	}
}

// TestStatusMessageDialogAtOnce: the status change's message dialog opens
// as the reason dialog closes, on screen with the first missing document
// focused, without a trip through the background (the rule check is pure;
// before, a goroutine read the case the window may be reloading).
func TestStatusMessageDialogAtOnce(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	c := portalCase(t, store, "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4b07")
	if err := store.SetStatus(context.Background(), c.Ref, app.StatusInProgress, "", app.Actor{Clerk: "mm", Office: app.OfficeCochem}); err != nil {
		t.Fatal(err)
	}
	h.m.openCase(c.Ref)
	h.wait()
	cv := h.m.caseView
	test.Tap(cv.status)
	for i, s := range cv.statusOptions {
		if s == app.StatusWaiting {
			cv.statusSel.SetSelectedIndex(i)
		}
	}
	cv.reasonEntry.SetText("Impfpass fehlt")
	cv.submit()
	if cv.tell == nil || len(h.m.dialogs) != 1 {
		t.Fatalf("no message dialog at once: %d dialogs", len(h.m.dialogs))
	}
	if ov := h.w.Canvas().Overlays(); len(ov.List()) != 1 || len(cv.tell.docs) == 0 || h.w.Canvas().Focused() != cv.tell.docs[0] {
		t.Errorf("the message dialog is not on screen (%d overlays) or not focused (%T)", len(ov.List()), h.w.Canvas().Focused())
	}
	h.wait()
}

// TestMessageDialogEscAsksWhenEdited: Esc over an edited message text asks
// "Ungespeicherte Eingaben verwerfen?"; Zurück (Enter) keeps the text and
// its focus, Verwerfen cancels the forward. An untouched draft closes at
// once (TestMessageDialogEscChangesNothing).
func TestMessageDialogEscAsksWhenEdited(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	c := portalCase(t, store, "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4b09")
	h.m.openCase(c.Ref)
	h.wait()
	cv := h.m.caseView
	forwardTo(h, cv, app.OfficeZell, "Wohnt in Zell")
	f := cv.tell
	if f == nil {
		t.Fatal("no message dialog")
	}
	if h.w.Canvas().Overlays().Top() == nil || h.w.Canvas().Focused() != f.text {
		t.Fatalf("the message dialog is not on screen (overlays %d) or its text has no focus (%T)", len(h.w.Canvas().Overlays().List()), h.w.Canvas().Focused())
	}
	h.typeText(" Bitte rufen Sie uns an.")
	edited := f.text.Text
	h.press(fyne.KeyEscape)
	if len(h.m.dialogs) != 2 || !strings.Contains(h.m.lastMessage, "geht dabei verloren") {
		t.Fatalf("Esc over an edited text did not ask: %d dialogs, %q", len(h.m.dialogs), h.m.lastMessage)
	}
	h.press(fyne.KeyReturn) // Zurück is the default
	if len(h.m.dialogs) != 1 || cv.tell != f || f.text.Text != edited || h.w.Canvas().Focused() != f.text {
		t.Fatalf("Zurück lost the text: %d dialogs, text %q, focus %v", len(h.m.dialogs), f.text.Text, h.w.Canvas().Focused())
	}
	h.press(fyne.KeyEscape)
	test.Tap(h.m.topDialog().okBtn) // Verwerfen
	h.wait()
	if len(h.m.dialogs) != 0 || cv.tell != nil {
		t.Fatalf("Verwerfen left %d dialogs", len(h.m.dialogs))
	}
	if got := h.caseByRef(c.Ref); got.Office != app.OfficeCochem {
		t.Errorf("forwarded although discarded: %s", got.Office)
	}
	if ms := messagesOf(t, store, c.Ref); len(ms) != 1 {
		t.Errorf("%d messages after Verwerfen", len(ms))
	}
}

// TestOutboxScreenEnter: the buttons of Rückmeldungen take Enter like the
// rest of the window (keyButton): Tab to "Als gedruckt markieren", Enter
// asks first (the clerk cannot undo it; Enter again is Abbrechen), Enter
// on the question's "Als gedruckt markieren" marks the letter.
func TestOutboxScreenEnter(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	ctx := context.Background()
	it := testReg.Intake(dogCase("Eva", "Thal", "56253", "Treis-Karden"), testNow)
	nc, err := it.NewCase("form-1", "mm", testNow)
	if err != nil {
		t.Fatal(err)
	}
	walkIn, _, err := store.CreateCase(ctx, nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ChangeCase(ctx, walkIn.Ref, app.CaseChange{}, &app.Tell{Text: "Nachtrag."}, app.Actor{Clerk: "mm", Office: app.OfficeCochem}); err != nil {
		t.Fatal(err)
	}
	h.m.show(ScreenOutbox)
	h.wait()
	var done *keyButton
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *keyButton:
			if x.Text == "Als gedruckt markieren" {
				done = x
			}
		case *widget.Card:
			walk(x.Content)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(h.m.outbox.box)
	if done == nil {
		t.Fatal("no Als gedruckt markieren that takes Enter")
	}
	h.w.Canvas().Focus(done)
	h.press(fyne.KeyReturn)
	if len(h.m.dialogs) != 1 {
		t.Fatalf("Enter on Als gedruckt markieren did not ask: %d dialogs", len(h.m.dialogs))
	}
	h.press(fyne.KeyReturn) // Abbrechen is the default: it cannot be undone
	if jobs, _ := store.PrintJobs(ctx, app.PrintFilter{}); len(jobs) != 1 || len(h.m.dialogs) != 0 {
		t.Fatalf("the second Enter marked the letter: %d open jobs, %d dialogs", len(jobs), len(h.m.dialogs))
	}
	h.w.Canvas().Focus(done)
	h.press(fyne.KeyReturn)
	h.w.Canvas().Focus(h.m.topDialog().okBtn)
	h.press(fyne.KeyReturn)
	h.wait()
	if jobs, _ := store.PrintJobs(ctx, app.PrintFilter{}); len(jobs) != 0 {
		t.Errorf("open print jobs after Enter: %+v", jobs)
	}
}

package ui

import (
	"context"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// testNow is the fixed clock of the UI tests: Friday, 27 November 2026.
var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, app.Berlin)

var testReg = app.Default()

// fakePrinter records what would have been printed.
type fakePrinter struct {
	mu      gosync.Mutex
	printed []string // titles of print jobs
	cases   []string // refs of receipts made
	fail    error
}

func (p *fakePrinter) CaseDocument(ctx context.Context, c *app.Case, clerk string) (*Document, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cases = append(p.cases, c.Ref)
	return &Document{Title: c.Ref, FileName: c.Ref + ".pdf", Data: []byte("%PDF-1.4 " + c.Ref), Kind: "eingang", Ref: c.Ref}, nil
}

func (p *fakePrinter) AppointmentDocument(ctx context.Context, a *app.Appointment, c *app.Case, clerk string) (*Document, error) {
	return &Document{Title: a.UID, FileName: "termin.pdf", Data: []byte("%PDF-1.4 " + a.UID), Kind: "termin", Ref: a.UID, Appointment: true}, nil
}

func (p *fakePrinter) LetterDocument(ctx context.Context, c *app.Case, m *app.Outgoing, clerk string) (*Document, error) {
	return &Document{Title: c.Ref + " Schreiben", FileName: c.Ref + "_Schreiben.pdf", Data: []byte("%PDF-1.4 " + m.Text), Kind: "brief", Ref: c.Ref}, nil
}

func (p *fakePrinter) Print(ctx context.Context, d *Document) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return "", p.fail
	}
	p.printed = append(p.printed, d.Title)
	return "", nil
}

func (p *fakePrinter) jobs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.printed...)
}

// harness is a main window on Fyne's test driver with a real store.
type harness struct {
	t     *testing.T
	m     *mainWindow
	w     fyne.Window
	store app.Store
	print *fakePrinter

	mu      gosync.Mutex
	pending []func()
}

// newHarness opens the window as clerk "mm" of VG Cochem.
func newHarness(t *testing.T, store Store, opts ...func(*Options)) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	if err := setupLanguage(LangGerman); err != nil {
		t.Fatal(err)
	}
	a.Preferences().SetString(prefOffice, string(app.OfficeCochem))
	a.Preferences().SetString(prefClerkSign, "mm")
	a.Preferences().SetString(prefClerkName, "Maria Müller")
	w := a.NewWindow("Amtstresen")
	p := &fakePrinter{}
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{Store: store, Registry: testReg, Printer: p, DBPath: "test.db",
		Paths: app.Paths{CacheDir: t.TempDir(), DataDir: t.TempDir()}, Version: "test"}
	for _, fn := range opts {
		fn(&o)
	}
	m := newMainWindow(ctx, a, w, o)
	m.now = func() time.Time { return testNow }
	h := &harness{t: t, w: w, store: store, print: p}
	// The test goroutine is the UI goroutine: work from the background is
	// queued and run by wait, as the real driver runs it on its thread.
	m.post = h.enqueue
	h.m = m
	w.SetContent(m.buildUI())
	w.Resize(fyne.NewSize(1280, 800))
	m.start()
	h.wait()
	t.Cleanup(func() {
		h.wait()
		cancel()
		m.long.wait()
		w.Close()
	})
	return h
}

func (h *harness) enqueue(fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = append(h.pending, fn)
}

// wait lets background work (queries, debounced searches) finish and runs
// what it hands to the UI, until all is quiet.
func (h *harness) wait() {
	for {
		h.m.bg.wait()
		h.mu.Lock()
		fns := h.pending
		h.pending = nil
		h.mu.Unlock()
		if len(fns) == 0 {
			return
		}
		for _, fn := range fns {
			fn()
		}
	}
}

// typeInto focuses an entry the way Tab or a click would and types.
func (h *harness) typeInto(e fyne.Focusable, text string) {
	h.w.Canvas().Focus(e)
	for _, r := range text {
		e.TypedRune(r)
	}
}

func (h *harness) key(e fyne.Focusable, k fyne.KeyName) { e.TypedKey(&fyne.KeyEvent{Name: k}) }

// create makes a case through the store, as the portal sync would.
func (h *harness) create(in app.IntakeInput, key string) *app.Case {
	h.t.Helper()
	it := testReg.Intake(in, testNow)
	if !it.OK() {
		h.t.Fatalf("test input invalid: %v", it.Errors)
	}
	nc, err := it.NewCase(key, "portal", testNow)
	if err != nil {
		h.t.Fatal(err)
	}
	nc.Channel = app.ChannelPortal
	c, _, err := h.store.CreateCase(context.Background(), nc, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) caseByRef(ref string) *app.Case {
	h.t.Helper()
	c, err := h.store.CaseByRef(context.Background(), ref)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func dogCase(first, last, plz, ort string) app.IntakeInput {
	return app.IntakeInput{Service: "hund-anmelden", FirstName: first, LastName: last, Street: "Moselstraße", HouseNumber: "1",
		Postcode: plz, Place: ort, Fields: map[string]string{"hund.name": "Bello", "hund.rasse": "Dackel",
			"hund.chipnummer": "276098106543210", "haltungsbeginn": "01.11.2026"}}
}

// The walk-in intake, from the keyboard: the service picked by typing,
// the postcode completing place and AGS, live validation, the office and
// its reason before saving, Enter saves and prints the receipt.
func TestIntakeFromPostcodeToReceipt(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	m, s := h.m, h.m.intake
	m.show(ScreenIntake)
	if got := h.w.Canvas().Focused(); got != s.svc {
		t.Fatalf("focus on open = %T, want the service field", got)
	}
	if got := s.office.Text; got != "Noch offen" {
		t.Errorf("office before a service = %q", got)
	}

	h.typeInto(s.svc, "hund an")
	if len(s.svc.items) != 1 || s.svc.items[0].Text != "Hund anmelden (Hundesteuer)" {
		t.Fatalf("service suggestions = %v", s.svc.items)
	}
	h.key(s.svc, fyne.KeyReturn) // takes the suggestion, does not save
	if s.service == nil || s.service.Key != "hund-anmelden" {
		t.Fatalf("service = %v", s.service)
	}
	if h.w.Canvas().Focused() != s.salutation {
		t.Errorf("focus after picking the service = %T", h.w.Canvas().Focused())
	}
	if len(s.fields) != 8 {
		t.Fatalf("dog form has %d fields, want 8", len(s.fields))
	}

	h.typeInto(s.salutation, "Fr")
	h.key(s.salutation, fyne.KeyReturn)
	h.typeInto(s.first, "Anna")
	h.typeInto(s.last, "Muster")
	h.typeInto(s.birth, "14.03.1985")
	h.typeInto(s.street, "Moselstraße")
	h.typeInto(s.house, "12a")

	// The postcode: one municipality; Tab takes it and fills the place.
	h.typeInto(s.postcode, "5625")
	if len(s.postcode.items) != 3 { // 56253 and 56254
		t.Fatalf("postcode suggestions = %v", s.postcode.items)
	}
	h.typeInto(s.postcode, "3")
	if len(s.postcode.items) != 1 || !strings.Contains(s.postcode.items[0].Text, "Treis-Karden") {
		t.Fatalf("postcode suggestions = %v", s.postcode.items)
	}
	h.w.Canvas().Focus(s.place) // Tab
	if s.place.Text != "Treis-Karden" || s.postcode.Text != "56253" {
		t.Fatalf("after postcode: plz %q ort %q", s.postcode.Text, s.place.Text)
	}
	if s.ags != "07135082" || !strings.Contains(s.muni.Text, "07135082") {
		t.Errorf("AGS %q, label %q", s.ags, s.muni.Text)
	}

	// The office shows live, with its reason, before anything is saved.
	if got, want := s.office.Text, "Verbandsgemeindeverwaltung Cochem"; got != want {
		t.Errorf("office = %q, want %q", got, want)
	}
	if !strings.Contains(s.reason.Text, "Treis-Karden") {
		t.Errorf("reason = %q", s.reason.Text)
	}

	// The service's own fields, checked as typed.
	chip := s.fieldEntry("hund.chipnummer")
	h.typeInto(s.fieldEntry("hund.name"), "Bello")
	h.typeInto(s.fieldEntry("hund.rasse"), "Dackel")
	h.typeInto(chip, "27609810654")
	if got := s.errs["hund.chipnummer"].Text; got != "Die Chipnummer hat genau 15 Ziffern." || !s.errs["hund.chipnummer"].Visible() {
		t.Errorf("chip error = %q", got)
	}
	h.typeInto(chip, "3210")
	if s.errs["hund.chipnummer"].Visible() {
		t.Errorf("chip error still shown: %q", s.errs["hund.chipnummer"].Text)
	}

	// Enter with a required field missing: nothing saved, the field named
	// and focused.
	h.key(chip, fyne.KeyReturn)
	h.wait()
	if got := s.errs["haltungsbeginn"].Text; got != "Bitte ausfüllen." {
		t.Errorf("missing date error = %q", got)
	}
	if h.w.Canvas().Focused() != s.targets["haltungsbeginn"] {
		t.Errorf("focus after failed save = %T", h.w.Canvas().Focused())
	}
	if n, _ := h.store.CountCases(context.Background(), app.CaseFilter{}); n != 0 {
		t.Fatalf("%d cases after a failed save", n)
	}

	h.typeInto(s.fieldEntry("haltungsbeginn"), "01.11.2026")
	h.key(s.fieldEntry("haltungsbeginn"), fyne.KeyReturn)
	h.wait()

	cases, err := h.store.ListCases(context.Background(), app.CaseFilter{})
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases = %v, %v", cases, err)
	}
	c := h.caseByRef(cases[0].Ref)
	if c.Office != app.OfficeCochem || c.Channel != app.ChannelCounter || c.Applicant.Address.AGS != "07135082" || c.Applicant.BirthDate != "1985-03-14" {
		t.Errorf("case = %+v", c)
	}
	if !strings.HasPrefix(c.Ref, "COC-2026-") {
		t.Errorf("ref = %q", c.Ref)
	}
	if got := h.print.jobs(); len(got) != 1 || got[0] != c.Ref {
		t.Errorf("print jobs = %v, want the receipt of %s", got, c.Ref)
	}
	if !strings.Contains(s.lastSave.Text, c.Ref) || !strings.Contains(s.lastSave.Text, "Quittung gedruckt") {
		t.Errorf("after save: %q", s.lastSave.Text)
	}
	// The form is empty for the next citizen, with the focus on the service.
	if s.service != nil || s.first.Text != "" || s.postcode.Text != "" || h.w.Canvas().Focused() != s.svc {
		t.Errorf("form not reset: service %v, first %q", s.service, s.first.Text)
	}
	if s.errs[app.PathLastName].Visible() {
		t.Errorf("reset form shows errors")
	}
}

// fieldEntry returns the entry of a service field (tests).
func (s *intakeScreen) fieldEntry(path string) *fieldEntry {
	for _, f := range s.fields {
		if f.spec.Path == path {
			return f.entry
		}
	}
	return nil
}

// 56814 spans two Verbandsgemeinden: the postcode alone does not decide;
// the place does, and saving without it asks first.
func TestIntakeAmbiguousPostcode(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	s := h.m.intake
	h.m.show(ScreenIntake)
	s.fill(dogCase("Karl", "Zender", "", ""))
	h.typeInto(s.postcode, "56814")
	if len(s.postcode.items) < 5 {
		t.Fatalf("56814 suggests %d places", len(s.postcode.items))
	}
	h.w.Canvas().Focus(s.place) // Tab does not pick among several
	if s.place.Text != "" {
		t.Fatalf("place = %q", s.place.Text)
	}
	if s.office.Text != "Zuständigkeit nicht geklärt" || !strings.Contains(s.reason.Text, "Ort fehlt") {
		t.Errorf("office %q reason %q", s.office.Text, s.reason.Text)
	}
	h.typeInto(s.place, "Land")
	if len(s.place.items) != 1 || !strings.Contains(s.place.items[0].Text, "Landkern") {
		t.Fatalf("place suggestions = %v", s.place.items)
	}
	h.key(s.place, fyne.KeyDown)
	h.key(s.place, fyne.KeyReturn)
	if s.place.Text != "Landkern" || s.office.Text != "Verbandsgemeindeverwaltung Kaisersesch" {
		t.Errorf("place %q office %q", s.place.Text, s.office.Text)
	}

	// Unclear routing (Kennfus is a part of Landkern, not an Ortsgemeinde):
	// saving asks, and saves only on confirmation.
	s.place.SetText("Kennfus")
	s.onSave()
	h.wait()
	if !strings.Contains(h.m.lastMessage, "Trotzdem speichern?") {
		t.Fatalf("message = %q", h.m.lastMessage)
	}
	if n, _ := h.store.CountCases(context.Background(), app.CaseFilter{}); n != 0 {
		t.Fatalf("saved without confirmation")
	}
	s.save()
	h.wait()
	cases, _ := h.store.ListCases(context.Background(), app.CaseFilter{})
	if len(cases) != 1 || cases[0].Office != "" || !strings.HasPrefix(cases[0].Ref, "CZ-") {
		t.Fatalf("cases = %+v", cases)
	}
}

// Saving twice (a double Enter) makes one case.
func TestIntakeIdempotent(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	s := h.m.intake
	h.m.show(ScreenIntake)
	in := dogCase("Anna", "Muster", "56253", "Treis-Karden")
	s.fill(in)
	key := s.key
	s.onSave()
	s.onSave()
	h.wait()
	s.fill(in)
	s.key = key // as if the same form were sent again
	s.onSave()
	h.wait()
	if n, _ := h.store.CountCases(context.Background(), app.CaseFilter{}); n != 1 {
		t.Fatalf("%d cases, want 1", n)
	}
	if !strings.Contains(s.lastSave.Text, "schon gespeichert") {
		t.Errorf("lastSave = %q", s.lastSave.Text)
	}
}

// A claim of a case another clerk holds fails with a message that names
// the other clerk; an unclaimed case is taken.
func TestClaimConflict(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	ctx := context.Background()
	held := h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), "a")
	free := h.create(dogCase("Karl", "Zender", "56812", "Cochem"), "b")
	if err := h.store.Claim(ctx, held.Ref, app.Actor{Clerk: "ab", Office: app.OfficeCochem}); err != nil {
		t.Fatal(err)
	}

	h.m.openCase(held.Ref)
	h.wait()
	cv := h.m.caseView
	if cv.claim.Disabled() {
		t.Fatal("claim disabled on a case held by someone else")
	}
	test.Tap(cv.claim)
	h.wait()
	want := held.Ref + " wird bereits von ab bearbeitet."
	if !strings.HasPrefix(h.m.lastMessage, want) {
		t.Errorf("message = %q, want it to start with %q", h.m.lastMessage, want)
	}
	if got := h.caseByRef(held.Ref).Assignee; got != "ab" {
		t.Errorf("assignee = %q after a failed claim", got)
	}

	h.m.openCase(free.Ref)
	h.wait()
	cv = h.m.caseView
	test.Tap(cv.claim)
	h.wait()
	if got := h.caseByRef(free.Ref).Assignee; got != "mm" {
		t.Errorf("assignee = %q, want mm", got)
	}
	if !cv.claim.Disabled() || cv.release.Disabled() {
		t.Errorf("after claiming: claim enabled %v, release enabled %v", !cv.claim.Disabled(), !cv.release.Disabled())
	}
	if !strings.Contains(cv.summary.Text, "bearbeitet von Maria Müller (mm)") {
		t.Errorf("summary = %q", cv.summary.Text)
	}
}

// Only the statuses the rules allow are offered; a reason is required
// (except for "In Bearbeitung"); a final status ends the changes.
func TestStatusChangeRules(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	c := h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), "a")
	h.m.openCase(c.Ref)
	h.wait()
	cv := h.m.caseView

	labels := func() []string { return cv.statusSel.Options }
	test.Tap(cv.status)
	if got, want := strings.Join(labels(), ","), "In Bearbeitung,Zurückgenommen"; got != want {
		t.Fatalf("offered from Eingegangen: %s, want %s", got, want)
	}
	cv.statusSel.SetSelected("In Bearbeitung")
	cv.submit() // no reason needed for starting work
	h.wait()
	if got := h.caseByRef(c.Ref).Status; got != app.StatusInProgress {
		t.Fatalf("status = %s", got)
	}

	test.Tap(cv.status)
	if got, want := strings.Join(labels(), ","), "Wartet auf Bürger,Erledigt,Abgelehnt,Zurückgenommen"; got != want {
		t.Fatalf("offered from In Bearbeitung: %s, want %s", got, want)
	}
	cv.statusSel.SetSelected("Abgelehnt")
	cv.submit()
	if !cv.reasonError.Visible() || !strings.Contains(cv.reasonError.Text, "Begründung") {
		t.Fatalf("no reason: error %q", cv.reasonError.Text)
	}
	if cv.submit == nil {
		t.Fatal("dialog closed without a reason")
	}
	cv.reasonEntry.SetText("Hund ist nicht im Kreis gemeldet")
	cv.submit()
	h.wait()
	got := h.caseByRef(c.Ref)
	if got.Status != app.StatusRejected || got.ClosedAt.IsZero() {
		t.Fatalf("status = %s, closed %v", got.Status, got.ClosedAt)
	}
	if !cv.status.Disabled() || !cv.forward.Disabled() {
		t.Error("status/forward still enabled on a final case")
	}
	// The reason is in the history.
	if !strings.Contains(markup(cv.content), "Hund ist nicht im Kreis gemeldet") {
		t.Error("reason not in the history")
	}

	// A move the rules forbid (e.g. a stale view) is refused with the rule.
	cv.setStatus(app.StatusDone, "x")
	h.wait()
	if !strings.Contains(h.m.lastMessage, "bereits abgeschlossen") {
		t.Errorf("message = %q", h.m.lastMessage)
	}
}

// markup returns the texts of all labels in an object tree.
func markup(o fyne.CanvasObject) string {
	var b strings.Builder
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			b.WriteString(x.Text + "\n")
		case *widget.Card:
			b.WriteString(x.Title + "\n" + x.Subtitle + "\n")
			if x.Content != nil {
				walk(x.Content)
			}
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return b.String()
}

// Forwarding asks for the office and a reason and moves the case.
func TestForward(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	c := h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), "a")
	h.m.openCase(c.Ref)
	h.wait()
	cv := h.m.caseView
	test.Tap(cv.forward)
	for _, o := range cv.forwardSel.Options {
		if o == "Verbandsgemeindeverwaltung Cochem" {
			t.Error("the case's own office is offered")
		}
	}
	cv.forwardSel.SetSelected("Verbandsgemeindeverwaltung Kaisersesch")
	cv.reasonEntry.SetText("Bürger wohnt in Landkern")
	cv.submit()
	h.wait()
	got := h.caseByRef(c.Ref)
	if got.Office != app.OfficeKaisersesch || got.ForwardedFrom != app.OfficeCochem {
		t.Fatalf("office %q from %q", got.Office, got.ForwardedFrom)
	}
}

// Opening a case writes the read to the audit log; the view shows the
// fields with their German labels, unknown ones raw.
func TestCaseViewAuditAndFields(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	in := dogCase("Anna", "Muster", "56253", "Treis-Karden")
	it := testReg.Intake(in, testNow)
	it.Angaben["zusatzfeld"] = map[string]any{"neu": 1}
	nc, _ := it.NewCase("a", "portal", testNow)
	c, _, err := h.store.CreateCase(context.Background(), nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.m.openCase(c.Ref)
	h.wait()
	entries, err := h.store.AuditEntries(context.Background(), app.AuditFilter{Ref: c.Ref})
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, e := range entries {
		if e.Action == "case.read" && e.Clerk == "mm" && e.Office == app.OfficeCochem {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("%d case.read entries by mm, want 1 (entries %+v)", reads, entries)
	}
	text := markup(h.m.caseView.content)
	for _, want := range []string{"Chipnummer (15 Ziffern, ISO 11784)", "276098106543210", "Beginn der Haltung", "01.11.2026",
		"zusatzfeld.neu", "Treis-Karden, VG Cochem (07135082)", "Wohnanschrift liegt in Treis-Karden, VG Cochem"} {
		if !strings.Contains(text, want) {
			t.Errorf("case view lacks %q", want)
		}
	}
	// Back to the queue: the table is shown again.
	h.m.back()
	if h.m.caseView != nil || h.m.body.Objects[0] != h.m.tabs {
		t.Error("back did not return to the screens")
	}
}

// Printing from the case view: the receipt goes to the printer and the
// print is in the audit log; when the printer fails the clerk is told and
// offered the PDF.
func TestCasePrint(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	c := h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), "a")
	h.m.openCase(c.Ref)
	h.wait()
	test.Tap(h.m.caseView.printBtn)
	h.wait()
	if got := h.print.jobs(); len(got) != 1 || got[0] != c.Ref {
		t.Fatalf("jobs = %v", got)
	}
	entries, _ := h.store.AuditEntries(context.Background(), app.AuditFilter{Ref: c.Ref})
	found := false
	for _, e := range entries {
		found = found || (e.Action == "case.print" && e.Detail == "eingang:drucker" && e.Clerk == "mm")
	}
	if !found {
		t.Error("print not audited")
	}
	h.print.fail = app.Errorf(app.EINVALID, "Kein Drucker eingerichtet.")
	test.Tap(h.m.caseView.printBtn)
	h.wait()
	if !strings.Contains(h.m.lastMessage, "Kein Drucker eingerichtet.") || !strings.Contains(h.m.lastMessage, "als PDF speichern?") {
		t.Errorf("message = %q", h.m.lastMessage)
	}
}

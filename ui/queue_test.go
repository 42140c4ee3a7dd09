package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
	"amtstresen/ui/internal/seed"
)

// count asks the store directly, to compare with what the queue shows.
func (h *harness) count(f app.CaseFilter) int {
	h.t.Helper()
	n, err := h.store.CountCases(context.Background(), f)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) cell(row, col int) string {
	q := h.m.queue
	l := widget.NewLabel("")
	q.updateCell(widget.TableCellID{Row: row, Col: col}, l)
	return l.Text
}

// Filters, sorting, paging and search as you type in the Arbeitsvorrat.
func TestQueueFilterAndSearch(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	if err := seed.Fill(ctx, store, testReg, 600, testNow, nil); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, store)
	q := h.m.queue

	// Default: the clerk's office, open cases, newest first.
	def := app.CaseFilter{Offices: []app.OfficeKey{app.OfficeCochem}, Statuses: openStatuses}
	if got, want := q.count, h.count(def); got != want || want == 0 {
		t.Fatalf("default count = %d, want %d", got, want)
	}
	if q.office.Selected != "VG Cochem" || q.status.Selected != "Offen" {
		t.Errorf("default filter shows %q / %q", q.office.Selected, q.status.Selected)
	}
	first, _ := store.ListCases(ctx, app.CaseFilter{Offices: def.Offices, Statuses: def.Statuses, Limit: 1})
	if got := h.cell(0, 0); got != first[0].Ref {
		t.Errorf("row 0 = %q, want %q", got, first[0].Ref)
	}
	if got := h.cell(0, 6); got != "VG Cochem" {
		t.Errorf("office column = %q", got)
	}

	// Filters combine.
	q.office.SetSelected("Alle Dienststellen")
	h.wait()
	q.service.SetSelected("Sperrmüll zur Abholung anmelden")
	h.wait()
	q.status.SetSelected("Erledigt")
	h.wait()
	f := app.CaseFilter{Service: "sperrmuell", Statuses: []app.Status{app.StatusDone}}
	if got, want := q.count, h.count(f); got != want || want == 0 {
		t.Fatalf("sperrmüll/erledigt = %d, want %d", got, want)
	}
	for row := 0; row < min(q.count, 20); row++ {
		if got := h.cell(row, 5); got != "Erledigt" {
			t.Fatalf("row %d status %q", row, got)
		}
	}
	q.flag.SetSelected("Anlage fehlt")
	h.wait()
	if got, want := q.count, h.count(app.CaseFilter{Service: "sperrmuell", Statuses: []app.Status{app.StatusDone}, Flag: app.FlagAttachmentMissing}); got != want {
		t.Errorf("with flag = %d, want %d", got, want)
	}
	q.resetFilter()
	h.wait()
	if q.count != h.count(def) {
		t.Errorf("reset count = %d", q.count)
	}

	// "Nur meine": nothing is mm's yet; claim one and it shows.
	q.mine.SetChecked(true)
	h.wait()
	if q.count != 0 || !q.empty.Visible() {
		t.Errorf("mine before claiming = %d", q.count)
	}
	if err := store.Claim(ctx, first[0].Ref, app.Actor{Clerk: "mm", Office: app.OfficeCochem}); err != nil && app.ErrorCode(err) != app.ECONFLICT {
		t.Fatal(err)
	}
	q.reload()
	h.wait()
	if mine := h.count(app.CaseFilter{Offices: def.Offices, Statuses: def.Statuses, Assignee: "mm"}); q.count != mine {
		t.Errorf("mine = %d, want %d", q.count, mine)
	}
	q.mine.SetChecked(false)
	h.wait()

	// Sorting by a header: Aktenzeichen ascending, then descending.
	q.onSort("ref")
	h.wait()
	asc, _ := store.ListCases(ctx, app.CaseFilter{Offices: def.Offices, Statuses: def.Statuses, Sort: "+ref", Limit: 1})
	if got := h.cell(0, 0); got != asc[0].Ref {
		t.Errorf("sorted +ref row 0 = %q, want %q", got, asc[0].Ref)
	}
	q.onSort("ref")
	h.wait()
	desc, _ := store.ListCases(ctx, app.CaseFilter{Offices: def.Offices, Statuses: def.Statuses, Sort: "ref", Limit: 1})
	if got := h.cell(0, 0); got != desc[0].Ref {
		t.Errorf("sorted ref row 0 = %q, want %q", got, desc[0].Ref)
	}

	// Paging: a row beyond the first page is loaded when it is needed.
	q.office.SetSelected("Alle Dienststellen")
	q.status.SetSelected("Alle Status")
	h.wait()
	if q.count != 600 {
		t.Fatalf("all = %d", q.count)
	}
	if got := h.cell(450, 0); got != "…" {
		t.Fatalf("row 450 before its page came = %q", got)
	}
	h.wait()
	all, _ := store.ListCases(ctx, app.CaseFilter{Sort: "ref", Limit: 1, Offset: 450})
	if got := h.cell(450, 0); got != all[0].Ref {
		t.Errorf("row 450 = %q, want %q", got, all[0].Ref)
	}
	if len(q.pages) > queueMaxPages {
		t.Errorf("%d pages kept", len(q.pages))
	}

	// Search as you type: one query after the typing pause, not per key.
	name := strings.Fields(h.cell(0, 3))[1]
	h.typeInto(q.search, name)
	h.wait()
	want := h.count(app.CaseFilter{Query: name})
	if q.count != want || want == 0 {
		t.Errorf("search %q = %d, want %d", name, q.count, want)
	}
	// Selecting a row opens the case.
	ref := h.cell(0, 0)
	q.table.Select(widget.TableCellID{Row: 0, Col: 0})
	h.wait()
	if h.m.caseView == nil || h.m.caseView.ref != ref {
		t.Fatalf("selecting row 0 did not open %s", ref)
	}
}

// The global search opens a case by its exact reference.
func TestSearchByRef(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	c := h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), "a")
	h.create(dogCase("Karl", "Muster", "56812", "Cochem"), "b")
	h.m.show(ScreenSearch)
	s := h.m.search
	h.typeInto(s.entry, "muster")
	h.wait()
	if len(s.rows) != 2 {
		t.Fatalf("rows = %d", len(s.rows))
	}
	s.entry.SetText(strings.ToLower(c.Ref))
	h.key(s.entry, fyne.KeyReturn)
	h.wait()
	if h.m.caseView == nil || h.m.caseView.ref != c.Ref {
		t.Fatalf("Enter on %s did not open it", c.Ref)
	}
}

// The review list: assign to a case, make a case, mark handled — each
// with a logged reason.
func TestReviewActions(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	if err := seed.ReviewItems(ctx, store, testNow); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, store)
	c := h.create(dogCase("Erika", "Mustermann", "56856", "Zell (Mosel)"), "a")
	h.m.show(ScreenReview)
	h.wait()
	s := h.m.review
	if len(s.items) != 5 {
		t.Fatalf("items = %d", len(s.items))
	}
	if got := h.m.tabs.Items[3].Text; got != "Zur Sichtung (5)" {
		t.Errorf("tab = %q", got)
	}
	pick := func(subject string) *app.ReviewItem {
		for i, it := range s.items {
			if it.Subject == subject {
				s.list.Select(i)
				h.wait()
				return s.cur
			}
		}
		t.Fatalf("no item %q", subject)
		return nil
	}

	// The content is shown decoded, with the reason in German.
	it := pick("Frage zur Hundesteuer")
	if !strings.Contains(s.content.Text, "noch keine Steuermarke erhalten") || !strings.HasPrefix(s.reason.Text, "Keine Portalsendung") {
		t.Errorf("content %q reason %q", s.content.Text, s.reason.Text)
	}

	// Assign: a wrong reference is refused; the right one notes the mail
	// on the case and resolves the item.
	test.Tap(s.assign)
	s.refEntry.SetText("ZEL-2026-99999")
	s.submit()
	if !s.dlgError.Visible() {
		t.Fatal("no reason: no error")
	}
	s.noteEntry.SetText("Bürgerin fragt nach ihrer Steuermarke")
	s.submit()
	h.wait()
	if !strings.Contains(h.m.lastMessage, "Einen Vorgang ZEL-2026-99999 gibt es nicht") {
		t.Errorf("message = %q", h.m.lastMessage)
	}
	s.assignTo(it, c.Ref, "Bürgerin fragt nach ihrer Steuermarke")
	h.wait()
	got, _ := store.ReviewItem(ctx, it.ID)
	if !got.Handled || got.Resolution != "assigned:"+c.Ref || got.HandledBy != "mm" || got.Note != "Bürgerin fragt nach ihrer Steuermarke" {
		t.Errorf("item = %+v", got)
	}
	notes, _ := store.Notes(ctx, c.Ref)
	if len(notes) == 0 || !strings.Contains(notes[len(notes)-1].Text, "Frage zur Hundesteuer") {
		t.Errorf("notes = %+v", notes)
	}
	if len(s.items) != 4 || h.m.tabs.Items[3].Text != "Zur Sichtung (4)" {
		t.Errorf("after assign: %d items, tab %q", len(s.items), h.m.tabs.Items[3].Text)
	}

	// Mark handled: the reason is required.
	it = pick("Undelivered Mail Returned to Sender")
	test.Tap(s.handled)
	s.submit()
	if !strings.Contains(s.dlgError.Text, "Begründung") {
		t.Errorf("error = %q", s.dlgError.Text)
	}
	s.noteEntry.SetText("Rückläufer einer Werbemail")
	s.submit()
	h.wait()
	got, _ = store.ReviewItem(ctx, it.ID)
	if !got.Handled || got.Resolution != "handled" || got.Note != "Rückläufer einer Werbemail" {
		t.Errorf("item = %+v", got)
	}

	// Make a case: the counter form opens prefilled from the sender; after
	// saving the item is resolved with the new reference.
	it = pick("Bauantrag mit Plänen")
	if !strings.Contains(s.content.Text, "nicht geladen") {
		t.Errorf("too large content = %q", s.content.Text)
	}
	test.Tap(s.makeCase)
	s.noteEntry.SetText("Bürger reicht Angaben per Mail nach")
	s.submit()
	h.wait()
	in := h.m.intake
	if h.m.current() != ScreenIntake || in.fromReview == nil || in.first.Text != "Karl" || in.last.Text != "Zender" || in.email.Text != "k.zender@example.org" {
		t.Fatalf("intake: screen %s, review %v, %q %q %q", h.m.current(), in.fromReview != nil, in.first.Text, in.last.Text, in.email.Text)
	}
	if !in.banner.Visible() {
		t.Error("no banner naming the mail")
	}
	d := dogCase("Karl", "Zender", "56812", "Cochem")
	d.Email = "k.zender@example.org"
	in.fill(d)
	in.onSave()
	h.wait()
	got, _ = store.ReviewItem(ctx, it.ID)
	cases, _ := store.ListCases(ctx, app.CaseFilter{Query: "Zender"})
	if len(cases) != 1 || !got.Handled || got.Resolution != "case:"+cases[0].Ref || got.Note != "Bürger reicht Angaben per Mail nach" {
		t.Errorf("item = %+v, cases %+v", got, cases)
	}
	if in.banner.Visible() {
		t.Error("banner still shown after saving")
	}

	// Handled items can be shown, with who handled them and why.
	h.m.show(ScreenReview)
	h.wait()
	if len(s.items) != 2 {
		t.Errorf("open items = %d", len(s.items))
	}
	s.showHandled = true
	s.reload()
	h.wait()
	if len(s.items) != 5 {
		t.Errorf("all items = %d", len(s.items))
	}
	pick("Undelivered Mail Returned to Sender")
	if !strings.Contains(s.meta.Text, "Erledigt") || !strings.Contains(s.meta.Text, "Rückläufer einer Werbemail") || !s.handled.Disabled() {
		t.Errorf("handled item meta %q", s.meta.Text)
	}
}

// The appointments of a day: check-in and no-show.
func TestAppointmentsDay(t *testing.T) {
	store := newTestStore(t)
	if err := seed.Appointments(context.Background(), store, testReg, testNow); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, store)
	h.m.show(ScreenAppointments)
	h.wait()
	s := h.m.appointments
	if len(s.list) != 14 {
		t.Fatalf("appointments of VG Cochem today = %d", len(s.list))
	}
	if !strings.Contains(s.dayLabel.Text, "Freitag, 27.11.2026 (heute)") {
		t.Errorf("day = %q", s.dayLabel.Text)
	}
	var cancelled, moved int
	for i := range s.list {
		switch appointmentStatusLabel(&s.list[i]) {
		case "Abgesagt":
			cancelled++
		case "Verschoben":
			moved++
		}
	}
	if cancelled == 0 || moved == 0 {
		t.Errorf("cancelled %d moved %d", cancelled, moved)
	}
	s.table.Select(widget.TableCellID{Row: 0})
	test.Tap(s.checkIn)
	h.wait()
	a, _ := store.Appointment(context.Background(), s.list[0].UID)
	if a.Attendance != app.AttendanceCheckedIn || s.sel != 0 {
		t.Errorf("attendance %q, selection %d", a.Attendance, s.sel)
	}
	test.Tap(s.printBtn)
	h.wait()
	if len(h.print.jobs()) != 1 {
		t.Errorf("print jobs = %v", h.print.jobs())
	}
	// Another office, another day.
	s.officeSel.SetSelected("Alle Dienststellen")
	h.wait()
	if len(s.list) != 70 {
		t.Errorf("all offices = %d", len(s.list))
	}
	s.setDay(testNow.AddDate(0, 0, 1))
	h.wait()
	if len(s.list) != 0 || !strings.HasPrefix(s.dayLabel.Text, "Samstag") {
		t.Errorf("tomorrow: %d, %q", len(s.list), s.dayLabel.Text)
	}
}

// The first start asks for the office; the answer is remembered.
func TestChooseOfficeFirstStart(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	p := h.m.a.Preferences()
	p.RemoveValue(prefOffice)
	h.m.start()
	h.wait()
	if h.m.dlg == nil {
		t.Fatal("no dialog")
	}
	h.m.setClerk(app.OfficeZell, "Karl Klein", "kk")
	h.wait()
	if p.String(prefOffice) != "vg-zell" || h.m.actor() != (app.Actor{Clerk: "kk", Office: app.OfficeZell, Name: "Karl Klein"}) {
		t.Errorf("actor = %+v", h.m.actor())
	}
	if !strings.Contains(h.m.who.Text, "Verbandsgemeindeverwaltung Zell (Mosel) · Karl Klein (kk)") {
		t.Errorf("who = %q", h.m.who.Text)
	}
	if h.m.queue.office.Selected != "VG Zell (Mosel)" {
		t.Errorf("queue office = %q", h.m.queue.office.Selected)
	}
}

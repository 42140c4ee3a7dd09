package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
	"amtstresen/ui/internal/seed"
)

// press sends a key the way the desktop driver does: Tab moves the focus
// unless the focused widget takes tabs; other keys go to the focused
// widget, or to the window when nothing has the focus.
func (h *harness) press(k fyne.KeyName) {
	c := h.w.Canvas()
	ev := &fyne.KeyEvent{Name: k}
	if k == fyne.KeyTab {
		if tb, ok := c.Focused().(fyne.Tabbable); ok && tb.AcceptsTab() {
			c.Focused().TypedKey(ev)
			return
		}
		c.FocusNext()
		return
	}
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
	} else if fn := c.OnTypedKey(); fn != nil {
		fn(ev)
	}
	h.wait()
}

// typeText types into the focused widget.
func (h *harness) typeText(s string) {
	f := h.w.Canvas().Focused()
	if f == nil {
		h.t.Fatalf("typing %q with nothing focused", s)
	}
	for _, r := range s {
		f.TypedRune(r)
	}
	h.wait()
}

// shortcut runs the menu item with the shortcut, as the driver does.
func (h *harness) shortcut(k fyne.KeyName, mod fyne.KeyModifier) {
	for _, m := range h.m.mainMenu().Items {
		for _, it := range m.Items {
			if sc, ok := it.Shortcut.(interface {
				ShortcutName() string
			}); ok && it.Shortcut != nil && sc.ShortcutName() == (desktopShortcut{k, mod}).name() {
				it.Action()
				h.wait()
				return
			}
		}
	}
	h.t.Fatalf("no menu item for %v+%v", mod, k)
}

// badSignatureMail is a portal delivery whose signature failed: sender
// the portal, the applicant only in the JSON part.
const badSignatureMail = "From: =?utf-8?q?B=C3=BCrgerportal?= Cochem-Zell <noreply@cochem-zell-online.de>\r\n" +
	"To: eingang@cochem-zell-online.example\r\nSubject: =?utf-8?q?[B=C3=BCrgerportal]_Hund_anmelden_(Hundesteuer)_=E2=80=93_Vorgang_1f2e3d4c?=\r\n" +
	"Date: Fri, 27 Nov 2026 09:12:00 +0100\r\nMessage-ID: <bad-1@mail.cochem-zell-online.de>\r\nX-Buergerportal-Version: 1\r\n" +
	"X-Buergerportal-Art: antrag\r\nX-Buergerportal-Leistung: hund-anmelden\r\nX-Buergerportal-Signatur: ed25519=AAAA\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNeuer Antrag\r\n--b1\r\n" +
	"Content-Type: application/json; name=\"antrag.json\"\r\nContent-Disposition: attachment; filename=\"antrag.json\"\r\n\r\n" +
	`{"vorgang": "1f2e3d4c-0000-4000-8000-000000000001", "leistung": {"schluessel": "hund-anmelden"},` +
	`"antragsteller": {"anrede": "Frau", "vorname": "Käthe", "nachname": "Klöckner", "geburtsdatum": "1971-05-04",` +
	`"anschrift": {"strasse": "Moselstraße", "hausnummer": "3", "plz": "56856", "ort": "Zell (Mosel)", "gemeindeschluessel": "07135099"}, "email": "kaethe.kloeckner@example.org"},` +
	`"angaben": {"hund": {"name": "Luna", "rasse": "Beagle", "chipnummer": "276098106543210"}, "haltungsbeginn": "2026-11-01", "gefaehrlich": false, "weitereHunde": 0}}` +
	"\r\n--b1--\r\n"

// Issue 13, point 1: making a case of a kept portal mail takes the
// applicant from the mail's JSON part (marked unverified), never the
// portal's sender; the mail is shown beside the form; Abbrechen empties
// the form. Before, the form got "Bürgerportal Cochem-Zell" and
// noreply@…, no service, and kept them after cancelling.
func TestReviewToIntakeReadsMail(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	raw := []byte(badSignatureMail)
	if err := store.AddReview(ctx, &app.ReviewItem{MessageID: "<bad-1@mail.cochem-zell-online.de>", Subject: "[Bürgerportal] Hund anmelden (Hundesteuer) – Vorgang 1f2e3d4c",
		From: "Bürgerportal Cochem-Zell <noreply@cochem-zell-online.de>", Reason: app.ReviewSignatureInvalid, ReceivedAt: testNow.UTC(), Size: int64(len(raw)), Raw: raw}, nil); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, store)
	h.m.show(ScreenReview)
	h.wait()
	s := h.m.review
	s.list.Select(0)
	h.wait()
	test.Tap(s.makeCase)
	h.typeText("Signatur ungültig, Bürgerin bestätigt am Telefon")
	h.press(fyne.KeyReturn) // the dialog's default button
	in := h.m.intake
	if h.m.current() != ScreenIntake || in.fromReview == nil {
		t.Fatalf("screen %s, from review %v", h.m.current(), in.fromReview != nil)
	}
	if in.first.Text != "Käthe" || in.last.Text != "Klöckner" || in.email.Text != "kaethe.kloeckner@example.org" || in.service == nil || in.service.Key != "hund-anmelden" {
		t.Errorf("form: %q %q %q service %v", in.first.Text, in.last.Text, in.email.Text, in.service)
	}
	for _, e := range []*fieldEntry{in.first, in.last, in.email} {
		if strings.Contains(e.Text, "Bürgerportal") || strings.Contains(e.Text, "noreply") || strings.Contains(e.Text, "Cochem-Zell") {
			t.Errorf("the portal's sender in the form: %q", e.Text)
		}
	}
	if in.fieldEntry("hund.name").Text != "Luna" || in.birth.Text != "04.05.1971" {
		t.Errorf("fields: %q %q", in.fieldEntry("hund.name").Text, in.birth.Text)
	}
	if !strings.Contains(in.bannerL.Text, "ungeprüft") || !in.mailCard.Visible() || !strings.Contains(in.mailText.Text, "Neuer Antrag") {
		t.Errorf("banner %q, mail shown %v", in.bannerL.Text, in.mailCard.Visible())
	}
	// Cancel: the mail stays on the list, the form is empty for the next citizen.
	in.onNew()
	if in.first.Text != "" || in.service != nil || in.fromReview != nil || in.mailCard.Visible() {
		t.Errorf("after cancelling: %q %v %v", in.first.Text, in.service, in.fromReview != nil)
	}
	items, _ := store.ReviewItems(ctx, false)
	if len(items) != 1 {
		t.Errorf("%d open items after cancelling", len(items))
	}
}

// Issue 13, point 2: unsaved input is never thrown away without asking:
// closing the window (or Datei → Beenden) and Strg+N with a half-filled
// form or a dialog with text ask "Ungespeicherte Eingaben verwerfen?",
// and Enter (the default) goes back. Before, they quit or emptied at once.
func TestUnsavedInputAsks(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	m := h.m
	quits := 0
	m.a.Lifecycle().SetOnStopped(func() { quits++ })
	m.show(ScreenIntake)
	h.typeInto(m.intake.first, "Anna")

	for _, action := range []func(){m.quit, func() { h.shortcut(fyne.KeyN, fyne.KeyModifierShortcutDefault) }} {
		action()
		d := m.topDialog()
		if d == nil || !strings.Contains(m.lastMessage, "geht dabei verloren") {
			t.Fatalf("no question; message %q", m.lastMessage)
		}
		h.press(fyne.KeyReturn) // Zurück is the default
		if m.topDialog() != nil || m.intake.first.Text != "Anna" {
			t.Fatalf("Enter did not go back: dialog %v, form %q", m.topDialog() != nil, m.intake.first.Text)
		}
	}
	m.show(ScreenIntake)
	h.shortcut(fyne.KeyN, fyne.KeyModifierShortcutDefault)
	test.Tap(m.topDialog().okBtn) // Verwerfen
	if m.intake.first.Text != "" {
		t.Errorf("after Verwerfen: %q", m.intake.first.Text)
	}

	// A note typed into a dialog counts too.
	c := h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), "a")
	m.openCase(c.Ref)
	h.wait()
	test.Tap(m.caseView.note)
	h.typeText("Rückruf am Montag")
	h.shortcut(fyne.KeyN, fyne.KeyModifierShortcutDefault)
	if !strings.Contains(m.lastMessage, "geht dabei verloren") || len(m.dialogs) != 2 {
		t.Fatalf("Strg+N over a note: %q, %d dialogs", m.lastMessage, len(m.dialogs))
	}
	h.press(fyne.KeyEscape) // back to the note
	if len(m.dialogs) != 1 || m.caseView.reasonEntry.Text != "Rückruf am Montag" {
		t.Errorf("the note is gone: %d dialogs", len(m.dialogs))
	}
	if quits != 0 {
		t.Errorf("quit %d times", quits)
	}
}

// Issue 13, point 3: check-in only on the appointment's day, no-show only
// after its start; the button reads "Einchecken"; a lead records it anyway
// with a reason. Before, tomorrow's appointment could be checked in and
// marked "Nicht erschienen".
func TestCheckInOnlyOnTheDay(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	tomorrow := time.Date(2026, 11, 28, 9, 0, 0, 0, app.Berlin)
	later := time.Date(2026, 11, 27, 15, 0, 0, 0, app.Berlin) // today, after testNow (10:00)
	for uid, start := range map[string]time.Time{"morgen": tomorrow, "heute": later} {
		if _, err := store.ApplyAppointment(ctx, &app.Appointment{UID: uid, Service: "buergerbuero", Office: app.OfficeCochem, Status: app.AppointmentConfirmed,
			Start: start.UTC(), End: start.Add(20 * time.Minute).UTC(), CitizenName: "Anna Muster"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, store)
	s := h.m.appointments
	h.m.show(ScreenAppointments)
	h.wait()
	if s.checkIn.Text != "Einchecken" {
		t.Errorf("button %q", s.checkIn.Text)
	}
	s.table.Select(widget.TableCellID{Row: 0})
	if !s.noShow.Disabled() || s.checkIn.Disabled() {
		t.Errorf("today, before the start: no-show enabled %v, check-in enabled %v", !s.noShow.Disabled(), !s.checkIn.Disabled())
	}
	s.setDay(tomorrow)
	h.wait()
	s.table.Select(widget.TableCellID{Row: 0})
	if !s.checkIn.Disabled() || !s.noShow.Disabled() {
		t.Errorf("tomorrow: check-in enabled %v, no-show enabled %v", !s.checkIn.Disabled(), !s.noShow.Disabled())
	}
	// Even if the button were pressed, the store refuses (the day rule is in app and storage).
	s.onAttendance(app.AttendanceCheckedIn)
	h.wait()
	if a, _ := store.Appointment(ctx, "morgen"); a.Attendance != app.AttendanceNone || !strings.Contains(h.m.lastMessage, "nur am Tag des Termins") {
		t.Errorf("attendance %q, message %q", a.Attendance, h.m.lastMessage)
	}
	h.m.closeDialogs()

	// A lead: the button is there, and asks for a reason.
	lead := newHarness(t, store, func(o *Options) {
		o.Actor = app.Actor{Clerk: "ll", Office: app.OfficeCochem, Role: app.RoleLead}
		o.Store = app.NewScoped(store, o.Actor)
	})
	ls := lead.m.appointments
	lead.m.show(ScreenAppointments)
	ls.setDay(tomorrow)
	lead.wait()
	ls.table.Select(widget.TableCellID{Row: 0})
	test.Tap(ls.checkIn)
	lead.wait()
	if ls.overrideReason == nil || lead.m.topDialog() == nil {
		t.Fatal("no reason asked")
	}
	lead.typeText("kam einen Tag früher, Termin vorgezogen")
	lead.press(fyne.KeyReturn)
	if a, _ := store.Appointment(ctx, "morgen"); a.Attendance != app.AttendanceCheckedIn || a.AttendanceNote != "kam einen Tag früher, Termin vorgezogen" {
		t.Errorf("after the override: %q %q", a.Attendance, a.AttendanceNote)
	}
}

// Issue 13, point 4: a forwarded case shows the forwarding's reason, the
// first routing below it. Before, "Zuständig: VG Cochem" stood beside the
// old reason "… liegt in Panzweiler, VG Zell".
func TestForwardedCaseShowsForwardReason(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	c := h.create(dogCase("Anna", "Muster", "56865", "Panzweiler"), "a")
	if err := h.store.Forward(context.Background(), c.Ref, app.OfficeCochem, "Hund wird in Cochem gehalten", app.Actor{Clerk: "zz", Office: app.OfficeZell}); err != nil {
		t.Fatal(err)
	}
	h.m.openCase(c.Ref)
	h.wait()
	text := markup(h.m.caseView.routingCard())
	if !strings.Contains(text, "Begründung\nweitergeleitet von VG Zell (Mosel): Hund wird in Cochem gehalten") {
		t.Errorf("routing card:\n%s", text)
	}
	if !strings.Contains(text, "Erste Zuordnung\nWohnanschrift liegt in Panzweiler, VG Zell (Mosel)") {
		t.Errorf("first routing not below:\n%s", text)
	}
}

// Issue 13, points 5 and 6: the documents the citizen showed are ticked at
// the counter and stored with the case (the receipt lists them, see
// ui/pdf); the history names the clerk, not the account.
func TestPresentedDocumentsAndClerkName(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	s := h.m.intake
	h.m.show(ScreenIntake)
	s.fill(dogCase("Anna", "Muster", "56253", "Treis-Karden"))
	if len(s.shown) != 3 {
		t.Fatalf("documents to tick: %d", len(s.shown))
	}
	s.shown[0].copy.SetChecked(true) // copy taken: seen too
	s.shown[1].seen.SetChecked(true)
	s.onSave()
	h.wait()
	cases, _ := h.store.ListCases(context.Background(), app.CaseFilter{})
	c := h.caseByRef(cases[0].Ref)
	if len(c.Presented) != 2 || !c.Presented[0].Copy || c.Presented[1].Copy || c.Presented[0].Name != "Personalausweis oder Reisepass" {
		t.Errorf("presented = %+v", c.Presented)
	}
	h.m.openCase(c.Ref)
	h.wait()
	hist := markup(h.m.caseView.historyCard())
	if !strings.Contains(hist, "Maria Müller · angelegt") || strings.Contains(hist, "mm · ") {
		t.Errorf("history:\n%s", hist)
	}
}

// Issue 13, point 8: in multi-line fields Tab moves on (before: it typed a
// tab), Shift+Enter and Strg+Enter start a new line, and the placeholder
// says so.
func TestMultiLineTabMovesOn(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	s := h.m.intake
	h.m.show(ScreenIntake)
	s.fill(app.IntakeInput{Service: "sperrmuell"})
	e := s.fieldEntry("gegenstaende")
	if !e.MultiLine || !strings.Contains(e.PlaceHolder, "Umschalt+Enter") {
		t.Fatalf("placeholder %q", e.PlaceHolder)
	}
	h.w.Canvas().Focus(e)
	h.typeText("2 Sessel")
	e.KeyDown(&fyne.KeyEvent{Name: "LeftShift"})
	h.press(fyne.KeyReturn)
	e.KeyUp(&fyne.KeyEvent{Name: "LeftShift"})
	h.typeText("1 Sofa")
	e.TypedShortcut(desktopShortcut{fyne.KeyReturn, fyne.KeyModifierControl}.shortcut())
	h.typeText("1 Tisch")
	h.press(fyne.KeyTab)
	if e.Text != "2 Sessel\n1 Sofa\n1 Tisch" || strings.Contains(e.Text, "\t") {
		t.Errorf("text %q", e.Text)
	}
	if h.w.Canvas().Focused() == e {
		t.Error("Tab stayed in the field")
	}
}

// Issue 13, point 9: a dialog closes with Esc and confirms with Enter (its
// default button), also when a button or the entry has the focus.
func TestDialogsEscAndEnter(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	c := h.openDogCase("a")
	cv := h.m.caseView
	test.Tap(cv.note)
	h.press(fyne.KeyEscape)
	if h.m.topDialog() != nil {
		t.Fatal("Esc did not close the note dialog")
	}
	test.Tap(cv.note)
	h.typeText("Rückruf vereinbart")
	h.press(fyne.KeyReturn)
	notes, _ := h.store.Notes(context.Background(), c.Ref)
	if h.m.topDialog() != nil || len(notes) != 1 || notes[0].Text != "Rückruf vereinbart" {
		t.Fatalf("Enter did not save the note: %+v", notes)
	}
	// A message: Enter and Esc both close it, with nothing focused.
	h.m.showMessage("Titel", "Text")
	h.press(fyne.KeyReturn)
	if h.m.topDialog() != nil {
		t.Error("Enter did not close the message")
	}
	h.m.showMessage("Titel", "Text")
	h.press(fyne.KeyEscape)
	if h.m.topDialog() != nil {
		t.Error("Esc did not close the message")
	}
	// Esc on the case goes back to the queue.
	h.press(fyne.KeyEscape)
	if h.m.caseView != nil {
		t.Error("Esc did not leave the case")
	}
}

// Issue 13, point 10: the queue from the keyboard: Down from the search
// into the rows, Down moves, Enter opens, Esc goes back (to the row, then
// to the search).
func TestQueueFromTheKeyboard(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), "a")
	second := h.create(dogCase("Karl", "Zender", "56812", "Cochem"), "b")
	h.m.show(ScreenQueue)
	h.wait()
	q := h.m.queue
	h.w.Canvas().Focus(q.search)
	h.press(fyne.KeyDown)
	if h.w.Canvas().Focused() != q.table {
		t.Fatalf("Down from the search: focus %T", h.w.Canvas().Focused())
	}
	h.press(fyne.KeyDown)
	h.press(fyne.KeyReturn)
	if h.m.caseView == nil {
		t.Fatal("Enter opened no case")
	}
	if want := h.cell(1, 0); h.m.caseView.ref != want {
		t.Errorf("opened %s, want row 2's %s", h.m.caseView.ref, want)
	}
	_ = second
	h.press(fyne.KeyEscape)
	if h.m.caseView != nil || h.w.Canvas().Focused() != q.table {
		t.Fatalf("Esc: case %v, focus %T", h.m.caseView != nil, h.w.Canvas().Focused())
	}
	h.press(fyne.KeyEscape)
	if h.w.Canvas().Focused() != q.search {
		t.Errorf("second Esc: focus %T", h.w.Canvas().Focused())
	}
}

// Issue 13, point 11: Tab through the counter form scrolls to the field
// that has the focus.
func TestFormScrollsToFocus(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	h.w.Resize(fyne.NewSize(1000, 420))
	s := h.m.intake
	h.m.show(ScreenIntake)
	s.fill(app.IntakeInput{Service: "raum-mieten"})
	last := s.fields[len(s.fields)-1].focusable()
	h.w.Canvas().Focus(last)
	o := last.(fyne.CanvasObject)
	d := fyne.CurrentApp().Driver()
	y := d.AbsolutePositionForObject(o).Y - d.AbsolutePositionForObject(s.scroll.Content).Y
	if s.scroll.Offset.Y == 0 || y < s.scroll.Offset.Y || y+o.Size().Height > s.scroll.Offset.Y+s.scroll.Size().Height {
		t.Errorf("field at %v, view %v–%v", y, s.scroll.Offset.Y, s.scroll.Offset.Y+s.scroll.Size().Height)
	}
}

// Issue 13, point 12: a double Enter on save leaves the next, empty form
// clean; before, it showed "Bitte 6 Angaben prüfen" and red errors.
func TestDoubleEnterLeavesFreshFormClean(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	s := h.m.intake
	h.m.show(ScreenIntake)
	s.fill(dogCase("Anna", "Muster", "56253", "Treis-Karden"))
	h.w.Canvas().Focus(s.phone)
	h.press(fyne.KeyReturn)
	h.press(fyne.KeyReturn) // the second press reaches the fresh form
	if n, _ := h.store.CountCases(context.Background(), app.CaseFilter{}); n != 1 {
		t.Fatalf("%d cases", n)
	}
	if s.summary.Visible() || s.errs[app.PathLastName].Visible() || s.showAll {
		t.Errorf("fresh form shows errors: %q", s.summary.Text)
	}
}

// Issue 13, point 13: a mistake shown goes away once it is fixed (the
// dialog's error too), and "31.02.2026" is named as a day that does not
// exist.
func TestFixedMistakeGoesAway(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	s := h.m.intake
	h.m.show(ScreenIntake)
	s.fill(dogCase("Anna", "Muster", "56253", "Treis-Karden"))
	h.typeInto(s.birth, "31.02.1985")
	h.w.Canvas().Focus(s.street)
	if got := s.errs[app.PathBirthDate].Text; !strings.Contains(got, "gibt es nicht") {
		t.Errorf("birth date error %q", got)
	}
	s.birth.SetText("28.02.1985")
	if s.errs[app.PathBirthDate].Visible() {
		t.Error("error stays after the fix")
	}
	c := h.create(dogCase("Karl", "Zender", "56812", "Cochem"), "b")
	h.m.openCase(c.Ref)
	h.wait()
	test.Tap(h.m.caseView.forward)
	h.press(fyne.KeyReturn)
	if !h.m.caseView.reasonError.Visible() {
		t.Fatal("no error for a missing choice")
	}
	h.m.caseView.forwardSel.SetSelectedIndex(0)
	if h.m.caseView.reasonError.Visible() {
		t.Error("the dialog's error stays after choosing")
	}
}

// Issue 13, point 14: appliances are picked by their German names, a
// count each; the stored codes are the catalog's.
func TestAppliancePicker(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	s := h.m.intake
	h.m.show(ScreenIntake)
	in := dogCase("Anna", "Muster", "56253", "Treis-Karden")
	in.Service, in.Fields = "elektrogeraete", map[string]string{}
	s.fill(in)
	var f *serviceField
	for _, x := range s.fields {
		if x.spec.Path == "geraete" {
			f = x
		}
	}
	if f == nil || len(f.counts) != 7 {
		t.Fatalf("picker: %+v", f)
	}
	text := markup(s.fieldBox)
	for _, want := range []string{"Kühl- oder Gefriergerät", "Waschmaschine", "Wäschetrockner"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the picker", want)
		}
	}
	if strings.Contains(text, "kuehlgeraet") {
		t.Error("internal code shown")
	}
	h.typeInto(f.counts[0], "2")
	h.typeInto(f.counts[6], "1")
	h.typeInto(f.other, "Mikrowelle")
	vals := map[string]string{}
	f.values(vals)
	if vals["geraete"] != "2 kuehlgeraet\n1 sonstiges: Mikrowelle" {
		t.Errorf("values %q", vals["geraete"])
	}
}

// Issue 13, point 16: in English, the settings button, validation
// messages, routing reasons, the sync bar and the restart notice are
// English. German stays the default.
func TestEnglishEverywhere(t *testing.T) {
	t.Cleanup(func() { _ = setupLanguage(LangGerman) })
	h := newHarness(t, newTestStore(t), func(*Options) {
		if err := setupLanguage(LangEnglish); err != nil {
			t.Fatal(err)
		}
	})
	text := markup(h.m.settings.buildUI())
	if strings.Contains(text, "Claim") {
		t.Errorf("settings say Claim:\n%s", text)
	}
	s := h.m.intake
	h.m.show(ScreenIntake)
	s.fill(dogCase("Anna", "", "56253", "Treis-Karden"))
	s.onSave()
	if got := s.errs[app.PathLastName].Text; got != "Please fill in." {
		t.Errorf("validation %q", got)
	}
	if !strings.Contains(s.summary.Text, "• Last name: Please fill in.") || !strings.Contains(markup(s.fieldBox), "Chip number") {
		t.Errorf("labels not English: %q", s.summary.Text)
	}
	if got := s.reason.Text; got != "Home address is in Treis-Karden, VG Cochem" {
		t.Errorf("routing reason %q", got)
	}
	if got := translateSentence("12 Anträge übernommen, 1 Mail zur Sichtung"); got != "12 applications taken in, 1 mail for review" {
		t.Errorf("sync summary %q", got)
	}
	h.m.settings.language.SetSelected("Deutsch")
	h.m.settings.language.SetSelected("English")
	if got := h.m.settings.msg.Text; !strings.Contains(got, "next time") {
		t.Errorf("restart notice %q", got)
	}
}

// Issue 13, point 17: the history shows the print and the saved PDF at
// once, and saving says where the file is.
func TestHistoryRefreshAfterPrintAndSave(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	c := h.openDogCase("a")
	test.Tap(h.m.caseView.printBtn)
	h.wait()
	if !strings.Contains(markup(h.m.caseView.historyCard()), "Bestätigung gedruckt") {
		t.Error("history not refreshed after printing")
	}
	path := filepath.Join(t.TempDir(), "bestaetigung.pdf")
	w, err := storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := h.print.CaseDocument(context.Background(), c, "")
	doc.Office = c.Office
	write, after, done := h.m.pdfSaver(doc)
	h.m.writeChosen(w, write, after, done)
	h.wait()
	if !strings.Contains(h.m.lastMessage, path) || !strings.Contains(markup(h.m.caseView.historyCard()), "als PDF gespeichert") {
		t.Errorf("message %q; history refreshed? ", h.m.lastMessage)
	}
	// Issue 13, point 18: the saved PDF is for its owner only, like the cache copy.
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("saved PDF mode %v, %v", st.Mode().Perm(), err)
	}
}

// Issue 13, point 15: the columns up to Dienststelle (with the notices)
// fit the default window of 1280 px beside the navigation, and the window
// remembers its size.
func TestQueueFitsDefaultWindow(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	var w float32
	var seenFlags bool
	for _, c := range h.m.queue.cols {
		w += c.width
		seenFlags = seenFlags || c.key == "flags"
		if c.key == "office" {
			break
		}
	}
	if avail := h.m.queue.table.Size().Width; !seenFlags || w > avail || avail < 900 {
		t.Errorf("columns up to Dienststelle need %v px, the table has %v (Hinweise before: %v)", w, avail, seenFlags)
	}
	h.w.Resize(fyne.NewSize(1300, 850))
	h.m.saveWindowSize()
	if got := h.m.windowSize(); got != fyne.NewSize(1300, 850) {
		t.Errorf("remembered %v", got)
	}
}

// openDogCase creates a dog registration of VG Cochem and opens it.
func (h *harness) openDogCase(key string) *app.Case {
	h.t.Helper()
	c := h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), key)
	h.m.openCase(c.Ref)
	h.wait()
	return c
}

// desktopShortcut is a key with modifiers, as the desktop driver reports it.
type desktopShortcut struct {
	k   fyne.KeyName
	mod fyne.KeyModifier
}

func (d desktopShortcut) shortcut() *desktop.CustomShortcut {
	return &desktop.CustomShortcut{KeyName: d.k, Modifier: d.mod}
}

func (d desktopShortcut) name() string { return d.shortcut().ShortcutName() }

// Going over the app from the keyboard (issue 13): the search's hits and
// the day's appointments are reached and used like the queue: ↓ from the
// search into the hits, Enter opens, Esc comes back; Enter on an
// appointment chooses it.
func TestSearchAndAppointmentsFromTheKeyboard(t *testing.T) {
	store := newTestStore(t)
	if err := seed.Appointments(context.Background(), store, testReg, testNow); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, store)
	c := h.create(dogCase("Karl", "Zender", "56812", "Cochem"), "b")
	h.shortcut(fyne.Key5, fyne.KeyModifierShortcutDefault)
	h.typeText("Zender")
	h.m.search.run(false)
	h.wait()
	h.press(fyne.KeyDown)
	h.press(fyne.KeyReturn)
	if h.m.caseView == nil || h.m.caseView.ref != c.Ref {
		t.Fatalf("Enter on the hit opened %v", h.m.caseView)
	}
	h.press(fyne.KeyEscape)
	if h.m.caseView != nil || h.w.Canvas().Focused() != h.m.search.table {
		t.Fatalf("Esc: focus %T", h.w.Canvas().Focused())
	}
	h.press(fyne.KeyEscape)
	if h.w.Canvas().Focused() != h.m.search.entry {
		t.Errorf("second Esc: focus %T", h.w.Canvas().Focused())
	}

	h.shortcut(fyne.Key3, fyne.KeyModifierShortcutDefault)
	s := h.m.appointments
	h.w.Canvas().Focus(s.table)
	h.press(fyne.KeyDown)
	h.press(fyne.KeyReturn)
	if s.sel != 1 || s.selected() == nil {
		t.Errorf("Enter chose row %d", s.sel)
	}
}

// Going over the app from the keyboard (issue 13): a kept mail is chosen
// with ↓ and Enter, and its actions are buttons Enter presses.
func TestReviewFromTheKeyboard(t *testing.T) {
	store := newTestStore(t)
	if err := seed.ReviewItems(context.Background(), store, testNow); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, store)
	h.shortcut(fyne.Key4, fyne.KeyModifierShortcutDefault)
	s := h.m.review
	h.w.Canvas().Focus(s.list)
	h.press(fyne.KeyDown)
	h.press(fyne.KeyReturn)
	if s.cur == nil || s.cur.ID != s.items[1].ID {
		t.Fatalf("Enter chose %+v", s.cur)
	}
	h.w.Canvas().Focus(s.handled)
	h.press(fyne.KeyReturn)
	if h.m.topDialog() == nil || s.noteEntry == nil {
		t.Fatal("Enter on „Als erledigt markieren …“ opened no dialog")
	}
	h.typeText("Werbung")
	h.press(fyne.KeyReturn)
	if got, _ := store.ReviewItem(context.Background(), s.items[0].ID); got == nil {
		t.Fatal("item gone")
	}
	if items, _ := store.ReviewItems(context.Background(), false); len(items) != 4 {
		t.Errorf("%d open items after marking one handled", len(items))
	}
}

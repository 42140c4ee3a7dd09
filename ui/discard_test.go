package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// TestInputDialogsAskBeforeDiscarding: every dialog the clerk types into
// (the reason of a status change, a forward, a withdrawal decision, the
// note, the review list's actions, the lead's attendance override, the
// Art. 15 request, the choice of office) closes at once while nothing was
// typed; with input, Esc and its cancel button ask "Ungespeicherte
// Eingaben verwerfen?": Zurück (the default, Enter) keeps the dialog with
// the input, Verwerfen closes both.
func TestInputDialogsAskBeforeDiscarding(t *testing.T) {
	store := newTestStore(t)
	h := newHarness(t, store, withOutbox(store))
	m := h.m
	c := h.create(dogCase("Anna", "Muster", "56253", "Treis-Karden"), "d1")
	m.openCase(c.Ref)
	h.wait()
	cv := m.caseView
	reason := func() fyne.Focusable { return cv.reasonEntry }
	for _, d := range []struct {
		name  string
		open  func()
		input func() fyne.Focusable
		esc   bool // Esc reaches the window from the field (else only the button)
	}{
		{"Status ändern", cv.onChangeStatus, reason, true},
		{"Weiterleiten", cv.onForward, reason, true},
		{"Notiz", cv.onNote, reason, true},
		{"Rücknahme bestätigen", func() { cv.onWithdrawal(true) }, reason, true},
		{"Sichtung", func() { m.review.actionDialog("Erledigt", "Erledigt", "", true, func(string, string) {}) },
			func() fyne.Focusable { return m.review.noteEntry }, true},
		{"Anwesenheit abweichend", func() { m.appointments.askOverride("uid-1", app.AttendanceNoShow, "Zu früh.") },
			func() fyne.Focusable { return m.appointments.overrideReason }, true},
		{"Auskunft Art. 15", m.showPersonExport, func() fyne.Focusable { return m.personExport.name }, false},
		{"Dienststelle wählen", m.chooseOffice, nil, true},
	} {
		d.open()
		h.wait()
		if len(m.dialogs) != 1 {
			t.Fatalf("%s: %d dialogs open", d.name, len(m.dialogs))
		}
		if d.esc {
			h.press(fyne.KeyEscape)
		} else {
			test.Tap(m.topDialog().cancelBtnOrOK())
		}
		if len(m.dialogs) != 0 {
			t.Fatalf("%s: an untouched dialog did not close at once", d.name)
		}

		d.open()
		h.wait()
		var e fyne.Focusable
		if d.input != nil {
			e = d.input()
			h.typeInto(e, "Bürger ruft zurück")
		} else { // the office: another than the one chosen before
			m.topDialog().focus.(*keySelect).SetSelectedIndex(2)
		}
		cancel := func() {
			if d.esc {
				if e != nil {
					h.w.Canvas().Focus(e)
				}
				h.press(fyne.KeyEscape)
				return
			}
			test.Tap(m.topDialog().cancelBtnOrOK())
			h.wait()
		}
		cancel()
		if len(m.dialogs) != 2 || m.lastMessage != "Was Sie eingegeben und noch nicht gespeichert haben, geht dabei verloren." {
			t.Fatalf("%s: cancelled with input without asking (%d dialogs, %q)", d.name, len(m.dialogs), m.lastMessage)
		}
		h.press(fyne.KeyReturn) // Zurück
		if len(m.dialogs) != 1 || (e != nil && entryText(e) != "Bürger ruft zurück") {
			t.Fatalf("%s: Zurück lost the dialog or its input (%d dialogs)", d.name, len(m.dialogs))
		}
		if d.esc && m.topDialog().cancelBtn != nil { // and the cancel button asks as Esc does
			test.Tap(m.topDialog().cancelBtnOrOK())
			h.wait()
			if len(m.dialogs) != 2 {
				t.Fatalf("%s: the cancel button did not ask", d.name)
			}
			h.press(fyne.KeyReturn)
		}
		cancel()
		test.Tap(m.topDialog().okBtn) // Verwerfen
		h.wait()
		if len(m.dialogs) != 0 {
			t.Fatalf("%s: Verwerfen left %d dialogs", d.name, len(m.dialogs))
		}
	}
	if notes, _ := store.Notes(t.Context(), c.Ref); len(notes) != 0 {
		t.Errorf("a discarded dialog wrote %d notes", len(notes))
	}
}

// cancelBtnOrOK is the dialog's cancel button, or its one button.
func (d *dlg) cancelBtnOrOK() *keyButton {
	if d.cancelBtn != nil {
		return d.cancelBtn
	}
	return d.okBtn
}

func entryText(o fyne.Focusable) string {
	switch e := o.(type) {
	case *fieldEntry:
		return e.Text
	case *widget.Entry:
		return e.Text
	}
	return ""
}

// TestReviewIntakeCancelAsksWhenEdited: the intake's Abbrechen over a form
// a kept mail filled empties it at once while the clerk changed nothing
// (the mail stays on its list); once the clerk added to it, Abbrechen asks
// first, and Zurück keeps what was typed.
func TestReviewIntakeCancelAsksWhenEdited(t *testing.T) {
	store := newTestStore(t)
	raw := []byte(badSignatureMail)
	if err := store.AddReview(t.Context(), &app.ReviewItem{MessageID: "<bad-1@mail.cochem-zell-online.de>", Subject: "Hund anmelden",
		From: "Bürgerportal <noreply@cochem-zell-online.de>", Reason: app.ReviewSignatureInvalid, ReceivedAt: testNow.UTC(), Size: int64(len(raw)), Raw: raw}, nil); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, store)
	m, in := h.m, h.m.intake
	toIntake := func() {
		m.show(ScreenReview)
		h.wait()
		m.review.list.Select(0)
		h.wait()
		m.review.toIntake(m.review.cur, "am Telefon bestätigt")
		h.wait()
		if in.fromReview == nil || in.first.Text != "Käthe" {
			t.Fatalf("not in the intake from the mail: %q", in.first.Text)
		}
	}
	toIntake()
	test.Tap(in.cancelMail)
	if len(m.dialogs) != 0 || in.fromReview != nil || in.first.Text != "" {
		t.Fatalf("Abbrechen over the mail's details: %d dialogs, from review %v, %q", len(m.dialogs), in.fromReview != nil, in.first.Text)
	}

	toIntake()
	h.typeInto(in.phone, "02671 1234")
	test.Tap(in.cancelMail)
	if len(m.dialogs) != 1 || !strings.Contains(m.lastMessage, "geht dabei verloren") {
		t.Fatalf("Abbrechen after typing did not ask: %d dialogs", len(m.dialogs))
	}
	h.press(fyne.KeyReturn) // Zurück
	if len(m.dialogs) != 0 || in.phone.Text != "02671 1234" || in.fromReview == nil {
		t.Fatalf("Zurück lost the form: %q, from review %v", in.phone.Text, in.fromReview != nil)
	}
	test.Tap(in.cancelMail)
	test.Tap(m.topDialog().okBtn) // Verwerfen
	if in.phone.Text != "" || in.fromReview != nil {
		t.Errorf("Verwerfen kept the form: %q", in.phone.Text)
	}
	if items, _ := store.ReviewItems(t.Context(), false); len(items) != 1 {
		t.Errorf("%d open review items after cancelling, want the mail still there", len(items))
	}
}

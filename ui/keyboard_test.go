package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"amtstresen/app"
)

// Tab walks the counter form in reading order: service, applicant, the
// service's fields, then save.
func TestIntakeTabOrder(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	s := h.m.intake
	h.m.show(ScreenIntake)
	h.typeInto(s.svc, "sperr")
	h.key(s.svc, fyne.KeyReturn)
	h.w.Canvas().Focus(s.svc)

	names := map[fyne.Focusable]string{s.svc: "leistung", s.salutation: "anrede", s.first: "vorname", s.last: "nachname",
		s.birth: "geburtsdatum", s.street: "strasse", s.house: "nr", s.postcode: "plz", s.place: "ort", s.email: "email",
		s.phone: "telefon", s.saveBtn: "speichern"}
	for _, f := range s.fields {
		switch {
		case f.addr != nil:
			for i, k := range []string{"strasse", "nr", "plz", "ort"} {
				names[f.addr[i]] = f.spec.Path + "." + k
			}
			names[f.same] = f.spec.Path + ".wie-wohnanschrift"
		default:
			names[f.focusable()] = f.spec.Path
		}
	}
	var got []string
	for i := 0; i < 40; i++ {
		n, ok := names[h.w.Canvas().Focused()]
		if !ok {
			n = fmt.Sprintf("%T", h.w.Canvas().Focused())
		}
		got = append(got, n)
		if n == "speichern" {
			break
		}
		test.FocusNext(h.w.Canvas())
	}
	want := []string{"leistung", "anrede", "vorname", "nachname", "geburtsdatum", "strasse", "nr", "plz", "ort", "email", "telefon",
		"abholanschrift.strasse", "abholanschrift.nr", "abholanschrift.plz", "abholanschrift.ort", "abholanschrift.wie-wohnanschrift",
		"gegenstaende", "volumenKubikmeter", "speichern"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tab order\n got %v\nwant %v", got, want)
	}
}

// The menu's shortcuts reach the screens even while an entry has the
// focus (Fyne gives shortcuts to the focused entry first; menu shortcuts
// come before that).
func TestMenuShortcuts(t *testing.T) {
	h := newHarness(t, newTestStore(t))
	menu := h.m.mainMenu()
	find := func(k fyne.KeyName, mod fyne.KeyModifier) *fyne.MenuItem {
		for _, m := range menu.Items {
			for _, it := range m.Items {
				if sc, ok := it.Shortcut.(*desktop.CustomShortcut); ok && sc.KeyName == k && sc.Modifier == mod {
					return it
				}
			}
		}
		t.Fatalf("no menu item for %v+%v", mod, k)
		return nil
	}
	ctrl := fyne.KeyModifierShortcutDefault

	find(fyne.Key2, ctrl).Action()
	if h.m.current() != ScreenIntake || h.w.Canvas().Focused() != h.m.intake.svc {
		t.Fatalf("Ctrl+2: screen %s, focus %T", h.m.current(), h.w.Canvas().Focused())
	}
	h.m.intake.fill(dogCase("Anna", "Muster", "56253", "Treis-Karden"))
	find(fyne.KeyS, ctrl).Action()
	h.wait()
	if n, _ := h.store.CountCases(context.Background(), app.CaseFilter{}); n != 1 {
		t.Fatalf("Ctrl+S saved %d cases", n)
	}
	h.m.intake.first.SetText("Karl")
	find(fyne.KeyN, ctrl).Action()
	if h.m.intake.first.Text != "Karl" || !strings.Contains(h.m.lastMessage, "geht dabei verloren") {
		t.Error("Ctrl+N emptied a half-filled form without asking")
	}
	h.m.topDialog().doOK() // Verwerfen
	if h.m.intake.first.Text != "" {
		t.Error("Ctrl+N did not empty the form")
	}
	find(fyne.Key1, ctrl).Action()
	h.wait()
	if h.m.current() != ScreenQueue || h.m.queue.count != 1 {
		t.Errorf("Ctrl+1: screen %s, %d cases", h.m.current(), h.m.queue.count)
	}
	find(fyne.KeyF, ctrl).Action()
	if h.w.Canvas().Focused() != h.m.queue.search {
		t.Error("Ctrl+F on the queue does not focus its search")
	}
	h.m.openCase(h.m.queue.pages[0][0].Ref)
	h.wait()
	find(fyne.KeyLeft, fyne.KeyModifierAlt).Action()
	if h.m.caseView != nil {
		t.Error("Alt+Left did not go back")
	}
}

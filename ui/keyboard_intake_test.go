package ui

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"amtstresen/app"
	"amtstresen/ui/printing"
	"amtstresen/ui/printing/cupstest"
)

// keyboardValues are what the clerk types into the service fields.
var keyboardValues = map[string]string{
	"hund.name": "Luna", "hund.rasse": "Beagle", "hund.chipnummer": "276098106543210", "haltungsbeginn": "01.11.2026",
	"steuermarke": "CZ-0815", "grund": "verstorben", "abmeldedatum": "20.11.2026",
	"veranstaltung.titel": "Weinfest", "veranstaltung.datum": "20.12.2026", "veranstaltung.ort": "Festplatz", "veranstalter": "Ortsgemeinde",
	"anzahlPlakate": "12", "format": "A1", "zeitraum.von": "06.12.2026", "zeitraum.bis": "20.12.2026", "gemeinden": "Treis-Karden",
	"grundstueck.gemeindeschluessel": "Treis-Karden", "grundstueck.gemarkung": "Karden", "grundstueck.flur": "3", "grundstueck.flurstueck": "112/4",
	"bisherigerEigentuemer.name": "Erbengemeinschaft Theisen", "neuerEigentuemer.name": "Anna Muster", "uebergangsdatum": "01.11.2026",
	"volumenKubikmeter": "2,5",
	"einrichtung":       "Bürgersaal", "gemeindeschluessel": "Treis-Karden", "datum": "12.12.2026", "von": "18:00", "bis": "23:00",
	"anlass": "Geburtstagsfeier", "personen": "40",
}

// The Done-when of issue 13: a walk-in application of every service taken
// in with the keyboard alone — Strg+2, the service typed and taken with
// Enter, every field reached with Tab, a line break with Umschalt+Enter,
// the appliance picked by count, a document ticked with Space, Enter on
// the save button — and the receipt printed through a real CUPS queue
// (cups-pdf), read back from the printed PDF.
func TestKeyboardOnlyIntakeEveryService(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext fehlt (apt-get install poppler-utils)")
	}
	cups := cupstest.Start(t)
	store := newTestStore(t)
	h := newHarness(t, store, func(o *Options) {
		o.Printer = &pdfPrinter{reg: testReg, printer: printing.Printer{Name: cups.Queue, SaveDir: t.TempDir()}}
	})
	s := h.m.intake
	c := h.w.Canvas()
	for _, svc := range testReg.Catalog.Services {
		if svc.AppointmentOnly {
			continue
		}
		t.Run(svc.Key, func(t *testing.T) {
			h.shortcut(fyne.Key2, fyne.KeyModifierShortcutDefault)
			if c.Focused() != s.svc {
				t.Fatalf("Strg+2: focus %T", c.Focused())
			}
			h.typeText(svc.Name[:8])
			h.press(fyne.KeyReturn) // takes the first suggestion
			if s.service == nil || s.service.Key != svc.Key {
				t.Fatalf("service %v after typing %q", s.service, svc.Name[:8])
			}
			for _, v := range []string{"Frau", "Anna", "Muster", "14.03.1985", "Moselstraße", "12a", "56253"} {
				h.typeText(v)
				h.press(fyne.KeyTab)
			}
			// The postcode took Treis-Karden; place, e-mail and phone stay as they are.
			for i := 0; i < 3; i++ {
				h.press(fyne.KeyTab)
			}
			docTicked := false
			for step := 0; step < 80; step++ {
				f := c.Focused()
				if f == s.saveBtn {
					h.press(fyne.KeyReturn)
					break
				}
				for _, sf := range s.fields {
					switch {
					case f == sf.entry && sf.entry != nil:
						if sf.spec.Type == app.TypeItems {
							h.typeText("2 Sessel")
							sf.entry.KeyDown(&fyne.KeyEvent{Name: "LeftShift"})
							h.press(fyne.KeyReturn)
							sf.entry.KeyUp(&fyne.KeyEvent{Name: "LeftShift"})
							h.typeText("1 Sofa")
						} else if v, ok := keyboardValues[sf.spec.Path]; ok {
							h.typeText(v)
						}
					case sf.addr != nil && f == sf.addr[0]:
						h.typeText("Hauptstraße")
					case sf.addr != nil && f == sf.addr[2]:
						h.typeText("56253")
					case sf.counts != nil && f == sf.counts[1]:
						h.typeText("1") // one washing machine
					}
				}
				if len(s.shown) > 0 && f == s.shown[0].seen && !docTicked {
					h.typeText(" ") // Space ticks "vorgelegt"
					docTicked = true
				}
				h.press(fyne.KeyTab)
			}
			if s.lastSave.Text == "" || !strings.Contains(s.lastSave.Text, "Gespeichert") {
				t.Fatalf("not saved; errors: %q", s.summary.Text)
			}
			cases, _ := store.ListCases(context.Background(), app.CaseFilter{Service: svc.Key})
			if len(cases) != 1 {
				t.Fatalf("%d cases of %s", len(cases), svc.Key)
			}
			got := h.caseByRef(cases[0].Ref)
			if len(svc.Documents) > 0 && len(got.Presented) != 1 {
				t.Errorf("presented %+v", got.Presented)
			}
			pdf := cups.WaitPDF(t, 30*time.Second)
			out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", pdf, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext %s: %v", filepath.Base(pdf), err)
			}
			text := strings.Join(strings.Fields(string(out)), " ")
			if !strings.Contains(text, got.Ref) || !strings.Contains(text, "Frau") || !strings.Contains(text, "Muster") {
				t.Errorf("printed receipt lacks the reference %s or the applicant:\n%.400s", got.Ref, text)
			}
			if !strings.Contains(s.lastSave.Text, "Quittung gedruckt") {
				t.Errorf("after printing: %q", s.lastSave.Text)
			}
		})
	}
}

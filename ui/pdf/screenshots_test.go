package pdf

import (
	"os"

	"amtstresen/app"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestScreenshots renders every document type to PDF and PNG for a person
// to look at. It runs only when AMTSTRESEN_SCREENSHOTS names a folder:
//
//	AMTSTRESEN_SCREENSHOTS=$PWD/build/screenshots go test -run TestScreenshots ./ui/pdf/
//
// (or ui/pdf/screenshots.sh). Nothing it writes belongs in git.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("AMTSTRESEN_SCREENSHOTS")
	if dir == "" {
		t.Skip("set AMTSTRESEN_SCREENSHOTS to a folder to render the documents to PNG")
	}
	needTool(t, "pdftoppm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(testReg())
	o := Options{Now: fixedNow, Clerk: "Maria Müller"}
	long := posterCase()
	long.Ref = "CZ-2026-00010"
	for i := 0; i < 14; i++ {
		long.Attachments = append(long.Attachments, dogCase().Attachments...)
	}
	owner := posterCase()
	owner.Service, owner.Office, owner.Ref = "eigentuemerwechsel", app.OfficeKaisersesch, "KAI-2026-00004"
	owner.Fields = mustJSON(map[string]any{
		"grundstueck":           map[string]any{"gemeindeschluessel": "07135045", "gemarkung": "Kaisersesch", "flur": "12", "flurstueck": "345/6"},
		"bisherigerEigentuemer": map[string]any{"name": "Erbengemeinschaft Hildegard Müller-Lüdenscheidt"},
		"neuerEigentuemer":      map[string]any{"name": "Björn Öztürk", "anschrift": map[string]any{"strasse": "Ravenéstraße", "hausnummer": "1", "plz": "56812", "ort": "Cochem"}},
		"uebergangsdatum":       "2026-12-01",
	})
	owner.Attachments = []app.Attachment{{Name: "kaufvertrag-seite-3.pdf", Received: true}}
	cancelled := appointment()
	cancelled.Status = "cancelled"
	docs := []struct {
		name  string
		items []Item
	}{
		{"eingangsbestaetigung", []Item{{Kind: KindReceipt, Case: dogCase()}}},
		{"eingangsbestaetigung-unklar", []Item{CaseItem(posterCase())}},
		{"eingangsbestaetigung-grundstueck", []Item{CaseItem(owner)}},
		{"hundesteuer", []Item{CaseItem(dogCase())}},
		{"sperrmuell", []Item{CaseItem(bulkyCase())}},
		{"elektrogeraete", []Item{CaseItem(applianceCase())}},
		{"terminbestaetigung", []Item{AppointmentItem(appointment(), nil)}},
		{"terminabsage", []Item{AppointmentItem(cancelled, nil)}},
		{"mehrseitig", []Item{CaseItem(long)}},
		{"stapel", []Item{CaseItem(dogCase()), CaseItem(bulkyCase()), AppointmentItem(appointment(), dogCase())}},
	}
	for _, d := range docs {
		b, err := r.Bytes(o, d.items...)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		p := filepath.Join(dir, d.name+".pdf")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftoppm", "-png", "-r", "110", p, filepath.Join(dir, d.name)).CombinedOutput()
		if err != nil {
			t.Fatalf("pdftoppm %s: %v\n%s", d.name, err, out)
		}
		t.Logf("%s: %s (%d bytes)", d.name, p, len(b))
	}
}

// needTool fails the test (never skips) when a tool the proof depends on
// is missing: CI installs it (Makefile: poppler-utils, cups, printer-driver-cups-pdf).
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s fehlt: bitte installieren (apt-get install poppler-utils cups printer-driver-cups-pdf; `make deps-test` erledigt das)", name)
	}
	return p
}

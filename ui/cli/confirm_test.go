package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/ui/printing/cupstest"
)

// confirmEnv is a database with one walk-in dog registration and one
// appointment, and private data, config and cache folders.
func confirmEnv(t *testing.T) (dbPath, ref string) {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext fehlt (apt-get install poppler-utils)")
	}
	dir := t.TempDir()
	t.Setenv("AMTSTRESEN_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("AMTSTRESEN_CONFIG_DIR", filepath.Join(dir, "config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	t.Setenv("AMTSTRESEN_DB", "")
	dbPath = filepath.Join(dir, "a.db")
	ctx := context.Background()
	db, err := storage.Open(ctx, dbPath, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fields, _ := json.Marshal(map[string]any{
		"hund":           map[string]any{"name": "Bärbel", "rasse": "Großer Münsterländer", "chipnummer": "276098100123456"},
		"haltungsbeginn": "2026-11-01",
	})
	c, _, err := db.CreateCase(ctx, &app.NewCase{IdempotencyKey: "k1", Channel: app.ChannelCounter, Service: "hund-anmelden",
		Applicant: app.Applicant{Salutation: "Frau", FirstName: "Jördis", LastName: "Weißmüller",
			Address: app.Address{Street: "Schloßstraße", HouseNumber: "12a", Postcode: "56856", Place: "Zell (Mosel)"}},
		Fields:      fields,
		Attachments: []app.NewAttachment{{Attachment: app.Attachment{Name: "impfpass.jpg", Received: false, Problem: "Die Anlage fehlt in der Sendung."}}},
		Routing:     app.Decision{Office: app.OfficeZell, Decided: true, Reason: "Wohnanschrift"},
		ReceivedAt:  time.Date(2026, 11, 27, 17, 4, 0, 0, time.UTC), Clerk: "mmueller"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyAppointment(ctx, &app.Appointment{UID: "5d1c2f80-9a1e-4c57-8f0a-2b6f1f0c9e77@cochem-zell-online.de",
		Service: "kfz-zulassung", Office: app.OfficeKreis, Status: app.AppointmentConfirmed, CitizenName: "Ömer Çelik",
		Start: time.Date(2026, 12, 4, 8, 30, 0, 0, time.UTC), End: time.Date(2026, 12, 4, 8, 45, 0, 0, time.UTC)}, nil); err != nil {
		t.Fatal(err)
	}
	return dbPath, c.Ref
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := run(args, &out, &errb)
	return out.String(), errb.String(), rc
}

func pdfText(t *testing.T, path string) string {
	t.Helper()
	b, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", path, err)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

func auditDetails(t *testing.T, dbPath string) []string {
	t.Helper()
	db, err := storage.Open(context.Background(), dbPath, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	es, err := db.AuditEntries(context.Background(), app.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if strings.HasSuffix(e.Action, ".print") {
			out = append(out, e.Action+" "+e.Ref+" "+e.Detail)
		}
	}
	return out
}

func TestConfirmCommand(t *testing.T) {
	dbPath, ref := confirmEnv(t)
	out := filepath.Join(t.TempDir(), "b.pdf")
	// Flags after the reference, as in the issue: confirm REF -o FILE.pdf.
	stdout, stderr, rc := runCmd(t, "confirm", strings.ToLower(ref), "-o", out, "--db", dbPath, "--art", "eingang")
	if rc != 0 {
		t.Fatalf("confirm: rc %d\n%s%s", rc, stdout, stderr)
	}
	if !strings.Contains(stdout, out) {
		t.Errorf("stdout = %q", stdout)
	}
	txt := pdfText(t, out)
	for _, want := range []string{"Eingangsbestätigung – Hund anmelden (Hundesteuer)", "Jördis Weißmüller", "Schloßstraße 12a", ref,
		"impfpass.jpg fehlt – nicht bei uns eingegangen", "persönlich bei uns abgegeben"} {
		if !strings.Contains(txt, want) {
			t.Errorf("PDF lacks %q:\n%s", want, txt)
		}
	}

	// The appointment, by its booking number as printed.
	out = filepath.Join(t.TempDir(), "t.pdf")
	if stdout, stderr, rc := runCmd(t, "confirm", "--appointment", "5d1c2f80-9a1e-4c57-8f0a-2b6f1f0c9e77", "-o", out, "--db", dbPath); rc != 0 {
		t.Fatalf("confirm --appointment: rc %d\n%s%s", rc, stdout, stderr)
	}
	if txt := pdfText(t, out); !strings.Contains(txt, "Terminbestätigung – Termin Kfz-Zulassungsstelle") || !strings.Contains(txt, "Freitag, 04.12.2026") {
		t.Errorf("appointment PDF:\n%s", txt)
	}

	// Mistakes get German messages and exit codes.
	for _, tt := range []struct {
		args []string
		rc   int
		msg  string
	}{
		{[]string{"confirm", "ZEL-2026-99999", "-o", out}, 1, "nicht gefunden"},
		{[]string{"confirm", "-o", out}, 2, "Bitte ein Aktenzeichen"},
		{[]string{"confirm", ref, "--art", "quittung"}, 1, "Unbekannte Art"},
		{[]string{"confirm", ref, "--art", "abholung", "-o", out}, 1, "nur für Sperrmüll"},
		{[]string{"confirm", "--appointment", "gibt-es-nicht", "-o", out}, 1, "Den Termin gibt es nicht"},
	} {
		_, stderr, rc := runCmd(t, append(tt.args, "--db", dbPath)...)
		if rc != tt.rc || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: rc %d, stderr %q; want rc %d and %q", tt.args, rc, stderr, tt.rc, tt.msg)
		}
	}
	got := auditDetails(t, dbPath)
	want := []string{"case.print " + ref + " eingang:datei", "appointment.print 5d1c2f80-9a1e-4c57-8f0a-2b6f1f0c9e77@cochem-zell-online.de termin:datei"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPrintCommand prints through a private cupsd with a cups-pdf queue.
func TestPrintCommand(t *testing.T) {
	dbPath, ref := confirmEnv(t)
	s := cupstest.Start(t)
	stdout, stderr, rc := runCmd(t, "print", ref, "--printer", s.Queue, "--db", dbPath)
	if rc != 0 {
		t.Fatalf("print: rc %d\n%s%s\n%s", rc, stdout, stderr, s.Log())
	}
	if !strings.Contains(stdout, "Gedruckt auf "+s.Queue) {
		t.Errorf("stdout = %q", stdout)
	}
	txt := pdfText(t, s.WaitPDF(t, 60*time.Second))
	for _, want := range []string{"Anmeldung zur Hundesteuer", "Jördis Weißmüller", "Bärbel", ref} {
		if !strings.Contains(txt, want) {
			t.Errorf("printed PDF lacks %q:\n%s", want, txt)
		}
	}
	// An unknown printer: the PDF is saved and the message names it.
	_, stderr, rc = runCmd(t, "print", ref, "--printer", "gibt-es-nicht", "--db", dbPath)
	if rc != 1 || !strings.Contains(stderr, "„gibt-es-nicht“ gibt es auf diesem Rechner nicht") || !strings.Contains(stderr, "Das PDF wurde gespeichert: ") {
		t.Fatalf("unknown printer: rc %d\n%s", rc, stderr)
	}
	saved := strings.TrimSpace(strings.SplitN(strings.SplitN(stderr, "gespeichert: ", 2)[1], " – ", 2)[0])
	if _, err := os.Stat(saved); err != nil {
		t.Errorf("saved PDF %q: %v", saved, err)
	}
	got := auditDetails(t, dbPath)
	if len(got) != 2 || got[0] != "case.print "+ref+" hundesteuer:drucker" || got[1] != "case.print "+ref+" hundesteuer:abgelegt" {
		t.Errorf("audit = %q", got)
	}
}

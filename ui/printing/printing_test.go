//go:build !windows

package printing

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/ui/pdf"
)

var (
	reg      = app.Default()
	fixedNow = time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
)

func testCase() *app.Case {
	f, _ := json.Marshal(map[string]any{
		"hund":           map[string]any{"name": "Bärbel", "rasse": "Großer Münsterländer", "chipnummer": "276098100123456"},
		"haltungsbeginn": "2026-11-01",
	})
	return &app.Case{Ref: "ZEL-2026-00042", Office: app.OfficeZell, Channel: app.ChannelCounter, Service: "hund-anmelden",
		Applicant: app.Applicant{Salutation: "Frau", FirstName: "Jördis", LastName: "Weißmüller",
			Address: app.Address{Street: "Schloßstraße", HouseNumber: "12a", Postcode: "56856", Place: "Zell (Mosel)"}},
		Fields: f, Status: app.StatusReceived,
		Attachments: []app.Attachment{{Name: "impfpass.jpg", Received: true}, {Name: "heimtierausweis.pdf"}},
		ReceivedAt:  time.Date(2026, 11, 27, 17, 4, 0, 0, time.UTC)}
}

func testPDF(t testing.TB) []byte {
	t.Helper()
	b, err := pdf.NewRenderer(reg).Bytes(pdf.Options{Now: fixedNow}, pdf.CaseItem(testCase()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeLP puts an lp on PATH that records its arguments and input in dir
// and answers with the given output and exit code.
func fakeLP(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	body := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + dir + "/args\ncat > " + dir + "/stdin\n" + script + "\n"
	if err := os.WriteFile(filepath.Join(dir, "lp"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	// lp's "does not exist" is checked against the scheduler's state.
	if err := os.WriteFile(filepath.Join(dir, "lpstat"), []byte("#!/bin/sh\necho 'scheduler is running'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+"/usr/bin:/bin")
	return dir
}

// wantSaved checks that the error is an *app.Error with code and message
// parts, and that the PDF was saved whole where the message says.
func wantSaved(t *testing.T, res Result, err error, data []byte, code string, parts ...string) {
	t.Helper()
	if app.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	msg := app.ErrorMessage(err)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("message %q lacks %q", msg, p)
		}
	}
	if res.Saved == "" || !strings.Contains(msg, res.Saved) {
		t.Fatalf("saved = %q; message %q must name it", res.Saved, msg)
	}
	got, rerr := os.ReadFile(res.Saved)
	if rerr != nil || !bytes.Equal(got, data) {
		t.Errorf("saved file differs from the PDF (%v)", rerr)
	}
	if fi, _ := os.Stat(res.Saved); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("saved file mode = %v, want 0600 (personal data)", fi.Mode())
	}
	if !strings.HasPrefix(filepath.Base(res.Saved), "ZEL-2026-00042_Eingangsbestaetigung_") {
		t.Errorf("saved as %s", res.Saved)
	}
}

func TestNoPrintSystem(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no lp anywhere
	data := testPDF(t)
	save := filepath.Join(t.TempDir(), "cache")
	res, err := Printer{SaveDir: save}.Print(context.Background(), Job{Title: "t", FileName: "ZEL-2026-00042_Eingangsbestaetigung.pdf", Data: data})
	wantSaved(t, res, err, data, app.ENOTFOUND, "kein Drucksystem", "Das PDF wurde gespeichert: "+save)
}

func TestLPRefusals(t *testing.T) {
	tests := []struct {
		name, printer, script string
		code                  string
		parts                 []string
	}{
		{"no default", "", "echo 'lp: Error - No default destination.' >&2; exit 1",
			app.ENOTFOUND, []string{"kein Drucker eingerichtet", "[print]"}},
		{"unknown printer", "Buero-3", "echo 'lp: The printer or class does not exist.' >&2; exit 1",
			app.ENOTFOUND, []string{"Den Drucker „Buero-3“ gibt es auf diesem Rechner nicht"}},
		{"scheduler down", "Buero-3", "echo 'lp: Error - Scheduler not responding.' >&2; exit 1",
			app.EINTERNAL, []string{"Das Drucksystem antwortet nicht"}},
		{"not accepting", "Buero-3", "echo 'lp: Destination \"Buero-3\" is not accepting jobs.' >&2; exit 1",
			app.EINTERNAL, []string{"nicht angenommen", "not accepting jobs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeLP(t, tt.script)
			data := testPDF(t)
			res, err := Printer{Name: tt.printer, SaveDir: t.TempDir()}.Print(context.Background(),
				Job{Title: "x", FileName: "ZEL-2026-00042_Eingangsbestaetigung.pdf", Data: data})
			wantSaved(t, res, err, data, tt.code, tt.parts...)
		})
	}
}

func TestLPTimeout(t *testing.T) {
	fakeLP(t, "sleep 5")
	data := testPDF(t)
	start := time.Now()
	res, err := Printer{Name: "Buero-3", SaveDir: t.TempDir(), Timeout: 300 * time.Millisecond}.Print(context.Background(),
		Job{FileName: "ZEL-2026-00042_Eingangsbestaetigung.pdf", Data: data})
	if time.Since(start) > 4*time.Second {
		t.Errorf("Print waited %s despite the timeout", time.Since(start))
	}
	wantSaved(t, res, err, data, app.EINTERNAL, "antwortet nicht")
}

func TestLPArgs(t *testing.T) {
	dir := fakeLP(t, "echo 'request id is Buero-3-17 (0 file(s))'")
	data := testPDF(t)
	res, err := Printer{Name: "Buero-3", SaveDir: t.TempDir()}.Print(context.Background(),
		Job{Title: "ZEL-2026-00042 Eingangsbestätigung", FileName: "x.pdf", Data: data})
	if err != nil || res.JobID != "Buero-3-17" || res.Printer != "Buero-3" || res.Saved != "" {
		t.Fatalf("Print = %+v, %v", res, err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if got, want := strings.Fields(string(args)), []string{"-d", "Buero-3", "-t", "ZEL-2026-00042", "Eingangsbestätigung", "-o", "media=A4"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("lp args = %q, want %q", got, want)
	}
	in, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if !bytes.Equal(in, data) {
		t.Error("lp did not get the PDF on its standard input")
	}
	// Without a name: the system default (no -d).
	fakeLP(t, "echo 'request id is Standard-1 (0 file(s))'")
	if _, err := (Printer{}).Print(context.Background(), Job{Data: data}); err != nil {
		t.Fatal(err)
	}
}

func TestSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	p1, err := Save(dir, "../../etc/KV-2026-00001_Terminbestaetigung.pdf", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Save(dir, "KV-2026-00001_Terminbestaetigung.pdf", []byte("2"))
	if err != nil {
		t.Fatal(err)
	}
	if p1 == p2 || filepath.Dir(p1) != dir || filepath.Dir(p2) != dir {
		t.Errorf("Save: %s, %s (want two files in %s)", p1, p2, dir)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v, want 0700", fi.Mode().Perm())
	}
	if _, err := (Printer{}).Print(context.Background(), Job{}); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("empty job: %v", err)
	}
}

// auditLog records entries.
type auditLog struct{ entries []app.AuditEntry }

func (a *auditLog) Audit(_ context.Context, e app.AuditEntry) error {
	a.entries = append(a.entries, e)
	return nil
}
func (a *auditLog) AuditEntries(context.Context, app.AuditFilter) ([]app.AuditEntry, error) {
	return a.entries, nil
}

func TestConfirmationsAudit(t *testing.T) {
	log := &auditLog{}
	actor := app.Actor{Clerk: "mmueller", Office: app.OfficeZell}
	svc := &Confirmations{Renderer: pdf.NewRenderer(reg), Printer: Printer{Name: "Buero-3", SaveDir: t.TempDir()}, Audit: log, Actor: actor}
	appt := &app.Appointment{UID: "abc@cochem-zell-online.de", Service: "buergerbuero", Office: app.OfficeZell,
		Start: fixedNow.Add(72 * time.Hour), CitizenName: "Ömer Çelik"}
	items := []pdf.Item{pdf.CaseItem(testCase()), pdf.AppointmentItem(appt, nil)}

	dir := fakeLP(t, "echo 'request id is Buero-3-18 (0 file(s))'")
	if _, err := svc.Print(context.Background(), pdf.Options{Now: fixedNow}, items...); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if !strings.Contains(string(args), "Amtstresen: 2 Bestätigungen") {
		t.Errorf("batch job title: %s", args)
	}
	out := filepath.Join(t.TempDir(), "b.pdf")
	if err := svc.Save(context.Background(), out, pdf.Options{Now: fixedNow}, items[0]); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Error("Save wrote no PDF")
	}
	fakeLP(t, "echo 'lp: The printer or class does not exist.' >&2; exit 1")
	res, err := svc.Print(context.Background(), pdf.Options{Now: fixedNow}, items[0])
	if app.ErrorCode(err) != app.ENOTFOUND || res.Saved == "" {
		t.Fatalf("failed print: %+v, %v", res, err)
	}

	want := []struct{ action, ref, detail string }{
		{"case.print", "ZEL-2026-00042", "hundesteuer:drucker"},
		{"appointment.print", "abc@cochem-zell-online.de", "termin:drucker"},
		{"case.print", "ZEL-2026-00042", "hundesteuer:datei"},
		{"case.print", "ZEL-2026-00042", "hundesteuer:abgelegt"},
	}
	if len(log.entries) != len(want) {
		t.Fatalf("audit entries = %+v", log.entries)
	}
	for i, w := range want {
		e := log.entries[i]
		if e.Action != w.action || e.Ref != w.ref || e.Detail != w.detail || e.Clerk != "mmueller" || e.Office != app.OfficeZell || e.At.IsZero() {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
}

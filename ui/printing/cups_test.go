//go:build !windows

package printing

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/ui/pdf"
	"amtstresen/ui/printing/cupstest"
)

// TestCUPS prints through a real, private cupsd with a cups-pdf queue and
// reads back the PDF that comes out of it. It also checks that the real
// lp's refusals become the right German messages.
func TestCUPS(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext fehlt (apt-get install poppler-utils)")
	}
	s := cupstest.Start(t)
	ctx := context.Background()
	data := testPDF(t)
	job := Job{Title: "ZEL-2026-00042 Eingangsbestätigung", FileName: "ZEL-2026-00042_Eingangsbestaetigung.pdf", Data: data}

	// No default printer yet.
	res, err := Printer{SaveDir: t.TempDir()}.Print(ctx, job)
	wantSaved(t, res, err, data, app.ENOTFOUND, "kein Drucker eingerichtet")
	// A printer that does not exist.
	res, err = Printer{Name: "gibt-es-nicht", SaveDir: t.TempDir()}.Print(ctx, job)
	wantSaved(t, res, err, data, app.ENOTFOUND, "„gibt-es-nicht“ gibt es auf diesem Rechner nicht")

	// The named queue, through the confirmations service (as the window
	// and `amtstresen print` do).
	log := &auditLog{}
	svc := &Confirmations{Renderer: pdf.NewRenderer(reg), Printer: Printer{Name: s.Queue, SaveDir: t.TempDir()},
		Audit: log, Actor: app.Actor{Clerk: "mmueller", Office: app.OfficeZell}}
	c := testCase()
	res, err = svc.Print(ctx, pdf.Options{Now: fixedNow, Clerk: "Maria Müller"}, pdf.Item{Kind: pdf.KindReceipt, Case: c})
	if err != nil {
		t.Fatalf("print: %v\n%s", err, s.Log())
	}
	if !strings.HasPrefix(res.JobID, s.Queue+"-") || res.Saved != "" {
		t.Errorf("result = %+v", res)
	}
	out := s.WaitPDF(t, 60*time.Second)
	txt, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", out, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(string(txt)), " ")
	// cups-pdf distils the PostScript again and splits the font into
	// 8-bit parts; glyphs beyond Latin-1 (– „ “) still print, but no longer
	// come out as text, so the checks stay within Latin-1.
	for _, want := range []string{
		"Eingangsbestätigung", "Hund anmelden (Hundesteuer)", "Sehr geehrte Frau Weißmüller,",
		"Jördis Weißmüller", "Schloßstraße 12a", "56856 Zell (Mosel)", "ZEL-2026-00042", "Maria Müller",
		"heimtierausweis.pdf fehlt", "nicht bei uns eingegangen", "Mit freundlichen Grüßen",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("printed PDF lacks %q:\n%s", want, txt)
		}
	}
	if len(log.entries) != 1 || log.entries[0].Action != "case.print" || log.entries[0].Detail != "eingang:drucker" {
		t.Errorf("audit = %+v", log.entries)
	}

	// The system default, as with no [print] printer configured.
	s.SetDefault(t)
	if res, err = (Printer{SaveDir: t.TempDir()}).Print(ctx, job); err != nil {
		t.Fatalf("default printer: %v", err)
	}
	out = s.WaitPDF(t, 60*time.Second)
	if txt, _ := exec.Command("pdftotext", out, "-").Output(); !strings.Contains(string(txt), "Weißmüller") {
		t.Errorf("default printer: unexpected text\n%s", txt)
	}

	// The print system is gone.
	s.Stop()
	res, err = Printer{Name: s.Queue, SaveDir: t.TempDir(), Timeout: 10 * time.Second}.Print(ctx, job)
	wantSaved(t, res, err, data, app.EINTERNAL, "Das Drucksystem antwortet nicht")
}

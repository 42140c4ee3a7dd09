package printing

import (
	"context"
	"fmt"
	"time"

	"amtstresen/app"
	"amtstresen/ui/pdf"
)

// Confirmations prints and saves the confirmations of cases and
// appointments and records each one in the audit log: a confirmation
// carries personal data, so who printed or saved which one is logged.
//
//	svc := &printing.Confirmations{Renderer: pdf.NewRenderer(reg), Printer: printing.Printer{Name: cfg.Print.Printer, SaveDir: paths.CacheDir}, Audit: store, Actor: actor}
//	res, err := svc.Print(ctx, pdf.Options{Clerk: name}, pdf.CaseItem(c))
type Confirmations struct {
	Renderer *pdf.Renderer
	Printer  Printer
	Audit    app.AuditLog // nil: nothing is logged (tests, previews)
	Actor    app.Actor
}

// Audit details say where the document went.
const (
	toPrinter = "drucker"  // handed to the printer
	toFile    = "datei"    // saved where the clerk chose
	toSaved   = "abgelegt" // printing failed; saved to the fallback folder
)

// Print renders the items into one PDF (one page run each) and prints it
// as one job. When printing fails the PDF is saved (Result.Saved) and the
// *app.Error says where.
func (s *Confirmations) Print(ctx context.Context, o pdf.Options, items ...pdf.Item) (Result, error) {
	b, err := s.Renderer.Bytes(o, items...)
	if err != nil {
		return Result{}, err
	}
	res, perr := s.Printer.Print(ctx, Job{Title: jobTitle(items), FileName: pdf.FileName(items...), Data: b})
	switch {
	case perr == nil:
		err = s.audit(ctx, items, toPrinter)
	case res.Saved != "":
		err = s.audit(ctx, items, toSaved)
	}
	if perr != nil {
		return res, perr
	}
	return res, err
}

// Save renders the items into one PDF and writes it to path (replacing a
// file there).
func (s *Confirmations) Save(ctx context.Context, path string, o pdf.Options, items ...pdf.Item) error {
	b, err := s.Renderer.Bytes(o, items...)
	if err != nil {
		return err
	}
	if err := WriteFile(path, b); err != nil {
		// The admin's path, not a fault of the program: one German line,
		// with the reason, and no technical repetition.
		return &app.Error{Code: app.EINVALID, Err: err,
			Message: fmt.Sprintf("Die Datei %s konnte nicht geschrieben werden (%s). Bitte einen anderen Ort wählen.", path, app.FileProblem(err))}
	}
	return s.audit(ctx, items, toFile)
}

// audit records one entry per case or appointment.
func (s *Confirmations) audit(ctx context.Context, items []pdf.Item, where string) error {
	if s.Audit == nil {
		return nil
	}
	now := time.Now().UTC()
	for _, it := range items {
		e := app.AuditEntry{At: now, Clerk: s.Actor.Clerk, Name: s.Actor.Name, Office: s.Actor.Office,
			Action: app.ActionCasePrint, Detail: string(it.Resolved()) + ":" + where}
		switch {
		case it.Appointment != nil:
			e.Action, e.Ref, e.Office = app.ActionAppointmentPrint, it.Appointment.UID, it.Appointment.Office
		case it.Case != nil:
			e.Ref, e.Office = it.Case.Ref, it.Case.Office
		}
		if err := s.Audit.Audit(ctx, e); err != nil {
			return &app.Error{Code: app.EINTERNAL, Err: err,
				Message: "Das Dokument wurde erstellt, aber der Eintrag im Protokoll ist fehlgeschlagen. Bitte die IT informieren."}
		}
	}
	return nil
}

// jobTitle names the job in the queue without personal data.
func jobTitle(items []pdf.Item) string {
	if len(items) == 1 {
		t := items[0].Resolved().Label()
		if ref := items[0].Ref(); ref != "" {
			t = ref + " " + t
		}
		return t
	}
	return fmt.Sprintf("Amtstresen: %d Bestätigungen", len(items))
}

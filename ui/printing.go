package ui

import (
	"context"
	"io"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"

	"amtstresen/app"
)

// printCase prints a case's confirmation; when printing fails the clerk
// may save the PDF instead, so nothing is lost. done (optional) runs
// afterwards on the UI goroutine with the outcome.
func (m *mainWindow) printCase(c *app.Case, done func(err error)) {
	by, clerk := m.actor(), m.clerkName()
	var doc *Document
	m.do(func(ctx context.Context) error {
		var err error
		if doc, err = m.print.CaseDocument(ctx, c, clerk); err != nil {
			return err
		}
		doc.Office = c.Office
		return m.printDoc(ctx, doc, by)
	}, func(err error) {
		m.printFailed(err, doc)
		m.refreshCase(c.Ref) // the print is in the history now
		if done != nil {
			done(err)
		}
	})
}

// refreshCase reloads the open case view when it shows ref.
func (m *mainWindow) refreshCase(ref string) {
	if cv := m.caseView; cv != nil && cv.ref == ref {
		cv.load()
	}
}

// printFailed tells the clerk why and offers to save the PDF.
func (m *mainWindow) printFailed(err error, doc *Document) {
	switch {
	case err == nil:
	case doc != nil:
		m.confirm(lang.L("Drucken nicht möglich"), app.ErrorMessage(err)+"\n\n"+lang.L("Die Bestätigung (auch) an einem Ort Ihrer Wahl als PDF speichern?"),
			lang.L("Als PDF speichern"), func() { m.savePDF(doc) })
	default:
		m.showError(err)
	}
}

// saveCasePDF writes the confirmation to a file the clerk chooses.
func (m *mainWindow) saveCasePDF(c *app.Case) {
	clerk := m.clerkName()
	var doc *Document
	m.do(func(ctx context.Context) error {
		var err error
		doc, err = m.print.CaseDocument(ctx, c, clerk)
		if err == nil {
			doc.Office = c.Office
		}
		return err
	}, func(err error) {
		if err != nil {
			m.showError(err)
			return
		}
		m.savePDF(doc)
	})
}

// printAppointment prints a Terminbestätigung.
func (m *mainWindow) printAppointment(a *app.Appointment) {
	by, clerk := m.actor(), m.clerkName()
	var doc *Document
	m.do(func(ctx context.Context) error {
		var err error
		// The case of the booking, when it is here and may be seen: its
		// postal address goes on the letter.
		var c *app.Case
		if a.PortalCase != "" {
			c, _ = m.store.CaseByPortalID(ctx, a.PortalCase)
		}
		if doc, err = m.print.AppointmentDocument(ctx, a, c, clerk); err != nil {
			return err
		}
		doc.Office = a.Office
		return m.printDoc(ctx, doc, by)
	}, func(err error) { m.printFailed(err, doc) })
}

// Where a confirmation went, for the audit log (as ui/printing writes it).
const (
	toPrinter = "drucker"  // handed to the printer
	toFile    = "datei"    // saved where the clerk chose
	toSaved   = "abgelegt" // printing failed; saved to the fallback folder
)

// printDoc prints and logs who printed which confirmation: it carries
// personal data.
func (m *mainWindow) printDoc(ctx context.Context, doc *Document, by app.Actor) error {
	saved, err := m.print.Print(ctx, doc)
	switch {
	case err == nil:
		return m.auditDoc(ctx, doc, by, toPrinter)
	case saved != "":
		if aerr := m.auditDoc(ctx, doc, by, toSaved); aerr != nil {
			m.log.Error("audit", "err", aerr)
		}
	}
	return err
}

func (m *mainWindow) auditDoc(ctx context.Context, doc *Document, by app.Actor, where string) error {
	action := app.ActionCasePrint
	if doc.Appointment {
		action = app.ActionAppointmentPrint
	}
	return m.store.Audit(ctx, app.AuditEntry{At: m.now().UTC(), Clerk: by.Clerk, Name: by.Name, Office: doc.Office, Action: action, Ref: doc.Ref, Detail: doc.Kind + ":" + where})
}

// savePDF asks where to save and writes the document; the save is logged,
// the clerk told where the file is, and the case's history shows it.
func (m *mainWindow) savePDF(doc *Document) {
	write, after, done := m.pdfSaver(doc)
	m.saveFile(lang.L("Bestätigung als PDF speichern"), doc.FileName, write, after, done)
}

// pdfSaver is how a confirmation is written where the clerk chose: the
// bytes, the audit entry, then the message and the refreshed history.
func (m *mainWindow) pdfSaver(doc *Document) (write func(context.Context, io.Writer) error, after func(context.Context) error, done func(string)) {
	by := m.actor()
	write = func(ctx context.Context, w io.Writer) error {
		_, err := w.Write(doc.Data)
		return err
	}
	after = func(ctx context.Context) error { return m.auditDoc(ctx, doc, by, toFile) }
	done = func(path string) {
		m.showMessage(lang.L("Gespeichert"), lang.L("Die Bestätigung ist gespeichert: {{.Path}}", map[string]any{"Path": path}))
		if !doc.Appointment {
			m.refreshCase(doc.Ref)
		}
	}
	return write, after, done
}

// saveFile asks where to save (a dialog titled title, the file named name),
// writes the file through write, makes it readable for its owner only
// (0600: it holds personal data, like the cache copy), runs after (the
// audit) and then done with the path. Failures are told in German.
func (m *mainWindow) saveFile(title, name string, write func(ctx context.Context, w io.Writer) error, after func(ctx context.Context) error, done func(path string)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		m.writeChosen(w, write, after, done)
	}, m.w)
	d.SetTitleText(title)
	d.SetFileName(name)
	m.dlg = d
	d.Show()
}

// writeChosen writes the file the clerk chose in the save dialog.
func (m *mainWindow) writeChosen(w fyne.URIWriteCloser, write func(ctx context.Context, w io.Writer) error, after func(ctx context.Context) error, done func(path string)) {
	path := w.URI().Path()
	m.do(func(ctx context.Context) error {
		err := write(ctx, w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil && w.URI().Scheme() == "file" {
			err = os.Chmod(path, 0o600)
		}
		if err != nil {
			return &app.Error{Code: app.EINVALID, Err: err, Message: lang.L("Die Datei konnte nicht gespeichert werden. Bitte einen anderen Ort wählen.")}
		}
		if after != nil {
			return after(ctx)
		}
		return nil
	}, func(err error) {
		if err != nil {
			m.showError(err)
			return
		}
		if done != nil {
			done(path)
		}
	})
}

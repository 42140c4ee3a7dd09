package ui

import (
	"context"

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
		if err := m.print.Print(ctx, doc); err != nil {
			return err
		}
		return m.store.Audit(ctx, app.AuditEntry{At: m.now().UTC(), Clerk: by.Clerk, Office: by.Office, Action: "case.print", Ref: c.Ref, Detail: "print"})
	}, func(err error) {
		m.printFailed(err, doc, c.Ref)
		if done != nil {
			done(err)
		}
	})
}

// printFailed tells the clerk why and offers to save the PDF.
func (m *mainWindow) printFailed(err error, doc *Document, ref string) {
	switch {
	case err == nil:
	case doc != nil:
		m.confirm(lang.L("Drucken nicht möglich"), app.ErrorMessage(err)+"\n\n"+lang.L("Die Bestätigung (auch) an einem Ort Ihrer Wahl als PDF speichern?"),
			lang.L("Als PDF speichern"), func() { m.savePDF(doc, ref) })
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
		return err
	}, func(err error) {
		if err != nil {
			m.showError(err)
			return
		}
		m.savePDF(doc, c.Ref)
	})
}

// printAppointment prints a Terminbestätigung.
func (m *mainWindow) printAppointment(a *app.Appointment) {
	clerk := m.clerkName()
	var doc *Document
	m.do(func(ctx context.Context) error {
		var err error
		if doc, err = m.print.AppointmentDocument(ctx, a, clerk); err != nil {
			return err
		}
		return m.print.Print(ctx, doc)
	}, func(err error) { m.printFailed(err, doc, "") })
}

// savePDF asks where to save and writes the document; ref, if set, is
// audited.
func (m *mainWindow) savePDF(doc *Document, ref string) {
	by := m.actor()
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		m.do(func(ctx context.Context) error {
			_, err := w.Write(doc.Data)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return &app.Error{Code: app.EINTERNAL, Err: err, Message: lang.L("Die Datei konnte nicht gespeichert werden. Bitte einen anderen Ort wählen.")}
			}
			if ref != "" {
				return m.store.Audit(ctx, app.AuditEntry{At: m.now().UTC(), Clerk: by.Clerk, Office: by.Office, Action: "case.print", Ref: ref, Detail: "pdf"})
			}
			return nil
		}, func(err error) {
			if err != nil {
				m.showError(err)
			}
		})
	}, m.w)
	d.SetFileName(doc.FileName)
	m.dlg = d
	d.Show()
}

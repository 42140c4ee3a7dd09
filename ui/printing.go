package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"

	"amtstresen/app"
)

// printCase prints a case's Eingangsbestätigung; when printing fails the
// clerk may save the PDF instead, so nothing is lost. done (optional) runs
// afterwards on the UI goroutine with the outcome.
func (m *mainWindow) printCase(c *app.Case, done func(err error)) {
	if m.print == nil {
		err := app.Errorf(app.EINVALID, "%s", lang.L("Der Druck von Bestätigungen ist an diesem Platz nicht eingerichtet. Bitte dem Bürger das Aktenzeichen {{.Ref}} notieren.", map[string]any{"Ref": c.Ref}))
		m.showError(err)
		if done != nil {
			done(err)
		}
		return
	}
	by := m.actor()
	var pdf []byte
	m.do(func(ctx context.Context) error {
		var err error
		pdf, err = m.print.CaseReceipt(ctx, c, by)
		if err != nil {
			return err
		}
		if err := m.print.Print(ctx, pdf, c.Ref); err != nil {
			return err
		}
		return m.store.Audit(ctx, app.AuditEntry{At: m.now().UTC(), Clerk: by.Clerk, Office: by.Office, Action: "case.print", Ref: c.Ref, Detail: "print"})
	}, func(err error) {
		if err != nil && pdf != nil {
			m.confirm(lang.L("Drucken nicht möglich"), app.ErrorMessage(err)+"\n\n"+lang.L("Die Bestätigung stattdessen als PDF speichern?"), lang.L("Als PDF speichern"),
				func() { m.savePDF(pdf, c.Ref+".pdf", c.Ref) })
		} else if err != nil {
			m.showError(err)
		}
		if done != nil {
			done(err)
		}
	})
}

// saveCasePDF writes the Eingangsbestätigung to a file the clerk chooses.
func (m *mainWindow) saveCasePDF(c *app.Case) {
	if m.print == nil {
		m.showMessage(lang.L("Als PDF speichern"), lang.L("PDF-Bestätigungen sind an diesem Platz nicht eingerichtet."))
		return
	}
	by := m.actor()
	var pdf []byte
	m.do(func(ctx context.Context) error {
		var err error
		pdf, err = m.print.CaseReceipt(ctx, c, by)
		return err
	}, func(err error) {
		if err != nil {
			m.showError(err)
			return
		}
		m.savePDF(pdf, c.Ref+".pdf", c.Ref)
	})
}

// printAppointment prints a Terminbestätigung.
func (m *mainWindow) printAppointment(a *app.Appointment) {
	if m.print == nil {
		m.showMessage(lang.L("Drucken"), lang.L("Der Druck von Bestätigungen ist an diesem Platz nicht eingerichtet."))
		return
	}
	by := m.actor()
	var pdf []byte
	m.do(func(ctx context.Context) error {
		var err error
		if pdf, err = m.print.AppointmentConfirmation(ctx, a, by); err != nil {
			return err
		}
		return m.print.Print(ctx, pdf, lang.L("Terminbestätigung"))
	}, func(err error) {
		if err != nil && pdf != nil {
			m.confirm(lang.L("Drucken nicht möglich"), app.ErrorMessage(err)+"\n\n"+lang.L("Die Bestätigung stattdessen als PDF speichern?"), lang.L("Als PDF speichern"),
				func() { m.savePDF(pdf, "Termin-"+safeFileName(a.UID)+".pdf", "") })
		} else if err != nil {
			m.showError(err)
		}
	})
}

// savePDF asks where to save and writes the bytes; ref, if set, is audited.
func (m *mainWindow) savePDF(pdf []byte, name, ref string) {
	by := m.actor()
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		m.do(func(ctx context.Context) error {
			_, err := w.Write(pdf)
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
	d.SetFileName(name)
	d.Show()
}

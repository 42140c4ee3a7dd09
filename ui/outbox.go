package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// outboxScreen ("Rückmeldungen") lists what a clerk must do about the
// messages to the citizens of the office: the messages not delivered,
// with the reason in German and what to do, and the letters waiting to be
// printed and posted (walk-in cases, citizens the portal cannot reach).
type outboxScreen struct {
	m       *mainWindow
	box     *fyne.Container
	status  *widget.Label
	failed  []app.Outgoing
	letters []app.PrintJob
	texts   map[string]string // nachricht → text of the letter
}

func newOutboxScreen(m *mainWindow) *outboxScreen { return &outboxScreen{m: m} }

func (s *outboxScreen) buildUI() fyne.CanvasObject {
	s.status = widget.NewLabel("")
	s.status.Wrapping = fyne.TextWrapWord
	s.box = container.NewVBox()
	reload := newKeyButton(s.m, lang.L("Aktualisieren"), theme.ViewRefreshIcon(), s.reload)
	title := widget.NewLabelWithStyle(lang.L("Rückmeldungen an Bürger"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, nil, reload, title), s.status), nil, nil, nil,
		container.NewVScroll(s.box))
}

// reload reads the messages not delivered and the open print jobs.
func (s *outboxScreen) reload() {
	m := s.m
	if m.o.Messages == nil {
		s.status.SetText(lang.L("Nachrichten an Bürger sind nicht eingerichtet."))
		return
	}
	m.bg.run(func() {
		failed, err := m.o.Messages.OutboxMessages(m.ctx, app.OutboxFilter{Undelivered: true, Limit: 500})
		var letters []app.PrintJob
		texts := map[string]string{}
		if err == nil {
			letters, err = m.o.Messages.PrintJobs(m.ctx, app.PrintFilter{})
		}
		for _, j := range letters {
			if err != nil || j.Nachricht == "" {
				continue
			}
			var ms []app.Outgoing
			if ms, err = m.o.Messages.OutboxMessages(m.ctx, app.OutboxFilter{Nachricht: j.Nachricht}); err == nil && len(ms) == 1 {
				texts[j.Nachricht] = ms[0].Text
			}
		}
		m.ui(func() {
			if err != nil {
				s.status.SetText(app.ErrorMessage(err))
				return
			}
			s.failed, s.letters, s.texts = failed, letters, texts
			s.render()
		})
	})
}

func (s *outboxScreen) render() {
	s.status.SetText(lang.L("{{.Failed}} nicht zugestellt · {{.Letters}} Briefe zu drucken", map[string]any{
		"Failed": len(s.failed), "Letters": len(s.letters)}))
	failed := container.NewVBox()
	for _, o := range s.failed {
		o := o
		head := widget.NewLabelWithStyle(fmt.Sprintf("%s · %s · %s", o.Ref, portalStatusLabel(o.Status), app.FormatDateTime(o.QueuedAt)),
			fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		st := widget.NewLabel(outboxStateLabel(o.State))
		st.Importance = widget.DangerImportance
		why := widget.NewLabel(undeliveredReason(o))
		why.Wrapping = fyne.TextWrapWord
		open := newKeyButton(s.m, lang.L("Vorgang öffnen"), theme.FolderOpenIcon(), func() { s.m.openCase(o.Ref) })
		buttons := container.NewHBox(open)
		if o.State == app.OutboxUndelivered && o.PortalCase != "" {
			buttons.Add(newKeyButton(s.m, lang.L("Erneut senden"), theme.MailSendIcon(), func() { s.resend(o.Nachricht) }))
		}
		failed.Add(container.NewVBox(head, st, why, buttons, widget.NewSeparator()))
	}
	if len(s.failed) == 0 {
		failed.Add(widget.NewLabel(lang.L("Alle Nachrichten wurden zugestellt oder sind unterwegs.")))
	}
	letters := container.NewVBox()
	for _, j := range s.letters {
		j := j
		head := widget.NewLabelWithStyle(fmt.Sprintf("%s · %s · %s", j.Ref, portalStatusLabel(j.Status), app.FormatDateTime(j.CreatedAt)),
			fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		why := widget.NewLabel(printWhy(j))
		why.Wrapping = fyne.TextWrapWord
		text := valueLabel(s.texts[j.Nachricht])
		open := newKeyButton(s.m, lang.L("Vorgang öffnen"), theme.FolderOpenIcon(), func() { s.m.openCase(j.Ref) })
		print := newKeyButton(s.m, lang.L("Drucken"), theme.DocumentPrintIcon(), func() { s.print(j) })
		print.Importance = widget.HighImportance
		done := newKeyButton(s.m, lang.L("Als gedruckt markieren"), theme.ConfirmIcon(), func() { s.askPrinted(j) })
		letters.Add(container.NewVBox(head, why, text, container.NewHBox(open, print, done), widget.NewSeparator()))
	}
	if len(s.letters) == 0 {
		letters.Add(widget.NewLabel(lang.L("Keine Briefe zu drucken.")))
	}
	s.box.Objects = []fyne.CanvasObject{
		widget.NewCard(lang.L("Nicht zugestellte Nachrichten"), lang.L("Grund und was zu tun ist"), failed),
		widget.NewCard(lang.L("Druckaufträge"), lang.L("Briefe an Bürger: drucken, unterschreiben, per Post senden"), letters),
	}
	s.box.Refresh()
}

// undeliveredReason says why a message did not arrive and what to do.
func undeliveredReason(o app.Outgoing) string {
	if o.Reason != "" {
		return o.Reason
	}
	switch o.State {
	case app.OutboxUnzustellbar:
		return lang.L("Das Portal konnte den Bürger nicht erreichen. Der Brief liegt in den Druckaufträgen.")
	case app.OutboxRefused:
		return lang.L("Das Portal hat die Nachricht abgelehnt. Bitte die IT verständigen und per Brief antworten.")
	}
	return lang.L("Die Nachricht wurde nicht versendet. Bitte den Mailserver prüfen lassen und erneut senden oder per Brief antworten.")
}

// printWhy says why a letter goes on paper.
func printWhy(j app.PrintJob) string {
	if j.Why != "" {
		return j.Why
	}
	return j.Kind.Label()
}

func (s *outboxScreen) resend(nachricht string) {
	by := s.m.actor()
	s.m.do(func(ctx context.Context) error { return s.m.o.Messages.Resend(ctx, nachricht, by) }, s.after)
}

// print prints the letter (ui/pdf, CUPS) and, once the printer took it,
// marks the job printed; the print is in the case's history.
func (s *outboxScreen) print(j app.PrintJob) {
	m := s.m
	by, clerk := m.actor(), m.clerkName()
	var doc *Document
	m.do(func(ctx context.Context) error {
		c, err := m.store.CaseByRef(ctx, j.Ref)
		if err != nil {
			return err
		}
		ms, err := m.o.Messages.OutboxMessages(ctx, app.OutboxFilter{Nachricht: j.Nachricht})
		if err != nil {
			return err
		}
		if len(ms) != 1 {
			return app.Errorf(app.ENOTFOUND, "Die Nachricht zum Brief %s ist nicht mehr vorhanden.", j.Ref)
		}
		if doc, err = m.print.LetterDocument(ctx, c, &ms[0], clerk); err != nil {
			return err
		}
		doc.Office = c.Office
		if err := m.printDoc(ctx, doc, by); err != nil {
			return err
		}
		return m.o.Messages.MarkPrinted(app.WithTime(ctx, m.now()), j.ID, by)
	}, func(err error) {
		m.printFailed(err, doc)
		s.reload()
	})
}

// askPrinted asks before a letter leaves the print jobs without being
// printed here: the clerk cannot undo it, and a letter not sent would
// leave the citizen without an answer. Abbrechen is the default.
func (s *outboxScreen) askPrinted(j app.PrintJob) {
	s.m.confirmIrreversible(lang.L("Als gedruckt markieren?"),
		lang.L("Der Brief zu {{.Ref}} verschwindet aus den Druckaufträgen; das lässt sich hier nicht rückgängig machen. Bitte nur bestätigen, wenn er anderswo gedruckt wurde und per Post hinausgeht.", map[string]any{"Ref": j.Ref}),
		lang.L("Als gedruckt markieren"), func() { s.printed(j.ID) })
}

func (s *outboxScreen) printed(id int64) {
	by := s.m.actor()
	s.m.do(func(ctx context.Context) error {
		return s.m.o.Messages.MarkPrinted(app.WithTime(ctx, s.m.now()), id, by)
	}, s.after)
}

func (s *outboxScreen) after(err error) {
	if err != nil {
		s.m.showError(err)
	}
	s.reload()
}

package ui

import (
	"context"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// Messages to the citizen (issue 16). Before a status goes out the clerk
// sees its text, filled in from the administrator's template, and can
// edit it; for "Unterlagen fehlen" the clerk picks the missing documents
// from the service's list and sets a deadline in working days. The
// reason asked before (an internal note) never goes into the message.
// The store queues the message in the transaction of the change
// (app.OutboxStore.ChangeCase): cancelling here changes nothing.

// defaultDeadlineDays is the deadline "Unterlagen fehlen" starts with.
const defaultDeadlineDays = 10

// tellForm is the open message dialog's inputs (tests fill them).
type tellForm struct {
	status   app.PortalStatus
	free     bool
	text     *fieldEntry
	docs     []*keyCheck
	docNames []string
	other    *fieldEntry // a document not in the service's list
	days     *fieldEntry // deadline in working days
	until    *widget.Label
	errLabel *widget.Label
	edited   bool          // the clerk changed the text: documents and deadline no longer rewrite it
	hint     *widget.Label // shown once edited and a choice no longer rewrites the text
	setting  bool
	submit   func() // confirms the dialog
	cancel   func() // cancels it
}

// documents are the picked documents, in the service's order, then the other.
func (f *tellForm) documents() []string {
	var out []string
	for i, c := range f.docs {
		if c.Checked {
			out = append(out, f.docNames[i])
		}
	}
	if f.other != nil {
		if s := strings.TrimSpace(f.other.Text); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// deadlineDays is the number of working days typed, -1 when not a number.
func (f *tellForm) deadlineDays() int {
	if f.days == nil {
		return 0
	}
	s := strings.TrimSpace(f.days.Text)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 250 {
		return -1
	}
	return n
}

// tells reports whether the change ch of the open case goes with a message
// the clerk must see first.
func (cv *caseView) tells(ch app.CaseChange) (app.PortalStatus, bool) {
	if cv.m.o.Messages == nil || cv.c == nil {
		return "", false
	}
	return app.MessageFor(cv.m.reg.Catalog.Service(cv.c.Service), cv.c, ch)
}

// change makes ch: with the message dialog first when the citizen is told,
// else at once (through the outbox store when there is one).
func (cv *caseView) change(ch app.CaseChange, plain func(ctx context.Context) error) {
	st, tells := cv.tells(ch)
	if tells {
		cv.tellDialog(ch, st)
		return
	}
	ref, by := cv.ref, cv.m.actor()
	cv.m.do(func(ctx context.Context) error {
		if cv.m.o.Messages == nil {
			return plain(ctx)
		}
		_, err := cv.m.o.Messages.ChangeCase(ctx, ref, ch, nil, by)
		return err
	}, func(err error) {
		if ch.Kind == app.ChangeStatus {
			cv.afterOrHold(app.OfflineStatus, ch.Status, ch.Reason, nil)(err)
			return
		}
		cv.after(err)
	})
}

// onTell opens a free "Nachricht an Bürger".
func (cv *caseView) onTell() {
	if cv.c == nil || cv.m.o.Messages == nil {
		return
	}
	cv.tellDialog(app.CaseChange{}, app.FreeStatus(cv.c.Status))
}

// draft is the text the message starts with.
func (cv *caseView) draft(f *tellForm, ch app.CaseChange) string {
	v := app.TextValues{ForwardedTo: string(ch.Office)}
	if f.status == app.PortalDocsMissing {
		v.Documents = f.documents()
		if n := f.deadlineDays(); n > 0 {
			v.Deadline = app.AddWorkingDays(cv.m.now(), n)
		}
	}
	return app.DraftText(cv.m.reg, cv.c, f.status, f.free, v)
}

// tellDialog shows the message of the change ch for the clerk to check and
// edit, and makes the change with it when confirmed.
func (cv *caseView) tellDialog(ch app.CaseChange, st app.PortalStatus) {
	m, c := cv.m, cv.c
	f := &tellForm{status: st, free: ch.Kind == app.ChangeNone}
	cv.tell = f
	f.text = m.textArea("", 10)
	f.errLabel = newErrorLabel()
	// Once the clerk has written in the text, a ticked document or a new
	// deadline no longer rewrites it (that would throw the writing away);
	// the hint says so, so that text and choice do not drift apart unseen.
	hint := widget.NewLabel("")
	hint.Wrapping = fyne.TextWrapWord
	hint.Hide()
	f.hint = hint
	redraft := func() {
		if f.edited {
			hint.SetText(lang.L("Der Text wurde von Hand geändert und wird nicht mehr angepasst: bitte Unterlagen und Frist im Text selbst prüfen."))
			hint.Show()
			return
		}
		f.setting = true
		f.text.SetText(cv.draft(f, ch))
		f.setting = false
	}
	f.text.onChanged = func(string) {
		setError(f.errLabel, "")
		if !f.setting {
			f.edited = true
		}
	}
	// A case shown from its queue row only (offline) has no portal id;
	// its channel says whether the answer goes through the portal.
	walkIn := c.PortalCase == "" && c.Channel != app.ChannelPortal
	intro := lang.L("Diese Nachricht geht über das Bürgerportal an den Bürger (Servicekonto oder E-Mail). Bitte prüfen und bei Bedarf ändern; interne Vermerke gehören nicht hinein.")
	if walkIn {
		intro = lang.L("Der Vorgang kam am Schalter: die Antwort wird ein Brief und kommt in die Druckaufträge. Bitte den Text prüfen und bei Bedarf ändern.")
	}
	head := widget.NewLabel(intro)
	head.Wrapping = fyne.TextWrapWord
	items := []fyne.CanvasObject{head}
	var focus fyne.Focusable = f.text
	if st == app.PortalDocsMissing {
		if svc := m.reg.Catalog.Service(c.Service); svc != nil {
			f.docNames = svc.Documents
		}
		for _, d := range f.docNames {
			chk := newKeyCheck(m, d, func(bool) { setError(f.errLabel, ""); redraft() })
			f.docs = append(f.docs, chk)
		}
		f.other = m.textEntry(lang.L("weitere Unterlage (freiwillig)"))
		f.other.onChanged = func(string) { setError(f.errLabel, ""); redraft() }
		f.days = m.textEntry("")
		f.days.SetText(strconv.Itoa(defaultDeadlineDays))
		f.until = widget.NewLabel("")
		showUntil := func() {
			switch n := f.deadlineDays(); {
			case n < 0:
				f.until.SetText(lang.L("keine gültige Zahl"))
			case n == 0:
				f.until.SetText(lang.L("ohne Frist"))
			default:
				f.until.SetText(lang.L("Arbeitstage: bis {{.Date}}", map[string]any{"Date": app.FormatDate(app.AddWorkingDays(m.now(), n))}))
			}
		}
		f.days.onChanged = func(string) { setError(f.errLabel, ""); showUntil(); redraft() }
		showUntil()
		checks := container.NewVBox()
		for _, chk := range f.docs {
			checks.Add(chk)
		}
		items = append(items, widget.NewLabelWithStyle(lang.L("Fehlende Unterlagen"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			checks, f.other,
			container.NewBorder(nil, nil, widget.NewLabel(lang.L("Frist")), f.until, f.days))
		if len(f.docs) > 0 {
			focus = f.docs[0]
		} else {
			focus = f.other
		}
	}
	redraft()
	items = append(items, widget.NewLabelWithStyle(lang.L("Text an den Bürger"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), f.text, hint, f.errLabel)
	title := lang.L("Nachricht an Bürger: {{.Status}}", map[string]any{"Status": portalStatusLabel(st)})
	okLabel := lang.L("Senden")
	if walkIn {
		okLabel = lang.L("Brief erstellen")
	}
	var d *dlg
	f.submit = func() {
		if d != nil {
			d.doOK()
		}
	}
	f.cancel = func() {
		if d != nil {
			d.doCancel()
		}
	}
	d = m.openDialog(dialogSpec{title: title, content: container.NewVScroll(container.NewVBox(items...)), okLabel: okLabel,
		cancelLabel: lang.L("Abbrechen"), size: fyne.NewSize(640, 560), focus: focus,
		dirty:  func() bool { return f.edited },
		cancel: func() { cv.tell = nil },
		ok: func() bool {
			msg := &app.Tell{Status: st, Text: f.text.Text}
			if st == app.PortalDocsMissing {
				n := f.deadlineDays()
				if n < 0 {
					setError(f.errLabel, lang.L("Bitte die Frist als Zahl von Arbeitstagen angeben (0 = ohne Frist)."))
					return false
				}
				msg.Documents = f.documents()
				if n > 0 {
					msg.Deadline = app.AddWorkingDays(m.now(), n)
				}
			}
			if f.free {
				msg.Status = ""
			}
			if err := app.CheckTell(&app.Tell{Status: st, Text: msg.Text, Documents: msg.Documents, Deadline: msg.Deadline}, m.now()); err != nil {
				setError(f.errLabel, app.ErrorMessage(err))
				return false
			}
			cv.tell = nil
			done := cv.after
			if ch.Kind == app.ChangeStatus {
				// Without the server the status change waits on this PC
				// with this message (app.ReplayOfflineActions sends both).
				if cv.offline() {
					cv.hold(app.OfflineStatus, ch.Status, ch.Reason, msg)
					return true
				}
				done = cv.afterOrHold(app.OfflineStatus, ch.Status, ch.Reason, msg)
			}
			ref, by := cv.ref, m.actor()
			m.do(func(ctx context.Context) error {
				_, err := m.o.Messages.ChangeCase(app.WithTime(ctx, m.now()), ref, ch, msg, by)
				return err
			}, done)
			return true
		}})
}

// portalStatusLabel is a message's status as the clerk reads it.
func portalStatusLabel(s app.PortalStatus) string {
	return lang.X("portalstatus."+string(s), s.Label())
}

// outboxStateLabel is where a message stands, in the clerk's words.
func outboxStateLabel(s app.OutboxState) string { return lang.X("outbox."+string(s), s.Label()) }

// citizenMessagesCard lists the messages to the citizen with their state;
// one not delivered says why and what to do, and can be sent again.
func (cv *caseView) citizenMessagesCard() fyne.CanvasObject {
	box := container.NewVBox()
	for i := len(cv.outgoing) - 1; i >= 0; i-- {
		o := cv.outgoing[i]
		state := outboxStateLabel(o.State)
		if o.State == app.OutboxRefused && o.Reason != "" {
			state += ": " + o.Reason
		}
		kind := portalStatusLabel(o.Status)
		if o.Free {
			kind = lang.L("Nachricht")
		}
		head := widget.NewLabelWithStyle(app.FormatDateTime(o.QueuedAt)+" · "+kind, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		st := widget.NewLabel(state)
		st.Wrapping = fyne.TextWrapWord
		switch {
		case o.State.Undelivered():
			st.Importance = widget.DangerImportance
		case o.State == app.OutboxFailed:
			st.Importance = widget.WarningImportance
		case o.State == app.OutboxServicekonto || o.State == app.OutboxEmail:
			st.Importance = widget.SuccessImportance
		}
		row := []fyne.CanvasObject{head, st}
		if o.Reason != "" && o.State != app.OutboxRefused {
			r := widget.NewLabel(o.Reason)
			r.Wrapping = fyne.TextWrapWord
			row = append(row, r)
		}
		if len(o.Documents) > 0 {
			docs := lang.L("Fehlende Unterlagen: {{.Docs}}", map[string]any{"Docs": strings.Join(o.Documents, ", ")})
			if !o.Deadline.IsZero() {
				docs += " · " + lang.L("Frist {{.Date}}", map[string]any{"Date": app.FormatDate(o.Deadline)})
			}
			row = append(row, widget.NewLabel(docs))
		}
		row = append(row, valueLabel(o.Text))
		if o.PortalCase != "" && (o.State == app.OutboxUndelivered || o.State == app.OutboxFailed) {
			nachricht := o.Nachricht
			b := newKeyButton(cv.m, lang.L("Erneut senden"), theme.MailSendIcon(), func() { cv.onResend(nachricht) })
			row = append(row, container.NewHBox(b))
		}
		box.Add(container.NewVBox(row...))
		box.Add(widget.NewSeparator())
	}
	if len(cv.outgoing) == 0 {
		box.Add(widget.NewLabel(lang.L("Noch keine Nachricht an den Bürger.")))
	}
	return widget.NewCard(lang.L("An den Bürger"), "", box)
}

func (cv *caseView) onResend(nachricht string) {
	by := cv.m.actor()
	cv.m.do(func(ctx context.Context) error { return cv.m.o.Messages.Resend(ctx, nachricht, by) }, cv.after)
}

package ui

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// caseView shows one case with everything it holds and the clerk's
// actions. Opening it is logged (case.read): it shows personal data.
type caseView struct {
	m       *mainWindow
	ref     string
	c       *app.Case
	notes   []app.Note
	audit   []app.AuditEntry
	names   map[string]string // account → display name, from the audit entries
	audited bool

	title    *widget.Label
	summary  *widget.Label
	flags    *widget.Label
	pendingL *widget.Label // changes that wait on this PC for the server
	rowOnly  bool          // opened without the server: only the queue row's data (offline_actions.go)
	content  *fyne.Container
	claim    *keyButton
	release  *keyButton
	status   *keyButton
	forward  *keyButton
	note     *keyButton
	printBtn *keyButton
	saveBtn  *keyButton
	tellBtn  *keyButton

	outgoing []app.Outgoing // messages to the citizen (with Options.Messages)
	tell     *tellForm      // the open message dialog

	// The open action dialog's inputs (tests fill them).
	statusSel     *keySelect
	statusOptions []app.Status
	forwardSel    *keySelect
	forwardKeys   []app.OfficeKey
	reasonEntry   *fieldEntry
	reasonError   *widget.Label
	submit        func() // confirms the open action dialog
}

func newCaseView(m *mainWindow, ref string) *caseView { return &caseView{m: m, ref: ref} }

func (cv *caseView) buildUI() fyne.CanvasObject {
	back := newKeyButton(cv.m, lang.L("Zurück (Esc)"), theme.NavigateBackIcon(), cv.m.back)
	cv.title = widget.NewLabelWithStyle(cv.ref, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	cv.title.SizeName = theme.SizeNameSubHeadingText
	cv.summary = widget.NewLabel(lang.L("Vorgang wird geladen …"))
	cv.summary.Wrapping = fyne.TextWrapWord
	cv.flags = widget.NewLabel("")
	cv.flags.Importance = widget.WarningImportance
	cv.flags.Wrapping = fyne.TextWrapWord
	cv.flags.Hide()
	cv.pendingL = widget.NewLabel("")
	cv.pendingL.Importance = widget.WarningImportance
	cv.pendingL.Wrapping = fyne.TextWrapWord
	cv.pendingL.Hide()

	cv.claim = newKeyButton(cv.m, lang.L("Übernehmen"), theme.AccountIcon(), cv.onClaim)
	cv.claim.Importance = widget.HighImportance
	cv.release = newKeyButton(cv.m, lang.L("Freigeben"), theme.ContentUndoIcon(), cv.onRelease)
	cv.status = newKeyButton(cv.m, lang.L("Status ändern …"), theme.ConfirmIcon(), cv.onChangeStatus)
	cv.forward = newKeyButton(cv.m, lang.L("Weiterleiten …"), theme.MailForwardIcon(), cv.onForward)
	cv.note = newKeyButton(cv.m, lang.L("Notiz …"), theme.DocumentCreateIcon(), cv.onNote)
	cv.printBtn = newKeyButton(cv.m, lang.L("Bestätigung drucken"), theme.DocumentPrintIcon(), cv.onPrint)
	cv.saveBtn = newKeyButton(cv.m, lang.L("Als PDF speichern"), theme.DocumentSaveIcon(), cv.onSavePDF)
	cv.tellBtn = newKeyButton(cv.m, lang.L("Nachricht an Bürger …"), theme.MailComposeIcon(), cv.onTell)
	for _, b := range cv.buttons() {
		b.Disable()
	}
	actions := container.NewHBox(cv.claim, cv.release, cv.status, cv.forward, cv.note, cv.tellBtn, layout.NewSpacer(), cv.printBtn, cv.saveBtn)
	if cv.m.o.Messages == nil {
		cv.tellBtn.Hide()
	}

	cv.content = container.NewVBox()
	top := container.NewVBox(
		container.NewBorder(nil, nil, back, nil, cv.title),
		cv.summary, cv.flags, cv.pendingL,
		container.NewHScroll(actions),
		widget.NewSeparator(),
	)
	return container.NewBorder(top, nil, nil, nil, container.NewVScroll(cv.content))
}

func (cv *caseView) buttons() []*keyButton {
	return []*keyButton{cv.claim, cv.release, cv.status, cv.forward, cv.note, cv.tellBtn, cv.printBtn, cv.saveBtn}
}

// load reads the case, its notes and its history in the background. The
// first load opens the case (the store writes the read to the audit log);
// a reload after a change only looks it up again.
func (cv *caseView) load() {
	m := cv.m
	first := !cv.audited
	cv.audited = true
	by := m.actor()
	m.bg.run(func() {
		ctx := m.ctx
		var c *app.Case
		var err error
		if first {
			c, err = m.store.ReadCase(app.WithTime(ctx, m.now()), cv.ref, by)
		} else {
			c, err = m.store.CaseByRef(ctx, cv.ref)
		}
		var notes []app.Note
		var entries []app.AuditEntry
		if err == nil {
			notes, err = m.store.Notes(ctx, cv.ref)
		}
		if err == nil {
			entries, err = m.store.AuditEntries(ctx, app.AuditFilter{Ref: cv.ref, Limit: 500})
		}
		var outgoing []app.Outgoing
		if err == nil && m.o.Messages != nil {
			outgoing, err = m.o.Messages.CaseMessages(ctx, cv.ref)
		}
		m.ui(func() {
			if m.caseView != cv {
				return
			}
			if err != nil {
				if cv.fromRow(err) {
					return
				}
				cv.summary.SetText(app.ErrorMessage(err))
				m.showError(err)
				return
			}
			cv.rowOnly = false
			cv.c, cv.notes, cv.audit, cv.outgoing = c, notes, entries, outgoing
			cv.names = map[string]string{}
			for _, e := range entries {
				if e.Name != "" {
					cv.names[e.Clerk] = e.Name
				}
			}
			cv.render()
		})
	})
}

func (cv *caseView) render() {
	c, reg, me := cv.shown(), cv.m.reg, cv.m.clerkSign()
	if t := cv.m.pendingText(cv.ref); t != "" {
		cv.pendingL.SetText(t)
		cv.pendingL.Show()
	} else if r := cv.m.refusedActs[cv.ref]; len(r) > 0 {
		cv.pendingL.SetText(lang.L("Ohne Verbindung vorgemerkt, nicht ausgeführt: {{.Msg}} Verwerfen unter „Auf diesem PC vorgemerkt“ am Schalter.",
			map[string]any{"Msg": strings.Join(r, " ")}))
		cv.pendingL.Show()
	} else {
		cv.pendingL.Hide()
	}
	cv.title.SetText(c.Ref + " · " + serviceName(reg, c.Service))
	who := lang.L("nicht übernommen")
	if c.Assignee != "" {
		who = lang.L("bearbeitet von {{.Clerk}}", map[string]any{"Clerk": c.Assignee})
		if n := cv.m.clerkLabel(c.Assignee, cv.names[c.Assignee]); n != c.Assignee {
			who = lang.L("bearbeitet von {{.Clerk}}", map[string]any{"Clerk": n + " (" + c.Assignee + ")"})
		}
	}
	channel := lang.L("online über das Bürgerportal")
	if c.Channel == app.ChannelCounter {
		channel = lang.L("am Schalter")
	}
	cv.summary.SetText(lang.L("Status: {{.Status}} · {{.Office}} · {{.Who}} · eingegangen {{.When}} {{.Channel}}", map[string]any{
		"Status": statusLabel(c.Status), "Office": officeShort(reg, c.Office), "Who": who,
		"When": app.FormatDateTime(c.ReceivedAt), "Channel": channel}))
	if cv.rowOnly {
		cv.summary.SetText(cv.summary.Text + "\n" + lang.L("Ohne Verbindung zum Server geöffnet: nur die Angaben aus dem Arbeitsvorrat. Übernehmen, Status ändern und Notizen werden auf diesem PC vorgemerkt und nachgetragen."))
	}
	if len(c.Flags) > 0 {
		cv.flags.SetText(lang.L("Zu prüfen: {{.Flags}}", map[string]any{"Flags": flagsLabel(c.Flags)}))
		cv.flags.Show()
	} else {
		cv.flags.Hide()
	}

	for _, b := range cv.buttons() {
		b.Enable()
	}
	if c.Assignee == me || c.Status.Final() {
		cv.claim.Disable()
	}
	if c.Assignee != me {
		cv.release.Disable()
	}
	if len(app.NextStatuses(c.Status)) == 0 {
		cv.status.Disable()
	}
	if c.Status.Final() {
		cv.forward.Disable()
	}
	if cv.rowOnly { // these need the whole case or the server
		for _, b := range []*keyButton{cv.release, cv.forward, cv.tellBtn, cv.printBtn, cv.saveBtn} {
			b.Disable()
		}
	}

	left := container.NewVBox(append(cv.withdrawalCards(), cv.applicantCard(), cv.fieldsCard())...)
	right := container.NewVBox(cv.routingCard(), cv.attachmentsCard(), cv.messagesCard())
	if cv.m.o.Messages != nil {
		right.Add(cv.citizenMessagesCard())
	}
	right.Add(cv.historyCard())
	cv.content.Objects = []fyne.CanvasObject{container.NewGridWithColumns(2, left, right)}
	cv.content.Refresh()
}

// formGrid lays label/value pairs out in two columns.
func formGrid(pairs ...fyne.CanvasObject) *fyne.Container {
	return container.New(layout.NewFormLayout(), pairs...)
}

func fieldLabel(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
}

func (cv *caseView) applicantCard() fyne.CanvasObject {
	a, reg := cv.c.Applicant, cv.m.reg
	var rows []fyne.CanvasObject
	add := func(label, value string) {
		if strings.TrimSpace(value) != "" {
			rows = append(rows, fieldLabel(label), valueLabel(value))
		}
	}
	add(lang.L("Name"), strings.TrimSpace(a.Salutation+" "+a.Name()))
	add(lang.L("Geburtsdatum"), app.FormatISODate(a.BirthDate))
	add(lang.L("Anschrift"), a.Address.Line())
	if m := reg.Municipality(a.Address.AGS); m != nil {
		add(lang.L("Gemeinde"), fmt.Sprintf("%s, %s (%s)", m.Name, officeShort(reg, m.Office), m.AGS))
	}
	add(lang.L("E-Mail"), a.Email)
	add(lang.L("Telefon"), a.Phone)
	return widget.NewCard(lang.L("Antragsteller"), "", formGrid(rows...))
}

func (cv *caseView) fieldsCard() fyne.CanvasObject {
	var rows []fyne.CanvasObject
	for _, f := range cv.m.reg.DisplayFields(cv.c.Service, cv.c.Fields) {
		l := fieldLabel(f.Label)
		if f.Known {
			l.SetText(fieldLabelText(f.Path, f.Label))
		}
		v := valueLabel(f.Value)
		if !f.Known {
			l.TextStyle = fyne.TextStyle{Italic: true}
			v.TextStyle = fyne.TextStyle{Monospace: true}
		}
		rows = append(rows, l, v)
	}
	if len(rows) == 0 {
		return widget.NewCard(lang.L("Angaben"), "", widget.NewLabel(lang.L("Keine Angaben.")))
	}
	sub := ""
	if cv.m.reg.Catalog.Service(cv.c.Service) == nil {
		sub = lang.L("Leistung nicht im Katalog: alle Angaben unverändert")
	}
	return widget.NewCard(lang.L("Angaben"), sub, formGrid(rows...))
}

func (cv *caseView) routingCard() fyne.CanvasObject {
	c, reg := cv.c, cv.m.reg
	office := lang.L("noch nicht zugeordnet – bitte weiterleiten")
	if o := reg.Office(c.Office); o != nil {
		office = o.Name
	}
	rows := []fyne.CanvasObject{fieldLabel(lang.L("Zuständig")), valueLabel(office)}
	// A forwarded case: the reason shown is the forwarding's, the first
	// routing (which named the office the case came from) below it.
	if fw := cv.lastForward(); fw != nil {
		by := cv.m.clerkLabel(fw.Author, cv.names[fw.Author])
		rows = append(rows, fieldLabel(lang.L("Begründung")), valueLabel(lang.L("weitergeleitet von {{.From}}: {{.Reason}} ({{.Clerk}}, {{.When}})", map[string]any{
			"From": officeShort(reg, c.ForwardedFrom), "Reason": forwardReason(fw.Text), "Clerk": by, "When": app.FormatDateTime(fw.At)})))
		if c.RoutingReason != "" {
			rows = append(rows, fieldLabel(lang.L("Erste Zuordnung")), valueLabel(translateReason(c.RoutingReason)))
		}
	} else {
		if c.RoutingReason != "" {
			rows = append(rows, fieldLabel(lang.L("Begründung")), valueLabel(translateReason(c.RoutingReason)))
		}
		if c.ForwardedFrom != "" {
			rows = append(rows, fieldLabel(lang.L("Weitergeleitet von")), valueLabel(officeShort(reg, c.ForwardedFrom)))
		}
	}
	if c.PortalCase != "" {
		rows = append(rows, fieldLabel(lang.L("Portal-Vorgang")), valueLabel(c.PortalCase))
	}
	if !c.ClosedAt.IsZero() {
		rows = append(rows, fieldLabel(lang.L("Abgeschlossen")), valueLabel(app.FormatDateTime(c.ClosedAt)))
	}
	return widget.NewCard(lang.L("Zuständigkeit"), "", formGrid(rows...))
}

// lastForward is the newest forwarding note of the case, nil if none.
func (cv *caseView) lastForward() *app.Note {
	for i := len(cv.notes) - 1; i >= 0; i-- {
		if cv.notes[i].Kind == "forward" {
			return &cv.notes[i]
		}
	}
	return nil
}

// forwardReason is the reason part of a forwarding note ("VG Zell → VG
// Cochem: Grund").
func forwardReason(text string) string {
	if _, r, ok := strings.Cut(text, ": "); ok {
		return r
	}
	return text
}

func (cv *caseView) attachmentsCard() fyne.CanvasObject {
	box := container.NewVBox()
	for _, a := range cv.c.Attachments {
		a := a
		info := fmt.Sprintf("%s (%s)", app.Safe(a.Name), formatSize(a.Size))
		l := widget.NewLabel(info)
		l.Wrapping = fyne.TextWrapWord
		open := widget.NewButtonWithIcon(lang.L("Öffnen"), theme.FileIcon(), func() { cv.onOpenAttachment(a) })
		save := widget.NewButtonWithIcon(lang.L("Speichern …"), theme.DocumentSaveIcon(), func() { cv.onSaveAttachment(a) })
		row := []fyne.CanvasObject{l}
		switch {
		case !a.Received:
			open.Disable()
			save.Disable()
			msg := lang.L("fehlt – beim Bürger nachfordern")
			if a.Problem != "" {
				msg = a.Problem
			}
			w := widget.NewLabel(msg)
			w.Importance = widget.DangerImportance
			w.Wrapping = fyne.TextWrapWord
			row = append(row, w)
		case a.Problem != "":
			w := widget.NewLabel(a.Problem)
			w.Importance = widget.DangerImportance
			w.Wrapping = fyne.TextWrapWord
			row = append(row, w)
		}
		box.Add(container.NewBorder(nil, nil, nil, container.NewHBox(open, save), container.NewVBox(row...)))
	}
	if len(cv.c.Attachments) == 0 {
		box.Add(widget.NewLabel(lang.L("Keine Anlagen.")))
	}
	return widget.NewCard(lang.L("Anlagen"), "", box)
}

func (cv *caseView) messagesCard() fyne.CanvasObject {
	box := container.NewVBox()
	for _, n := range cv.notes {
		if n.Kind != "message" {
			continue
		}
		head := widget.NewLabelWithStyle(app.FormatDateTime(n.At)+" · "+n.Author, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		box.Add(head)
		box.Add(valueLabel(n.Text))
		for _, a := range n.Attachments {
			a := a
			b := widget.NewButtonWithIcon(app.Safe(a.Name)+" ("+formatSize(a.Size)+")", theme.FileIcon(), func() { cv.onOpenAttachment(a) })
			b.Importance = widget.LowImportance
			if !a.Received {
				b.Disable()
			}
			box.Add(b)
		}
	}
	if len(box.Objects) == 0 {
		box.Add(widget.NewLabel(lang.L("Keine Nachrichten des Bürgers.")))
	}
	return widget.NewCard(lang.L("Nachrichten"), "", box)
}

// historyCard merges notes and the audit log, newest first; reads are
// summed up in one line (who looked at the case is in the audit log).
func (cv *caseView) historyCard() fyne.CanvasObject {
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	reads, lastReader := 0, ""
	var lastRead time.Time
	for _, e := range cv.audit {
		switch e.Action {
		case app.ActionCaseStatus, app.ActionCaseForward, app.ActionCaseNote, app.ActionCaseMessage, app.ActionCaseTell, app.ActionCaseQuittung:
			continue // the note (or the card of messages to the citizen) says it, with the text
		}
		if e.Action == app.ActionCaseRead {
			reads++
			if e.At.After(lastRead) {
				lastRead, lastReader = e.At, cv.m.clerkLabel(e.Clerk, e.Name)
			}
			continue
		}
		e.Clerk = cv.m.clerkLabel(e.Clerk, e.Name)
		lines = append(lines, line{e.At, auditText(e)})
	}
	for _, n := range cv.notes {
		if n.Kind == "message" {
			continue
		}
		kind := lang.L("Notiz")
		switch n.Kind {
		case "forward":
			kind = lang.L("Weiterleitung")
		case "status":
			kind = lang.L("Statusänderung")
		}
		lines = append(lines, line{n.At, fmt.Sprintf("%s · %s: %s", cv.m.clerkLabel(n.Author, cv.names[n.Author]), kind, n.Text)})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.After(lines[j].at) })
	box := container.NewVBox()
	for _, l := range lines {
		box.Add(formGrid(widget.NewLabel(app.FormatDateTime(l.at)), valueLabel(l.text)))
	}
	if len(lines) == 0 {
		box.Add(widget.NewLabel(lang.L("Noch keine Einträge.")))
	}
	sub := ""
	if reads > 0 {
		sub = lang.L("{{.N}}× angesehen, zuletzt {{.When}} von {{.Clerk}}", map[string]any{
			"N": reads, "When": app.FormatDateTime(lastRead), "Clerk": lastReader})
	}
	return widget.NewCard(lang.L("Verlauf"), sub, box)
}

// auditText turns an audit entry into a German line.
func auditText(e app.AuditEntry) string {
	action, detail := e.Action, e.Detail
	switch e.Action {
	case app.ActionCaseCreate:
		action = lang.L("angelegt")
	case app.ActionCaseClaim:
		action = lang.L("übernommen")
	case app.ActionCaseRelease:
		action = lang.L("freigegeben")
	case app.ActionCaseStatus:
		action = lang.L("Status geändert")
	case app.ActionCaseForward:
		action = lang.L("weitergeleitet")
	case app.ActionCaseNote:
		action = lang.L("Notiz ergänzt")
	case app.ActionCaseMessage:
		action = lang.L("Nachricht des Bürgers")
	case app.ActionCaseResend:
		action, detail = lang.L("Nachricht an Bürger erneut gesendet"), ""
	case app.ActionCasePrinted:
		action, detail = lang.L("Brief gedruckt"), ""
	case app.ActionCasePrint:
		action = lang.L("Bestätigung gedruckt oder gespeichert")
		if kind, where, ok := strings.Cut(detail, ":"); ok {
			switch {
			case kind == "brief" && where == toPrinter:
				action = lang.L("Brief gedruckt")
			case kind == "brief":
				action = lang.L("Brief als PDF gespeichert oder abgelegt")
			case where == toPrinter:
				action = lang.L("Bestätigung gedruckt")
			case where == toFile:
				action = lang.L("Bestätigung als PDF gespeichert")
			case where == toSaved:
				action = lang.L("Bestätigung nicht gedruckt, als PDF abgelegt")
			}
			detail = ""
		}
	}
	if e.Action == app.ActionCaseCreate {
		detail = ""
		if strings.Contains(e.Detail, "channel="+string(app.ChannelCounter)) {
			detail = lang.L("am Schalter")
		} else if strings.Contains(e.Detail, "channel="+string(app.ChannelPortal)) {
			detail = lang.L("über das Bürgerportal")
		}
	}
	if from, to, ok := strings.Cut(detail, "->"); ok {
		f, t := app.Status(from), app.Status(to)
		if app.ValidStatus(f) && app.ValidStatus(t) {
			detail = statusLabel(f) + " → " + statusLabel(t)
		} else {
			detail = from + " → " + to
		}
	}
	s := e.Clerk + " · " + action
	if detail != "" {
		s += " (" + detail + ")"
	}
	return s
}

// Actions.

func (cv *caseView) onClaim() {
	if cv.offline() {
		cv.hold(app.OfflineClaim, "", "", nil)
		return
	}
	ref, by := cv.ref, cv.m.actor()
	cv.m.do(func(ctx context.Context) error {
		err := cv.m.store.Claim(ctx, ref, by)
		if app.ErrorCode(err) == app.ECONFLICT {
			// Say who holds it, whatever the store's wording.
			if c, e := cv.m.store.CaseByRef(ctx, ref); e == nil && c.Assignee != "" && c.Assignee != by.Clerk {
				return &app.Error{Code: app.ECONFLICT, Err: err, Message: lang.L(
					"{{.Ref}} wird bereits von {{.Clerk}} bearbeitet. Bitte sprechen Sie {{.Clerk}} an; erst wenn der Vorgang freigegeben ist, können Sie ihn übernehmen.",
					map[string]any{"Ref": ref, "Clerk": c.Assignee})}
			}
		}
		return err
	}, cv.afterOrHold(app.OfflineClaim, "", "", nil))
}

func (cv *caseView) onRelease() {
	ref, by := cv.ref, cv.m.actor()
	cv.m.do(func(ctx context.Context) error { return cv.m.store.Release(ctx, ref, by) }, cv.after)
}

// afterOrHold is after, except that a change the server could not take
// because it is away is kept on this PC (offline_actions.go), with msg,
// its message to the citizen (nil for none).
func (cv *caseView) afterOrHold(kind app.OfflineActionKind, to app.Status, text string, msg *app.Tell) func(error) {
	return func(err error) {
		if cv.canHold(err) {
			cv.hold(kind, to, text, msg)
			return
		}
		cv.after(err)
	}
}

// after shows an action's error, and reloads the case either way (the
// store may have changed in the meantime).
func (cv *caseView) after(err error) {
	if err != nil {
		cv.m.showError(err)
	}
	if cv.m.caseView == cv {
		cv.load()
	}
}

// reasonDialog asks for a reason (and a choice) and runs ok when the
// clerk confirms with a reason given (or optional). Enter confirms, Esc
// cancels; a mistake shown goes away once it is fixed.
func (cv *caseView) reasonDialog(title, confirm string, choice *keySelect, reasonLabel string, optional func() bool, ok func(reason string)) {
	m := cv.m
	cv.reasonEntry = m.textArea("", 3)
	cv.reasonError = newErrorLabel()
	cv.reasonEntry.onChanged = func(string) { setError(cv.reasonError, "") }
	items := []fyne.CanvasObject{}
	var focus fyne.Focusable = cv.reasonEntry
	if choice != nil {
		items = append(items, choice)
		prev := choice.OnChanged
		choice.OnChanged = func(v string) {
			setError(cv.reasonError, "")
			if prev != nil {
				prev(v)
			}
		}
		if choice.SelectedIndex() < 0 {
			focus = choice
		}
	}
	items = append(items, widget.NewLabel(reasonLabel), cv.reasonEntry, cv.reasonError)
	var d *dlg
	cv.submit = func() {
		if d != nil {
			d.doOK()
		}
	}
	d = m.openDialog(dialogSpec{title: title, content: container.NewVBox(items...), okLabel: confirm, cancelLabel: lang.L("Abbrechen"),
		size: fyne.NewSize(520, 340), focus: focus,
		dirty:  func() bool { return strings.TrimSpace(cv.reasonEntry.Text) != "" },
		cancel: func() { cv.submit = nil },
		ok: func() bool {
			if choice != nil && choice.SelectedIndex() < 0 {
				setError(cv.reasonError, lang.L("Bitte eine Auswahl treffen."))
				return false
			}
			reason := strings.TrimSpace(cv.reasonEntry.Text)
			if reason == "" && (optional == nil || !optional()) {
				setError(cv.reasonError, lang.L("Bitte eine Begründung angeben; sie steht im Verlauf des Vorgangs."))
				return false
			}
			cv.submit = nil
			ok(reason)
			return true
		}})
}

// onChangeStatus offers exactly the statuses the rules allow from here.
func (cv *caseView) onChangeStatus() {
	if cv.c == nil {
		return
	}
	cv.statusOptions = app.NextStatuses(cv.shown().Status)
	var names []string
	for _, s := range cv.statusOptions {
		names = append(names, statusLabel(s))
	}
	cv.statusSel = newKeySelect(cv.m, names, nil)
	cv.statusSel.PlaceHolder = lang.L("Neuer Status")
	if len(names) == 1 {
		cv.statusSel.SetSelectedIndex(0)
	}
	cv.reasonDialog(lang.L("Status ändern"), lang.L("Ändern"), cv.statusSel, lang.L("Begründung (bei „In Bearbeitung“ freiwillig)"),
		func() bool {
			i := cv.statusSel.SelectedIndex()
			return i >= 0 && cv.statusOptions[i] == app.StatusInProgress
		},
		func(reason string) { cv.setStatus(cv.statusOptions[cv.statusSel.SelectedIndex()], reason) })
}

// setStatus asks the store to move the case; the store checks the rules
// again (another clerk may have moved it meanwhile).
func (cv *caseView) setStatus(to app.Status, reason string) {
	if cv.c != nil {
		if err := app.CheckTransition(cv.shown().Status, to); err != nil {
			cv.after(err)
			return
		}
	}
	ch := app.CaseChange{Kind: app.ChangeStatus, Status: to, Reason: reason}
	if cv.offline() {
		// The message to the citizen as online: the clerk checks and
		// edits it now, and it is kept with the change (tellDialog).
		if st, tells := cv.tells(ch); tells {
			cv.tellDialog(ch, st)
			return
		}
		cv.hold(app.OfflineStatus, to, reason, nil)
		return
	}
	ref, by := cv.ref, cv.m.actor()
	cv.change(ch, func(ctx context.Context) error { return cv.m.store.SetStatus(ctx, ref, to, reason, by) })
}

func (cv *caseView) onForward() {
	if cv.c == nil {
		return
	}
	cv.forwardKeys = nil
	var names []string
	for _, o := range cv.m.reg.Offices {
		if o.Key != cv.c.Office {
			cv.forwardKeys = append(cv.forwardKeys, o.Key)
			names = append(names, o.Name)
		}
	}
	cv.forwardSel = newKeySelect(cv.m, names, nil)
	cv.forwardSel.PlaceHolder = lang.L("Dienststelle")
	cv.reasonDialog(lang.L("Weiterleiten"), lang.L("Weiterleiten"), cv.forwardSel, lang.L("Begründung (z. B. „Grundstück liegt in Landkern, VG Kaisersesch“)"), nil,
		func(reason string) { cv.doForward(cv.forwardKeys[cv.forwardSel.SelectedIndex()], reason) })
}

func (cv *caseView) doForward(to app.OfficeKey, reason string) {
	ref, by := cv.ref, cv.m.actor()
	cv.change(app.CaseChange{Kind: app.ChangeForward, Office: to, Reason: reason},
		func(ctx context.Context) error { return cv.m.store.Forward(ctx, ref, to, reason, by) })
}

func (cv *caseView) onNote() {
	cv.reasonDialog(lang.L("Notiz"), lang.L("Speichern"), nil, lang.L("Notiz zum Vorgang (keine Gesundheits- oder Kontodaten)"), nil,
		func(text string) { cv.addNote(text) })
}

func (cv *caseView) addNote(text string) {
	ref, by := cv.ref, cv.m.actor()
	if cv.offline() {
		cv.hold(app.OfflineNote, "", text, nil)
		return
	}
	cv.m.do(func(ctx context.Context) error { return cv.m.store.AddNote(ctx, ref, text, by) }, cv.afterOrHold(app.OfflineNote, "", text, nil))
}

func (cv *caseView) onPrint() {
	if cv.c != nil {
		cv.m.printCase(cv.c, nil)
	}
}

func (cv *caseView) onSavePDF() {
	if cv.c != nil {
		cv.m.saveCasePDF(cv.c)
	}
}

// Attachments. The sender's file name is never used as a path: the file
// goes to a folder named by its hash, under a cleaned name.

func safeFileName(name string) string { return app.SafeFileName(name) }

func (cv *caseView) onOpenAttachment(a app.Attachment) {
	dir := filepath.Join(cv.m.o.Paths.CacheDir, "anlagen", a.SHA256)
	var path string
	cv.m.do(func(ctx context.Context) error {
		data, err := cv.m.store.AttachmentData(ctx, a.SHA256)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("open attachment: %w", err)
		}
		path = filepath.Join(dir, safeFileName(a.Name))
		return os.WriteFile(path, data, 0o600)
	}, func(err error) {
		if err != nil {
			cv.m.showError(err)
			return
		}
		u, err := fileURL(path)
		if err == nil {
			err = cv.m.a.OpenURL(u)
		}
		if err != nil {
			cv.m.showMessage(lang.L("Anlage"), lang.L("Die Anlage liegt unter {{.Path}}; sie ließ sich nicht direkt öffnen.", map[string]any{"Path": path}))
		}
	})
}

func (cv *caseView) onSaveAttachment(a app.Attachment) {
	m := cv.m
	m.saveFile(lang.L("Anlage speichern"), safeFileName(a.Name), func(ctx context.Context, w io.Writer) error {
		data, err := m.store.AttachmentData(ctx, a.SHA256)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}, nil, func(path string) {
		m.showMessage(lang.L("Gespeichert"), lang.L("Die Anlage ist gespeichert: {{.Path}}", map[string]any{"Path": path}))
	})
}

func fileURL(path string) (*url.URL, error) {
	return url.Parse(storage.NewFileURI(path).String())
}

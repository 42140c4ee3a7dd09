package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// reviewScreen is Zur Sichtung: the mails the sync kept because it did
// not understand them, each with its reason; the clerk reads one and
// assigns it to a case, makes a case of it, or marks it handled — always
// with a reason that is logged.
type reviewScreen struct {
	m           *mainWindow
	items       []app.ReviewItem
	sel         int
	cur         *app.ReviewItem // the selected item with its content
	showHandled bool
	gen         int

	list     *keyList
	empty    *widget.Label
	reason   *widget.Label
	meta     *widget.Label
	content  *widget.Label
	raw      *widget.Check
	assign   *keyButton
	makeCase *keyButton
	handled  *keyButton

	// The open dialog's inputs (tests fill them).
	refEntry  *fieldEntry
	noteEntry *fieldEntry
	dlgError  *widget.Label
	submit    func()
}

func newReviewScreen(m *mainWindow) *reviewScreen { return &reviewScreen{m: m, sel: -1} }

func (s *reviewScreen) buildUI() fyne.CanvasObject {
	s.list = newKeyList(s.m,
		func() int { return len(s.items) },
		func() fyne.CanvasObject {
			t := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			t.Truncation = fyne.TextTruncateEllipsis
			d := widget.NewLabel("")
			d.Truncation = fyne.TextTruncateEllipsis
			return container.NewVBox(t, d)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(s.items) {
				return
			}
			it := &s.items[i]
			box := o.(*fyne.Container)
			t, d := box.Objects[0].(*widget.Label), box.Objects[1].(*widget.Label)
			subject := app.Safe(it.Subject)
			if subject == "" {
				subject = lang.L("(ohne Betreff)")
			}
			t.SetText(subject)
			line := app.FormatDateTime(it.ReceivedAt) + " · " + reasonShort(it.Reason)
			if it.Handled {
				line += " · " + lang.L("erledigt")
				d.Importance = widget.LowImportance
			} else {
				d.Importance = widget.WarningImportance
			}
			d.SetText(line)
		},
	)
	s.list.OnSelected = func(i widget.ListItemID) { s.sel = i; s.loadSelected() }
	s.empty = widget.NewLabel(lang.L("Nichts zur Sichtung – alle Mails wurden verstanden."))
	s.empty.Wrapping = fyne.TextWrapWord
	s.empty.Hide()
	showHandled := widget.NewCheck(lang.L("Erledigte zeigen"), func(b bool) { s.showHandled = b; s.reload() })

	s.reason = widget.NewLabel("")
	s.reason.Wrapping = fyne.TextWrapWord
	s.reason.Importance = widget.WarningImportance
	s.reason.TextStyle = fyne.TextStyle{Bold: true}
	s.meta = widget.NewLabel("")
	s.meta.Wrapping = fyne.TextWrapWord
	s.content = valueLabel("")
	s.raw = widget.NewCheck(lang.L("Quelltext der Mail"), func(bool) { s.showContent() })
	s.assign = newKeyButton(s.m, lang.L("Einem Vorgang zuordnen …"), theme.MailReplyIcon(), s.onAssign)
	s.makeCase = newKeyButton(s.m, lang.L("Als Vorgang anlegen …"), theme.DocumentCreateIcon(), s.onMakeCase)
	s.handled = newKeyButton(s.m, lang.L("Als erledigt markieren …"), theme.ConfirmIcon(), s.onHandled)
	s.showItem()

	left := container.NewBorder(container.NewVBox(heading(lang.L("Mails zur Sichtung")), showHandled), nil, nil, nil,
		container.NewStack(s.list, s.empty))
	actions := container.NewHBox(s.assign, s.makeCase, s.handled, layout.NewSpacer(), s.raw)
	right := container.NewBorder(container.NewVBox(s.reason, s.meta, actions, widget.NewSeparator()), nil, nil, nil,
		container.NewVScroll(s.content))
	split := container.NewHSplit(left, right)
	split.Offset = 0.32
	return split
}

// reasonShort is the first sentence of the reason ("Signatur ungültig").
func reasonShort(r app.ReviewReason) string {
	l := reviewReasonLabel(r)
	if i := strings.Index(l, ":"); i > 0 {
		return l[:i]
	}
	return l
}

func (s *reviewScreen) reload() {
	s.gen++
	gen, all := s.gen, s.showHandled
	keep := int64(0)
	if s.sel >= 0 && s.sel < len(s.items) {
		keep = s.items[s.sel].ID
	}
	s.m.bg.run(func() {
		items, err := s.m.store.ReviewItems(s.m.ctx, all)
		open := 0
		if err == nil && all {
			for _, it := range items {
				if !it.Handled {
					open++
				}
			}
		} else {
			open = len(items)
		}
		s.m.ui(func() {
			if gen != s.gen {
				return
			}
			if err != nil {
				s.reason.SetText(app.ErrorMessage(err))
				return
			}
			for i := range items {
				items[i].Raw = nil // content is read when an item is chosen
			}
			s.items = items
			s.setCount(open)
			s.sel = -1
			s.list.UnselectAll()
			for i := range items {
				if items[i].ID == keep {
					s.sel = i
				}
			}
			s.list.Refresh()
			if s.sel >= 0 {
				s.list.Select(s.sel)
			} else {
				s.cur = nil
				s.showItem()
			}
			if len(items) == 0 {
				s.empty.Show()
			} else {
				s.empty.Hide()
			}
		})
	})
}

// setCount shows the number of open items in the navigation.
func (s *reviewScreen) setCount(n int) {
	tabs := s.m.tabs
	if tabs == nil {
		return
	}
	title := lang.L("Zur Sichtung")
	if n > 0 {
		title = fmt.Sprintf("%s (%d)", title, n)
	}
	for i, sc := range Screens {
		if sc == ScreenReview && tabs.Items[i].Text != title {
			tabs.Items[i].Text = title
			tabs.Refresh()
		}
	}
}

func (s *reviewScreen) loadSelected() {
	if s.sel < 0 || s.sel >= len(s.items) {
		return
	}
	id := s.items[s.sel].ID
	s.m.bg.run(func() {
		it, err := s.m.store.ReviewItem(s.m.ctx, id)
		s.m.ui(func() {
			if err != nil {
				s.m.showError(err)
				return
			}
			if s.sel < 0 || s.sel >= len(s.items) || s.items[s.sel].ID != id {
				return
			}
			s.cur = it
			s.showItem()
		})
	})
}

func (s *reviewScreen) showItem() {
	it := s.cur
	btns := []*keyButton{s.assign, s.makeCase, s.handled}
	if it == nil {
		s.reason.SetText(lang.L("Eine Mail in der Liste wählen."))
		s.meta.SetText("")
		s.content.SetText("")
		for _, b := range btns {
			b.Disable()
		}
		return
	}
	s.reason.SetText(reviewReasonLabel(it.Reason))
	meta := []string{
		lang.L("Von: {{.From}}", map[string]any{"From": app.Safe(it.From)}),
		lang.L("Betreff: {{.Subject}}", map[string]any{"Subject": app.Safe(it.Subject)}),
		lang.L("Eingang: {{.When}} · {{.Size}}", map[string]any{"When": app.FormatDateTime(it.ReceivedAt), "Size": formatSize(it.Size)}),
	}
	if it.PortalCase != "" {
		meta = append(meta, lang.L("Portal-Vorgang: {{.ID}}", map[string]any{"ID": it.PortalCase}))
	}
	if it.Detail != "" {
		meta = append(meta, lang.L("Technisch: {{.Detail}}", map[string]any{"Detail": it.Detail}))
	}
	if it.Handled {
		meta = append(meta, lang.L("Erledigt {{.When}} von {{.Clerk}}: {{.Resolution}} – {{.Note}}", map[string]any{
			"When": app.FormatDateTime(it.HandledAt), "Clerk": it.HandledBy, "Resolution": resolutionText(it.Resolution), "Note": it.Note}))
	}
	s.meta.SetText(strings.Join(meta, "\n"))
	for _, b := range btns {
		if it.Handled {
			b.Disable()
		} else {
			b.Enable()
		}
	}
	s.showContent()
}

func resolutionText(r string) string {
	switch {
	case strings.HasPrefix(r, "assigned:"):
		return lang.L("zugeordnet zu {{.Ref}}", map[string]any{"Ref": strings.TrimPrefix(r, "assigned:")})
	case strings.HasPrefix(r, "case:"):
		return lang.L("als Vorgang {{.Ref}} angelegt", map[string]any{"Ref": strings.TrimPrefix(r, "case:")})
	case r == "handled":
		return lang.L("erledigt")
	}
	return r
}

const maxShownContent = 100000

func (s *reviewScreen) showContent() {
	it := s.cur
	if it == nil {
		return
	}
	var text string
	switch {
	case it.Raw == nil:
		text = lang.L("Der Inhalt wurde nicht geladen (zu groß). Die Mail liegt im Postfach-Ordner „Zur Sichtung“.")
	case s.raw.Checked:
		text = string(it.Raw)
	default:
		text = mailPreview(it.Raw)
	}
	if len(text) > maxShownContent {
		text = text[:maxShownContent] + "\n\n" + lang.L("… (gekürzt)")
	}
	s.content.SetText(text)
}

// Actions, each with a reason that is logged.

// actionDialog asks for a reason (and, with ref, an Aktenzeichen).
func (s *reviewScreen) actionDialog(title, confirm, intro string, withRef bool, ok func(ref, note string)) {
	m := s.m
	s.noteEntry = m.textArea("", 3)
	s.dlgError = newErrorLabel()
	s.refEntry = nil
	introL := widget.NewLabel(intro)
	introL.Wrapping = fyne.TextWrapWord
	items := []fyne.CanvasObject{introL}
	var focus fyne.Focusable = s.noteEntry
	if withRef {
		s.refEntry = m.textEntry(lang.L("Aktenzeichen, z. B. ZEL-2026-00042"))
		s.refEntry.onChanged = func(string) { setError(s.dlgError, "") }
		items = append(items, s.refEntry)
		focus = s.refEntry
	}
	s.noteEntry.onChanged = func(string) { setError(s.dlgError, "") } // a fixed mistake is no longer shown
	items = append(items, widget.NewLabel(lang.L("Begründung (wird protokolliert)")), s.noteEntry, s.dlgError)
	var d *dlg
	s.submit = func() {
		if d != nil {
			d.doOK()
		}
	}
	d = m.openDialog(dialogSpec{title: title, content: container.NewVBox(items...), okLabel: confirm, cancelLabel: lang.L("Abbrechen"),
		size: fyne.NewSize(540, 360), focus: focus,
		dirty: func() bool {
			return strings.TrimSpace(s.noteEntry.Text) != "" || (s.refEntry != nil && strings.TrimSpace(s.refEntry.Text) != "")
		},
		cancel: func() { s.submit = nil },
		ok: func() bool {
			ref := ""
			if s.refEntry != nil {
				ref = strings.ToUpper(strings.TrimSpace(s.refEntry.Text))
				if ref == "" {
					setError(s.dlgError, lang.L("Bitte das Aktenzeichen angeben."))
					return false
				}
			}
			note := strings.TrimSpace(s.noteEntry.Text)
			if note == "" {
				setError(s.dlgError, lang.L("Bitte eine Begründung angeben; sie wird protokolliert."))
				return false
			}
			s.submit = nil
			ok(ref, note)
			return true
		}})
}

func (s *reviewScreen) onAssign() {
	it := s.cur
	if it == nil {
		return
	}
	s.actionDialog(lang.L("Einem Vorgang zuordnen"), lang.L("Zuordnen"),
		lang.L("Die Mail wird beim Vorgang vermerkt und aus der Sichtung genommen."), true,
		func(ref, note string) { s.assignTo(it, ref, note) })
}

// assignTo notes the mail on the case and resolves the item.
func (s *reviewScreen) assignTo(it *app.ReviewItem, ref, note string) {
	by := s.m.actor()
	s.m.do(func(ctx context.Context) error {
		if _, err := s.m.store.CaseByRef(ctx, ref); err != nil {
			if app.ErrorCode(err) == app.ENOTFOUND {
				return app.Errorf(app.ENOTFOUND, "%s", lang.L("Einen Vorgang {{.Ref}} gibt es nicht. Bitte das Aktenzeichen prüfen (Suche: Strg+F).", map[string]any{"Ref": ref}))
			}
			return err
		}
		text := lang.L("Mail aus der Sichtung zugeordnet: „{{.Subject}}“ vom {{.When}}. {{.Note}}", map[string]any{
			"Subject": it.Subject, "When": app.FormatDateTime(it.ReceivedAt), "Note": note})
		if err := s.m.store.AddNote(ctx, ref, text, by); err != nil {
			return err
		}
		return s.m.store.ResolveReview(ctx, it.ID, "assigned:"+ref, note, by)
	}, s.after)
}

func (s *reviewScreen) onMakeCase() {
	it := s.cur
	if it == nil {
		return
	}
	s.actionDialog(lang.L("Als Vorgang anlegen"), lang.L("Weiter zum Schalter"),
		lang.L("Die Angaben werden am Schalter erfasst; nach dem Speichern gilt die Mail als erledigt."), false,
		func(_, note string) { s.toIntake(it, note) })
}

// toIntake opens the counter form with what the mail says (the portal's
// JSON part, unverified when its signature failed; a citizen's own mail:
// sender and service from the subject), the mail beside it. A form with
// unsaved input is not overwritten without asking.
func (s *reviewScreen) toIntake(it *app.ReviewItem, note string) {
	s.m.guard(func() {
		mi := intakeFromMail(s.m.reg, it)
		in := s.m.intake
		s.m.show(ScreenIntake)
		in.onNew()
		in.fill(mi.in)
		in.setReview(it, note)
		if mi.fromJSON && (it.Reason == app.ReviewSignatureInvalid || it.Reason == app.ReviewSignatureMissing) {
			in.bannerL.SetText(in.bannerL.Text + "\n" + lang.L("Die Angaben stammen aus der Mail und sind ungeprüft (Signatur nicht in Ordnung): bitte mit dem Bürger oder seinen Unterlagen abgleichen."))
		}
	})
}

func (s *reviewScreen) onHandled() {
	it := s.cur
	if it == nil {
		return
	}
	s.actionDialog(lang.L("Als erledigt markieren"), lang.L("Erledigt"),
		lang.L("Die Mail bleibt im Postfach; hier wird sie mit Ihrer Begründung als erledigt vermerkt."), false,
		func(_, note string) { s.resolve(it, "handled", note) })
}

func (s *reviewScreen) resolve(it *app.ReviewItem, resolution, note string) {
	by := s.m.actor()
	s.m.do(func(ctx context.Context) error {
		return s.m.store.ResolveReview(ctx, it.ID, resolution, note, by)
	}, s.after)
}

func (s *reviewScreen) after(err error) {
	if err != nil {
		s.m.showError(err)
	}
	s.reload()
}

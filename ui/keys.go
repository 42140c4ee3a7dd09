package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The keyboard. Fyne gives a key to the focused widget only (or, with
// nothing focused, to the canvas); a key the widget does not use is lost.
// So the widgets of the window hand Esc and Enter they do not use to
// routeKey: Esc cancels the dialog on top (or leaves an open case), Enter
// confirms the dialog's default button.

// routeKey handles Esc and Enter for the window; it reports whether it did.
func (m *mainWindow) routeKey(ev *fyne.KeyEvent) bool {
	switch ev.Name {
	case fyne.KeyEscape:
		if d := m.topDialog(); d != nil {
			d.doCancel()
			return true
		}
		if m.caseView != nil {
			m.back()
			return true
		}
		if m.current() == ScreenQueue && m.w.Canvas().Focused() == m.queue.table {
			m.w.Canvas().Focus(m.queue.search)
			return true
		}
	case fyne.KeyReturn, fyne.KeyEnter:
		if d := m.topDialog(); d != nil {
			d.doEnter()
			return true
		}
	}
	return false
}

// dlg is a dialog of the window: Esc and its cancel button close it, Enter
// and its default button run ok (which may keep it open, e.g. to point
// at a missing reason).
type dlg struct {
	m         *mainWindow
	d         *dialog.CustomDialog
	ok        func() bool // nil: the default button only closes
	cancel    func()      // optional, after closing without ok
	dirty     func() bool // optional: unsaved input in the dialog
	okBtn     *keyButton
	cancelBtn *keyButton // nil without cancelLabel
	// enterCancels: Enter presses the cancel button (a question whose
	// safe answer is "no", like discarding input).
	enterCancels bool
	closed       bool
	confirming   bool // its ok runs: its input is being used, not lost
	focus        fyne.Focusable
}

// dialogSpec describes a dialog: its buttons, and which is the default
// (Enter). Without okLabel the dialog has one button, cancelLabel.
type dialogSpec struct {
	title       string
	content     fyne.CanvasObject
	okLabel     string
	cancelLabel string
	ok          func() bool
	cancel      func()
	// dirty reports input the clerk typed and has not used yet: while it
	// does, Esc and the cancel button ask "Ungespeicherte Eingaben
	// verwerfen?" (Zurück the default), and closing the window or Strg+N
	// ask too (mainWindow.unsaved).
	dirty       func() bool
	size        fyne.Size
	focus       fyne.Focusable // gets the focus when shown
	defaultBack bool           // Enter presses the cancel button (a question whose safe answer is "no")
}

// openDialog shows a dialog on top of the window.
func (m *mainWindow) openDialog(sp dialogSpec) *dlg {
	d := &dlg{m: m, ok: sp.ok, cancel: sp.cancel, dirty: sp.dirty, focus: sp.focus}
	var buttons []fyne.CanvasObject
	buttons = append(buttons, layout.NewSpacer())
	if sp.cancelLabel != "" {
		icon := theme.CancelIcon()
		if sp.okLabel == "" {
			icon = theme.ConfirmIcon()
		}
		cb := newKeyButton(m, sp.cancelLabel, icon, d.doCancel)
		d.cancelBtn = cb
		if sp.okLabel == "" || sp.defaultBack {
			cb.Importance = widget.HighImportance
		}
		buttons = append(buttons, cb)
		if sp.okLabel == "" {
			d.okBtn = cb
		}
	}
	if sp.okLabel != "" {
		d.okBtn = newKeyButton(m, sp.okLabel, theme.ConfirmIcon(), d.doOK)
		if !sp.defaultBack {
			d.okBtn.Importance = widget.HighImportance
		}
		buttons = append(buttons, d.okBtn)
	}
	d.enterCancels = sp.defaultBack
	body := container.NewBorder(nil, container.NewHBox(buttons...), nil, nil, sp.content)
	d.d = dialog.NewCustomWithoutButtons(sp.title, body, m.w)
	if !sp.size.IsZero() {
		d.d.Resize(sp.size)
	}
	m.dialogs = append(m.dialogs, d)
	m.dlg = d.d
	d.d.Show()
	if sp.focus != nil {
		m.w.Canvas().Focus(sp.focus)
	} else {
		m.w.Canvas().Unfocus() // Esc and Enter reach routeKey
	}
	return d
}

// doEnter presses the default button.
func (d *dlg) doEnter() {
	if d.enterCancels {
		d.doCancel()
		return
	}
	d.doOK()
}

// doOK runs the default action; the dialog closes unless it says no.
func (d *dlg) doOK() {
	if d.closed {
		return
	}
	if d.ok == nil && d.dirty != nil {
		d.doCancel() // the one button closes: input typed is not thrown away unasked
		return
	}
	d.confirming = true
	done := d.ok == nil || d.ok()
	d.confirming = false
	if done {
		d.close()
	}
}

// doCancel closes the dialog without its action.
func (d *dlg) doCancel() {
	if d.closed {
		return
	}
	if d.dirty != nil && d.dirty() {
		m := d.m
		back := m.w.Canvas().Focused()
		m.confirmDiscardOr(func() { d.dirty = nil; d.doCancel() }, func() {
			if back != nil {
				m.w.Canvas().Focus(back)
			}
		})
		return
	}
	d.close()
	if d.cancel != nil {
		d.cancel()
	}
}

func (d *dlg) close() {
	if d.closed {
		return
	}
	d.closed = true
	d.d.Hide()
	m := d.m
	var above []*dlg
	for i, x := range m.dialogs {
		if x == d {
			above = slices.Clone(m.dialogs[i+1:])
			m.dialogs = append(m.dialogs[:i], m.dialogs[i+1:]...)
			break
		}
	}
	// Fyne takes the overlays above a hidden one away with it: a dialog
	// opened by this one's ok (the message after a reason) is shown again.
	for _, x := range above {
		x.d.Hide()
		x.d.Show()
	}
	if n := len(above); n > 0 && above[n-1].focus != nil {
		m.w.Canvas().Focus(above[n-1].focus)
	}
	m.dlg = nil
	if t := m.topDialog(); t != nil {
		m.dlg = t.d
	}
}

func (m *mainWindow) topDialog() *dlg {
	if n := len(m.dialogs); n > 0 {
		return m.dialogs[n-1]
	}
	return nil
}

// closeDialogs closes every dialog without its action.
func (m *mainWindow) closeDialogs() {
	for len(m.dialogs) > 0 {
		m.topDialog().close()
	}
}

// unsaved reports whether something typed would be lost: the counter
// form, or a dialog with input.
func (m *mainWindow) unsaved() bool {
	if m.intake != nil && m.intake.dirty() {
		return true
	}
	for _, d := range m.dialogs {
		if d.dirty != nil && !d.confirming && d.dirty() {
			return true
		}
	}
	return false
}

// confirmDiscard asks before throwing input away; Zurück (the default,
// also Esc) keeps it, Verwerfen runs discard.
func (m *mainWindow) confirmDiscard(discard func()) { m.confirmDiscardOr(discard, nil) }

// confirmDiscardOr is confirmDiscard; back runs after Zurück.
func (m *mainWindow) confirmDiscardOr(discard, back func()) {
	msg := lang.L("Was Sie eingegeben und noch nicht gespeichert haben, geht dabei verloren.")
	m.lastMessage = msg
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	m.openDialog(dialogSpec{title: lang.L("Ungespeicherte Eingaben verwerfen?"), content: l,
		okLabel: lang.L("Verwerfen"), cancelLabel: lang.L("Zurück"), defaultBack: true, size: fyne.NewSize(480, 190),
		ok: func() bool { discard(); return true }, cancel: back})
}

// guard runs fn at once when nothing typed would be lost, else after the
// clerk agreed to discard it (the open dialogs are closed then).
func (m *mainWindow) guard(fn func()) {
	if !m.unsaved() {
		m.closeDialogs()
		fn()
		return
	}
	m.confirmDiscard(func() {
		m.closeDialogs()
		fn()
	})
}

// keyButton is a button that Enter presses too (Space already does) and
// that hands Esc to the window.
type keyButton struct {
	widget.Button
	m *mainWindow
}

func newKeyButton(m *mainWindow, label string, icon fyne.Resource, tapped func()) *keyButton {
	b := &keyButton{m: m}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey implements fyne.Focusable.
func (b *keyButton) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if !b.Disabled() {
			b.Tapped(nil)
		}
	case fyne.KeyEscape:
		b.m.routeKey(ev)
	default:
		b.Button.TypedKey(ev)
	}
}

// keySelect is a select whose Esc and Enter reach the window (Space and
// the arrows open it).
type keySelect struct {
	widget.Select
	m *mainWindow
}

func newKeySelect(m *mainWindow, options []string, changed func(string)) *keySelect {
	s := &keySelect{m: m}
	s.Options, s.OnChanged = options, changed
	s.ExtendBaseWidget(s)
	return s
}

// TypedKey implements fyne.Focusable.
func (s *keySelect) TypedKey(ev *fyne.KeyEvent) {
	if !s.m.routeKey(ev) {
		s.Select.TypedKey(ev)
	}
}

// keyCheck is a check box that says when it gets the focus (the form
// scrolls to it) and hands Esc and Enter to the window.
type keyCheck struct {
	widget.Check
	m       *mainWindow
	onFocus func()
}

func newKeyCheck(m *mainWindow, label string, changed func(bool)) *keyCheck {
	c := &keyCheck{m: m}
	c.Text, c.OnChanged = label, changed
	c.ExtendBaseWidget(c)
	return c
}

// FocusGained implements fyne.Focusable.
func (c *keyCheck) FocusGained() {
	c.Check.FocusGained()
	if c.onFocus != nil {
		c.onFocus()
	}
}

// TypedKey implements fyne.Focusable.
func (c *keyCheck) TypedKey(ev *fyne.KeyEvent) {
	if !c.m.routeKey(ev) {
		c.Check.TypedKey(ev)
	}
}

// keyTable is a table for the keyboard: the arrows move (Fyne's own),
// Enter opens the row under the cursor, Esc goes back (routeKey), and
// Up in the first row hands the focus to up (the search above it).
type keyTable struct {
	widget.Table
	m  *mainWindow
	up fyne.Focusable
}

// newKeyTable is widget.NewTableWithHeaders as a keyTable.
func newKeyTable(m *mainWindow, length func() (int, int), create func() fyne.CanvasObject, update func(widget.TableCellID, fyne.CanvasObject)) *keyTable {
	t := &keyTable{m: m}
	t.Length, t.CreateCell, t.UpdateCell = length, create, update
	t.ShowHeaderRow, t.ShowHeaderColumn = true, true
	t.ExtendBaseWidget(t)
	return t
}

// TypedKey implements fyne.Focusable.
func (t *keyTable) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		t.Table.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace}) // selects the focused cell
	case fyne.KeyEscape:
		if !t.m.routeKey(ev) && t.up != nil {
			t.m.w.Canvas().Focus(t.up)
		}
	default:
		t.Table.TypedKey(ev)
	}
}

// shiftState tracks whether a Shift key is held (glfw tells KeyDown/KeyUp).
type shiftState struct{ down bool }

func (s *shiftState) keyDown(ev *fyne.KeyEvent) {
	if ev.Name == desktop.KeyShiftLeft || ev.Name == desktop.KeyShiftRight {
		s.down = true
	}
}

func (s *shiftState) keyUp(ev *fyne.KeyEvent) {
	if ev.Name == desktop.KeyShiftLeft || ev.Name == desktop.KeyShiftRight {
		s.down = false
	}
}

// keyList is a list for the keyboard: the arrows move (Fyne's own), Enter
// chooses the item under the cursor (as Space does), Esc reaches the
// window.
type keyList struct {
	widget.List
	m *mainWindow
}

func newKeyList(m *mainWindow, length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *keyList {
	l := &keyList{m: m}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

// TypedKey implements fyne.Focusable.
func (l *keyList) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		l.List.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	case fyne.KeyEscape:
		l.m.routeKey(ev)
	default:
		l.List.TypedKey(ev)
	}
}

package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// suggestion is one completion offered under a field.
type suggestion struct {
	Text  string // what the clerk reads
	Value any    // what the pick callback gets
}

const maxSuggestions = 8

// fieldEntry is the entry of the counter forms. It reports when it loses
// focus (so a skipped required field shows its message), and offers
// completions in a list below itself: Up/Down choose, Enter takes one,
// Escape closes the list. Tab with exactly one completion takes it too.
//
// A multi-line fieldEntry is for the keyboard too: Tab moves on (it types
// no tab character), Enter submits like in every other field, Shift+Enter
// or Strg+Enter starts a new line. Esc and an Enter nobody uses go to the
// window (keys), which closes or confirms a dialog.
type fieldEntry struct {
	widget.Entry

	suggest     func(text string) []suggestion
	onPick      func(s suggestion)
	onChanged   func(text string)
	onFocusLost func()
	onFocus     func() // the form scrolls to the field
	onDown      func() // Down with no completion list open (the queue's search: into the rows)
	keys        func(*fyne.KeyEvent) bool
	showOnFocus bool // offer all completions when focused while empty
	shift       shiftState

	list    *fyne.Container // placed under the entry by the form
	items   []suggestion
	sel     int
	focused bool
	picking bool
}

func newFieldEntry(placeholder string) *fieldEntry {
	e := &fieldEntry{list: container.NewVBox()}
	e.ExtendBaseWidget(e)
	e.PlaceHolder = placeholder
	e.list.Hide()
	e.OnChanged = func(s string) {
		if !e.picking {
			e.updateSuggestions(s)
		}
		if e.onChanged != nil {
			e.onChanged(s)
		}
	}
	return e
}

// withList returns the entry with its completion list below it.
func (e *fieldEntry) withList() fyne.CanvasObject {
	if e.suggest == nil {
		return e
	}
	return container.NewVBox(e, e.list)
}

// FocusGained implements fyne.Focusable.
func (e *fieldEntry) FocusGained() {
	e.Entry.FocusGained()
	e.focused = true
	if e.onFocus != nil {
		e.onFocus()
	}
	if e.showOnFocus && e.Text == "" {
		e.updateSuggestions("")
	}
}

// FocusLost implements fyne.Focusable.
func (e *fieldEntry) FocusLost() {
	e.Entry.FocusLost()
	e.focused = false
	if len(e.items) == 1 && e.list.Visible() {
		e.pick(0)
	}
	e.hideSuggestions()
	if e.onFocusLost != nil {
		e.onFocusLost()
	}
}

// TypedKey implements fyne.Focusable: the completion list takes the
// navigation keys while it is open.
func (e *fieldEntry) TypedKey(k *fyne.KeyEvent) {
	if e.list.Visible() && len(e.items) > 0 {
		switch k.Name {
		case fyne.KeyDown:
			e.setSel(min(e.sel+1, len(e.items)-1))
			return
		case fyne.KeyUp:
			e.setSel(max(e.sel-1, 0))
			return
		case fyne.KeyReturn, fyne.KeyEnter:
			if e.sel >= 0 {
				e.pick(e.sel)
				return
			}
		case fyne.KeyEscape:
			e.hideSuggestions()
			return
		}
	}
	switch k.Name {
	case fyne.KeyEscape:
		if e.keys != nil && e.keys(k) {
			return
		}
	case fyne.KeyDown:
		if e.onDown != nil && !e.MultiLine {
			e.onDown()
			return
		}
	case fyne.KeyReturn, fyne.KeyEnter:
		if e.MultiLine {
			if e.shift.down {
				e.newline()
				return
			}
			e.submit()
			return
		}
		if e.OnSubmitted == nil && e.keys != nil && e.keys(k) {
			return
		}
	}
	e.Entry.TypedKey(k)
}

// submit is Enter: OnSubmitted, else the window's Enter (a dialog's
// default button).
func (e *fieldEntry) submit() {
	if e.OnSubmitted != nil {
		e.OnSubmitted(e.Text)
		return
	}
	if e.keys != nil {
		e.keys(&fyne.KeyEvent{Name: fyne.KeyReturn})
	}
}

// newline types a line break into a multi-line entry.
func (e *fieldEntry) newline() {
	sub := e.OnSubmitted
	e.OnSubmitted = nil // Fyne would submit while Shift is held
	e.Entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	e.OnSubmitted = sub
}

// AcceptsTab implements fyne.Tabbable: Tab always moves to the next field.
func (e *fieldEntry) AcceptsTab() bool { return false }

// KeyDown implements desktop.Keyable (Shift for Shift+Enter).
func (e *fieldEntry) KeyDown(k *fyne.KeyEvent) {
	e.shift.keyDown(k)
	e.Entry.KeyDown(k)
}

// KeyUp implements desktop.Keyable.
func (e *fieldEntry) KeyUp(k *fyne.KeyEvent) {
	e.shift.keyUp(k)
	e.Entry.KeyUp(k)
}

// TypedShortcut implements fyne.Shortcutable: Strg+Enter is a new line
// in a multi-line entry.
func (e *fieldEntry) TypedShortcut(sc fyne.Shortcut) {
	if c, ok := sc.(*desktop.CustomShortcut); ok && e.MultiLine && (c.KeyName == fyne.KeyReturn || c.KeyName == fyne.KeyEnter) {
		e.newline()
		return
	}
	e.Entry.TypedShortcut(sc)
}

// setTextQuiet sets the text without opening the completion list.
func (e *fieldEntry) setTextQuiet(s string) {
	e.picking = true
	e.SetText(s)
	e.picking = false
}

func (e *fieldEntry) updateSuggestions(text string) {
	if e.suggest == nil || !e.focused {
		return
	}
	e.items = e.suggest(text)
	if len(e.items) > maxSuggestions {
		e.items = e.items[:maxSuggestions]
	}
	e.sel = 0
	e.renderList()
}

func (e *fieldEntry) renderList() {
	objs := make([]fyne.CanvasObject, len(e.items))
	for i, it := range e.items {
		i := i
		objs[i] = newSuggestRow(it.Text, i == e.sel, func() { e.pick(i) })
	}
	e.list.Objects = objs
	if len(objs) == 0 {
		e.list.Hide()
	} else {
		e.list.Show()
	}
	e.list.Refresh()
}

func (e *fieldEntry) setSel(i int) {
	e.sel = i
	e.renderList()
}

func (e *fieldEntry) pick(i int) {
	if i < 0 || i >= len(e.items) {
		return
	}
	s := e.items[i]
	e.hideSuggestions()
	if e.onPick != nil {
		e.picking = true
		e.onPick(s)
		e.picking = false
	}
}

func (e *fieldEntry) hideSuggestions() {
	e.items = nil
	if e.list.Visible() {
		e.list.Objects = nil
		e.list.Hide()
	}
}

// suggestRow is one line of a completion list; it is not focusable, so it
// does not get in the way of Tab, and reacts to the mouse press (before the
// entry loses focus) or a tap.
type suggestRow struct {
	widget.BaseWidget
	text     string
	selected bool
	onPick   func()
	done     bool
}

func newSuggestRow(text string, selected bool, onPick func()) *suggestRow {
	r := &suggestRow{text: text, selected: selected, onPick: onPick}
	r.ExtendBaseWidget(r)
	return r
}

func (r *suggestRow) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(color.Transparent)
	if r.selected {
		bg.FillColor = theme.Color(theme.ColorNameSelection)
	}
	l := widget.NewLabel(r.text)
	l.Truncation = fyne.TextTruncateEllipsis
	return widget.NewSimpleRenderer(container.NewStack(bg, l))
}

func (r *suggestRow) fire() {
	if !r.done {
		r.done = true
		r.onPick()
	}
}

// Tapped implements fyne.Tappable.
func (r *suggestRow) Tapped(*fyne.PointEvent) { r.fire() }

// MouseDown implements desktop.Mouseable.
func (r *suggestRow) MouseDown(*desktop.MouseEvent) { r.fire() }

// MouseUp implements desktop.Mouseable.
func (r *suggestRow) MouseUp(*desktop.MouseEvent) {}

// errorLabel is the German message under a field; hidden while empty.
func newErrorLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

func setError(l *widget.Label, msg string) {
	if msg == l.Text && (msg == "") == !l.Visible() {
		return
	}
	l.SetText(msg)
	if msg == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// heading is a bold section title.
func heading(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// valueLabel is a selectable, wrapping label for read-only values.
func valueLabel(text string) *widget.Label {
	l := widget.NewLabel(app.SafeText(text)) // signed text shown neutralised
	l.Wrapping = fyne.TextWrapWord
	l.Selectable = true
	return l
}

// scrollIntoView scrolls sc so that o (inside it) is visible, with a
// little room above.
func scrollIntoView(sc *container.Scroll, o fyne.CanvasObject) {
	if sc == nil || sc.Content == nil {
		return
	}
	// The content may not be laid out yet for fields just added.
	if min := sc.Content.MinSize(); sc.Content.Size().Height < min.Height {
		sc.Content.Resize(fyne.NewSize(max(sc.Content.Size().Width, min.Width), min.Height))
	}
	d := fyne.CurrentApp().Driver()
	y := d.AbsolutePositionForObject(o).Y - d.AbsolutePositionForObject(sc.Content).Y
	top, h := sc.Offset.Y, sc.Size().Height
	switch {
	case y < top:
		sc.Offset.Y = max(0, y-40)
	case y+o.Size().Height > top+h:
		sc.Offset.Y = y + o.Size().Height - h + 60
	default:
		return
	}
	sc.Refresh()
}

// leadFixed lays out two objects in a row: the first with a fixed width,
// the second taking the rest. Unlike a border layout it keeps the order,
// so Tab goes from the first to the second.
type leadFixed struct{ width float32 }

func (l leadFixed) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	if len(objs) != 2 {
		return
	}
	pad := theme.Padding()
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(fyne.NewSize(l.width, size.Height))
	objs[1].Move(fyne.NewPos(l.width+pad, 0))
	objs[1].Resize(fyne.NewSize(size.Width-l.width-pad, size.Height))
}

func (l leadFixed) MinSize(objs []fyne.CanvasObject) fyne.Size {
	if len(objs) != 2 {
		return fyne.Size{}
	}
	a, b := objs[0].MinSize(), objs[1].MinSize()
	return fyne.NewSize(l.width+theme.Padding()+b.Width, max(a.Height, b.Height))
}

// postcodePlace puts a postcode and a place entry in one row.
func postcodePlace(plz, ort fyne.CanvasObject) *fyne.Container {
	return container.New(leadFixed{110}, plz, ort)
}

// textEntry is a one-line entry of a dialog or screen: Enter and Esc reach
// the window when nothing else uses them.
func (m *mainWindow) textEntry(placeholder string) *fieldEntry {
	e := newFieldEntry(placeholder)
	e.keys = m.routeKey
	return e
}

// textArea is a multi-line entry (notes, reasons, lists): Tab moves on,
// Enter submits, Shift+Enter or Strg+Enter is a new line (the
// placeholder says so).
func (m *mainWindow) textArea(placeholder string, rows int) *fieldEntry {
	e := m.textEntry(withNewlineHint(placeholder))
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetMinRowsVisible(rows)
	return e
}

// withNewlineHint adds how to start a new line to a placeholder.
func withNewlineHint(placeholder string) string {
	hint := lang.L("neue Zeile: Umschalt+Enter oder Strg+Enter")
	if placeholder == "" {
		return hint
	}
	return placeholder + " (" + hint + ")"
}

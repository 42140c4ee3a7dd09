package ui

import (
	"context"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// Preference keys (fyne Preferences, per user and PC).
const (
	prefOffice    = "office"
	prefClerkSign = "clerk.sign"
	prefClerkName = "clerk.name"
	prefLanguage  = "language"
)

// mainWindow is the frame: navigation, who is working, the sync bar, and
// the place where an open case is shown.
type mainWindow struct {
	ctx   context.Context
	a     fyne.App
	w     fyne.Window
	o     Options
	reg   *app.Registry
	store Store
	print Printer
	bg    *background
	long  *background // work as long as the window is open (the change feed)
	log   *slog.Logger
	now   func() time.Time

	tabs *container.AppTabs
	body *fyne.Container
	who  *widget.Label
	sync *syncBar
	live live
	// awayUI is the queue's place while the server is away (away.go).
	awayUI awayScreen

	queue        *queueScreen
	intake       *intakeScreen
	appointments *appointmentsScreen
	review       *reviewScreen
	search       *searchScreen
	settings     *settingsScreen
	outbox       *outboxScreen
	caseView     *caseView
	auditView    *auditView
	personExport *personExport

	post        func(func())  // hands a function to the UI goroutine (fyne.Do)
	dlg         dialog.Dialog // the dialog on screen, if any
	dialogs     []*dlg        // the open dialogs, the top one last
	lastMessage string        // text of the last message shown (tests read it)

	// pending are the changes to cases kept on this PC while the server
	// was away, waiting to be written (offline_actions.go), by reference.
	pending     map[string][]app.OfflineAction
	refusedActs map[string][]string // the German reasons of those not done, by reference
	offlineDlg  *dlg                // the list of what this PC keeps, while open
	offlineBox  *fyne.Container     // its rows (tests tap its buttons)
}

func newMainWindow(ctx context.Context, a fyne.App, w fyne.Window, o Options) *mainWindow {
	m := &mainWindow{ctx: ctx, a: a, w: w, o: o, reg: o.Registry, store: o.Store, print: o.Printer,
		bg: &background{}, long: &background{}, log: o.logger(), now: time.Now, post: fyne.Do}
	if m.print == nil {
		m.print = defaultPrinter(o)
	}
	m.sync = newSyncBar(m)
	m.queue = newQueueScreen(m)
	m.intake = newIntakeScreen(m)
	m.appointments = newAppointmentsScreen(m)
	m.review = newReviewScreen(m)
	m.search = newSearchScreen(m)
	m.settings = newSettingsScreen(m)
	m.outbox = newOutboxScreen(m)
	return m
}

func (m *mainWindow) buildUI() fyne.CanvasObject {
	if m.away() {
		return m.buildAwayUI()
	}
	change := widget.NewButtonWithIcon(lang.L("Dienststelle wechseln"), theme.AccountIcon(), m.chooseOffice)
	change.Importance = widget.LowImportance
	if m.fixedOffice() {
		change.Hide() // the office comes with the role
	}
	return m.frame(change, m.sync.buildUI(),
		container.NewTabItemWithIcon(lang.L("Arbeitsvorrat"), theme.ListIcon(), m.queue.buildUI()),
		container.NewTabItemWithIcon(lang.L("Schalter"), theme.DocumentCreateIcon(), m.intake.ui()),
		container.NewTabItemWithIcon(lang.L("Termine"), theme.HistoryIcon(), m.appointments.buildUI()),
		container.NewTabItemWithIcon(lang.L("Zur Sichtung"), theme.MailComposeIcon(), m.review.buildUI()),
		container.NewTabItemWithIcon(lang.L("Suche"), theme.SearchIcon(), m.search.buildUI()),
		container.NewTabItemWithIcon(lang.L("Einstellungen"), theme.SettingsIcon(), m.settings.buildUI()),
		container.NewTabItemWithIcon(lang.L("Rückmeldungen"), theme.MailSendIcon(), m.outbox.buildUI()),
	)
}

// frame is the window around the screens (items, in the order of
// Screens): title, who works and right (nil: nothing) above the banner,
// the screens as tabs on the left, bottom (nil: nothing) below.
func (m *mainWindow) frame(right, bottom fyne.CanvasObject, items ...*container.TabItem) fyne.CanvasObject {
	m.who = widget.NewLabel("")
	m.who.Truncation = fyne.TextTruncateEllipsis
	title := widget.NewLabelWithStyle("Amtstresen", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	header := container.NewBorder(nil, nil, title, right, m.who)
	m.tabs = container.NewAppTabs(items...)
	m.tabs.SetTabLocation(container.TabLocationLeading)
	m.tabs.OnSelected = func(*container.TabItem) { m.onScreenShown(m.current()) }
	m.body = container.NewStack(m.tabs)
	m.updateWho()
	m.w.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) { m.routeKey(ev) })
	return container.NewBorder(container.NewVBox(header, m.buildBanner(), widget.NewSeparator()), bottom, nil, nil, m.body)
}

// start runs once the window is up: asks for the office on first use and
// loads the data.
func (m *mainWindow) start() {
	if m.away() {
		m.startAway()
		return
	}
	if !m.fixedOffice() && (m.office() == "" || m.reg.Office(m.office()) == nil) {
		m.chooseOffice()
	}
	m.queue.resetFilter()
	m.review.reload()
	m.sync.refreshState()
	m.watchChanges()
	m.watchOffline()
	if check := m.o.Check; check != nil {
		m.bg.run(func() {
			if err := check(m.ctx); err != nil && m.ctx.Err() == nil {
				m.ui(func() { m.showCheckFailed(err) })
			}
		})
	}
}

// showCheckFailed replaces the work with the message of a failed database
// check (with the way to restore): nobody goes on working on a damaged file.
func (m *mainWindow) showCheckFailed(err error) {
	title := lang.L("Datenbank nicht prüfbar")
	if app.ErrorCode(err) == app.ECORRUPT {
		title = lang.L("Datenbank beschädigt")
	}
	m.w.SetMainMenu(nil)
	m.w.SetContent(startupMessage(title, app.ErrorMessage(err), m.a.Quit))
}

func (m *mainWindow) mainMenu() *fyne.MainMenu {
	sc := func(k fyne.KeyName, mod fyne.KeyModifier) fyne.Shortcut {
		return &desktop.CustomShortcut{KeyName: k, Modifier: mod}
	}
	ctrl := fyne.KeyModifierShortcutDefault
	item := func(label string, s fyne.Shortcut, fn func()) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, fn)
		it.Shortcut = s
		return it
	}
	// Away from the server (away.go) only the queue's place and the
	// intake are there, and nothing to sync or search.
	away := m.away()
	var views []*fyne.MenuItem
	keys := []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4, fyne.Key5, fyne.Key6, fyne.Key7}
	for i, s := range Screens {
		if away && s != ScreenQueue && s != ScreenIntake {
			continue
		}
		views = append(views, item(m.screenTitle(s), sc(keys[i], ctrl), func() { m.show(s) }))
	}
	views = append(views, fyne.NewMenuItemSeparator(), item(lang.L("Zurück"), sc(fyne.KeyLeft, fyne.KeyModifierAlt), m.back))
	// Beenden asks before unsaved input is lost (Fyne's own Quit item
	// would end the program at once).
	quit := item(lang.L("Beenden"), sc(fyne.KeyQ, ctrl), m.quit)
	quit.IsQuit = true
	file := []*fyne.MenuItem{
		item(lang.L("Jetzt synchronisieren"), sc(fyne.KeyS, ctrl|fyne.KeyModifierShift), m.sync.onSyncNow),
		item(lang.L("Dienststelle wechseln"), nil, m.chooseOffice),
		fyne.NewMenuItemSeparator(),
		quit,
	}
	work := []*fyne.MenuItem{
		item(lang.L("Neuer Schaltervorgang"), sc(fyne.KeyN, ctrl), m.newWalkIn),
		item(lang.L("Speichern und Quittung drucken"), sc(fyne.KeyS, ctrl), func() {
			if m.current() == ScreenIntake && m.caseView == nil {
				m.intake.onSave()
			}
		}),
		item(lang.L("Suchen"), sc(fyne.KeyF, ctrl), m.onFind),
		item(lang.L("Aktualisieren"), sc(fyne.KeyR, ctrl), m.refresh),
	}
	if away {
		file = file[3:]
		work = []*fyne.MenuItem{work[0], work[1], item(lang.L("Jetzt mit dem Server verbinden"), sc(fyne.KeyR, ctrl), m.refresh)}
	}
	return fyne.NewMainMenu(
		fyne.NewMenu(lang.L("Datei"), file...),
		fyne.NewMenu(lang.L("Ansicht"), views...),
		fyne.NewMenu(lang.L("Vorgang"), work...),
		fyne.NewMenu(lang.L("Hilfe"),
			fyne.NewMenuItem(lang.L("Tastenkürzel"), m.showShortcuts),
			fyne.NewMenuItem(lang.L("Über Amtstresen"), func() {
				m.showMessage(lang.L("Über Amtstresen"), "Amtstresen "+m.o.Version+"\n"+
					lang.L("Kreisverwaltung Cochem-Zell und Verbandsgemeinden Cochem, Kaisersesch, Ulmen, Zell (Mosel)"))
			}),
		),
	)
}

// newWalkIn is Strg+N: the empty counter form, after asking when input
// would be lost.
func (m *mainWindow) newWalkIn() { m.guard(func() { m.show(ScreenIntake); m.intake.onNew() }) }

func (m *mainWindow) showShortcuts() {
	m.showMessage(lang.L("Tastenkürzel"), strings.Join([]string{
		lang.L("Strg+1 … Strg+7: Arbeitsvorrat, Schalter, Termine, Zur Sichtung, Suche, Einstellungen, Rückmeldungen"),
		lang.L("Strg+N: neuer Schaltervorgang · Strg+S oder Enter: speichern und Quittung drucken"),
		lang.L("Strg+F: suchen · Strg+R: aktualisieren · Alt+← oder Esc: zurück · Strg+Q: beenden"),
		lang.L("Tab: nächstes Feld · ↑/↓ und Enter: Vorschlag übernehmen · Esc: Vorschläge schließen"),
		lang.L("Mehrzeilige Felder: Umschalt+Enter oder Strg+Enter für eine neue Zeile"),
		lang.L("Arbeitsvorrat: ↓ aus der Suche in die Liste, ↑/↓ wählen, Enter öffnen, Esc zurück"),
		lang.L("Dialoge: Enter bestätigt, Esc bricht ab"),
		lang.L("Strg+Umschalt+S: jetzt synchronisieren"),
	}, "\n"))
}

func (m *mainWindow) screenTitle(s Screen) string {
	switch s {
	case ScreenQueue:
		return lang.L("Arbeitsvorrat")
	case ScreenIntake:
		return lang.L("Schalter")
	case ScreenAppointments:
		return lang.L("Termine")
	case ScreenReview:
		return lang.L("Zur Sichtung")
	case ScreenSearch:
		return lang.L("Suche")
	case ScreenSettings:
		return lang.L("Einstellungen")
	case ScreenOutbox:
		return lang.L("Rückmeldungen")
	}
	return string(s)
}

// current returns the selected screen.
func (m *mainWindow) current() Screen {
	if i := m.tabs.SelectedIndex(); i >= 0 && i < len(Screens) {
		return Screens[i]
	}
	return ScreenQueue
}

// show switches to a screen, closing an open case.
func (m *mainWindow) show(s Screen) {
	if m.away() && s != ScreenQueue && s != ScreenIntake {
		return // not there before the server is reached
	}
	m.closeCase()
	for i, x := range Screens {
		if x == s {
			if m.tabs.SelectedIndex() == i {
				m.onScreenShown(s)
			} else {
				m.tabs.SelectIndex(i)
			}
		}
	}
}

// onScreenShown refreshes what a screen shows when the clerk comes to it.
func (m *mainWindow) onScreenShown(s Screen) {
	if m.away() {
		if s == ScreenIntake {
			m.intake.focusFirst()
		}
		return
	}
	switch s {
	case ScreenQueue:
		m.queue.reload()
	case ScreenIntake:
		m.intake.focusFirst()
	case ScreenAppointments:
		m.appointments.reload()
	case ScreenReview:
		m.review.reload()
	case ScreenSearch:
		m.w.Canvas().Focus(m.search.entry)
	case ScreenOutbox:
		m.outbox.reload()
	}
}

// quit ends the program (window closed, Datei → Beenden), after asking
// when something typed would be lost.
func (m *mainWindow) quit() {
	m.guard(func() {
		m.saveWindowSize()
		m.a.Quit()
	})
}

// The window remembers its size (per user and PC).
const (
	prefWindowW = "window.width"
	prefWindowH = "window.height"
)

// windowSize is the size the window had when it was last closed, at
// least the default 1280×800 fits on the screen everything needs.
func (m *mainWindow) windowSize() fyne.Size {
	p := m.a.Preferences()
	w, h := float32(p.FloatWithFallback(prefWindowW, 1280)), float32(p.FloatWithFallback(prefWindowH, 800))
	return fyne.NewSize(max(w, 800), max(h, 560))
}

func (m *mainWindow) saveWindowSize() {
	if sz := m.w.Canvas().Size(); sz.Width >= 400 && sz.Height >= 300 {
		m.a.Preferences().SetFloat(prefWindowW, float64(sz.Width))
		m.a.Preferences().SetFloat(prefWindowH, float64(sz.Height))
	}
}

func (m *mainWindow) refresh() {
	if m.away() {
		m.connectNow()
		return
	}
	if m.caseView != nil {
		m.caseView.load()
		return
	}
	m.onScreenShown(m.current())
}

func (m *mainWindow) onFind() {
	if m.away() {
		return
	}
	if m.current() == ScreenQueue && m.caseView == nil {
		m.w.Canvas().Focus(m.queue.search)
		return
	}
	m.show(ScreenSearch)
}

// openCase shows a case in place of the screens; back returns to them.
func (m *mainWindow) openCase(ref string) {
	cv := newCaseView(m, ref)
	m.caseView = cv
	m.body.Objects = []fyne.CanvasObject{cv.buildUI()}
	m.body.Refresh()
	cv.load()
}

func (m *mainWindow) closeCase() {
	if m.caseView == nil {
		return
	}
	m.caseView = nil
	m.body.Objects = []fyne.CanvasObject{m.tabs}
	m.body.Refresh()
}

// back leaves the open case and shows the screen it came from, refreshed.
func (m *mainWindow) back() {
	if m.caseView == nil {
		return
	}
	m.closeCase()
	m.onScreenShown(m.current())
	switch m.current() { // back where the case was opened; Esc again goes to the search
	case ScreenQueue:
		m.w.Canvas().Focus(m.queue.table)
	case ScreenSearch:
		m.w.Canvas().Focus(m.search.table)
	}
}

// The clerk.

func (m *mainWindow) office() app.OfficeKey {
	if m.fixedOffice() {
		return m.o.Actor.Office
	}
	return app.OfficeKey(m.a.Preferences().String(prefOffice))
}

// clerkSign is the account under access control (what the store records
// anyway), else the sign from the preferences.
func (m *mainWindow) clerkSign() string {
	if m.controlled() || m.away() {
		return m.o.Actor.Clerk
	}
	return m.a.Preferences().StringWithFallback(prefClerkSign, osUser())
}

func (m *mainWindow) clerkName() string {
	if n := m.displayName(); n != "" {
		return n
	}
	return m.clerkSign()
}

// actor is who the window's changes are made by. Under access control it
// is the signed-in actor (the store refuses any other), with the display
// name; an administrator's office chosen in the window is where they
// work (the queue's filter, the letterhead), not a different actor.
// Without access control (tests) it comes from the preferences.
func (m *mainWindow) actor() app.Actor {
	if m.controlled() || m.away() {
		a := m.o.Actor
		a.Name = m.displayName()
		if m.away() { // the role and its office are not known yet
			a.Office = m.office()
		}
		return a
	}
	return app.Actor{Clerk: m.clerkSign(), Office: m.office(), Name: m.displayName()}
}

// displayName is the clerk's name for the history: the one given at the
// first start (or by the administration with the role), "" when only the
// account is known.
func (m *mainWindow) displayName() string {
	if n := strings.TrimSpace(m.a.Preferences().String(prefClerkName)); n != "" {
		return n
	}
	return m.o.Actor.Name
}

// clerkLabel is how the history names a clerk: the display name where it
// is known ("Maria Müller"), else the account.
func (m *mainWindow) clerkLabel(account, name string) string {
	switch {
	case name != "":
		return name
	case account == m.clerkSign() && m.displayName() != "":
		return m.displayName()
	}
	return account
}

// osUser returns the login name without a Windows domain.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		name := u.Username
		if i := strings.LastIndexByte(name, '\\'); i >= 0 {
			name = name[i+1:]
		}
		return name
	}
	for _, k := range []string{"USER", "USERNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "unbekannt"
}

func (m *mainWindow) updateWho() {
	if m.who == nil {
		return
	}
	office := lang.L("keine Dienststelle gewählt")
	if o := m.reg.Office(m.office()); o != nil {
		office = o.Name
	}
	m.who.SetText(lang.L("{{.Office}} · {{.Name}} ({{.Sign}})", map[string]any{
		"Office": office, "Name": m.clerkName(), "Sign": m.clerkSign()}))
}

// setClerk stores office and clerk and refreshes what depends on them.
func (m *mainWindow) setClerk(office app.OfficeKey, name, sign string) {
	p := m.a.Preferences()
	p.SetString(prefOffice, string(office))
	p.SetString(prefClerkName, strings.TrimSpace(name))
	p.SetString(prefClerkSign, strings.TrimSpace(sign))
	m.updateWho()
	m.settings.load()
	m.queue.resetFilter()
	m.appointments.resetOffice()
}

// chooseOffice asks which office the clerk works for (first start, or
// "Dienststelle wechseln"); the answer is remembered.
func (m *mainWindow) chooseOffice() {
	var names []string
	for _, o := range m.reg.Offices {
		names = append(names, o.Name)
	}
	sel := newKeySelect(m, names, nil)
	sel.PlaceHolder = lang.L("(bitte wählen)")
	if o := m.reg.Office(m.office()); o != nil {
		sel.SetSelected(o.Name)
	}
	name := m.textEntry("")
	name.SetText(m.clerkName())
	sign := m.textEntry("")
	sign.SetText(m.clerkSign())
	if m.controlled() {
		sign.Disable()
	}
	msg := newErrorLabel()
	form := widget.NewForm(
		widget.NewFormItem(lang.L("Dienststelle"), sel),
		widget.NewFormItem(lang.L("Name"), name),
		widget.NewFormItem(lang.L("Kürzel"), sign),
	)
	intro := widget.NewLabel(lang.L("Für welche Dienststelle arbeiten Sie an diesem Platz? Die Wahl wird gespeichert und kann jederzeit geändert werden."))
	intro.Wrapping = fyne.TextWrapWord
	was := [3]string{sel.Selected, name.Text, sign.Text}
	m.openDialog(dialogSpec{title: lang.L("Dienststelle wählen"), content: container.NewVBox(intro, form, msg),
		okLabel: lang.L("Weiter"), size: fyne.NewSize(560, 340), focus: sel,
		dirty: func() bool { return [3]string{sel.Selected, name.Text, sign.Text} != was },
		ok: func() bool {
			if sel.SelectedIndex() < 0 {
				setError(msg, lang.L("Bitte die Dienststelle wählen, für die Sie arbeiten."))
				return false
			}
			if strings.TrimSpace(sign.Text) == "" {
				setError(msg, lang.L("Bitte ein Kürzel angeben; es steht im Verlauf jedes Vorgangs."))
				return false
			}
			m.setClerk(m.reg.Offices[sel.SelectedIndex()].Key, name.Text, sign.Text)
			return true
		}})
}

// Messages.

// showMessage shows a German message the clerk confirms with OK (Enter
// or Esc).
func (m *mainWindow) showMessage(title, msg string) {
	m.lastMessage = msg
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	m.openDialog(dialogSpec{title: title, content: l, cancelLabel: lang.L("OK"), size: fyne.NewSize(520, 200)})
}

// showError tells the clerk what went wrong and what to do; technical
// details go to the log only.
func (m *mainWindow) showError(err error) {
	if app.ErrorCode(err) == app.EINTERNAL {
		m.log.Error("action failed", "err", err)
	}
	m.showMessage(lang.L("Nicht möglich"), app.ErrorMessage(err))
}

// confirm asks a yes/no question; Enter says yes, Esc no.
func (m *mainWindow) confirm(title, msg, yes string, fn func()) { m.ask(title, msg, yes, false, fn) }

// confirmIrreversible asks before what the clerk cannot undo: Enter and Esc
// say no, yes must be chosen.
func (m *mainWindow) confirmIrreversible(title, msg, yes string, fn func()) {
	m.ask(title, msg, yes, true, fn)
}

func (m *mainWindow) ask(title, msg, yes string, safeDefault bool, fn func()) {
	m.lastMessage = msg
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	m.openDialog(dialogSpec{title: title, content: l, okLabel: yes, cancelLabel: lang.L("Abbrechen"), size: fyne.NewSize(520, 220),
		defaultBack: safeDefault, ok: func() bool { fn(); return true }})
}

// do runs fn in the background and hands its error to the UI goroutine.
func (m *mainWindow) do(fn func(ctx context.Context) error, then func(err error)) {
	m.bg.run(func() {
		err := fn(m.ctx)
		m.ui(func() { then(err) })
	})
}

// ui runs fn on the UI goroutine; background work reaches widgets only
// through it.
func (m *mainWindow) ui(fn func()) { m.post(fn) }

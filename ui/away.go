package ui

import (
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// Away from the server at the start (Options.Connect): the database server
// was unreachable when the window opened. The window is then a counter
// for walk-in applications only: the intake keeps them in the offline
// outbox (offline.go) under a provisional reference, and where the queue
// would be it says why there is no queue and lists what waits. This PC
// holds no copy of the office's cases (data protection), so there is no
// stale queue to show. Connect is tried every connectRetry (and at once
// with Strg+R); when it succeeds the window is built as usual around the
// same intake, its input kept, and the kept applications are written.

// connectRetry is how often the window tries to reach the server.
var connectRetry = 5 * time.Second

// errAway is the error of the store the window does not have yet.
var errAway = &app.Error{Code: app.EUNAVAILABLE, Message: "Der Datenbankserver ist nicht erreichbar. Nichts wurde gespeichert, die Eingaben bleiben im Formular: bitte speichern, sobald die Verbindung wieder steht (Strg+R versucht es sofort)."}

// awayScreen is the queue's place while the server is away.
type awayScreen struct {
	status  *widget.Label // the last try, and a refusal that is not an outage
	entries *widget.Label // the applications kept on this PC
	kick    chan struct{} // Strg+R: try now
	refused string        // the last refusal logged (one line per new reason, not one every few seconds)
}

// away reports whether the window waits for the server (no store yet).
func (m *mainWindow) away() bool { return m.store == nil && m.o.Connect != nil }

// buildAwayUI is the window before the server was reached: who works,
// the banner, the explanation in the queue's place and the intake.
func (m *mainWindow) buildAwayUI() fyne.CanvasObject {
	a := &m.awayUI
	a.kick = make(chan struct{}, 1)
	intro := widget.NewLabel(lang.L("Der Datenbankserver war beim Start dieses Programms nicht erreichbar. Der Arbeitsvorrat erscheint hier, sobald die Verbindung steht: Dieser PC hält aus Datenschutzgründen keine Kopie der Vorgänge der Dienststelle, deshalb gibt es bis dahin nichts anzuzeigen.") +
		"\n\n" + lang.L("Neue Anträge am Tresen (Strg+N) werden auf diesem PC vorgemerkt, die Quittung mit vorläufigem Aktenzeichen gedruckt. Sobald der Server erreichbar ist, werden sie gespeichert und erhalten ihr endgültiges Aktenzeichen; das Programm muss dafür nicht neu gestartet werden, Eingaben bleiben erhalten."))
	intro.Wrapping = fyne.TextWrapWord
	a.status = widget.NewLabel("")
	a.status.Wrapping = fyne.TextWrapWord
	a.entries = widget.NewLabel(lang.L("Auf diesem PC ist kein Antrag vorgemerkt."))
	a.entries.Wrapping = fyne.TextWrapWord
	newBtn := newKeyButton(m, lang.L("Neuer Antrag am Tresen (Strg+N)"), theme.DocumentCreateIcon(), m.newWalkIn)
	newBtn.Importance = widget.HighImportance
	retry := newKeyButton(m, lang.L("Jetzt verbinden (Strg+R)"), theme.ViewRefreshIcon(), m.connectNow)
	panel := container.NewVBox(
		heading(lang.L("Server nicht erreichbar – nur Annahme am Tresen möglich, alles wird nachgetragen")),
		intro,
		container.NewHBox(newBtn, retry),
		a.status,
		widget.NewSeparator(),
		heading(lang.L("Auf diesem PC vorgemerkte Anträge")),
		a.entries,
	)
	return m.frame(nil, nil,
		container.NewTabItemWithIcon(lang.L("Arbeitsvorrat"), theme.ListIcon(), container.NewVScroll(container.NewPadded(panel))),
		container.NewTabItemWithIcon(lang.L("Schalter"), theme.DocumentCreateIcon(), m.intake.ui()),
	)
}

// startAway puts the banner up and tries the server until it answers.
func (m *mainWindow) startAway() {
	m.live.offline, m.live.since = true, m.now()
	m.showOffline(nil)
	m.refreshOfflineCount()
	a := &m.awayUI
	m.long.run(func() {
		for {
			conn, err := m.o.Connect(m.ctx)
			if m.ctx.Err() != nil {
				return
			}
			if err == nil {
				m.ui(func() { m.attach(conn) })
				return
			}
			m.ui(func() { m.connectFailed(err) })
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(connectRetry):
			case <-a.kick:
			}
		}
	})
}

// connectNow tries the server at once (Strg+R, the button).
func (m *mainWindow) connectNow() {
	select {
	case m.awayUI.kick <- struct{}{}:
	default:
	}
}

// connectFailed says when the server was last tried. A refusal that is
// not an outage (a wrong password, an account without a role) is said
// as it is: applications still wait on this PC, but the IT must act.
func (m *mainWindow) connectFailed(err error) {
	a := &m.awayUI
	at := map[string]any{"Time": m.now().Format("15:04:05")}
	if app.Unavailable(err) {
		a.status.Importance = widget.MediumImportance
		a.status.SetText(lang.L("Letzter Verbindungsversuch: {{.Time}} Uhr, Server nicht erreichbar. Es wird alle paar Sekunden neu versucht.", at))
		return
	}
	if msg := app.ErrorMessage(err); msg != a.refused {
		a.refused = msg
		m.log.Error("connect database", "err", err)
	}
	a.status.Importance = widget.DangerImportance
	at["Msg"] = app.ErrorMessage(err)
	a.status.SetText(lang.L("Letzter Verbindungsversuch: {{.Time}} Uhr. Der Server ist erreichbar, hat aber abgelehnt: {{.Msg}}", at))
}

// showAwayEntries lists the applications kept on this PC in the queue's place.
func (m *mainWindow) showAwayEntries(es []app.OfflineEntry) {
	if !m.away() || m.awayUI.entries == nil {
		return
	}
	if len(es) == 0 {
		m.awayUI.entries.SetText(lang.L("Auf diesem PC ist kein Antrag vorgemerkt."))
		return
	}
	m.awayUI.entries.SetText(strings.Join(offlineLines(es), "\n"))
}

// attach takes the store Connect opened: the window is built as usual
// around the intake (its input and the focus stay), the queue loads, and
// what waits on this PC is written (showOnline, watchOffline).
func (m *mainWindow) attach(c *Connection) {
	onIntake := m.current() == ScreenIntake
	focused := m.w.Canvas().Focused()
	m.store, m.o.Store = c.Store, c.Store
	m.o.Messages, m.o.Changes, m.o.Actor, m.o.Setup = c.Messages, c.Changes, c.Actor, c.Setup
	m.w.SetContent(m.buildUI())
	m.w.SetMainMenu(m.mainMenu())
	if onIntake {
		m.tabs.SelectIndex(1)
	}
	m.start()
	m.showOnline()
	if focused != nil {
		m.w.Canvas().Focus(focused)
	}
}

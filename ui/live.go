package ui

import (
	"math/rand/v2"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// Live updates: Options.Changes announces what other counters wrote; the
// window re-reads what it shows through its own store (the announcements
// carry ids and offices only) and says when the server is unreachable.

// liveGap is the least time between two re-reads: with dozens of counters
// at work, announcements come many times a second (each costs a read of
// the announced cases, and sometimes a count: queueScreen.update).
const liveGap = 250 * time.Millisecond

// liveSpread: a window waits up to this long (at random) before it reads
// what was announced, so that the windows of an office do not all ask the
// server in the same instant after each change (with fifty counters every
// claim made ten windows read at once, and whoever worked then waited).
const liveSpread = 150 * time.Millisecond

// backShown is how long "connection back" stays on screen.
const backShown = 10 * time.Second

// reloads says what to re-read.
type reloads struct {
	queue, review, appointments bool
	messages                    bool // messages to citizens: the Rückmeldungen screen
	caseIDs                     []int64
	cases                       []app.FeedEvent // of the queue's offices
	all                         bool
}

func (r *reloads) merge(o reloads) {
	r.queue = r.queue || o.queue
	r.review = r.review || o.review
	r.appointments = r.appointments || o.appointments
	r.messages = r.messages || o.messages
	r.all = r.all || o.all
	r.caseIDs = append(r.caseIDs, o.caseIDs...)
	r.cases = append(r.cases, o.cases...)
}

func (r reloads) empty() bool {
	return !r.queue && !r.review && !r.appointments && !r.messages && !r.all && len(r.caseIDs) == 0
}

// live is the window's state of the change feed (UI goroutine only).
type live struct {
	banner    *fyne.Container
	icon      *widget.Icon
	text      *widget.Label
	offline   bool
	since     time.Time // offline since
	gen       int       // of the banner, so that an old timer does not hide a newer text
	pending   reloads
	scheduled bool
	last      time.Time // of the last re-read
	replaying bool
}

func (m *mainWindow) buildBanner() fyne.CanvasObject {
	l := &m.live
	l.text = widget.NewLabel("")
	l.text.Wrapping = fyne.TextWrapWord
	l.text.TextStyle = fyne.TextStyle{Bold: true}
	l.icon = widget.NewIcon(theme.WarningIcon())
	l.banner = container.NewBorder(nil, nil, l.icon, nil, l.text)
	l.banner.Hide()
	return l.banner
}

// watchChanges runs the feed until the window closes.
func (m *mainWindow) watchChanges() {
	f := m.o.Changes
	if f == nil {
		return
	}
	m.long.run(func() {
		f.Watch(m.ctx, func(cs []app.FeedEvent) { m.ui(func() { m.onChanges(cs) }) })
	})
}

// onChanges takes a batch of the feed.
func (m *mainWindow) onChanges(cs []app.FeedEvent) {
	var r reloads
	for _, c := range cs {
		switch c.Kind {
		case app.FeedOffline:
			m.showOffline(c.Err)
		case app.FeedOnline:
			m.showOnline()
		case app.FeedCase:
			if m.queue.mayShow(c) {
				r.queue = true
				r.cases = append(r.cases, c)
			}
			r.caseIDs = append(r.caseIDs, c.CaseID)
		case app.FeedMessage:
			r.messages = true
			r.caseIDs = append(r.caseIDs, c.CaseID)
		case app.FeedReview:
			r.review = true
		case app.FeedAppointment:
			r.appointments = true
		default:
			r.all = true
		}
	}
	if r.empty() {
		return
	}
	l := &m.live
	l.pending.merge(r)
	if l.scheduled {
		return
	}
	if wait := max(liveGap-time.Since(l.last), time.Duration(rand.Int64N(int64(liveSpread)))); wait > 0 {
		l.scheduled = true
		time.AfterFunc(wait, func() { m.ui(m.applyChanges) })
		return
	}
	m.applyChanges()
}

// applyChanges re-reads what the pending announcements touch.
func (m *mainWindow) applyChanges() {
	l := &m.live
	r := l.pending
	l.pending, l.scheduled, l.last = reloads{}, false, time.Now()
	switch {
	case r.all:
		m.queue.reload()
	case r.queue:
		m.queue.update(r.cases)
	}
	if r.review || r.all {
		m.review.reload()
	}
	if r.appointments || r.all {
		m.appointments.reload()
	}
	if (r.messages || r.all) && m.current() == ScreenOutbox && m.caseView == nil {
		m.outbox.reload()
	}
	if cv := m.caseView; cv != nil && cv.c != nil && (r.all || slices.Contains(r.caseIDs, cv.c.ID)) {
		cv.load()
	}
}

// mayShow reports whether a changed case may be in the queue's filter.
func (q *queueScreen) mayShow(c app.FeedEvent) bool {
	offices := q.filter.Offices
	return len(offices) == 0 || c.Office == "" || c.RoutingOpen || slices.Contains(offices, c.Office)
}

// showOffline puts the banner up: the server is unreachable.
func (m *mainWindow) showOffline(err error) {
	l := &m.live
	if !l.offline {
		l.offline, l.since = true, m.now()
	}
	l.gen++
	text := lang.L("Keine Verbindung zum Datenbankserver (seit {{.Time}} Uhr). Es wird laufend neu verbunden; Änderungen sind erst dann wieder möglich.",
		map[string]any{"Time": l.since.Format("15:04")})
	switch {
	case m.away():
		text = lang.L("Server nicht erreichbar – nur Annahme am Tresen möglich, alles wird nachgetragen")
	case m.o.Offline != nil:
		text = lang.L("Keine Verbindung zum Datenbankserver (seit {{.Time}} Uhr). Neue Schalteranträge (vorläufiges Aktenzeichen) sowie Übernahme, Statusänderung und Notiz an angezeigten Vorgängen werden auf diesem PC vorgemerkt und gespeichert, sobald die Verbindung wieder besteht; andere Änderungen sind bis dahin nicht möglich.",
			map[string]any{"Time": l.since.Format("15:04")})
	}
	l.text.Importance = widget.DangerImportance
	l.icon.SetResource(theme.WarningIcon())
	l.text.SetText(text)
	l.banner.Show()
	if err != nil {
		m.log.Warn("database unreachable", "err", err)
	}
}

// showOnline says that the connection is back, for a while.
func (m *mainWindow) showOnline() {
	l := &m.live
	if !l.offline {
		return
	}
	l.offline = false
	l.gen++
	gen := l.gen
	l.text.Importance = widget.SuccessImportance
	l.icon.SetResource(theme.ConfirmIcon())
	l.text.SetText(lang.L("Verbindung zum Datenbankserver wieder hergestellt ({{.Time}} Uhr).", map[string]any{"Time": m.now().Format("15:04")}))
	l.banner.Show()
	time.AfterFunc(backShown, func() {
		m.ui(func() {
			if l.gen == gen {
				l.banner.Hide()
			}
		})
	})
	m.replayOffline()
}

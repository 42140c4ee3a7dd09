// Package ui holds the Fyne screens of the counter application. It talks to
// the app interfaces only; ui/cli hands in the store, the sync and the
// printer.
//
// One file per screen (queue.go, caseview.go, intake.go, appointments.go,
// review.go, search.go, settings.go), each an unexported struct with
// newX…, buildUI and onX handlers. Work that may take time runs off the UI
// goroutine and reaches widgets through fyne.Do.
package ui

import (
	"context"
	"image"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	"amtstresen/app"
)

// AppID is the Fyne application ID (also in FyneApp.toml).
const AppID = "de.cochem-zell.amtstresen"

// Syncer runs the portal sync for the "Jetzt synchronisieren" action and
// reports the last run. ui/cli adapts the sync package to it.
type Syncer interface {
	// Run syncs once; progress is called with the deliveries done so far
	// and the total (total 0 while unknown), from any goroutine. summary
	// is a German sentence ("12 Anträge übernommen, 1 zur Sichtung").
	Run(ctx context.Context, progress func(done, total int)) (summary string, err error)
	// LastState returns the last run's state; nil when it never ran.
	LastState(ctx context.Context) (*app.SyncState, error)
}

// Document is a PDF confirmation ready to print or save.
type Document struct {
	Title    string // for the print queue: reference and document type, no names
	FileName string // suggested file name, e.g. "ZEL-2026-00042_Eingangsbestaetigung.pdf"
	Data     []byte
	// For the audit log: the document type ("eingang", "hundesteuer",
	// "abholung", "termin"), and the case reference or booking UID.
	Kind        string
	Ref         string
	Appointment bool
	Office      app.OfficeKey // of the case or appointment, for the audit log
}

// Printer makes the PDF confirmations and prints them. By default the
// window uses ui/pdf and ui/printing (see pdfPrinter); tests use a fake.
type Printer interface {
	// CaseDocument returns the confirmation of a case (the service's own
	// where there is one, else the Eingangsbestätigung); clerk is the name
	// printed as Bearbeiter/in.
	CaseDocument(ctx context.Context, c *app.Case, clerk string) (*Document, error)
	// AppointmentDocument returns the Terminbestätigung; c is the case the
	// booking belongs to (postal address, reference), nil if none.
	AppointmentDocument(ctx context.Context, a *app.Appointment, c *app.Case, clerk string) (*Document, error)
	// LetterDocument returns the letter of a message to the citizen (the
	// print queue: a walk-in case's answer, an undeliverable message).
	LetterDocument(ctx context.Context, c *app.Case, m *app.Outgoing, clerk string) (*Document, error)
	// Print sends a document to the configured printer. On failure the
	// error says why in German; saved is where a copy was put instead
	// ("" if none).
	Print(ctx context.Context, d *Document) (saved string, err error)
}

// Store is everything the window uses from storage: the store as the
// signed-in clerk may use it (app.Scoped in production, which checks
// every call against the clerk's role and office), with the Art. 15
// search, the lead's attendance override and the audited opening of a
// case. ui/cli hands it in; nothing is asked of it by type assertion.
type Store interface {
	app.ClerkStore
	app.CaseReader
}

// Options is what the window needs.
type Options struct {
	Store    Store
	Registry *app.Registry
	Config   *app.Config
	Paths    app.Paths
	DBPath   string
	Version  string
	// Syncer runs the portal sync; nil shows "not set up", with
	// SyncUnavailable's message when given (e.g. a configuration error).
	Syncer          Syncer
	SyncUnavailable error
	// Changes announces what other counters and the sync write (LISTEN/
	// NOTIFY on PostgreSQL, the file's data_version on SQLite): the
	// window re-reads what it shows and says in German when the server is
	// unreachable and when it is back. nil: no live updates (Strg+R).
	Changes app.ChangeFeed
	// Offline keeps walk-in applications on this PC while the database
	// server is unreachable (storage/offline), printed with a provisional
	// reference and written when it is back. nil: no outbox (SQLite, or
	// no local folder).
	Offline app.OfflineOutbox
	// Connect, when Store is nil, opens the store the program could not
	// open at the start because the database server was unreachable (a
	// counter PC rebooted during an outage). The window then starts for
	// walk-in applications only (into Offline; Actor.Clerk is the login
	// they are recorded under), tries Connect every connectRetry and, once
	// it succeeds, becomes the normal window without a restart: the input
	// on screen stays, the kept applications are written.
	Connect func(ctx context.Context) (*Connection, error)
	// Messages is the outbox of messages to the citizen and the print
	// queue (issue 16), as the clerk may use them (app.Scoped.Outbox in
	// production). nil: status changes tell nobody (tests of other
	// things), and the window shows no messages and no print queue.
	Messages app.OutboxStore
	// Printer prints confirmations; nil uses the built-in PDF documents
	// and the printer named in Config ([print] printer; "" = default).
	Printer Printer
	// Actor is the signed-in clerk with the role from the database; the
	// Store is then scoped to it (app.Scoped), and every change names
	// exactly this actor. A zero Role means no access control (the UI
	// tests): office and sign come from the preferences.
	Actor app.Actor
	// Setup is true while no role is assigned (everyone acts as admin).
	Setup bool
	// BackupDir is where the nightly backups go (shown to administrators).
	BackupDir string
	// Check, if set, checks the database (quick_check) while the window
	// opens: on a real database it takes about as long as the window
	// itself, so it does not wait before it. When it fails, the window
	// shows only the message (with the way to restore) instead of the
	// work, so that nobody works on a damaged file.
	Check func(context.Context) error
	// OnReady, if set, is called once the window is shown (for the
	// screenshot and benchmark tool).
	OnReady func(*Session)
	// Log is the program's logger (errors of background work, no
	// personal data); the window adds component=ui. nil logs nothing.
	Log *slog.Logger
}

// Connection is what Options.Connect opened: the store and what comes
// with it, as Options names them.
type Connection struct {
	Store    Store
	Messages app.OutboxStore
	Changes  app.ChangeFeed
	Actor    app.Actor
	Setup    bool
}

// logger is o.Log for the window, or one that discards.
func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log.With("component", "ui")
}

// Run opens the main window and blocks until it is closed.
func Run(ctx context.Context, o Options) error {
	if err := CheckDisplay(); err != nil {
		return err
	}
	a := fyneapp.NewWithID(AppID)
	if err := setupLanguage(a.Preferences().StringWithFallback(prefLanguage, LangGerman)); err != nil {
		o.logger().Error("translations", "err", err)
	}
	w := a.NewWindow("Amtstresen")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newMainWindow(ctx, a, w, o)
	w.SetContent(m.buildUI())
	w.SetMainMenu(m.mainMenu())
	w.Resize(m.windowSize())
	w.SetMaster()
	// Closing the window asks before unsaved input is lost.
	w.SetCloseIntercept(m.quit)
	a.Lifecycle().SetOnStarted(func() {
		m.start()
		if o.OnReady != nil {
			o.OnReady(&Session{m: m})
		}
	})
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	cancel()
	m.bg.wait()
	m.long.wait()
	return nil
}

// Screen names a place in the main window, for Session.Show.
type Screen string

// The screens.
const (
	ScreenQueue        Screen = "queue"
	ScreenIntake       Screen = "intake"
	ScreenAppointments Screen = "appointments"
	ScreenReview       Screen = "review"
	ScreenSearch       Screen = "search"
	ScreenSettings     Screen = "settings"
	ScreenOutbox       Screen = "outbox" // Rückmeldungen: messages not delivered, letters to print
)

// Screens lists all screens in navigation order.
var Screens = []Screen{ScreenQueue, ScreenIntake, ScreenAppointments, ScreenReview, ScreenSearch, ScreenSettings, ScreenOutbox}

// Session is the running main window, for tools that drive it (the
// screenshot and benchmark program). Call its methods from a goroutine
// other than the UI's; they hand the work to the UI goroutine.
type Session struct{ m *mainWindow }

// Store returns the store the window shows.
func (s *Session) Store() Store { return s.m.store }

// Window returns the main window.
func (s *Session) Window() fyne.Window { return s.m.w }

// Wait blocks until background work (queries, loads) has finished and
// its results are on screen.
func (s *Session) Wait() {
	for i := 0; i < 3; i++ {
		s.m.bg.wait()
		fyne.DoAndWait(func() {}) // what the work handed to the UI has run
	}
}

// Show switches to a screen and waits for its data.
func (s *Session) Show(sc Screen) {
	fyne.DoAndWait(func() { s.m.show(sc) })
	s.Wait()
}

// OpenCase shows a case and waits for its data.
func (s *Session) OpenCase(ref string) {
	fyne.DoAndWait(func() { s.m.openCase(ref) })
	s.Wait()
}

// QueueTiming is how long the queue took for a filter or search.
type QueueTiming struct {
	Count     int           // cases found
	FirstRows time.Duration // from the query's start until the first rows were on screen
	Counted   time.Duration // until the count was on screen
}

// SetQueueSearch types a search into the queue (without the typing pause)
// and reports when the result was on screen.
func (s *Session) SetQueueSearch(text string) QueueTiming {
	q := s.m.queue
	fyne.DoAndWait(func() {
		q.quiet = true
		q.search.SetText(text)
		q.quiet = false
		q.onFilterChanged()
	})
	return s.queueTiming()
}

// SetQueueFilter applies a filter to the queue and reports like SetQueueSearch.
func (s *Session) SetQueueFilter(f app.CaseFilter) QueueTiming {
	fyne.DoAndWait(func() { s.m.queue.setFilter(f) })
	return s.queueTiming()
}

func (s *Session) queueTiming() QueueTiming {
	s.Wait()
	var t QueueTiming
	q := s.m.queue
	fyne.DoAndWait(func() { t = QueueTiming{q.count, q.lastDur, q.countDur} })
	return t
}

// ScrollQueue scrolls the queue table to a row and waits for its page.
func (s *Session) ScrollQueue(row int) {
	q := s.m.queue
	fyne.DoAndWait(func() { q.scrollTo(row) })
	s.Wait()
}

// SetClerk answers the first-start question (office, name, sign).
func (s *Session) SetClerk(office app.OfficeKey, name, sign string) {
	fyne.DoAndWait(func() {
		s.m.closeDialogs()
		s.m.setClerk(office, name, sign)
	})
	s.Wait()
}

// Capture returns what the window shows.
func (s *Session) Capture() image.Image {
	var img image.Image
	fyne.DoAndWait(func() { img = s.m.w.Canvas().Capture() })
	return img
}

// Back closes an open case or dialog.
func (s *Session) Back() {
	fyne.DoAndWait(func() {
		s.m.closeDialogs()
		s.m.back()
	})
	s.Wait()
}

// Demo shows a state for the screenshots: "status-dialog" (on an open
// case), "intake-suggestions" (typing a postcode), "intake-errors" (a save
// with a field missing), "review-first" (the first kept mail selected),
// "appointment-first" (the first appointment selected).
func (s *Session) Demo(name string) {
	m := s.m
	fyne.DoAndWait(func() {
		switch name {
		case "status-dialog":
			if m.caseView != nil {
				m.caseView.onChangeStatus()
			}
		case "intake-suggestions":
			in := m.intake
			m.w.Canvas().Focus(in.postcode)
			in.postcode.SetText("")
			for _, r := range "568" {
				in.postcode.TypedRune(r)
			}
		case "intake-errors":
			m.intake.onSave()
		case "review-first":
			if len(m.review.items) > 0 {
				m.review.list.Select(0)
			}
		case "review-to-intake":
			if m.review.cur != nil {
				m.intake.onNew() // the screenshot's example input is not the clerk's
				m.review.toIntake(m.review.cur, "Bürger reicht die Angaben per Mail nach")
			}
		case "discard-question":
			m.guard(func() {})
		case "appointment-first":
			if len(m.appointments.list) > 0 {
				m.appointments.table.Select(widget.TableCellID{Row: 1, Col: 0})
			}
		}
	})
	s.Wait()
}

// FillIntake fills the walk-in form with an example (for screenshots).
func (s *Session) FillIntake(in app.IntakeInput) {
	fyne.DoAndWait(func() {
		s.m.show(ScreenIntake)
		s.m.intake.fill(in)
	})
	s.Wait()
}

// Package cli is the command line of amtstresen: without a command it
// opens the window; the commands run headless (nightly jobs, scripts).
// It is the wiring: parse the command line, open storage, hand over to the
// window or a command. The only package that sees storage, sync and ui.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	"amtstresen/app"
	"amtstresen/app/platform"
	"amtstresen/storage"
	"amtstresen/storage/offline"
	portalsync "amtstresen/sync"
	portaldemo "amtstresen/sync/demo"
	"amtstresen/ui"
	"amtstresen/ui/pdf"
	"amtstresen/ui/printing"
)

// version and build come from FyneApp.toml, revision from git (see
// SetVersion).
var version, build, revision string

// SetVersion takes FyneApp.toml, the one place for name, ID, version and
// build number (main embeds it: it lives at the module root, where `fyne
// package` reads it), and the git revision the Makefile links into main.
func SetVersion(fyneAppTOML, rev string) {
	version, build = app.ParseFyneAppVersion(fyneAppTOML)
	revision = rev
}

func versionString() string {
	if revision != "" {
		return app.VersionString(version, build+"-"+revision)
	}
	return app.VersionString(version, build)
}

// env is what every command gets.
type env struct {
	ctx    context.Context
	paths  app.Paths
	dbPath string
	// dbExplicit: --db or AMTSTRESEN_DB named the database, which then
	// wins over [database] url.
	dbExplicit bool
	cfg        *app.Config
	reg        *app.Registry
	stdout     io.Writer
	stderr     io.Writer
	// log is the program's one logger (stderr, ids and counts only, never
	// a password or personal data); each component gets it at
	// construction and adds its own component=… attribute.
	log *slog.Logger
}

// openStore opens the database at env.dbPath.
func (e *env) openStore() (*storage.DB, error) {
	return storage.Open(e.ctx, e.dbPath, e.reg, storage.WithLogger(e.log))
}

type command struct {
	summary string
	run     func(e *env, args []string) error
}

// commands are the headless commands; "gui" is the default.
var commands = map[string]command{
	"gui":     {"Fenster öffnen (Standard)", runGUI},
	"version": {"Version und Build ausgeben", runVersion},
	"cases":   {"Vorgänge ausgeben (--json)", runCases},

	"sync":         {"Portal-Postfach abgleichen (--once: einmal, sonst nach Zeitplan)", runSync},
	"review":       {"Mails zur Sichtung ausgeben (--json, --all)", runReview},
	"appointments": {"Termine ausgeben (--json, --from DATUM, --to DATUM, --office)", runAppointments},
	"demo":         {"Demo: Test-Postfach mit Beispielsendungen abgleichen und Fenster öffnen (--headless)", runDemo},
	"confirm":      {"Bestätigung als PDF schreiben: REF… -o DATEI.pdf, --appointment UID, --art", runConfirm},
	"print":        {"Bestätigung drucken: REF… [--printer NAME], --appointment UID, --art", runPrint},

	"roles":         {"Rollen: roles [list] | roles set KONTO clerk|lead|admin [DIENSTSTELLE] | roles remove KONTO", runRoles},
	"audit":         {"Protokoll ausgeben (--csv, --from, --to, --ref, --clerk, --office, --action, -o DATEI)", runAudit},
	"purge":         {"nach Aufbewahrungsfrist löschen (--dry-run: nur auflisten, --json)", runPurge},
	"backup":        {"Sicherung in [backup] dir schreiben und rotieren", runBackup},
	"restore":       {"Sicherung zurückholen: restore DATEI", runRestore},
	"check":         {"Datenbank prüfen (quick_check; --full: integrity_check)", runCheck},
	"nightly":       {"Löschlauf, dann Sicherung (--once: einmal, sonst nach [backup] schedule)", runNightly},
	"migrate-db":    {"SQLite-Arbeitsvorrat in eine leere PostgreSQL-Datenbank übernehmen und prüfen: --to URL [--password-env VAR]", runMigrateDB},
	"upgrade-db":    {"PostgreSQL-Schema auf den Stand dieses Programms bringen (nach einem Update, als Migrationsrolle): --db URL [--password-env VAR]", runUpgradeDB},
	"export-person": {"Auskunft nach Art. 15 DSGVO: --name N --geburtsdatum D | --email E [-o ORDNER]", runExportPerson},
	"outbox":        {"Nachrichten an Bürger und ihr Stand (--json, --undelivered)", runOutbox},
	"send":          {"Statusmeldungen über den Mailserver ans Portal senden (--once: einmal, sonst laufend)", runSend},
	"office-key":    {"Signaturschlüssel einer Dienststelle für Statusmeldungen erzeugen (create) oder anzeigen (show); gibt den öffentlichen Schlüssel für den Portalbetreiber aus (nur Administration)", runOfficeKey},
}

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		platform.AttachConsole() // headless command from a Windows console
	}
	return run(args, stdout, stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	// --db and --config are accepted by every command, before or after its
	// name and its own flags ("amtstresen --db X cases" is the command, not
	// the window).
	args, dbPath, cfgPath := globalFlags(args)
	name := "gui"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		if len(args) == 0 {
			usage(stdout)
			return 0
		}
		name, args = args[0], []string{"--help"}
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "Unbekannter Befehl %q.\n", name)
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{ctx: ctx, paths: app.DefaultPaths(), stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	e.dbPath = dbPath
	e.dbExplicit = dbPath != "" || os.Getenv("AMTSTRESEN_DB") != ""
	if e.dbPath == "" {
		e.dbPath = e.paths.DefaultDBPath()
	}
	var err error
	explicit := cfgPath != ""
	if !explicit {
		cfgPath = e.paths.DefaultConfigPath()
	}
	// Help is printed before anything is read or created.
	help := false
	for _, a := range args {
		if a == "--" {
			break
		}
		help = help || isHelp(a)
	}
	if help {
		args = []string{"--help"}
	} else if name != "version" {
		if e.cfg, err = app.LoadConfig(cfgPath, explicit); err == nil {
			e.reg, err = app.LoadRegistry(e.paths.DataDir)
		}
	}
	if err == nil {
		err = cmd.run(e, args)
	}
	if err != nil {
		var he helpText
		if errors.As(err, &he) {
			fmt.Fprint(stdout, string(he))
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, err)
			return 2
		}
		fmt.Fprintln(stderr, "Fehler:", app.ErrorMessage(err))
		if c := app.ErrorCode(err); c == app.EINTERNAL || c == app.EUNAVAILABLE {
			fmt.Fprintln(stderr, "Technische Ursache:", err)
		}
		return 1
	}
	return 0
}

type usageError string

func (u usageError) Error() string { return string(u) }

// globalFlags takes --db and --config (with "=" or a separate value) out of args.
func globalFlags(args []string) (rest []string, db, cfg string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		for _, f := range []struct {
			name string
			dst  *string
		}{{"db", &db}, {"config", &cfg}} {
			for _, p := range []string{"-" + f.name, "--" + f.name} {
				if a == p && i+1 < len(args) {
					*f.dst = args[i+1]
					i++
					goto next
				}
				if v, ok := strings.CutPrefix(a, p+"="); ok {
					*f.dst = v
					goto next
				}
			}
		}
		rest = append(rest, a)
	next:
	}
	return rest, db, cfg
}

func newFlags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseFlags says it in German
	fs.Usage = func() {}
	return fs
}

func runVersion(e *env, args []string) error {
	if err := parseFlags(newFlags("version", e), args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, versionString())
	return nil
}

func runGUI(e *env, args []string) error {
	if err := parseFlags(newFlags("gui", e), args); err != nil {
		return err
	}
	if err := ui.CheckDisplay(); err != nil {
		return err // before the database is opened or created
	}
	db, err := e.openForWindow()
	if app.ErrorCode(err) == app.ECORRUPT {
		fmt.Fprintln(e.stderr, app.ErrorMessage(err))
		startupError(e.ctx, e.log, "Datenbank beschädigt", app.ErrorMessage(err))
		return err
	}
	pg := e.databaseURL() != ""
	// The PostgreSQL server is away while the counter PC starts: the
	// window opens for walk-in applications only and connects when the
	// server is back (ui.Options.Connect). A refusal by a server that
	// answers (a wrong password, no role) is not an outage.
	away := pg && app.Unavailable(err)
	if err != nil && !away {
		if pg {
			title := "Keine Verbindung zur Datenbank"
			msg := app.ErrorMessage(err)
			if app.ErrorCode(err) == app.EFORBIDDEN {
				title = "Anmeldung an der Datenbank abgelehnt"
				msg += "\n\nDer Datenbankserver ist erreichbar; das ist keine Störung, bei der Anträge auf diesem PC vorgemerkt werden. Bitte zuerst die Anmeldung in Ordnung bringen."
			}
			startupError(e.ctx, e.log, title, msg)
		}
		return err
	}
	o := ui.Options{BackupDir: e.backupDir(), Log: e.log, Registry: e.reg, Config: e.cfg, Paths: e.paths, DBPath: e.where(), Version: versionString()}
	if away {
		e.log.Warn("database unreachable at the start: counter intake only until it is back", "err", err)
		var mu gosync.Mutex
		var later *opened
		defer func() {
			mu.Lock()
			defer mu.Unlock()
			if later != nil {
				later.Close()
			}
		}()
		_, login := withLogin(e.databaseURL(), accountName())
		o.Actor = app.Actor{Clerk: app.NormalizeClerk(login)}
		o.Connect = func(ctx context.Context) (*ui.Connection, error) {
			w, cancel := e.attempt(ctx)
			defer cancel()
			db, err := w.open()
			if err != nil {
				return nil, err
			}
			c, err := w.connection(db)
			if err != nil {
				db.Close()
				return nil, err
			}
			mu.Lock()
			later = db
			mu.Unlock()
			return c, nil
		}
	} else {
		defer db.Close()
		c, err := e.connection(db)
		if err != nil {
			if app.ErrorCode(err) == app.EFORBIDDEN {
				startupError(e.ctx, e.log, "Kein Zugang", app.ErrorMessage(err))
			}
			return err
		}
		o.Store, o.Messages, o.Actor, o.Setup, o.Changes = c.Store, c.Messages, c.Actor, c.Setup, c.Changes
		o.DBPath = db.where
		if f := db.file; f != nil {
			// A damaged file is found at start, while the window opens.
			o.Check = func(ctx context.Context) error { return f.QuickCheck(ctx, false, e.backupDir()) }
		}
	}
	if pg {
		o.BackupDir = pgBackupNote
		// Walk-in applications wait on this PC while the server is away.
		ob, err := offline.Open(e.ctx, filepath.Join(e.paths.DataDir, OfflineFile), e.reg)
		switch {
		case err == nil:
			defer ob.Close()
			o.Offline = ob
		case away:
			// Without the outbox the window could take nothing at all.
			msg := app.ErrorMessage(err) + " Der Datenbankserver ist ebenfalls nicht erreichbar; Anträge bitte auf Papier aufnehmen."
			startupError(e.ctx, e.log, "Keine Verbindung zur Datenbank", msg)
			return err
		default:
			e.log.Error("offline outbox", "err", err)
		}
		// On PostgreSQL the sync's service account takes the mailbox in
		// and sends (amtstresen sync; a clerk's role may not write other
		// offices' cases), the window shows its state.
		o.SyncUnavailable = errSyncService
		return runWindow(e.ctx, o)
	}
	// "Jetzt synchronisieren" in the window; without a usable [imap] and
	// [portal] configuration the window says why instead. Status messages
	// go out in the background: the window never waits for SMTP; a sync
	// and every change the store announces wake the sender (a clerk's
	// message goes out in about a second).
	wake, stopSend := sendAlongside(e, e.cfg, db, db.store, 30*time.Second)
	defer stopSend()
	if s, err := newSyncer(e, e.cfg, db, db); err == nil {
		o.Syncer = wakingSyncer{s, wake}
	} else {
		o.SyncUnavailable = err
	}
	return runWindow(e.ctx, o)
}

// connection is what the window works with on db: the store as the
// signed-in clerk may use it (role from the database), the outbox of
// messages and the change feed (both adapters announce other counters'
// changes).
func (e *env) connection(db *opened) (*ui.Connection, error) {
	actor, setup, err := e.actorOf(db)
	if err != nil {
		return nil, err
	}
	scoped := app.NewScoped(db, actor)
	return &ui.Connection{Store: scoped, Messages: scoped.Outbox(db), Changes: db.store, Actor: actor, Setup: setup}, nil
}

// startRetries are the pauses of the window's first connect to
// PostgreSQL: a server that is restarting or a network that is coming up
// gets a few seconds before the window opens without it.
var startRetries = []time.Duration{time.Second, 2 * time.Second}

// connectTimeout bounds one try to reach the PostgreSQL server for the
// window: a network that drops packets would keep the clerk waiting for
// minutes (the system's TCP timeout) before the window opens.
var connectTimeout = 10 * time.Second

// attempt is e for one try to connect, bounded by connectTimeout (the
// store it opens does not keep the context).
func (e *env) attempt(ctx context.Context) (*env, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	w := *e
	w.ctx = ctx
	return &w, cancel
}

// openForWindow is open with the short retry of startRetries while the
// PostgreSQL server is unreachable.
func (e *env) openForWindow() (*opened, error) {
	if e.databaseURL() == "" {
		return e.open()
	}
	try := func() (*opened, error) {
		w, cancel := e.attempt(e.ctx)
		defer cancel()
		return w.open()
	}
	db, err := try()
	for _, d := range startRetries {
		if !app.Unavailable(err) {
			break
		}
		select {
		case <-e.ctx.Done():
			return nil, err
		case <-time.After(d):
		}
		db, err = try()
	}
	return db, err
}

// startupError shows a window with the message that keeps the program
// from starting (replaced in the wiring's tests).
var startupError = ui.RunStartupError

// runWindow opens the window (replaced in the wiring's tests).
var runWindow = ui.Run

func runCases(e *env, args []string) error {
	fs := newFlags("cases", e)
	asJSON := fs.Bool("json", false, "als JSON ausgeben")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := e.openScoped()
	if err != nil {
		return err
	}
	defer s.Close()
	return listCases(e, s, *asJSON)
}

// listCases prints the cases the store gives (through app.Scoped: those
// of the offices the actor sees).
func listCases(e *env, s app.CaseExporter, asJSON bool) error {
	cases, err := s.AllCases(e.ctx)
	if err != nil {
		return err
	}
	if len(cases) == 0 {
		// An empty default database next to the demo's: say where the demo is.
		demo := filepath.Join(e.paths.DataDir, "demo.db")
		if _, err := os.Stat(demo); err == nil && e.databaseURL() == "" && filepath.Clean(e.dbPath) != filepath.Clean(demo) {
			fmt.Fprintf(e.stderr, "Keine Vorgänge in %s. Die Demo-Daten liegen in %s: amtstresen cases --db %s\n", e.dbPath, demo, demo)
		} else {
			fmt.Fprintf(e.stderr, "Keine Vorgänge in %s.\n", e.where())
		}
	}
	if asJSON {
		out := make([]app.CaseJSON, 0, len(cases))
		for _, c := range cases {
			out = append(out, app.NewCaseJSON(c))
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, c := range cases {
		// Signed text is shown neutralised: no escape sequence or bidi
		// override reaches the terminal.
		fmt.Fprintf(e.stdout, "%-16s %-20s %-15s %-12s %s\n", c.Ref, app.Safe(c.Service), c.Office, c.Status, app.Safe(c.Applicant.Name()))
	}
	return nil
}

// officeFlag checks an --office value: "" (all) or a known office key.
func (e *env) officeFlag(v string) (app.OfficeKey, error) {
	v = strings.TrimSpace(v)
	if v == "" || e.reg.Office(app.OfficeKey(v)) != nil {
		return app.OfficeKey(v), nil
	}
	var keys []string
	for _, o := range e.reg.Offices {
		keys = append(keys, string(o.Key))
	}
	return "", usageError(fmt.Sprintf("Unbekannte Dienststelle „%s“ (--office). Möglich sind: %s.", v, strings.Join(keys, ", ")))
}

// runSync runs the portal sync once (--once) or on the [sync] schedule.
func runSync(e *env, args []string) error {
	fs := newFlags("sync", e)
	once := fs.Bool("once", false, "einmal abgleichen und beenden")
	wait := fs.Duration("wait", 10*time.Second, "so lange auf einen laufenden Abgleich derselben Datenbank warten, dann überspringen")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := newSyncer(e, e.cfg, db, db)
	if err != nil {
		return err
	}
	s.LockWait = *wait
	if *once {
		res, err := s.Sync(e.ctx, nil)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "Portal-Abgleich:", res.Summary())
		sendOnce(e, e.cfg, db) // what the sync queued (eingegangen) goes out now
		return nil
	}
	fmt.Fprintf(e.stdout, "Portal-Abgleich nach Zeitplan „%s“ (Europe/Berlin); Beenden mit Strg+C.\n", e.cfg.Sync.Schedule)
	// Status messages go out continuously beside the schedule.
	wake, stopSend := sendAlongside(e, e.cfg, db, db.store, time.Minute)
	defer stopSend()
	return s.RunScheduled(e.ctx, e.cfg.Sync.Schedule, func(res *portalsync.Result, err error) {
		wake()
		if err != nil {
			fmt.Fprintln(e.stderr, time.Now().Format("02.01.2006 15:04"), "Portal-Abgleich fehlgeschlagen:", app.ErrorMessage(err))
			return
		}
		fmt.Fprintln(e.stdout, time.Now().Format("02.01.2006 15:04"), "Portal-Abgleich:", res.Summary())
	})
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// runReview prints the review list.
func runReview(e *env, args []string) error {
	fs := newFlags("review", e)
	asJSON := fs.Bool("json", false, "als JSON ausgeben")
	all := fs.Bool("all", false, "auch erledigte")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := e.openScoped()
	if err != nil {
		return err
	}
	defer s.Close()
	items, err := s.ReviewItems(e.ctx, *all)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]app.ReviewJSON, 0, len(items))
		for i := range items {
			out = append(out, app.NewReviewJSON(&items[i]))
		}
		return printJSON(e.stdout, out)
	}
	for _, it := range items {
		fmt.Fprintf(e.stdout, "%-18s %-17s %-40.40s %s\n", app.FormatDateTime(it.ReceivedAt), it.Reason, app.Safe(it.From), app.Safe(it.Subject))
	}
	return nil
}

// runAppointments prints the bookings in [--from, --to] (whole days, Europe/Berlin).
func runAppointments(e *env, args []string) error {
	fs := newFlags("appointments", e)
	asJSON := fs.Bool("json", false, "als JSON ausgeben")
	fromS := fs.String("from", "", "ab Datum (TT.MM.JJJJ oder JJJJ-MM-TT)")
	toS := fs.String("to", "", "bis einschließlich Datum")
	office := fs.String("office", "", "nur diese Dienststelle (z. B. kreis, vg-cochem)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	from, to, err := dayRange(*fromS, *toS)
	if err != nil {
		return err
	}
	officeKey, err := e.officeFlag(*office)
	if err != nil {
		return err
	}
	if from.IsZero() {
		from = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	s, err := e.openScoped()
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.Appointments(e.ctx, officeKey, from, to)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]app.AppointmentJSON, 0, len(list))
		for i := range list {
			out = append(out, app.NewAppointmentJSON(&list[i]))
		}
		return printJSON(e.stdout, out)
	}
	for _, a := range list {
		fmt.Fprintf(e.stdout, "%-18s %-15s %-15s %-10s %s\n", app.FormatDateTime(a.Start), app.Safe(a.Service), app.Safe(string(a.Office)), a.Status.Label(), app.Safe(a.CitizenName))
	}
	return nil
}

// runDemo starts an IMAP server on loopback filled with signed example
// deliveries, syncs them into a demo database (demo.db in the data
// directory unless --db is given) and opens the window on it.
func runDemo(e *env, args []string) error {
	fs := newFlags("demo", e)
	headless := fs.Bool("headless", false, "nur abgleichen, kein Fenster")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*headless {
		if err := ui.CheckDisplay(); err != nil {
			return err
		}
	}
	if e.dbPath == e.paths.DefaultDBPath() {
		e.dbPath = filepath.Join(e.paths.DataDir, "demo.db")
	}
	if err := os.MkdirAll(filepath.Dir(e.dbPath), 0o700); err != nil {
		return err
	}
	d, err := portaldemo.Start(e.ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	db, err := e.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := newSyncer(e, d.Config, db, db)
	if err != nil {
		return err
	}
	res, err := s.Sync(e.ctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Demo-Postfach %s (%d Sendungen), Datenbank %s\nPortal-Abgleich: %s\n", d.Addr, d.Mails, e.dbPath, res.Summary())
	// The whole loop: the "eingegangen" messages go to the demo's portal,
	// which answers with signed quittungen into the demo mailbox; the
	// next sync applies them.
	ret, err := startDemoReturn(d)
	if err != nil {
		return err
	}
	defer ret.Close()
	snd, err := ret.sender(e, db)
	if err != nil {
		return err
	}
	round, err := snd.SendDue(e.ctx)
	if err != nil {
		return err
	}
	res, err = s.Sync(e.ctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Rückkanal: %s\nPortal-Abgleich: %s\n", roundSummary(round), res.Summary())
	if *headless {
		return nil
	}
	actor, setup, err := app.ResolveActor(e.ctx, db, accountName())
	if err != nil {
		return err
	}
	// What clerks change in the window goes out in the background; the
	// portal's quittungen come with the next sync.
	ctx, stop := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); snd.Run(ctx, 5*time.Second) }()
	defer func() { stop(); <-done }()
	scoped := app.NewScoped(db, actor)
	return ui.Run(e.ctx, ui.Options{Store: scoped, Messages: scoped.Outbox(db), Actor: actor, Setup: setup, BackupDir: e.backupDir(), Log: e.log,
		Registry: e.reg, Config: ret.cfg, Paths: e.paths, DBPath: e.dbPath, Version: versionString(), Syncer: wakingSyncer{s, snd.Wake}})
}

// --- Confirmations: ui/pdf renders, ui/printing prints and saves ---

// confirmFlags are the options confirm and print share.
type confirmFlags struct {
	appointment, kind, clerk *string
}

func addConfirmFlags(fs *flag.FlagSet) confirmFlags {
	return confirmFlags{
		appointment: fs.String("appointment", "", "Terminbestätigung für den Termin mit dieser UID (Buchungsnummer)"),
		kind:        fs.String("art", "auto", "Art: auto, eingang, hundesteuer oder abholung"),
		clerk:       fs.String("bearbeiter", "", "Name als Bearbeiter/in (Standard: wem der Vorgang zugewiesen ist)"),
	}
}

// parseInterspersed parses flags that may stand after the references
// ("confirm ZEL-2026-00042 -o a.pdf") and returns the references.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

// confirmSource is what a confirmation is made of: cases, a booking and
// the case it belongs to.
type confirmSource interface {
	CaseByRef(ctx context.Context, ref string) (*app.Case, error)
	CaseByPortalID(ctx context.Context, portalCase string) (*app.Case, error)
	Appointment(ctx context.Context, uid string) (*app.Appointment, error)
}

// confirmItems loads the cases and the appointment to confirm.
func confirmItems(e *env, db confirmSource, refs []string, f confirmFlags) ([]pdf.Item, error) {
	kind, err := pdf.ParseKind(*f.kind)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 && *f.appointment == "" {
		return nil, usageError("Bitte ein Aktenzeichen oder --appointment UID angeben.")
	}
	var items []pdf.Item
	for _, ref := range refs {
		c, err := db.CaseByRef(e.ctx, ref)
		if err != nil {
			return nil, err
		}
		items = append(items, pdf.Item{Kind: kind, Case: c})
	}
	if uid := strings.TrimSpace(*f.appointment); uid != "" {
		a, err := db.Appointment(e.ctx, uid)
		if app.ErrorCode(err) == app.ENOTFOUND && !strings.Contains(uid, "@") {
			a, err = db.Appointment(e.ctx, uid+"@cochem-zell-online.de") // the booking number as printed
		}
		if err != nil {
			return nil, err
		}
		var c *app.Case
		if a.PortalCase != "" {
			c, _ = db.CaseByPortalID(e.ctx, a.PortalCase) // postal address and reference, when the case is here
		}
		items = append(items, pdf.AppointmentItem(a, c))
	}
	return items, nil
}

// confirmations prints and saves with the audit log of the actor's store;
// a failed print job is kept in the cache folder, as in the window.
func confirmations(e *env, log app.AuditLog, by app.Actor, printer string) *printing.Confirmations {
	return &printing.Confirmations{Renderer: pdf.NewRenderer(e.reg), Audit: log, Actor: by,
		Printer: printing.Printer{Name: printer, SaveDir: filepath.Join(e.paths.CacheDir, "pdf")}}
}

// runConfirm writes the confirmations of cases (and an appointment) into one PDF.
func runConfirm(e *env, args []string) error {
	fs := newFlags("confirm", e)
	out := fs.String("o", "", "PDF-Datei (Standard: Aktenzeichen_Art.pdf im aktuellen Ordner)")
	f := addConfirmFlags(fs)
	refs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	sc, err := e.openScoped()
	if err != nil {
		return err
	}
	defer sc.Close()
	items, err := confirmItems(e, sc, refs, f)
	if err != nil {
		return err
	}
	path := *out
	if path == "" {
		path = pdf.FileName(items...)
	}
	if err := confirmations(e, sc, sc.Actor, "").Save(e.ctx, path, pdf.Options{Clerk: *f.clerk}, items...); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Bestätigung gespeichert: %s\n", path)
	return nil
}

// runPrint prints the confirmations as one job; when that fails the PDF is
// saved and the message names the file.
func runPrint(e *env, args []string) error {
	fs := newFlags("print", e)
	printer := fs.String("printer", "", "Drucker (Standard: [print] printer der Konfiguration, sonst der Standarddrucker)")
	f := addConfirmFlags(fs)
	refs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	name := *printer
	if name == "" && e.cfg != nil {
		name = e.cfg.Print.Printer
	}
	sc, err := e.openScoped()
	if err != nil {
		return err
	}
	defer sc.Close()
	items, err := confirmItems(e, sc, refs, f)
	if err != nil {
		return err
	}
	res, err := confirmations(e, sc, sc.Actor, name).Print(e.ctx, pdf.Options{Clerk: *f.clerk}, items...)
	if err != nil {
		return err
	}
	where := res.Printer
	if where == "" {
		where = "dem Standarddrucker"
	}
	fmt.Fprintf(e.stdout, "Gedruckt auf %s (Auftrag %s).\n", where, res.JobID)
	return nil
}

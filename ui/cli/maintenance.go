package cli

// Data protection and safe operation: roles, audit log, retention purge,
// backups, restore, database check and the Art. 15 export. Wiring only;
// the work is done in app and storage.
//
// What a command uses of storage it names by interface: a clerk's
// commands (audit, export-person, and in cli.go cases, review,
// appointments, confirm, print) work through app.Scoped; roles take an
// app.RoleStore, the purge a purger, each after the role check of openAs.
// Every command opens its store with env.open (store.go): the SQLite file
// or, with [database] url, PostgreSQL as the clerk's own login role. Only
// the operations on the SQLite file itself (backup, restore, check, the
// backup of nightly) need the file; on PostgreSQL the IT backs up with
// pg_dump on the server.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	portalsync "amtstresen/sync"
	"amtstresen/ui/pdf"
)

// accountName is the OS account the program runs under, without domain.
// Tests replace it to act as different clerks.
var accountName = func() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return app.NormalizeClerk(u.Username)
	}
	for _, k := range []string{"USER", "USERNAME"} {
		if v := os.Getenv(k); v != "" {
			return app.NormalizeClerk(v)
		}
	}
	return "unbekannt"
}

// backupDir is [backup] dir, or the folder "sicherungen" next to the database.
func (e *env) backupDir() string {
	if e.cfg != nil && e.cfg.Backup.Dir != "" {
		return e.cfg.Backup.Dir
	}
	abs, err := filepath.Abs(e.dbPath)
	if err != nil {
		abs = e.dbPath
	}
	return filepath.Join(filepath.Dir(abs), "sicherungen")
}

// openChecked opens the database; a damaged file gives ECORRUPT with the
// restore hint naming the newest backup.
func (e *env) openChecked() (*storage.DB, error) {
	db, err := e.openStore()
	if err != nil {
		if storage.IsCorruption(err) {
			return nil, storage.Corrupt(e.dbPath, e.backupDir(), err)
		}
		return nil, err
	}
	return db, nil
}

// actor is who runs a command on the SQLite file, with the role from it.
func (e *env) actor(db app.RoleStore) (app.Actor, error) {
	a, _, err := app.ResolveActor(e.ctx, db, accountName())
	return a, err
}

// openScoped opens the database as the OS account may use it: every
// clerk's command works through it (closing it closes the database).
func (e *env) openScoped() (*app.Scoped, error) {
	s, _, err := e.openScopedStore()
	return s, err
}

// openScopedStore is openScoped with the store under it, for what the
// clerk's view takes from the store itself (its outbox: s.Outbox(db)).
func (e *env) openScopedStore() (*app.Scoped, *opened, error) {
	db, err := e.open()
	if err != nil {
		return nil, nil, err
	}
	a, _, err := e.actorOf(db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return app.NewScoped(db, a), db, nil
}

// openAs opens the database for a command that needs at least role r.
// On PostgreSQL the service account of kind service ("purge" for the
// purge: a member of amtstresen_purge, without an entry in the role list)
// may run it too, as administration.
func (e *env) openAs(r app.Role, what, service string) (*opened, app.Actor, error) {
	db, err := e.open()
	if err != nil {
		return nil, app.Actor{}, err
	}
	a, _, err := e.actorOf(db)
	if app.ErrorCode(err) == app.EFORBIDDEN && db.pg != nil && service != "" {
		if ok, merr := db.pg.ServiceAccount(e.ctx, service); merr == nil && ok {
			a, err = app.Actor{Clerk: db.login, Role: app.RoleAdmin}, nil
		}
	}
	if err == nil && !a.Is(r) {
		err = app.Forbidden(what)
	}
	if err != nil {
		db.Close()
		return nil, app.Actor{}, err
	}
	return db, a, nil
}

// dayRange turns --from and --to (whole days, Europe/Berlin, both
// included) into [from, to); a bound not given stays zero.
func dayRange(fromS, toS string) (from, to time.Time, err error) {
	day := func(s, name string) (time.Time, error) {
		iso, ok := app.ParseGermanDate(s)
		if !ok {
			return time.Time{}, usageError(fmt.Sprintf("--%s %q ist kein Datum (TT.MM.JJJJ oder JJJJ-MM-TT).", name, s))
		}
		t, _ := time.ParseInLocation("2006-01-02", iso, app.Berlin)
		return t, nil
	}
	if fromS != "" {
		if from, err = day(fromS, "from"); err != nil {
			return
		}
	}
	if toS != "" {
		if to, err = day(toS, "to"); err != nil {
			return
		}
		to = to.AddDate(0, 0, 1)
	}
	return from, to, nil
}

// runRoles lists, sets and removes role assignments.
func runRoles(e *env, args []string) error {
	fs := newFlags("roles", e)
	name := fs.String("name", "", "Anzeigename (bei set)")
	pwEnv := fs.String("password-env", "", "bei set auf PostgreSQL: Name der Umgebungsvariable mit dem neuen Kennwort der Datenbankrolle")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	db, a, err := e.openAs(app.RoleAdmin, "Das Vergeben von Rollen", "migration")
	if err != nil {
		return err
	}
	defer db.Close()
	set := func(ra app.RoleAssignment) error { return db.SetRole(e.ctx, ra, a) }
	if *pwEnv != "" {
		// On PostgreSQL each clerk logs in with their own database role;
		// its password leaves the program only as a SCRAM verifier.
		if db.pg == nil {
			return app.Errorf(app.EINVALID, "Kennwörter gibt es nur für die gemeinsame PostgreSQL-Datenbank ([database] url); am einzelnen Tresen meldet die Anmeldung am PC an.")
		}
		pw := os.Getenv(*pwEnv)
		if pw == "" {
			return app.Errorf(app.EINVALID, "Die Umgebungsvariable %s (--password-env) ist leer oder nicht gesetzt.", *pwEnv)
		}
		set = func(ra app.RoleAssignment) error { return db.pg.SetRoleWithPassword(e.ctx, ra, pw, a) }
	}
	return roles(e, db, a, set, pos, *name)
}

// roles runs `roles` for an administrator a; set gives or changes a role.
func roles(e *env, db app.RoleStore, a app.Actor, set func(app.RoleAssignment) error, pos []string, name string) error {
	switch {
	case len(pos) == 0 || pos[0] == "list":
		list, err := db.RoleAssignments(e.ctx)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(e.stdout, "Noch keine Rollen vergeben (Einrichtung: jede Anmeldung gilt als Administration).")
			fmt.Fprintln(e.stdout, "Erste Administration eintragen: amtstresen roles set KONTO admin")
		}
		for _, ra := range list {
			fmt.Fprintf(e.stdout, "%-20s %-16s %-15s %-24s seit %s (%s)\n", ra.Clerk, ra.Role.Label(), ra.Office, ra.Name, app.FormatDate(ra.UpdatedAt), ra.UpdatedBy)
		}
		return nil
	case pos[0] == "set" && (len(pos) == 3 || len(pos) == 4):
		role, err := app.ParseRole(pos[2])
		if err != nil {
			return err
		}
		ra := app.RoleAssignment{Clerk: pos[1], Role: role, Name: name}
		if len(pos) == 4 {
			ra.Office = app.OfficeKey(pos[3])
		}
		if err := set(ra); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: %s %s (protokolliert)\n", app.NormalizeClerk(ra.Clerk), role.Label(), ra.Office)
		return nil
	case pos[0] == "remove" && len(pos) == 2:
		if err := db.RemoveRole(e.ctx, pos[1], a); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: Rolle entzogen (protokolliert)\n", app.NormalizeClerk(pos[1]))
		return nil
	}
	return usageError("Aufruf: amtstresen roles [list] | roles set KONTO clerk|lead|admin [DIENSTSTELLE] [--name NAME] | roles remove KONTO")
}

// runAudit prints or exports the audit log (administration: all of it;
// leads: their office's entries).
func runAudit(e *env, args []string) error {
	fs := newFlags("audit", e)
	asCSV := fs.Bool("csv", false, "als CSV ausgeben (für die Datenschutzbeauftragte)")
	fromS := fs.String("from", "", "ab Datum")
	toS := fs.String("to", "", "bis einschließlich Datum")
	ref := fs.String("ref", "", "nur dieses Aktenzeichen (oder Konto bei Rollen)")
	clerk := fs.String("clerk", "", "nur dieses Konto")
	office := fs.String("office", "", "nur diese Dienststelle")
	action := fs.String("action", "", "nur diese Aktion (z. B. case.read, oder case. für alle)")
	out := fs.String("o", "", "in diese Datei schreiben (Modus 0600) statt auf die Ausgabe")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	officeKey, err := e.officeFlag(*office)
	if err != nil {
		return err
	}
	f := app.AuditFilter{Ref: strings.ToUpper(strings.TrimSpace(*ref)), Clerk: *clerk, Office: officeKey, Action: *action}
	if strings.Contains(*ref, "@") || (*ref != "" && !strings.Contains(*ref, "-")) {
		f.Ref = *ref // booking UIDs and accounts keep their case
	}
	if f.From, f.To, err = dayRange(*fromS, *toS); err != nil {
		return err
	}
	s, err := e.openScoped()
	if err != nil {
		return err
	}
	defer s.Close()
	entries, err := s.AuditEntries(e.ctx, f)
	if err != nil {
		return err
	}
	w := e.stdout
	if *out != "" {
		file, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf("Die Datei %s kann nicht geschrieben werden (%s).", *out, app.FileProblem(err))}
		}
		defer file.Close()
		w = file
	}
	if *asCSV {
		if err := app.WriteAuditCSV(w, entries); err != nil {
			return err
		}
		return s.Audit(e.ctx, app.AuditEntry{Clerk: s.Actor.Clerk, Office: s.Actor.Office, Action: app.ActionAuditExport, Detail: fmt.Sprintf("entries=%d", len(entries))})
	}
	for _, en := range entries {
		fmt.Fprintf(w, "%s  %-14s %-15s %-22s %-24s %s\n", en.At.In(app.Berlin).Format("02.01.2006 15:04:05"), en.Clerk, en.Office, en.Action, en.Ref, en.Detail)
	}
	return nil
}

// runPurge deletes what the retention periods no longer allow to keep.
func runPurge(e *env, args []string) error {
	fs := newFlags("purge", e)
	dry := fs.Bool("dry-run", false, "nur auflisten, was gelöscht würde")
	asJSON := fs.Bool("json", false, "Bericht als JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, a, err := e.openAs(app.RoleAdmin, "Das Löschen nach Aufbewahrungsfrist", "purge")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := purge(e, db, a, *dry, *asJSON); err != nil || *dry || *asJSON {
		return err // with --json the report is the whole output; the server waits for a run without (as before)
	}
	return purgeMailbox(e, db)
}

// purger is what the retention purge needs of a store: the purge and the
// record of its runs.
type purger interface {
	app.Purger
	RecordRun(ctx context.Context, job, result, errText string) error
}

// purge runs the retention purge as a and reports it; the server's copies
// of the mails are purgeMailbox's.
func purge(e *env, db purger, a app.Actor, dry, asJSON bool) error {
	rep, err := db.Purge(e.ctx, app.PurgeOptions{DryRun: dry, AuditMonths: e.cfg.Audit.RetentionMonths,
		ReviewMonths: e.cfg.IMAP.ReviewRetentionMonths, By: a})
	if err != nil {
		if !dry {
			db.RecordRun(e.ctx, "purge", "", app.ErrorMessage(err))
		}
		return err
	}
	if !dry {
		if err := db.RecordRun(e.ctx, "purge", rep.Summary(), ""); err != nil {
			return err
		}
	}
	if asJSON {
		return printJSON(e.stdout, newPurgeJSON(rep))
	}
	if dry {
		fmt.Fprintln(e.stdout, "Probelauf – gelöscht würde:")
	}
	for _, c := range rep.Cases {
		fmt.Fprintf(e.stdout, "  Vorgang %-16s %-18s %-15s abgeschlossen %s, Frist endete %s\n", c.Ref, c.Service, c.Office, app.FormatDate(c.Since), app.FormatDate(c.Expired))
	}
	for _, ap := range rep.Appointments {
		fmt.Fprintf(e.stdout, "  Termin  %-40s %-15s %-15s am %s, Frist endete %s\n", ap.Ref, ap.Service, ap.Office, app.FormatDate(ap.Since), app.FormatDate(ap.Expired))
	}
	if rep.AuditEntries > 0 {
		fmt.Fprintf(e.stdout, "  Protokoll: %d Einträge vor dem %s\n", rep.AuditEntries, app.FormatDate(rep.AuditBefore))
	}
	if len(rep.NoRetention) > 0 {
		fmt.Fprintf(e.stdout, "Ohne Aufbewahrungsfrist im Leistungskatalog (bleiben erhalten, bitte Katalog ergänzen): %s\n", strings.Join(rep.NoRetention, ", "))
	}
	fmt.Fprintln(e.stdout, "Löschlauf:", rep.Summary()+".")
	return nil
}

// purgeMailbox removes the purged cases' mails from the server folders
// too (and handled review mail past its period); what fails stays queued
// for the next run.
func purgeMailbox(e *env, db portalsync.Store) error {
	if strings.TrimSpace(e.cfg.IMAP.Address) == "" {
		return nil // no mailbox configured: nothing there
	}
	s, err := newSyncer(e, e.cfg, db, nil)
	if err != nil {
		return err
	}
	n, err := s.PurgeMailbox(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Postfach: %d Mails gelöschter Vorgänge und erledigter Sichtung vom Server entfernt.\n", n)
	return nil
}

// runBackup writes a backup into [backup] dir and rotates the folder.
func runBackup(e *env, args []string) error {
	fs := newFlags("backup", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	if err := needFile(db, "Die Sicherung mit amtstresen backup"); err != nil {
		return err
	}
	return backup(e, db.file)
}

func backup(e *env, db *storage.DB) error {
	res, err := db.Backup(e.ctx, storage.BackupOptions{Dir: e.backupDir(), Daily: e.cfg.Backup.Daily, Weekly: e.cfg.Backup.Weekly})
	if err != nil {
		db.RecordRun(e.ctx, "backup", "", app.ErrorMessage(err))
		return err
	}
	summary := fmt.Sprintf("Sicherung %s (%.1f MB), %d Sicherungen vorhanden, %d entfernt", filepath.Base(res.Path), float64(res.Size)/(1<<20), len(res.Kept), len(res.Removed))
	if err := db.RecordRun(e.ctx, "backup", summary, ""); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Sicherung geschrieben: %s\n", res.Path)
	for _, r := range res.Removed {
		fmt.Fprintf(e.stdout, "  entfernt (Rotation): %s\n", filepath.Base(r))
	}
	return nil
}

// runRestore puts a backup in place of the database.
func runRestore(e *env, args []string) error {
	fs := newFlags("restore", e)
	force := fs.Bool("force", false, "auch eine Sicherung einer anderen Datenbank zurückholen")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("Aufruf: amtstresen restore SICHERUNGSDATEI [--force] [--db DATEI]")
	}
	if e.databaseURL() != "" {
		return needFile(&opened{}, "Das Zurückholen mit amtstresen restore")
	}
	// A readable database with roles may be replaced by its administration
	// only; a damaged one by whoever may write the file.
	if _, err := os.Stat(e.dbPath); err == nil {
		if db, err := e.openStore(); err == nil {
			a, _, err := app.ResolveActor(e.ctx, db, accountName())
			if err == nil && !a.Is(app.RoleAdmin) {
				err = app.Forbidden("Das Zurückholen einer Sicherung")
			}
			db.Close()
			if err != nil {
				return err
			}
		}
	}
	res, err := storage.Restore(e.ctx, pos[0], e.dbPath, e.reg, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Sicherung %s zurückgeholt nach %s.\n", pos[0], e.dbPath)
	if res.Aside != "" {
		fmt.Fprintf(e.stdout, "Der vorherige Stand liegt unter %s.\n", res.Aside)
	}
	return nil
}

// runCheck checks the database file (quick_check; --full: integrity_check).
func runCheck(e *env, args []string) error {
	fs := newFlags("check", e)
	full := fs.Bool("full", false, "vollständige Prüfung (integrity_check)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o, err := e.open()
	if err != nil {
		return err
	}
	defer o.Close()
	if err := needFile(o, "Die Prüfung mit amtstresen check"); err != nil {
		return err
	}
	db := o.file
	if err := db.QuickCheck(e.ctx, *full, e.backupDir()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Datenbank %s ist in Ordnung.\n", db.Path())
	if b := storage.LatestBackup(e.backupDir(), e.dbPath); b != "" {
		fmt.Fprintf(e.stdout, "Neueste Sicherung: %s\n", b)
	} else {
		fmt.Fprintf(e.stdout, "Keine Sicherung in %s.\n", e.backupDir())
	}
	return nil
}

// runNightly runs the retention purge and then the backup: once (--once,
// for systemd or the Windows task) or on [backup] schedule with robfig/cron.
func runNightly(e *env, args []string) error {
	fs := newFlags("nightly", e)
	once := fs.Bool("once", false, "einmal ausführen und beenden")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, a, err := e.openAs(app.RoleAdmin, "Der nächtliche Löschlauf", "purge")
	if err != nil {
		return err
	}
	defer db.Close()
	job := func() error {
		perr := purge(e, db, a, false, false)
		if perr == nil {
			perr = purgeMailbox(e, db)
		}
		if perr != nil {
			fmt.Fprintln(e.stderr, "Löschlauf fehlgeschlagen:", app.ErrorMessage(perr))
		}
		// The backup runs after the purge, so it holds nothing expired;
		// and also when the purge failed. PostgreSQL is backed up by the
		// IT on the server (pg_dump), after this job.
		var berr error
		if db.file != nil {
			if berr = backup(e, db.file); berr != nil {
				fmt.Fprintln(e.stderr, "Sicherung fehlgeschlagen:", app.ErrorMessage(berr))
			}
		}
		// Status messages that wait (the relay was down during the day).
		sendOnce(e, e.cfg, db)
		err := errors.Join(perr, berr)
		msg := ""
		if err != nil {
			msg = app.ErrorMessage(err)
		}
		db.RecordRun(e.ctx, "nightly", "", msg)
		return err
	}
	if *once {
		return job()
	}
	var last time.Time
	if r, err := db.LastRun(e.ctx, "nightly"); err == nil && r != nil {
		last = r.LastRun
	}
	fmt.Fprintf(e.stdout, "Löschlauf und Sicherung nach Zeitplan „%s“ (Europe/Berlin); Beenden mit Strg+C.\n", e.cfg.Backup.Schedule)
	return portalsync.RunJob(e.ctx, e.cfg.Backup.Schedule, last, time.Now(), e.log.With("component", "nightly"), func() { _ = job() })
}

// runExportPerson writes the Art. 15 answer for one person.
func runExportPerson(e *env, args []string) error {
	fs := newFlags("export-person", e)
	name := fs.String("name", "", "Vor- und Nachname")
	birth := fs.String("geburtsdatum", "", "Geburtsdatum (TT.MM.JJJJ)")
	email := fs.String("email", "", "E-Mail-Adresse")
	out := fs.String("o", "", "Zielordner (Standard: Auskunft-DATUM-UHRZEIT im aktuellen Ordner)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := e.openScoped()
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := app.ExportPerson(e.ctx, s, s, s.Actor, app.PersonQuery{Name: *name, BirthDate: *birth, Email: *email})
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = "Auskunft-" + time.Now().In(app.Berlin).Format("20060102-150405")
	}
	office := s.Actor.Office
	if office == "" && len(d.Cases) > 0 {
		office = d.Cases[0].Office
	}
	files, err := pdf.NewRenderer(e.reg).DisclosureFiles(dir, d, office, pdf.Options{Clerk: s.Actor.Clerk},
		func(sha string) ([]byte, error) { return s.AttachmentData(e.ctx, sha) })
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Auskunft: %d Vorgänge, %d Termine, %d Mails.\n", len(d.Cases), len(d.Appointments), len(d.Mails))
	for _, f := range files {
		fmt.Fprintln(e.stdout, " ", f)
	}
	return nil
}

// purgeJSON is `purge --json`: times in RFC 3339, Europe/Berlin, as every
// JSON output of the command line.
type purgeJSON struct {
	DryRun       bool            `json:"dry_run"`
	Cases        []purgeItemJSON `json:"cases"`
	Appointments []purgeItemJSON `json:"appointments"`
	AuditEntries int             `json:"audit_entries"`
	AuditBefore  string          `json:"audit_before,omitempty"`
	NoRetention  []string        `json:"no_retention"`
}

type purgeItemJSON struct {
	Ref     string `json:"ref"`
	Service string `json:"service"`
	Office  string `json:"office"`
	Since   string `json:"since"`
	Expired string `json:"expired"`
}

func newPurgeJSON(r *app.PurgeReport) purgeJSON {
	items := func(list []app.PurgeItem) []purgeItemJSON {
		out := make([]purgeItemJSON, 0, len(list))
		for _, it := range list {
			out = append(out, purgeItemJSON{Ref: it.Ref, Service: it.Service, Office: string(it.Office),
				Since: app.FormatRFC3339(it.Since), Expired: app.FormatRFC3339(it.Expired)})
		}
		return out
	}
	j := purgeJSON{DryRun: r.DryRun, Cases: items(r.Cases), Appointments: items(r.Appointments), AuditEntries: r.AuditEntries,
		AuditBefore: app.FormatRFC3339(r.AuditBefore), NoRetention: r.NoRetention}
	if j.NoRetention == nil {
		j.NoRetention = []string{}
	}
	return j
}

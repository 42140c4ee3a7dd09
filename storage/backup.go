package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"amtstresen/app"
)

// BackupOptions say where backups go and how many are kept.
type BackupOptions struct {
	Dir    string    // [backup] dir; created with mode 0700
	Daily  int       // newest backup of each of the last Daily days
	Weekly int       // newest backup of each of the last Weekly ISO weeks
	Now    time.Time // zero = now
}

// BackupResult names the new backup and the ones rotation removed.
type BackupResult struct {
	Path    string
	Size    int64
	Kept    []string
	Removed []string
}

// A backup is named after its database and the time it was taken (local
// time, Europe/Berlin): "amtstresen-20261127-020000.db" for amtstresen.db,
// "demo-20261127-020000.db" for demo.db. Backups of several databases may
// share a folder; each is listed, rotated and restored by its own name.
func backupPattern(dbPath string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(BackupPrefix(dbPath)) + `-(\d{8}-\d{6})\.db$`)
}

// BackupPrefix is the name part of dbPath's backups: its file name without
// the extension ("amtstresen" for amtstresen.db).
func BackupPrefix(dbPath string) string {
	base := filepath.Base(dbPath)
	if p := strings.TrimSuffix(base, filepath.Ext(base)); p != "" {
		return p
	}
	return base
}

const backupLayout = "20060102-150405"

// Backup writes a consistent copy of the database while it is in use,
// through SQLite's online backup API, into o.Dir (file mode 0600),
// checks the copy with integrity_check and rotates the folder. The copy
// is a single self-contained file (rollback journal, no WAL).
func (db *DB) Backup(ctx context.Context, o BackupOptions) (*BackupResult, error) {
	if strings.TrimSpace(o.Dir) == "" {
		return nil, app.Errorf(app.EINVALID, "Kein Sicherungsordner eingestellt: bitte [backup] dir in der Konfiguration setzen.")
	}
	now := o.Now
	if now.IsZero() {
		now = db.now()
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf("Der Sicherungsordner %s kann nicht angelegt werden. Bitte Pfad und Berechtigungen prüfen.", o.Dir)}
	}
	final := filepath.Join(o.Dir, BackupPrefix(db.path)+"-"+now.In(app.Berlin).Format(backupLayout)+".db")
	part := final + ".part"
	os.Remove(part)
	if err := prepareFile(part); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.Remove(part)
			os.Remove(part + "-journal")
		}
	}()
	if err := db.copyTo(ctx, part); err != nil {
		return nil, err
	}
	if err := checkFile(ctx, part, "integrity_check"); err != nil {
		return nil, fmt.Errorf("backup: the copy fails its check: %w", err)
	}
	if err := syncFile(part); err != nil {
		return nil, err
	}
	if err := os.Rename(part, final); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	ok = true
	st, err := os.Stat(final)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	res := &BackupResult{Path: final, Size: st.Size()}
	res.Kept, res.Removed, err = Rotate(o.Dir, db.path, o.Daily, o.Weekly)
	if err != nil {
		return res, err
	}
	return res, nil
}

// copyTo copies the live database into the (empty) file at path with the
// backup API in one step: a read transaction on the source, so writers
// go on (WAL) and the copy is one consistent state.
func (db *DB) copyTo(ctx context.Context, path string) error {
	src, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer src.Close()
	return backupBetween(ctx, src, path, false)
}

// backupBetween runs the backup API between the connection conn and the
// file at path: conn → path (restore=false) or path → conn (restore=true).
func backupBetween(ctx context.Context, conn *sql.Conn, path string, restore bool) error {
	other, err := sql.Open("sqlite3", fileURI(path, "_busy_timeout=5000"))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer other.Close()
	oc, err := other.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer oc.Close()
	err = conn.Raw(func(a any) error {
		return oc.Raw(func(b any) error {
			live, file := a.(*sqlite3.SQLiteConn), b.(*sqlite3.SQLiteConn)
			dst, srcConn := file, live
			if restore {
				dst, srcConn = live, file
			}
			bk, err := dst.Backup("main", srcConn, "main")
			if err != nil {
				return err
			}
			for {
				done, err := bk.Step(-1)
				if err != nil {
					bk.Finish()
					return err
				}
				if done {
					break
				}
			}
			return bk.Finish()
		})
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if !restore {
		// A self-contained file: the copied header says WAL.
		if _, err := oc.ExecContext(ctx, "PRAGMA journal_mode = DELETE"); err != nil {
			return fmt.Errorf("backup: journal mode: %w", err)
		}
	}
	return nil
}

// fileURI is like dsn with other parameters.
func fileURI(abs, params string) string {
	d := dsn(abs)
	i := strings.IndexByte(d, '?')
	return d[:i+1] + params
}

// checkFile opens the file at path on its own and runs quick_check or
// integrity_check; it also insists on an Amtstresen database.
func checkFile(ctx context.Context, path, pragma string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	c, err := sql.Open("sqlite3", fileURI(abs, "_busy_timeout=5000"))
	if err != nil {
		return err
	}
	defer c.Close()
	var appID int64
	if err := c.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return err
	}
	if appID != applicationID {
		return errors.New("not an Amtstresen database")
	}
	var v int
	if err := c.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > SchemaVersion {
		return &app.Error{Code: app.ETOONEW, Message: fmt.Sprintf("Die Sicherung stammt von einer neueren Version von Amtstresen (Schema %d); bitte die neuere Version verwenden.", v)}
	}
	return runCheck(ctx, c, pragma)
}

// runCheck runs quick_check or integrity_check and returns its findings.
func runCheck(ctx context.Context, q queryer, pragma string) error {
	rows, err := q.QueryContext(ctx, "PRAGMA "+pragma)
	if err != nil {
		return err
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			msgs = append(msgs, s)
		}
		if len(msgs) >= 5 {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// QuickCheck runs PRAGMA quick_check (full=false) or integrity_check and
// returns ECORRUPT with the restore hint when the file is damaged.
func (db *DB) QuickCheck(ctx context.Context, full bool, backupDir string) error {
	pragma := "quick_check"
	if full {
		pragma = "integrity_check"
	}
	err := runCheck(ctx, db.db, pragma)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return Corrupt(db.path, backupDir, err)
}

// Corrupt is the error for a damaged database: what happened and how to
// restore the newest backup.
func Corrupt(dbPath, backupDir string, cause error) error {
	return &app.Error{Code: app.ECORRUPT, Err: cause, Message: app.RestoreHint(dbPath, LatestBackup(backupDir, dbPath))}
}

// IsCorruption reports whether err says the file is not a usable database.
func IsCorruption(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB) {
		return true
	}
	return app.ErrorCode(err) == app.ECORRUPT
}

// Backups lists the backups of the database at dbPath in dir, newest
// first; backups of other databases in the same folder are not listed.
func Backups(dir, dbPath string) []string {
	if dir == "" {
		return nil
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	re := backupPattern(dbPath)
	var out []string
	for _, e := range es {
		if !e.IsDir() && re.MatchString(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out))) // names sort by time
	return out
}

// LatestBackup returns the newest backup of the database at dbPath in
// dir, "" when there is none.
func LatestBackup(dir, dbPath string) string {
	if b := Backups(dir, dbPath); len(b) > 0 {
		return b[0]
	}
	return ""
}

// Rotate keeps the newest backup of the database at dbPath of each of the
// last daily days and of each of the last weekly ISO weeks (days and weeks
// that have a backup) and removes its other backups. Backups of other
// databases and other files are never touched; leftover ".part" files of
// a failed run older than a day go.
func Rotate(dir, dbPath string, daily, weekly int) (kept, removed []string, err error) {
	all := Backups(dir, dbPath) // newest first
	re := backupPattern(dbPath)
	keep := map[string]bool{}
	days, weeks := map[string]bool{}, map[string]bool{}
	for _, p := range all {
		m := re.FindStringSubmatch(filepath.Base(p))
		t, err := time.ParseInLocation(backupLayout, m[1], app.Berlin)
		if err != nil {
			continue
		}
		day := t.Format("2006-01-02")
		y, w := t.ISOWeek()
		week := fmt.Sprintf("%d-%02d", y, w)
		if !days[day] && len(days) < daily {
			days[day] = true
			keep[p] = true
		}
		if !weeks[week] && len(weeks) < weekly {
			weeks[week] = true
			keep[p] = true
		}
	}
	for _, p := range all {
		if keep[p] {
			kept = append(kept, p)
			continue
		}
		if err := os.Remove(p); err != nil {
			return kept, removed, fmt.Errorf("rotate backups: %w", err)
		}
		removed = append(removed, p)
	}
	if es, err := os.ReadDir(dir); err == nil {
		for _, e := range es {
			if strings.HasSuffix(e.Name(), ".db.part") {
				if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
					os.Remove(filepath.Join(dir, e.Name()))
				}
			}
		}
	}
	return kept, removed, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	return nil
}

// RestoreResult says what restore did.
type RestoreResult struct {
	// Aside is where the previous database was put ("" if there was none).
	Aside string
	// Online is true when the backup was copied into the database in
	// place (SQLite backup API; programs that have it open see the
	// restored state), false when the damaged file was replaced.
	Online bool
}

// Restore replaces the database at dbPath with the backup file src. The
// backup is copied and checked (integrity_check, Amtstresen database, not
// newer than this program) before anything changes. The previous database
// is kept aside as DATEI.vor-wiederherstellung-JJJJMMTT-HHMMSS (mode
// 0600). A readable database is restored in place through the backup API;
// a damaged one is renamed aside with its -wal and -shm files and the
// checked copy takes its place. Afterwards the database is opened (which
// brings an older backup's schema up to date) and quick-checked.
//
// A backup of another database (another database_id, or for a backup
// without one another name) is refused unless force is set: backups of
// several databases may share a folder.
func Restore(ctx context.Context, src, dbPath string, reg *app.Registry, force bool) (*RestoreResult, error) {
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(src); err != nil {
		return nil, &app.Error{Code: app.ENOTFOUND, Err: err, Message: fmt.Sprintf("Die Sicherung %s gibt es nicht.", src)}
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	stamp := time.Now().In(app.Berlin).Format(backupLayout)
	tmp := abs + ".wiederherstellung-" + stamp
	if err := copyFile(src, tmp); err != nil {
		return nil, err
	}
	defer func() {
		for _, s := range []string{"", "-journal", "-wal", "-shm"} {
			os.Remove(tmp + s)
		}
	}()
	if err := checkFile(ctx, tmp, "integrity_check"); err != nil {
		if app.ErrorCode(err) == app.ETOONEW {
			return nil, err
		}
		return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf(
			"Die Sicherung %s ist beschädigt oder keine Amtstresen-Datenbank; es wurde nichts verändert. Bitte eine ältere Sicherung nehmen.", src)}
	}
	res := &RestoreResult{}
	_, statErr := os.Stat(abs)
	exists := statErr == nil
	if exists && !force {
		if err := sameDatabase(ctx, tmp, src, abs); err != nil {
			return nil, err
		}
	}
	if exists {
		res.Aside = abs + ".vor-wiederherstellung-" + stamp
	}
	if exists && checkFile(ctx, abs, "quick_check") == nil {
		// Online: keep a copy of the current state, then copy the backup in.
		live, err := sql.Open("sqlite3", dsn(abs))
		if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		defer live.Close()
		conn, err := live.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		defer conn.Close()
		if err := prepareFile(res.Aside); err != nil {
			return nil, err
		}
		if err := backupBetween(ctx, conn, res.Aside, false); err != nil {
			return nil, fmt.Errorf("restore: keep the current database: %w", err)
		}
		if err := backupBetween(ctx, conn, tmp, true); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return nil, fmt.Errorf("restore: checkpoint: %w", err)
		}
		res.Online = true
	} else {
		// Offline: the damaged file (and its WAL, which belongs to it) goes aside.
		if exists {
			for _, s := range []string{"", "-wal", "-shm"} {
				if err := os.Rename(abs+s, res.Aside+s); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, fmt.Errorf("restore: %w", err)
				}
				os.Chmod(res.Aside+s, 0o600)
			}
		}
		if err := os.Rename(tmp, abs); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	db, err := Open(ctx, abs, reg)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if err := db.QuickCheck(ctx, false, ""); err != nil {
		return res, err
	}
	return res, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("restore: %w", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("restore: %w", err)
	}
	return out.Close()
}

// DatabaseID returns the random identity a database got when it was
// created (table meta, schema 8); "" for a file without one.
func DatabaseID(ctx context.Context, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	c, err := sql.Open("sqlite3", fileURI(abs, "mode=ro&_busy_timeout=5000"))
	if err != nil {
		return ""
	}
	defer c.Close()
	var id string
	if err := c.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'database_id'`).Scan(&id); err != nil {
		return ""
	}
	return id
}

// sameDatabase refuses a backup (copied to tmp, named src) of another
// database than the one at dbPath: by the identity inside both files, or,
// where one has none (an older backup, a damaged database), by the name.
func sameDatabase(ctx context.Context, tmp, src, dbPath string) error {
	bid, did := DatabaseID(ctx, tmp), DatabaseID(ctx, dbPath)
	other := false
	switch {
	case bid != "" && did != "":
		other = bid != did
	default:
		other = !backupPattern(dbPath).MatchString(filepath.Base(src))
	}
	if other {
		return &app.Error{Code: app.EINVALID, Message: fmt.Sprintf(
			"Die Sicherung %s stammt von einer anderen Datenbank als %s; es wurde nichts verändert. Bitte die Sicherung dieser Datenbank nehmen (amtstresen check nennt die neueste) oder, wenn sie wirklich diese ersetzen soll, restore mit --force aufrufen.",
			src, dbPath)}
	}
	return nil
}

package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"

	"github.com/mattn/go-sqlite3"

	"amtstresen/app"
)

// explain turns a failure of the file system under the database into a
// German message that names the cause and what to do: a full disk, a
// read-only file or folder, a database held by another program. Other
// errors pass unchanged; so do errors that already carry a message.
func (db *DB) explain(err error) error { return explainFS(db.path, err) }

// explainFS is DB.explain for the database file at path.
func explainFS(path string, err error) error {
	if err == nil {
		return nil
	}
	var ae *app.Error
	if errors.As(err, &ae) {
		return err
	}
	dir := filepath.Dir(path)
	var se sqlite3.Error
	code := sqlite3.ErrNo(0)
	is := func(target error) bool { return errors.Is(err, target) }
	if errors.As(err, &se) {
		code = se.Code
		// The operating system's reason behind an I/O error.
		is = func(target error) bool { return errors.Is(err, target) || errors.Is(se.SystemErrno, target) }
	}
	switch {
	case code == sqlite3.ErrFull || is(syscall.ENOSPC) || is(syscall.EDQUOT):
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Auf dem Datenträger der Datenbank (%s) ist kein Platz mehr. Es wurde nichts halb gespeichert; nicht übernommene Mails bleiben im Posteingang. Bitte Platz schaffen (z. B. alte Sicherungen verschieben) oder die IT verständigen, dann erneut versuchen.", dir)}
	case code == sqlite3.ErrReadonly || code == sqlite3.ErrPerm || code == sqlite3.ErrCantOpen ||
		is(syscall.EROFS) || is(syscall.EACCES) || is(syscall.EPERM):
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Die Datenbank %s kann nicht geschrieben werden: die Datei oder ihr Ordner ist schreibgeschützt (oder der Datenträger nur lesbar eingebunden). Bitte die Schreibrechte für Datei und Ordner prüfen oder die IT verständigen.", path)}
	case code == sqlite3.ErrBusy || code == sqlite3.ErrLocked:
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Die Datenbank %s ist gerade von einem anderen Programm belegt (z. B. eine laufende Sicherung oder ein zweiter Abgleich). Bitte in einer Minute erneut versuchen.", path)}
	case code == sqlite3.ErrIoErr:
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Die Datenbank %s konnte nicht gelesen oder geschrieben werden (Fehler des Datenträgers; Platte voll, entfernt oder defekt?). Es wurde nichts halb gespeichert. Bitte den Datenträger prüfen oder die IT verständigen.", path)}
	}
	return err
}

// busy reports SQLite's "database is locked" (another connection holds
// the lock SQLite would not wait for).
func busy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

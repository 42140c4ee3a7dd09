package app

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Error codes. They are stable identifiers for scripts and tests; the
// Message is what a clerk reads.
const (
	ECONFLICT  = "conflict"  // someone else holds it, or it already exists
	EINVALID   = "invalid"   // bad input; Message says which field and why
	ENOTFOUND  = "not_found" // no such case, appointment, mail
	EFORBIDDEN = "forbidden" // not this clerk's office or role
	ETOONEW    = "too_new"   // database written by a newer program version
	ECORRUPT   = "corrupt"   // the database file is damaged; Message says how to restore
	EINTERNAL  = "internal"  // a bug or an environment problem
)

// Error is an error a clerk can read. Message is German and says what to do.
type Error struct {
	Code    string
	Message string
	Field   string // optional: the form field concerned
	Err     error  // optional: the technical cause, for the log
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s (%v)", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted German message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the German message for the clerk. Technical errors
// get a generic sentence; their details belong in the log, not on screen.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es erneut; bleibt der Fehler, wenden Sie sich an die IT."
}

// RestoreHint is the German message for a damaged database: what happened
// and how the newest backup is restored.
func RestoreHint(dbPath, latestBackup string) string {
	b := latestBackup
	if b == "" {
		b = "SICHERUNGSDATEI"
	}
	msg := "Die Datenbank " + dbPath + " ist beschädigt; Amtstresen kann mit ihr nicht sicher arbeiten.\n\n" +
		"So holen Sie die letzte Sicherung zurück:\n" +
		"1. Amtstresen auf diesem Rechner schließen (auch den nächtlichen Auftrag).\n" +
		"2. In einer Eingabeaufforderung ausführen:\n   amtstresen restore \"" + b + "\"\n" +
		"3. Amtstresen neu starten.\n\n" +
		"Die beschädigte Datei wird dabei nicht gelöscht, sondern als …vor-wiederherstellung-DATUM beiseitegelegt. "
	if latestBackup == "" {
		msg += "Es wurde keine Sicherung im Sicherungsordner gefunden; bitte die IT verständigen ([backup] dir)."
	} else {
		msg += "Was nach dieser Sicherung am Schalter erfasst wurde, muss nachgetragen werden. Portal-Sendungen, die seitdem übernommen wurden, liegen im Postfachordner „Übernommen“: zurück in den Posteingang verschoben, übernimmt sie der nächste Abgleich erneut."
	}
	return msg
}

// FileProblem says in German why a file could not be written or read
// (for messages like "Die Datei … kann nicht geschrieben werden (…)").
func FileProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "den Ordner gibt es nicht"
	case errors.Is(err, fs.ErrPermission):
		return "keine Berechtigung"
	case errors.Is(err, fs.ErrExist):
		return "die Datei gibt es schon"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "directory") {
		return "der Pfad ist ein Ordner oder kein Ordner, wo einer sein müsste"
	}
	return "Schreibfehler"
}

// Package printing sends PDFs to a printer: through CUPS (`lp`) on Linux and
// other Unix systems, through the program Windows has registered for
// printing PDFs on Windows. When no printer is set up or the job is refused,
// the PDF is saved to a folder so that nothing is lost, and the clerk gets a
// German message that names the file.
//
// It imports no window toolkit: headless commands print the same way as the
// window.
package printing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"amtstresen/app"
)

// Printer is where jobs go.
type Printer struct {
	// Name is the print queue ("[print] printer" in the configuration);
	// "" means the system's default printer.
	Name string
	// SaveDir receives the PDF when printing fails (app.Paths.CacheDir).
	// "" means the system's temporary folder.
	SaveDir string
	// Timeout bounds handing the job to the print system; 0 means 30 s.
	Timeout time.Duration
}

// Job is one print job.
type Job struct {
	// Title names the job in the printer queue, where others can read
	// it: a reference and a document type, never a citizen's name.
	Title string
	// FileName is used for the saved copy, e.g. "ZEL-2026-00042_Eingangsbestaetigung.pdf".
	FileName string
	Data     []byte
}

// Result says what happened to a job.
type Result struct {
	Printer string // the queue that took the job; "" for the default when unknown
	JobID   string // the print system's job id, if it tells
	Saved   string // path of the saved PDF when printing failed
}

// reason is why a job could not be printed.
type reason int

const (
	noPrintSystem  reason = iota + 1 // no CUPS / no PowerShell
	noDefault                        // no printer named and no default printer
	unknownPrinter                   // the named printer does not exist
	notResponding                    // the print system does not answer
	noPDFHandler                     // Windows: no program prints PDFs
	refused                          // any other refusal
)

// spoolError is a refusal by the print system, with its own words.
type spoolError struct {
	reason reason
	detail string // the print system's message, for the log and the clerk
	err    error
}

func (e *spoolError) Error() string {
	if e.detail != "" {
		return e.detail
	}
	if e.err != nil {
		return e.err.Error()
	}
	return "print failed"
}

func (e *spoolError) Unwrap() error { return e.err }

// message is the German sentence for the clerk.
func (e *spoolError) message(printer string) (code, msg string) {
	switch e.reason {
	case noPrintSystem:
		return app.ENOTFOUND, "Auf diesem Rechner ist kein Drucksystem eingerichtet (" + spoolerName + " fehlt)."
	case noDefault:
		return app.ENOTFOUND, "Es ist kein Drucker eingerichtet: Das System hat keinen Standarddrucker, und in der Konfiguration ist unter [print] kein Drucker eingetragen."
	case unknownPrinter:
		return app.ENOTFOUND, fmt.Sprintf("Den Drucker „%s“ gibt es auf diesem Rechner nicht. Bitte den Namen in der Konfiguration ([print] printer) prüfen.", printer)
	case notResponding:
		return app.EINTERNAL, "Das Drucksystem antwortet nicht. Bitte prüfen, ob der Druckdienst läuft."
	case noPDFHandler:
		return app.EINTERNAL, "Windows kennt kein Programm, das PDF-Dateien drucken kann. Bitte einen PDF-Betrachter mit Druckfunktion einrichten."
	}
	d := strings.TrimSpace(e.detail)
	if d == "" && e.err != nil {
		d = e.err.Error()
	}
	return app.EINTERNAL, fmt.Sprintf("Der Druckauftrag wurde nicht angenommen (%s).", d)
}

// Print hands the PDF to the printer. When that fails, the PDF is saved to
// SaveDir and the error is an *app.Error whose message says why and where
// the file is; Result.Saved holds the path.
func (p Printer) Print(ctx context.Context, j Job) (Result, error) {
	if len(j.Data) == 0 {
		return Result{}, app.Errorf(app.EINVALID, "Es gibt nichts zu drucken: das Dokument ist leer.")
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id, err := spool(sctx, p.Name, j, p.saveDir())
	if err == nil {
		return Result{Printer: p.Name, JobID: id}, nil
	}
	var se *spoolError
	if !errors.As(err, &se) {
		se = &spoolError{reason: refused, err: err}
	}
	if ctx.Err() == nil && sctx.Err() != nil {
		se = &spoolError{reason: notResponding, err: err}
	}
	code, msg := se.message(p.Name)
	path, serr := Save(p.saveDir(), j.FileName, j.Data)
	if serr != nil {
		return Result{}, &app.Error{Code: app.EINTERNAL, Err: errors.Join(err, serr),
			Message: msg + " Das PDF konnte auch nicht gespeichert werden (" + serr.Error() + ")."}
	}
	return Result{Saved: path}, &app.Error{Code: code, Err: err,
		Message: msg + " Das PDF wurde gespeichert: " + path + " – Sie können es dort öffnen und von Hand drucken."}
}

func (p Printer) saveDir() string {
	if p.SaveDir != "" {
		return p.SaveDir
	}
	return filepath.Join(os.TempDir(), "amtstresen")
}

// Save writes data to a new file in dir, named after name with the current
// time added ("ZEL-2026-00042_Eingangsbestaetigung_20261130-101500.pdf"),
// never overwriting a file. The folder and the file are private to the
// user: the PDF holds personal data.
func Save(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	base := strings.TrimSuffix(filepath.Base(name), ".pdf")
	if base == "" || base == "." || base == string(filepath.Separator) {
		base = "Dokument"
	}
	stamp := time.Now().In(app.Berlin).Format("20060102-150405")
	for i := 1; ; i++ {
		fn := fmt.Sprintf("%s_%s.pdf", base, stamp)
		if i > 1 {
			fn = fmt.Sprintf("%s_%s-%d.pdf", base, stamp, i)
		}
		path := filepath.Join(dir, fn)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) && i < 1000 {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return "", err
		}
		if err := f.Close(); err != nil {
			os.Remove(path)
			return "", err
		}
		return path, nil
	}
}

// WriteFile writes data to path atomically (a temporary file renamed into
// place), so that an existing file is replaced whole or not at all. The
// file is readable by the user only: it holds personal data.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".amtstresen-*.pdf")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Package cupstest starts a private CUPS scheduler for tests, with a
// cups-pdf queue whose jobs land as PDF files in a folder of the test.
//
// The scheduler has its own configuration, spool, state and socket under
// the test's temporary folder and never touches the system's cupsd. It
// needs root (cupsd runs its filters as lp and its backends as root) and
// the Debian packages cups and printer-driver-cups-pdf; poppler-utils
// provides the PDF-to-PostScript filter the queue is told to use. Tests
// fail, never skip, when something is missing: CI installs it
// (`make deps-test`).
//
// The one file outside the temporary folder is the cups-pdf backend's
// per-queue configuration /etc/cups/cups-pdf-QUEUE.conf (its location is
// compiled into the backend); it names a queue unique to the test run and
// is removed when the test ends.
package cupstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	Cupsd          = "/usr/sbin/cupsd"
	CupsPDFBackend = "/usr/lib/cups/backend/cups-pdf"
	CupsPDFPPD     = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd"
)

// Server is a running private cupsd.
type Server struct {
	Dir    string // everything of this server lives here
	Socket string // the scheduler's local socket; CUPS_SERVER points here
	Queue  string // the cups-pdf queue
	Out    string // where the queue's PDFs land
	log    string
	seen   map[string]bool
	stop   func()
}

// Start starts the scheduler, adds the queue and sets CUPS_SERVER for the
// rest of the test, so that lp and lpstat talk to it. It stops everything
// when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	for _, need := range []struct{ path, pkg string }{
		{Cupsd, "cups"}, {CupsPDFBackend, "printer-driver-cups-pdf"}, {CupsPDFPPD, "printer-driver-cups-pdf"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			t.Fatalf("%s fehlt: der Drucktest braucht ein echtes CUPS mit PDF-Drucker (apt-get install cups printer-driver-cups-pdf poppler-utils; `make deps-test` erledigt das)", need.path)
		}
	}
	for _, tool := range []string{"lp", "lpadmin", "lpstat", "pdftops"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s fehlt (apt-get install cups-client poppler-utils)", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatalf("der Drucktest startet einen eigenen cupsd und braucht dafür root (CI läuft als root)")
	}

	// A short path: the socket path must fit sun_path (108 bytes).
	dir, err := os.MkdirTemp("", "cups")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // filters run as lp
		t.Fatal(err)
	}
	s := &Server{Dir: dir, Socket: filepath.Join(dir, "cups.sock"), Out: filepath.Join(dir, "out"),
		Queue: fmt.Sprintf("amtstresen-test-%d-%d", os.Getpid(), time.Now().UnixNano()%100000),
		log:   filepath.Join(dir, "log"), seen: map[string]bool{}}
	for _, d := range []string{"etc/ppd", "etc/ssl", "spool/tmp", "cache", "state/certs", "log", "out", "cups-pdf-spool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := fmt.Sprintf(`ServerRoot %[1]s/etc
RequestRoot %[1]s/spool
TempDir %[1]s/spool/tmp
CacheDir %[1]s/cache
StateDir %[1]s/state
DataDir /usr/share/cups
ServerBin /usr/lib/cups
DocumentRoot /usr/share/cups/doc-root
ErrorLog %[1]s/log/error_log
AccessLog %[1]s/log/access_log
PageLog %[1]s/log/page_log
User lp
Group lp
SystemGroup root
FileDevice No
`, dir)
	conf := fmt.Sprintf(`LogLevel info
Listen %s
Browsing No
DefaultAuthType None
WebInterface No
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
`, s.Socket)
	write(t, filepath.Join(dir, "etc/cups-files.conf"), files)
	write(t, filepath.Join(dir, "etc/cupsd.conf"), conf)

	cmd := exec.Command(Cupsd, "-f", "-c", filepath.Join(dir, "etc/cupsd.conf"), "-s", filepath.Join(dir, "etc/cups-files.conf"))
	logf, err := os.Create(filepath.Join(dir, "log/cupsd.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("cupsd starten: %v", err)
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
			logf.Close()
		})
	}
	t.Cleanup(s.stop)
	t.Setenv("CUPS_SERVER", s.Socket)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out, err := exec.Command("lpstat", "-r").CombinedOutput(); err == nil && strings.Contains(string(out), "is running") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("cupsd antwortet nicht auf %s: %s\n%s", s.Socket, out, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// cups-pdf reads /etc/cups/cups-pdf-NAME.conf for the device URI
	// cups-pdf:/NAME. Its output goes to our folder; the PostScript is
	// made by poppler's pdftops, whose output keeps the text extractable
	// after cups-pdf has turned it into a PDF again (Ghostscript's does
	// not for CID fonts).
	cpConf := filepath.Join("/etc/cups", "cups-pdf-"+s.Queue+".conf")
	write(t, cpConf, fmt.Sprintf("Out %s\nAnonDirName %s\nSpool %s\nLog %s\nTitlePref 1\nLabel 0\nLowercase 0\n",
		s.Out, s.Out, filepath.Join(dir, "cups-pdf-spool"), s.log))
	t.Cleanup(func() { os.Remove(cpConf) })
	if out, err := exec.Command("lpadmin", "-p", s.Queue, "-v", "cups-pdf:/"+s.Queue, "-P", CupsPDFPPD, "-E",
		"-o", "pdftops-renderer-default=pdftops", "-o", "printer-error-policy=abort-job").CombinedOutput(); err != nil {
		t.Fatalf("lpadmin: %v\n%s", err, out)
	}
	return s
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// SetDefault makes the queue the server's default printer.
func (s *Server) SetDefault(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("lpadmin", "-d", s.Queue).CombinedOutput(); err != nil {
		t.Fatalf("lpadmin -d: %v\n%s", err, out)
	}
}

// Stop stops the scheduler (to test a print system that does not answer).
func (s *Server) Stop() { s.stop() }

// WaitPDF waits until a new PDF has landed in Out and is complete, and
// returns its path. Each PDF is returned once.
func (s *Server) WaitPDF(t testing.TB, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(s.Out, "*.pdf"))
		for _, p := range m {
			// cups-pdf writes through Ghostscript, then sets the mode; a
			// complete PDF ends with %%EOF.
			b, err := os.ReadFile(p)
			if !s.seen[p] && err == nil && len(b) > 0 && strings.Contains(string(b[max(0, len(b)-64):]), "%%EOF") {
				s.seen[p] = true
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	jobs, _ := exec.Command("lpstat", "-W", "all", "-o").CombinedOutput()
	t.Fatalf("kein PDF in %s nach %s; Aufträge:\n%s\n%s", s.Out, timeout, jobs, s.Log())
	return ""
}

// Log returns the tail of the scheduler's and the backend's logs, for
// failure messages.
func (s *Server) Log() string {
	var b strings.Builder
	for _, p := range []string{filepath.Join(s.Dir, "log/error_log"), filepath.Join(s.Dir, "log/cupsd.out")} {
		data, _ := os.ReadFile(p)
		lines := strings.Split(string(data), "\n")
		fmt.Fprintf(&b, "--- %s ---\n%s\n", p, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
	m, _ := filepath.Glob(filepath.Join(s.log, "cups-pdf*"))
	for _, p := range m {
		data, _ := os.ReadFile(p)
		lines := strings.Split(string(data), "\n")
		fmt.Fprintf(&b, "--- %s ---\n%s\n", p, strings.Join(lines[max(0, len(lines)-20):], "\n"))
	}
	return b.String()
}

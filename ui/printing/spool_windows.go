//go:build windows

package printing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const spoolerName = "Windows PowerShell"

// psPrint prints the file named by AMTSTRESEN_PDF through the program
// registered for PDF files (the "Print" verb, or "PrintTo" with a printer
// name). File and printer come in through the environment, never through
// the command line, so no quoting can break. Exit codes: 2 no default
// printer, 3 unknown printer, 4 no program prints PDFs.
const psPrint = `$ErrorActionPreference = 'Stop'
$f = $env:AMTSTRESEN_PDF
$p = $env:AMTSTRESEN_PRINTER
try {
  if ($p) {
    if (-not (Get-CimInstance -ClassName Win32_Printer | Where-Object { $_.Name -eq $p })) { exit 3 }
    Start-Process -FilePath $f -Verb PrintTo -ArgumentList ('"' + $p + '"') -WindowStyle Hidden
  } else {
    if (-not (Get-CimInstance -ClassName Win32_Printer -Filter 'Default=TRUE')) { exit 2 }
    Start-Process -FilePath $f -Verb Print -WindowStyle Hidden
  }
} catch {
  [Console]::Error.WriteLine($_.Exception.Message)
  exit 4
}
exit 0
`

// spool writes the PDF to a private folder below dir (the PDF viewer
// reads it after this returns) and starts printing it. Files older than a
// day are removed there first: they have been printed long since.
func spool(ctx context.Context, printer string, j Job, dir string) (string, error) {
	ps, err := exec.LookPath("powershell.exe")
	if err != nil {
		return "", &spoolError{reason: noPrintSystem, err: err}
	}
	queue := filepath.Join(dir, "Druckauftraege")
	cleanOld(queue, 24*time.Hour)
	path, err := Save(queue, j.FileName, j.Data)
	if err != nil {
		return "", &spoolError{reason: refused, err: fmt.Errorf("write print file: %w", err)}
	}
	cmd := exec.CommandContext(ctx, ps, "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", psPrint)
	cmd.Env = append(os.Environ(), "AMTSTRESEN_PDF="+path, "AMTSTRESEN_PRINTER="+printer)
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: 0x08000000} // CREATE_NO_WINDOW
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err == nil {
		return "", nil
	}
	os.Remove(path)
	msg := strings.TrimSpace(string(out))
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return "", &spoolError{reason: notResponding, detail: msg, err: ctx.Err()}
	case !errors.As(err, &ee):
		return "", &spoolError{reason: refused, detail: msg, err: err}
	case ee.ExitCode() == 2:
		return "", &spoolError{reason: noDefault, detail: msg, err: err}
	case ee.ExitCode() == 3:
		return "", &spoolError{reason: unknownPrinter, detail: msg, err: err}
	case ee.ExitCode() == 4:
		return "", &spoolError{reason: noPDFHandler, detail: msg, err: err}
	}
	return "", &spoolError{reason: refused, detail: msg, err: err}
}

// cleanOld removes files in dir older than age.
func cleanOld(dir string, age time.Duration) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() && time.Since(info.ModTime()) > age {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

//go:build !windows

package printing

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

const spoolerName = "CUPS, Befehl „lp“"

var requestID = regexp.MustCompile(`request id is (\S+)`)

// spool hands the PDF to CUPS on its standard input: no temporary file
// with personal data is left behind. The CUPS server is the one lp finds
// (CUPS_SERVER, client.conf, the local default).
func spool(ctx context.Context, printer string, j Job, _ string) (string, error) {
	lp, err := exec.LookPath("lp")
	if err != nil {
		return "", &spoolError{reason: noPrintSystem, err: err}
	}
	args := []string{}
	if printer != "" {
		args = append(args, "-d", printer)
	}
	if j.Title != "" {
		args = append(args, "-t", j.Title)
	}
	args = append(args, "-o", "media=A4")
	cmd := exec.CommandContext(ctx, lp, args...)
	cmd.Stdin = bytes.NewReader(j.Data)
	cmd.WaitDelay = time.Second // a killed lp's children must not hold us
	// English messages, so that the refusal can be told apart.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err == nil {
		if m := requestID.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], nil
		}
		return "", nil
	}
	msg := strings.TrimSpace(stderr.String())
	msg = strings.TrimPrefix(msg, "lp: ")
	low := strings.ToLower(msg)
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return "", &spoolError{reason: notResponding, detail: msg, err: ctx.Err()}
	case !errors.As(err, &ee):
		return "", &spoolError{reason: refused, detail: msg, err: err}
	case (strings.Contains(low, "no default destination") || strings.Contains(low, "does not exist") ||
		strings.Contains(low, "unknown destination")) && !schedulerRunning(ctx):
		// lp says so too when it cannot reach the scheduler at all.
		return "", &spoolError{reason: notResponding, detail: msg, err: err}
	case strings.Contains(low, "no default destination"):
		return "", &spoolError{reason: noDefault, detail: msg, err: err}
	case strings.Contains(low, "does not exist"), strings.Contains(low, "unknown destination"):
		return "", &spoolError{reason: unknownPrinter, detail: msg, err: err}
	case strings.Contains(low, "scheduler not responding"), strings.Contains(low, "unable to connect"),
		strings.Contains(low, "connection refused"), strings.Contains(low, "no such file or directory"):
		return "", &spoolError{reason: notResponding, detail: msg, err: err}
	}
	return "", &spoolError{reason: refused, detail: msg, err: err}
}

// schedulerRunning asks CUPS whether its scheduler answers. When in doubt
// (no lpstat) it says yes, so that lp's own message stands.
func schedulerRunning(ctx context.Context) bool {
	lpstat, err := exec.LookPath("lpstat")
	if err != nil {
		return true
	}
	cmd := exec.CommandContext(ctx, lpstat, "-r")
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.WaitDelay = time.Second
	out, _ := cmd.CombinedOutput()
	return !strings.Contains(string(out), "not running")
}

package platform

import (
	"os"
	"strings"
)

// The program speaks German whatever the system's locale, and it must say
// so before Fyne asks: Fyne's lang package reads the locale in its init,
// before any code of ours runs, and logs to stderr what it cannot parse
// ("Fyne error: Error parsing user locale C" for LC_ALL=C.UTF-8, the
// locale of systemd units and cron jobs), so a headless command would
// print an error that is none. This package's init runs before Fyne's:
// Go initialises packages in the order of their import paths as far as
// their imports allow, "amtstresen/…" comes before "fyne.io/…", and this
// package imports nothing Fyne does not import too.
// TestHeadlessCommandsQuiet (ui/cli) proves it on the built program.
func init() { setLocale(os.Getenv, os.Setenv) }

// setLocale names German (LANGUAGE=de) as the language for messages when
// the system names none: the locale for messages (LC_ALL, else
// LC_MESSAGES, else LANG) is unset, empty or the C/POSIX locale
// ("C.UTF-8" too), and LANGUAGE is not set. LANGUAGE only chooses the
// language of translated messages (gettext ignores it under the C
// locale), never how text is encoded, sorted or printed; an explicit
// LANGUAGE or a real locale stays as it is.
func setLocale(getenv func(string) string, setenv func(string, string) error) {
	if getenv("LANGUAGE") != "" {
		return
	}
	loc := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if loc = getenv(k); loc != "" {
			break
		}
	}
	base, _, _ := strings.Cut(loc, ".")
	base, _, _ = strings.Cut(base, "@")
	if base == "" || base == "C" || base == "POSIX" {
		_ = setenv("LANGUAGE", "de")
	}
}

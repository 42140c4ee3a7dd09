package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The command line's help is German, like everything the admin reads: the
// flag package's own texts ("Usage of …", "flag: help requested",
// "flag provided but not defined") never reach the screen.

// synopsis is what follows "amtstresen BEFEHL" in a command's usage line.
var synopsis = map[string]string{
	"gui":           "[--db DATEI] [--config DATEI]",
	"confirm":       "AKTENZEICHEN … [-o DATEI.pdf] [--appointment UID] [--art ART]",
	"print":         "AKTENZEICHEN … [--printer NAME] [--appointment UID] [--art ART]",
	"roles":         "[list] | set KONTO clerk|lead|admin [DIENSTSTELLE] [--name NAME] [--password-env VAR] | remove KONTO",
	"restore":       "SICHERUNGSDATEI [--force]",
	"office-key":    "create|show DIENSTSTELLE",
	"export-person": "--name NAME --geburtsdatum TT.MM.JJJJ | --email ADRESSE [-o ORDNER]",
	"migrate-db":    "--to postgres://MIGRATIONSROLLE@SERVER/DATENBANK?sslmode=verify-full [--db DATEI] [--password-env VAR]",
}

// summaries are the commands' one-line descriptions (filled from commands
// at start; commands refers to the functions that print usage).
var summaries = map[string]string{}

func init() {
	for n, c := range commands {
		summaries[n] = c.summary
	}
}

// helpText is the help a command was asked for: run prints it to stdout
// and exits with 0.
type helpText string

func (h helpText) Error() string { return string(h) }

// isHelp reports whether a is one of the ways to ask for help.
func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "-?" }

// parseFlags parses args; --help prints the command's usage to stdout
// (errHelp), any other mistake is a German usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		if fs.Name() == "gui" {
			var b strings.Builder
			usage(&b)
			return helpText(b.String())
		}
		return helpText(commandUsage(fs))
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: "):
		msg = fmt.Sprintf("Unbekannte Option %s.", strings.TrimPrefix(msg, "flag provided but not defined: "))
	case strings.HasPrefix(msg, "flag needs an argument: "):
		msg = fmt.Sprintf("Die Option %s braucht einen Wert.", strings.TrimPrefix(msg, "flag needs an argument: "))
	case strings.HasPrefix(msg, "invalid boolean value"), strings.HasPrefix(msg, "invalid value"):
		msg = "Ungültiger Wert: " + msg
	}
	return usageError(msg + "\n" + commandUsage(fs))
}

// commandUsage is the German usage of one command: its line, what it does,
// and its options with their defaults.
func commandUsage(fs *flag.FlagSet) string {
	var b strings.Builder
	name := fs.Name()
	line := "Aufruf: amtstresen " + name
	if s := synopsis[name]; s != "" {
		line += " " + s
	}
	fmt.Fprintln(&b, line)
	if sum := summaries[name]; sum != "" {
		fmt.Fprintf(&b, "\n%s\n", sum)
	}
	var opts []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { opts = append(opts, f) })
	fmt.Fprintln(&b, "\nOptionen:")
	for _, f := range opts {
		arg := ""
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
			arg = " WERT"
		}
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		fmt.Fprintf(&b, "  %-22s %s", dash+f.Name+arg, f.Usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(&b, " (Standard: %s)", f.DefValue)
		}
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "  %-22s %s\n", "--db DATEI", "diese Datenbank statt der Standarddatenbank")
	fmt.Fprintf(&b, "  %-22s %s\n", "--config DATEI", "diese Konfigurationsdatei")
	fmt.Fprintf(&b, "  %-22s %s\n", "-h, --help", "diese Hilfe")
	return b.String()
}

// usage is the overview of all commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "Aufruf: amtstresen [BEFEHL] [--db DATEI] [--config DATEI] [OPTIONEN]")
	fmt.Fprintln(w, "\nOhne Befehl öffnet sich das Fenster. Die Befehle laufen ohne Fenster (nächtliche Aufträge, Skripte).")
	fmt.Fprintln(w, "\nBefehle:")
	var names []string
	for n := range summaries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, summaries[n])
	}
	fmt.Fprintln(w, "\nHilfe zu einem Befehl: amtstresen BEFEHL --help (oder amtstresen help BEFEHL).")
}

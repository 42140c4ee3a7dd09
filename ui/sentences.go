package ui

import (
	"regexp"
	"strings"
	gosync "sync"

	"fyne.io/fyne/v2/lang"
)

// Sentences made in app (routing reasons, what is wrong with a field) and
// in the sync (its summary) are German: they are stored, logged and
// printed. The window shows them in the chosen language: each German
// pattern below is a translation key, with the variable parts as
// {{.A}}, {{.B}}, …; translateSentence finds the pattern, translates the
// parts that are words of their own ("Wohnanschrift", "Kreisverwaltung")
// and fills in the translation. German stays as it is.
var sentencePatterns = []string{
	// Routing (app/routing.go, app/intake.go).
	"{{.A}} liegt in {{.B}}, {{.C}}",
	"{{.A}} ist Aufgabe des Kreises",
	"Termin bei der {{.A}} gebucht",
	"Die Leistung „{{.A}}“ steht nicht im Leistungskatalog; bitte die zuständige Stelle von Hand festlegen.",
	"Zuständigkeit unklar: Angabe zu {{.A}} fehlt.",
	"Zuständigkeit unklar: {{.A}} ist nicht lesbar.",
	"{{.A}} liegt außerhalb des Landkreises Cochem-Zell ({{.B}}).",
	"Zuständigkeit unklar: Postleitzahl {{.A}} passt nicht zu {{.B}} ({{.C}}); bitte die Gemeinde prüfen.",
	"Zuständigkeit unklar: „{{.A}}“ ist mehrdeutig ({{.B}}); bitte die Gemeinde wählen.",
	"Zuständigkeit unklar: Gemeindeschlüssel {{.A}} ist im Landkreis nicht bekannt.",
	"Zuständigkeit unklar: {{.A}} ohne Ort und Postleitzahl.",
	"Zuständigkeit unklar: Postleitzahl „{{.A}}“ ist ungültig.",
	"Zuständigkeit unklar: Ort fehlt",
	"Zuständigkeit unklar: „{{.A}}“ ist keine Ortsgemeinde des Landkreises und eine Postleitzahl fehlt.",
	"Zuständigkeit unklar: „{{.A}}“ ist keine Ortsgemeinde des Landkreises",
	"zur Postleitzahl {{.A}} gehört im Kreis {{.B}}.",
	"zur Postleitzahl {{.A}} gehören im Kreis {{.B}}.",
	"Zuständigkeit: erst die Leistung wählen.",
	// Fields (app/intake.go, app/catalog.go, app/timefmt.go).
	"Bitte ausfüllen.",
	"Bitte eine Leistung wählen.",
	"Die Leistung „{{.A}}“ steht nicht im Leistungskatalog.",
	"Für diese Leistung gibt es nur Termine, keinen Antrag.",
	"Bitte ein Datum angeben (TT.MM.JJJJ).",
	"Das Datum darf nicht in der Zukunft liegen.",
	"Das Datum darf nicht in der Vergangenheit liegen.",
	"Das Datum liegt zu weit zurück; bitte prüfen.",
	"Den {{.A}} gibt es nicht (der {{.B}} hat weniger Tage); bitte das Datum prüfen (TT.MM.JJJJ).",
	"Einen Monat {{.A}} gibt es nicht; bitte das Datum prüfen (TT.MM.JJJJ).",
	"Einen Tag {{.A}} gibt es nicht; bitte das Datum prüfen (TT.MM.JJJJ).",
	"Die Postleitzahl hat fünf Ziffern.",
	"Die E-Mail-Adresse ist unvollständig (Beispiel: name@example.org).",
	"Erwartet wird ein Text.",
	"Höchstens {{.A}} Zeichen.",
	"Das Format stimmt nicht.",
	"Erlaubt sind: {{.A}}.",
	"Höchstens {{.A}} Tage nach {{.B}}.",
	"Bitte eine Uhrzeit angeben (HH:MM).",
	"„{{.A}}“ ist keine Gemeinde im Landkreis Cochem-Zell.",
	"\"{{.A}}\" ist keine Gemeinde im Landkreis Cochem-Zell.",
	"{{.A}} ist keine Gemeinde im Landkreis Cochem-Zell.",
	"Darf nicht vor {{.A}} liegen.",
	"Erwartet wird ja oder nein.",
	"Bitte eine Zahl angeben.",
	"Bitte eine ganze Zahl angeben.",
	"Mindestens {{.A}}.",
	"Höchstens {{.A}}.",
	"Bitte mindestens eine Gemeinde angeben.",
	"Erwartet wird eine Anschrift.",
	"{{.A}} fehlt.",
	"Erwartet wird eine Liste.",
	"Bitte mindestens {{.A}} Eintrag angeben.",
	"Höchstens {{.A}} Einträge.",
	"Eintrag {{.A}}: Bezeichnung fehlt.",
	"Eintrag {{.A}}: Anzahl muss eine ganze Zahl ab 1 sein.",
	"Eintrag {{.A}}: Art {{.B}} ist nicht vorgesehen (erlaubt: {{.C}}).",
	// The portal sync's summary (sync.Result.Summary), one part each.
	"keine neuen Sendungen",
	"{{.N}} Mails geprüft",
	"{{.N}} Antrag übernommen",
	"{{.N}} Anträge übernommen",
	"{{.N}} Antrag doppelt (schon vorhanden)",
	"{{.N}} Anträge doppelt (schon vorhanden)",
	"{{.N}} Nachricht",
	"{{.N}} Nachrichten",
	"{{.N}} Rücknahme",
	"{{.N}} Rücknahmen",
	"{{.N}} Termin",
	"{{.N}} Termine",
	"{{.N}} veraltete Terminmeldung",
	"{{.N}} veraltete Terminmeldungen",
	"{{.N}} Mail zur Sichtung",
	"{{.N}} Mails zur Sichtung",
	"{{.N}} Mail nachträglich abgelegt",
	"{{.N}} Mails nachträglich abgelegt",
}

// sentenceWords are the words that stand alone in those sentences and are
// translated on their own.
var sentenceWords = []string{"Wohnanschrift", "Grundstück", "Abholanschrift", "Veranstaltungsort", "Gemeinden", "Einrichtung",
	"Anschrift", "Kreisverwaltung", "Straße", "Postleitzahl", "Ort", "Sperrmüll", "Elektrogroßgeräte", "Januar", "Februar", "März",
	"April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}

type sentencePattern struct {
	key  string
	re   *regexp.Regexp
	vars []string
}

var (
	patternsOnce gosync.Once
	patterns     []sentencePattern
	placeholder  = regexp.MustCompile(`\{\{\.([A-Z])\}\}`) // {{.N}} stands for a number
)

func compiledPatterns() []sentencePattern {
	patternsOnce.Do(func() {
		for _, k := range sentencePatterns {
			var vars []string
			expr := "^"
			rest := k
			for {
				loc := placeholder.FindStringSubmatchIndex(rest)
				if loc == nil {
					expr += regexp.QuoteMeta(rest)
					break
				}
				group := "(.+?)"
				if rest[loc[2]:loc[3]] == "N" {
					group = "([0-9][0-9.]*)"
				}
				expr += regexp.QuoteMeta(rest[:loc[0]]) + group
				vars = append(vars, rest[loc[2]:loc[3]])
				rest = rest[loc[1]:]
			}
			patterns = append(patterns, sentencePattern{key: k, re: regexp.MustCompile(expr + "$"), vars: vars})
		}
	})
	return patterns
}

// germanUI reports whether the window shows German (then nothing needs
// translating).
func germanUI() bool { return lang.L("Arbeitsvorrat") == "Arbeitsvorrat" }

// translateSentence shows a sentence made in app or the sync in the
// window's language. Sentences joined by "; " or ", " are translated part
// by part; a part no pattern knows stays as it is.
func translateSentence(s string) string {
	if s == "" || germanUI() {
		return s
	}
	if t, ok := translateOne(s); ok {
		return t
	}
	for _, sep := range []string{"; ", ", "} {
		if !strings.Contains(s, sep) {
			continue
		}
		parts := strings.Split(s, sep)
		done := false
		for i, p := range parts {
			if t, ok := translateOne(p); ok {
				parts[i], done = t, true
			}
		}
		if done {
			return strings.Join(parts, sep)
		}
	}
	return s
}

func translateOne(s string) (string, bool) {
	for _, p := range compiledPatterns() {
		m := p.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		data := map[string]any{}
		for i, v := range p.vars {
			data[v] = translateWord(m[i+1])
		}
		return lang.L(p.key, data), true
	}
	return s, false
}

// translateWord translates a word of its own ("Wohnanschrift"); names and
// numbers stay.
func translateWord(w string) string {
	for _, x := range sentenceWords {
		if x == w {
			return lang.L(w)
		}
	}
	if strings.HasPrefix(w, "VG ") {
		return w
	}
	return w
}

// translateReason is translateSentence for routing reasons.
func translateReason(s string) string { return translateSentence(s) }

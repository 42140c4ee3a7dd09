package ui

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"amtstresen/app"
	"amtstresen/assets"
)

// Languages the clerk can choose in Einstellungen. German is the default,
// whatever the operating system's language is.
const (
	LangGerman  = "de"
	LangEnglish = "en"
)

// setupLanguage loads the translations so that choice ("de" or "en") is
// what the window shows. Fyne picks the translation closest to the system
// locale (on Linux from LANGUAGE/LC_ALL/LANG, on Windows from the user's UI
// language, which no environment variable changes). So the chosen language
// is registered under the system's locale and its base language as well,
// together with Fyne's own widget texts in that language: an English
// Windows shows German unless the clerk chose English.
func setupLanguage(choice string) error {
	if choice != LangEnglish {
		choice = LangGerman
	}
	ours, err := assets.Lang.ReadFile("lang/" + choice + ".json")
	if err != nil {
		return fmt.Errorf("read translations: %w", err)
	}
	base, err := assets.Lang.ReadFile("lang/fyne." + choice + ".json")
	if err != nil {
		return fmt.Errorf("read translations: %w", err)
	}
	sys := lang.SystemLocale()
	seen := map[fyne.Locale]bool{}
	for _, l := range []fyne.Locale{fyne.Locale(choice), fyne.Locale(sys.LanguageString()), sys} {
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		if err := lang.AddTranslationsForLocale(base, l); err != nil {
			return fmt.Errorf("load translations: %w", err)
		}
		if err := lang.AddTranslationsForLocale(ours, l); err != nil {
			return fmt.Errorf("load translations: %w", err)
		}
	}
	return nil
}

// Labels of domain codes: the German text comes from app, a translation
// may replace it (key "status.received" etc.).

func statusLabel(s app.Status) string { return lang.X("status."+string(s), s.Label()) }

func flagLabel(f app.Flag) string { return lang.X("flag."+string(f), f.Label()) }

func flagsLabel(fs []app.Flag) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = flagLabel(f)
	}
	return strings.Join(parts, ", ")
}

func reviewReasonLabel(r app.ReviewReason) string {
	return lang.X("review."+string(r), r.Label())
}

func appointmentStatusLabel(a *app.Appointment) string {
	switch {
	case a.Status == app.AppointmentCancelled:
		return lang.L("Abgesagt")
	case a.Sequence > 0:
		return lang.L("Verschoben")
	}
	return lang.L("Gebucht")
}

func attendanceLabel(att app.Attendance) string {
	switch att {
	case app.AttendanceCheckedIn:
		return lang.L("Eingecheckt")
	case app.AttendanceNoShow:
		return lang.L("Nicht erschienen")
	}
	return ""
}

// officeShort returns "VG Zell (Mosel)", "Kreisverwaltung" or a placeholder.
func officeShort(reg *app.Registry, k app.OfficeKey) string {
	if o := reg.Office(k); o != nil {
		if o.VG == "" {
			return lang.L("Kreisverwaltung")
		}
		return o.Short()
	}
	if k == "" {
		return lang.L("nicht zugeordnet")
	}
	return string(k)
}

func serviceName(reg *app.Registry, key string) string {
	if s := reg.Catalog.Service(key); s != nil {
		return s.Name
	}
	return app.Safe(key)
}

func municipalityName(reg *app.Registry, ags string) string {
	if m := reg.Municipality(ags); m != nil {
		return m.Name
	}
	return ags
}

// formatCount writes 100000 as "100.000".
func formatCount(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + formatCount(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatSize writes a file size the German way: "47,1 KB".
func formatSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return strings.Replace(fmt.Sprintf("%.1f KB", float64(n)/1024), ".", ",", 1)
	}
	return strings.Replace(fmt.Sprintf("%.1f MB", float64(n)/1024/1024), ".", ",", 1)
}

// fieldLabelText is a catalog field's label in the window's language: the
// catalog is German; a translation may name it ("feld.hund.chipnummer").
func fieldLabelText(path, label string) string {
	if path == "" || germanUI() {
		return label // the catalog's own words (it may be replaced by the admin)
	}
	return lang.X("feld."+path, label)
}

// textIn returns the translation of key in language choice ("de", "en"),
// whatever the window shows now; key itself when there is none.
func textIn(choice, key string) string {
	b, err := assets.Lang.ReadFile("lang/" + choice + ".json")
	if err != nil {
		return key
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return key
	}
	if s, ok := m[key].(string); ok && s != "" {
		return s
	}
	return key
}

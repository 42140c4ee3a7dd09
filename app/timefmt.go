package app

import (
	"time"
	_ "time/tzdata" // Windows PCs have no zoneinfo; Europe/Berlin must always load
)

// Berlin is the time zone every time is shown in. Times are stored in UTC.
var Berlin = mustLoad("Europe/Berlin")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// FormatDate returns "27.11.2026".
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Berlin).Format("02.01.2006")
}

// FormatDateTime returns "27.11.2026, 18:04 Uhr".
func FormatDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Berlin).Format("02.01.2006, 15:04") + " Uhr"
}

// FormatISODate turns "2026-11-27" into "27.11.2026"; other input is returned as is.
func FormatISODate(s string) string {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return t.Format("02.01.2006")
}

// ParseGermanDate accepts "27.11.2026", "27.11.26" and "2026-11-27" and
// returns the ISO form.
func ParseGermanDate(s string) (string, bool) {
	for _, layout := range []string{"02.01.2006", "2.1.2006", "02.01.06", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

package app

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
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

var dateShape = regexp.MustCompile(`^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{2}|[0-9]{4})$|^([0-9]{4})-([0-9]{2})-([0-9]{2})$`)

// DateProblem says in German what is wrong with a date that does not
// parse: a day that does not exist ("31.02.2026") is named as such, not
// mistaken for a wrong format.
func DateProblem(s string) string {
	s = strings.TrimSpace(s)
	if m := dateShape.FindStringSubmatch(s); m != nil {
		d, mo := m[1], m[2]
		if m[4] != "" {
			d, mo = m[6], m[5]
		}
		day, _ := strconv.Atoi(d)
		month, _ := strconv.Atoi(mo)
		switch {
		case month < 1 || month > 12:
			return fmt.Sprintf("Einen Monat %d gibt es nicht; bitte das Datum prüfen (TT.MM.JJJJ).", month)
		case day < 1 || day > 31:
			return fmt.Sprintf("Einen Tag %d gibt es nicht; bitte das Datum prüfen (TT.MM.JJJJ).", day)
		}
		months := []string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}
		return fmt.Sprintf("Den %s gibt es nicht (der %s hat weniger Tage); bitte das Datum prüfen (TT.MM.JJJJ).", s, months[month-1])
	}
	return "Bitte ein Datum angeben (TT.MM.JJJJ)."
}

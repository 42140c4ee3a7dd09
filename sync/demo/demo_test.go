package demo

import (
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// Issue 13, point 7: the demo's people are consistent (no "Herr Anna"),
// appointments fall on working days of Rhineland-Palatinate only, and
// there are some on the day the demo runs.
func TestDemoDataBelievable(t *testing.T) {
	women := map[string]bool{}
	for _, n := range women0() {
		women[n] = true
	}
	for _, now := range []time.Time{
		time.Date(2026, 11, 27, 18, 4, 30, 0, app.Berlin), // a Friday
		time.Date(2026, 12, 24, 9, 0, 0, 0, app.Berlin),   // Christmas Eve, before two holidays and a Sunday
		time.Date(2026, 12, 6, 9, 0, 0, 0, app.Berlin),    // a Sunday
	} {
		g := NewGenerator(2026)
		g.Now = now
		for i := 0; i < 300; i++ {
			a := g.Applicant()
			if (a.Salutation == "Frau" && !women[a.FirstName]) || (a.Salutation == "Herr" && women[a.FirstName]) {
				t.Fatalf("%s %s", a.Salutation, a.Name())
			}
		}
		today := app.NextWorkingDay(now).Format("2006-01-02")
		onToday := 0
		for _, m := range g.Mix(200) {
			if m.Kind != "termin" {
				continue
			}
			start := dtstart(t, m.Raw)
			if start.IsZero() {
				continue // a cancellation may carry no time
			}
			if !app.IsWorkingDay(start) {
				t.Errorf("appointment on %s (%s)", start.Format("Mon 02.01.2006"), now.Format("02.01."))
			}
			if start.Format("2006-01-02") == today {
				onToday++
			}
		}
		if onToday < 3 {
			t.Errorf("%d appointments on %s", onToday, today)
		}
	}
}

func women0() []string { return women }

// dtstart reads the appointment's start from the calendar part.
func dtstart(t *testing.T, raw []byte) time.Time {
	t.Helper()
	s := string(raw)
	// The text part says "Terminbestätigung für …\n…\n02.01.2006, 15:04 Uhr".
	for _, l := range strings.Split(s, "\r\n") {
		if strings.HasSuffix(l, " Uhr") && len(l) == len("02.01.2006, 15:04 Uhr") {
			ts, err := time.ParseInLocation("02.01.2006, 15:04 Uhr", l, app.Berlin)
			if err == nil {
				return ts
			}
		}
	}
	return time.Time{}
}

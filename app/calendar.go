package app

import (
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/de"
)

// Working days of the offices: Monday to Friday except the public holidays
// of Rhineland-Palatinate (data/feiertage_rlp.md), from rickar/cal's
// list for Rheinland-Pfalz.
var workdays = func() *cal.BusinessCalendar {
	c := cal.NewBusinessCalendar()
	c.AddHoliday(de.HolidaysRP...)
	return c
}()

// IsWorkingDay reports whether the offices are open on t's day (Europe/Berlin).
func IsWorkingDay(t time.Time) bool {
	return workdays.IsWorkday(t.In(Berlin))
}

// NextWorkingDay returns t's day if it is a working day, else the next one
// (midnight, Europe/Berlin).
func NextWorkingDay(t time.Time) time.Time {
	y, m, d := t.In(Berlin).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, Berlin)
	for !IsWorkingDay(day.Add(12 * time.Hour)) {
		day = day.AddDate(0, 0, 1)
	}
	return day
}

package app

import (
	"context"
	"fmt"
	"time"
)

// AppointmentStatus of a booking.
type AppointmentStatus string

const (
	AppointmentConfirmed AppointmentStatus = "confirmed"
	AppointmentCancelled AppointmentStatus = "cancelled"
)

// Label returns the German word.
func (s AppointmentStatus) Label() string {
	if s == AppointmentCancelled {
		return "Abgesagt"
	}
	return "Gebucht"
}

// Attendance at the counter, set by the clerk on the day.
type Attendance string

const (
	AttendanceNone      Attendance = ""
	AttendanceCheckedIn Attendance = "checked_in"
	AttendanceNoShow    Attendance = "no_show"
)

// Appointment is a booking from the portal (RFC 5545 VEVENT).
type Appointment struct {
	UID          string // booking id, stable for the booking's life
	Sequence     int
	PortalCase   string
	Service      string
	Office       OfficeKey
	Start, End   time.Time
	CitizenName  string
	CitizenEmail string
	Location     string
	Status       AppointmentStatus
	Attendance   Attendance
	// AttendanceNote is the lead's reason when the attendance was
	// recorded against the rules (CheckAttendance).
	AttendanceNote string
	UpdatedAt      time.Time
}

// CheckAttendance says whether att may be recorded for a at now: check-in
// only on the appointment's day (Europe/Berlin), "did not come" only once
// the appointment has begun, nothing on a cancelled one; taking a record
// back is always possible. A lead may record it anyway, with a reason
// (AttendanceOverrider).
func CheckAttendance(a *Appointment, att Attendance, now time.Time) error {
	switch att {
	case AttendanceNone:
		return nil
	case AttendanceCheckedIn, AttendanceNoShow:
	default:
		return Errorf(EINVALID, "Unbekannte Angabe zur Anwesenheit „%s“.", att)
	}
	if a.Status == AppointmentCancelled {
		return Errorf(EINVALID, "Der Termin ist abgesagt; eine Anwesenheit kann nicht erfasst werden.")
	}
	if a.Start.IsZero() {
		return Errorf(EINVALID, "Der Termin hat keine Uhrzeit; eine Anwesenheit kann nicht erfasst werden.")
	}
	day := func(t time.Time) string { return t.In(Berlin).Format("2006-01-02") }
	switch {
	case att == AttendanceCheckedIn && day(now) != day(a.Start):
		return &Error{Code: EINVALID, Field: "attendance", Message: fmt.Sprintf(
			"Einchecken geht nur am Tag des Termins (%s). Eine Leitung kann es mit Begründung trotzdem erfassen.", FormatDateTime(a.Start))}
	case att == AttendanceNoShow && now.Before(a.Start):
		return &Error{Code: EINVALID, Field: "attendance", Message: fmt.Sprintf(
			"„Nicht erschienen“ lässt sich erst nach Beginn des Termins (%s) erfassen.", FormatDateTime(a.Start))}
	}
	return nil
}

// AttendanceOverrider records an attendance the rules of CheckAttendance
// would refuse (a citizen who came on another day), with a reason; only a
// lead may (app.Scoped checks the role), and it is audited.
type AttendanceOverrider interface {
	OverrideAttendance(ctx context.Context, uid string, att Attendance, reason string, by Actor) error
}

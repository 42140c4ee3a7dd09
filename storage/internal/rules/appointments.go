package rules

import (
	"fmt"
	"strings"
	"time"

	"amtstresen/app"
)

// CheckAppointment checks a booking as the portal sent it.
func CheckAppointment(a *app.Appointment) error {
	if a == nil || strings.TrimSpace(a.UID) == "" {
		return app.Errorf(app.EINVALID, "Der Termin hat keine Kennung (UID).")
	}
	if a.Status != app.AppointmentConfirmed && a.Status != app.AppointmentCancelled {
		return app.Errorf(app.EINVALID, "Unbekannter Terminstatus „%s“.", a.Status)
	}
	if a.Sequence < 0 {
		return app.Errorf(app.EINVALID, "Ungültige Versionsnummer (SEQUENCE %d) des Termins.", a.Sequence)
	}
	return nil
}

// ApplyAppointment decides what storing version a over old (nil: none)
// writes: nil when a is stale (app.Supersedes), else the booking to
// store. Details a lacks (a CANCEL often carries no time or name) are kept
// from old, and so is the attendance the clerk recorded. The audit entry
// is written either way.
func ApplyAppointment(a, old *app.Appointment, now time.Time) (*app.Appointment, app.AuditEntry) {
	e := app.AuditEntry{At: now, Clerk: app.PortalActor.Clerk, Action: app.ActionAppointmentApply, Ref: a.UID,
		Detail: fmt.Sprintf("%s seq=%d", a.Status, a.Sequence)}
	if !app.Supersedes(a, old) {
		e.Action = app.ActionAppointmentStale
		return nil, e
	}
	n := *a
	if old != nil {
		keep := func(dst *string, src string) {
			if *dst == "" {
				*dst = src
			}
		}
		keep(&n.Service, old.Service)
		keep((*string)(&n.Office), string(old.Office))
		keep(&n.CitizenName, old.CitizenName)
		keep(&n.CitizenEmail, old.CitizenEmail)
		keep(&n.Location, old.Location)
		keep(&n.PortalCase, old.PortalCase)
		if n.Start.IsZero() {
			n.Start, n.End = old.Start, old.End
		}
		n.Attendance, n.AttendanceNote = old.Attendance, old.AttendanceNote
	} else {
		n.Attendance = app.AttendanceNone
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = now
	}
	return &n, e
}

// AttendanceInput checks the attendance to record.
func AttendanceInput(att app.Attendance, by app.Actor) error {
	if err := NeedClerk(by); err != nil {
		return err
	}
	switch att {
	case app.AttendanceNone, app.AttendanceCheckedIn, app.AttendanceNoShow:
		return nil
	}
	return app.Errorf(app.EINVALID, "Unbekannte Angabe zur Anwesenheit „%s“.", att)
}

// OverrideReason checks the reason of an attendance recorded against the
// rules and returns it trimmed.
func OverrideReason(reason string) (string, error) {
	if strings.TrimSpace(reason) == "" {
		return "", &app.Error{Code: app.EINVALID, Field: "reason", Message: "Bitte begründen, warum die Anwesenheit abweichend von den Regeln erfasst wird; die Begründung wird gespeichert."}
	}
	return strings.TrimSpace(reason), nil
}

// Attendance decides recording att on a at now under app.CheckAttendance;
// override is the reason to record it anyway ("" none). It returns the
// note to keep on the appointment ("" within the rules) and the audit
// entry.
func Attendance(a *app.Appointment, att app.Attendance, override string, by app.Actor, now time.Time) (string, app.AuditEntry, error) {
	if err := app.CheckAttendance(a, att, now); err != nil {
		if override == "" || a.Status == app.AppointmentCancelled {
			return "", app.AuditEntry{}, err
		}
	} else {
		override = "" // within the rules: nothing to justify
	}
	d := string(att)
	if d == "" {
		d = "none"
	}
	if override != "" {
		d += " override"
	}
	return override, app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: a.Office, Action: app.ActionAppointmentAttendance, Ref: a.UID, Detail: d}, nil
}

// AppointmentNotFound is the error for an unknown booking.
func AppointmentNotFound() error {
	return app.Errorf(app.ENOTFOUND, "Den Termin gibt es nicht (mehr).")
}

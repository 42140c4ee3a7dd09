package app

import "time"

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
	UpdatedAt    time.Time
}

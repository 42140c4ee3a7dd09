package app

import "time"

// ReviewJSON is one mail on the review list (`amtstresen review --json`).
// The field set is fixed by contract; see README.
type ReviewJSON struct {
	MessageID  string `json:"message_id"`
	Subject    string `json:"subject"`
	From       string `json:"from"`
	Reason     string `json:"reason"`
	ReceivedAt string `json:"received_at"`
	// Handled is false while the mail is open on the list.
	Handled    bool   `json:"handled"`
	HandledAt  string `json:"handled_at,omitempty"`
	HandledBy  string `json:"handled_by,omitempty"`
	Resolution string `json:"resolution,omitempty"` // "assigned:REF", "case:REF", "handled"
}

// NewReviewJSON converts a review item.
func NewReviewJSON(r *ReviewItem) ReviewJSON {
	return ReviewJSON{MessageID: r.MessageID, Subject: r.Subject, From: r.From, Reason: string(r.Reason),
		ReceivedAt: rfc3339(r.ReceivedAt), Handled: r.Handled, HandledAt: rfc3339(r.HandledAt), HandledBy: r.HandledBy,
		Resolution: r.Resolution}
}

// AppointmentJSON is one booking (`amtstresen appointments --json`).
type AppointmentJSON struct {
	UID        string `json:"uid"`
	PortalCase string `json:"portal_case"`
	Service    string `json:"service"`
	Office     string `json:"office"`
	Start      string `json:"start"`
	End        string `json:"end"`
	Status     string `json:"status"`
	Sequence   int    `json:"sequence"`
	// Attendance at the counter: "none", "checked_in" or "no_show".
	Attendance string `json:"attendance"`
}

// NewAppointmentJSON converts an appointment.
func NewAppointmentJSON(a *Appointment) AppointmentJSON {
	j := AppointmentJSON{UID: a.UID, PortalCase: a.PortalCase, Service: a.Service, Office: string(a.Office),
		Start: rfc3339(a.Start), End: rfc3339(a.End), Status: string(a.Status), Sequence: a.Sequence, Attendance: string(a.Attendance)}
	if j.Attendance == "" {
		j.Attendance = "none"
	}
	return j
}

// rfc3339 formats in Europe/Berlin with offset; "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Berlin).Format(time.RFC3339)
}

// FormatRFC3339 is the JSON time format of the commands: RFC 3339 with
// offset, Europe/Berlin; "" for the zero time.
func FormatRFC3339(t time.Time) string { return rfc3339(t) }

package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// appointments: bookings from the portal and attendance at the counter.
var appointments = []test{
	{"AppointmentArrivalOrders", testAppointmentArrivalOrders},
	{"AppointmentSequenceRules", testAppointmentSequenceRules},
	{"AppointmentCancelBeforeRequest", testAppointmentCancelBeforeRequest},
	{"AppointmentsListAndAttendance", testAppointmentsListAndAttendance},
	{"AttendanceRules", testAttendanceRules},
}

func appt(seq int, st app.AppointmentStatus, start time.Time) *app.Appointment {
	a := &app.Appointment{UID: "b1@cochem-zell-online.de", Sequence: seq, Status: st, Service: "kfz-zulassung",
		Office: app.OfficeKreis, CitizenName: "Anna Muster", CitizenEmail: "anna@example.org", Location: "Endertplatz 2",
		PortalCase: "p-1"}
	if !start.IsZero() {
		a.Start, a.End = start, start.Add(15*time.Minute)
	}
	return a
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int(nil), p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// testAppointmentArrivalOrders: REQUEST seq 0, REQUEST seq 1 (moved) and
// CANCEL seq 2 end cancelled at seq 2 in every arrival order.
func testAppointmentArrivalOrders(e *env) {
	t9 := time.Date(2026, 12, 1, 9, 0, 0, 0, app.Berlin)
	msgs := []*app.Appointment{
		appt(0, app.AppointmentConfirmed, t9),
		appt(1, app.AppointmentConfirmed, t9.Add(2*time.Hour)),
		appt(2, app.AppointmentCancelled, time.Time{}), // a CANCEL without time
	}
	for _, order := range permutations(len(msgs)) {
		e.Run(fmt.Sprint(order), func(t *testing.T) {
			e := e.fresh(t)
			for i, k := range order {
				rc := &app.Receipt{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1), SHA256: fmt.Sprintf("<t%d@x>", k), MessageID: fmt.Sprintf("<t%d@x>", k), Kind: "termin"}
				if _, err := e.st.ApplyAppointment(e.ctx, msgs[k], rc); err != nil {
					e.Fatal(err)
				}
				if !e.hasReceipt(e.st, rc.SHA256) {
					e.Errorf("receipt %s not recorded", rc.MessageID)
				}
			}
			got, err := e.st.Appointment(e.ctx, msgs[0].UID)
			if err != nil {
				e.Fatal(err)
			}
			if got.Status != app.AppointmentCancelled || got.Sequence != 2 {
				e.Errorf("final %s seq %d, want cancelled seq 2", got.Status, got.Sequence)
			}
			// The time survives from a REQUEST if one came before the CANCEL.
			if got.Start.IsZero() && order[len(order)-1] != 2 && order[0] != 2 {
				e.Errorf("time lost: %+v", got)
			}
			// And so do the details a CANCEL lacks.
			if got.CitizenName != "Anna Muster" || got.Service != "kfz-zulassung" || got.Office != app.OfficeKreis || got.PortalCase != "p-1" {
				e.Errorf("details lost: %+v", got)
			}
		})
	}
}

// testAppointmentSequenceRules: app.Supersedes decides, for every pair
// of stored and incoming version: a higher SEQUENCE wins, at equal
// SEQUENCE a cancellation wins over a request, anything else is stale;
// a stale version changes nothing and is audited as such.
func testAppointmentSequenceRules(e *env) {
	t9 := time.Date(2026, 12, 1, 9, 0, 0, 0, app.Berlin)
	statuses := []app.AppointmentStatus{app.AppointmentConfirmed, app.AppointmentCancelled}
	n := 0
	for _, s := range []int{0, 1, 2} {
		for _, ss := range statuses {
			for _, in := range []int{0, 1, 2} {
				for _, is := range statuses {
					n++
					uid := fmt.Sprintf("u%d@portal", n)
					stored := appt(1+s, ss, t9)
					stored.UID = uid
					if applied, err := e.st.ApplyAppointment(e.ctx, stored, nil); err != nil || !applied {
						e.Fatalf("%s: first version: %v %v", uid, applied, err)
					}
					incoming := appt(1+in, is, t9.Add(time.Hour))
					incoming.UID = uid
					want := app.Supersedes(incoming, stored)
					applied, err := e.st.ApplyAppointment(e.ctx, incoming, nil)
					if err != nil || applied != want {
						e.Errorf("stored %s seq %d, incoming %s seq %d: applied %v, %v; want %v", ss, 1+s, is, 1+in, applied, err, want)
					}
					got, _ := e.st.Appointment(e.ctx, uid)
					w := stored
					if want {
						w = incoming
					}
					if got.Sequence != w.Sequence || got.Status != w.Status || !got.Start.Equal(w.Start) {
						e.Errorf("stored %s seq %d, incoming %s seq %d: %s seq %d at %v", ss, 1+s, is, 1+in, got.Status, got.Sequence, got.Start)
					}
					acts := e.auditActions(uid)
					wantAct := map[bool]string{true: "apply", false: "stale"}[want]
					if last := acts[len(acts)-1]; last != fmt.Sprintf("portal appointment.%s %s seq=%d", wantAct, is, 1+in) {
						e.Errorf("audit %q", acts)
					}
				}
			}
		}
	}
	for _, bad := range []*app.Appointment{
		{Status: app.AppointmentConfirmed},
		{UID: "x@p", Status: "tentative"},
		{UID: "x@p", Status: app.AppointmentConfirmed, Sequence: -1},
	} {
		_, err := e.st.ApplyAppointment(e.ctx, bad, nil)
		e.wantCode(err, app.EINVALID)
	}
}

func testAppointmentCancelBeforeRequest(e *env) {
	t9 := time.Date(2026, 12, 1, 9, 0, 0, 0, app.Berlin)
	for _, tc := range []struct {
		a       *app.Appointment
		applied bool
	}{
		{appt(0, app.AppointmentCancelled, t9), true},
		{appt(0, app.AppointmentConfirmed, t9), false}, // its own REQUEST, late
		{appt(0, app.AppointmentCancelled, t9), false}, // repeated
	} {
		applied, err := e.st.ApplyAppointment(e.ctx, tc.a, nil)
		if err != nil || applied != tc.applied {
			e.Errorf("apply %s seq %d: applied %v, %v; want %v", tc.a.Status, tc.a.Sequence, applied, err, tc.applied)
		}
	}
	got, _ := e.st.Appointment(e.ctx, "b1@cochem-zell-online.de")
	if got.Status != app.AppointmentCancelled {
		e.Errorf("status %s, want cancelled", got.Status)
	}
	want := "portal appointment.apply cancelled seq=0|portal appointment.stale confirmed seq=0|portal appointment.stale cancelled seq=0"
	if got := strings.Join(e.auditActions("b1@cochem-zell-online.de"), "|"); got != want {
		e.Errorf("audit = %s", got)
	}
}

// testAppointmentsListAndAttendance: the day's list per office or all,
// by start; attendance is kept across a move and refused once cancelled.
func testAppointmentsListAndAttendance(e *env) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, app.Berlin)
	for i, tc := range []struct {
		uid    string
		office app.OfficeKey
		start  time.Time
	}{
		{"a", app.OfficeKreis, day.Add(9 * time.Hour)},
		{"b", app.OfficeZell, day.Add(8 * time.Hour)},
		{"c", app.OfficeKreis, day.Add(-time.Minute)},
		{"d", app.OfficeKreis, day.Add(24 * time.Hour)},
		{"e", app.OfficeKreis, day},
		{"f", app.OfficeKreis, day.Add(9 * time.Hour)}, // same start as a: by UID
	} {
		a := appt(0, app.AppointmentConfirmed, tc.start)
		a.UID, a.Office = tc.uid, tc.office
		if _, err := e.st.ApplyAppointment(e.ctx, a, nil); err != nil {
			e.Fatalf("%d: %v", i, err)
		}
	}
	list := func(o app.OfficeKey) string {
		as, err := e.st.Appointments(e.ctx, o, day, day.Add(24*time.Hour))
		if err != nil {
			e.Fatal(err)
		}
		s := ""
		for _, a := range as {
			s += a.UID
		}
		return s
	}
	if got := list(""); got != "ebaf" {
		e.Errorf("all = %s, want ebaf", got)
	}
	if got := list(app.OfficeKreis); got != "eaf" {
		e.Errorf("kreis = %s, want eaf", got)
	}

	mm := app.Actor{Clerk: "mm", Office: app.OfficeKreis}
	e.clock.set(day.Add(9*time.Hour + 5*time.Minute)) // on the day, after a's start
	e.ok(e.st.SetAttendance(e.ctx, "a", app.AttendanceCheckedIn, mm))
	e.wantCode(e.st.SetAttendance(e.ctx, "a", "late", mm), app.EINVALID)
	e.wantCode(e.st.SetAttendance(e.ctx, "zz", app.AttendanceNoShow, mm), app.ENOTFOUND)
	e.wantCode(e.st.SetAttendance(e.ctx, "f", app.AttendanceNoShow, app.Actor{}), app.EINVALID)
	// A move keeps the recorded attendance; a cancellation refuses new ones.
	moved := appt(1, app.AppointmentConfirmed, day.Add(10*time.Hour))
	moved.UID = "a"
	if _, err := e.st.ApplyAppointment(e.ctx, moved, nil); err != nil {
		e.Fatal(err)
	}
	got, _ := e.st.Appointment(e.ctx, "a")
	if got.Attendance != app.AttendanceCheckedIn || !got.Start.Equal(day.Add(10*time.Hour)) || got.Sequence != 1 {
		e.Errorf("after move: %+v", got)
	}
	cancel := appt(2, app.AppointmentCancelled, time.Time{})
	cancel.UID = "a"
	if _, err := e.st.ApplyAppointment(e.ctx, cancel, nil); err != nil {
		e.Fatal(err)
	}
	e.wantCode(e.st.SetAttendance(e.ctx, "a", app.AttendanceNoShow, mm), app.EINVALID)
	if err := e.st.SetAttendance(e.ctx, "a", app.AttendanceNone, mm); err != nil {
		e.Error(err)
	}
	_, err := e.st.Appointment(e.ctx, "zz")
	e.wantCode(err, app.ENOTFOUND)
	_, err = e.st.ApplyAppointment(e.ctx, &app.Appointment{Status: app.AppointmentConfirmed}, nil)
	e.wantCode(err, app.EINVALID)
}

// testAttendanceRules (issue 13, point 3): check-in only on the
// appointment's day, "did not come" only after its start, by the store's
// clock; an override records it anyway with a reason, which is kept and
// audited (that only a lead may is checked in the group access).
func testAttendanceRules(e *env) {
	start := time.Date(2026, 11, 28, 9, 20, 0, 0, app.Berlin) // a Saturday is fine for the rule
	a := appt(0, app.AppointmentConfirmed, start)
	a.UID, a.Office = "t1", app.OfficeZell
	if _, err := e.st.ApplyAppointment(e.ctx, a, nil); err != nil {
		e.Fatal(err)
	}
	mm := app.Actor{Clerk: "mm", Office: app.OfficeZell, Name: "Maria Müller"}
	at := func(t time.Time) { e.clock.set(t) }
	dayBefore := start.AddDate(0, 0, -1)
	at(dayBefore)
	err := e.st.SetAttendance(e.ctx, "t1", app.AttendanceCheckedIn, mm)
	e.wantCode(err, app.EINVALID)
	if !strings.Contains(app.ErrorMessage(err), "nur am Tag des Termins (28.11.2026, 09:20 Uhr)") {
		e.Errorf("message = %q", app.ErrorMessage(err))
	}
	e.wantCode(e.st.SetAttendance(e.ctx, "t1", app.AttendanceNoShow, mm), app.EINVALID)
	at(start.Add(-time.Minute))
	e.wantCode(e.st.SetAttendance(e.ctx, "t1", app.AttendanceNoShow, mm), app.EINVALID)
	at(start.Add(-time.Hour))
	if err := e.st.SetAttendance(e.ctx, "t1", app.AttendanceCheckedIn, mm); err != nil {
		e.Fatalf("check-in an hour early on the day: %v", err)
	}
	at(start.Add(30 * time.Minute))
	if err := e.st.SetAttendance(e.ctx, "t1", app.AttendanceNoShow, mm); err != nil {
		e.Fatalf("no-show after the start: %v", err)
	}
	if got, _ := e.st.Appointment(e.ctx, "t1"); got.Attendance != app.AttendanceNoShow || got.AttendanceNote != "" {
		e.Errorf("within the rules: %q %q", got.Attendance, got.AttendanceNote)
	}

	// The override needs a reason, keeps it and audits the override.
	ll := app.Actor{Clerk: "ll", Office: app.OfficeZell, Role: app.RoleLead, Name: "Lena Leitner"}
	at(dayBefore)
	e.wantCode(e.st.OverrideAttendance(e.ctx, "t1", app.AttendanceCheckedIn, " ", ll), app.EINVALID)
	e.ok(e.st.OverrideAttendance(e.ctx, "t1", app.AttendanceCheckedIn, "kam einen Tag früher", ll))
	got, _ := e.st.Appointment(e.ctx, "t1")
	if got.Attendance != app.AttendanceCheckedIn || got.AttendanceNote != "kam einen Tag früher" {
		e.Errorf("after the override: %q %q", got.Attendance, got.AttendanceNote)
	}
	es, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: "t1", Action: "appointment.attendance"})
	last := es[len(es)-1]
	if last.Detail != "checked_in override" || last.Clerk != "ll" || last.Office != app.OfficeZell || last.Name != "Lena Leitner" {
		e.Errorf("audit = %+v", last)
	}
	if es[0].Office != app.OfficeZell || es[0].Name != "Maria Müller" || es[0].Detail != "checked_in" {
		e.Errorf("first attendance audit = %+v", es[0])
	}
	// Not on a cancelled one, not even overridden.
	cancel := appt(1, app.AppointmentCancelled, time.Time{})
	cancel.UID = "t1"
	if _, err := e.st.ApplyAppointment(e.ctx, cancel, nil); err != nil {
		e.Fatal(err)
	}
	e.wantCode(e.st.OverrideAttendance(e.ctx, "t1", app.AttendanceNoShow, "trotzdem", ll), app.EINVALID)
}

package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

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

// REQUEST seq 0, REQUEST seq 1 (moved) and CANCEL seq 2 end cancelled at
// seq 2 in every arrival order.
func TestAppointmentArrivalOrders(t *testing.T) {
	ctx := context.Background()
	t9 := time.Date(2026, 12, 1, 9, 0, 0, 0, app.Berlin)
	msgs := []*app.Appointment{
		appt(0, app.AppointmentConfirmed, t9),
		appt(1, app.AppointmentConfirmed, t9.Add(2*time.Hour)),
		appt(2, app.AppointmentCancelled, time.Time{}), // a CANCEL without time
	}
	for _, order := range permutations(len(msgs)) {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			db := openTest(t)
			for i, k := range order {
				rc := &app.Receipt{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1), SHA256: fmt.Sprintf("<t%d@x>", k), MessageID: fmt.Sprintf("<t%d@x>", k), Kind: "termin"}
				if _, err := db.ApplyAppointment(ctx, msgs[k], rc); err != nil {
					t.Fatal(err)
				}
				if done, _ := hasReceipt(ctx, db, rc.SHA256); !done {
					t.Errorf("receipt %s not recorded", rc.MessageID)
				}
			}
			got, err := db.Appointment(ctx, msgs[0].UID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != app.AppointmentCancelled || got.Sequence != 2 {
				t.Errorf("final %s seq %d, want cancelled seq 2", got.Status, got.Sequence)
			}
			// The time survives from a REQUEST if one came before the CANCEL.
			if got.Start.IsZero() && order[len(order)-1] != 2 && order[0] != 2 {
				t.Errorf("time lost: %+v", got)
			}
		})
	}
}

func TestAppointmentCancelBeforeRequest(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	t9 := time.Date(2026, 12, 1, 9, 0, 0, 0, app.Berlin)
	for _, tc := range []struct {
		a       *app.Appointment
		applied bool
	}{
		{appt(0, app.AppointmentCancelled, t9), true},
		{appt(0, app.AppointmentConfirmed, t9), false}, // its own REQUEST, late
		{appt(0, app.AppointmentCancelled, t9), false}, // repeated
	} {
		applied, err := db.ApplyAppointment(ctx, tc.a, nil)
		if err != nil || applied != tc.applied {
			t.Errorf("apply %s seq %d: applied %v, %v; want %v", tc.a.Status, tc.a.Sequence, applied, err, tc.applied)
		}
	}
	got, _ := db.Appointment(ctx, "b1@cochem-zell-online.de")
	if got.Status != app.AppointmentCancelled {
		t.Errorf("status %s, want cancelled", got.Status)
	}
	want := "portal appointment.apply cancelled seq=0|portal appointment.stale confirmed seq=0|portal appointment.stale cancelled seq=0"
	if got := joinAudit(auditActions(t, db, "b1@cochem-zell-online.de")); got != want {
		t.Errorf("audit = %s", got)
	}
}

func joinAudit(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += "|"
		}
		s += x
	}
	return s
}

func TestAppointmentsListAndAttendance(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
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
	} {
		a := appt(0, app.AppointmentConfirmed, tc.start)
		a.UID, a.Office = tc.uid, tc.office
		if _, err := db.ApplyAppointment(ctx, a, nil); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	list := func(o app.OfficeKey) string {
		as, err := db.Appointments(ctx, o, day, day.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, a := range as {
			s += a.UID
		}
		return s
	}
	if got := list(""); got != "eba" {
		t.Errorf("all = %s, want eba", got)
	}
	if got := list(app.OfficeKreis); got != "ea" {
		t.Errorf("kreis = %s, want ea", got)
	}

	mm := app.Actor{Clerk: "mm", Office: app.OfficeKreis}
	ctx = app.WithTime(ctx, day.Add(9*time.Hour+5*time.Minute)) // on the day, after a's start
	if err := db.SetAttendance(ctx, "a", app.AttendanceCheckedIn, mm); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.SetAttendance(ctx, "a", "late", mm), app.EINVALID)
	wantCode(t, db.SetAttendance(ctx, "zz", app.AttendanceNoShow, mm), app.ENOTFOUND)
	// A move keeps the recorded attendance; a cancellation refuses new ones.
	moved := appt(1, app.AppointmentConfirmed, day.Add(10*time.Hour))
	moved.UID = "a"
	db.ApplyAppointment(ctx, moved, nil)
	got, _ := db.Appointment(ctx, "a")
	if got.Attendance != app.AttendanceCheckedIn || !got.Start.Equal(day.Add(10*time.Hour)) || got.Sequence != 1 {
		t.Errorf("after move: %+v", got)
	}
	cancel := appt(2, app.AppointmentCancelled, time.Time{})
	cancel.UID = "a"
	db.ApplyAppointment(ctx, cancel, nil)
	wantCode(t, db.SetAttendance(ctx, "a", app.AttendanceNoShow, mm), app.EINVALID)
	if err := db.SetAttendance(ctx, "a", app.AttendanceNone, mm); err != nil {
		t.Error(err)
	}
	_, err := db.Appointment(ctx, "zz")
	wantCode(t, err, app.ENOTFOUND)
	_, err = db.ApplyAppointment(ctx, &app.Appointment{Status: app.AppointmentConfirmed}, nil)
	wantCode(t, err, app.EINVALID)
}

// Issue 13, point 3: check-in only on the appointment's day, "did not
// come" only after its start (in storage, whatever the window shows); a
// lead records it anyway with a reason, which is kept and audited; a
// clerk may not. Before, both worked on any day.
func TestAttendanceRules(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 28, 9, 20, 0, 0, app.Berlin) // a Saturday is fine for the rule
	a := appt(0, app.AppointmentConfirmed, start)
	a.UID, a.Office = "t1", app.OfficeZell
	if _, err := db.ApplyAppointment(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	mm := app.Actor{Clerk: "mm", Office: app.OfficeZell, Name: "Maria Müller"}
	at := func(t time.Time) context.Context { return app.WithTime(ctx, t) }
	dayBefore := start.AddDate(0, 0, -1)
	err := db.SetAttendance(at(dayBefore), "t1", app.AttendanceCheckedIn, mm)
	wantCode(t, err, app.EINVALID)
	if !strings.Contains(app.ErrorMessage(err), "nur am Tag des Termins (28.11.2026, 09:20 Uhr)") {
		t.Errorf("message = %q", app.ErrorMessage(err))
	}
	wantCode(t, db.SetAttendance(at(start.Add(-time.Minute)), "t1", app.AttendanceNoShow, mm), app.EINVALID)
	wantCode(t, db.SetAttendance(at(dayBefore), "t1", app.AttendanceNoShow, mm), app.EINVALID)
	if err := db.SetAttendance(at(start.Add(-time.Hour)), "t1", app.AttendanceCheckedIn, mm); err != nil {
		t.Fatalf("check-in an hour early on the day: %v", err)
	}
	if err := db.SetAttendance(at(start.Add(30*time.Minute)), "t1", app.AttendanceNoShow, mm); err != nil {
		t.Fatalf("no-show after the start: %v", err)
	}

	// A clerk cannot override; a lead can, with a reason.
	clerk := app.NewScoped(db, app.Actor{Clerk: "mm", Office: app.OfficeZell, Role: app.RoleClerk})
	wantCode(t, clerk.OverrideAttendance(at(dayBefore), "t1", app.AttendanceCheckedIn, "kam einen Tag früher", mm), app.EFORBIDDEN)
	lead := app.NewScoped(db, app.Actor{Clerk: "ll", Office: app.OfficeZell, Role: app.RoleLead})
	// The lead acts in the lead's own name only (the display name may come
	// from the window); naming another clerk is refused.
	wantCode(t, lead.OverrideAttendance(at(dayBefore), "t1", app.AttendanceCheckedIn, "kam einen Tag früher", mm), app.EFORBIDDEN)
	ll := lead.Actor
	ll.Name = mm.Name
	wantCode(t, lead.OverrideAttendance(at(dayBefore), "t1", app.AttendanceCheckedIn, " ", ll), app.EINVALID)
	if err := lead.OverrideAttendance(at(dayBefore), "t1", app.AttendanceCheckedIn, "kam einen Tag früher", ll); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Appointment(ctx, "t1")
	if got.Attendance != app.AttendanceCheckedIn || got.AttendanceNote != "kam einen Tag früher" {
		t.Errorf("after the override: %q %q", got.Attendance, got.AttendanceNote)
	}
	es, _ := db.AuditEntries(ctx, app.AuditFilter{Ref: "t1", Action: "appointment.attendance"})
	last := es[len(es)-1]
	if last.Detail != "checked_in override" || last.Clerk != "ll" || last.Office != app.OfficeZell || last.Name != "Maria Müller" {
		t.Errorf("audit = %+v", last)
	}
	if es[0].Office != app.OfficeZell || es[0].Name != "Maria Müller" {
		t.Errorf("first attendance audit = %+v", es[0])
	}
}

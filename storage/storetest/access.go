package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"amtstresen/app"
)

// access: roles, what a clerk may see and do, and the Art. 15 search.
var access = []test{
	{"RolesAudited", testRolesAudited},
	{"UlmenClerkCannotOpenZellCase", testUlmenClerkCannotOpenZellCase},
	{"AttendanceOverrideNeedsLead", testAttendanceOverrideNeedsLead},
	{"FindPerson", testFindPerson},
}

// setupRoles gives five accounts their roles: an administrator, clerks of
// VG Ulmen, VG Zell and the Kreisverwaltung, and the lead of VG Zell.
func (e *env) setupRoles() {
	e.Helper()
	setup := app.Actor{Clerk: "it-admin", Role: app.RoleAdmin}
	for _, ra := range []app.RoleAssignment{
		{Clerk: "it-admin", Role: app.RoleAdmin},
		{Clerk: "AMT\\UKlerk", Role: app.RoleClerk, Office: app.OfficeUlmen},
		{Clerk: "zklerk", Role: app.RoleClerk, Office: app.OfficeZell},
		{Clerk: "zleitung", Role: app.RoleLead, Office: app.OfficeZell},
		{Clerk: "kklerk", Role: app.RoleClerk, Office: app.OfficeKreis},
	} {
		e.ok(e.st.SetRole(e.ctx, ra, setup))
	}
}

// actor is the account's actor as the application resolves it.
func (e *env) actor(account string) app.Actor {
	e.Helper()
	a, setup, err := app.ResolveActor(e.ctx, e.st, account)
	if err != nil || setup {
		e.Fatalf("%s: %+v setup=%v %v", account, a, setup, err)
	}
	return a
}

// testRolesAudited: the first administrator can be entered while no role
// exists (setup); afterwards an account without a role is refused, every
// change of a role is in the log, and the last administrator stays.
func testRolesAudited(e *env) {
	a, setup, err := app.ResolveActor(e.ctx, e.st, "erstadmin")
	if err != nil || !setup || a.Role != app.RoleAdmin {
		e.Fatalf("empty role table: %+v setup=%v err=%v", a, setup, err)
	}
	e.ok(e.st.SetRole(e.ctx, app.RoleAssignment{Clerk: "ErstAdmin", Role: app.RoleAdmin, Name: "IT"}, a))
	_, _, err = app.ResolveActor(e.ctx, e.st, "fremd")
	e.wantCode(err, app.EFORBIDDEN)
	if !strings.Contains(app.ErrorMessage(err), "amtstresen roles set fremd") {
		e.Errorf("message: %s", app.ErrorMessage(err))
	}
	e.wantCode(e.st.SetRole(e.ctx, app.RoleAssignment{Clerk: "x", Role: app.RoleClerk}, a), app.EINVALID)
	e.wantCode(e.st.SetRole(e.ctx, app.RoleAssignment{Clerk: "x", Role: "chef", Office: app.OfficeZell}, a), app.EINVALID)
	e.wantCode(e.st.SetRole(e.ctx, app.RoleAssignment{Clerk: "x", Role: app.RoleClerk, Office: "vg-mayen"}, a), app.EINVALID)
	e.wantCode(e.st.SetRole(e.ctx, app.RoleAssignment{Clerk: "zwei worte", Role: app.RoleClerk, Office: app.OfficeZell}, a), app.EINVALID)
	e.ok(e.st.SetRole(e.ctx, app.RoleAssignment{Clerk: "AMT\\MM", Role: app.RoleClerk, Office: app.OfficeZell, Name: "Maria Müller"}, a))
	ra, err := e.st.RoleAssignment(e.ctx, "mm")
	if err != nil || ra.Clerk != "mm" || ra.Role != app.RoleClerk || ra.Office != app.OfficeZell || ra.Name != "Maria Müller" ||
		ra.UpdatedBy != "erstadmin" || ra.UpdatedAt.IsZero() {
		e.Errorf("assignment %+v, %v", ra, err)
	}
	e.ok(e.st.SetRole(e.ctx, app.RoleAssignment{Clerk: "mm", Role: app.RoleLead, Office: app.OfficeZell}, a))
	if all, err := e.st.RoleAssignments(e.ctx); err != nil || len(all) != 2 || all[0].Clerk != "erstadmin" || all[1].Clerk != "mm" || all[1].Role != app.RoleLead {
		e.Errorf("assignments %+v, %v", all, err)
	}
	if got := e.actor("MM"); got.Role != app.RoleLead || got.Office != app.OfficeZell || got.Clerk != "mm" {
		e.Errorf("actor of mm: %+v", got)
	}
	e.wantCode(e.st.RemoveRole(e.ctx, "erstadmin", a), app.ECONFLICT)
	e.ok(e.st.RemoveRole(e.ctx, "MM", a))
	_, err = e.st.RoleAssignment(e.ctx, "mm")
	e.wantCode(err, app.ENOTFOUND)
	e.wantCode(e.st.RemoveRole(e.ctx, "mm", a), app.ENOTFOUND)
	got := e.auditActions("mm")
	want := []string{"erstadmin role.set clerk@vg-zell", "erstadmin role.set lead@vg-zell<-clerk@vg-zell", "erstadmin role.remove lead@vg-zell"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		e.Errorf("audit %q\nwant  %q", got, want)
	}
}

// testUlmenClerkCannotOpenZellCase: through the app interfaces a clerk of
// VG Ulmen can neither open, list, find, change nor read the files of a
// case of VG Zell; every refused read is audited. Once Zell forwards the
// case to Ulmen, the Ulmen clerk can open it and Zell no longer can.
func testUlmenClerkCannotOpenZellCase(e *env) {
	e.setupRoles()
	file := []byte("%PDF Meldebescheinigung")
	s := sha256.Sum256(file)
	sum := hex.EncodeToString(s[:])
	nc := e.dogCase("zell-1", "Zora", "Zeller", app.OfficeZell, Start)
	nc.Attachments = []app.NewAttachment{{Attachment: app.Attachment{Name: "m.pdf", Size: int64(len(file)), SHA256: sum, Received: true}, Data: file}}
	zell := e.create(nc)
	ulmen := e.create(e.dogCase("ulmen-1", "Ulla", "Ulmer", app.OfficeUlmen, Start))
	open := e.create(e.dogCase("offen-1", "Otto", "Offen", "", Start))
	if _, err := e.st.ApplyAppointment(e.ctx, &app.Appointment{UID: "z@portal", Sequence: 1, Status: app.AppointmentConfirmed, Service: "buergerbuero",
		Office: app.OfficeZell, CitizenName: "Zora Zeller", Start: Start.Add(time.Hour), End: Start.Add(2 * time.Hour)}, nil); err != nil {
		e.Fatal(err)
	}

	ua := e.actor("uklerk")
	if ua.Office != app.OfficeUlmen || ua.Role != app.RoleClerk {
		e.Fatalf("actor %+v", ua)
	}
	u := e.ad.As(e.T, "uklerk")
	_, err := u.CaseByRef(e.ctx, zell.Ref)
	e.wantCode(err, app.EFORBIDDEN)
	if msg := app.ErrorMessage(err); strings.Contains(msg, "Zeller") {
		e.Errorf("refusal shows personal data: %s", msg)
	}
	_, err = u.CaseByPortalID(e.ctx, "zell-1")
	e.wantCode(err, app.EFORBIDDEN)
	_, err = u.Notes(e.ctx, zell.Ref)
	e.wantCode(err, app.EFORBIDDEN)
	e.wantCode(u.Claim(e.ctx, zell.Ref, ua), app.EFORBIDDEN)
	e.wantCode(u.SetStatus(e.ctx, zell.Ref, app.StatusInProgress, "", ua), app.EFORBIDDEN)
	e.wantCode(u.Forward(e.ctx, zell.Ref, app.OfficeUlmen, "hole ich mir", ua), app.EFORBIDDEN)
	e.wantCode(u.AddNote(e.ctx, zell.Ref, "x", ua), app.EFORBIDDEN)
	_, err = u.AttachmentData(e.ctx, sum)
	e.wantCode(err, app.EFORBIDDEN)
	_, err = u.Appointment(e.ctx, "z@portal")
	e.wantCode(err, app.EFORBIDDEN)
	_, err = u.AuditEntries(e.ctx, app.AuditFilter{})
	e.wantCode(err, app.EFORBIDDEN)
	if c := e.mustCase(zell.Ref); c.Assignee != "" || c.Status != app.StatusReceived || c.Office != app.OfficeZell {
		e.Fatalf("refused calls changed the case: %+v", c)
	}
	if notes, _ := e.st.Notes(e.ctx, zell.Ref); len(notes) != 0 {
		e.Fatalf("refused calls wrote notes: %+v", notes)
	}

	// Lists and search show Ulmen's cases only, whatever the filter asks.
	for _, f := range []app.CaseFilter{{}, {Offices: []app.OfficeKey{app.OfficeZell}}, {Query: "Zeller"}, {Offices: []app.OfficeKey{app.OfficeZell, app.OfficeUlmen}}} {
		list, err := u.ListCases(e.ctx, f)
		if err != nil {
			e.Fatal(err)
		}
		n, _ := u.CountCases(e.ctx, f)
		for _, c := range list {
			if c.Office != app.OfficeUlmen {
				e.Errorf("filter %+v lists %s of %s", f, c.Ref, c.Office)
			}
		}
		if len(list) != n {
			e.Errorf("filter %+v: %d listed, %d counted", f, len(list), n)
		}
	}
	if list, _ := u.ListCases(e.ctx, app.CaseFilter{}); len(list) != 1 || list[0].Ref != ulmen.Ref {
		e.Errorf("Ulmen's queue: %+v", list)
	}
	if appts, _ := u.Appointments(e.ctx, "", Start.Add(-time.Hour), Start.Add(24*time.Hour)); len(appts) != 0 {
		e.Errorf("Ulmen sees Zell's appointments: %v", appts)
	}
	if appts, _ := u.Appointments(e.ctx, app.OfficeZell, Start.Add(-time.Hour), Start.Add(24*time.Hour)); len(appts) != 0 {
		e.Errorf("Ulmen sees Zell's appointments: %v", appts)
	}
	if _, err := u.CaseByRef(e.ctx, ulmen.Ref); err != nil {
		e.Fatalf("own case: %v", err)
	}
	_, err = u.CaseByRef(e.ctx, open.Ref)
	e.wantCode(err, app.EFORBIDDEN)

	// The refused reads are in the log, by reference, with the clerk's account.
	es, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: zell.Ref, Action: "case."})
	denied := 0
	for _, x := range es {
		if strings.HasSuffix(x.Action, ".denied") {
			denied++
			if x.Clerk != "uklerk" || x.Office != app.OfficeUlmen {
				e.Errorf("denied entry %+v", x)
			}
		}
	}
	if denied < 7 {
		e.Errorf("%d refused accesses audited, want 7 (read, portal read, notes, claim, status, forward, note): %+v", denied, es)
	}

	// The Kreis sees cases no office is responsible for yet.
	k := e.ad.As(e.T, "kklerk")
	if _, err := k.CaseByRef(e.ctx, open.Ref); err != nil {
		e.Fatalf("Kreis on an undecided case: %v", err)
	}

	// Zell forwards to Ulmen: now it is Ulmen's, and no longer Zell's.
	z := e.ad.As(e.T, "zklerk")
	if _, err := z.CaseByRef(e.ctx, zell.Ref); err != nil {
		e.Fatal(err)
	}
	if b, err := z.AttachmentData(e.ctx, sum); err != nil || string(b) != string(file) {
		e.Fatalf("Zell reads its own case's file: %v", err)
	}
	if err := z.Forward(e.ctx, zell.Ref, app.OfficeUlmen, "Wohnsitz in Ulmen", e.actor("zklerk")); err != nil {
		e.Fatal(err)
	}
	if es, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: zell.Ref, Action: "case.forward"}); len(es) != 1 || es[0].Clerk != "zklerk" {
		e.Fatalf("forward audited as %+v, want the clerk's account", es)
	}
	if _, err := u.CaseByRef(e.ctx, zell.Ref); err != nil {
		e.Fatalf("forwarded case for Ulmen: %v", err)
	}
	_, err = z.CaseByRef(e.ctx, zell.Ref)
	e.wantCode(err, app.EFORBIDDEN)

	// The lead reads the office's part of the log; the admin all of it.
	lead := e.ad.As(e.T, "zleitung")
	es, err = lead.AuditEntries(e.ctx, app.AuditFilter{})
	if err != nil || len(es) == 0 {
		e.Fatalf("lead: %v %d", err, len(es))
	}
	for _, x := range es {
		if x.Office != app.OfficeZell {
			e.Errorf("lead of Zell reads %+v", x)
		}
	}
	all, _ := e.ad.As(e.T, "it-admin").AuditEntries(e.ctx, app.AuditFilter{})
	if len(all) <= len(es) {
		e.Errorf("admin reads %d entries, lead %d", len(all), len(es))
	}
}

// testAttendanceOverrideNeedsLead (issue 13, point 3): a lead records an
// attendance against the day rules, with a reason; a clerk may not.
func testAttendanceOverrideNeedsLead(e *env) {
	e.setupRoles()
	start := time.Date(2026, 11, 28, 9, 20, 0, 0, app.Berlin)
	a := appt(0, app.AppointmentConfirmed, start)
	a.UID, a.Office = "t1", app.OfficeZell
	if _, err := e.st.ApplyAppointment(e.ctx, a, nil); err != nil {
		e.Fatal(err)
	}
	e.clock.set(start.AddDate(0, 0, -1))
	clerk := e.ad.As(e.T, "zklerk")
	e.wantCode(clerk.OverrideAttendance(e.ctx, "t1", app.AttendanceCheckedIn, "kam einen Tag früher", e.actor("zklerk")), app.EFORBIDDEN)
	e.wantCode(clerk.SetAttendance(e.ctx, "t1", app.AttendanceCheckedIn, e.actor("zklerk")), app.EINVALID)
	lead := e.ad.As(e.T, "zleitung")
	e.wantCode(lead.OverrideAttendance(e.ctx, "t1", app.AttendanceCheckedIn, " ", e.actor("zleitung")), app.EINVALID)
	e.ok(lead.OverrideAttendance(e.ctx, "t1", app.AttendanceCheckedIn, "kam einen Tag früher", e.actor("zleitung")))
	got, _ := e.st.Appointment(e.ctx, "t1")
	if got.Attendance != app.AttendanceCheckedIn || got.AttendanceNote != "kam einen Tag früher" {
		e.Errorf("after the override: %q %q", got.Attendance, got.AttendanceNote)
	}
	es, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: "t1", Action: "appointment.attendance"})
	if len(es) != 1 || es[0].Detail != "checked_in override" || es[0].Clerk != "zleitung" || es[0].Office != app.OfficeZell {
		e.Errorf("audit = %+v", es)
	}
	// Not for another office's appointment.
	u := e.ad.As(e.T, "uklerk")
	e.wantCode(u.SetAttendance(e.ctx, "t1", app.AttendanceNone, e.actor("uklerk")), app.EFORBIDDEN)
}

// testFindPerson: the Art. 15 search finds a person's cases by name and
// birth date (any order, case, accents) or e-mail, their bookings by
// address or portal case, never a namesake born on another day; a lead
// gets the own office's part only, a clerk nothing.
func testFindPerson(e *env) {
	e.setupRoles()
	a := e.dogCase("p-1", "Jördis", "Weißmüller", app.OfficeZell, Start)
	a.Applicant.Email = "jw@example.org"
	c1 := e.create(a)
	b := e.dogCase("p-2", "Jördis", "Weißmüller", app.OfficeUlmen, Start)
	b.Applicant.Email = "JW@example.org"
	c2 := e.create(b)
	other := e.dogCase("p-3", "Jördis", "Weißmüller", app.OfficeZell, Start)
	other.Applicant.BirthDate = "1990-01-01"
	other.Applicant.Email = "andere@example.org"
	e.create(other)
	for _, ap := range []app.Appointment{
		{UID: "by-mail@p", CitizenEmail: "jw@example.org", Office: app.OfficeKreis},
		{UID: "by-case@p", PortalCase: "p-1", Office: app.OfficeZell},
		{UID: "namesake@p", CitizenName: "Jördis Weißmüller", CitizenEmail: "andere@example.org", Office: app.OfficeZell},
	} {
		ap.Sequence, ap.Status, ap.Service, ap.Start, ap.End = 1, app.AppointmentConfirmed, "buergerbuero", Start, Start.Add(time.Hour)
		if _, err := e.st.ApplyAppointment(e.ctx, &ap, nil); err != nil {
			e.Fatal(err)
		}
	}
	e.ok(e.st.AddNote(e.ctx, c1.Ref, "Rückfrage", app.Actor{Clerk: "zklerk"}))
	refsOf := func(d *app.PersonData) string {
		var s []string
		for _, c := range d.Cases {
			s = append(s, c.Ref)
		}
		for _, a := range d.Appointments {
			s = append(s, a.UID)
		}
		return strings.Join(s, " ")
	}
	for _, q := range []app.PersonQuery{
		{Name: "weissmüller jördis", BirthDate: "14.03.1985"},
		{Name: "Jordis WEISSMULLER", BirthDate: "1985-03-14"},
		{Name: "Jo\u0308rdis Weißmu\u0308ller", BirthDate: "1985-03-14"},
		{Email: "Jw@Example.org"},
	} {
		d, err := e.st.FindPerson(e.ctx, q)
		if err != nil {
			e.Fatal(err)
		}
		got := refsOf(d)
		for _, want := range []string{c1.Ref, c2.Ref, "by-mail@p", "by-case@p"} {
			if !strings.Contains(got, want) {
				e.Errorf("%+v: %s missing in %s", q, want, got)
			}
		}
		if strings.Contains(got, "namesake") || len(d.Cases) != 2 {
			e.Errorf("%+v: found %s", q, got)
		}
		if len(d.Notes[c1.Ref]) == 0 {
			e.Errorf("%+v: notes missing", q)
		}
		// What the office wrote to the citizen is personal data too (the
		// "eingegangen" message of the portal application).
		if ms := d.Messages[c1.Ref]; len(ms) != 1 || ms[0].Status != app.PortalReceived || !strings.Contains(ms[0].Text, "Weißmüller") || ms[0].Raw != nil {
			e.Errorf("%+v: messages to the citizen %+v", q, ms)
		}
	}
	_, err := e.st.FindPerson(e.ctx, app.PersonQuery{Name: "Jördis Weißmüller"})
	e.wantCode(err, app.EINVALID)

	lead := e.ad.As(e.T, "zleitung")
	d, err := app.ExportPerson(e.ctx, lead, lead, e.actor("zleitung"), app.PersonQuery{Email: "jw@example.org"})
	if err != nil {
		e.Fatal(err)
	}
	if got := refsOf(d); got != c1.Ref+" by-case@p" {
		e.Errorf("lead of Zell gets %q", got)
	}
	if _, ok := d.Messages[c2.Ref]; ok || len(d.Messages[c1.Ref]) != 1 {
		e.Errorf("lead of Zell gets the messages of %v", d.Messages)
	}
	if acts := e.auditActions(c1.Ref); acts[len(acts)-1] != "zleitung case.export art15" {
		e.Errorf("export not audited: %v", acts)
	}
	if acts := e.auditActions(c2.Ref); strings.Contains(strings.Join(acts, "|"), "export") {
		e.Errorf("Ulmen's case audited as exported by Zell: %v", acts)
	}
	clerk := e.ad.As(e.T, "zklerk")
	_, err = app.ExportPerson(e.ctx, clerk, clerk, e.actor("zklerk"), app.PersonQuery{Email: "jw@example.org"})
	e.wantCode(err, app.EFORBIDDEN)
}

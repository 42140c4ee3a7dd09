package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// roleDB is a database with four accounts: an administrator, clerks of
// VG Ulmen and VG Zell, and a clerk of the Kreisverwaltung.
func roleDB(t *testing.T) *DB {
	t.Helper()
	db := openTest(t)
	ctx := context.Background()
	setup := app.Actor{Clerk: "it-admin", Role: app.RoleAdmin}
	for _, ra := range []app.RoleAssignment{
		{Clerk: "it-admin", Role: app.RoleAdmin},
		{Clerk: "AMT\\UKlerk", Role: app.RoleClerk, Office: app.OfficeUlmen},
		{Clerk: "zklerk", Role: app.RoleClerk, Office: app.OfficeZell},
		{Clerk: "zleitung", Role: app.RoleLead, Office: app.OfficeZell},
		{Clerk: "kklerk", Role: app.RoleClerk, Office: app.OfficeKreis},
	} {
		if err := db.SetRole(ctx, ra, setup); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func scoped(t *testing.T, db *DB, account string) *app.Scoped {
	t.Helper()
	a, setup, err := app.ResolveActor(context.Background(), db, account)
	if err != nil {
		t.Fatal(err)
	}
	if setup {
		t.Fatal("setup mode with roles assigned")
	}
	return app.NewScoped(db, a)
}

// TestUlmenClerkCannotOpenZellCase: through the app interfaces a clerk of
// VG Ulmen can neither open, list, find, change nor read the files of a
// case of VG Zell; every refused read is audited. Once Zell forwards the
// case to Ulmen, the Ulmen clerk can open it and Zell no longer can.
func TestUlmenClerkCannotOpenZellCase(t *testing.T) {
	ctx := context.Background()
	db := roleDB(t)
	file := []byte("%PDF Meldebescheinigung")
	s := sha256.Sum256(file)
	sum := hex.EncodeToString(s[:])
	nc := newDogCase(t, "zell-1", "Zora", "Zeller", app.OfficeZell, testNow)
	nc.Attachments = []app.NewAttachment{{Attachment: app.Attachment{Name: "m.pdf", Size: int64(len(file)), SHA256: sum, Received: true}, Data: file}}
	zell := mustCreate(t, db, nc)
	ulmen := mustCreate(t, db, newDogCase(t, "ulmen-1", "Ulla", "Ulmer", app.OfficeUlmen, testNow))
	open := mustCreate(t, db, newDogCase(t, "offen-1", "Otto", "Offen", "", testNow))
	if _, err := db.ApplyAppointment(ctx, &app.Appointment{UID: "z@portal", Sequence: 1, Status: app.AppointmentConfirmed, Service: "buergerbuero",
		Office: app.OfficeZell, CitizenName: "Zora Zeller", Start: testNow.Add(time.Hour), End: testNow.Add(2 * time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}

	u := scoped(t, db, "uklerk")
	if u.Actor.Office != app.OfficeUlmen || u.Actor.Role != app.RoleClerk {
		t.Fatalf("actor %+v", u.Actor)
	}
	_, err := u.CaseByRef(ctx, zell.Ref)
	wantCode(t, err, app.EFORBIDDEN)
	if msg := app.ErrorMessage(err); strings.Contains(msg, "Zeller") {
		t.Errorf("refusal shows personal data: %s", msg)
	}
	_, err = u.CaseByPortalID(ctx, "zell-1")
	wantCode(t, err, app.EFORBIDDEN)
	_, err = u.Notes(ctx, zell.Ref)
	wantCode(t, err, app.EFORBIDDEN)
	wantCode(t, u.Claim(ctx, zell.Ref, u.Actor), app.EFORBIDDEN)
	wantCode(t, u.SetStatus(ctx, zell.Ref, app.StatusInProgress, "", u.Actor), app.EFORBIDDEN)
	wantCode(t, u.Forward(ctx, zell.Ref, app.OfficeUlmen, "hole ich mir", u.Actor), app.EFORBIDDEN)
	wantCode(t, u.AddNote(ctx, zell.Ref, "x", u.Actor), app.EFORBIDDEN)
	_, err = u.AttachmentData(ctx, sum)
	wantCode(t, err, app.EFORBIDDEN)
	_, err = u.Appointment(ctx, "z@portal")
	wantCode(t, err, app.EFORBIDDEN)
	_, err = u.AuditEntries(ctx, app.AuditFilter{})
	wantCode(t, err, app.EFORBIDDEN)
	if c := mustCase(t, db, zell.Ref); c.Assignee != "" || c.Status != app.StatusReceived || c.Office != app.OfficeZell {
		t.Fatalf("refused calls changed the case: %+v", c)
	}

	// Lists and search show Ulmen's cases only, whatever the filter asks.
	for _, f := range []app.CaseFilter{{}, {Offices: []app.OfficeKey{app.OfficeZell}}, {Query: "Zeller"}, {Offices: []app.OfficeKey{app.OfficeZell, app.OfficeUlmen}}} {
		list, err := u.ListCases(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := u.CountCases(ctx, f)
		for _, c := range list {
			if c.Office != app.OfficeUlmen {
				t.Errorf("filter %+v lists %s of %s", f, c.Ref, c.Office)
			}
		}
		if len(list) != n {
			t.Errorf("filter %+v: %d listed, %d counted", f, len(list), n)
		}
	}
	if appts, _ := u.Appointments(ctx, "", testNow.Add(-time.Hour), testNow.Add(24*time.Hour)); len(appts) != 0 {
		t.Errorf("Ulmen sees Zell's appointments: %v", appts)
	}
	if appts, _ := u.Appointments(ctx, app.OfficeZell, testNow.Add(-time.Hour), testNow.Add(24*time.Hour)); len(appts) != 0 {
		t.Errorf("Ulmen sees Zell's appointments: %v", appts)
	}
	if _, err := u.CaseByRef(ctx, ulmen.Ref); err != nil {
		t.Fatalf("own case: %v", err)
	}
	_, err = u.CaseByRef(ctx, open.Ref)
	wantCode(t, err, app.EFORBIDDEN)

	// The refused reads are in the log, by reference, with the clerk's account.
	es, _ := db.AuditEntries(ctx, app.AuditFilter{Ref: zell.Ref, Action: "case."})
	denied := 0
	for _, e := range es {
		if strings.HasSuffix(e.Action, ".denied") {
			denied++
			if e.Clerk != "uklerk" || e.Office != app.OfficeUlmen {
				t.Errorf("denied entry %+v", e)
			}
		}
	}
	if denied < 7 {
		t.Errorf("%d refused accesses audited, want 7 (read, portal read, notes, claim, status, forward, note): %+v", denied, es)
	}

	// The Kreis sees cases no office is responsible for yet.
	k := scoped(t, db, "kklerk")
	if _, err := k.CaseByRef(ctx, open.Ref); err != nil {
		t.Fatalf("Kreis on an undecided case: %v", err)
	}

	// Zell forwards to Ulmen: now it is Ulmen's, and no longer Zell's.
	z := scoped(t, db, "zklerk")
	if _, err := z.CaseByRef(ctx, zell.Ref); err != nil {
		t.Fatal(err)
	}
	if b, err := z.AttachmentData(ctx, sum); err != nil || string(b) != string(file) {
		t.Fatalf("Zell reads its own case's file: %v", err)
	}
	// Only in the scoped actor's name: another actor is refused, not replaced.
	wantCode(t, z.Forward(ctx, zell.Ref, app.OfficeUlmen, "Wohnsitz in Ulmen", app.Actor{Clerk: "someone-else"}), app.EFORBIDDEN)
	if err := z.Forward(ctx, zell.Ref, app.OfficeUlmen, "Wohnsitz in Ulmen", z.Actor); err != nil {
		t.Fatal(err)
	}
	if es, _ := db.AuditEntries(ctx, app.AuditFilter{Ref: zell.Ref, Action: "case.forward"}); len(es) != 1 || es[0].Clerk != "zklerk" {
		t.Fatalf("forward audited as %+v, want the scoped actor", es)
	}
	if _, err := u.CaseByRef(ctx, zell.Ref); err != nil {
		t.Fatalf("forwarded case for Ulmen: %v", err)
	}
	_, err = z.CaseByRef(ctx, zell.Ref)
	wantCode(t, err, app.EFORBIDDEN)

	// The lead reads the office's part of the log; the admin all of it.
	lead := scoped(t, db, "zleitung")
	es, err = lead.AuditEntries(ctx, app.AuditFilter{})
	if err != nil || len(es) == 0 {
		t.Fatalf("lead: %v %d", err, len(es))
	}
	for _, e := range es {
		if e.Office != app.OfficeZell {
			t.Errorf("lead of Zell reads %+v", e)
		}
	}
	all, _ := scoped(t, db, "it-admin").AuditEntries(ctx, app.AuditFilter{})
	if len(all) <= len(es) {
		t.Errorf("admin reads %d entries, lead %d", len(all), len(es))
	}
}

// TestRolesAudited: the first administrator can be entered while no role
// exists (setup); afterwards an account without a role is refused, every
// change of a role is in the log, and the last administrator stays.
func TestRolesAudited(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a, setup, err := app.ResolveActor(ctx, db, "erstadmin")
	if err != nil || !setup || a.Role != app.RoleAdmin {
		t.Fatalf("empty role table: %+v setup=%v err=%v", a, setup, err)
	}
	if err := db.SetRole(ctx, app.RoleAssignment{Clerk: "ErstAdmin", Role: app.RoleAdmin, Name: "IT"}, a); err != nil {
		t.Fatal(err)
	}
	_, _, err = app.ResolveActor(ctx, db, "fremd")
	wantCode(t, err, app.EFORBIDDEN)
	if !strings.Contains(app.ErrorMessage(err), "amtstresen roles set fremd") {
		t.Errorf("message: %s", app.ErrorMessage(err))
	}
	wantCode(t, db.SetRole(ctx, app.RoleAssignment{Clerk: "x", Role: app.RoleClerk}, a), app.EINVALID)
	wantCode(t, db.SetRole(ctx, app.RoleAssignment{Clerk: "x", Role: "chef", Office: app.OfficeZell}, a), app.EINVALID)
	wantCode(t, db.SetRole(ctx, app.RoleAssignment{Clerk: "x", Role: app.RoleClerk, Office: "vg-mayen"}, a), app.EINVALID)
	if err := db.SetRole(ctx, app.RoleAssignment{Clerk: "mm", Role: app.RoleClerk, Office: app.OfficeZell}, a); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRole(ctx, app.RoleAssignment{Clerk: "mm", Role: app.RoleLead, Office: app.OfficeZell}, a); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.RemoveRole(ctx, "erstadmin", a), app.ECONFLICT)
	if err := db.RemoveRole(ctx, "MM", a); err != nil {
		t.Fatal(err)
	}
	got := auditActions(t, db, "mm")
	want := []string{"erstadmin role.set clerk@vg-zell", "erstadmin role.set lead@vg-zell<-clerk@vg-zell", "erstadmin role.remove lead@vg-zell"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit %q\nwant  %q", got, want)
	}
	if _, err := db.db.ExecContext(ctx, `DELETE FROM audit_log WHERE action LIKE 'role.%'`); err == nil {
		t.Error("role entries could be deleted")
	}
}

// TestAuditRetention: the purge deletes audit entries older than their own
// period and nothing newer; afterwards the log refuses changes as before.
func TestAuditRetention(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	old := testNow.AddDate(-2, 0, 0).UTC()
	recent := testNow.AddDate(0, -11, 0).UTC()
	for _, at := range []time.Time{old, old.Add(time.Hour), recent} {
		if err := db.Audit(ctx, app.AuditEntry{At: at, Clerk: "mm", Action: "case.read", Ref: "ZEL-2024-00001"}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := db.Purge(ctx, PurgeOptions{Now: testNow, AuditMonths: 12, DryRun: true})
	if err != nil || rep.AuditEntries != 2 {
		t.Fatalf("dry run: %+v %v", rep, err)
	}
	if rep, err = db.Purge(ctx, PurgeOptions{Now: testNow, AuditMonths: 12}); err != nil || rep.AuditEntries != 2 {
		t.Fatalf("purge: %+v %v", rep, err)
	}
	es, _ := db.AuditEntries(ctx, app.AuditFilter{})
	if len(es) != 2 || !es[0].At.Equal(recent) || es[1].Action != "audit.purge" || !strings.Contains(es[1].Detail, "count=2") {
		t.Fatalf("after purge: %+v", es)
	}
	for _, q := range []string{"DELETE FROM audit_log", "UPDATE audit_log SET clerk = 'x'"} {
		if _, err := db.db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s after purge: %v", q, err)
		}
	}
	var sqlText string
	db.db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_delete'`).Scan(&sqlText)
	if sqlText != auditNoDelete {
		t.Errorf("trigger after purge:\n%s", sqlText)
	}
}

// TestAppointmentRetention: bookings go the catalog's days after they took
// place; a service without a period is kept and reported.
func TestAppointmentRetention(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	add := func(uid, service string, start time.Time) {
		if _, err := db.ApplyAppointment(ctx, &app.Appointment{UID: uid, Sequence: 1, Status: app.AppointmentConfirmed, Service: service,
			Office: app.OfficeKreis, CitizenName: "Karl Kfz", Start: start, End: start.Add(15 * time.Minute)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	add("alt@p", "kfz-zulassung", testNow.AddDate(0, 0, -31))
	add("jung@p", "kfz-zulassung", testNow.AddDate(0, 0, -29))
	add("unbekannt@p", "gibt-es-nicht", testNow.AddDate(-3, 0, 0))
	rep, err := db.Purge(ctx, PurgeOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Appointments) != 1 || rep.Appointments[0].Ref != "alt@p" {
		t.Fatalf("purged %+v", rep.Appointments)
	}
	if len(rep.NoRetention) != 1 || !strings.Contains(rep.NoRetention[0], "unbekannt@p") {
		t.Fatalf("no retention: %v", rep.NoRetention)
	}
	if _, err := db.Appointment(ctx, "jung@p"); err != nil {
		t.Fatal(err)
	}
	if acts := auditActions(t, db, "alt@p"); acts[len(acts)-1] != "system appointment.purge service=kfz-zulassung office=kreis" {
		t.Fatalf("audit %v", acts)
	}
}

// TestFindPerson: the Art. 15 search finds a person's cases by name and
// birth date (any order, case, accents) or e-mail, their bookings by
// address or portal case, never a namesake born on another day; a scoped
// lead gets the own office's part only.
func TestFindPerson(t *testing.T) {
	ctx := context.Background()
	db := roleDB(t)
	a := newDogCase(t, "p-1", "Jördis", "Weißmüller", app.OfficeZell, testNow)
	a.Applicant.Email = "jw@example.org"
	c1 := mustCreate(t, db, a)
	b := newDogCase(t, "p-2", "Jördis", "Weißmüller", app.OfficeUlmen, testNow)
	b.Applicant.Email = "JW@example.org"
	c2 := mustCreate(t, db, b)
	other := newDogCase(t, "p-3", "Jördis", "Weißmüller", app.OfficeZell, testNow)
	other.Applicant.BirthDate = "1990-01-01"
	other.Applicant.Email = "andere@example.org"
	mustCreate(t, db, other)
	for _, ap := range []app.Appointment{
		{UID: "by-mail@p", CitizenEmail: "jw@example.org", Office: app.OfficeKreis},
		{UID: "by-case@p", PortalCase: "p-1", Office: app.OfficeZell},
		{UID: "namesake@p", CitizenName: "Jördis Weißmüller", CitizenEmail: "andere@example.org", Office: app.OfficeZell},
	} {
		ap.Sequence, ap.Status, ap.Service, ap.Start, ap.End = 1, app.AppointmentConfirmed, "buergerbuero", testNow, testNow.Add(time.Hour)
		if _, err := db.ApplyAppointment(ctx, &ap, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddNote(ctx, c1.Ref, "Rückfrage", app.Actor{Clerk: "zklerk"}); err != nil {
		t.Fatal(err)
	}
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
		{Email: "Jw@Example.org"},
	} {
		d, err := db.FindPerson(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := refsOf(d)
		for _, want := range []string{c1.Ref, c2.Ref, "by-mail@p", "by-case@p"} {
			if !strings.Contains(got, want) {
				t.Errorf("%+v: %s missing in %s", q, want, got)
			}
		}
		if strings.Contains(got, "namesake") || len(d.Cases) != 2 {
			t.Errorf("%+v: found %s", q, got)
		}
		if len(d.Notes[c1.Ref]) == 0 {
			t.Errorf("%+v: notes missing", q)
		}
	}
	_, err := db.FindPerson(ctx, app.PersonQuery{Name: "Jördis Weißmüller"})
	wantCode(t, err, app.EINVALID)

	lead := scoped(t, db, "zleitung")
	d, err := app.ExportPerson(ctx, lead, lead, lead.Actor, app.PersonQuery{Email: "jw@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if got := refsOf(d); got != c1.Ref+" by-case@p" {
		t.Errorf("lead of Zell gets %q", got)
	}
	if acts := auditActions(t, db, c1.Ref); acts[len(acts)-1] != "zleitung case.export art15" {
		t.Errorf("export not audited: %v", acts)
	}
	if acts := auditActions(t, db, c2.Ref); strings.Contains(strings.Join(acts, "|"), "export") {
		t.Errorf("Ulmen's case audited as exported by Zell: %v", acts)
	}
	clerk := scoped(t, db, "zklerk")
	_, err = app.ExportPerson(ctx, clerk, clerk, clerk.Actor, app.PersonQuery{Email: "jw@example.org"})
	wantCode(t, err, app.EFORBIDDEN)
}

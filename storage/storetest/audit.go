package storetest

import (
	"reflect"
	"strings"
	"time"

	"amtstresen/app"
)

// audit: the audit log.
var audit = []test{
	{"AuditAppendOnly", testAuditAppendOnly},
	{"AuditEntriesFilter", testAuditEntriesFilter},
	{"AuditEveryChangeWithoutContent", testAuditEveryChangeWithoutContent},
}

// testAuditAppendOnly, as far as the interface can tell: an entry needs
// an action; writing an entry with the ID of an existing one adds a new
// entry and changes nothing; what was written stays as it was through
// every later change.
func testAuditAppendOnly(e *env) {
	e.ok(e.st.Audit(e.ctx, app.AuditEntry{Clerk: "mm", Office: app.OfficeZell, Action: "case.read", Ref: "ZEL-2026-00001"}))
	e.wantCode(e.st.Audit(e.ctx, app.AuditEntry{Clerk: "mm"}), app.EINVALID)
	first, err := e.st.AuditEntries(e.ctx, app.AuditFilter{})
	if err != nil || len(first) != 1 || first[0].Clerk != "mm" || first[0].Action != "case.read" || first[0].ID == 0 || first[0].At.IsZero() {
		e.Fatalf("entries = %+v, %v", first, err)
	}
	e.ok(e.st.Audit(e.ctx, app.AuditEntry{ID: first[0].ID, At: Start.Add(-time.Hour), Clerk: "xx", Action: "case.print", Ref: "ZEL-2026-00001"}))
	c := e.create(e.dogCase("p-1", "Anna", "Muster", app.OfficeZell, Start))
	e.ok(e.st.Claim(e.ctx, c.Ref, app.Actor{Clerk: "mm"}))
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusWithdrawn, "auf Wunsch", app.Actor{Clerk: "mm"}))
	all, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{})
	if len(all) < 5 || !reflect.DeepEqual(all[0], first[0]) {
		e.Fatalf("the first entry changed: %+v, was %+v", all, first[0])
	}
	if all[1].Clerk != "xx" || all[1].ID == first[0].ID {
		e.Errorf("an entry with an ID given: %+v", all[1])
	}
	// Nothing purges the log without a period for it.
	if _, err := e.st.Purge(e.ctx, app.PurgeOptions{Now: Start.AddDate(30, 0, 0)}); err != nil {
		e.Fatal(err)
	}
	after, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{})
	if len(after) < len(all) || !reflect.DeepEqual(after[:len(all)], all) {
		e.Errorf("the log changed:\n%+v\nwas\n%+v", after, all)
	}
}

func testAuditEntriesFilter(e *env) {
	base := Start.UTC()
	for i, x := range []app.AuditEntry{
		{At: base, Clerk: "mm", Office: app.OfficeZell, Action: "case.read", Ref: "A"},
		{At: base.Add(time.Hour), Clerk: "ab", Office: app.OfficeCochem, Action: "case.read", Ref: "A"},
		{At: base.Add(2 * time.Hour), Clerk: "mm", Office: app.OfficeZell, Action: "case.print", Ref: "B"},
		{Clerk: "mm", Action: "case.read", Ref: "C"},        // At = now: the test clock, seconds after base
		{Clerk: "mm", Action: "casefile.read", Ref: "D"},    // not of the prefix "case."
		{Clerk: "mm", Action: "appointment.read", Ref: "E"}, // not of the prefix "case."
	} {
		if err := e.st.Audit(e.ctx, x); err != nil {
			e.Fatalf("%d: %v", i, err)
		}
	}
	refs := func(f app.AuditFilter) string {
		es, err := e.st.AuditEntries(e.ctx, f)
		if err != nil {
			e.Fatal(err)
		}
		var s []string
		for _, x := range es {
			s = append(s, x.Ref)
		}
		return strings.Join(s, "")
	}
	for _, tc := range []struct {
		f    app.AuditFilter
		want string
	}{
		{app.AuditFilter{}, "AABCDE"},
		{app.AuditFilter{Clerk: "mm"}, "ABCDE"},
		{app.AuditFilter{Ref: "A"}, "AA"},
		{app.AuditFilter{From: base.Add(time.Hour)}, "AB"},
		{app.AuditFilter{From: base, To: base.Add(2 * time.Hour)}, "AACDE"},
		{app.AuditFilter{From: base.Add(time.Minute), To: base.Add(2 * time.Hour)}, "A"},
		{app.AuditFilter{Limit: 2}, "DE"},
		{app.AuditFilter{Clerk: "mm", Limit: 1}, "E"},
		{app.AuditFilter{Office: app.OfficeZell}, "AB"},
		{app.AuditFilter{Action: "case.read"}, "AAC"},
		{app.AuditFilter{Action: "case."}, "AABC"},
		{app.AuditFilter{Action: "case"}, ""},
		{app.AuditFilter{Action: "case.", Clerk: "mm", Limit: 2}, "BC"},
	} {
		if got := refs(tc.f); got != tc.want {
			e.Errorf("%+v: %s, want %s", tc.f, got, tc.want)
		}
	}
	// The time of an entry without one is the store's clock.
	es, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: "C"})
	if len(es) != 1 || !es[0].At.After(base) || es[0].At.After(base.Add(time.Minute)) {
		e.Errorf("entry C = %+v", es)
	}
}

// testAuditEveryChangeWithoutContent: every change is audited with codes
// only: no names, no texts, no fields.
func testAuditEveryChangeWithoutContent(e *env) {
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	nc := e.dogCase("p-1", "Geheimvorname", "Geheimnachname", app.OfficeCochem, Start)
	c := e.create(nc)
	steps := []func() error{
		func() error { return e.st.Claim(e.ctx, c.Ref, mm) },
		func() error { return e.st.AddNote(e.ctx, c.Ref, "Geheimnotiz", mm) },
		func() error { return e.st.SetStatus(e.ctx, c.Ref, app.StatusInProgress, "Geheimgrund", mm) },
		func() error {
			return e.st.AddMessage(e.ctx, "p-1", "m1", &app.Note{Text: "Geheimnachricht"},
				[]app.NewAttachment{{Attachment: app.Attachment{Name: "Geheimdatei.pdf"}, Data: []byte("x")}}, nil)
		},
		func() error { return e.st.Release(e.ctx, c.Ref, mm) },
		func() error { return e.st.Forward(e.ctx, c.Ref, app.OfficeZell, "Geheimweiterleitung", mm) },
		func() error { return e.st.Withdraw(e.ctx, "p-1", "Geheimrücknahme", nil) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			e.Fatalf("step %d: %v", i, err)
		}
	}
	got := e.auditActions(c.Ref)
	want := []string{
		"portal case.create channel=portal office=vg-cochem",
		"mm case.claim ",
		"mm case.note ",
		"mm case.status received->in_progress",
		"portal case.message files=1",
		"mm case.release ",
		"mm case.forward vg-cochem->vg-zell",
		"portal case.status in_progress->withdrawn",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		e.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The rest of the portal sync and the review list: also codes only.
	ll := app.Actor{Clerk: "ll", Office: app.OfficeZell, Role: app.RoleLead}
	c2 := e.create(e.dogCase("p-2", "Geheimvorname", "Geheimnachname", app.OfficeZell, Start))
	e.ok(e.st.RequestWithdrawal(e.ctx, "p-2", "Geheimrücknahmewunsch", nil))
	e.ok(e.st.DecideWithdrawal(e.ctx, c2.Ref, false, "Geheimentscheidung", ll))
	it := &app.ReviewItem{MessageID: "<g@x>", Subject: "Geheimbetreff", From: "geheim@example.org", Reason: app.ReviewNotPortal, Raw: []byte("Geheimmail")}
	e.ok(e.st.AddReview(e.ctx, it, nil))
	e.ok(e.st.ResolveReview(e.ctx, it.ID, "handled", "Geheimvermerk", ll))
	a := &app.Appointment{UID: "g@portal", Status: app.AppointmentConfirmed, Service: "buergerbuero", Office: app.OfficeZell,
		CitizenName: "Geheimbürger", CitizenEmail: "geheim@example.org", Location: "Geheimort", Start: Start.Add(-time.Hour), End: Start}
	if _, err := e.st.ApplyAppointment(e.ctx, a, nil); err != nil {
		e.Fatal(err)
	}
	e.ok(e.st.OverrideAttendance(e.ctx, "g@portal", app.AttendanceCheckedIn, "Geheimbegründung", ll))
	e.ok(e.st.SaveSyncState(e.ctx, &app.SyncState{Mailbox: "INBOX", LastResult: "Geheimergebnis", LastError: "Geheimfehler"}))
	es, err := e.st.AuditEntries(e.ctx, app.AuditFilter{})
	if err != nil {
		e.Fatal(err)
	}
	actions := map[string]bool{}
	for _, x := range es {
		if s := x.Clerk + x.Name + string(x.Office) + x.Action + x.Ref + x.Detail; strings.Contains(strings.ToLower(s), "geheim") || strings.Contains(s, "Bello") {
			e.Errorf("personal data in the audit log: %+v", x)
		}
		actions[x.Action] = true
	}
	for _, a := range []string{"case.withdrawal.requested", "case.withdrawal", "review.add", "review.resolve", "appointment.apply", "appointment.attendance", "sync.state"} {
		if !actions[a] {
			e.Errorf("no %s in the audit log", a)
		}
	}
}

package app_test

// Scoped's decision for every method, per role, against the real SQLite
// store (an external test package: app itself imports no adapter).

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
)

var scopeNow = time.Date(2026, 11, 27, 10, 0, 0, 0, app.Berlin)

// scopeDB is a database with a clerk and the lead of VG Zell, a clerk of
// VG Ulmen and the administration; a Zell and an Ulmen case (from the
// portal), a Zell booking and a mail on the review list.
type scopeDB struct {
	db          *storage.DB
	zell, ulmen *app.Case
	reviewID    int64
}

func newScopeDB(t *testing.T) *scopeDB {
	t.Helper()
	ctx := context.Background()
	reg := app.Default()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "amtstresen.db"), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin := app.Actor{Clerk: "it", Role: app.RoleAdmin}
	for _, ra := range []app.RoleAssignment{{Clerk: "it", Role: app.RoleAdmin}, {Clerk: "zk", Role: app.RoleClerk, Office: app.OfficeZell},
		{Clerk: "zl", Role: app.RoleLead, Office: app.OfficeZell}, {Clerk: "uk", Role: app.RoleClerk, Office: app.OfficeUlmen}} {
		if err := db.SetRole(ctx, ra, admin); err != nil {
			t.Fatal(err)
		}
	}
	s := &scopeDB{db: db}
	s.zell = s.portalCase(t, "z1", "Zora", "56856", "Zell (Mosel)")
	s.ulmen = s.portalCase(t, "u1", "Ulla", "56766", "Ulmen")
	if s.zell.Office != app.OfficeZell || s.ulmen.Office != app.OfficeUlmen {
		t.Fatalf("cases routed to %s and %s", s.zell.Office, s.ulmen.Office)
	}
	if _, err := db.ApplyAppointment(ctx, &app.Appointment{UID: "t1@portal", Status: app.AppointmentConfirmed, Service: "buergerbuero",
		Office: app.OfficeZell, CitizenName: "Zora Zeller", Start: scopeNow.Add(time.Hour).UTC(), End: scopeNow.Add(2 * time.Hour).UTC()}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "<w@x>", Subject: "Werbung", From: "a@example.org", Reason: app.ReviewNotPortal,
		ReceivedAt: scopeNow.UTC(), SHA256: "ab12"}, nil); err != nil {
		t.Fatal(err)
	}
	items, err := db.ReviewItems(ctx, false)
	if err != nil || len(items) != 1 {
		t.Fatalf("review items %v %v", items, err)
	}
	s.reviewID = items[0].ID
	return s
}

func dogInput(first, plz, place string) app.IntakeInput {
	return app.IntakeInput{Service: "hund-anmelden", FirstName: first, LastName: "Muster", Street: "Moselstraße", HouseNumber: "1",
		Postcode: plz, Place: place, Fields: map[string]string{"hund.name": "Bello", "hund.rasse": "Dackel",
			"hund.chipnummer": "276098106543210", "haltungsbeginn": "01.11.2026"}}
}

// counterCase is a walk-in case form as the window makes it, by clerk.
func counterCase(t *testing.T, key, clerk, plz, place string) *app.NewCase {
	t.Helper()
	nc, err := app.Default().Intake(dogInput("Anna", plz, place), scopeNow).NewCase(key, clerk, scopeNow)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

func (s *scopeDB) portalCase(t *testing.T, key, first, plz, place string) *app.Case {
	t.Helper()
	nc := counterCase(t, key, "portal", plz, place)
	nc.Channel, nc.PortalCase = app.ChannelPortal, key
	c, _, err := s.db.CreateCase(context.Background(), nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *scopeDB) as(t *testing.T, account string) *app.Scoped {
	t.Helper()
	a, _, err := app.ResolveActor(context.Background(), s.db, account)
	if err != nil {
		t.Fatal(err)
	}
	return app.NewScoped(s.db, a)
}

func code(err error) string {
	var e *app.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func (s *scopeDB) count(t *testing.T, f app.AuditFilter) int {
	t.Helper()
	es, err := s.db.AuditEntries(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestScopedWritesOutEveryMethod: Scoped embeds nothing, so every method
// of app.ClerkStore is one it wrote out (the var _ check in scoped.go
// makes a missing one a compile error).
func TestScopedWritesOutEveryMethod(t *testing.T) {
	typ := reflect.TypeOf(app.Scoped{})
	for i := 0; i < typ.NumField(); i++ {
		if f := typ.Field(i); f.Anonymous {
			t.Errorf("Scoped embeds %s: its methods would pass through unchecked", f.Name)
		}
	}
	want := reflect.TypeOf((*app.ClerkStore)(nil)).Elem()
	got := reflect.TypeOf(&app.Scoped{})
	for i := 0; i < want.NumMethod(); i++ {
		if _, ok := got.MethodByName(want.Method(i).Name); !ok {
			t.Errorf("Scoped lacks %s", want.Method(i).Name)
		}
	}
}

// What only the portal sync does is refused to every role, and nothing
// is changed.
func TestScopedSyncOnly(t *testing.T) {
	ctx := context.Background()
	s := newScopeDB(t)
	for _, account := range []string{"zk", "zl", "it"} {
		sc := s.as(t, account)
		portal := counterCase(t, "p-"+account, account, "56856", "Zell (Mosel)")
		portal.Channel, portal.PortalCase = app.ChannelPortal, "p-"+account
		_, _, err1 := sc.CreateCase(ctx, portal, nil)
		_, _, err2 := sc.CreateCase(ctx, counterCase(t, "r-"+account, account, "56856", "Zell (Mosel)"), &app.Receipt{SHA256: "aa", Kind: "antrag"})
		_, err3 := sc.ApplyAppointment(ctx, &app.Appointment{UID: "t1@portal", Sequence: 9, Status: app.AppointmentCancelled, Office: app.OfficeZell}, nil)
		for name, err := range map[string]error{
			"CreateCase portal":  err1,
			"CreateCase receipt": err2,
			"AddMessage":         sc.AddMessage(ctx, "z1", "m1", &app.Note{Text: "x"}, nil, nil),
			"Withdraw":           sc.Withdraw(ctx, "z1", "x", nil),
			"ApplyAppointment":   err3,
			"AddReview":          sc.AddReview(ctx, &app.ReviewItem{SHA256: "cd34", Reason: app.ReviewNotPortal, ReceivedAt: scopeNow}, nil),
			"SaveSyncState":      sc.SaveSyncState(ctx, &app.SyncState{Mailbox: "INBOX", LastUID: 99}),
		} {
			if code(err) != app.EFORBIDDEN {
				t.Errorf("%s as %s: %v, want forbidden", name, account, err)
			}
		}
	}
	if n, _ := s.db.CountCases(ctx, app.CaseFilter{}); n != 2 {
		t.Errorf("%d cases after refused creations", n)
	}
	if c, _ := s.db.CaseByRef(ctx, s.zell.Ref); c.Status != app.StatusReceived {
		t.Errorf("refused withdrawal changed the case: %s", c.Status)
	}
	if a, _ := s.db.Appointment(ctx, "t1@portal"); a.Status != app.AppointmentConfirmed {
		t.Errorf("refused booking applied: %s", a.Status)
	}
	if items, _ := s.db.ReviewItems(ctx, true); len(items) != 1 {
		t.Errorf("%d review items after a refused AddReview", len(items))
	}
	if st, err := s.db.SyncState(ctx, "INBOX"); err == nil && st.LastUID == 99 {
		t.Error("refused SaveSyncState saved")
	}
}

// Every role takes in a walk-in case, for any office, in its own name.
func TestScopedCreateCase(t *testing.T) {
	ctx := context.Background()
	s := newScopeDB(t)
	uk := s.as(t, "uk")
	c, created, err := uk.CreateCase(ctx, counterCase(t, "w1", "uk", "56856", "Zell (Mosel)"), nil)
	if err != nil || !created || c.Office != app.OfficeZell {
		t.Fatalf("Ulmen clerk takes in a Zell case: %v %v %+v", err, created, c)
	}
	if _, _, err := uk.CreateCase(ctx, counterCase(t, "w2", "zk", "56766", "Ulmen"), nil); code(err) != app.EFORBIDDEN {
		t.Errorf("case in another clerk's name: %v", err)
	}
	if n, _ := s.db.CountCases(ctx, app.CaseFilter{}); n != 3 {
		t.Errorf("%d cases, want 3", n)
	}
}

// A change names exactly the scoped actor; another account, office or
// role is refused before the store is reached, and nothing is written.
func TestScopedRefusesAnotherActor(t *testing.T) {
	ctx := context.Background()
	s := newScopeDB(t)
	zl := s.as(t, "zl")
	for _, by := range []app.Actor{
		{Clerk: "zk", Office: app.OfficeZell, Role: app.RoleClerk}, // another account
		{Clerk: "zl", Office: app.OfficeUlmen, Role: app.RoleLead}, // another office
		{Clerk: "zl", Office: app.OfficeZell, Role: app.RoleAdmin}, // another role
		{Clerk: "zl"}, // the account alone
	} {
		_, readErr := zl.ReadCase(ctx, s.zell.Ref, by)
		for name, err := range map[string]error{
			"ReadCase":           readErr,
			"Claim":              zl.Claim(ctx, s.zell.Ref, by),
			"Release":            zl.Release(ctx, s.zell.Ref, by),
			"SetStatus":          zl.SetStatus(ctx, s.zell.Ref, app.StatusInProgress, "", by),
			"Forward":            zl.Forward(ctx, s.zell.Ref, app.OfficeUlmen, "Wohnsitz", by),
			"AddNote":            zl.AddNote(ctx, s.zell.Ref, "x", by),
			"DecideWithdrawal":   zl.DecideWithdrawal(ctx, s.zell.Ref, true, "x", by),
			"SetAttendance":      zl.SetAttendance(ctx, "t1@portal", app.AttendanceCheckedIn, by),
			"OverrideAttendance": zl.OverrideAttendance(ctx, "t1@portal", app.AttendanceCheckedIn, "früher da", by),
			"ResolveReview":      zl.ResolveReview(ctx, s.reviewID, "handled", "Werbung", by),
		} {
			if code(err) != app.EFORBIDDEN {
				t.Errorf("%s naming %+v: %v, want forbidden", name, by, err)
			}
		}
	}
	if n := s.count(t, app.AuditFilter{Ref: s.zell.Ref, Action: "case."}); n != 1 { // case.create
		t.Errorf("%d case entries after refused changes, want only the creation", n)
	}
	if n := s.count(t, app.AuditFilter{Action: app.ActionReviewResolve}); n != 0 {
		t.Errorf("review resolved by a refused actor")
	}
	// The scoped actor itself, with the display name the window knows.
	by := zl.Actor
	by.Name = "Zita Leitner"
	if err := zl.Claim(ctx, s.zell.Ref, by); err != nil {
		t.Fatal(err)
	}
	es, _ := s.db.AuditEntries(ctx, app.AuditFilter{Ref: s.zell.Ref, Action: app.ActionCaseClaim})
	if len(es) != 1 || es[0].Clerk != "zl" || es[0].Name != "Zita Leitner" {
		t.Errorf("claim audited as %+v", es)
	}
}

// ReadCase opens a case the actor sees and logs each opening with the
// case's office; a case of another office is refused, and that refusal is
// logged instead. CaseByRef is a lookup and logs no read.
func TestScopedReadCase(t *testing.T) {
	ctx := context.Background()
	s := newScopeDB(t)
	zk := s.as(t, "zk")
	for i := 0; i < 2; i++ {
		c, err := zk.ReadCase(ctx, s.zell.Ref, zk.Actor)
		if err != nil || c.Ref != s.zell.Ref {
			t.Fatalf("read own case: %v", err)
		}
	}
	if _, err := zk.CaseByRef(ctx, s.zell.Ref); err != nil {
		t.Fatal(err)
	}
	es, _ := s.db.AuditEntries(ctx, app.AuditFilter{Ref: s.zell.Ref, Action: app.ActionCaseRead})
	if len(es) != 2 || es[0].Clerk != "zk" || es[0].Office != app.OfficeZell {
		t.Errorf("reads audited as %+v, want two by zk for Zell", es)
	}
	if _, err := zk.ReadCase(ctx, s.ulmen.Ref, zk.Actor); code(err) != app.EFORBIDDEN {
		t.Errorf("read of an Ulmen case: %v", err)
	}
	if n := s.count(t, app.AuditFilter{Ref: s.ulmen.Ref, Action: app.ActionCaseRead}); n != 0 {
		t.Errorf("refused read logged as a read")
	}
	if n := s.count(t, app.AuditFilter{Ref: s.ulmen.Ref, Action: app.ActionCaseRead + app.DeniedSuffix}); n != 1 {
		t.Errorf("%d refused reads logged, want 1", n)
	}
}

// The review list is shared by all offices: every role reads every mail
// and handles it in its own name. The sync's progress is readable too.
func TestScopedReviewListShared(t *testing.T) {
	ctx := context.Background()
	s := newScopeDB(t)
	for _, account := range []string{"uk", "zk", "zl", "it"} {
		sc := s.as(t, account)
		items, err := sc.ReviewItems(ctx, true)
		if err != nil || len(items) != 1 {
			t.Errorf("%s reads %d review items: %v", account, len(items), err)
		}
		if it, err := sc.ReviewItem(ctx, s.reviewID); err != nil || it.Subject != "Werbung" {
			t.Errorf("%s reads the review item: %v", account, err)
		}
		if _, err := sc.SyncState(ctx, "INBOX"); err != nil && code(err) != app.ENOTFOUND {
			t.Errorf("%s reads the sync state: %v", account, err)
		}
	}
	uk := s.as(t, "uk")
	if err := uk.ResolveReview(ctx, s.reviewID, "handled", "Werbung", uk.Actor); err != nil {
		t.Fatal(err)
	}
	es, _ := s.db.AuditEntries(ctx, app.AuditFilter{Action: app.ActionReviewResolve})
	if len(es) != 1 || es[0].Clerk != "uk" || es[0].Office != app.OfficeUlmen {
		t.Errorf("resolve audited as %+v", es)
	}
}

// A clerk's programs write to the audit log in the clerk's own name and
// only what they record themselves: prints and the log's export for every
// role, the Art. 15 answer's entries for leads and the administration,
// nothing the store records with a change.
func TestScopedAudit(t *testing.T) {
	ctx := context.Background()
	s := newScopeDB(t)
	cases := []struct {
		account, action, clerk string
		want                   string
	}{
		{"zk", app.ActionCasePrint, "zk", ""},
		{"zk", app.ActionAppointmentPrint, "zk", ""},
		{"zk", app.ActionAuditExport, "zk", ""},
		{"zk", app.ActionPersonExport, "zk", app.EFORBIDDEN},
		{"zk", app.ActionCaseExport, "zk", app.EFORBIDDEN},
		{"zl", app.ActionPersonExport, "zl", ""},
		{"zl", app.ActionCaseExport, "zl", ""},
		{"zk", app.ActionCasePrint, "zl", app.EFORBIDDEN},  // in another's name
		{"zk", app.ActionCasePrint, "", app.EFORBIDDEN},    // in nobody's name
		{"it", app.ActionRoleSet, "it", app.EFORBIDDEN},    // the store writes it with the role
		{"it", app.ActionCaseRead, "it", app.EFORBIDDEN},   // Scoped writes it (ReadCase)
		{"zl", app.ActionCaseStatus, "zl", app.EFORBIDDEN}, // the store writes it with the change
		{"it", app.ActionAuditPurge, "it", app.EFORBIDDEN}, // the purge writes it
		{"zk", app.ActionCaseRead + app.DeniedSuffix, "zk", app.EFORBIDDEN},
	}
	for _, tc := range cases {
		before := s.count(t, app.AuditFilter{})
		err := s.as(t, tc.account).Audit(ctx, app.AuditEntry{Clerk: tc.clerk, Action: tc.action, Ref: s.zell.Ref, Office: app.OfficeZell})
		if code(err) != tc.want {
			t.Errorf("%s writes %s as %q: %v, want %q", tc.account, tc.action, tc.clerk, err, tc.want)
		}
		wantN := before
		if tc.want == "" {
			wantN++
		}
		if n := s.count(t, app.AuditFilter{}); n != wantN {
			t.Errorf("%s writes %s: %d entries, want %d", tc.account, tc.action, n, wantN)
		}
	}
}

// The export of all cases gives the cases of the offices the actor sees.
func TestScopedAllCases(t *testing.T) {
	ctx := context.Background()
	s := newScopeDB(t)
	for account, want := range map[string][]string{"zk": {s.zell.Ref}, "uk": {s.ulmen.Ref}, "it": {s.zell.Ref, s.ulmen.Ref}} {
		cs, err := s.as(t, account).AllCases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.Ref)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", account, got, want)
		}
	}
}

package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// The audit log refuses UPDATE and DELETE, also through plain SQL.
func TestAuditAppendOnly(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Audit(ctx, app.AuditEntry{Clerk: "mm", Office: app.OfficeZell, Action: "case.read", Ref: "ZEL-2026-00001"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE audit_log SET clerk = 'xx'",
		"DELETE FROM audit_log",
		"DELETE FROM audit_log WHERE id = 1",
		"INSERT OR REPLACE INTO audit_log (id, at, clerk, action) VALUES (1, '', 'xx', 'x')",
	} {
		_, err := db.db.ExecContext(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want refusal", q, err)
		}
	}
	es, _ := db.AuditEntries(ctx, app.AuditFilter{})
	if len(es) != 1 || es[0].Clerk != "mm" {
		t.Errorf("entries = %+v", es)
	}
	wantCode(t, db.Audit(ctx, app.AuditEntry{Clerk: "mm"}), app.EINVALID)
}

func TestAuditEntriesFilter(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	base := testNow.UTC()
	for i, e := range []app.AuditEntry{
		{At: base, Clerk: "mm", Action: "case.read", Ref: "A"},
		{At: base.Add(time.Hour), Clerk: "ab", Action: "case.read", Ref: "A"},
		{At: base.Add(2 * time.Hour), Clerk: "mm", Action: "case.print", Ref: "B"},
		{Clerk: "mm", Action: "case.read", Ref: "C"}, // At = now: the test clock, seconds after base
	} {
		if err := db.Audit(ctx, e); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	refs := func(f app.AuditFilter) string {
		es, err := db.AuditEntries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, e := range es {
			s = append(s, e.Ref)
		}
		return strings.Join(s, "")
	}
	for _, tc := range []struct {
		f    app.AuditFilter
		want string
	}{
		{app.AuditFilter{}, "AABC"},
		{app.AuditFilter{Clerk: "mm"}, "ABC"},
		{app.AuditFilter{Ref: "A"}, "AA"},
		{app.AuditFilter{From: base.Add(time.Hour)}, "AB"},
		{app.AuditFilter{From: base, To: base.Add(2 * time.Hour)}, "AAC"},
		{app.AuditFilter{From: base.Add(time.Minute), To: base.Add(2 * time.Hour)}, "A"},
		{app.AuditFilter{Limit: 2}, "BC"},
		{app.AuditFilter{Clerk: "mm", Limit: 1}, "C"},
	} {
		if got := refs(tc.f); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.f, got, tc.want)
		}
	}
}

// Every change is audited with codes only: no names, no texts, no fields.
func TestAuditEveryChangeWithoutContent(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	nc := newDogCase(t, "p-1", "Geheimvorname", "Geheimnachname", app.OfficeCochem, testNow)
	c := mustCreate(t, db, nc)
	steps := []func() error{
		func() error { return db.Claim(ctx, c.Ref, mm) },
		func() error { return db.AddNote(ctx, c.Ref, "Geheimnotiz", mm) },
		func() error { return db.SetStatus(ctx, c.Ref, app.StatusInProgress, "Geheimgrund", mm) },
		func() error {
			return db.AddMessage(ctx, "p-1", "m1", &app.Note{Text: "Geheimnachricht"},
				[]app.NewAttachment{{Attachment: app.Attachment{Name: "Geheimdatei.pdf"}, Data: []byte("x")}}, nil)
		},
		func() error { return db.Release(ctx, c.Ref, mm) },
		func() error { return db.Forward(ctx, c.Ref, app.OfficeZell, "Geheimweiterleitung", mm) },
		func() error { return db.Withdraw(ctx, "p-1", "Geheimrücknahme", nil) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	got := auditActions(t, db, c.Ref)
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
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var dump string
	rows, _ := db.db.Query("SELECT clerk || office || action || ref || detail FROM audit_log")
	for rows.Next() {
		var s string
		rows.Scan(&s)
		dump += s
	}
	rows.Close()
	if strings.Contains(dump, "Geheim") || strings.Contains(dump, "Bello") {
		t.Errorf("personal data in the audit log: %s", dump)
	}
}

package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// TestRolesAudited: role changes are in the log, and it keeps them against
// plain SQL (the role rules themselves: storetest).
func TestRolesAudited(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a := app.Actor{Clerk: "erstadmin", Role: app.RoleAdmin}
	for _, ra := range []app.RoleAssignment{{Clerk: "erstadmin", Role: app.RoleAdmin}, {Clerk: "mm", Role: app.RoleClerk, Office: app.OfficeZell}} {
		if err := db.SetRole(ctx, ra, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.db.ExecContext(ctx, `DELETE FROM audit_log WHERE action LIKE 'role.%'`); err == nil {
		t.Error("role entries could be deleted")
	}
	if got := auditActions(t, db, "mm"); len(got) != 1 || got[0] != "erstadmin role.set clerk@vg-zell" {
		t.Errorf("audit %q", got)
	}
}

// TestAuditRetention: after the purge of old audit entries (storetest
// checks which go) the log refuses changes as before: the trigger is back
// exactly as migration 0001 made it.
func TestAuditRetention(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	old := testNow.AddDate(-2, 0, 0).UTC()
	for _, at := range []time.Time{old, testNow} {
		if err := db.Audit(ctx, app.AuditEntry{At: at, Clerk: "mm", Action: "case.read", Ref: "ZEL-2024-00001"}); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := db.Purge(ctx, PurgeOptions{Now: testNow, AuditMonths: 12}); err != nil || rep.AuditEntries != 1 {
		t.Fatalf("purge: %+v %v", rep, err)
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

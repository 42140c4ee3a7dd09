package storage

import (
	"context"
	"strings"
	"testing"

	"amtstresen/app"
)

// The audit log refuses UPDATE and DELETE, also through plain SQL (what
// the interface shows of it: storetest).
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
}

package postgres

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// insertMessage queues a message and a letter of the case as the sync.
func insertMessage(t *testing.T, db *testDB, caseID int64, nachricht, office string) {
	t.Helper()
	sync := db.serviceLogin("abgleich", "sync").conn()
	ctx := context.Background()
	if _, err := sync.Exec(ctx, `INSERT INTO amtstresen.outbox (nachricht, case_id, portal_case, office, status, text, queued_at, queued_by, state)
		VALUES ($1, $2, 'p', $3, 'eingegangen', 'Guten Tag', now(), 'portal', 'queued')`, nachricht, caseID, office); err != nil {
		t.Fatal(err)
	}
	if _, err := sync.Exec(ctx, `INSERT INTO amtstresen.print_jobs (kind, case_id, office, nachricht, created_at)
		VALUES ('letter', $1, $2, $3, now())`, caseID, office, nachricht); err != nil {
		t.Fatal(err)
	}
}

// A clerk connected with their own role reads and changes no message and
// no letter of another office's case, queues messages only in their own
// name, and cannot touch what only the sender writes.
func TestOutboxRowLevelSecurity(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	sync := db.serviceLogin("abgleich", "sync").conn()
	zell := insertCase(t, sync, testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Name: "Anna Zöller", Author: "portal"})
	ulmen := insertCase(t, sync, testCase{Ref: "ULM-2026-00001", Office: "vg-ulmen", Name: "Karl Ulmer", Author: "portal"})
	insertMessage(t, db, zell, "00000000-0000-4000-8000-00000000000a", "vg-zell")
	insertMessage(t, db, ulmen, "00000000-0000-4000-8000-00000000000b", "vg-ulmen")
	conn := db.newLogin("ulm", "clerk", "vg-ulmen").conn()
	for _, q := range []string{"SELECT count(*) FROM amtstresen.outbox", "SELECT count(*) FROM amtstresen.print_jobs"} {
		if n := count(t, conn, q); n != 1 {
			t.Errorf("%s: %d rows, want only Ulmen's", q, n)
		}
	}
	if n := count(t, conn, "SELECT count(*) FROM amtstresen.outbox WHERE case_id = $1", zell); n != 0 {
		t.Errorf("Zell's message visible: %d", n)
	}
	tag, err := conn.Exec(ctx, `UPDATE amtstresen.outbox SET state = 'queued' WHERE case_id = $1`, zell)
	if err != nil || tag.RowsAffected() != 0 {
		t.Errorf("update of Zell's message: %v %v", tag, err)
	}
	tag, err = conn.Exec(ctx, `UPDATE amtstresen.print_jobs SET printed_at = now() WHERE case_id = $1`, zell)
	if err != nil || tag.RowsAffected() != 0 {
		t.Errorf("Zell's letter marked printed: %v %v", tag, err)
	}
	// Messages of a case one cannot see, or in another's name: refused.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO amtstresen.outbox (nachricht, case_id, office, status, text, queued_at, queued_by, state)
			VALUES ('x1', $1, 'vg-zell', 'abgelehnt', 'x', now(), session_user, 'queued')`, []any{zell}},
		{`INSERT INTO amtstresen.outbox (nachricht, case_id, office, status, text, queued_at, queued_by, state)
			VALUES ('x2', $1, 'vg-ulmen', 'abgelehnt', 'x', now(), 'jemand', 'queued')`, []any{ulmen}},
		{`UPDATE amtstresen.outbox SET raw = 'x', sent_at = now() WHERE case_id = $1`, []any{ulmen}},
		{`SELECT count(*) FROM amtstresen.outbox_receipts`, nil},
	} {
		if _, err := conn.Exec(ctx, q.sql, q.args...); err == nil {
			t.Errorf("allowed: %s", q.sql)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO amtstresen.outbox (nachricht, case_id, office, status, text, queued_at, queued_by, state)
		VALUES ('x3', $1, 'vg-ulmen', 'abgelehnt', 'x', now(), session_user, 'letter')`, ulmen); err != nil {
		t.Errorf("own message refused: %v", err)
	}
}

// A message queued or changing state is announced by case and office
// only, so that windows refresh and the sender wakes up.
func TestNotifyOutbox(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	listener := db.newLogin("zel", "clerk", "vg-zell").conn()
	if _, err := listener.Exec(ctx, "LISTEN "+ChannelOutbox); err != nil {
		t.Fatal(err)
	}
	sync := db.serviceLogin("abgleich", "sync").conn()
	id := insertCase(t, sync, testCase{Ref: "ULM-2026-00001", Office: "vg-ulmen", Name: "Karl Ulmer", Author: "portal"})
	insertMessage(t, db, id, "00000000-0000-4000-8000-00000000000c", "vg-ulmen")
	for {
		ch, payload, ok := next(t, listener, 5*time.Second)
		if !ok {
			t.Fatal("no notification of the queued message")
		}
		if ch != ChannelOutbox {
			continue
		}
		var m OutboxChange
		if err := json.Unmarshal([]byte(payload), &m); err != nil || m != (OutboxChange{Case: id, Office: "vg-ulmen", State: "queued"}) {
			t.Fatalf("payload %s = %+v, %v", payload, m, err)
		}
		break
	}
	if _, err := sync.Exec(ctx, `UPDATE amtstresen.outbox SET state = 'sent'`); err != nil {
		t.Fatal(err)
	}
	if ch, payload, ok := next(t, listener, 5*time.Second); !ok || ch != ChannelOutbox || !json.Valid([]byte(payload)) {
		t.Fatalf("state change: %q %q %v", ch, payload, ok)
	}
}

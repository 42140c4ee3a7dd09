package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// next waits up to d for a notification.
func next(t *testing.T, conn *pgx.Conn, d time.Duration) (string, string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		return "", "", false
	}
	return n.Channel, n.Payload, true
}

// Every written case is announced when its transaction commits, by id
// and office only, to anyone listening (also to another office's clerk:
// the payload says nothing about the citizen).
func TestNotifyCaseChanges(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	listener := db.newLogin("zel", "clerk", "vg-zell").conn()
	for _, ch := range []string{ChannelCase, ChannelAppointment, ChannelReview} {
		if _, err := listener.Exec(ctx, "LISTEN "+ch); err != nil {
			t.Fatal(err)
		}
	}
	sync := db.serviceLogin("abgleich", "sync").conn()
	id := insertCase(t, sync, testCase{Ref: "ULM-2026-00001", Office: "vg-ulmen", Name: "Karl Ulmer", Author: "portal"})

	ch, payload, ok := next(t, listener, 5*time.Second)
	if !ok || ch != ChannelCase {
		t.Fatalf("no notification of the new case (%q %q)", ch, payload)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(payload), &m); err != nil || len(m) != 5 {
		t.Fatalf("payload %s: %v", payload, err)
	}
	// Keys only: where the case stands in the queue, before (nothing: it
	// is new) and after.
	var c CaseChange
	if err := json.Unmarshal([]byte(payload), &c); err != nil || c.ID != id || c.Office != "vg-ulmen" || c.RoutingOpen ||
		c.Before != nil || c.After == nil || *c.After != (CaseKeys{Office: "vg-ulmen", Status: "received"}) {
		t.Fatalf("payload %s = %+v, %v", payload, c, err)
	}
	// The case's documents, note and attachment are not announced on their own.
	if ch, p, ok := next(t, listener, 100*time.Millisecond); ok {
		t.Fatalf("second notification %s %s", ch, p)
	}

	// A forward announces both offices.
	if _, err := sync.Exec(ctx, "UPDATE amtstresen.cases SET office = 'vg-zell', flags = '{routing-unclear}' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	var got []CaseChange
	for range 2 {
		_, p, ok := next(t, listener, 5*time.Second)
		if !ok {
			t.Fatal("forward: notification missing")
		}
		c = CaseChange{}
		json.Unmarshal([]byte(p), &c)
		got = append(got, c)
	}
	before, after := CaseKeys{Office: "vg-ulmen", Status: "received"}, CaseKeys{Office: "vg-zell", Status: "received", RoutingOpen: true}
	for i, g := range got {
		if g.ID != id || g.Office != []string{"vg-ulmen", "vg-zell"}[i] || g.RoutingOpen != (i == 1) ||
			g.Before == nil || *g.Before != before || g.After == nil || *g.After != after {
			t.Errorf("forward, announcement %d: %+v", i, g)
		}
	}
	// A status change says the status before and after.
	if _, err := sync.Exec(ctx, "UPDATE amtstresen.cases SET status = 'in_progress' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	_, p, ok := next(t, listener, 5*time.Second)
	c = CaseChange{}
	if json.Unmarshal([]byte(p), &c); !ok || c.Before == nil || *c.Before != after || c.After == nil || c.After.Status != "in_progress" {
		t.Errorf("status change: %s", p)
	}

	// Nothing for a transaction that rolls back.
	tx, err := sync.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := insertCaseTx(ctx, tx, testCase{Ref: "ULM-2026-00002", Office: "vg-ulmen", Name: "X", Author: "portal"}); err != nil {
		t.Fatal(err)
	}
	tx.Rollback(ctx)
	if ch, p, ok := next(t, listener, 200*time.Millisecond); ok {
		t.Fatalf("notification of a rolled-back case: %s %s", ch, p)
	}

	// Appointments and review items.
	if _, err := sync.Exec(ctx, `INSERT INTO amtstresen.appointments (uid, sequence, status, office, citizen_name, updated_at)
		VALUES ('b-1', 0, 'confirmed', 'vg-ulmen', 'Karl Ulmer', now())`); err != nil {
		t.Fatal(err)
	}
	if ch, p, ok := next(t, listener, 5*time.Second); !ok || ch != ChannelAppointment || p != `{"uid" : "b-1", "office" : "vg-ulmen"}` {
		t.Errorf("appointment: %q %q", ch, p)
	}
	if _, err := sync.Exec(ctx, `INSERT INTO amtstresen.review_items (message_id, raw_sha256, reason, subject, received_at)
		VALUES ('<m@x>', '', 'not-portal', 'Karl Ulmer fragt', now())`); err != nil {
		t.Fatal(err)
	}
	if ch, p, ok := next(t, listener, 5*time.Second); !ok || ch != ChannelReview || strings.Contains(p, "Ulmer") || !strings.Contains(p, `"id"`) {
		t.Errorf("review: %q %q", ch, p)
	}
}

// Migration 14 announces new cases once per statement
// (notify_cases_inserted), a copy of what the row trigger notify_case
// says of an insert. Whoever changes one must change the other. With
// notify_case attached for inserts too, for this test only, both announce
// each new case; PostgreSQL delivers identical announcements of one
// transaction once, so one announcement per case means both said the
// same, for a case of an office and for one whose office is open.
func TestNewCaseAnnouncedAsRowTriggerWould(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	if _, err := db.super().Exec(ctx, `CREATE TRIGGER cases_notify_row_insert AFTER INSERT ON amtstresen.cases
		FOR EACH ROW EXECUTE FUNCTION amtstresen.notify_case()`); err != nil {
		t.Fatal(err)
	}
	listener := db.super()
	if _, err := listener.Exec(ctx, "LISTEN "+ChannelCase); err != nil {
		t.Fatal(err)
	}
	sync := db.serviceLogin("abgleich", "sync").conn()
	for i, office := range []string{"vg-ulmen", ""} {
		id := insertCase(t, sync, testCase{Ref: fmt.Sprintf("ULM-2026-%05d", i+1), Office: office, Name: "Karl Ulmer", Author: "portal"})
		_, p, ok := next(t, listener, 5*time.Second)
		if !ok {
			t.Fatalf("case %d: not announced", id)
		}
		var c CaseChange
		if err := json.Unmarshal([]byte(p), &c); err != nil || c.ID != id || c.After == nil || c.After.RoutingOpen != (office == "") {
			t.Errorf("case %d: %s (%v)", id, p, err)
		}
		if _, p2, ok := next(t, listener, 300*time.Millisecond); ok {
			t.Errorf("case %d announced twice, differently by statement and row trigger:\n%s\n%s", id, p, p2)
		}
	}
}

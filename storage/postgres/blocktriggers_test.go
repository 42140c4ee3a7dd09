package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/storetest"
)

// Migration 14: a search row written with an office and month keeps them
// only when they are its case's. The sync (which may write any case's
// row) and a clerk of the case's office (whose policy lets the row in)
// both fail with another office or month; without them (the defaults) the
// row gets its case's, with the right ones it keeps them.
func TestSearchRowOfficeChecked(t *testing.T) {
	tdb := newDB(t)
	ctx := context.Background()
	syncLogin := tdb.serviceLogin("abgleich", "sync")
	db := syncLogin.open(t)
	c, _, err := db.CreateCase(ctx, storetest.DogCase(t, "k-1", "Anna", "Zöller", app.OfficeZell, storetest.Start), nil)
	if err != nil {
		t.Fatal(err)
	}
	month := caseMonth(c.ReceivedAt)
	super := tdb.super()
	clerk := tdb.newLogin("sachb", "clerk", string(app.OfficeZell)).conn()
	for _, tc := range []struct {
		name   string
		conn   *pgx.Conn
		office string
		month  int32
		ok     bool
	}{
		{"sync, other office", syncLogin.conn(), string(app.OfficeUlmen), month, false},
		{"sync, other month", syncLogin.conn(), string(app.OfficeZell), month - 1, false},
		{"sync, office without month", syncLogin.conn(), string(app.OfficeZell), 0, false},
		{"clerk, other office", clerk, string(app.OfficeUlmen), month, false},
		{"clerk, undecided office", clerk, "", month, false},
		{"sync, defaults", syncLogin.conn(), "", 0, true},
		{"clerk, defaults", clerk, "", 0, true},
		{"sync, its case's", syncLogin.conn(), string(app.OfficeZell), month, true},
	} {
		if _, err := super.Exec(ctx, "DELETE FROM amtstresen.case_search WHERE case_id = $1", c.ID); err != nil {
			t.Fatal(err)
		}
		_, err := tc.conn.Exec(ctx, `INSERT INTO amtstresen.case_search (case_id, office, month, doc) VALUES ($1, $2, $3, amtstresen.search_vector('anna zoller'))`,
			c.ID, tc.office, tc.month)
		if !tc.ok {
			if pgCode(err) != "23514" {
				t.Errorf("%s: %v, want check_violation", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var office string
		var m int32
		if err := super.QueryRow(ctx, "SELECT office, month FROM amtstresen.case_search WHERE case_id = $1", c.ID).Scan(&office, &m); err != nil ||
			office != string(app.OfficeZell) || m != month {
			t.Errorf("%s: office %q month %d (%v), want %s %d", tc.name, office, m, err, app.OfficeZell, month)
		}
	}
}

// Migration 14: a new case's written_tx is the writing transaction's,
// whatever the writer sends (the policies trust it).
func TestWrittenTxWhateverSent(t *testing.T) {
	tdb := newDB(t)
	ctx := context.Background()
	conn := tdb.serviceLogin("abgleich", "sync").conn()
	for _, sent := range []any{nil, "1", "99999999"} {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var own bool
		err = tx.QueryRow(ctx, `INSERT INTO amtstresen.cases (ref, office, channel, service, status, received_at, updated_at, written_tx)
			VALUES ('TST-2026-00001', 'vg-zell', 'portal', 'hund-anmelden', 'received', now(), now(), $1::xid8)
			RETURNING written_tx = pg_current_xact_id()`, sent).Scan(&own)
		tx.Rollback(ctx)
		if err != nil || !own {
			t.Errorf("sent %v: written_tx of this transaction %v, %v", sent, own, err)
		}
	}
}

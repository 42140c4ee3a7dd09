package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// Search rows written in a batch reach the index at its end; an operation
// rolled back inside the batch leaves no search row behind, also when the
// next case takes over its row id.
func TestBatchSearchRows(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.db.Exec(`CREATE TRIGGER fail_create BEFORE INSERT ON audit_log WHEN NEW.action = 'case.create' AND NEW.ref = 'ZEL-2026-00002'
		BEGIN SELECT RAISE(ABORT, 'simulated failure'); END`); err != nil {
		t.Fatal(err)
	}
	err := db.Batch(ctx, func(tx app.PortalStore) error {
		mustCreate(t, tx.(*DB), newDogCase(t, "p-1", "Anna", "Zöller", app.OfficeZell, testNow))
		// Fails after its search row was written: rolled back.
		if _, _, err := tx.CreateCase(ctx, newDogCase(t, "p-2", "Bernd", "Geistername", app.OfficeZell, testNow), nil); err == nil {
			t.Fatal("simulated failure did not fail")
		}
		if _, err := tx.(*DB).db.Exec(`SELECT 1`); err != nil { // the pool is free: the batch holds its own connection
			t.Fatal(err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.db.Exec(`DROP TRIGGER fail_create`)
	err = db.Batch(ctx, func(tx app.PortalStore) error {
		mustCreate(t, tx.(*DB), newDogCase(t, "p-3", "Clara", "Weißgerber", app.OfficeZell, testNow))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"Zöller": 1, "Weißg": 1, "Geistername": 0, "Bernd": 0, "Anna": 1} {
		got, err := db.ListCases(ctx, app.CaseFilter{Query: q})
		if err != nil || len(got) != want {
			t.Errorf("search %q: %d rows (%v), want %d", q, len(got), err, want)
		}
	}
	// Deleted in the same batch it was written in: never reaches the index.
	err = db.Batch(ctx, func(tx app.PortalStore) error {
		c := mustCreate(t, tx.(*DB), newDogCase(t, "p-4", "Dora", "Kurzzeit", app.OfficeZell, testNow))
		v := tx.(*DB)
		return v.tx(ctx, "test", func(stx *txn) error { return v.unindexCase(ctx, stx, c.ID) })
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ListCases(ctx, app.CaseFilter{Query: "Kurzzeit"}); len(got) != 0 {
		t.Errorf("search row of a case unindexed in its batch: %+v", got)
	}
}

// TestBatchCheckpointsInBackground: a batch does not copy the WAL into the
// database file in its commit; the checkpointer does it afterwards, on
// its own connection, and the batch's connection is back to the pool's
// settings.
func TestBatchCheckpointsInBackground(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	st, _ := os.Stat(db.Path())
	before := st.Size()
	err := db.Batch(ctx, func(tx app.PortalStore) error {
		for i := range 300 {
			nc := newDogCase(t, fmt.Sprintf("p-%d", i), "Anna", fmt.Sprintf("Muster%d", i), app.OfficeZell, testNow)
			nc.Attachments = []app.NewAttachment{{Attachment: app.Attachment{Name: "a.pdf"}, Data: bytes.Repeat([]byte{byte(i)}, 20000)}}
			if _, _, err := tx.CreateCase(ctx, nc, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := os.Stat(db.Path())
		if st.Size() > before+6_000_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (was %d): no checkpoint after the batch", st.Size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Every connection of the pool is back to NORMAL and autocheckpoint.
	conns := make([]*sql.Conn, 4)
	for i := range conns {
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		var syncMode, auto int
		c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncMode)
		c.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto)
		if syncMode != 1 || auto != 1000 {
			t.Errorf("connection %d: synchronous %d, wal_autocheckpoint %d", i, syncMode, auto)
		}
	}
}

// TestBatchRefCounters: inside a batch reference numbers are counted in
// memory. An operation rolled back to its savepoint gives its number back,
// a failed batch uses none, and the counters written at the end go on
// outside the batch and in the next one.
func TestBatchRefCounters(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	i := 0
	create := func(st app.Store) string {
		t.Helper()
		i++
		c, _, err := st.CreateCase(ctx, newDogCase(t, fmt.Sprintf("p-%d", i), "Anna", "Muster", app.OfficeZell, testNow), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Ref
	}
	var got []string
	failed := errors.New("failed")
	err := db.Batch(ctx, func(tx app.PortalStore) error {
		got = append(got, create(tx), create(tx))
		v := tx.(*DB)
		// An operation that takes a number and fails: rolled back.
		if err := v.tx(ctx, "test", func(stx *txn) error {
			if _, err := v.nextRef(ctx, stx, app.OfficeZell, testNow); err != nil {
				return err
			}
			if _, err := v.nextRef(ctx, stx, app.OfficeCochem, testNow); err != nil {
				return err
			}
			return failed
		}); !errors.Is(err, failed) {
			t.Fatalf("err = %v", err)
		}
		got = append(got, create(tx))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A batch that fails as a whole uses no number.
	if err := db.Batch(ctx, func(tx app.PortalStore) error { create(tx); return failed }); !errors.Is(err, failed) {
		t.Fatalf("err = %v", err)
	}
	got = append(got, create(db))
	if err := db.Batch(ctx, func(tx app.PortalStore) error { got = append(got, create(tx)); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"ZEL-2026-00001", "ZEL-2026-00002", "ZEL-2026-00003", "ZEL-2026-00004", "ZEL-2026-00005"}
	if !slices.Equal(got, want) {
		t.Errorf("refs %v, want %v", got, want)
	}
	// Cochem's number was given back with the rolled-back operation.
	nc := newDogCase(t, "p-cochem", "Ben", "Beispiel", app.OfficeCochem, testNow)
	c, _, err := db.CreateCase(ctx, nc, nil)
	if err != nil || !strings.HasSuffix(c.Ref, "-2026-00001") {
		t.Errorf("Cochem's first case: %v, %v", c, err)
	}
}

// TestDurable: Durable syncs the WAL of an open database (also when a
// checkpoint has emptied it meanwhile) and refuses a cancelled context.
func TestDurable(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Batch(ctx, func(tx app.PortalStore) error {
		_, _, err := tx.CreateCase(ctx, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeZell, testNow), nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db.Path() + "-wal"); err != nil {
		t.Fatalf("no WAL after a batch: %v", err)
	}
	if err := db.Durable(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if err := db.Durable(ctx); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.Durable(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// A file that cannot be synced (here: gone) is a German error.
	gone := openTest(t)
	os.Remove(gone.Path() + "-wal")
	os.Remove(gone.Path())
	err := gone.Durable(ctx)
	if app.ErrorCode(err) != app.EINTERNAL || !strings.Contains(app.ErrorMessage(err), "nicht sicher auf die Platte geschrieben") {
		t.Errorf("file gone: %v", err)
	}
}

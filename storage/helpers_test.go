package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/storetest"
)

var testReg = app.Default()

// testNow is the start of the test clock (Europe/Berlin).
var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, app.Berlin)

// openTest opens a fresh database in a folder of its own; the clock
// advances one second per call.
func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", "amtstresen.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testNow.UTC()
	var mu gosync.Mutex // the clock is read by writers on several goroutines
	db.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	return db
}

// newDogCase is the contract suite's dog registration (storetest.DogCase).
func newDogCase(t *testing.T, key, first, last string, o app.OfficeKey, at time.Time) *app.NewCase {
	t.Helper()
	return storetest.DogCase(t, key, first, last, o, at)
}

func mustCreate(t *testing.T, db *DB, nc *app.NewCase) *app.Case {
	t.Helper()
	c, created, err := db.CreateCase(context.Background(), nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatalf("case %s not created", nc.IdempotencyKey)
	}
	return c
}

// wantCode fails unless err is an *app.Error with the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae *app.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func auditActions(t *testing.T, db *DB, ref string) []string {
	t.Helper()
	es, err := db.AuditEntries(context.Background(), app.AuditFilter{Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s %s %s", e.Clerk, e.Action, e.Detail))
	}
	return out
}

// hasReceipt reports whether a receipt is recorded for the content sum.
func hasReceipt(ctx context.Context, st app.PortalStore, sum string) (bool, error) {
	if sum == "" {
		return false, nil
	}
	m, err := st.Receipts(ctx, []string{sum})
	_, ok := m[sum]
	return ok, err
}

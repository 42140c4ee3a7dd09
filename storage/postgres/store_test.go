package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/storetest"
)

var testReg = app.Default()

// storeNow is the start of the stores' test clock (Europe/Berlin).
var storeNow = time.Date(2026, 11, 27, 10, 0, 0, 0, app.Berlin)

// storeURL is the login's connection string without its password, as
// the configuration holds it.
func (l *login) storeURL() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", l.Account, cluster.Port, l.db.name)
}

// open opens the store as the login; the clock advances one second per
// call, as in the SQLite store's tests.
func (l *login) open(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), l.storeURL(), l.Password, testReg)
	if err != nil {
		t.Fatalf("open as %s: %v", l.Account, err)
	}
	t.Cleanup(func() { db.Close() })
	db.now = tickingClock(storeNow)
	return db
}

// tickingClock returns a clock that starts at start and advances one
// second per call.
func tickingClock(start time.Time) func() time.Time {
	clock := start.UTC()
	var mu gosync.Mutex // read by writers on several goroutines
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
}

// allLogin is a login with every service kind: administration, sync and
// purge, for tests of the whole contract on one connection.
func (db *testDB) allLogin() *login {
	db.t.Helper()
	l := &login{db: db, Account: fmt.Sprintf("alles%d", accounts.Add(1)), Password: "x" + fmt.Sprint(accounts.Add(1)) + "y"}
	q := fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT amtstresen_konto, amtstresen_admin, amtstresen_sync, amtstresen_purge TO %s",
		l.Account, l.Password, l.Account)
	if err := cluster.Exec(context.Background(), "postgres", q); err != nil {
		db.t.Fatal(err)
	}
	return l
}

// newDogCase is the suite's portal application to register a dog.
func newDogCase(t testing.TB, key, first, last string, o app.OfficeKey, at time.Time) *app.NewCase {
	t.Helper()
	return storetest.DogCase(t, key, first, last, o, at)
}

// wantCode fails unless err is an *app.Error with the code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	var ae *app.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
}

func TestStoreSmoke(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	st := tdb.allLogin().open(t)
	nc := newDogCase(t, "p-1", "Anna", "Zöller", app.OfficeZell, storeNow)
	nc.Attachments = []app.NewAttachment{{Attachment: app.Attachment{Name: "../impf.pdf", Type: "application/pdf"}, Data: []byte("%PDF")}}
	c, created, err := st.CreateCase(ctx, nc, &app.Receipt{SHA256: "aa", Kind: "antrag", Mailbox: "INBOX", UID: 3})
	if err != nil || !created {
		t.Fatal(c, created, err)
	}
	got, err := st.CaseByRef(ctx, strings.ToLower(c.Ref))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("created:\n%s\nread:\n%s", a, b)
	}
	if c.Ref != "ZEL-2026-00001" {
		t.Errorf("ref %s", c.Ref)
	}
	by := app.Actor{Clerk: "mmueller", Office: app.OfficeZell}
	if err := st.Claim(ctx, c.Ref, by); err != nil {
		t.Fatal(err)
	}
	wantCode(t, st.Claim(ctx, c.Ref, app.Actor{Clerk: "other"}), app.ECONFLICT)
	if err := st.SetStatus(ctx, c.Ref, app.StatusInProgress, "", by); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListCases(ctx, app.CaseFilter{Query: "zoller"})
	if err != nil || len(list) != 1 {
		t.Fatalf("search: %v, %v", list, err)
	}
	list, err = st.ListCases(ctx, app.CaseFilter{})
	if err != nil || len(list) != 1 || list[0].Assignee != "mmueller" {
		t.Fatalf("list: %v, %v", list, err)
	}
	es, err := st.AuditEntries(ctx, app.AuditFilter{Ref: c.Ref})
	if err != nil || len(es) != 3 {
		t.Fatalf("audit: %v, %v", es, err)
	}
}

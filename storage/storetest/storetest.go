// Package storetest is the contract of a store adapter: the behaviour the
// application relies on, as tests that every adapter must pass (SQLite in
// package storage, PostgreSQL in storage/postgres). An adapter's test runs
//
//	func TestContract(t *testing.T) { storetest.Run(t, openForTest) }
//
// The suite speaks only through the application's interfaces (Store) and
// the small Adapter interface below: no SQL, no files. What only one
// engine can show (pragmas, file modes, query plans, that a purge leaves
// no byte in the files, migrations of its schema) stays in that adapter's
// own tests.
//
// Each test runs in a subtest named after it (go test -run
// 'TestContract/Search'), one after another, on a fresh database from
// Open. The groups: cases (creation, references, claim, status moves,
// forward, notes, messages), queue (filters, sorting, paging against an
// oracle), search, review and sync state, appointments (SEQUENCE rules,
// attendance), audit, portal (receipts, format-1 withdrawal, batches, the
// sync lock), access (roles, a clerk's view, Art. 15), purge and changes
// (what the change feed of a second program hears).
//
// The audit actions and details the tests name ("case.status",
// "received->in_progress") and the German messages they quote are part of
// the contract: the audit export, the screens and the CLI show them.
//
// # What the contract says beyond the method comments in package app
//
//   - Time: every change takes its time from the clock the adapter was
//     opened with (Open's now), in UTC. Times come back as they were
//     stored, to the microsecond at least; the suite's clock ticks in
//     whole seconds.
//   - Order of equal keys: the queue (app.CaseFilter.Sort) breaks ties by
//     case ID, in the direction of the sort; IDs grow in the order cases
//     were created. "ref", "service" compare bytewise (as Go's
//     strings.Compare, not by a locale's collation); "applicant" compares
//     app.Applicant.SortKey bytewise; "status" is the order of
//     app.AllStatuses, then the time received; "service" then the time
//     received. Notes come by their time, then in the order they were
//     written; review items newest received first (then the one added
//     last); audit entries in the order they were written (not by their
//     time: an entry may carry an earlier one), a Limit keeping the
//     newest; appointments by start, then UID.
//   - Search (CaseFilter.Query) is plain text: every word the clerk types
//     must begin a word of the case (reference, names, address, service,
//     field values, not field names), case, accents and "ß"/"ss",
//     "ö"/"oe" folded, decomposed (NFD) input as composed. A reference or
//     its beginning ("ZEL-2026-000") finds the cases whose reference
//     begins with it; its number without zeros ("42") finds it too. No
//     character is query syntax; a query without words is no search.
//   - Errors a clerk can act on are *app.Error with the codes named in
//     package app (ENOTFOUND, EINVALID, ECONFLICT, EFORBIDDEN), whose
//     messages are German sentences without personal data.
//   - The audit log holds codes, references and accounts, never the
//     contents of a case, a note or a reason.
package storetest

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
)

// Store is everything an adapter implements: the store of the window and
// the sync, the portal sync's own methods, roles, the Art. 15 search, the lead's
// attendance override, the retention purge and the record of maintenance runs.
type Store interface {
	app.PortalStore
	app.RoleStore
	app.PersonFinder
	app.AttendanceOverrider
	app.Purger
	app.ChangeFeed
	app.MaintenanceLog
}

// Clerk is the store as one clerk uses it in the window: every call is
// subject to the clerk's role and office (app.Scoped over the SQLite
// store; a connection as the clerk's own database role, under row-level
// security, for PostgreSQL).
type Clerk interface {
	app.Store
	app.PersonFinder
	app.AttendanceOverrider
}

// Adapter is one fresh, empty database of the adapter under test, opened
// with the registry app.Default().
type Adapter interface {
	// Store is the database as the portal sync and the maintenance jobs
	// (roles, purge) use it: without access control.
	Store() Store
	// As returns the store as the clerk with this OS account uses it,
	// after the suite gave the account a role with Store().SetRole. The
	// actor is the account's (app.ResolveActor).
	As(t *testing.T, account string) Clerk
	// Reopen returns a second handle on the same database, as a second
	// program on the same or another PC opens it; closed when t ends.
	Reopen(t *testing.T) Store
}

// Open returns a fresh database whose changes take their time from now.
// It fails t (t.Fatal) when the database cannot be opened and closes it
// when t ends.
type Open func(t *testing.T, now func() time.Time) Adapter

// Start is the suite's "now" at the beginning of every test: a Friday
// morning at the counter.
var Start = time.Date(2026, 11, 27, 10, 0, 0, 0, app.Berlin)

// clock is the time the store under test reads for its changes. It
// starts at Start and advances one second with every reading, so that
// changes made one after another have increasing times; set holds it at
// one moment.
type clock struct {
	mu   gosync.Mutex // read by writers on several goroutines
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// set stops the clock at t.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t, c.step = t.UTC(), 0
}

// env is one test's database and what the test needs around it.
type env struct {
	*testing.T
	ctx   context.Context
	clock *clock
	ad    Adapter
	st    Store
	open  Open
}

func newEnv(t *testing.T, open Open) *env {
	t.Helper()
	c := &clock{t: Start.UTC(), step: time.Second}
	ad := open(t, c.now)
	return &env{T: t, ctx: context.Background(), clock: c, ad: ad, st: ad.Store(), open: open}
}

// fresh opens another empty database (for a test of many cases, each
// starting from nothing), reported to t.
func (e *env) fresh(t *testing.T) *env { return newEnv(t, e.open) }

type test struct {
	name string
	fn   func(e *env)
}

// groups are the tests, by what they are about.
var groups = [][]test{cases, queue, search, review, appointments, audit, portal, access, purge, changes}

// Run runs the contract against the adapter: every test in a subtest of
// its own, each on a fresh database from open.
func Run(t *testing.T, open Open) {
	for _, g := range groups {
		for _, tc := range g {
			t.Run(tc.name, func(t *testing.T) { tc.fn(newEnv(t, open)) })
		}
	}
}

var reg = app.Default()

// DogCase is a portal application to register a dog (Bello, a Dackel),
// routed to office o (undecided when ""), the applicant living in the
// first municipality of o (of VG Zell for the Kreis and undecided), with
// key as idempotency key and portal case id: the case the suite is made
// of, for an adapter's own tests too.
func DogCase(t testing.TB, key, first, last string, o app.OfficeKey, at time.Time) *app.NewCase {
	t.Helper()
	mo := o
	if mo == "" || mo == app.OfficeKreis {
		mo = app.OfficeZell
	}
	var m *app.Municipality
	for _, x := range reg.Municipalities {
		if x.Office == mo {
			m = x
			break
		}
	}
	if m == nil {
		t.Fatalf("no municipality for %s", mo)
	}
	fields, _ := json.Marshal(map[string]any{
		"hund":           map[string]any{"name": "Bello", "rasse": "Dackel", "chipnummer": "276098106543210", "farbe": "braun"},
		"haltungsbeginn": "2026-11-01", "gefaehrlich": false, "weitereHunde": 0,
	})
	a := app.Applicant{Salutation: "Frau", FirstName: first, LastName: last, BirthDate: "1985-03-14",
		Address: app.Address{Street: "Moselstraße", HouseNumber: "12a", Postcode: m.Postcodes[0], Place: m.Name, AGS: m.AGS},
		Email:   strings.ToLower(first) + "@example.org"}
	return &app.NewCase{IdempotencyKey: key, Channel: app.ChannelPortal, Service: "hund-anmelden", PortalCase: key,
		Applicant: a, Fields: fields, Raw: json.RawMessage(`{"vorgang":"` + key + `","extra":{"neu":1}}`),
		Routing:    app.Decision{Office: o, Decided: o != "", Municipality: m.AGS, Reason: "Wohnanschrift liegt in " + m.Name},
		ReceivedAt: at, Clerk: "portal"}
}

func (e *env) dogCase(key, first, last string, o app.OfficeKey, at time.Time) *app.NewCase {
	e.Helper()
	return DogCase(e.T, key, first, last, o, at)
}

// create creates the case in st (the test's store when nil) and fails
// unless it is new.
func (e *env) create(nc *app.NewCase) *app.Case { return e.createIn(e.st, nc) }

func (e *env) createIn(st app.CaseStore, nc *app.NewCase) *app.Case {
	e.Helper()
	c, created, err := st.CreateCase(e.ctx, nc, nil)
	if err != nil {
		e.Fatal(err)
	}
	if !created {
		e.Fatalf("case %s not created", nc.IdempotencyKey)
	}
	return c
}

// mustCase reads a case that must exist.
func (e *env) mustCase(ref string) *app.Case {
	e.Helper()
	c, err := e.st.CaseByRef(e.ctx, ref)
	if err != nil {
		e.Fatal(err)
	}
	return c
}

// wantCode fails unless err is an *app.Error with the code.
func (e *env) wantCode(err error, code string) {
	e.Helper()
	var ae *app.Error
	if !errors.As(err, &ae) || ae.Code != code {
		e.Fatalf("err = %v, want code %s", err, code)
	}
}

// auditActions lists the audit entries of a reference as "clerk action detail".
func (e *env) auditActions(ref string) []string {
	e.Helper()
	es, err := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: ref})
	if err != nil {
		e.Fatal(err)
	}
	var out []string
	for _, x := range es {
		out = append(out, fmt.Sprintf("%s %s %s", x.Clerk, x.Action, x.Detail))
	}
	return out
}

// hasReceipt reports whether a receipt is recorded for the content sum.
func (e *env) hasReceipt(st app.PortalStore, sum string) bool {
	e.Helper()
	if sum == "" {
		return false
	}
	m, err := st.Receipts(e.ctx, []string{sum})
	if err != nil {
		e.Fatal(err)
	}
	_, ok := m[sum]
	return ok
}

// ok fails the test at once on an error of a step it relies on.
func (e *env) ok(err error) {
	e.Helper()
	if err != nil {
		e.Fatal(err)
	}
}

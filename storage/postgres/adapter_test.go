package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/benchdata"
)

// 20 clerks of one office claim the same case at the same moment, each
// from their own program (their own login role and connections): exactly
// one wins, the 19 others read who holds it, in German, and the audit log
// has one claim.
func TestClaimRace(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	sync := tdb.allLogin().open(t) // reads the audit log too
	c, _, err := sync.CreateCase(ctx, newDogCase(t, "race-1", "Rita", "Rennerin", app.OfficeZell, storeNow), nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	clerks := make([]*DB, n)
	for i := range clerks {
		clerks[i] = tdb.newLogin("zel", "clerk", "vg-zell").open(t)
	}
	errs := race(n, func(i int) error {
		return clerks[i].Claim(ctx, c.Ref, app.Actor{Clerk: clerks[i].User(), Office: app.OfficeZell})
	})
	var winner string
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != "" {
				t.Fatalf("two winners: %s and %s", winner, clerks[i].User())
			}
			winner = clerks[i].User()
		case app.ErrorCode(err) != app.ECONFLICT:
			t.Errorf("clerk %d: %v", i, err)
		}
	}
	if winner == "" {
		t.Fatal("nobody won the claim")
	}
	for i, err := range errs {
		if err != nil && app.ErrorMessage(err) != fmt.Sprintf("Der Vorgang %s wird bereits von %s bearbeitet.", c.Ref, winner) {
			t.Errorf("clerk %d reads %q", i, app.ErrorMessage(err))
		}
	}
	got, err := sync.CaseByRef(ctx, c.Ref)
	if err != nil || got.Assignee != winner {
		t.Fatalf("assignee %q, %v; want %s", got.Assignee, err, winner)
	}
	if es, _ := sync.AuditEntries(ctx, app.AuditFilter{Ref: c.Ref, Action: "case.claim"}); len(es) != 1 || es[0].Clerk != winner {
		t.Errorf("claims audited: %+v", es)
	}

	// The winner moves it on while the others try the same move: one
	// status change, one note.
	errs = race(n, func(i int) error {
		return clerks[i].SetStatus(ctx, c.Ref, app.StatusInProgress, "", app.Actor{Clerk: clerks[i].User(), Office: app.OfficeZell})
	})
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "Von „In Bearbeitung“ kann nicht nach „In Bearbeitung“"):
			t.Errorf("clerk %d: %v", i, err)
		}
	}
	notes, err := sync.Notes(ctx, c.Ref)
	if err != nil || ok != 1 || len(notes) != 1 {
		t.Errorf("%d moves succeeded, %d notes (%v); want 1 and 1", ok, len(notes), err)
	}
}

// race runs fn(0) … fn(n-1) at the same moment and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg gosync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// 20 counters take in walk-in cases for one office at the same moment
// while 5 sync batches create a case of the office and roll back: the
// cases get the numbers 1 to 20, without gaps or duplicates.
func TestRefNumbersGapFreeThroughStore(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	const created, aborted = 20, 5
	clerks := make([]*DB, created)
	for i := range clerks {
		clerks[i] = tdb.newLogin("ulm", "clerk", "vg-ulmen").open(t)
	}
	sync := tdb.serviceLogin("abgleich", "sync").open(t)
	errAbort := errors.New("abgebrochen")
	errs := race(created+aborted, func(i int) error {
		if i >= created {
			err := sync.Batch(ctx, func(tx app.PortalStore) error {
				if _, _, err := tx.CreateCase(ctx, newDogCase(t, fmt.Sprintf("abbruch-%d", i), "Anton", "Abbruch", app.OfficeUlmen, storeNow), nil); err != nil {
					return err
				}
				time.Sleep(5 * time.Millisecond) // hold the number a moment
				return errAbort
			})
			if errors.Is(err, errAbort) {
				return nil
			}
			return err
		}
		nc := newDogCase(t, fmt.Sprintf("form-%d", i), "Karl", "Ulmer", app.OfficeUlmen, storeNow)
		nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, clerks[i].User()
		_, _, err := clerks[i].CreateCase(ctx, nc, nil)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	list, err := sync.ListCases(ctx, app.CaseFilter{Sort: "+ref", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, s := range list {
		got = append(got, s.Ref)
	}
	for i := 1; i <= created; i++ {
		want = append(want, app.FormatRef("ULM", 2026, i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("references\n got %v\nwant %v", got, want)
	}
}

// A clerk's program works as the clerk's own login role: without
// app.Scoped on top, the server shows it its office's cases only, refuses
// another office's case as such (audited), and lets it take in a walk-in
// case for another office, which it no longer sees afterwards; saving the
// same form again is refused, not doubled.
func TestClerkStoreUnderRLS(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	sync := tdb.allLogin().open(t) // reads the audit log too
	zell, _, err := sync.CreateCase(ctx, newDogCase(t, "z-1", "Zora", "Zeller", app.OfficeZell, storeNow), nil)
	if err != nil {
		t.Fatal(err)
	}
	ulmen, _, err := sync.CreateCase(ctx, newDogCase(t, "u-1", "Ulla", "Ulmer", app.OfficeUlmen, storeNow), nil)
	if err != nil {
		t.Fatal(err)
	}
	clerk := tdb.newLogin("ulm", "clerk", "vg-ulmen").open(t)
	by := app.Actor{Clerk: clerk.User(), Office: app.OfficeUlmen}
	list, err := clerk.ListCases(ctx, app.CaseFilter{})
	if err != nil || len(list) != 1 || list[0].Ref != ulmen.Ref {
		t.Fatalf("Ulmen's queue: %+v, %v", list, err)
	}
	if n, err := clerk.CountCases(ctx, app.CaseFilter{Offices: []app.OfficeKey{app.OfficeZell}}); n != 0 || err != nil {
		t.Errorf("Zell's cases counted for Ulmen: %d, %v", n, err)
	}
	_, err = clerk.CaseByRef(ctx, zell.Ref)
	wantCode(t, err, app.EFORBIDDEN)
	wantCode(t, clerk.Claim(ctx, zell.Ref, by), app.EFORBIDDEN)
	_, err = clerk.CaseByRef(ctx, "ZEL-2026-00099")
	wantCode(t, err, app.ENOTFOUND)
	es, err := sync.AuditEntries(ctx, app.AuditFilter{Ref: zell.Ref})
	var denied []string
	for _, e := range es {
		if strings.HasSuffix(e.Action, ".denied") {
			denied = append(denied, fmt.Sprintf("%s %s %s %s", e.Clerk, e.Office, e.Action, e.Detail))
		}
	}
	want := []string{clerk.User() + " vg-ulmen case.read.denied vg-zell", clerk.User() + " vg-ulmen case.claim.denied vg-zell"}
	if err != nil || !slices.Equal(denied, want) {
		t.Errorf("denials %q, %v; want %q", denied, err, want)
	}
	// Another's name in a note or the log is refused by the server.
	wantCode(t, clerk.AddNote(ctx, ulmen.Ref, "im Namen einer anderen", app.Actor{Clerk: "jemand", Office: app.OfficeUlmen}), app.EFORBIDDEN)

	// A walk-in application for Zell, saved twice (the answer was lost).
	nc := newDogCase(t, "form-zell", "Walter", "Walkin", app.OfficeZell, storeNow)
	nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, clerk.User()
	c, created, err := clerk.CreateCase(ctx, nc, nil)
	if err != nil || !created || c.Office != app.OfficeZell || c.Ref != "ZEL-2026-00002" {
		t.Fatalf("walk-in for Zell: %+v %v %v", c, created, err)
	}
	_, err = clerk.CaseByRef(ctx, c.Ref)
	wantCode(t, err, app.EFORBIDDEN)
	_, _, err = clerk.CreateCase(ctx, nc, nil)
	wantCode(t, err, app.ECONFLICT)
	if all, _ := sync.ListCases(ctx, app.CaseFilter{}); len(all) != 3 {
		t.Errorf("%d cases after saving twice", len(all))
	}
	if es, _ := sync.AuditEntries(ctx, app.AuditFilter{Ref: c.Ref, Action: "case.create"}); len(es) != 1 || es[0].Clerk != clerk.User() || es[0].Office != app.OfficeZell {
		t.Errorf("walk-in audited as %+v", es)
	}
}

// One sync per database, across programs and PCs: a second waits up to
// its limit and is refused in German; the lock ends with the unlock, with
// the holder's connection, and when the holder's session is killed.
func TestLockSync(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	l := tdb.serviceLogin("abgleich", "sync")
	a, b := l.open(t), l.open(t)
	unlock, err := a.LockSync(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = b.LockSync(ctx, 300*time.Millisecond)
	wantCode(t, err, app.ECONFLICT)
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("waited %s for a held lock, limit 300ms", d)
	}
	if !strings.Contains(app.ErrorMessage(err), "Abgleich läuft bereits") {
		t.Errorf("message: %s", app.ErrorMessage(err))
	}
	// Released while the second waits: it gets the lock.
	go func() { time.Sleep(100 * time.Millisecond); unlock() }()
	unlockB, err := b.LockSync(ctx, 5*time.Second)
	if err != nil {
		t.Fatalf("after the unlock: %v", err)
	}
	unlock() // twice is harmless
	unlockB()

	// A killed runner: its session ends, the lock with it.
	if _, err := a.LockSync(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Exec(ctx, tdb.name, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1", int64(syncLock)); err != nil {
		t.Fatal(err)
	}
	unlockB, err = b.LockSync(ctx, 5*time.Second)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	unlockB()
	// A cancelled wait returns at once.
	if _, err := a.LockSync(ctx, 0); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := b.LockSync(cctx, time.Minute); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled wait: %v after %s", err, time.Since(start))
	}
}

// A search of short words whose matches are dense walks the queue in its
// order and tests each row; otherwise the index finds the matches. Both
// give the same pages, for every sort, as a clerk (row-level security)
// and as the administrator, on the benchmarks' cases.
func TestSearchWalkSameAsIndex(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	all := tdb.allLogin().open(t)
	_, err := benchdata.Generate(testReg, 600, storeNow, func(c *benchdata.Case) error {
		nc := &app.NewCase{IdempotencyKey: c.Key, Channel: c.Channel, Service: c.Service, PortalCase: c.PortalCase, Applicant: c.Applicant,
			Fields: c.Fields, Raw: c.Raw, Flags: c.Flags, ReceivedAt: c.ReceivedAt,
			Routing: app.Decision{Office: c.Office, Municipality: c.Municipality}}
		if _, _, err := all.CreateCase(ctx, nc, nil); err != nil {
			return err
		}
		if c.Status != app.StatusReceived && c.Status != app.StatusWithdrawn {
			return all.SetStatus(ctx, c.Ref, app.StatusInProgress, "", app.Actor{Clerk: "bench"})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	clerk := tdb.newLogin("zel", "clerk", "vg-zell").open(t)
	defer func(n int) { scanMaxRows = n }(scanMaxRows)
	found, pages := 0, 0
	for _, st := range []*DB{clerk, all} {
		for _, q := range []string{"M", "a", "Mü", "Sch", "An M", "1", "zö", "Müll", "Anna Schmi", "Schmidt"} {
			for _, sort := range []string{"", "+received", "ref", "+service", "applicant", "status", "+status"} {
				f := app.CaseFilter{Query: q, Sort: sort, Limit: 20, Offset: 10}
				pages++
				scanMaxRows = 600
				walked, err := st.ListCases(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				n, matches, _, _ := st.sample(ctx, app.CaseFilter{}, parseSearch(f))
				dense := walkable(n, matches, 30, 8)
				scanMaxRows = 0
				windowed, err := st.ListCases(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				// Every match at once, sorted (no months first, not the
				// newest months' matches alone).
				months := windowMonths
				windowMonths, newestMatches = nil, false
				indexed, err := st.ListCases(ctx, f)
				windowMonths, newestMatches = months, true
				if err != nil {
					t.Fatal(err)
				}
				if len(indexed) > 0 {
					found++
				}
				if fmt.Sprint(walked) != fmt.Sprint(indexed) {
					t.Errorf("%s %q sort %q (walked: %v): walk\n%v\nindex\n%v", st.User(), q, sort, dense, walked, indexed)
				}
				if fmt.Sprint(windowed) != fmt.Sprint(indexed) {
					t.Errorf("%s %q sort %q: newest months first or their matches alone\n%v\nevery match\n%v", st.User(), q, sort, windowed, indexed)
				}
			}
		}
	}
	// The newest months alone held the page of a common word (the
	// administrator: a clerk's office has too few cases in a year here).
	for _, st := range []*DB{all} {
		f := app.CaseFilter{Query: "a", Limit: 20, Offset: 10}
		v, err := st.viewer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := st.listNewestMatches(ctx, f, parseSearch(f), v, orderBy("received", false, true), 20, 10)
		months := windowMonths
		windowMonths = nil
		want, werr := st.ListCases(ctx, f)
		windowMonths = months
		if err != nil || werr != nil || !ok || len(got) != 20 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: newest months: %v, %v, %d rows; every match: %v", st.User(), ok, err, len(got), werr)
		}
	}
	// The comparisons are about something: most pages have rows.
	if found < pages/2 {
		t.Errorf("only %d of %d pages have rows", found, pages)
	}
	scanMaxRows = 600
	if n, matches, _, err := clerk.sample(ctx, app.CaseFilter{}, parseSearch(app.CaseFilter{Query: "M"})); err != nil || !walkable(n, matches, 30, 8) {
		t.Errorf("one letter is not dense: %v", err)
	}
}

// The search finds what the login may see, also after a forward, and a
// lead's open routing questions of other offices; asked directly, the
// search function gives a clerk no id of another office's case.
func TestSearchFollowsOffice(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	sync := tdb.serviceLogin("abgleich", "sync").open(t)
	zell, _, err := sync.CreateCase(ctx, newDogCase(t, "z-1", "Zora", "Zeller", app.OfficeZell, storeNow), nil)
	if err != nil {
		t.Fatal(err)
	}
	unclear := newDogCase(t, "c-1", "Zacharias", "Zeller", app.OfficeCochem, storeNow)
	unclear.Flags = []app.Flag{app.FlagRoutingUnclear}
	if _, _, err := sync.CreateCase(ctx, unclear, nil); err != nil {
		t.Fatal(err)
	}
	ulmClerk := tdb.newLogin("ulm", "clerk", "vg-ulmen")
	ulm, zel, lead := ulmClerk.open(t), tdb.newLogin("zel", "clerk", "vg-zell").open(t), tdb.newLogin("zelchef", "lead", "vg-zell").open(t)
	found := func(st *DB) string {
		t.Helper()
		list, err := st.ListCases(ctx, app.CaseFilter{Query: "zeller", Sort: "+ref"})
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.CountCases(ctx, app.CaseFilter{Query: "zeller"})
		if err != nil || n != len(list) {
			t.Errorf("%s: counted %d, listed %d, %v", st.User(), n, len(list), err)
		}
		var refs []string
		for _, s := range list {
			refs = append(refs, s.Ref)
		}
		return strings.Join(refs, " ")
	}
	for _, tc := range []struct {
		st   *DB
		want string
	}{{ulm, ""}, {zel, "ZEL-2026-00001"}, {lead, "COC-2026-00001 ZEL-2026-00001"}} {
		if got := found(tc.st); got != tc.want {
			t.Errorf("%s finds %q, want %q", tc.st.User(), got, tc.want)
		}
	}
	if err := sync.Forward(ctx, zell.Ref, app.OfficeUlmen, "Wohnsitz in Ulmen", app.Actor{Clerk: "portal"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		st   *DB
		want string
	}{{ulm, "ZEL-2026-00001"}, {zel, ""}, {lead, "COC-2026-00001"}} {
		if got := found(tc.st); got != tc.want {
			t.Errorf("after the forward %s finds %q, want %q", tc.st.User(), got, tc.want)
		}
	}
	// Asked directly, no id of a case the clerk may not see.
	conn := ulmClerk.conn()
	ids := count(t, conn, "SELECT count(*) FROM amtstresen.search_case_ids(ARRAY['zeller'], NULL, NULL)")
	if ids != 1 {
		t.Errorf("the Ulmen clerk's direct search returns %d ids, want 1 (its own)", ids)
	}
}

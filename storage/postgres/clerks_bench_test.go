package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
)

// BenchmarkClerks: 50 clerks of the five offices at once on the
// benchmark's cases, each connected as their own login role (row-level
// security) through app.Scoped as in the window, with the window's change
// feed: every clerk claims, moves, notes, searches (as the window does:
// among the open cases, one time in four among all) and pages, with a pause
// between actions (AMTSTRESEN_BENCH_THINK_MS, default 1000, ±50 %), for
// AMTSTRESEN_BENCH_SECONDS (default 60). Each clerk's window brings its
// first queue page (100 rows) and its count up to date when a case of its
// office changed, at most every 250 ms (AMTSTRESEN_BENCH_GAP_MS), as
// ui.queueScreen.update does: it reads the announced cases and patches
// the page, re-reads the page when that cannot be known, and counts again
// when a case entered or left the filter. "visible" is the time from the
// start of a change at one counter until another counter of the office
// has its page up to date. The seconds are counted after a warm-up
// (AMTSTRESEN_BENCH_WARMUP_S, default 10) in which the clerks already
// work: all 50 sessions start at the same moment, and each new server
// session reads the catalog, compiles the search functions and prepares
// each statement on its first use; in the first runs the slow actions
// (over 60 ms) came almost all from the first two seconds of work. The
// warm-up's figures are reported apart. Run with -benchtime 1x (make
// bench-postgres-clerks).
func BenchmarkClerks(b *testing.B) {
	clerks := envInt("AMTSTRESEN_BENCH_CLERKS", 50)
	secs := envInt("AMTSTRESEN_BENCH_SECONDS", 60)
	warmup := time.Duration(envInt("AMTSTRESEN_BENCH_WARMUP_S", 10)) * time.Second
	think := time.Duration(envInt("AMTSTRESEN_BENCH_THINK_MS", 1000)) * time.Millisecond
	// gap: the window's least time between two re-reads (ui.liveGap).
	gap := time.Duration(envInt("AMTSTRESEN_BENCH_GAP_MS", 250)) * time.Millisecond
	// spread: the window's random wait before it reads (ui.liveSpread).
	spread := time.Duration(envInt("AMTSTRESEN_BENCH_SPREAD_MS", 150)) * time.Millisecond
	admin := benchStore(b, benchAdmin)
	ctx := context.Background()
	var err error
	offices := []app.OfficeKey{app.OfficeKreis, app.OfficeCochem, app.OfficeKaisersesch, app.OfficeUlmen, app.OfficeZell}
	// Free cases per office, shared out so that clerks do not race for
	// the same case (the race is TestClaimRace's).
	free := map[app.OfficeKey][]app.CaseSummary{}
	for _, o := range offices {
		free[o], err = admin.ListCases(ctx, app.CaseFilter{Offices: []app.OfficeKey{o}, Statuses: []app.Status{app.StatusReceived},
			Unassigned: true, Limit: 40 * clerks})
		if err != nil || len(free[o]) < clerks {
			b.Fatalf("free cases of %s: %d, %v", o, len(free[o]), err)
		}
	}
	type clerk struct {
		n      int
		db     *DB
		st     *app.Scoped
		by     app.Actor
		office app.OfficeKey
		todo   []app.CaseSummary
		mine   []app.CaseSummary
	}
	cs := make([]*clerk, clerks)
	for i := range cs {
		o := offices[i%len(offices)]
		db, st, by := benchLogin(b, fmt.Sprintf("bench_c%02d", i+1), o, "&pool_max_conns=2")
		per := i / len(offices)
		share := len(free[o]) / ((clerks + len(offices) - 1) / len(offices))
		cs[i] = &clerk{n: i, db: db, st: st, by: by, office: o, todo: free[o][per*share : (per+1)*share]}
	}
	// Leave the claimed cases as they were.
	defer func() {
		for _, c := range cs {
			for _, s := range c.mine {
				admin.q().Exec(ctx, "UPDATE cases SET assignee = '', status = 'received' WHERE id = $1", s.ID)
			}
		}
	}()

	// What was changed when, by whom: the feeds look it up.
	type started struct {
		at     time.Time
		by     int
		seq    int64
		office app.OfficeKey
	}
	var mu gosync.Mutex
	changes := map[int64]started{}
	var seq int64
	var visible []time.Duration
	seen := map[[2]int64]bool{} // (observer, seq)

	ops := map[string][]time.Duration{}
	var warm []time.Duration // the clerks' actions begun in the warm-up
	var measureFrom time.Time
	var errs []error
	record := func(op string, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Now().Add(-d).Before(measureFrom) {
			if op == "page" || op == "search" || op == "search-all" || op == "claim" || op == "status" || op == "note" {
				warm = append(warm, d)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (warm-up): %w", op, err))
			}
			return
		}
		ops[op] = append(ops[op], d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", op, err))
		}
	}
	openStatuses := []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}

	runCtx, stop := context.WithTimeout(ctx, warmup+time.Duration(secs)*time.Second)
	defer stop()
	measureFrom = time.Now().Add(warmup)
	var wg gosync.WaitGroup
	for _, c := range cs {
		// The window's first page (ui.queuePage rows) and its count.
		page := app.CaseFilter{Offices: []app.OfficeKey{c.office}, Statuses: openStatuses, Limit: 100}
		rows, err := c.st.ListCases(ctx, page)
		if err == nil {
			_, err = c.st.CountCases(ctx, page)
		}
		if err != nil {
			b.Fatal(err)
		}
		// The window: the feed, and an update at most every 250 ms that
		// reads the announced cases and patches the page, re-reads it when
		// that cannot be known, and counts again when a case entered or
		// left the filter (app.PlanPageUpdate, as ui.queueScreen.update).
		wake := make(chan struct{}, 1)
		var pmu gosync.Mutex
		var pending []app.FeedEvent
		wg.Add(2)
		go func() {
			defer wg.Done()
			c.db.Watch(runCtx, func(evs []app.FeedEvent) {
				pmu.Lock()
				n := len(pending)
				for _, e := range evs {
					if e.Kind == app.FeedCase && e.Office == c.office {
						pending = append(pending, e)
					}
				}
				mine := len(pending) > n
				pmu.Unlock()
				if !mine {
					return // another office's: the window does not look
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			})
		}()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-runCtx.Done():
					return
				case <-wake:
				}
				// As the window: a moment at random first (ui.liveSpread).
				select {
				case <-runCtx.Done():
					return
				case <-time.After(time.Duration(rand.Int64N(int64(spread)))):
				}
				pmu.Lock()
				evs := pending
				pending = nil
				pmu.Unlock()
				if len(evs) == 0 {
					continue
				}
				t0 := time.Now()
				u := app.PlanPageUpdate(page, evs)
				op, err := "update", error(nil)
				ok := false
				if !u.Reread && len(u.IDs) > 0 {
					g := page
					g.IDs, g.Limit = u.IDs, len(u.IDs)
					var fresh []app.CaseSummary
					if fresh, err = c.st.ListCases(runCtx, g); err == nil {
						rows, ok = app.PatchPage(page, rows, u.IDs, fresh)
					}
				}
				if !ok && err == nil {
					op = "re-read"
					rows, err = c.st.ListCases(runCtx, page)
				}
				if u.Recount && err == nil {
					_, err = c.st.CountCases(runCtx, page)
					op += "+count"
				}
				if runCtx.Err() != nil {
					return
				}
				record(op, time.Since(t0), err)
				now := time.Now()
				mu.Lock()
				for _, e := range evs {
					s, ok := changes[e.CaseID]
					if ok && s.by != c.n && !seen[[2]int64{int64(c.n), s.seq}] && !s.at.Before(measureFrom) {
						seen[[2]int64{int64(c.n), s.seq}] = true
						visible = append(visible, now.Sub(s.at))
					}
				}
				mu.Unlock()
				select {
				case <-runCtx.Done():
					return
				case <-time.After(gap):
				}
			}
		}()
	}
	b.ResetTimer()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c.n), 42))
			for runCtx.Err() == nil {
				select {
				case <-runCtx.Done():
					return
				case <-time.After(think/2 + time.Duration(r.Int64N(int64(think)+1))):
				}
				write := func(op string, s *app.CaseSummary, fn func(context.Context) error) error {
					mu.Lock()
					seq++
					changes[s.ID] = started{at: time.Now(), by: c.n, seq: seq, office: c.office}
					mu.Unlock()
					t0 := time.Now()
					err := fn(ctx)
					record(op, time.Since(t0), err)
					return err
				}
				switch x := r.IntN(100); {
				case x < 35:
					t0 := time.Now()
					_, err := c.st.ListCases(ctx, app.CaseFilter{Offices: []app.OfficeKey{c.office}, Statuses: openStatuses, Offset: 50 * r.IntN(4)})
					record("page", time.Since(t0), err)
				case x < 55:
					// As the window searches: among the open cases (its
					// default), or, one time in four, among all of them
					// (the clerk chose "Alle").
					q := benchSurnames[r.IntN(len(benchSurnames))]
					q = string([]rune(q)[:min(len([]rune(q)), 4+r.IntN(3))])
					f, op := app.CaseFilter{Query: q, Statuses: openStatuses}, "search"
					if r.IntN(4) == 0 {
						f.Statuses, op = nil, "search-all"
					}
					t0 := time.Now()
					_, err := c.st.ListCases(ctx, f)
					record(op, time.Since(t0), err)
				case x < 70 || len(c.mine) == 0:
					if len(c.todo) == 0 {
						continue
					}
					s := c.todo[0]
					c.todo = c.todo[1:]
					if write("claim", &s, func(ctx context.Context) error { return c.st.Claim(ctx, s.Ref, c.by) }) == nil {
						s.Status = app.StatusReceived
						c.mine = append(c.mine, s)
					}
				case x < 85:
					i := r.IntN(len(c.mine))
					s := &c.mine[i]
					to := map[app.Status]app.Status{app.StatusReceived: app.StatusInProgress, app.StatusInProgress: app.StatusWaiting,
						app.StatusWaiting: app.StatusInProgress}[s.Status]
					reason := ""
					if to == app.StatusWaiting {
						reason = "Nachweis der Haftpflichtversicherung fehlt"
					}
					if write("status", s, func(ctx context.Context) error { return c.st.SetStatus(ctx, s.Ref, to, reason, c.by) }) == nil {
						s.Status = to
					}
				default:
					s := c.mine[r.IntN(len(c.mine))]
					_ = write("note", &s, func(ctx context.Context) error {
						return c.st.AddNote(ctx, s.Ref, "Rückruf vereinbart für "+strconv.Itoa(r.IntN(28)+1)+".12.", c.by)
					})
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()

	var all []time.Duration
	names := make([]string, 0, len(ops))
	for op := range ops {
		names = append(names, op)
	}
	slices.Sort(names)
	for _, op := range names {
		d := ops[op]
		if op == "page" || op == "search" || op == "search-all" || op == "claim" || op == "status" || op == "note" {
			all = append(all, d...) // the clerks' actions; the windows' updates are listed apart
		}
		p50, p99, mx := percentiles(d)
		slow := 0 // over the target of the clerks' actions
		for _, x := range d {
			if x > 50*time.Millisecond {
				slow++
			}
		}
		fmt.Printf("    %-14s n=%6d p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  over 50 ms %4d\n", op, len(d), p50, p99, mx, slow) // b.Logf truncates after ten lines
	}
	wp50, wp99, wmx := percentiles(warm)
	b.Logf("warm-up  n=%6d p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms (%s, not counted below)", len(warm), wp50, wp99, wmx, warmup)
	p50, p99, mx := percentiles(all)
	b.Logf("all ops  n=%6d p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms, errors %d", len(all), p50, p99, mx, len(errs))
	vp50, vp99, vmx := percentiles(visible)
	b.Logf("visible at another counter of the office: n=%d p50 %.0f ms  p99 %.0f ms  max %.0f ms (of %d changes)", len(visible), vp50, vp99, vmx, seq)
	for i, err := range errs {
		if i == 5 {
			break
		}
		b.Errorf("error: %v", err)
	}
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(float64(len(errs)), "errors")
	b.ReportMetric(vp50, "visible-p50-ms")
	b.ReportMetric(vp99, "visible-p99-ms")
	b.ReportMetric(float64(len(all))/float64(secs), "ops/s")
}

// benchSurnames are searched by their first four to six letters.
var benchSurnames = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
	"Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Zöller", "Braun", "Krüger", "Hartmann"}

func percentiles(d []time.Duration) (p50, p99, max float64) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	return ms(s[len(s)/2]), ms(s[min(len(s)-1, len(s)*99/100)]), ms(s[len(s)-1])
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkChangeVisible: a change at one counter (a claim or a release
// by a clerk of VG Zell) until another Zell counter, told by its change
// feed, has re-read the case through its own login: b.N changes, one at
// a time, 50 ms apart.
func BenchmarkChangeVisible(b *testing.B) {
	admin := benchStore(b, benchAdmin)
	ctx := context.Background()
	_, a, byA := benchLogin(b, "bench_va", app.OfficeZell, "")
	dbB, cb, _ := benchLogin(b, "bench_vb", app.OfficeZell, "")
	free, err := admin.ListCases(ctx, app.CaseFilter{Offices: []app.OfficeKey{app.OfficeZell}, Statuses: []app.Status{app.StatusReceived},
		Unassigned: true, Limit: 100})
	if err != nil || len(free) == 0 {
		b.Fatalf("free cases: %v", err)
	}
	s := free[0]
	seen := make(chan struct{}, 16)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		dbB.Watch(wctx, func(evs []app.FeedEvent) {
			for _, e := range evs {
				if e.Kind == app.FeedCase && e.CaseID == s.ID {
					if _, err := cb.CaseByRef(wctx, s.Ref); err == nil {
						seen <- struct{}{}
					}
					return
				}
			}
		})
	}()
	defer func() { stop(); <-done }()
	time.Sleep(500 * time.Millisecond) // the feed connects
	var d []time.Duration
	misses := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for len(seen) > 0 {
			<-seen
		}
		t0 := time.Now()
		var err error
		if i%2 == 0 {
			err = a.Claim(ctx, s.Ref, byA)
		} else {
			err = a.Release(ctx, s.Ref, byA)
		}
		if err != nil {
			b.Fatal(err)
		}
		select {
		case <-seen:
			d = append(d, time.Since(t0))
		case <-time.After(2 * time.Second):
			misses++
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	if b.N%2 == 1 {
		a.Release(ctx, s.Ref, byA)
	}
	p50, p99, mx := percentiles(d)
	b.Logf("visible at the other counter: n=%d p50 %.1f ms  p99 %.1f ms  max %.1f ms, missed %d", len(d), p50, p99, mx, misses)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(float64(misses), "missed")
	if misses > 0 {
		b.Errorf("%d changes not seen within 2 s", misses)
	}
}

// benchLogin makes (or updates) the login role of a clerk of office on the
// bench cluster and opens the store as it, behind app.Scoped; more is
// added to the address (e.g. "&pool_max_conns=2"). Closed when b ends.
func benchLogin(b *testing.B, name string, office app.OfficeKey, more string) (*DB, *app.Scoped, app.Actor) {
	b.Helper()
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, benchCluster.URL(benchDB, migrator, benchPassword))
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close(ctx)
	v, err := ScramVerifier(benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(ctx, "SELECT amtstresen.set_clerk_role($1, 'clerk', $2, '', $3)", name, string(office), v); err != nil {
		b.Fatal(err)
	}
	u := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable%s", name, benchCluster.Port, benchDB, more)
	db, err := Open(ctx, u, benchPassword, testReg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	by, _, err := app.ResolveActor(ctx, db, name)
	if err != nil {
		b.Fatal(err)
	}
	return db, app.NewScoped(db, by), by
}

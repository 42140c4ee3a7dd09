package postgres

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/postgres/pgtest"
)

// TestFailoverToStandby: the store opened with both servers in its
// address (target_session_attrs=read-write) works on the primary, which a
// synchronous streaming standby follows. While a counter keeps taking in
// cases, the primary is killed and the standby promoted: the same store
// (no new Open) carries on on the standby, and every case whose creation
// returned, and every claim, is there — nothing committed is missing, no
// reference is given twice.
func TestFailoverToStandby(t *testing.T) {
	ctx := context.Background()
	primary := pgtest.Start(t) // a cluster of its own: it is killed
	pw := pgtest.Password()
	if err := primary.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'", migrator, pw)); err != nil {
		t.Fatal(err)
	}
	name := primary.CreateDatabase(t, migrator, "")
	mc := pgtest.Connect(t, primary.URL(name, migrator, pw))
	if err := Migrate(ctx, mc); err != nil {
		t.Fatal(err)
	}
	clerkPW := pgtest.Password()
	v, err := ScramVerifier(clerkPW)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.Exec(ctx, "SELECT amtstresen.set_clerk_role('hazel', 'clerk', 'vg-zell', 'Hazel Zeller', $1)", v); err != nil {
		t.Fatal(err)
	}
	mc.Close(ctx)
	syncPW := pgtest.Password()
	if err := primary.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE ha_abgleich LOGIN PASSWORD '%s'; GRANT amtstresen_konto, amtstresen_sync TO ha_abgleich", syncPW)); err != nil {
		t.Fatal(err)
	}
	standby := primary.StartSyncStandby(t)

	addr := func(user string) string {
		return fmt.Sprintf("postgres://%s@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=3",
			user, primary.Port, standby.Port, name)
	}
	st, err := Open(ctx, addr("ha_abgleich"), syncPW, testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clerk, err := Open(ctx, addr("hazel"), clerkPW, testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer clerk.Close()
	hazel := app.Actor{Clerk: "hazel", Office: app.OfficeZell, Role: app.RoleClerk}
	port := func(db *DB) int {
		var p int
		if err := db.pool.QueryRow(ctx, "SELECT inet_server_port()").Scan(&p); err != nil {
			return 0
		}
		return p
	}
	if p := port(st); p != primary.Port {
		t.Fatalf("the store works on port %d, want the primary's %d", p, primary.Port)
	}

	// Committed work before the failover: cases, and the clerk's claims.
	committed := map[string]string{} // idempotency key -> reference
	var claimed []string
	for i := 0; i < 20; i++ {
		key := fmt.Sprintf("vor-%d", i)
		c, _, err := st.CreateCase(ctx, newDogCase(t, key, "Vera", "Vorher", app.OfficeZell, storeNow), nil)
		if err != nil {
			t.Fatal(err)
		}
		committed[key] = c.Ref
		if i%2 == 0 {
			if err := clerk.Claim(ctx, c.Ref, hazel); err != nil {
				t.Fatal(err)
			}
			claimed = append(claimed, c.Ref)
		}
	}

	// A counter keeps taking in cases through the failover. A creation
	// whose answer was lost is repeated with the same key (idempotent).
	var mu gosync.Mutex
	promoted := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan struct{})
	var errsDuring, afterPromotion int
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			key := fmt.Sprintf("waehrend-%d", i)
			for {
				select {
				case <-stop:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				c, _, err := st.CreateCase(cctx, newDogCase(t, key, "Wanda", "Waehrend", app.OfficeZell, storeNow), nil)
				cancel()
				if err == nil {
					mu.Lock()
					committed[key] = c.Ref
					select {
					case <-promoted:
						afterPromotion++
					default:
					}
					mu.Unlock()
					break
				}
				mu.Lock()
				errsDuring++
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	primary.Kill()
	if err := standby.Promote(); err != nil {
		t.Fatal(err)
	}
	close(promoted)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := afterPromotion
		mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not carry on after the promotion (%d cases since, %d failed attempts)", n, errsDuring)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	<-done
	t.Logf("%d cases committed, %d attempts failed during the failover", len(committed), errsDuring)

	if p := port(st); p != standby.Port {
		t.Errorf("after the failover the store works on port %d, want the standby's %d", p, standby.Port)
	}
	// Every case whose creation returned is there, with its reference.
	refs := map[string]string{}
	for key, ref := range committed {
		c, err := st.CaseByPortalID(ctx, key)
		if err != nil {
			t.Errorf("case %s (%s) missing after the failover: %v", key, ref, err)
			continue
		}
		if c.Ref != ref {
			t.Errorf("case %s: reference %s, was %s", key, c.Ref, ref)
		}
		if other, dup := refs[c.Ref]; dup {
			t.Errorf("reference %s given twice (%s, %s)", c.Ref, other, key)
		}
		refs[c.Ref] = key
	}
	for _, ref := range claimed {
		c, err := clerk.CaseByRef(ctx, ref)
		if err != nil || c.Assignee != "hazel" {
			t.Errorf("claim of %s lost: %+v, %v", ref, c, err)
		}
	}
	// The clerk's store reconnected too and writes on the new primary.
	if err := clerk.AddNote(ctx, claimed[0], "nach dem Umschalten", hazel); err != nil {
		t.Errorf("clerk after the failover: %v", err)
	}
	// The new primary's own count agrees (nothing more, nothing less
	// than what the program saw committed, beyond retried ones).
	sc := pgtest.Connect(t, standby.SuperURL(name))
	var n int
	if err := sc.QueryRow(ctx, "SELECT count(*) FROM amtstresen.cases").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < len(committed) {
		t.Errorf("the promoted standby holds %d cases, the program committed %d", n, len(committed))
	}
	var missing int
	if err := sc.QueryRow(ctx, "SELECT count(*) FROM unnest($1::text[]) k WHERE NOT EXISTS (SELECT 1 FROM amtstresen.cases WHERE portal_case = k)",
		keysOf(committed)).Scan(&missing); err != nil || missing != 0 {
		t.Errorf("%d committed cases missing on the new primary (%v)", missing, err)
	}
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

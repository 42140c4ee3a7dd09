package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/postgres"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/postgres/pgtest/pgsetup"
	"amtstresen/storage/storetest"
)

var reg = app.Default()

// feed runs db's change feed until the test ends; its batches arrive on
// the returned channel.
func feed(t *testing.T, db *postgres.DB) <-chan []app.FeedEvent {
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan []app.FeedEvent, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Watch(ctx, func(c []app.FeedEvent) { got <- c })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return got
}

// await waits up to d for a change matching want, failing t otherwise;
// it returns the change and its batch.
func await(t *testing.T, got <-chan []app.FeedEvent, d time.Duration, what string, want func(app.FeedEvent) bool) (app.FeedEvent, []app.FeedEvent) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case cs := <-got:
			for _, c := range cs {
				if want(c) {
					return c, cs
				}
			}
		case <-deadline:
			t.Fatalf("%s: nothing within %v", what, d)
			return app.FeedEvent{}, nil
		}
	}
}

func kind(k app.FeedKind) func(app.FeedEvent) bool {
	return func(c app.FeedEvent) bool { return c.Kind == k }
}

func caseChange(id int64, office app.OfficeKey) func(app.FeedEvent) bool {
	return func(c app.FeedEvent) bool { return c.Kind == app.FeedCase && c.CaseID == id && c.Office == office }
}

// Two counters of VG Ulmen and one of VG Zell on one private cluster:
// what one Ulmen clerk (or the portal sync) writes, the other's feed
// announces by id and office (how soon: make bench-postgres-clerks;
// the waits here are generous for a loaded machine); the Zell clerk hears the
// id too but cannot read the case through the database. Then the server
// stops: the feeds say so in German, reconnect by themselves when it is
// back, and announce again.
func TestChangeFeedAcrossCounters(t *testing.T) {
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	ulmA := d.Clerk(t, "ulm_a", "clerk", app.OfficeUlmen, "Anna Ulmer")
	ulmB := d.Clerk(t, "ulm_b", "clerk", app.OfficeUlmen, "Bernd Ulmer")
	zel := d.Clerk(t, "zel_a", "clerk", app.OfficeZell, "Zora Zeller")
	sys := d.Service(t, "abgleich", "sync", "admin").Open(t, reg)

	_, a, actA := ulmA.OpenScoped(t, reg)
	dbB, b, actB := ulmB.OpenScoped(t, reg)
	dbZ, z, _ := zel.OpenScoped(t, reg)
	feedB, feedZ := feed(t, dbB), feed(t, dbZ)
	ctx := context.Background()

	// The feeds connect in the background: cases until both have heard
	// one (each LISTENs on a connection of its own, which may come up
	// later than the other's), then the case this test follows.
	newCase := func(i int) *app.Case {
		nc := storetest.DogCase(t, "p-"+string(rune('a'+i)), "Karl", "Ulmer", app.OfficeUlmen, storetest.Start)
		c, _, err := sys.CreateCase(ctx, nc, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	heardB, heardZ := false, false
	for i := 0; !heardB || !heardZ; i++ {
		if i > 20 {
			t.Fatalf("the feeds heard nothing within 10 s (Ulmen %v, Zell %v)", heardB, heardZ)
		}
		newCase(i)
		wait := time.After(500 * time.Millisecond)
	drain:
		for {
			select {
			case <-feedB:
				heardB = true
			case <-feedZ:
				heardZ = true
			case <-wait:
				break drain
			}
		}
	}
	cs := newCase(25)
	await(t, feedB, 10*time.Second, "ulmen hears", caseChange(cs.ID, app.OfficeUlmen))
	await(t, feedZ, 10*time.Second, "zell hears", caseChange(cs.ID, app.OfficeUlmen))

	start := time.Now()
	if err := a.Claim(ctx, cs.Ref, actA); err != nil {
		t.Fatal(err)
	}
	await(t, feedB, 5*time.Second, "claim", caseChange(cs.ID, app.OfficeUlmen))
	got, err := b.CaseByRef(ctx, cs.Ref)
	if err != nil || got.Assignee != "ulm_a" {
		t.Fatalf("B re-reads: %+v, %v", got, err)
	}
	t.Logf("claim at A on screen data at B after %v", time.Since(start))
	// Zell hears the id, and the database keeps the case from it.
	await(t, feedZ, 5*time.Second, "zell hears the claim", caseChange(cs.ID, app.OfficeUlmen))
	if _, err := z.CaseByRef(ctx, cs.Ref); err == nil {
		t.Fatal("a Zell clerk read an Ulmen case")
	}

	// The server stops.
	c.Shutdown()
	off, _ := await(t, feedB, 10*time.Second, "offline", kind(app.FeedOffline))
	if msg := app.ErrorMessage(off.Err); !strings.Contains(msg, "Datenbankserver") {
		t.Errorf("offline message %q", msg)
	}
	await(t, feedZ, 10*time.Second, "offline Z", kind(app.FeedOffline))
	if err := b.Claim(ctx, cs.Ref, actB); err == nil {
		t.Fatal("claim without a server succeeded")
	}
	time.Sleep(2 * time.Second) // a few reconnects fail meanwhile
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	_, batch := await(t, feedB, 15*time.Second, "online", kind(app.FeedOnline))
	if len(batch) != 2 || batch[1].Kind != app.FeedAny {
		t.Errorf("back online: %+v, want online and a re-read", batch)
	}
	await(t, feedZ, 15*time.Second, "online Z", kind(app.FeedOnline))

	// Announcements flow again (the pool reconnects on its own).
	var errA error
	for i := 0; i < 50; i++ {
		if errA = a.SetStatus(ctx, cs.Ref, app.StatusInProgress, "", actA); errA == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if errA != nil {
		t.Fatal(errA)
	}
	await(t, feedB, time.Second, "status after reconnect", caseChange(cs.ID, app.OfficeUlmen))
}

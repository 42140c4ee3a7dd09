package storetest

import (
	"context"
	"time"

	"amtstresen/app"
)

// changes: the change feed (app.ChangeFeed) of a second program on the
// same database hears every kind of change a counter makes within a
// second: a new case, a claim, a status move, a note, a forward, a review
// item handled. An adapter names the case (FeedCase with its id) or
// says that something changed (FeedAny).
var changes = []test{
	{"ChangesOfAnotherProgram", testChangesOfAnotherProgram},
}

// feedWithin is the promise to the window: another counter's change is on
// screen within a second, re-reading included.
const feedWithin = time.Second

// feedStep is a change and what announces it (asked after the change).
type feedStep struct {
	name string
	do   func()
	want func() func(app.FeedEvent) bool
}

func testChangesOfAnotherProgram(e *env) {
	other := e.ad.Reopen(e.T)
	ctx, cancel := context.WithCancel(e.ctx)
	got := make(chan []app.FeedEvent, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		other.Watch(ctx, func(c []app.FeedEvent) { got <- c })
	}()
	defer func() {
		cancel()
		<-done
	}()

	// drain forgets what was announced so far, once the feed had time to
	// announce it (a polling adapter announces late, not twice).
	drain := func() {
		time.Sleep(feedWithin / 2)
		for {
			select {
			case <-got:
			default:
				return
			}
		}
	}
	// heard waits for an announcement matching want.
	heard := func(want func(app.FeedEvent) bool, within time.Duration) bool {
		deadline := time.After(within)
		for {
			select {
			case cs := <-got:
				for _, c := range cs {
					if c.Kind == app.FeedAny || want(c) {
						return true
					}
					if c.Kind == app.FeedOffline {
						e.Fatalf("feed offline: %v", c.Err)
					}
				}
			case <-deadline:
				return false
			}
		}
	}
	isCase := func(id int64) func(app.FeedEvent) bool {
		return func(c app.FeedEvent) bool { return c.Kind == app.FeedCase && c.CaseID == id }
	}

	// The feed starts listening in the background: notes on a first case
	// until it hears one.
	first := e.create(e.dogCase("p-0", "Paula", "Probe", app.OfficeZell, Start))
	listening := false
	for i := 0; i < 50 && !listening; i++ {
		e.ok(e.st.AddNote(e.ctx, first.Ref, "Probe", app.Actor{Clerk: "mm", Office: app.OfficeZell}))
		listening = heard(isCase(first.ID), 200*time.Millisecond)
	}
	if !listening {
		e.Fatal("the change feed heard nothing within 10 s")
	}
	drain()

	mm := app.Actor{Clerk: "mm", Office: app.OfficeZell}
	var c *app.Case
	steps := []feedStep{
		{"new case", func() { c = e.create(e.dogCase("p-1", "Anna", "Schmitt", app.OfficeZell, Start)) },
			func() func(app.FeedEvent) bool { return isCase(c.ID) }},
		{"claim", func() { e.ok(e.st.Claim(e.ctx, c.Ref, mm)) }, func() func(app.FeedEvent) bool { return isCase(c.ID) }},
		{"status", func() { e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusInProgress, "", mm)) },
			func() func(app.FeedEvent) bool { return isCase(c.ID) }},
		{"note", func() { e.ok(e.st.AddNote(e.ctx, c.Ref, "Rückruf erbeten", mm)) },
			func() func(app.FeedEvent) bool { return isCase(c.ID) }},
		{"forward", func() { e.ok(e.st.Forward(e.ctx, c.Ref, app.OfficeUlmen, "wohnt in Ulmen", mm)) },
			func() func(app.FeedEvent) bool {
				return func(ch app.FeedEvent) bool { return isCase(c.ID)(ch) && ch.Office == app.OfficeUlmen }
			}},
	}
	var item *app.ReviewItem
	steps = append(steps,
		feedStep{"review item", func() {
			item = &app.ReviewItem{MessageID: "<f@x>", Subject: "Frage", Reason: app.ReviewNotPortal, ReceivedAt: Start, Raw: []byte("x")}
			e.ok(e.st.AddReview(e.ctx, item, nil))
		}, func() func(app.FeedEvent) bool {
			return func(ch app.FeedEvent) bool { return ch.Kind == app.FeedReview && ch.ReviewID == item.ID }
		}},
		feedStep{"review handled", func() { e.ok(e.st.ResolveReview(e.ctx, item.ID, "handled", "erledigt", mm)) },
			func() func(app.FeedEvent) bool {
				return func(ch app.FeedEvent) bool { return ch.Kind == app.FeedReview && ch.ReviewID == item.ID }
			}},
	)
	for _, s := range steps {
		start := time.Now()
		s.do()
		if !heard(s.want(), feedWithin) {
			e.Errorf("%s: not announced within %v", s.name, feedWithin)
		} else {
			e.Logf("%s: announced after %v", s.name, time.Since(start).Round(time.Millisecond))
		}
		drain()
	}
}

package app

import "context"

// FeedKind says what a FeedEvent is about.
type FeedKind string

const (
	// FeedCase: a case was written (created, claimed, moved, forwarded,
	// a note, message or attachment added). A forward announces the old
	// office and the new one.
	FeedCase FeedKind = "case"
	// FeedAppointment: a booking was written.
	FeedAppointment FeedKind = "appointment"
	// FeedReview: a mail on the review list was added or handled.
	FeedReview FeedKind = "review"
	// FeedMessage: a message to the citizen of case CaseID was queued or
	// changed its state (sent, quittung; Office is the sending office).
	FeedMessage FeedKind = "message"
	// FeedAny: something in the store changed, the feed does not know
	// what (SQLite only sees that the file changed; after a lost
	// connection announcements may have been missed): re-read what is shown.
	FeedAny FeedKind = "any"
	// FeedOffline: the connection to the server is lost (Err says why).
	// The feed reconnects by itself; until FeedOnline nothing is heard.
	FeedOffline FeedKind = "offline"
	// FeedOnline: the connection is back. A FeedAny follows in the same
	// batch, for what was missed meanwhile.
	FeedOnline FeedKind = "online"
)

// FeedEvent is one announcement of a ChangeFeed. It carries ids and office
// keys only, never personal data: the window re-reads through its own
// (scoped) store what its clerk may see.
type FeedEvent struct {
	Kind        FeedKind
	CaseID      int64     // FeedCase, FeedMessage
	Office      OfficeKey // FeedCase, FeedAppointment ("" for a case not yet routed)
	RoutingOpen bool      // FeedCase: the case waits for a routing decision
	UID         string    // FeedAppointment
	ReviewID    int64     // FeedReview
	Err         error     // FeedOffline
	// Known: Before and After say where the case stood in the queue
	// before and after the change (FeedCase; PostgreSQL's feed), so that
	// a window knows without counting whether its count changed
	// (PlanPageUpdate). After several changes of one transaction, Before
	// is the first's and After the last's.
	Known         bool
	Before, After CaseKeys
}

// ChangeFeed announces what other programs (other counters, the portal
// sync) and this one have written to the store, so that every open
// window shows it within a second. ui/cli hands it to the window
// (ui.Options.Changes); nothing finds it by type assertion.
type ChangeFeed interface {
	// Watch calls fn with the changes committed since the last call,
	// one call at a time from one goroutine, until ctx ends; then it
	// returns. A lost connection is announced (FeedOffline) and retried
	// with backoff, and its return announced (FeedOnline, FeedAny).
	Watch(ctx context.Context, fn func([]FeedEvent))
}

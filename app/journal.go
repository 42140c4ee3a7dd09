package app

import (
	"context"
	"strings"
	"time"
)

// The shared journal: several counters (each with its own SQLite) share one
// queue through a folder of the office's IMAP mailbox. Every change a
// counter makes is one JournalEntry appended there; the server's UID order
// is the single order of events, and every counter applies the folder in
// that order (sync/journal.go, storage/journal.go).

// JournalOp is the kind of change an entry records.
type JournalOp string

const (
	OpCreate  JournalOp = "case.create"    // a walk-in case taken at the counter
	OpClaim   JournalOp = "case.claim"     // the clerk takes the case
	OpRelease JournalOp = "case.release"   // the clerk gives it back
	OpStatus  JournalOp = "case.status"    // status change with reason
	OpForward JournalOp = "case.forward"   // to another office with reason
	OpNote    JournalOp = "case.note"      // a clerk's note
	OpResolve JournalOp = "review.resolve" // a review mail handled
)

// JournalVersion is the entry format this program writes and reads.
const JournalVersion = 1

// JournalEntry is one change of one counter. Cases are named by their
// stable key (the idempotency key: the portal case id, or the walk-in
// form's UUID), never only by their reference, which a walk-in case gets
// only when its creation is applied in journal order.
type JournalEntry struct {
	V       int       `json:"v"`
	ID      string    `json:"id"` // UUID; an entry seen twice is applied once
	Op      JournalOp `json:"op"`
	At      time.Time `json:"at"`      // when the clerk did it (the counter's clock)
	Counter string    `json:"counter"` // which counter (PC) wrote it
	Clerk   string    `json:"clerk"`
	Office  OfficeKey `json:"office,omitempty"` // the clerk's office

	Case string `json:"case,omitempty"` // the case's key; "ref:REF" for an old case without one
	Ref  string `json:"ref,omitempty"`  // the reference as the counter knew it (for people reading)

	Status Status    `json:"status,omitempty"` // OpStatus
	To     OfficeKey `json:"to,omitempty"`     // OpForward
	Reason string    `json:"reason,omitempty"` // OpStatus, OpForward
	Text   string    `json:"text,omitempty"`   // OpNote; OpResolve: the clerk's note

	NewCase        *NewCase `json:"new_case,omitempty"`        // OpCreate (without file contents)
	ProvisionalRef string   `json:"provisional_ref,omitempty"` // OpCreate: the reference handed out before the entry was applied

	Review     *ReviewKey `json:"review,omitempty"`     // OpResolve
	Resolution string     `json:"resolution,omitempty"` // OpResolve
}

// ReviewKey names a review item on every counter: the Message-ID and the
// SHA-256 of the raw mail ("" when it was too large to load).
type ReviewKey struct {
	MessageID string `json:"message_id"`
	SHA256    string `json:"sha256"`
}

// Actor returns who made the change.
func (e *JournalEntry) Actor() Actor { return Actor{Clerk: e.Clerk, Office: e.Office} }

// Describe returns the German line a person reads in the mailbox, e.g.
// "mmueller (Tresen 2) übernimmt ZEL-2026-00042".
func (e *JournalEntry) Describe() string {
	who := e.Clerk
	if e.Counter != "" {
		who += " (" + e.Counter + ")"
	}
	ref := e.Ref
	if ref == "" {
		ref = "Vorgang " + e.Case
	}
	switch e.Op {
	case OpCreate:
		what := "einen Vorgang"
		if e.NewCase != nil {
			what = "einen Vorgang „" + e.NewCase.Service + "“"
		}
		return who + " nimmt am Tresen " + what + " auf (vorläufig " + e.ProvisionalRef + ")"
	case OpClaim:
		return who + " übernimmt " + ref
	case OpRelease:
		return who + " gibt " + ref + " frei"
	case OpStatus:
		return who + " setzt " + ref + " auf „" + e.Status.Label() + "“" + reasonSuffix(e.Reason)
	case OpForward:
		return who + " leitet " + ref + " weiter an " + string(e.To) + reasonSuffix(e.Reason)
	case OpNote:
		return who + " vermerkt an " + ref + ": " + e.Text
	case OpResolve:
		id := ""
		if e.Review != nil {
			id = " <" + e.Review.MessageID + ">"
		}
		return who + " erledigt die Mail zur Sichtung" + id + reasonSuffix(e.Text)
	}
	return who + ": " + string(e.Op)
}

func reasonSuffix(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return ""
	}
	return ": " + s
}

// Outcome of an entry once applied in journal order.
type JournalOutcome struct {
	EntryID string
	UID     uint32 // position in the journal (0 while pending)
	State   string // JournalPending, JournalApplied, JournalRejected
	Code    string // error code of a rejection (ECONFLICT, EINVALID, ENOTFOUND)
	Message string // German: why it was rejected
	Ref     string // the case's reference after applying (final for a create)
	Op      JournalOp
	Clerk   string
	Counter string
	At      time.Time
	Seen    bool // the rejection was shown to the clerk
}

// Outcome states.
const (
	JournalPending  = "pending"
	JournalApplied  = "applied"
	JournalRejected = "rejected"
)

// Err returns the rejection as an *Error (nil unless rejected).
func (o *JournalOutcome) Err() error {
	if o == nil || o.State != JournalRejected {
		return nil
	}
	return &Error{Code: o.Code, Message: o.Message}
}

// JournalBatchStore is the view of a batch of the shared journal: the
// intake's store and the journal's in one transaction.
type JournalBatchStore interface {
	PortalStore
	JournalStore
}

// JournalStore is what the journal needs from storage on top of Store.
// Writes of one journal batch run inside Batch (one transaction), so that
// a batch of applied entries and the journal cursor commit together.
type JournalStore interface {
	// QueueChange puts e into the outbox and applies it to the local view
	// at once (pending until it comes back from the journal). A create
	// gets a provisional reference; the case is returned for creates.
	QueueChange(ctx context.Context, e *JournalEntry) (*Case, error)
	// CaseKey returns the key by which entries name the case with this
	// reference, and its current reference.
	CaseKey(ctx context.Context, ref string) (key, current string, err error)
	// CaseByKey returns the case with this key (ENOTFOUND if none).
	CaseByKey(ctx context.Context, key string) (*Case, error)
	// ReviewKey returns how entries name the review item.
	ReviewKey(ctx context.Context, id int64) (*ReviewKey, error)
	// Outbox lists the entries not yet seen in the journal, oldest first.
	Outbox(ctx context.Context) ([]JournalEntry, error)
	// UndoPending takes the pending entries' effects out of the view;
	// RedoPending applies those still pending again on top. A journal
	// batch runs between the two, so that the journal order decides.
	UndoPending(ctx context.Context) error
	RedoPending(ctx context.Context) error
	// ApplyEntry applies an entry read from the journal at uid. A rule
	// violation is not an error: the outcome says "rejected" and why.
	ApplyEntry(ctx context.Context, uid uint32, e *JournalEntry) (*JournalOutcome, error)
	// EntryOutcome returns what became of an entry (ENOTFOUND if unknown).
	EntryOutcome(ctx context.Context, id string) (*JournalOutcome, error)
	// Rejections lists this counter's entries that lost in journal order;
	// unseenOnly hides those already shown. MarkSeen marks them shown.
	Rejections(ctx context.Context, counter string, unseenOnly bool) ([]JournalOutcome, error)
	MarkSeen(ctx context.Context, ids []string) error
}

type ctxTimeKey struct{}

// WithTime makes storage use t as "now" for the changes made with ctx:
// applying a journal entry uses the entry's time, so that every counter
// writes the same times.
func WithTime(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, ctxTimeKey{}, t.UTC())
}

// TimeFrom returns the time set by WithTime.
func TimeFrom(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(ctxTimeKey{}).(time.Time)
	return t, ok && !t.IsZero()
}

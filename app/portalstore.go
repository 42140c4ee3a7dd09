package app

import (
	"context"
	"time"
)

// MailLocation is where a mail lies on the IMAP server. SHA256 is the
// mail's content (its identity, as in Receipt).
type MailLocation struct {
	SHA256      string
	Mailbox     string
	UIDValidity uint32
	UID         uint32
}

// MailPurge is one thing the retention purge left to do on the server:
// remove the mail at a recorded place (Mailbox, UIDValidity, UID), or,
// with PortalCase set, every mail of that purged portal case still found
// in the processed and review folders (for a mail whose place was never
// recorded).
type MailPurge struct {
	ID int64
	MailLocation
	PortalCase string
}

// PortalStore is what the portal sync needs from storage besides Store.
// Each method is a contract an adapter fulfils on its own terms (SQLite
// here; a PostgreSQL adapter the same way): nothing is asked of a store
// by a type assertion.
type PortalStore interface {
	Store
	// Batch runs fn with a view of the store whose changes are one
	// transaction, committed when fn returns nil and rolled back
	// otherwise. Each call on tx keeps its own all-or-nothing effect, so
	// a call that fails with a clerk-facing error leaves nothing half-done
	// and the batch may go on.
	Batch(ctx context.Context, fn func(tx PortalStore) error) error
	// Receipts returns the receipts recorded for the mails with these
	// contents (hex SHA-256), keyed by content.
	Receipts(ctx context.Context, sums []string) (map[string]Receipt, error)
	// RequestWithdrawal records a withdrawal whose kind the portal did not
	// sign (format version 1): the case gets FlagWithdrawalUnconfirmed
	// and a note with the citizen's reason, its status stays until a
	// clerk decides (CaseStore.DecideWithdrawal). A closed case stays as
	// it is. ENOTFOUND for an unknown case.
	RequestWithdrawal(ctx context.Context, portalCase, reason string, rc *Receipt) error
	// Unblocked returns open review items of reason case-unknown whose
	// case exists by now, with their raw mail, oldest first, at most
	// limit: a message that arrived before its application.
	Unblocked(ctx context.Context, limit int) ([]ReviewItem, error)
	// MailFiled records where mails were filed on the server, so that the
	// retention purge can remove exactly these later.
	MailFiled(ctx context.Context, locs []MailLocation) error
	// MailPurges lists what the retention purge left to do on the server;
	// MailPurged forgets the entries done.
	MailPurges(ctx context.Context) ([]MailPurge, error)
	MailPurged(ctx context.Context, ids []int64) error
	// LockSync makes sure that only one sync works on the database at a
	// time (across processes). It waits up to wait for a running sync to
	// end and then fails with ECONFLICT. unlock releases it; the lock also
	// ends with the process, however it ends.
	LockSync(ctx context.Context, wait time.Duration) (unlock func(), err error)
	// PrepareCase does in advance, without the database, what CreateCase
	// does before it writes (the checks, the encoding, the hashes of the
	// files): the sync prepares the cases of a batch on all cores, so
	// that the one goroutine that writes only writes. It is safe for
	// concurrent use and never fails; nc must not change afterwards.
	PrepareCase(nc *NewCase) PreparedCase
	// CreatePreparedCase is CreateCase for a prepared case: the same
	// result, errors included (an input that failed the checks is
	// reported here). A batch takes the cases its store prepared.
	CreatePreparedCase(ctx context.Context, p PreparedCase, rc *Receipt) (c *Case, created bool, err error)
	// CreatePreparedCases is CreatePreparedCase for each case in order,
	// with the receipt of the same index (rcs[i], nil for none), as if
	// called one after the other: a store may write them together. It
	// stops at the first case that fails: created holds the results of
	// the cases before it (created[i] as CreatePreparedCase reports it),
	// err that case's error, and that case left nothing behind.
	CreatePreparedCases(ctx context.Context, ps []PreparedCase, rcs []*Receipt) (created []bool, err error)
	// AddMessages is AddMessage for each message in order, as if called
	// one after the other: a store may write them together. errs[i] is
	// what AddMessage returns for ms[i]; a message with an error left
	// nothing behind. err: the call failed as a whole (the connection,
	// the context), and nothing of it stays.
	AddMessages(ctx context.Context, ms []PortalMessage) (errs []error, err error)
	// ApplyAppointments is ApplyAppointment for each booking in order,
	// with the receipt of the same index (rcs[i], nil for none), as if
	// called one after the other; applied[i] and errs[i] are what
	// ApplyAppointment returns for as[i]. err as for AddMessages.
	ApplyAppointments(ctx context.Context, as []*Appointment, rcs []*Receipt) (applied []bool, errs []error, err error)
}

// PortalMessage is a citizen's portal message for AddMessages: the
// arguments of one AddMessage call.
type PortalMessage struct {
	PortalCase string
	Key        string // the message's idempotency key
	Note       *Note
	Files      []NewAttachment
	Receipt    *Receipt
}

// AddEach is AddMessages by AddMessage, one message after the other: for
// a store that gains nothing by writing them together. Only the context
// ends it early (err).
func AddEach(ctx context.Context, add func(context.Context, string, string, *Note, []NewAttachment, *Receipt) error, ms []PortalMessage) ([]error, error) {
	errs := make([]error, len(ms))
	for i, m := range ms {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		errs[i] = add(ctx, m.PortalCase, m.Key, m.Note, m.Files, m.Receipt)
	}
	return errs, nil
}

// ApplyEach is ApplyAppointments by ApplyAppointment, one booking after
// the other.
func ApplyEach(ctx context.Context, apply func(context.Context, *Appointment, *Receipt) (bool, error), as []*Appointment, rcs []*Receipt) ([]bool, []error, error) {
	applied, errs := make([]bool, len(as)), make([]error, len(as))
	for i, a := range as {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		var rc *Receipt
		if i < len(rcs) {
			rc = rcs[i]
		}
		applied[i], errs[i] = apply(ctx, a, rc)
	}
	return applied, errs, nil
}

// CreateEach is CreatePreparedCases by CreatePreparedCase, one case after
// the other: for a store that gains nothing by writing them together.
func CreateEach(ctx context.Context, create func(context.Context, PreparedCase, *Receipt) (*Case, bool, error), ps []PreparedCase, rcs []*Receipt) ([]bool, error) {
	created := make([]bool, 0, len(ps))
	for i, p := range ps {
		var rc *Receipt
		if i < len(rcs) {
			rc = rcs[i]
		}
		_, ok, err := create(ctx, p, rc)
		if err != nil {
			return created, err
		}
		created = append(created, ok)
	}
	return created, nil
}

// PreparedCase is a new case a store checked and encoded in advance
// (PortalStore.PrepareCase). What the store worked out is opaque to
// everyone else; the caller keeps it beside the NewCase it came from.
type PreparedCase interface {
	// NewCase is the input it was prepared from.
	NewCase() *NewCase
}

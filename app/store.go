package app

import (
	"context"
	"time"
)

// Actor is who does something: the clerk's short sign and the office they
// work for. Every change and every read of personal data names one.
type Actor struct {
	Clerk  string    // OS account or sign-in, e.g. "mmueller"
	Office OfficeKey // the office the clerk works for
	Role   Role      // from the role assignments; "" outside access control (sync, tests)
	// Name is the clerk's display name ("Maria Müller"), shown in a
	// case's history instead of the account; "" when not known.
	Name string
}

// PortalActor is the actor for changes that come from the portal sync.
var PortalActor = Actor{Clerk: "portal"}

// CaseFilter selects cases for the queue. Zero values select everything.
type CaseFilter struct {
	Offices    []OfficeKey // responsible office in this set
	Statuses   []Status
	Service    string
	Assignee   string // "" any; use Unassigned for "nobody"
	Unassigned bool
	Flag       Flag // carries this flag
	Flagged    bool // carries any flag
	// Query is plain text (no character is syntax): every word must
	// begin a word of the case (reference, names, address, service, field
	// values), case, accents, "ß"/"ss" and "ö"/"oe" folded; a reference's
	// beginning ("ZEL-2026-000") finds the cases whose reference begins so.
	Query string
	// Sort is "received" (the default, newest first), "ref", "service"
	// (then received), "status" (the order of AllStatuses, then
	// received) or "applicant" (Applicant.SortKey); prefix "+" for
	// ascending. Strings compare bytewise, not by a locale; equal keys
	// are ordered by ID in the same direction (storage/storetest).
	Sort string
	// IDs: only these cases (a window re-reads the cases announced by the
	// change feed through its filter; PatchPage). Empty: any case.
	IDs    []int64
	Limit  int // page size; 0 means 50
	Offset int
}

// CaseSummary is one row of the queue.
type CaseSummary struct {
	ID            int64
	Ref           string
	ReceivedAt    time.Time
	Service       string
	ApplicantName string
	Municipality  string // AGS
	Office        OfficeKey
	Status        Status
	Assignee      string
	Flags         []Flag
	Channel       Channel
}

// Receipt ties a change to the mail it came from, so that storage records
// the mail as taken in, in the same transaction as the change.
//
// A mail is its content: SHA256 (of the raw bytes as fetched) is its
// identity. The Message-ID is chosen by the sender and never decides
// anything; two different mails with one Message-ID are two mails.
type Receipt struct {
	SHA256      string // hex SHA-256 of the raw mail
	Mailbox     string // where it was taken from
	UIDValidity uint32
	UID         uint32
	MessageID   string // for information only (decides nothing, is not stored)
	Kind        string // antrag, nachricht, ruecknahme, termin, review
	// PortalCase is the case id of a portal delivery as its signed part
	// names it; "" for everything that is not a verified delivery.
	PortalCase string
}

// TakenIn reports whether the receipt records an effect (a case, a
// message, a booking …). A mail that went to the review list is not
// taken in: when it arrives again (moved back to the inbox after the
// portal key was corrected, say) it is judged again on its content.
func (r Receipt) TakenIn() bool { return r.Kind != "" && r.Kind != "review" }

// CaseStore is the work queue.
type CaseStore interface {
	// CreateCase creates a case unless one with the same idempotency key
	// exists; then it returns that one and created=false.
	CreateCase(ctx context.Context, nc *NewCase, rc *Receipt) (c *Case, created bool, err error)
	CaseByRef(ctx context.Context, ref string) (*Case, error)
	CaseByPortalID(ctx context.Context, portalCase string) (*Case, error)
	ListCases(ctx context.Context, f CaseFilter) ([]CaseSummary, error)
	CountCases(ctx context.Context, f CaseFilter) (int, error)
	// Claim assigns the case to the actor; ECONFLICT when another clerk holds it.
	Claim(ctx context.Context, ref string, by Actor) error
	Release(ctx context.Context, ref string, by Actor) error
	// SetStatus moves the case; EINVALID for a move the rules forbid.
	SetStatus(ctx context.Context, ref string, to Status, reason string, by Actor) error
	// Forward hands the case to another office with a reason.
	Forward(ctx context.Context, ref string, to OfficeKey, reason string, by Actor) error
	AddNote(ctx context.Context, ref string, text string, by Actor) error
	// AddMessage attaches a citizen's portal message (idempotent by key).
	AddMessage(ctx context.Context, portalCase, key string, n *Note, files []NewAttachment, rc *Receipt) error
	// Withdraw marks a portal case withdrawn by the citizen (idempotent):
	// a withdrawal whose kind and case the portal signed (version 2).
	Withdraw(ctx context.Context, portalCase, reason string, rc *Receipt) error
	// DecideWithdrawal settles a withdrawal the portal did not sign as
	// one (version 1; the case carries FlagWithdrawalUnconfirmed): confirm
	// moves the case to "withdrawn", otherwise it stays as it is. Either
	// way the flag goes, the reason is required and recorded in a note
	// and in the audit log ("case.withdrawal").
	DecideWithdrawal(ctx context.Context, ref string, confirm bool, reason string, by Actor) error
	// Notes returns the notes and messages of a case by their time, equal
	// times in the order they were written.
	Notes(ctx context.Context, ref string) ([]Note, error)
	// AttachmentData returns a stored file by its SHA-256.
	AttachmentData(ctx context.Context, sha256 string) ([]byte, error)
}

// AppointmentStore keeps the bookings.
type AppointmentStore interface {
	// ApplyAppointment stores a if it supersedes what is stored (see
	// Supersedes); applied=false means it was stale and ignored.
	ApplyAppointment(ctx context.Context, a *Appointment, rc *Receipt) (applied bool, err error)
	Appointment(ctx context.Context, uid string) (*Appointment, error)
	// Appointments lists those starting in [from, to), for one office or
	// all (""), by start, equal starts by UID.
	Appointments(ctx context.Context, office OfficeKey, from, to time.Time) ([]Appointment, error)
	SetAttendance(ctx context.Context, uid string, att Attendance, by Actor) error
}

// Supersedes reports whether the incoming version n replaces the stored
// version s of the same booking (RFC 5546): a higher SEQUENCE wins; at equal
// SEQUENCE a cancellation wins over a request, so a CANCEL that arrived
// first is never undone by its own REQUEST arriving late.
func Supersedes(n, s *Appointment) bool {
	if s == nil {
		return true
	}
	if n.Sequence != s.Sequence {
		return n.Sequence > s.Sequence
	}
	return n.Status == AppointmentCancelled && s.Status != AppointmentCancelled
}

// ReviewReason says why a mail is on the review list.
type ReviewReason string

const (
	ReviewSignatureMissing ReviewReason = "signature-missing"
	ReviewSignatureInvalid ReviewReason = "signature-invalid"
	ReviewPayloadInvalid   ReviewReason = "payload-invalid"
	ReviewCaseUnknown      ReviewReason = "case-unknown"
	ReviewNotPortal        ReviewReason = "not-portal"
	ReviewTooLarge         ReviewReason = "too-large"
	ReviewMalformed        ReviewReason = "malformed"
	// ReviewQuittungUnknown: the portal's receipt names a status message
	// this database does not know.
	ReviewQuittungUnknown ReviewReason = "quittung-unknown"
	// ReviewJournalInvalid was written by the former shared journal (a
	// mail in its folder that was not authentically signed); the review
	// lists of databases from that time still hold it.
	ReviewJournalInvalid ReviewReason = "journal-invalid"
)

// Label returns the German explanation.
func (r ReviewReason) Label() string {
	switch r {
	case ReviewSignatureMissing:
		return "Keine Signatur: die Mail gibt sich als Portalsendung aus, ist aber nicht signiert."
	case ReviewSignatureInvalid:
		return "Signatur ungültig: die Mail wurde verändert oder stammt nicht vom Portal."
	case ReviewPayloadInvalid:
		return "Portaldaten ungültig: die signierten Daten sind unlesbar, passen nicht zur angegebenen Art oder zum Vorgang, oder ein Wert ist unplausibel."
	case ReviewCaseUnknown:
		return "Vorgang unbekannt: die Nachricht bezieht sich auf keinen vorhandenen Vorgang."
	case ReviewNotPortal:
		return "Keine Portalsendung: direkte Mail eines Bürgers, Rückläufer oder Werbung."
	case ReviewTooLarge:
		return "Zu groß: die Mail oder ein Feld darin überschreitet eine Grenze; sie wurde nicht übernommen (die Grenze steht im Detail)."
	case ReviewMalformed:
		return "Fehlerhaft aufgebaut: die Mail ist kein gültiges MIME."
	case ReviewQuittungUnknown:
		return "Quittung ohne Statusmeldung: das Portal bestätigt eine Statusmeldung, die diese Datenbank nicht kennt (von einer anderen Installation, nach einer Wiederherstellung verloren oder untergeschoben). Nichts wurde geändert; bitte mit der IT klären."
	case ReviewJournalInvalid:
		return "Journaleintrag ungültig: die Mail im Journalordner ist nicht echt signiert oder unlesbar und wurde nicht angewendet."
	}
	return string(r)
}

// ReviewItem is a mail kept for a person to look at.
type ReviewItem struct {
	ID         int64
	MessageID  string
	Subject    string
	From       string
	Reason     ReviewReason
	Detail     string // technical detail (no personal data)
	ReceivedAt time.Time
	Size       int64
	Raw        []byte // the mail as fetched; nil when too large
	SHA256     string // hex SHA-256 of the mail as fetched (also when Raw is nil): its identity
	PortalCase string // X-Buergerportal-Vorgang if any
	Handled    bool
	HandledBy  string
	HandledAt  time.Time
	Resolution string // "assigned:REF", "case:REF", "handled", "taken" (the mail was taken in later)
	Note       string // the clerk's logged reason
}

// ReviewStore is the list of mails that are not (yet) understood.
type ReviewStore interface {
	// AddReview keeps the item (idempotent by its content, SHA256).
	AddReview(ctx context.Context, it *ReviewItem, rc *Receipt) error
	// ReviewItems lists the items newest received first (equal times: the
	// one added last first), without Raw.
	ReviewItems(ctx context.Context, includeHandled bool) ([]ReviewItem, error)
	ReviewItem(ctx context.Context, id int64) (*ReviewItem, error)
	// ResolveReview marks it handled with a logged reason; resolution says how.
	ResolveReview(ctx context.Context, id int64, resolution, note string, by Actor) error
}

// SyncState is the progress of one mailbox.
type SyncState struct {
	Mailbox     string
	UIDValidity uint32
	LastUID     uint32
	LastRun     time.Time
	LastResult  string // German summary
	LastError   string
}

// SyncStore keeps sync progress. Which mails were taken in is asked by
// their content (PortalStore.Receipts).
type SyncStore interface {
	SyncState(ctx context.Context, mailbox string) (*SyncState, error)
	SaveSyncState(ctx context.Context, s *SyncState) error
}

// AuditEntry is one line of the audit log: who did what to which case.
// It never holds field contents.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Clerk  string
	Name   string // the clerk's display name, "" when not known
	Office OfficeKey
	Action string // one of the Action… constants (audit.go)
	Ref    string
	Detail string // codes only, e.g. "received->in_progress"
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	From, To time.Time
	Clerk    string
	Ref      string
	Office   OfficeKey // entries written by clerks of this office; "" any
	Action   string    // exact action, or a prefix ending in "." ("case."); "" any
	Limit    int
}

// AuditLog is append-only.
type AuditLog interface {
	// Audit appends e (At defaults to now; an ID given is ignored);
	// EINVALID without an action.
	Audit(ctx context.Context, e AuditEntry) error
	// AuditEntries returns the entries in the order they were written
	// (not by At); with a Limit the newest Limit of them. From is
	// inclusive, To exclusive.
	AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// Store is what every store adapter implements at least: the work queue,
// bookings, the review list, sync progress and the audit log. Its
// consumers name more: the window and a clerk's commands ClerkStore
// (through Scoped), the portal sync PortalStore.
type Store interface {
	CaseStore
	AppointmentStore
	ReviewStore
	SyncStore
	AuditLog
	Close() error
}

package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Messages to the citizen (issue 16): a clerk's change of a case, the
// taking in of a portal application and a free "Nachricht an Bürger" put
// a message into the outbox, in the same transaction as the change. A
// portal case's message goes to the portal by SMTP (the sender in sync/
// works through OutboxSender); a walk-in case's is a letter in the print
// queue, never mail.

// OutboxState is where a message to the citizen stands.
type OutboxState string

// The states of a message. Queued, Failed and Sent are the sender's; the
// four from the portal's quittung follow Sent (or, after a crash before
// MarkSent, Queued); Letter is a walk-in case's answer on paper.
const (
	OutboxQueued       OutboxState = "queued"       // waits for the sender
	OutboxFailed       OutboxState = "failed"       // an attempt failed for now; the next one is due at NextAttempt
	OutboxUndelivered  OutboxState = "undelivered"  // not sent, no automatic attempt left: a clerk acts (Reason)
	OutboxSent         OutboxState = "sent"         // the relay accepted it
	OutboxServicekonto OutboxState = "servicekonto" // quittung: in the citizen's postbox
	OutboxEmail        OutboxState = "email"        // quittung: forwarded to the citizen's address
	OutboxUnzustellbar OutboxState = "unzustellbar" // quittung: neither; the letter is in the print queue
	OutboxRefused      OutboxState = "abgelehnt"    // quittung: the portal refused it (Reason)
	OutboxLetter       OutboxState = "letter"       // walk-in case: a letter in the print queue
)

// OutboxStates lists every state.
var OutboxStates = []OutboxState{OutboxQueued, OutboxFailed, OutboxUndelivered, OutboxSent,
	OutboxServicekonto, OutboxEmail, OutboxUnzustellbar, OutboxRefused, OutboxLetter}

// Label is the state as the case history shows it.
func (s OutboxState) Label() string {
	switch s {
	case OutboxQueued:
		return "Eingereiht"
	case OutboxFailed:
		return "Versand gestört – neuer Versuch folgt"
	case OutboxUndelivered:
		return "Nicht versendet"
	case OutboxSent:
		return "Versendet"
	case OutboxServicekonto:
		return "Im Servicekonto"
	case OutboxEmail:
		return "Per E-Mail weitergeleitet"
	case OutboxUnzustellbar:
		return "Unzustellbar – Brief drucken"
	case OutboxRefused:
		return "Abgelehnt"
	case OutboxLetter:
		return "Brief – im Druckauftrag"
	}
	return string(s)
}

// Undelivered reports whether the message did not reach the citizen and a
// clerk must act: not sent for good, unreachable, or refused by the portal.
func (s OutboxState) Undelivered() bool {
	return s == OutboxUndelivered || s == OutboxUnzustellbar || s == OutboxRefused
}

// Valid reports whether s is a known state.
func (s OutboxState) Valid() bool {
	for _, x := range OutboxStates {
		if s == x {
			return true
		}
	}
	return false
}

// The flags the return channel sets on a case.
const (
	// FlagCitizenUnreachable: the portal could deliver a message neither to
	// the Servicekonto nor by e-mail (quittung "unzustellbar"); its letter
	// is in the print queue.
	FlagCitizenUnreachable Flag = "citizen-unreachable"
	// FlagCitizenMessageRefused: the portal refused a message (quittung
	// "abgelehnt"); the message shows the reason.
	FlagCitizenMessageRefused Flag = "citizen-message-refused"
)

// DocumentReceipt is the PDF an "eingegangen" message carries: the
// Eingangsbestätigung of the case (the sender makes it from the case).
const DocumentReceipt = "eingangsbestaetigung"

// Tell is what a clerk tells the citizen with a change: the text as the
// clerk saw and edited it, and for "unterlagen_fehlen" the missing
// documents and the deadline. Internal notes never go into it: the text is
// all the citizen reads.
type Tell struct {
	// Status the message carries. Set by the store from the change; for
	// a free message (CaseChange of kind ChangeNone) "" means the status
	// that matches the case (FreeStatus).
	Status    PortalStatus
	Text      string
	Documents []string  // unterlagen_fehlen: from the service's unterlagen (the clerk may add)
	Deadline  time.Time // unterlagen_fehlen: the day (Europe/Berlin) the citizen has until; zero for none
}

// MaxTellRunes bounds a message's text (the portal's limit).
const MaxTellRunes = 20000

// CheckTell checks a message before it is stored: the errors a clerk can
// fix in the dialog, in German. today is the day the message is written.
func CheckTell(t *Tell, today time.Time) error {
	if t == nil {
		return Errorf(EINVALID, "Keine Nachricht angegeben.")
	}
	if !t.Status.Valid() {
		return Errorf(EINVALID, "Unbekannter Status der Nachricht „%s“.", t.Status)
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(t.Text)); {
	case !utf8.ValidString(t.Text):
		return &Error{Code: EINVALID, Field: "text", Message: "Der Text an den Bürger enthält ungültige Zeichen."}
	case n == 0:
		return &Error{Code: EINVALID, Field: "text", Message: "Der Text an den Bürger ist leer. Bitte einen Text eingeben."}
	case n > MaxTellRunes:
		return &Error{Code: EINVALID, Field: "text", Message: fmt.Sprintf("Der Text an den Bürger ist zu lang (%d Zeichen, höchstens %d).", n, MaxTellRunes)}
	case hasControl(t.Text, true):
		return &Error{Code: EINVALID, Field: "text", Message: "Der Text an den Bürger enthält Steuerzeichen. Bitte nur Text und Zeilenumbrüche verwenden."}
	}
	if t.Status == PortalDocsMissing {
		if len(t.Documents) == 0 {
			return &Error{Code: EINVALID, Field: "unterlagen", Message: "Bei „Unterlagen fehlen“ bitte mindestens eine fehlende Unterlage auswählen."}
		}
		for _, d := range t.Documents {
			if strings.TrimSpace(d) == "" || utf8.RuneCountInString(d) > 200 || hasControl(d, false) {
				return &Error{Code: EINVALID, Field: "unterlagen", Message: "Eine fehlende Unterlage ist leer, zu lang (höchstens 200 Zeichen) oder enthält Steuerzeichen."}
			}
		}
		if !t.Deadline.IsZero() {
			y, m, d := today.In(Berlin).Date()
			if t.Deadline.In(Berlin).Before(time.Date(y, m, d, 0, 0, 0, 0, Berlin)) {
				return &Error{Code: EINVALID, Field: "frist", Message: "Die Frist liegt in der Vergangenheit. Bitte ein späteres Datum wählen."}
			}
		}
	} else if len(t.Documents) > 0 || !t.Deadline.IsZero() {
		return &Error{Code: EINVALID, Field: "unterlagen", Message: "Fehlende Unterlagen und eine Frist gehören nur zu „Unterlagen fehlen“."}
	}
	return nil
}

func hasControl(s string, allowBreaks bool) bool {
	for _, r := range s {
		if allowBreaks && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// FreeStatus is the status a free message carries: the one that matches
// the case's status (the portal shows every message under a status).
func FreeStatus(s Status) PortalStatus {
	switch s {
	case StatusReceived:
		return PortalReceived
	case StatusDone:
		return PortalDone
	case StatusRejected:
		return PortalRejected
	case StatusWithdrawn:
		return PortalWithdrawn
	}
	return PortalInProgress
}

// ChangeKind is what a CaseChange does to the case besides the message.
type ChangeKind string

// The changes that carry a message.
const (
	ChangeNone       ChangeKind = ""           // a free message ("Nachricht an Bürger"); the case stays as it is
	ChangeStatus     ChangeKind = "status"     // CaseStore.SetStatus
	ChangeForward    ChangeKind = "forward"    // CaseStore.Forward ("weitergeleitet")
	ChangeWithdrawal ChangeKind = "withdrawal" // CaseStore.DecideWithdrawal ("zurueckgenommen" when confirmed)
)

// Action is the audit action of the change (ActionCaseTell for a free
// message): what a refused change is audited as.
func (k ChangeKind) Action() string {
	switch k {
	case ChangeStatus:
		return ActionCaseStatus
	case ChangeForward:
		return ActionCaseForward
	case ChangeWithdrawal:
		return ActionCaseWithdrawal
	}
	return ActionCaseTell
}

// CaseChange is a clerk's change of a case, as the matching CaseStore
// method takes it.
type CaseChange struct {
	Kind    ChangeKind
	Status  Status    // ChangeStatus: the new status
	Office  OfficeKey // ChangeForward: the receiving office
	Confirm bool      // ChangeWithdrawal: confirm the withdrawal
	Reason  string    // the reason the method requires (an internal note, never sent)
}

// MessageFor returns the status the change tells the citizen of a case of
// the service, and false when none goes out by itself (app.PortalStatusFor;
// a forward, a confirmed withdrawal and a free message always). A status
// with false (in_bearbeitung of a service that does not send it) may
// still go when the clerk writes one; "" never.
func MessageFor(svc *Service, c *Case, ch CaseChange) (PortalStatus, bool) {
	switch ch.Kind {
	case ChangeNone:
		return FreeStatus(c.Status), true
	case ChangeStatus:
		return PortalStatusFor(svc, ch.Status)
	case ChangeForward:
		return PortalForwarded, true
	case ChangeWithdrawal:
		if ch.Confirm {
			return PortalWithdrawn, true
		}
	}
	return "", false
}

// Outgoing is one message to the citizen, as the outbox keeps it. What it
// says is fixed when it is queued; the sender composes the signed mail
// from it once (zeitpunkt = QueuedAt) and stores the bytes (Raw) before
// the first attempt.
type Outgoing struct {
	Nachricht  string    // the message's UUID (status.json "nachricht")
	MessageID  string    // without angle brackets; "" until composed
	CaseID     int64     //
	Ref        string    // the case's reference
	PortalCase string    // "" for a walk-in case (then a letter)
	Office     OfficeKey // the sending office (before a forward: the one forwarding)
	Status     PortalStatus
	Free       bool // a free "Nachricht an Bürger"
	Text       string
	Documents  []string
	Deadline   time.Time // zero for none (a day, Europe/Berlin midnight)
	// ForwardedTo is the receiving office of "weitergeleitet".
	ForwardedTo OfficeKey
	// Document names the PDF the message carries: "" none,
	// DocumentReceipt the Eingangsbestätigung.
	Document string
	QueuedAt time.Time
	QueuedBy string // the clerk's account; "portal" for the automatic ones

	State       OutboxState
	Attempts    int       // failed attempts so far
	NextAttempt time.Time // OutboxFailed: when the sender tries again
	SentAt      time.Time // when the relay accepted it; zero before
	// FailureClass is the last failure's class (temporary, unreachable,
	// login, tls, permanent; sync/rueckkanal.Class); "" when none.
	FailureClass string
	FailureCode  int // its SMTP reply code, 0 when there was none
	// Reason explains in German why the message did not reach the citizen
	// and what to do (failed, undelivered, abgelehnt).
	Reason string
	// ReceiptAt is the time of the portal's quittung; Grund its reason
	// code for "abgelehnt" (signatur, vorgang-unbekannt, format, zu-gross).
	ReceiptAt time.Time
	Grund     string
	// Raw is the signed mail as composed, sent unchanged on every attempt;
	// nil until composed. Only OutboxSender.NextDue fills it.
	Raw []byte
}

// OutboxFilter selects messages of the outbox.
type OutboxFilter struct {
	States      []OutboxState // any of these; none: all
	Undelivered bool          // only those a clerk must act on (OutboxState.Undelivered)
	Offices     []OfficeKey   // of cases (their office now) in this set; none: all
	Ref         string        // of one case
	Nachricht   string        // this one message
	Limit       int           // 0: all
}

// OutboxFailure is a failed attempt as the sender reports it.
type OutboxFailure struct {
	Class  string // sync/rueckkanal.Class
	Code   int    // SMTP reply code, 0 when none
	Reason string // German reason with what to do
}

// Quittung is the portal's receipt for one message, as the sync read it
// (signature checked, quittung.json parsed).
type Quittung struct {
	Nachricht  string
	MessageID  string      // without angle brackets
	PortalCase string      // the quittung's vorgang
	Result     OutboxState // OutboxServicekonto, OutboxEmail, OutboxUnzustellbar or OutboxRefused
	Grund      string      // reason code for OutboxRefused
	Reason     string      // German text of the reason with what to do (rueckkanal.Quittung.GrundText)
	At         time.Time
}

// PrintKind is what a print job prints.
type PrintKind string

// The kinds of print jobs.
const (
	// PrintLetter: the letter of a message to the citizen (its text, on
	// the office's letterhead): a walk-in case's answer, or a portal
	// message the portal could not deliver.
	PrintLetter PrintKind = "letter"
)

// Label names the kind in German.
func (k PrintKind) Label() string {
	if k == PrintLetter {
		return "Brief an Bürger"
	}
	return string(k)
}

// PrintJob is one letter waiting to be printed and posted.
type PrintJob struct {
	ID        int64
	Kind      PrintKind
	Ref       string
	Office    OfficeKey // the office that prints it: the case's (now)
	Nachricht string    // the message whose letter it is
	Status    PortalStatus
	Why       string // German: why on paper ("Vorgang vom Schalter", "Portal: unzustellbar")
	CreatedAt time.Time
	PrintedAt time.Time // zero while waiting
	PrintedBy string
}

// PrintFilter selects print jobs.
type PrintFilter struct {
	Offices []OfficeKey // of cases (their office now) in this set; none: all
	Printed bool        // include printed ones
	Ref     string
	ID      int64 // this one job
}

// OutboxStore is the outbox and the print queue as a clerk uses them (the
// window; through ScopedOutbox).
type OutboxStore interface {
	// ChangeCase makes the change (as SetStatus, Forward or
	// DecideWithdrawal would, same checks and errors; ChangeNone changes
	// nothing) and queues msg in the same transaction; when the change
	// fails, no message is queued. msg.Status is set from the change
	// (MessageFor); a change that tells nothing (in_bearbeitung of a
	// service without it, a withdrawal not confirmed) takes msg nil. A
	// change that tells needs msg (EINVALID without). A portal case's
	// message is queued for the sender; a walk-in case's is a letter
	// (OutboxLetter) with a print job. Returns the queued message, nil
	// when none.
	ChangeCase(ctx context.Context, ref string, ch CaseChange, msg *Tell, by Actor) (*Outgoing, error)
	// CaseMessages lists the messages of a case, oldest first, without Raw.
	CaseMessages(ctx context.Context, ref string) ([]Outgoing, error)
	// OutboxMessages lists messages, newest queued first, without Raw.
	OutboxMessages(ctx context.Context, f OutboxFilter) ([]Outgoing, error)
	// Resend queues an undelivered or failed message again at once (the
	// same nachricht and bytes). EINVALID in any other state.
	Resend(ctx context.Context, nachricht string, by Actor) error
	// PrintJobs lists print jobs, oldest first.
	PrintJobs(ctx context.Context, f PrintFilter) ([]PrintJob, error)
	// MarkPrinted records that the job was printed (idempotent).
	MarkPrinted(ctx context.Context, id int64, by Actor) error
}

// OutboxSender is what the sender and the quittung intake need from the
// store (the sync; not a clerk's). Exactly once: a message stays due
// until MarkSent has committed; the bytes stored by StoreComposed are sent
// unchanged on every attempt.
type OutboxSender interface {
	// NextDue returns the oldest portal message due at now (queued, or
	// failed with NextAttempt at or before now), with Raw when composed,
	// or nil when none is.
	NextDue(ctx context.Context, now time.Time) (*Outgoing, error)
	// StoreComposed keeps the composed mail of the message. The first
	// call stores; later calls keep what is stored and return it: the
	// caller sends the returned bytes.
	StoreComposed(ctx context.Context, nachricht, messageID string, raw []byte) ([]byte, error)
	// MarkSent records that the relay accepted the message. A message
	// the quittung already settled keeps its state (SentAt is set).
	MarkSent(ctx context.Context, nachricht string, at time.Time) error
	// MarkFailed records a failed attempt: failed with the next attempt
	// at next, or, with a zero next, undelivered (a clerk must act).
	MarkFailed(ctx context.Context, nachricht string, f OutboxFailure, next time.Time) error
	// ApplyQuittung records the portal's receipt and the mail it came in
	// (rc) in one transaction. A quittung of the same nachricht and result
	// applied before has no further effect (the receipt is recorded).
	// Unzustellbar flags the case FlagCitizenUnreachable and puts its
	// letter into the print queue; abgelehnt flags it
	// FlagCitizenMessageRefused with the reason. ENOTFOUND when the
	// nachricht is unknown (the sync sends the mail to the review list);
	// EINVALID when the quittung's case or Message-ID does not match the
	// message.
	ApplyQuittung(ctx context.Context, q *Quittung, rc *Receipt) error
	// OutboxMessages lists messages as OutboxStore does (`amtstresen outbox`).
	OutboxMessages(ctx context.Context, f OutboxFilter) ([]Outgoing, error)
}

// NewNachricht returns a fresh message id (a random version-4 UUID).
func NewNachricht() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// DraftText is the text a message starts with before the clerk edits it:
// the administrator's template of the case's service and st (the free
// message's start when free), filled from the case and v (Documents,
// Deadline, ForwardedTo, Reason; the rest comes from the case).
func DraftText(reg *Registry, c *Case, st PortalStatus, free bool, v TextValues) string {
	if reg == nil || reg.StatusTexts == nil || c == nil {
		return ""
	}
	v.Applicant, v.Ref, v.Received = c.Applicant, c.Ref, c.ReceivedAt
	v.Service = c.Service
	if reg.Catalog != nil {
		if s := reg.Catalog.Service(c.Service); s != nil {
			v.Service = s.Name
		}
	}
	if o := reg.Office(c.Office); o != nil {
		v.Office = o.Name
	}
	if v.ForwardedTo != "" {
		if o := reg.Office(OfficeKey(v.ForwardedTo)); o != nil {
			v.ForwardedTo = o.Name
		}
	}
	if free {
		return reg.StatusTexts.RenderFree(v)
	}
	return reg.StatusTexts.Render(c.Service, st, v)
}

// IsUUID reports whether s is a UUID in the canonical 8-4-4-4-12 hex form
// (either case): the portal's case ids, status messages and quittungen.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'):
			return false
		}
	}
	return true
}

// IsNachricht reports whether s is a message id as NewNachricht makes
// them (a UUID in lower case).
func IsNachricht(s string) bool { return IsUUID(s) && strings.ToLower(s) == s }

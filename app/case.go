package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Status of a case (Vorgang).
type Status string

const (
	StatusReceived   Status = "received"
	StatusInProgress Status = "in_progress"
	StatusWaiting    Status = "waiting"
	StatusDone       Status = "done"
	StatusRejected   Status = "rejected"
	StatusWithdrawn  Status = "withdrawn"
)

// AllStatuses in workflow order.
var AllStatuses = []Status{StatusReceived, StatusInProgress, StatusWaiting, StatusDone, StatusRejected, StatusWithdrawn}

// Label returns the German word for the status.
func (s Status) Label() string {
	switch s {
	case StatusReceived:
		return "Eingegangen"
	case StatusInProgress:
		return "In Bearbeitung"
	case StatusWaiting:
		return "Wartet auf Bürger"
	case StatusDone:
		return "Erledigt"
	case StatusRejected:
		return "Abgelehnt"
	case StatusWithdrawn:
		return "Zurückgenommen"
	}
	return string(s)
}

// Final reports whether no further transition is allowed.
func (s Status) Final() bool {
	return s == StatusDone || s == StatusRejected || s == StatusWithdrawn
}

// transitions lists the allowed moves. Withdrawn is reachable from every
// open state because the citizen may withdraw at any time.
var transitions = map[Status][]Status{
	StatusReceived:   {StatusInProgress, StatusWithdrawn},
	StatusInProgress: {StatusWaiting, StatusDone, StatusRejected, StatusWithdrawn},
	StatusWaiting:    {StatusInProgress, StatusDone, StatusRejected, StatusWithdrawn},
}

// NextStatuses returns the statuses a case in s may move to.
func NextStatuses(s Status) []Status { return transitions[s] }

// CheckTransition returns nil when from → to is allowed, else an *Error
// that tells the clerk why not.
func CheckTransition(from, to Status) error {
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	if from.Final() {
		return Errorf(EINVALID, "Der Vorgang ist bereits abgeschlossen (%s); der Status kann nicht mehr geändert werden.", from.Label())
	}
	var next []string
	for _, s := range transitions[from] {
		next = append(next, "„"+s.Label()+"“")
	}
	return Errorf(EINVALID, "Von „%s“ kann nicht nach „%s“ gewechselt werden. Möglich ist: %s.", from.Label(), to.Label(), strings.Join(next, ", "))
}

// ValidStatus reports whether s is a known status code.
func ValidStatus(s Status) bool {
	for _, x := range AllStatuses {
		if x == s {
			return true
		}
	}
	return false
}

// Channel is how a case came in.
type Channel string

const (
	ChannelPortal  Channel = "portal"
	ChannelCounter Channel = "counter"
)

// Flag marks something the clerk must look at.
type Flag string

const (
	FlagAttachmentMismatch Flag = "attachment-mismatch"
	FlagAttachmentMissing  Flag = "attachment-missing"
	FlagServiceUnknown     Flag = "service-unknown"
	FlagOutsideDistrict    Flag = "outside-district"
	FlagRoutingUnclear     Flag = "routing-unclear"
	// FlagWithdrawalUnconfirmed: a withdrawal arrived in format version 1,
	// whose kind the portal did not sign; a clerk confirms or rejects it
	// (CaseStore.DecideWithdrawal).
	FlagWithdrawalUnconfirmed Flag = "withdrawal-unconfirmed"
	// FlagDateImplausible: a date the citizen's data gives lies outside
	// a sane window (submitted in the future, born before 1900 …).
	FlagDateImplausible Flag = "date-implausible"
)

// AllFlags lists the known flags.
var AllFlags = []Flag{FlagAttachmentMismatch, FlagAttachmentMissing, FlagServiceUnknown, FlagOutsideDistrict, FlagRoutingUnclear,
	FlagWithdrawalUnconfirmed, FlagDateImplausible, FlagCitizenUnreachable, FlagCitizenMessageRefused}

// Label returns the German text for a flag.
func (f Flag) Label() string {
	switch f {
	case FlagAttachmentMismatch:
		return "Anlage beschädigt"
	case FlagAttachmentMissing:
		return "Anlage fehlt"
	case FlagServiceUnknown:
		return "Leistung unbekannt"
	case FlagOutsideDistrict:
		return "außerhalb des Kreises"
	case FlagRoutingUnclear:
		return "Zuständigkeit unklar"
	case FlagWithdrawalUnconfirmed:
		return "Rücknahme unbestätigt"
	case FlagDateImplausible:
		return "Datum unplausibel"
	case FlagCitizenUnreachable:
		return "Bürger nicht erreichbar"
	case FlagCitizenMessageRefused:
		return "Nachricht vom Portal abgelehnt"
	}
	return string(f)
}

// Address is a postal address as the portal sends it.
type Address struct {
	Street      string `json:"strasse"`
	HouseNumber string `json:"hausnummer,omitempty"`
	Postcode    string `json:"plz"`
	Place       string `json:"ort"`
	AGS         string `json:"gemeindeschluessel,omitempty"`
}

// Line returns "Moselstraße 12a, 56253 Treis-Karden".
func (a Address) Line() string {
	s := strings.TrimSpace(a.Street + " " + a.HouseNumber)
	t := strings.TrimSpace(a.Postcode + " " + a.Place)
	if s == "" {
		return t
	}
	if t == "" {
		return s
	}
	return s + ", " + t
}

// Applicant is the citizen who applies.
type Applicant struct {
	Salutation string  `json:"anrede,omitempty"`
	FirstName  string  `json:"vorname"`
	LastName   string  `json:"nachname"`
	BirthDate  string  `json:"geburtsdatum,omitempty"` // YYYY-MM-DD
	Address    Address `json:"anschrift"`
	Email      string  `json:"email,omitempty"`
	Phone      string  `json:"telefon,omitempty"`
}

// Name returns "Anna Muster".
func (a Applicant) Name() string { return strings.TrimSpace(a.FirstName + " " + a.LastName) }

// SortKey is what the queue's "applicant" sort compares (bytewise): last
// and first name folded as in DIN 5007-1, "Ä" as "a", "ß" as "ss", lower
// case: "Zöller, Anna" → "zoller anna".
func (a Applicant) SortKey() string {
	s := strings.TrimSpace(a.LastName + " " + a.FirstName)
	s = strings.ReplaceAll(strings.ReplaceAll(s, "ß", "ss"), "ẞ", "SS")
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Attachment is a file the citizen sent or brought. Files are stored by
// content hash; Name is the sender's name and never a path.
type Attachment struct {
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Received bool   `json:"received"`          // false: announced but missing
	Problem  string `json:"problem,omitempty"` // German: what was wrong
}

// Case is a Vorgang.
type Case struct {
	ID  int64
	Ref string // "ZEL-2026-00042"
	// ProvisionalRef is the reference a walk-in case had before the shared
	// store numbered it (taken while the counter was offline); it still
	// finds the case. Equal to Ref while the case waits in the outbox.
	ProvisionalRef string
	Office         OfficeKey // responsible office; "" while undecided
	Channel        Channel
	Service        string // service key
	PortalCase     string // portal UUID; "" for counter cases
	Applicant      Applicant
	Fields         json.RawMessage // angaben, kept whole (unknown fields too)
	Raw            json.RawMessage // the whole antrag.json for portal cases
	Attachments    []Attachment
	Status         Status
	Assignee       string // clerk's short sign; "" if unclaimed
	Flags          []Flag
	Municipality   string // AGS that decided routing, if any
	RoutingReason  string
	ForwardedFrom  OfficeKey
	ReceivedAt     time.Time
	UpdatedAt      time.Time
	ClosedAt       time.Time
	// Presented lists the documents the citizen showed at the counter.
	Presented []PresentedDocument
}

// PresentedDocument is a document the citizen showed at the counter: seen,
// or seen and a copy taken.
type PresentedDocument struct {
	Name string `json:"unterlage"`
	Copy bool   `json:"kopie"`
}

// HasFlag reports whether the case carries f.
func (c *Case) HasFlag(f Flag) bool {
	for _, x := range c.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// NewCase is the input to create a case.
type NewCase struct {
	// IdempotencyKey makes creation safe to repeat: the portal case id for
	// portal deliveries, a per-form UUID at the counter.
	IdempotencyKey string
	Channel        Channel
	Service        string
	PortalCase     string
	Applicant      Applicant
	Fields         json.RawMessage
	Raw            json.RawMessage
	Attachments    []NewAttachment
	Flags          []Flag
	Routing        Decision
	ReceivedAt     time.Time
	Clerk          string // who created it (counter) or "portal"
	ClerkName      string `json:",omitempty"` // the clerk's display name, for the history
	// Presented lists the documents the citizen showed at the counter.
	Presented []PresentedDocument `json:",omitempty"`
	// ProvisionalRef is the reference a walk-in case carried on its
	// receipt while it waited in the counter's offline outbox
	// (ProvisionalRef(), "ZEL-2026-V-3F9A1C"); the store keeps it, and
	// CaseByRef finds the case by it too. "" for every other case.
	ProvisionalRef string `json:",omitempty"`
}

// NewAttachment carries the content to store.
type NewAttachment struct {
	Attachment
	Data []byte // nil when missing
}

// Note is a clerk's note or a citizen's message on a case.
type Note struct {
	ID          int64
	CaseID      int64
	At          time.Time
	Author      string // clerk's sign, or "Bürger" for portal messages
	Kind        string // "note", "message", "forward", "status"
	Text        string
	Attachments []Attachment
}

// RefPrefix returns the reference prefix of an office ("CZ" while undecided).
func RefPrefix(r *Registry, o OfficeKey) string {
	if off := r.Office(o); off != nil {
		return off.Code
	}
	return "CZ"
}

// ProvisionalRef builds the reference of a walk-in case not numbered yet
// (waiting in a counter's outbox): "ZEL-2026-V-3F9A1C" (from a UUID, so it
// never collides with the numbered ones).
func ProvisionalRef(prefix string, year int, entryID string) string {
	h := strings.ToUpper(strings.ReplaceAll(entryID, "-", ""))
	if len(h) > 6 {
		h = h[len(h)-6:]
	}
	return fmt.Sprintf("%s-%d-V-%s", prefix, year, h)
}

// IsProvisionalRef reports whether ref has the form ProvisionalRef builds.
func IsProvisionalRef(ref string) bool {
	prefix, rest, ok := strings.Cut(ref, "-")
	if !ok || len(prefix) < 2 || len(prefix) > 3 || len(rest) != 13 || rest[4:7] != "-V-" {
		return false
	}
	for i, r := range rest {
		switch {
		case i >= 4 && i < 7:
		case i < 4 && r >= '0' && r <= '9':
		case i >= 7 && (r >= '0' && r <= '9' || r >= 'A' && r <= 'F'):
		default:
			return false
		}
	}
	for _, r := range prefix {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// Pending reports whether the case exists only on this counter so far
// (a walk-in case waiting in the outbox for the shared store).
func (c *Case) Pending() bool { return c.ProvisionalRef != "" && c.ProvisionalRef == c.Ref }

// FormatRef builds the reference number: office code, year, 5-digit
// sequence, e.g. "ZEL-2026-00042". Short and unambiguous on the phone.
func FormatRef(prefix string, year, seq int) string {
	return fmt.Sprintf("%s-%d-%05d", prefix, year, seq)
}

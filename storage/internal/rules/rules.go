// Package rules holds what both store adapters decide the same way,
// before and apart from their SQL: the checks of a new case and of each
// change, the texts of the notes a change writes and the details of its
// audit entry, how an appointment's versions merge, and how the Art. 15
// search puts a person's data together. The SQLite store (storage) and the
// PostgreSQL store (storage/postgres) call these, so that the contract
// (storage/storetest) has one source.
package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/casetext"
)

// Citizen is the author of portal messages and of a citizen's withdrawal.
const Citizen = "Bürger"

// NewCase is a checked app.NewCase, ready to insert.
type NewCase struct {
	NC        *app.NewCase
	Reg       *app.Registry // checked against
	Sums      []string      // SHA-256 of the attachments' data ("" where none), if prepared
	Office    app.OfficeKey
	Service   string
	Fields    []byte
	Raw       []byte // the whole antrag.json; nil for none
	Applicant []byte // app.Applicant as JSON
	Presented []byte // JSON list of the documents shown at the counter; nil for none
	Flags     []app.Flag
	Received  time.Time // zero when prepared: set at creation
	Clerk     string
	// Body is the search text without the reference, built in advance
	// (Prepare); nil when not prepared.
	Body *casetext.Body
}

// SearchCase is the case as its search text sees it.
func (in *NewCase) SearchCase() *app.Case {
	nc := in.NC
	return &app.Case{Service: in.Service, Applicant: nc.Applicant, Municipality: nc.Routing.Municipality, Fields: json.RawMessage(in.Fields)}
}

// SearchDoc is the search text of the case with the reference ref.
func (in *NewCase) SearchDoc(ref string) casetext.Doc {
	if in.Body != nil {
		return in.Body.WithRef(ref)
	}
	return casetext.NewDoc(in.Reg, ref, in.SearchCase())
}

// CheckNewCase validates the input of a case and encodes it.
func CheckNewCase(reg *app.Registry, nc *app.NewCase, now time.Time) (*NewCase, error) {
	if nc == nil {
		return nil, errors.New("create case: no input")
	}
	office := nc.Routing.Office
	if office != "" && reg.Office(office) == nil {
		return nil, app.Errorf(app.EINVALID, "Die Dienststelle „%s“ ist unbekannt; der Vorgang wurde nicht angelegt.", office)
	}
	if nc.Channel != app.ChannelPortal && nc.Channel != app.ChannelCounter {
		return nil, app.Errorf(app.EINVALID, "Unbekannter Eingangsweg „%s“; der Vorgang wurde nicht angelegt.", nc.Channel)
	}
	if nc.ProvisionalRef != "" && (nc.Channel != app.ChannelCounter || !app.IsProvisionalRef(nc.ProvisionalRef)) {
		return nil, &app.Error{Code: app.EINVALID, Field: "provisional_ref", Message: fmt.Sprintf(
			"„%s“ ist kein vorläufiges Aktenzeichen eines Schalterantrags; der Vorgang wurde nicht angelegt.", nc.ProvisionalRef)}
	}
	service := strings.TrimSpace(nc.Service)
	if service == "" {
		return nil, &app.Error{Code: app.EINVALID, Field: "service", Message: "Die Leistung fehlt; der Vorgang wurde nicht angelegt."}
	}
	fields := []byte(nc.Fields)
	if len(strings.TrimSpace(string(fields))) == 0 {
		fields = []byte("{}")
	}
	if !json.Valid(fields) {
		return nil, app.Errorf(app.EINVALID, "Die Angaben zum Antrag sind unlesbar (kein gültiges JSON); der Vorgang wurde nicht angelegt.")
	}
	var raw []byte
	if len(nc.Raw) > 0 {
		if !json.Valid(nc.Raw) {
			return nil, app.Errorf(app.EINVALID, "Die Antragsdaten sind unlesbar (kein gültiges JSON); der Vorgang wurde nicht angelegt.")
		}
		raw = []byte(nc.Raw)
	}
	applicant, err := json.Marshal(nc.Applicant)
	if err != nil {
		return nil, fmt.Errorf("create case: %w", err)
	}
	var presented []byte
	if len(nc.Presented) > 0 {
		if presented, err = json.Marshal(nc.Presented); err != nil {
			return nil, fmt.Errorf("create case: %w", err)
		}
	}
	received := nc.ReceivedAt.UTC()
	if nc.ReceivedAt.IsZero() {
		received = now
	}
	clerk := nc.Clerk
	if clerk == "" {
		clerk = app.PortalActor.Clerk
	}
	return &NewCase{NC: nc, Reg: reg, Office: office, Service: service, Fields: fields, Raw: raw, Applicant: applicant, Presented: presented,
		Flags: casetext.Flags(append(append([]app.Flag(nil), nc.Flags...), nc.Routing.Flags...)), Received: received, Clerk: clerk}, nil
}

// Prepared is a store's app.PreparedCase: the checked input, or nil when
// nc failed the checks (creating it reports why).
type Prepared struct {
	nc *app.NewCase
	in *NewCase
}

// NewCase implements app.PreparedCase.
func (p *Prepared) NewCase() *app.NewCase { return p.nc }

// Checked reports whether the input passed the checks (else creating it
// checks again and reports why).
func (p *Prepared) Checked() bool { return p.in != nil }

// Prepare does what creating a case does before it touches the database:
// the checks, the encoding, the hashes of the files.
func Prepare(reg *app.Registry, nc *app.NewCase) *Prepared {
	p := &Prepared{nc: nc}
	if in, err := CheckNewCase(reg, nc, time.Time{}); err == nil {
		in.Sums = casetext.Sums(nc.Attachments)
		body := casetext.NewBody(reg, in.SearchCase())
		in.Body = &body
		p.in = in
	}
	return p
}

// Checked is the checked input of nc: p's if it was prepared from nc for
// this registry, else checked now. The caller may change the copy.
func Checked(reg *app.Registry, nc *app.NewCase, p *Prepared, now time.Time) (*NewCase, error) {
	if p != nil && p.in != nil && p.nc == nc && p.in.Reg == reg {
		in := *p.in
		if in.Received.IsZero() {
			in.Received = now
		}
		return &in, nil
	}
	return CheckNewCase(reg, nc, now)
}

// Stored is the case as it was just inserted, built from the input
// instead of read back; at gives the times at the store's precision.
func (in *NewCase) Stored(id int64, ref, alias string, atts []app.Attachment, now time.Time, at func(time.Time) time.Time) (*app.Case, error) {
	nc := in.NC
	c := &app.Case{ID: id, Ref: ref, ProvisionalRef: alias, Office: in.Office, Channel: nc.Channel, Service: in.Service,
		PortalCase: nc.PortalCase, Fields: json.RawMessage(in.Fields), Attachments: atts, Status: app.StatusReceived,
		Flags: in.Flags, Municipality: nc.Routing.Municipality, RoutingReason: nc.Routing.Reason,
		ReceivedAt: at(in.Received), UpdatedAt: at(now)}
	// The applicant's strings come back from JSON as they went in, except
	// invalid UTF-8, which json.Marshal wrote as \ufffd.
	if strings.Contains(string(in.Applicant), `\ufffd`) {
		if err := json.Unmarshal(in.Applicant, &c.Applicant); err != nil {
			return nil, fmt.Errorf("case %s: applicant: %w", ref, err)
		}
	} else {
		c.Applicant = nc.Applicant
	}
	if len(in.Raw) > 0 {
		c.Raw = json.RawMessage(in.Raw)
	}
	if in.Presented != nil {
		if err := json.Unmarshal(in.Presented, &c.Presented); err != nil {
			return nil, fmt.Errorf("case %s: presented documents: %w", ref, err)
		}
	}
	return c, nil
}

// CreateAudit is the audit entry of a new case.
func (in *NewCase) CreateAudit(ref string, now time.Time) app.AuditEntry {
	return app.AuditEntry{At: now, Clerk: in.Clerk, Name: in.NC.ClerkName, Office: in.Office, Action: app.ActionCaseCreate, Ref: ref,
		Detail: fmt.Sprintf("channel=%s office=%s", in.NC.Channel, OfficeCode(in.Office)) + provisional(in.NC.ProvisionalRef)}
}

// provisional is the audit detail of a case taken while the counter was
// offline: the reference on its receipt.
func provisional(ref string) string {
	if ref == "" {
		return ""
	}
	return " provisional=" + ref
}

// OfficeCode is the office key for audit details ("-" while undecided).
func OfficeCode(o app.OfficeKey) string {
	if o == "" {
		return "-"
	}
	return string(o)
}

// NormRef accepts a reference as a clerk types it ("zel-2026-00042 ").
func NormRef(ref string) string { return strings.ToUpper(strings.TrimSpace(ref)) }

// NotFound is the error for an unknown reference.
func NotFound(ref string) error {
	return app.Errorf(app.ENOTFOUND, "Vorgang %s nicht gefunden.", ref)
}

// PortalNotFound is the error for an unknown portal case.
func PortalNotFound(portalCase string) error {
	return app.Errorf(app.ENOTFOUND, "Zum Portal-Vorgang %s gibt es keinen Vorgang.", portalCase)
}

// NeedClerk refuses a change without an actor.
func NeedClerk(by app.Actor) error {
	if strings.TrimSpace(by.Clerk) == "" {
		return app.Errorf(app.EINVALID, "Ohne Kürzel der Sachbearbeitung ist das nicht möglich; bitte anmelden.")
	}
	return nil
}

// Case is the part of a case that the state changes look at.
type Case struct {
	Ref      string
	Office   app.OfficeKey
	Status   app.Status
	Assignee string
}

// Claim decides a claim: change=false when the clerk holds it already;
// ECONFLICT when another clerk does.
func Claim(r Case, by app.Actor) (change bool, err error) {
	switch {
	case r.Assignee == by.Clerk:
		return false, nil
	case r.Assignee != "":
		return false, app.Errorf(app.ECONFLICT, "Der Vorgang %s wird bereits von %s bearbeitet.", r.Ref, r.Assignee)
	case r.Status.Final():
		return false, app.Errorf(app.EINVALID, "Der Vorgang %s ist abgeschlossen (%s) und kann nicht übernommen werden.", r.Ref, r.Status.Label())
	}
	return true, nil
}

// Release decides a release: change=false when nobody holds it; only the
// holder releases.
func Release(r Case, by app.Actor) (change bool, err error) {
	switch {
	case r.Assignee == "":
		return false, nil
	case r.Assignee != by.Clerk:
		return false, app.Errorf(app.ECONFLICT, "Der Vorgang %s wird von %s bearbeitet; nur %s kann ihn freigeben.", r.Ref, r.Assignee, r.Assignee)
	}
	return true, nil
}

// StatusInput checks what a status change needs besides the case.
func StatusInput(to app.Status, reason string) error {
	if !app.ValidStatus(to) {
		return app.Errorf(app.EINVALID, "Unbekannter Status „%s“.", to)
	}
	if strings.TrimSpace(reason) == "" && to != app.StatusInProgress {
		return &app.Error{Code: app.EINVALID, Field: "reason", Message: fmt.Sprintf("Bitte eine Begründung für „%s“ angeben.", to.Label())}
	}
	return nil
}

// StatusNote is the note of a status change.
func StatusNote(from, to app.Status, reason string) string {
	text := from.Label() + " → " + to.Label()
	if reason != "" {
		text += ": " + reason
	}
	return text
}

// StatusAudit is the audit entry of a status change.
func StatusAudit(r Case, to app.Status, by app.Actor, now time.Time) app.AuditEntry {
	return app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: r.Office, Action: app.ActionCaseStatus, Ref: r.Ref,
		Detail: string(r.Status) + "->" + string(to)}
}

// ForwardInput checks what a forward needs besides the case and returns
// the target office.
func ForwardInput(reg *app.Registry, to app.OfficeKey, reason string) (*app.Office, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, &app.Error{Code: app.EINVALID, Field: "reason", Message: "Bitte einen Grund für die Weiterleitung angeben; er wird im Vorgang vermerkt."}
	}
	target := reg.Office(to)
	if target == nil {
		return nil, &app.Error{Code: app.EINVALID, Field: "office", Message: fmt.Sprintf("Die Dienststelle „%s“ ist unbekannt; bitte eine Dienststelle aus der Liste wählen.", to)}
	}
	return target, nil
}

// Forward decides a forward of r to target and returns the note and the
// audit entry it writes.
func Forward(reg *app.Registry, r Case, target *app.Office, reason string, by app.Actor, now time.Time) (note string, e app.AuditEntry, err error) {
	if r.Status.Final() {
		return "", e, app.Errorf(app.EINVALID, "Der Vorgang %s ist abgeschlossen (%s) und kann nicht mehr weitergeleitet werden.", r.Ref, r.Status.Label())
	}
	if r.Office == target.Key {
		return "", e, &app.Error{Code: app.EINVALID, Field: "office", Message: fmt.Sprintf("Der Vorgang %s liegt bereits bei der %s.", r.Ref, target.Name)}
	}
	from := "noch nicht zugeordnet"
	if o := reg.Office(r.Office); o != nil {
		from = o.Short()
	}
	// The office the case belonged to when it was forwarded (the one an
	// undecided case goes to).
	office := r.Office
	if office == "" {
		office = target.Key
	}
	return fmt.Sprintf("%s → %s: %s", from, target.Short(), reason),
		app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: office, Action: app.ActionCaseForward, Ref: r.Ref,
			Detail: OfficeCode(r.Office) + "->" + string(target.Key)}, nil
}

// NoteInput checks a clerk's note and returns it trimmed.
func NoteInput(text string) (string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", &app.Error{Code: app.EINVALID, Field: "text", Message: "Die Notiz ist leer."}
	}
	return text, nil
}

// WithdrawText is the status note of a citizen's withdrawal.
func WithdrawText(reason string) string {
	text := "Rücknahme durch den Bürger"
	if reason = strings.TrimSpace(reason); reason != "" {
		text += ": " + reason
	}
	return text
}

// PortalMessage decides how a citizen's message n is stored: at when it
// was written (now when the portal gave no time), its author (Citizen when
// none is named) and the files to keep; with no file content sent, the
// files the message announces are kept as not received.
func PortalMessage(n *app.Note, files []app.NewAttachment, now time.Time) (at time.Time, author string, out []app.NewAttachment) {
	at, author, out = n.At, n.Author, files
	if at.IsZero() {
		at = now
	}
	if author == "" {
		author = Citizen
	}
	if len(out) == 0 {
		for _, a := range n.Attachments {
			out = append(out, app.NewAttachment{Attachment: a})
		}
	}
	return at, author, out
}

// WithdrawalRequestText is the message a withdrawal of format version 1
// leaves on the case.
func WithdrawalRequestText(reason string) string {
	text := "Rücknahme beantragt (Format 1: die Art ist nicht signiert; bitte bestätigen oder ablehnen)"
	if reason = strings.TrimSpace(reason); reason != "" {
		text += ": " + reason
	}
	return text
}

// DecisionInput checks the reason of a clerk's decision on a withdrawal
// and returns it trimmed.
func DecisionInput(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", &app.Error{Code: app.EINVALID, Field: "reason", Message: "Bitte eine Begründung angeben; sie wird im Vorgang vermerkt."}
	}
	return reason, nil
}

// Decision is what a clerk's decision on an unconfirmed withdrawal does.
type Decision struct {
	Flags    []app.Flag // the case's flags without FlagWithdrawalUnconfirmed
	Withdraw bool       // move the case to "withdrawn" with StatusReason
	Reason   string     // the status note's reason (Withdraw)
	Note     string     // else the note to write
	Audit    app.AuditEntry
}

// Decide decides on an unconfirmed withdrawal of r, whose flags are flags.
func Decide(r Case, flags []app.Flag, confirm bool, reason string, by app.Actor, now time.Time) (*Decision, error) {
	d := &Decision{Flags: flags[:0:0]}
	for _, f := range flags {
		if f != app.FlagWithdrawalUnconfirmed {
			d.Flags = append(d.Flags, f)
		}
	}
	if len(d.Flags) == len(flags) {
		return nil, app.Errorf(app.ECONFLICT, "Zum Vorgang %s liegt keine unbestätigte Rücknahme (mehr) vor.", r.Ref)
	}
	detail := "rejected"
	switch {
	case confirm && !r.Status.Final():
		detail, d.Withdraw, d.Reason = "confirmed", true, "Rücknahme bestätigt: "+reason
	case confirm:
		detail, d.Note = "confirmed", "Rücknahme bestätigt (Vorgang war bereits abgeschlossen): "+reason
	default:
		d.Note = "Rücknahme nicht bestätigt: " + reason
	}
	d.Audit = app.AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: app.ActionCaseWithdrawal, Ref: r.Ref, Detail: detail}
	return d, nil
}

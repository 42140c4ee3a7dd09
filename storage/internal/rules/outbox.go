package rules

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"amtstresen/app"
)

// MessageCase is what the outbox needs to know of a case.
type MessageCase struct {
	Case
	ID         int64
	PortalCase string
	Service    string
	Applicant  app.Applicant
	Received   time.Time
}

func (c *MessageCase) appCase() *app.Case {
	return &app.Case{Ref: c.Ref, Office: c.Office, Status: c.Status, Service: c.Service, PortalCase: c.PortalCase,
		Applicant: c.Applicant, ReceivedAt: c.Received}
}

// ChangeInput checks a CaseChange before the case is read.
func ChangeInput(reg *app.Registry, ch app.CaseChange) error {
	switch ch.Kind {
	case app.ChangeNone:
		return nil
	case app.ChangeStatus:
		return StatusInput(ch.Status, ch.Reason)
	case app.ChangeForward:
		_, err := ForwardInput(reg, ch.Office, ch.Reason)
		return err
	case app.ChangeWithdrawal:
		_, err := DecisionInput(ch.Reason)
		return err
	}
	return app.Errorf(app.EINVALID, "Unbekannte Änderung „%s“.", ch.Kind)
}

// SenderOffice is the office a message of a case in office o goes out
// from: a case whose office is still undecided answers from the Kreis
// (the portal knows only the five offices).
func SenderOffice(o app.OfficeKey) app.OfficeKey {
	if o == "" {
		return app.OfficeKreis
	}
	return o
}

// Tell decides the message a clerk's change of c queues: nil when none
// goes out; EINVALID when one must go and msg is nil, or msg is not
// allowed or not right (app.CheckTell).
func Tell(reg *app.Registry, c *MessageCase, ch app.CaseChange, msg *app.Tell, by app.Actor, now time.Time) (*app.Outgoing, error) {
	st, tells := app.MessageFor(reg.Catalog.Service(c.Service), c.appCase(), ch)
	switch {
	case msg == nil && tells:
		return nil, &app.Error{Code: app.EINVALID, Field: "text", Message: fmt.Sprintf("Zu „%s“ geht eine Nachricht an den Bürger; bitte ihren Text prüfen und bestätigen.", st.Label())}
	case msg == nil:
		return nil, nil
	case st == "":
		return nil, app.Errorf(app.EINVALID, "Zu dieser Änderung geht keine Nachricht an den Bürger.")
	}
	if ch.Kind == app.ChangeNone && msg.Status != "" {
		st = msg.Status
	}
	t := *msg
	t.Status = st
	t.Text = strings.TrimSpace(strings.ReplaceAll(t.Text, "\r\n", "\n"))
	docs := make([]string, 0, len(t.Documents))
	for _, d := range t.Documents {
		docs = append(docs, strings.TrimSpace(d))
	}
	t.Documents = docs
	if !t.Deadline.IsZero() {
		y, m, d := t.Deadline.In(app.Berlin).Date()
		t.Deadline = time.Date(y, m, d, 0, 0, 0, 0, app.Berlin)
	}
	if err := app.CheckTell(&t, now); err != nil {
		return nil, err
	}
	o := newOutgoing(c, &t, by.Clerk, now)
	o.Free = ch.Kind == app.ChangeNone
	if ch.Kind == app.ChangeForward {
		o.ForwardedTo = ch.Office
	}
	return o, nil
}

func newOutgoing(c *MessageCase, t *app.Tell, by string, now time.Time) *app.Outgoing {
	o := &app.Outgoing{Nachricht: app.NewNachricht(), CaseID: c.ID, Ref: c.Ref, PortalCase: c.PortalCase,
		Office: SenderOffice(c.Office), Status: t.Status, Text: t.Text, Documents: t.Documents, Deadline: t.Deadline,
		QueuedAt: now, QueuedBy: by, State: app.OutboxQueued}
	if c.PortalCase == "" {
		o.State = app.OutboxLetter
	}
	return o
}

// AutoReceived is the "eingegangen" message a portal application of the
// service is answered with when it is taken in, nil when the service does
// not send it (app.Service.SendsReceived) or the case is no portal case.
func AutoReceived(reg *app.Registry, c *MessageCase, now time.Time) *app.Outgoing {
	if c.PortalCase == "" || !reg.Catalog.Service(c.Service).SendsReceived() || reg.StatusTexts == nil {
		return nil
	}
	t := &app.Tell{Status: app.PortalReceived, Text: app.DraftText(reg, c.appCase(), app.PortalReceived, false, app.TextValues{})}
	o := newOutgoing(c, t, app.PortalActor.Clerk, now)
	o.Document = app.DocumentReceipt
	return o
}

// AutoWithdrawn is the "zurueckgenommen" message that confirms a
// citizen's withdrawal the portal signed as one (version 2).
func AutoWithdrawn(reg *app.Registry, c *MessageCase, reason string, now time.Time) *app.Outgoing {
	if c.PortalCase == "" || reg.StatusTexts == nil {
		return nil
	}
	t := &app.Tell{Status: app.PortalWithdrawn, Text: app.DraftText(reg, c.appCase(), app.PortalWithdrawn, false, app.TextValues{Reason: reason})}
	return newOutgoing(c, t, app.PortalActor.Clerk, now)
}

// LetterJob is the print job of a message that goes on paper: a walk-in
// case's answer (state letter) or an undeliverable portal message.
func LetterJob(o *app.Outgoing, office app.OfficeKey, now time.Time) *app.PrintJob {
	why := "Vorgang vom Schalter: Antwort per Brief"
	if o.PortalCase != "" {
		why = "Portal: Nachricht unzustellbar – bitte per Brief senden"
	}
	return &app.PrintJob{Kind: app.PrintLetter, Ref: o.Ref, Office: SenderOffice(office), Nachricht: o.Nachricht,
		Status: o.Status, Why: why, CreatedAt: now}
}

// EncodeDocuments writes the documents as stored ("" for none).
func EncodeDocuments(docs []string) string {
	if len(docs) == 0 {
		return ""
	}
	b, _ := json.Marshal(docs)
	return string(b)
}

// DecodeDocuments reads what EncodeDocuments wrote.
func DecodeDocuments(s string) []string {
	if s == "" {
		return nil
	}
	var docs []string
	_ = json.Unmarshal([]byte(s), &docs)
	return docs
}

// FormatDay writes a deadline as stored: YYYY-MM-DD in Europe/Berlin, ""
// for none.
func FormatDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(app.Berlin).Format("2006-01-02")
}

// ParseDay reads what FormatDay wrote.
func ParseDay(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation("2006-01-02", s, app.Berlin)
	if err != nil {
		return time.Time{}
	}
	return t
}

// QuittungInput checks a quittung against its message (stored state st,
// portal case and Message-ID of the message).
func QuittungInput(q *app.Quittung, o *app.Outgoing) error {
	switch q.Result {
	case app.OutboxServicekonto, app.OutboxEmail, app.OutboxUnzustellbar, app.OutboxRefused:
	default:
		return app.Errorf(app.EINVALID, "Die Quittung meldet ein unbekanntes Ergebnis „%s“.", q.Result)
	}
	if o.PortalCase == "" || !strings.EqualFold(q.PortalCase, o.PortalCase) {
		return app.Errorf(app.EINVALID, "Die Quittung nennt einen anderen Portal-Vorgang als die Nachricht %s.", o.Nachricht)
	}
	if o.MessageID != "" && q.MessageID != "" && !strings.EqualFold(q.MessageID, o.MessageID) {
		return app.Errorf(app.EINVALID, "Die Quittung nennt eine andere Message-ID als die Nachricht %s.", o.Nachricht)
	}
	return nil
}

// QuittungReason is the German reason an undelivered message shows.
func QuittungReason(q *app.Quittung) string {
	switch q.Result {
	case app.OutboxUnzustellbar:
		return "Das Portal konnte die Nachricht weder ins Servicekonto noch per E-Mail zustellen. Der Brief liegt im Druckauftrag: bitte drucken und per Post senden."
	case app.OutboxRefused:
		if strings.TrimSpace(q.Reason) != "" {
			return q.Reason
		}
		return "Das Portal hat die Nachricht abgelehnt (Grund „" + q.Grund + "“). Bitte die IT verständigen; die Antwort an den Bürger geht bis dahin per Brief."
	}
	return ""
}

// ResendInput checks that a message in state st can be queued again.
func ResendInput(o *app.Outgoing) error {
	if o.PortalCase == "" {
		return app.Errorf(app.EINVALID, "Die Nachricht ist ein Brief (Vorgang vom Schalter); sie wird gedruckt, nicht gesendet.")
	}
	switch o.State {
	case app.OutboxUndelivered, app.OutboxFailed:
		return nil
	}
	return app.Errorf(app.EINVALID, "Die Nachricht ist „%s“; erneut senden lässt sich nur eine nicht versendete Nachricht.", o.State.Label())
}

// OutboxNotFound is the error for an unknown message.
func OutboxNotFound(nachricht string) error {
	return app.Errorf(app.ENOTFOUND, "Die Nachricht %s ist unbekannt.", nachricht)
}

// PrintJobNotFound is the error for an unknown print job.
func PrintJobNotFound(id int64) error {
	return app.Errorf(app.ENOTFOUND, "Der Druckauftrag %d ist unbekannt.", id)
}

// TellAudit is the audit entry of a message a clerk queued with a change
// of a case of office (detail "status/state").
func TellAudit(o *app.Outgoing, office app.OfficeKey, by app.Actor) app.AuditEntry {
	return app.AuditEntry{At: o.QueuedAt, Clerk: by.Clerk, Name: by.Name, Office: office, Action: app.ActionCaseTell, Ref: o.Ref,
		Detail: string(o.Status) + "/" + string(o.State)}
}

// QuittungAudit is the audit entry of a quittung applied (detail the result).
func QuittungAudit(o *app.Outgoing, q *app.Quittung, now time.Time) app.AuditEntry {
	return app.AuditEntry{At: now, Clerk: app.PortalActor.Clerk, Office: o.Office, Action: app.ActionCaseQuittung, Ref: o.Ref,
		Detail: string(q.Result)}
}

package rueckkanal

import (
	"context"
	"fmt"
	"time"

	"amtstresen/app"
)

// ClassKey: the message cannot be composed because the office's signing
// key is missing or broken. Tried again at the longest interval; an admin
// must create or repair the key (amtstresen office-key).
const ClassKey Class = "key"

// StoreOutbox is the Outbox of the Sender over the store's outbox
// (app.OutboxSender). A message is composed from its row once, when it
// first comes due: status.json with zeitpunkt = the time it was queued,
// signed with the office's key (Ed25519 signatures are deterministic),
// with the Eingangsbestätigung for "eingegangen" when PDF gives one. The
// bytes are stored (StoreComposed) BEFORE the first attempt, and every
// attempt sends what the store returned: after a crash the same bytes,
// the same Message-ID, go out again, and the portal applies them once.
type StoreOutbox struct {
	Store app.OutboxSender
	// Key returns an office's signing key (LoadOfficeKey, cached by the
	// caller if it likes).
	Key func(office app.OfficeKey) (*OfficeKey, error)
	// PDF returns the document a message carries (o.Document), or nil for
	// none. nil: no documents.
	PDF func(ctx context.Context, o *app.Outgoing) (*PDF, error)
	// From is the office's functional address ([smtp] from), To the
	// portal's return address.
	From, To string
	// Backoff for a message that cannot be composed (missing key).
	Backoff Backoff
}

var _ Outbox = (*StoreOutbox)(nil)

// NextDue returns the oldest due message with its bytes, composing and
// storing them first when this is its first attempt. A message that
// cannot be composed is marked failed here (missing key: held back at the
// longest interval; content the contract refuses: undelivered, with the
// German reason) and returned with Held set, so that the round counts it.
func (s *StoreOutbox) NextDue(ctx context.Context, now time.Time) (*Outgoing, error) {
	o, err := s.Store.NextDue(ctx, now)
	if err != nil || o == nil {
		return nil, err
	}
	raw, id := o.Raw, o.MessageID
	if raw == nil {
		m, f := s.compose(ctx, o)
		if f != nil {
			var next time.Time
			switch {
			case f.Class == ClassKey:
				next = now.Add(s.backoff().Delay(1 << 10)) // an admin must act: the longest interval
			case f.Retry():
				next = now.Add(s.backoff().Delay(o.Attempts + 1))
			}
			if err := s.Store.MarkFailed(ctx, o.Nachricht, app.OutboxFailure{Class: string(f.Class), Reason: f.Reason}, next); err != nil {
				return nil, err
			}
			return &Outgoing{Nachricht: o.Nachricht, Attempts: o.Attempts, Held: f}, nil
		}
		id = m.MessageID
		if raw, err = s.Store.StoreComposed(ctx, o.Nachricht, m.MessageID, m.Raw); err != nil {
			return nil, err
		}
	}
	return &Outgoing{Nachricht: o.Nachricht, MessageID: id, Raw: raw, Attempts: o.Attempts}, nil
}

func (s *StoreOutbox) backoff() Backoff {
	if s.Backoff.Base == 0 {
		return DefaultBackoff
	}
	return s.Backoff
}

// MarkSent implements Outbox.
func (s *StoreOutbox) MarkSent(ctx context.Context, nachricht string, at time.Time) error {
	return s.Store.MarkSent(ctx, nachricht, at)
}

// MarkFailed implements Outbox.
func (s *StoreOutbox) MarkFailed(ctx context.Context, nachricht string, f *Failure, next time.Time) error {
	return s.Store.MarkFailed(ctx, nachricht, app.OutboxFailure{Class: string(f.Class), Code: f.Code, Reason: f.Reason}, next)
}

// StatusOf is the status.json of a queued message: everything from the
// row, zeitpunkt the time it was queued, so that composing it again gives
// the same JSON.
func StatusOf(o *app.Outgoing) *Status {
	st := &Status{Schema: StatusSchema, Art: "status", Vorgang: o.PortalCase, Nachricht: o.Nachricht, Aktenzeichen: o.Ref,
		Dienststelle: o.Office, Status: StatusCode(o.Status), Zeitpunkt: FormatTime(o.QueuedAt), Text: o.Text,
		FehlendeUnterlagen: o.Documents, WeitergeleitetAn: o.ForwardedTo}
	if !o.Deadline.IsZero() {
		st.Frist = o.Deadline.In(app.Berlin).Format("2006-01-02")
	}
	return st
}

// compose writes the signed mail of o; a failure says why in German.
func (s *StoreOutbox) compose(ctx context.Context, o *app.Outgoing) (*Message, *Failure) {
	k, err := s.Key(o.Office)
	if err != nil {
		return nil, &Failure{Class: ClassKey, Err: err, Reason: fmt.Sprintf(
			"Die Statusmeldung kann nicht signiert werden: %s Sie wird automatisch erneut versucht, sobald der Schlüssel da ist.", app.ErrorMessage(err))}
	}
	var pdf *PDF
	if o.Document != "" && s.PDF != nil {
		if pdf, err = s.PDF(ctx, o); err != nil {
			return nil, &Failure{Class: ClassTemporary, Err: err, Reason: "Das Dokument zur Statusmeldung konnte nicht erzeugt werden; es wird automatisch erneut versucht. Bleibt es dabei, bitte die IT verständigen."}
		}
	}
	m, err := Compose(StatusOf(o), pdf, s.From, s.To, k.Private)
	if err != nil {
		return nil, &Failure{Class: ClassPermanent, Err: err, Reason: "Die Statusmeldung entspricht nicht der Schnittstelle des Portals und wird nicht gesendet: " +
			app.ErrorMessage(err) + " Bitte die Nachricht neu schreiben oder per Brief antworten."}
	}
	return m, nil
}

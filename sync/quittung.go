package sync

import (
	"context"
	"fmt"
	"strings"

	"amtstresen/app"
	"amtstresen/sync/delivery"
	"amtstresen/sync/internal/cleantext"
	"amtstresen/sync/rueckkanal"
)

// QuittungStore applies the portal's receipts (app.OutboxSender has it):
// the receipt of the mail (rc) and the effect in one transaction; the same
// quittung twice has one effect; ENOTFOUND for a status message the store
// does not know, EINVALID when case or Message-ID do not match it.
type QuittungStore interface {
	ApplyQuittung(ctx context.Context, q *app.Quittung, rc *app.Receipt) error
}

func isQuittung(it *item) bool {
	return it.d != nil && it.d.Review == "" && it.d.Kind == delivery.KindQuittung
}

func countQuittungen(items []*item) int {
	n := 0
	for _, it := range items {
		if isQuittung(it) {
			n++
		}
	}
	return n
}

// storeQuittung takes in one quittung delivery (its portal signature is
// checked like every delivery's): quittung.json is read, and the store
// applies it together with the mail's receipt. A quittung for a status
// message not known here, or one that does not match it, goes to the
// review list with a German explanation; nothing else changes. The mail
// is filed only after the commit, like every mail.
func (s *Syncer) storeQuittung(ctx context.Context, st *app.SyncState, it *item, mv *mover, res *Result) error {
	d := it.d
	rc := &app.Receipt{SHA256: it.key, Mailbox: s.cfg.Mailbox, UIDValidity: st.UIDValidity, UID: it.ref.UID,
		MessageID: d.MessageID, Kind: d.Kind, PortalCase: d.Vorgang}
	seen := false
	if it.key != "" {
		m, err := s.store.Receipts(ctx, []string{it.key})
		if err != nil {
			return err
		}
		prev, ok := m[it.key]
		if ok && prev.TakenIn() {
			res.Recovered++ // applied by a run that stopped before filing it
			mv.add(s.cfg.ProcessedMailbox, it.ref.UID, it.key)
			return nil
		}
		seen = ok
	}
	review := func(reason app.ReviewReason, detail string) error {
		_, err := s.review(ctx, s.store, it, rc, seen, reason, cleantext.Line(detail, 300), mv, res)
		return err
	}
	q, err := rueckkanal.ParseQuittung(d.Payload)
	if err != nil {
		return review(app.ReviewPayloadInvalid, "quittung.json: "+app.ErrorMessage(err))
	}
	if s.Quittungen == nil {
		return review(app.ReviewPayloadInvalid, "Quittung des Portals, aber der Rückkanal ist in diesem Programm nicht eingerichtet")
	}
	aq := &app.Quittung{Nachricht: strings.ToLower(q.Nachricht), MessageID: q.MessageIDKey(), PortalCase: strings.ToLower(q.Vorgang),
		Result: app.OutboxState(q.Ergebnis), Grund: q.Grund, Reason: q.GrundText(), At: q.Time}
	switch err := s.Quittungen.ApplyQuittung(ctx, aq, rc); {
	case err == nil:
	case app.ErrorCode(err) == app.ENOTFOUND:
		return review(app.ReviewQuittungUnknown, fmt.Sprintf("Quittung „%s“ zur Statusmeldung %s (Message-ID %s), die hier nicht bekannt ist", q.Ergebnis.Label(), aq.Nachricht, aq.MessageID))
	default:
		if rv, ok := reviewable(err); ok {
			return review(app.ReviewPayloadInvalid, "Quittung passt nicht zur Statusmeldung: "+rv)
		}
		return fmt.Errorf("apply quittung: %w", err)
	}
	res.Quittungen++
	mv.add(s.cfg.ProcessedMailbox, it.ref.UID, it.key)
	return nil
}

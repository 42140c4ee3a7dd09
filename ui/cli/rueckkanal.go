package cli

// The return channel (Rückkanal, issue 16): the offices' signing keys,
// the outbox of status messages and their sending. Wiring only: the
// messages are composed and sent by sync/rueckkanal, stored by the store.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"amtstresen/app"
	"amtstresen/sync/rueckkanal"
	"amtstresen/ui/pdf"
)

// runOfficeKey creates or shows an office's signing key (admin only).
// create makes a new Ed25519 pair: the private key goes into the
// [[office]] key_file of that office (a new file, mode 0600) or else into
// the OS keyring; the public key is printed for the portal operator.
// Neither the private key nor anything derived from it beyond the public
// key is printed or logged.
func runOfficeKey(e *env, args []string) error {
	fs := newFlags("office-key", e)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[0] != "create" && pos[0] != "show") {
		return usageError("Aufruf: amtstresen office-key create|show DIENSTSTELLE (kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell)")
	}
	office := app.OfficeKey(strings.TrimSpace(pos[1]))
	if _, err := e.officeFlag(string(office)); err != nil || office == "" {
		return usageError(fmt.Sprintf("Unbekannte Dienststelle „%s“. Möglich sind: kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell.", pos[1]))
	}
	db, a, err := e.openAs(app.RoleAdmin, "Den Signaturschlüssel einer Dienststelle zu verwalten", "")
	if err != nil {
		return err
	}
	defer db.Close()
	oc := rueckkanal.OfficeConfigFor(e.cfg, office)
	if pos[0] == "create" {
		if _, err := rueckkanal.CreateOfficeKey(oc, e.stdout); err != nil {
			return err
		}
		where := "keyring"
		if oc.KeyFile != "" {
			where = "file"
		}
		return db.Audit(e.ctx, app.AuditEntry{Clerk: a.Clerk, Name: a.Name, Office: office, Action: app.ActionOfficeKeyCreate,
			Ref: string(office), Detail: where})
	}
	k, err := rueckkanal.LoadOfficeKey(oc)
	if err != nil {
		return err
	}
	where := "im Schlüsselbund des Betriebssystems"
	if oc.KeyFile != "" {
		where = "in der Datei " + oc.KeyFile
	}
	fmt.Fprintf(e.stdout, "Signaturschlüssel der Dienststelle %s (%s).\n\nÖffentlicher Schlüssel für den Portalbetreiber (Base64, Ed25519):\n\n%s\n", office, where, k.PublicBase64())
	return nil
}

// senderStore is what the sender needs of a store: its outbox and the
// cases (for the Eingangsbestätigung an "eingegangen" message carries).
type senderStore interface {
	app.OutboxSender
	CaseByRef(ctx context.Context, ref string) (*app.Case, error)
}

// newSender is the sender of status messages by cfg's [smtp] through the
// office's relay, with the offices' keys from [[office]] or the keyring.
// Without [smtp] address it fails with the German reason.
func newSender(e *env, cfg *app.Config, db senderStore) (*rueckkanal.Sender, error) {
	rc := rueckkanal.ConfigFrom(cfg)
	if strings.TrimSpace(rc.SMTP.Address) == "" {
		return nil, app.Errorf(app.EINVALID, "Statusmeldungen an Bürger werden nicht gesendet: in der Konfiguration fehlt [smtp] address (Mailserver der Dienststelle, siehe README „Konfiguration“). Sie bleiben in der Warteschlange (amtstresen outbox).")
	}
	pw, err := rueckkanal.Password(rc.SMTP)
	if err != nil {
		return nil, err
	}
	return buildSender(e, rc, pw, db, officeKeys(func(o app.OfficeKey) (*rueckkanal.OfficeKey, error) {
		return rueckkanal.LoadOfficeKey(rueckkanal.OfficeConfigFor(cfg, o))
	}))
}

// buildSender wires the sender: the store's outbox through
// rueckkanal.StoreOutbox (compose once, store the bytes, then send), the
// receipt PDF from ui/pdf, the relay by rc.
func buildSender(e *env, rc rueckkanal.Config, password string, db senderStore, keys func(app.OfficeKey) (*rueckkanal.OfficeKey, error)) (*rueckkanal.Sender, error) {
	rc.Defaults()
	sub, err := rueckkanal.NewSubmitter(rc, password)
	if err != nil {
		return nil, err
	}
	renderer := pdf.NewRenderer(e.reg)
	ob := &rueckkanal.StoreOutbox{Store: db, Key: keys, From: rc.SMTP.From, To: rc.ReturnAddress,
		PDF: func(ctx context.Context, o *app.Outgoing) (*rueckkanal.PDF, error) {
			if o.Document != app.DocumentReceipt {
				return nil, nil
			}
			c, err := db.CaseByRef(ctx, o.Ref)
			if err != nil {
				return nil, err
			}
			b, err := renderer.Bytes(pdf.Options{Now: o.QueuedAt}, pdf.Item{Kind: pdf.KindReceipt, Case: c})
			if err != nil {
				return nil, err
			}
			return &rueckkanal.PDF{Name: "eingangsbestaetigung.pdf", Data: b}, nil
		}}
	return rueckkanal.NewSender(ob, sub.Relay(), e.log.With("component", "rueckkanal")), nil
}

// officeKeys caches the keys that loaded; a missing one is asked again
// next time (an admin may create it meanwhile).
func officeKeys(load func(app.OfficeKey) (*rueckkanal.OfficeKey, error)) func(app.OfficeKey) (*rueckkanal.OfficeKey, error) {
	var mu gosync.Mutex
	cache := map[app.OfficeKey]*rueckkanal.OfficeKey{}
	return func(o app.OfficeKey) (*rueckkanal.OfficeKey, error) {
		mu.Lock()
		defer mu.Unlock()
		if k := cache[o]; k != nil {
			return k, nil
		}
		k, err := load(o)
		if err != nil {
			return nil, err
		}
		cache[o] = k
		return k, nil
	}
}

// roundSummary is one sending round in German.
func roundSummary(r rueckkanal.Round) string {
	s := fmt.Sprintf("Statusmeldungen: %d gesendet", r.Sent)
	if r.Retry > 0 {
		s += fmt.Sprintf(", %d warten auf einen neuen Versuch", r.Retry)
	}
	if r.Failed > 0 {
		s += fmt.Sprintf(", %d nicht gesendet (die Sachbearbeitung muss handeln: amtstresen outbox)", r.Failed)
	}
	if r.LastFail != nil && (r.Retry > 0 || r.Failed > 0) {
		s += ". Grund: " + r.LastFail.Reason
	}
	return s
}

// runSend sends the waiting status messages: once (--once) or
// continuously, woken by the store's changes and every --interval.
func runSend(e *env, args []string) error {
	fs := newFlags("send", e)
	once := fs.Bool("once", false, "einmal senden, was wartet, und beenden")
	interval := fs.Duration("interval", time.Minute, "ohne --once: so oft nachsehen, was zu senden ist")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := e.open() // SQLite, or PostgreSQL as the sync's service account
	if err != nil {
		return err
	}
	defer db.Close()
	snd, err := newSender(e, e.cfg, db)
	if err != nil {
		return err
	}
	if *once {
		r, err := snd.SendDue(e.ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, roundSummary(r))
		return nil
	}
	fmt.Fprintf(e.stdout, "Statusmeldungen werden laufend gesendet (sofort nach jeder Änderung, sonst alle %s); Beenden mit Strg+C.\n", *interval)
	ctx, cancel := context.WithCancel(e.ctx)
	watched := wakeOnChanges(ctx, db.store, snd.Wake)
	defer func() { cancel(); <-watched }()
	if err := snd.Run(ctx, *interval); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// sendAlongside runs the sender in the background until the returned stop
// is called (stop waits for it: the database stays open until then). The
// window and the continuous sync use it: nothing waits for SMTP. Without
// [smtp] it does nothing. With feed, every change the store announces
// wakes it (a queued message on PostgreSQL, any change of the SQLite
// file): a clerk's message goes out within about a second, not at the
// next interval; the interval stays as the fallback.
func sendAlongside(e *env, cfg *app.Config, db senderStore, feed app.ChangeFeed, interval time.Duration) (wake func(), stop func()) {
	snd, err := newSender(e, cfg, db)
	if err != nil {
		if strings.TrimSpace(cfg.SMTP.Address) != "" {
			e.log.Warn("status messages are not sent", "err", app.ErrorMessage(err))
		}
		return func() {}, func() {}
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		snd.Run(ctx, interval)
	}()
	watched := wakeOnChanges(ctx, feed, snd.Wake)
	return snd.Wake, func() { cancel(); <-done; <-watched }
}

// wakeOnChanges calls wake for every change of feed that may have queued
// a message, until ctx ends; the returned channel closes then. A nil feed
// watches nothing.
func wakeOnChanges(ctx context.Context, feed app.ChangeFeed, wake func()) <-chan struct{} {
	watched := make(chan struct{})
	if feed == nil {
		close(watched)
		return watched
	}
	go func() {
		defer close(watched)
		feed.Watch(ctx, func(evs []app.FeedEvent) {
			if wakesSender(evs) {
				wake()
			}
		})
	}()
	return watched
}

// wakesSender reports whether the changes may have queued a message: a
// message event, or a change the feed cannot name (SQLite, a reconnect).
func wakesSender(evs []app.FeedEvent) bool {
	for _, ev := range evs {
		if ev.Kind == app.FeedMessage || ev.Kind == app.FeedAny {
			return true
		}
	}
	return false
}

// sendOnce sends what waits after a sync or the nightly job and says what
// happened; without [smtp] it says nothing (the outbox keeps them).
func sendOnce(e *env, cfg *app.Config, db senderStore) {
	if strings.TrimSpace(cfg.SMTP.Address) == "" {
		return
	}
	snd, err := newSender(e, cfg, db)
	if err != nil {
		fmt.Fprintln(e.stderr, "Statusmeldungen nicht gesendet:", app.ErrorMessage(err))
		return
	}
	r, err := snd.SendDue(e.ctx)
	if err != nil {
		fmt.Fprintln(e.stderr, "Statusmeldungen nicht gesendet:", app.ErrorMessage(err))
		return
	}
	if r.Sent+r.Retry+r.Failed > 0 {
		fmt.Fprintln(e.stdout, roundSummary(r))
	}
}

// outboxJSON is one message of `amtstresen outbox --json`.
type outboxJSON struct {
	Nachricht  string       `json:"nachricht"`
	PortalCase string       `json:"portal_case"`
	Ref        string       `json:"ref"`
	Office     string       `json:"office"`
	Status     string       `json:"status"`
	State      string       `json:"state"`
	MessageID  string       `json:"message_id"`
	QueuedAt   string       `json:"queued_at"`
	SentAt     *string      `json:"sent_at"` // null until the relay accepted it
	Attempts   int          `json:"attempts"`
	Next       string       `json:"next_attempt,omitempty"`
	Reason     string       `json:"reason,omitempty"`
	Receipt    *receiptJSON `json:"receipt"`
}

// receiptJSON is the portal's quittung of a message.
type receiptJSON struct {
	Ergebnis string `json:"ergebnis"`
	Grund    string `json:"grund,omitempty"`
	At       string `json:"at"`
}

func newOutboxJSON(o *app.Outgoing) outboxJSON {
	j := outboxJSON{Nachricht: o.Nachricht, PortalCase: o.PortalCase, Ref: o.Ref, Office: string(o.Office), Status: string(o.Status),
		State: string(o.State), MessageID: o.MessageID, QueuedAt: app.FormatRFC3339(o.QueuedAt), Attempts: o.Attempts, Reason: o.Reason}
	if !o.SentAt.IsZero() {
		at := app.FormatRFC3339(o.SentAt)
		j.SentAt = &at
	}
	if o.State == app.OutboxFailed && !o.NextAttempt.IsZero() {
		j.Next = app.FormatRFC3339(o.NextAttempt)
	}
	if !o.ReceiptAt.IsZero() {
		j.Receipt = &receiptJSON{Ergebnis: string(o.State), Grund: o.Grund, At: app.FormatRFC3339(o.ReceiptAt)}
	}
	return j
}

// runOutbox lists the messages to citizens the actor may see.
func runOutbox(e *env, args []string) error {
	fs := newFlags("outbox", e)
	asJSON := fs.Bool("json", false, "als JSON ausgeben")
	undelivered := fs.Bool("undelivered", false, "nur nicht zugestellte (die Sachbearbeitung muss handeln)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, db, err := e.openScopedStore()
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.Outbox(db).OutboxMessages(e.ctx, app.OutboxFilter{Undelivered: *undelivered})
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]outboxJSON, 0, len(list))
		for i := range list {
			out = append(out, newOutboxJSON(&list[i]))
		}
		return printJSON(e.stdout, out)
	}
	for _, o := range list {
		line := fmt.Sprintf("%-18s %-16s %-18s %-30s", app.FormatDateTime(o.QueuedAt), o.Ref, o.Status, o.State.Label())
		if o.Reason != "" && (o.State.Undelivered() || o.State == app.OutboxFailed) {
			line += " " + app.Safe(o.Reason)
		}
		fmt.Fprintln(e.stdout, strings.TrimRight(line, " "))
	}
	return nil
}

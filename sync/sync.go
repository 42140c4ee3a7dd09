// Package sync takes the Bürgerportal's deliveries in from the shared IMAP
// mailbox (portal/README.md): it lists and downloads the mails
// (sync/mailbox), parses and verifies them (sync/delivery), turns each
// into work in the store in one transaction per batch and files the mail
// on the server once its commit is on disk. What it needs of a store is
// Store, handed in at construction.
//
// The stages: sync.go runs a session (list, fetch and parse in
// goroutines, store in UID order), store.go turns a delivery into a
// store call, mover.go files the mails after their commit, mailpurge.go
// carries the retention purge to the server, schedule.go runs it on a
// cron schedule.
package sync

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	gosync "sync"
	"time"

	"amtstresen/app"
	"amtstresen/sync/delivery"
	"amtstresen/sync/mailbox"
)

// Syncer takes the portal's deliveries in. It is safe for concurrent use;
// runs never overlap: in one process a second Run waits for the first,
// across processes the store's lock (app.PortalStore.LockSync) lets one
// sync work on a database at a time.
type Syncer struct {
	cfg app.IMAPConfig
	// verifier checks the portal's signatures (its public key), a batch
	// at a time.
	verifier *delivery.Verifier
	store    Store
	reg      *app.Registry
	log      *slog.Logger
	limits   delivery.Limits

	// BatchSize is the number of mails fetched, stored and moved together.
	BatchSize int
	// Password overrides the keyring and password_env (demo, tests).
	Password func() (string, error)
	// Now is the clock (tests).
	Now func() time.Time
	// CommandTimeout is how long the server may stay silent while a
	// command waits for its answer ([imap] timeout_seconds); RunTimeout
	// bounds a whole run ([sync] max_minutes). When either is hit the
	// run ends with a German message; what was committed is complete.
	CommandTimeout time.Duration
	RunTimeout     time.Duration
	// LockWait is how long a run waits for another sync of the same
	// database before it gives up, harmlessly ("läuft bereits").
	LockWait time.Duration
	// OnRun, when set, is called as a run starts, and the function it
	// returns as the run ends. ui/cli relaxes the garbage collector with
	// it while syncs run: a setting of the whole process, which a
	// library leaves alone.
	OnRun func() (done func())
	// Quittungen applies the portal's receipts for status messages
	// (app.OutboxSender.ApplyQuittung); ui/cli hands in the store. Without
	// it a quittung goes to the review list.
	Quittungen QuittungStore

	mu     gosync.Mutex
	places placeQueue // where filed mails went, to be written
}

// Result counts what one run did.
type Result struct {
	Mails        int // mails looked at
	Cases        int // new cases
	Duplicates   int // re-deliveries of an existing case
	Messages     int // citizens' messages added
	Withdrawals  int // signed withdrawals (format 2) applied
	Unconfirmed  int // withdrawals in format 1, flagged for a clerk to confirm
	Appointments int // bookings applied (booked, moved, cancelled)
	Stale        int // appointment messages older than what is stored
	Review       int // mails put on the review list
	Recovered    int // mails taken in by an earlier, interrupted run, only moved now
	Retried      int // messages that had come before their case, taken in now
	Quittungen   int // the portal's receipts for status messages, applied (a repeat included: it has no second effect)
	Vanished     int // mails gone from the inbox while this run looked at them; the next run takes them
	Moved        int
	Kept         int  // mails left in the inbox (server without MOVE and UIDPLUS)
	Busy         bool // another sync was working on the database; this run did nothing
	Duration     time.Duration
}

// Summary is the German one-line result for the clerk.
func (r *Result) Summary() string {
	if r.Busy {
		return "Abgleich läuft bereits in einem anderen Programm; dieser Lauf wurde übersprungen (es geht nichts verloren)."
	}
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(r.Cases, "Antrag übernommen", "Anträge übernommen")
	add(r.Duplicates, "Antrag doppelt (schon vorhanden)", "Anträge doppelt (schon vorhanden)")
	add(r.Messages, "Nachricht", "Nachrichten")
	add(r.Withdrawals, "Rücknahme", "Rücknahmen")
	add(r.Unconfirmed, "Rücknahme zur Bestätigung", "Rücknahmen zur Bestätigung")
	add(r.Appointments, "Termin", "Termine")
	add(r.Quittungen, "Quittung des Portals", "Quittungen des Portals")
	add(r.Stale, "veraltete Terminmeldung", "veraltete Terminmeldungen")
	add(r.Review, "Mail zur Sichtung", "Mails zur Sichtung")
	add(r.Recovered, "Mail nachträglich abgelegt", "Mails nachträglich abgelegt")
	add(r.Retried, "zurückgestellte Nachricht nachgetragen (ihr Vorgang ist eingetroffen)", "zurückgestellte Nachrichten nachgetragen (ihr Vorgang ist eingetroffen)")
	add(r.Vanished, "Mail während des Abgleichs von anderer Seite verschoben (folgt beim nächsten Abgleich)", "Mails während des Abgleichs von anderer Seite verschoben (folgen beim nächsten Abgleich)")
	if r.Kept > 0 {
		parts = append(parts, fmt.Sprintf("%d im Posteingang belassen (der Mailserver kann weder MOVE noch UIDPLUS; ohne sie legt Amtstresen keine Kopien an und löscht nichts)", r.Kept))
	}
	if len(parts) == 0 {
		if r.Mails == 0 {
			return "keine neuen Sendungen"
		}
		return fmt.Sprintf("%d Mails geprüft", r.Mails)
	}
	return strings.Join(parts, ", ")
}

// New checks the configuration and returns a Syncer. The password is read
// at each run, not here.
func New(cfg *app.Config, store Store, reg *app.Registry, logger *slog.Logger) (*Syncer, error) {
	c := *cfg
	c.Defaults()
	if err := mailbox.CheckConfig(&c.IMAP); err != nil {
		return nil, err
	}
	ver, err := portalKey(c.Portal.PublicKey)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Syncer{cfg: c.IMAP, verifier: ver, store: store, reg: reg, log: logger.With("component", "sync"),
		limits: delivery.Limits{MaxBytes: c.IMAP.MaxMessageBytes}, BatchSize: 500, Now: time.Now,
		CommandTimeout: time.Duration(c.IMAP.TimeoutSeconds) * time.Second, RunTimeout: time.Duration(c.Sync.MaxMinutes) * time.Minute,
		LockWait: 10 * time.Second}, nil
}

// portalKey reads [portal] public_key (base64, 32 bytes, a point of the
// curve) into the verifier of the portal's signatures.
func portalKey(s string) (*delivery.Verifier, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, app.Errorf(app.EINVALID, "In der Konfiguration fehlt [portal] public_key, der öffentliche Schlüssel des Bürgerportals. Ohne ihn kann keine Sendung geprüft werden.")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	var v *delivery.Verifier
	if err == nil {
		v, err = delivery.NewVerifier(b)
	}
	if err != nil {
		return nil, app.Errorf(app.EINVALID, "[portal] public_key ist kein gültiger Ed25519-Schlüssel (erwartet: 32 Bytes in Base64). Bitte den Schlüssel aus der Dokumentation des Bürgerportals eintragen.")
	}
	return v, nil
}

// onRun calls OnRun and returns what ends it.
func onRun(hook func() (done func())) (done func()) {
	if hook == nil {
		return func() {}
	}
	if done = hook(); done == nil {
		return func() {}
	}
	return done
}

// Run syncs once and returns the German summary; it matches ui.Syncer.
func (s *Syncer) Run(ctx context.Context, progress func(done, total int)) (string, error) {
	r, err := s.Sync(ctx, progress)
	if err != nil {
		return "", err
	}
	return r.Summary(), nil
}

// LastState returns the state of the last run; nil when it never ran.
func (s *Syncer) LastState(ctx context.Context) (*app.SyncState, error) {
	st, err := s.store.SyncState(ctx, s.cfg.Mailbox)
	if err != nil && app.ErrorCode(err) == app.ENOTFOUND {
		return nil, nil
	}
	return st, err
}

func (s *Syncer) runTimeout() time.Duration {
	if s.RunTimeout <= 0 {
		return 60 * time.Minute
	}
	return s.RunTimeout
}

func (s *Syncer) commandTimeout() time.Duration {
	if s.CommandTimeout <= 0 {
		return 60 * time.Second
	}
	return s.CommandTimeout
}

// Sync runs once: every mail in the inbox is taken in exactly once and
// then filed. On error nothing is half-written: what was committed is
// complete and its mails are filed (or will be on the next run). When
// another sync works on the same database, the run waits up to LockWait
// and then returns a Result with Busy set and no error.
func (s *Syncer) Sync(ctx context.Context, progress func(done, total int)) (*Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.store.LockSync(ctx, s.LockWait)
	if err != nil {
		if app.ErrorCode(err) == app.ECONFLICT {
			s.log.Info("sync skipped: another sync holds the database")
			return &Result{Busy: true}, nil
		}
		return &Result{}, err
	}
	defer unlock()
	defer onRun(s.OnRun)()
	if progress == nil {
		progress = func(int, int) {}
	}
	start := s.Now()
	res := &Result{}
	rctx, cancel := context.WithTimeoutCause(ctx, s.runTimeout(), errRunTimeout)
	err = s.run(rctx, res, progress)
	cancel()
	if err == nil {
		err = s.retryWaiting(ctx, res)
	}
	res.Duration = time.Since(start)
	// Record the outcome; the cursor fields were saved during the run.
	st, serr := s.store.SyncState(context.WithoutCancel(ctx), s.cfg.Mailbox)
	if serr != nil || st == nil {
		st = &app.SyncState{Mailbox: s.cfg.Mailbox}
	}
	st.Mailbox = s.cfg.Mailbox
	st.LastRun = start.UTC()
	if err != nil {
		st.LastError = app.ErrorMessage(err)
		st.LastResult = res.Summary()
		s.log.Error("sync failed", "err", err, "mails", res.Mails)
	} else {
		st.LastError = ""
		st.LastResult = res.Summary()
		s.log.Info("sync done", "mails", res.Mails, "cases", res.Cases, "review", res.Review, "kept", res.Kept, "took", res.Duration)
	}
	if serr := s.store.SaveSyncState(context.WithoutCancel(ctx), st); serr != nil && err == nil {
		err = serr
	}
	return res, err
}

// germanDuration says "90 Sekunden", "1 Minute", "60 Minuten".
func germanDuration(d time.Duration) string {
	switch {
	case d < 2*time.Minute && d%time.Minute != 0:
		if n := int(d.Round(time.Second) / time.Second); n != 1 {
			return fmt.Sprintf("%d Sekunden", n)
		}
		return "1 Sekunde"
	case d < 2*time.Minute:
		return "1 Minute"
	}
	return fmt.Sprintf("%d Minuten", int(d/time.Minute))
}

// errRunTimeout is the cause of a run that reached RunTimeout.
var errRunTimeout = errors.New("sync run timeout")

// item is a downloaded and parsed mail on its way to the store.
type item struct {
	ref  mailbox.Ref
	raw  []byte
	key  string // hex SHA-256 of raw (or of the whole mail, for one too large to keep): its identity
	d    *delivery.Delivery
	prep app.PreparedCase // an application's case, routed and prepared while parsing
}

func (s *Syncer) run(ctx context.Context, res *Result, progress func(done, total int)) error {
	return s.connected(ctx, func(conn *mailbox.Conn) error { return s.session(ctx, conn, res, progress) })
}

// connected logs in to the mailbox (the connection under the watchdog of
// CommandTimeout, closed when ctx ends), runs fn and logs out.
func (s *Syncer) connected(ctx context.Context, fn func(*mailbox.Conn) error) error {
	pw := s.Password
	if pw == nil {
		pw = func() (string, error) { return mailbox.Password(&s.cfg) }
	}
	secret, err := pw()
	if err != nil {
		return err
	}
	conn, err := mailbox.Dial(ctx, &s.cfg, secret, &mailbox.DialOptions{CommandTimeout: s.commandTimeout()})
	if err != nil {
		return s.explainStop(ctx, nil, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err = fn(conn)
	if err == nil {
		conn.Logout()
	}
	return s.explainStop(ctx, conn, err)
}

// explainStop turns the end of a run by a deadline or a cancellation into
// a German message that says what happened; other errors pass.
func (s *Syncer) explainStop(ctx context.Context, conn *mailbox.Conn, err error) error {
	if err == nil {
		return nil
	}
	safe := " Bereits übernommene Sendungen sind vollständig gespeichert; nichts wurde halb geschrieben, der Rest folgt beim nächsten Abgleich."
	switch {
	case conn != nil && conn.TimedOut():
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Der Mailserver %s hat %s lang nicht geantwortet; der Portal-Abgleich wurde abgebrochen.%s Bleibt der Server stumm, bitte die IT verständigen ([imap] timeout_seconds).",
			s.cfg.Address, germanDuration(s.commandTimeout()), safe)}
	case errors.Is(context.Cause(ctx), errRunTimeout):
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Der Portal-Abgleich hat seine Zeitgrenze von %s erreicht und wurde beendet.%s ([sync] max_minutes)",
			germanDuration(s.runTimeout()), safe)}
	case ctx.Err() != nil:
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: "Der Portal-Abgleich wurde abgebrochen." + safe}
	}
	return err
}

func (s *Syncer) session(ctx context.Context, conn *mailbox.Conn, res *Result, progress func(done, total int)) error {
	c := &s.cfg
	sel, err := conn.Select(c.Mailbox, false)
	if err != nil {
		return err
	}
	st, err := s.store.SyncState(ctx, c.Mailbox)
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		return err
	}
	if st == nil {
		st = &app.SyncState{Mailbox: c.Mailbox}
	}
	if st.UIDValidity != sel.UIDValidity {
		if st.UIDValidity != 0 {
			s.log.Warn("UIDVALIDITY changed; cursor reset", "old", st.UIDValidity, "new", sel.UIDValidity)
		}
		st.UIDValidity, st.LastUID = sel.UIDValidity, 0
		if err := s.store.SaveSyncState(ctx, st); err != nil {
			return err
		}
	}
	if sel.NumMessages == 0 {
		return nil
	}
	// 1. List what is there: UID, size, date; nothing large yet.
	tList := time.Now()
	refs, err := conn.List(st.LastUID)
	s.log.Debug("listed", "mails", len(refs), "took", time.Since(tList))
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return nil
	}
	canMove, canUIDExpunge := conn.CanMove(), conn.CanUIDExpunge()
	if canMove || canUIDExpunge {
		created, err := conn.Ensure(s.cfg.ProcessedMailbox, s.cfg.ReviewMailbox)
		for _, name := range created {
			s.log.Info("mailbox created", "mailbox", name)
		}
		if err != nil {
			return err
		}
	}
	res.Mails = len(refs)
	progress(0, len(refs))
	mv := &mover{s: s, conn: conn, move: canMove, uidExpunge: canUIDExpunge, res: res}

	// 2. Too large: the header and the content's hash, straight to review.
	var small []mailbox.Ref
	var large []mailbox.Ref
	for _, r := range refs {
		if r.Size > s.limits.WithDefaults().MaxBytes {
			large = append(large, r)
		} else {
			small = append(small, r)
		}
	}
	finished := 0
	if len(large) > 0 {
		if err := s.takeLarge(ctx, conn, st, large, mv, res); err != nil {
			return err
		}
		finished += len(large)
		progress(finished, len(refs))
	}

	// 3. Download in batches, parse in parallel, store in UID order, and
	// file each batch on the server after its commits. The stages overlap:
	// while batch k is stored, k+1 is parsed and k+2 fetched; the MOVE of
	// batch k runs on the server while k+1 is stored.
	batches := splitBatches(small, s.batchSize(), 32<<20)
	parsed, stop := fetchAndParse(ctx, batches, s.log,
		func(b []mailbox.Ref) ([]*item, error) { return s.fetchBatch(conn, b) }, s.parseAll)
	defer stop()
	// The previous batch's MOVE and the cursor it may advance to.
	var waitMove func() error
	var cursor uint32
	settle := func() error {
		if waitMove == nil {
			return nil
		}
		err := waitMove()
		waitMove = nil
		if errors.Is(err, errVanished) {
			// Filed what was there; the cursor stays, so that the next
			// run looks at the batch again.
			return nil
		}
		if err == nil && cursor > st.LastUID {
			st.LastUID = cursor
			err = s.store.SaveSyncState(ctx, st)
		}
		return err
	}
	var firstErr error
	for bi := 0; ; bi++ {
		f, ok := <-parsed
		if !ok {
			break
		}
		if f.err != nil {
			firstErr = f.err
			break
		}
		t0 := time.Now()
		stored, err := s.storeBatch(ctx, st, f.items, mv, res, func() {
			finished++
			progress(finished, len(refs))
		})
		s.log.Debug("stored", "mails", len(stored), "took", time.Since(t0))
		if serr := settle(); serr != nil && err == nil {
			err = serr
		}
		// File what was committed, even when the batch stopped early, as
		// soon as it is on disk; meanwhile the next batch is stored.
		waitMove = mv.flushAfter(s.durable)
		cursor = 0
		// A mail that vanished while it was fetched keeps the cursor
		// where it is: the next run looks at the batch again.
		if complete := len(f.items) == len(batches[bi]); err == nil && complete && len(stored) == len(f.items) && len(f.items) > 0 {
			cursor = f.items[len(f.items)-1].ref.UID
		} else if err == nil && !complete {
			res.Vanished += len(batches[bi]) - len(f.items)
			finished += len(batches[bi]) - len(f.items)
		}
		if err != nil {
			firstErr = err
			break
		}
	}
	if serr := settle(); serr != nil && firstErr == nil {
		firstErr = serr
	}
	s.writePlaces(ctx)
	return firstErr
}

// batchResult is one batch after fetching and parsing.
type batchResult struct {
	items []*item
	err   error
}

// fetchAndParse runs the first two stages of a portal sync in goroutines:
// batch k+1 is fetched on the IMAP connection while batch k is parsed on
// all cores and the caller stores batch k-1 from the channel, in order
// (one batch may wait between stages). A fetch error is the last result. stop ends the stages and waits until they let go of the
// connection.
func fetchAndParse(ctx context.Context, batches [][]mailbox.Ref, log *slog.Logger,
	fetch func([]mailbox.Ref) ([]*item, error), parse func([]*item)) (<-chan batchResult, func()) {
	fctx, cancel := context.WithCancel(ctx)
	raw := make(chan batchResult, 1)
	parsed := make(chan batchResult, 1)
	send := func(ch chan batchResult, f batchResult) bool {
		select {
		case ch <- f:
			return true
		case <-fctx.Done():
			return false
		}
	}
	go func() {
		defer close(raw)
		for _, b := range batches {
			t0 := time.Now()
			items, err := fetch(b)
			log.Debug("fetched", "mails", len(b), "took", time.Since(t0))
			if !send(raw, batchResult{items, err}) || err != nil {
				return
			}
		}
	}()
	go func() {
		defer close(parsed)
		for f := range raw {
			if f.err == nil {
				t0 := time.Now()
				parse(f.items)
				log.Debug("parsed", "mails", len(f.items), "took", time.Since(t0))
			}
			if !send(parsed, f) {
				return
			}
		}
	}()
	stop := func() {
		cancel()
		for range parsed {
		}
		for range raw {
		}
	}
	return parsed, stop
}

func (s *Syncer) batchSize() int {
	if s.BatchSize <= 0 {
		return 500
	}
	return s.BatchSize
}

// splitBatches cuts refs into batches of n mails (and at most maxBytes).
// The first and the last batch are a fifth of that: the store can only
// start when the first is fetched and parsed, and the sync ends only when
// the server has filed the last.
func splitBatches(refs []mailbox.Ref, n int, maxBytes int64) [][]mailbox.Ref {
	var out [][]mailbox.Ref
	var cur []mailbox.Ref
	var size int64
	for _, r := range refs {
		limit := n
		if len(out) == 0 {
			limit = max(1, n/5)
		}
		if len(cur) > 0 && (len(cur) >= limit || size+r.Size > maxBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, r)
		size += r.Size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	if small := max(1, n/5); len(out) > 1 && len(out[len(out)-1]) > small {
		last := out[len(out)-1]
		out = append(out[:len(out)-1], last[:len(last)-small], last[len(last)-small:])
	}
	return out
}

package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	gosync "sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/zalando/go-keyring"

	"amtstresen/app"
	"amtstresen/sync/delivery"
	"amtstresen/sync/internal/allcores"
	"amtstresen/sync/journal"
	"amtstresen/sync/mailbox"
)

// JournalKeyringService is the OS keyring service under which the journal's
// shared secret is kept (account = IMAP user name).
const JournalKeyringService = "amtstresen-journal"

// Shared is one counter of several that share one queue through the
// journal folder of the office's mailbox ([journal] enabled = true).
//
// It is an app.Store for the window: reads go to the local database,
// every change of a clerk (create at the counter, claim, release, status,
// forward, note, review resolved) becomes a journal entry: queued in the
// outbox and shown at once, appended to the journal, and applied when it
// comes back in journal order, which decides conflicts. Sync moves the
// portal's deliveries from the inbox into the journal folder too, so that
// deliveries and entries have one order (the folder's UIDs), and applies
// everything after the counter's cursor.
type Shared struct {
	app.Store
	js      app.JournalStore
	batcher SharedStore
	finder  app.PersonFinder
	sy      *Syncer
	jc      app.JournalConfig
	log     *slog.Logger

	// Secret overrides secret_env and the keyring (tests, demo).
	Secret func() ([]byte, error)
	// SubmitTimeout bounds how long a clerk's change waits for the
	// server; after it the change stays pending in the outbox.
	SubmitTimeout time.Duration
	// BatchSize is the number of journal mails applied per transaction.
	BatchSize int
	// OnChange is called after a sync that applied something (from any
	// goroutine): the window refreshes its lists.
	OnChange func(*JournalResult)
	// OnAppend is called after each entry appended (tests).
	OnAppend func(id string, uid uint32)
	// Now is the clock for entries.
	Now func() time.Time
	// OnRun, when set, is called as a sync starts, and the function it
	// returns as it ends (ui/cli relaxes the garbage collector with it).
	OnRun func() (done func())

	mu       gosync.Mutex
	conn     *mailbox.Conn
	secret   []byte
	appended map[string]bool
	pulled   bool
	// offlineUntil: the last sync found no server; changes until then
	// are queued without trying again.
	offlineUntil time.Time
	kick         chan struct{}
}

// JournalResult counts what one journal sync did.
type JournalResult struct {
	Moved    int    // portal mails moved from the inbox into the journal
	Appended int    // own entries appended
	Entries  int    // journal entries applied (all counters)
	Rejected int    // journal entries rejected in journal order
	Invalid  int    // unauthenticated or unreadable entries, kept for review
	Portal   Result // portal mails applied from the journal
	Pending  int    // own changes still waiting in the outbox
	LastUID  uint32 // the cursor after the sync
	Duration time.Duration
}

// Changed reports whether the sync applied anything.
func (r *JournalResult) Changed() bool {
	return r.Entries+r.Rejected+r.Invalid+r.Portal.Mails > 0
}

// Summary is the German one-line result.
func (r *JournalResult) Summary() string {
	var parts []string
	if r.Portal.Mails > 0 {
		parts = append(parts, "Portal: "+r.Portal.Summary())
	}
	if r.Entries > 0 {
		parts = append(parts, fmt.Sprintf("%d Änderungen aus dem Journal", r.Entries))
	}
	if r.Rejected > 0 {
		parts = append(parts, fmt.Sprintf("%d abgelehnt", r.Rejected))
	}
	if r.Invalid > 0 {
		parts = append(parts, fmt.Sprintf("%d ungültige Journaleinträge zur Sichtung", r.Invalid))
	}
	if r.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d eigene Änderungen warten auf den Server", r.Pending))
	}
	if len(parts) == 0 {
		return "keine neuen Änderungen"
	}
	return strings.Join(parts, ", ")
}

// NewShared checks the configuration and returns the shared counter on
// store (the SQLite storage).
func NewShared(cfg *app.Config, store SharedStore, reg *app.Registry, logger *slog.Logger) (*Shared, error) {
	c := *cfg
	c.Defaults()
	sy, err := New(&c, store, reg, logger)
	if err != nil {
		return nil, err
	}
	m := strings.TrimSpace(c.Journal.Mailbox)
	if m == "" || m == c.IMAP.Mailbox || m == c.IMAP.ProcessedMailbox || m == c.IMAP.ReviewMailbox {
		return nil, app.Errorf(app.EINVALID, "[journal] mailbox muss ein eigener Ordner sein, verschieden von [imap] mailbox, processed_mailbox und review_mailbox.")
	}
	if strings.TrimSpace(c.Journal.Counter) == "" {
		return nil, app.Errorf(app.EINVALID, "In der Konfiguration fehlt [journal] counter (der Name dieses Arbeitsplatzes).")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Shared{Store: store, js: store, batcher: store, finder: store, sy: sy, jc: c.Journal, log: logger.With("component", "journal", "counter", c.Journal.Counter),
		SubmitTimeout: 10 * time.Second, BatchSize: 1000, Now: time.Now, appended: map[string]bool{}, kick: make(chan struct{}, 1)}, nil
}

// SetPassword overrides the IMAP password lookup (tests, demo).
func (s *Shared) SetPassword(pw func() (string, error)) { s.sy.Password = pw }

// Counter is this counter's name.
func (s *Shared) Counter() string { return s.jc.Counter }

// Mailbox is the journal folder.
func (s *Shared) Mailbox() string { return s.jc.Mailbox }

// JournalSecret reads the office-shared secret: from the environment
// variable named by [journal] secret_env, else from the OS keyring
// (service "amtstresen-journal", account = IMAP user name).
func JournalSecret(cfg *app.Config) ([]byte, error) {
	var v string
	if cfg.Journal.SecretEnv != "" {
		v = os.Getenv(cfg.Journal.SecretEnv)
	}
	if v == "" {
		v, _ = keyring.Get(JournalKeyringService, cfg.IMAP.Username)
	}
	if v == "" {
		where := "im Schlüsselbund (Dienst „" + JournalKeyringService + "“, Konto „" + cfg.IMAP.Username + "“)"
		if cfg.Journal.SecretEnv != "" {
			where = "in der Umgebungsvariable " + cfg.Journal.SecretEnv + " oder " + where
		}
		return nil, app.Errorf(app.EINVALID, "Das gemeinsame Journal-Geheimnis des Amts fehlt. Bitte %s hinterlegen (auf allen Arbeitsplätzen dasselbe).", where)
	}
	if len(v) < journal.MinSecretLen {
		return nil, app.Errorf(app.EINVALID, "Das Journal-Geheimnis ist zu kurz (mindestens %d Zeichen).", journal.MinSecretLen)
	}
	return []byte(v), nil
}

func (s *Shared) getSecret(cfg *app.Config) ([]byte, error) {
	if s.secret != nil {
		return s.secret, nil
	}
	var b []byte
	var err error
	if s.Secret != nil {
		b, err = s.Secret()
	} else {
		b, err = JournalSecret(cfg)
	}
	if err == nil && len(b) < journal.MinSecretLen {
		err = app.Errorf(app.EINVALID, "Das Journal-Geheimnis ist zu kurz (mindestens %d Zeichen).", journal.MinSecretLen)
	}
	if err != nil {
		return nil, err
	}
	s.secret = b
	return b, nil
}

// --- Sync ---

// Sync appends the outbox, moves the portal's new deliveries into the
// journal (intake) and applies the journal from the cursor on. Without
// the server it returns the connection error; the outbox waits.
func (s *Shared) Sync(ctx context.Context, intake bool) (*JournalResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer onRun(s.OnRun)()
	start := time.Now()
	res := &JournalResult{}
	err := s.syncLocked(ctx, intake, res)
	res.Duration = time.Since(start)
	s.offlineUntil = time.Time{}
	if err != nil && s.conn == nil && !errors.Is(ctx.Err(), context.Canceled) {
		// No connection: further changes in the next seconds go to the
		// outbox without waiting for the server again.
		s.offlineUntil = time.Now().Add(min(time.Duration(s.jc.PollSeconds)*time.Second, 30*time.Second))
	}
	if ob, oerr := s.js.Outbox(context.WithoutCancel(ctx)); oerr == nil {
		res.Pending = len(ob)
	}
	s.recordOutcome(context.WithoutCancel(ctx), res, err)
	if err != nil {
		s.log.Warn("journal sync failed", "err", err, "pending", res.Pending)
	} else {
		s.log.Debug("journal sync", "entries", res.Entries, "rejected", res.Rejected, "portal", res.Portal.Mails, "appended", res.Appended, "took", res.Duration)
	}
	if res.Changed() && s.OnChange != nil {
		s.OnChange(res)
	}
	return res, err
}

func (s *Shared) syncLocked(ctx context.Context, intake bool, res *JournalResult) error {
	cfg := &app.Config{IMAP: s.sy.cfg, Journal: s.jc}
	secret, err := s.getSecret(cfg)
	if err != nil {
		return err
	}
	if s.conn == nil {
		pw := s.sy.Password
		if pw == nil {
			pw = func() (string, error) { return mailbox.Password(&s.sy.cfg) }
		}
		p, err := pw()
		if err != nil {
			return err
		}
		conn, err := mailbox.Dial(ctx, &s.sy.cfg, p, nil)
		if err != nil {
			return err
		}
		s.conn = conn
	}
	conn := s.conn
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err = s.session(ctx, conn, secret, intake, res)
	if err != nil {
		conn.Close()
		s.conn = nil
		if ctx.Err() != nil {
			return &app.Error{Code: app.EINTERNAL, Err: err, Message: "Der Abgleich mit dem Journal wurde abgebrochen; er wird fortgesetzt."}
		}
	}
	return err
}

// recordOutcome keeps the last error (and its end) in the journal's sync
// state, for the window's status line and `amtstresen journal`. A sync
// that changes nothing and ends as the one before is not written (IDLE
// syncs often).
func (s *Shared) recordOutcome(ctx context.Context, res *JournalResult, err error) {
	st, serr := s.Store.SyncState(ctx, s.jc.Mailbox)
	if serr != nil && app.ErrorCode(serr) != app.ENOTFOUND {
		return
	}
	if st == nil {
		st = &app.SyncState{Mailbox: s.jc.Mailbox}
	}
	msg := app.ErrorMessage(err)
	if msg == st.LastError && !res.Changed() && res.Appended == 0 && res.Moved == 0 {
		return
	}
	st.LastRun, st.LastError, st.LastResult = s.Now().UTC(), msg, res.Summary()
	if err := s.Store.SaveSyncState(ctx, st); err != nil {
		s.log.Warn("save journal state", "err", err)
	}
}

// Close ends the connection.
func (s *Shared) Close() error {
	s.mu.Lock()
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.mu.Unlock()
	return nil
}

func (s *Shared) session(ctx context.Context, conn *mailbox.Conn, secret []byte, intake bool, res *JournalResult) error {
	if err := s.ensureJournal(conn); err != nil {
		return err
	}
	if intake {
		if err := s.intake(conn, res); err != nil {
			return err
		}
	}
	if !s.pulled {
		// First sync of this process: read the journal before appending,
		// so that entries appended before a crash are not appended again.
		if err := s.pullAll(ctx, conn, secret, res); err != nil {
			return err
		}
		s.pulled = true
	}
	if err := s.flush(ctx, conn, secret, res); err != nil {
		return err
	}
	return s.pullAll(ctx, conn, secret, res)
}

// pullAll applies the journal from the cursor on.
func (s *Shared) pullAll(ctx context.Context, conn *mailbox.Conn, secret []byte, res *JournalResult) error {
	sel, err := conn.Select(s.jc.Mailbox, true)
	if err != nil {
		return err
	}
	st, err := s.Store.SyncState(ctx, s.jc.Mailbox)
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		return err
	}
	if st == nil {
		st = &app.SyncState{Mailbox: s.jc.Mailbox}
	}
	if st.UIDValidity != sel.UIDValidity {
		if st.UIDValidity != 0 {
			// Every entry is applied once by its id, every delivery by its
			// Message-ID: reading the folder again from the start is safe.
			s.log.Warn("journal UIDVALIDITY changed; reading it again", "old", st.UIDValidity, "new", sel.UIDValidity)
		}
		st.UIDValidity, st.LastUID = sel.UIDValidity, 0
	}
	res.LastUID = st.LastUID
	if sel.NumMessages == 0 {
		return nil
	}
	refs, err := conn.List(st.LastUID)
	if err != nil || len(refs) == 0 {
		return err
	}
	return s.pull(ctx, conn, secret, st, refs, res)
}

// ensureJournal creates the journal folder if missing.
func (s *Shared) ensureJournal(conn *mailbox.Conn) error {
	created, err := conn.Ensure(s.jc.Mailbox)
	if len(created) > 0 {
		s.log.Info("journal folder created", "mailbox", s.jc.Mailbox)
	}
	return err
}

// intake moves everything in the portal's inbox into the journal folder,
// where it gets its place in the one order. Two counters moving at the
// same moment can both copy a mail before either expunges it (Dovecot's
// MOVE is copy, then expunge): the second copy is recognised everywhere
// by its content (byte-identical; and the case by its portal id) and
// changes nothing.
func (s *Shared) intake(conn *mailbox.Conn, res *JournalResult) error {
	c := &s.sy.cfg
	sel, err := conn.Select(c.Mailbox, false)
	if err != nil {
		return err
	}
	if sel.NumMessages == 0 {
		return nil
	}
	if !conn.CanMove() && !conn.CanUIDExpunge() {
		return app.Errorf(app.EINVALID, "Der Mailserver %s kann weder MOVE noch UIDPLUS; das gemeinsame Journal braucht eins davon.", c.Address)
	}
	// The UIDs present now, named one by one: with COPY + EXPUNGE (no
	// MOVE) a range "1:*" could take in a mail that arrived in between
	// and expunge it uncopied.
	uids, err := conn.SearchAll()
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		return nil
	}
	mv := &mover{s: s.sy, conn: conn, move: conn.CanMove(), uidExpunge: conn.CanUIDExpunge(), res: &Result{}}
	for _, u := range uids {
		mv.add(s.jc.Mailbox, u, "")
	}
	if err := mv.flush(); err != nil {
		var ie *imap.Error
		if errors.Is(err, errVanished) || errors.As(err, &ie) && ie.Code == "EXPUNGEISSUED" { // RFC 9051; no constant in go-imap beta.8
			// Another counter took (some of) them in at the same moment.
			s.log.Info("intake: mails taken in by another counter meanwhile", "mails", len(uids))
			return nil
		}
		return err
	}
	res.Moved = len(uids)
	return nil
}

// flush appends the outbox's entries not yet appended by this process.
// An entry whose answer was lost is appended again after a restart; the
// copy is recognised by its id and applied once.
func (s *Shared) flush(ctx context.Context, conn *mailbox.Conn, secret []byte, res *JournalResult) error {
	cl := conn.Client()
	list, err := s.js.Outbox(ctx)
	if err != nil {
		return err
	}
	for i := range list {
		e := &list[i]
		if s.appended[e.ID] {
			continue
		}
		raw, err := journal.Encode(e, secret)
		if err != nil {
			return err
		}
		cmd := cl.Append(s.jc.Mailbox, int64(len(raw)), &imap.AppendOptions{Time: e.At})
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return mailbox.ServerError(&s.sy.cfg, "APPEND", err)
		}
		if err := cmd.Close(); err != nil {
			return mailbox.ServerError(&s.sy.cfg, "APPEND", err)
		}
		data, err := cmd.Wait()
		if err != nil {
			return mailbox.ServerError(&s.sy.cfg, "APPEND", err)
		}
		s.appended[e.ID] = true
		res.Appended++
		if s.OnAppend != nil {
			s.OnAppend(e.ID, uint32(data.UID))
		}
	}
	return nil
}

// jitem is one mail of the journal folder on its way to the store.
type jitem struct {
	item
	entry   *app.JournalEntry
	invalid *journal.Invalid
}

// pull fetches the mails after the cursor in batches (fetching and
// parsing overlap with storing) and applies each batch in one
// transaction: the outbox taken out, the batch applied in UID order, the
// cursor saved, the outbox applied again on top.
func (s *Shared) pull(ctx context.Context, conn *mailbox.Conn, secret []byte, st *app.SyncState, refs []mailbox.Ref, res *JournalResult) error {
	n := s.BatchSize
	if n <= 0 {
		n = 1000
	}
	batches := splitBatches(refs, n, 32<<20)
	// Three stages overlap: batch k+2 is fetched while k+1 is parsed and
	// k applied.
	ch, stop := fetchAndParse(ctx, batches, 2, s.log, "journal",
		func(b []mailbox.Ref) ([]*jitem, error) { return s.fetchJournal(conn, b) },
		func(items []*jitem) { s.parseJournal(items, secret) })
	defer stop()
	var firstErr error
	for f := range ch {
		if f.err != nil {
			firstErr = f.err
			break
		}
		t0 := time.Now()
		if err := s.applyBatch(ctx, st, f.items, res); err != nil {
			firstErr = err
			break
		}
		s.log.Debug("journal batch applied", "mails", len(f.items), "took", time.Since(t0))
	}
	return firstErr
}

// fetchJournal downloads one batch: whole mails up to the size limit, the
// header only above it.
func (s *Shared) fetchJournal(conn *mailbox.Conn, refs []mailbox.Ref) ([]*jitem, error) {
	max := s.sy.limits.WithDefaults().MaxBytes
	var small, large []mailbox.Ref
	for _, r := range refs {
		if r.Size > max {
			large = append(large, r)
		} else {
			small = append(small, r)
		}
	}
	items, err := s.sy.fetchBatch(conn, small)
	if err != nil {
		return nil, err
	}
	byUID := map[uint32]*jitem{}
	for _, it := range items {
		byUID[it.ref.UID] = &jitem{item: *it}
	}
	if len(large) > 0 {
		hdrs, err := conn.FetchHeaders(large)
		if err != nil {
			return nil, err
		}
		for _, r := range large {
			if h, ok := hdrs[r.UID]; ok {
				byUID[r.UID] = &jitem{item: item{ref: r, d: s.sy.tooLarge(h, r)}}
			}
		}
	}
	out := make([]*jitem, 0, len(refs))
	for _, r := range refs {
		if it := byUID[r.UID]; it != nil {
			out = append(out, it)
		}
	}
	return out, nil
}

// parseJournal reads the batch on all cores: journal entries are
// authenticated, everything else parsed as a portal delivery.
func (s *Shared) parseJournal(items []*jitem, secret []byte) {
	allcores.Do(items, func(it *jitem) {
		if it.d != nil { // too large: header only
			return
		}
		it.key = contentKey(it.raw)
		e, err := journal.Decode(it.raw, secret)
		var inv *journal.Invalid
		switch {
		case err == nil:
			it.entry = e
		case errors.As(err, &inv):
			it.invalid = inv
		}
	})
	// Everything else is parsed as a portal delivery, the signatures
	// checked as a batch.
	var rest []*jitem
	var raws [][]byte
	for _, it := range items {
		if it.d == nil && it.entry == nil && it.invalid == nil {
			rest, raws = append(rest, it), append(raws, it.raw)
		}
	}
	for i, d := range delivery.ParseDeliveries(raws, s.sy.verifier, s.sy.limits) {
		rest[i].d = d
	}
}

func (s *Shared) applyBatch(ctx context.Context, st *app.SyncState, items []*jitem, res *JournalResult) error {
	if len(items) == 0 {
		return nil
	}
	var local JournalResult
	cursor := *st
	err := s.batcher.JournalBatch(ctx, func(tx app.JournalBatchStore) error {
		local = JournalResult{}
		js := tx
		ob, err := js.Outbox(ctx)
		if err != nil {
			return err
		}
		pending := len(ob) > 0
		if pending {
			if err := js.UndoPending(ctx); err != nil {
				return err
			}
		}
		for _, it := range items {
			uid := it.ref.UID
			switch {
			case it.entry != nil:
				o, err := js.ApplyEntry(ctx, uid, it.entry)
				if err != nil {
					return fmt.Errorf("apply journal entry %s: %w", it.entry.ID, err)
				}
				if o.State == app.JournalRejected {
					local.Rejected++
				} else {
					local.Entries++
				}
			case it.invalid != nil:
				inv := it.invalid
				mid := inv.MessageID
				if mid == "" {
					mid = fmt.Sprintf("journal-%d-%d", st.UIDValidity, uid)
				}
				ri := &app.ReviewItem{MessageID: mid, Subject: inv.Subject, From: inv.From, Reason: app.ReviewJournalInvalid,
					Detail: inv.Reason, ReceivedAt: it.ref.Date.UTC(), Size: it.ref.Size, Raw: it.raw}
				if err := tx.AddReview(app.WithTime(ctx, it.ref.Date), ri, nil); err != nil {
					return fmt.Errorf("keep invalid journal entry: %w", err)
				}
				local.Invalid++
			default:
				local.Portal.Mails++
				if _, err := s.sy.storeOne(app.WithTime(ctx, it.ref.Date), tx, nil, &cursor, &it.item, &mover{}, &local.Portal); err != nil {
					return err
				}
			}
		}
		st2 := cursor
		st2.LastUID = items[len(items)-1].ref.UID
		st2.LastRun = s.Now().UTC()
		st2.LastError, st2.LastResult = "", ""
		if err := tx.SaveSyncState(ctx, &st2); err != nil {
			return err
		}
		if pending {
			return js.RedoPending(ctx)
		}
		return nil
	})
	if err != nil {
		return err
	}
	st.LastUID = items[len(items)-1].ref.UID
	res.LastUID = st.LastUID
	res.Entries += local.Entries
	res.Rejected += local.Rejected
	res.Invalid += local.Invalid
	res.Portal.Mails += local.Portal.Mails
	res.Portal.add(&local.Portal)
	return nil
}

// --- Watching: IDLE on the journal, polling as fallback ---

// Watch keeps the counter up to date until ctx ends: it syncs, then waits
// in IMAP IDLE on the journal folder (on a connection of its own) until
// the server reports new mail, a local change asks for it (Kick), or the
// poll interval ([journal] poll_seconds) ends; without the server or
// without IDLE it syncs at the poll interval. intakeEvery > 0 also moves
// the portal's deliveries into the journal at that interval.
func (s *Shared) Watch(ctx context.Context, intakeEvery time.Duration) {
	poll := time.Duration(s.jc.PollSeconds) * time.Second
	if poll <= 0 {
		poll = 30 * time.Second
	}
	var w *watcher
	defer func() {
		if w != nil {
			w.conn.Close()
		}
	}()
	var lastIntake time.Time
	for ctx.Err() == nil {
		intake := intakeEvery > 0 && time.Since(lastIntake) >= intakeEvery
		if _, err := s.Sync(ctx, intake); err == nil && intake {
			lastIntake = time.Now()
		}
		if w == nil {
			var err error
			if w, err = s.openWatch(ctx); err != nil {
				s.log.Debug("watch", "err", err)
				w = nil
			}
		}
		if w != nil {
			if err := w.wait(ctx, s.kick, poll); err != nil {
				s.log.Debug("idle", "err", err)
				w.conn.Close()
				w = nil
			}
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.kick:
		case <-time.After(poll):
		}
	}
}

// Kick asks Watch to sync now (e.g. after a change went to the outbox
// while the server was away).
func (s *Shared) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// watcher is the IDLE connection on the journal folder.
type watcher struct {
	conn *mailbox.Conn
	wake chan struct{}
}

func (s *Shared) openWatch(ctx context.Context) (*watcher, error) {
	w := &watcher{wake: make(chan struct{}, 1)}
	var mu gosync.Mutex
	var known uint32
	handler := &imapclient.UnilateralDataHandler{Mailbox: func(d *imapclient.UnilateralDataMailbox) {
		if d.NumMessages == nil {
			return
		}
		mu.Lock()
		grew := *d.NumMessages > known
		known = *d.NumMessages
		mu.Unlock()
		if grew {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}}
	pw := s.sy.Password
	if pw == nil {
		pw = func() (string, error) { return mailbox.Password(&s.sy.cfg) }
	}
	p, err := pw()
	if err != nil {
		return nil, err
	}
	conn, err := mailbox.Dial(ctx, &s.sy.cfg, p, &mailbox.DialOptions{Handler: handler})
	if err != nil {
		return nil, err
	}
	if !conn.CanIdle() {
		conn.Close()
		return nil, errors.New("server without IDLE")
	}
	sel, err := conn.Select(s.jc.Mailbox, true)
	if err != nil {
		conn.Close()
		return nil, err
	}
	mu.Lock()
	if sel.NumMessages > known {
		known = sel.NumMessages
	}
	mu.Unlock()
	w.conn = conn
	return w, nil
}

// wait idles until the folder grows, a kick, or the poll interval. Mail
// that arrived since the last wait is reported by the server when IDLE
// starts.
func (w *watcher) wait(ctx context.Context, kick chan struct{}, poll time.Duration) error {
	stop := context.AfterFunc(ctx, func() { w.conn.Close() })
	defer stop()
	cmd, err := w.conn.Client().Idle()
	if err != nil {
		return err
	}
	timer := time.NewTimer(poll)
	select {
	case <-w.wake:
	case <-kick:
	case <-timer.C:
	case <-ctx.Done():
	}
	timer.Stop()
	if err := cmd.Close(); err != nil {
		return err
	}
	return cmd.Wait()
}

// --- The store for the window: changes go through the journal ---

// submit queues e (shown at once), then appends and syncs, waiting at
// most SubmitTimeout. A change the journal order rejects comes back as
// its error (ECONFLICT: who has the case); without the server the change
// stays pending and nil is returned.
func (s *Shared) submit(ctx context.Context, e *app.JournalEntry) (*app.Case, *app.JournalOutcome, error) {
	e.V, e.ID, e.At, e.Counter = app.JournalVersion, journal.NewID(), s.Now().UTC(), s.jc.Counter
	c, err := s.js.QueueChange(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	offline := time.Now().Before(s.offlineUntil)
	s.mu.Unlock()
	if offline {
		// The server did not answer a moment ago: do not make every
		// click wait; Watch appends when it is back.
		s.Kick()
	} else {
		tctx, cancel := context.WithTimeout(ctx, s.SubmitTimeout)
		_, serr := s.Sync(tctx, false)
		cancel()
		if serr != nil {
			s.Kick()
		}
	}
	o, err := s.js.EntryOutcome(ctx, e.ID)
	if err != nil {
		return c, nil, err
	}
	if o.State == app.JournalRejected {
		s.js.MarkSeen(ctx, []string{e.ID}) // the clerk is told right here
		return nil, o, o.Err()
	}
	return c, o, nil
}

func (s *Shared) caseEntry(ctx context.Context, op app.JournalOp, ref string, by app.Actor) (*app.JournalEntry, error) {
	key, current, err := s.js.CaseKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &app.JournalEntry{Op: op, Case: key, Ref: current, Clerk: by.Clerk, Office: by.Office}, nil
}

func (s *Shared) change(ctx context.Context, op app.JournalOp, ref string, by app.Actor, fill func(e *app.JournalEntry)) error {
	e, err := s.caseEntry(ctx, op, ref, by)
	if err != nil {
		return err
	}
	if fill != nil {
		fill(e)
	}
	_, _, err = s.submit(ctx, e)
	return err
}

// CreateCase records a walk-in case through the journal; it gets its
// number in journal order (right away when the server answers, else a
// provisional one, see app.ProvisionalRef). Portal cases only come from
// the journal itself.
func (s *Shared) CreateCase(ctx context.Context, nc *app.NewCase, rc *app.Receipt) (*app.Case, bool, error) {
	if nc == nil || nc.Channel != app.ChannelCounter || rc != nil {
		return s.Store.CreateCase(ctx, nc, rc)
	}
	n := *nc
	if n.IdempotencyKey == "" {
		n.IdempotencyKey = journal.NewID()
	}
	for _, a := range n.Attachments {
		if a.Data != nil {
			return nil, false, app.Errorf(app.EINVALID, "Anlagen können mit dem gemeinsamen Journal am Tresen nicht gespeichert werden.")
		}
	}
	e := &app.JournalEntry{Op: app.OpCreate, Case: n.IdempotencyKey, Clerk: n.Clerk, NewCase: &n}
	if e.Clerk == "" {
		e.Clerk = "tresen"
	}
	if before, err := s.js.CaseByKey(ctx, n.IdempotencyKey); err == nil {
		return before, false, nil // the same form saved twice
	}
	c, o, err := s.submit(ctx, e)
	if err != nil {
		return nil, false, err
	}
	if o != nil && o.State == app.JournalApplied && o.Ref != "" {
		if fc, err := s.Store.CaseByRef(ctx, o.Ref); err == nil {
			c = fc
		}
	}
	return c, true, nil
}

// Claim implements app.CaseStore through the journal.
func (s *Shared) Claim(ctx context.Context, ref string, by app.Actor) error {
	return s.change(ctx, app.OpClaim, ref, by, nil)
}

// Release implements app.CaseStore through the journal.
func (s *Shared) Release(ctx context.Context, ref string, by app.Actor) error {
	return s.change(ctx, app.OpRelease, ref, by, nil)
}

// SetStatus implements app.CaseStore through the journal.
func (s *Shared) SetStatus(ctx context.Context, ref string, to app.Status, reason string, by app.Actor) error {
	return s.change(ctx, app.OpStatus, ref, by, func(e *app.JournalEntry) { e.Status, e.Reason = to, strings.TrimSpace(reason) })
}

// Forward implements app.CaseStore through the journal.
func (s *Shared) Forward(ctx context.Context, ref string, to app.OfficeKey, reason string, by app.Actor) error {
	return s.change(ctx, app.OpForward, ref, by, func(e *app.JournalEntry) { e.To, e.Reason = to, strings.TrimSpace(reason) })
}

// AddNote implements app.CaseStore through the journal.
func (s *Shared) AddNote(ctx context.Context, ref string, text string, by app.Actor) error {
	return s.change(ctx, app.OpNote, ref, by, func(e *app.JournalEntry) { e.Text = strings.TrimSpace(text) })
}

// ResolveReview implements app.ReviewStore through the journal.
func (s *Shared) ResolveReview(ctx context.Context, id int64, resolution, note string, by app.Actor) error {
	k, err := s.js.ReviewKey(ctx, id)
	if err != nil {
		return err
	}
	_, _, err = s.submit(ctx, &app.JournalEntry{Op: app.OpResolve, Review: k, Resolution: strings.TrimSpace(resolution),
		Text: strings.TrimSpace(note), Clerk: by.Clerk, Office: by.Office})
	return err
}

// FindPerson forwards the Art. 15 search to the database (app.PersonFinder).
func (s *Shared) FindPerson(ctx context.Context, q app.PersonQuery) (*app.PersonData, error) {
	return s.finder.FindPerson(ctx, q)
}

// Notices returns this counter's changes that lost in journal order and
// were not shown yet (changes made offline), and marks them shown.
func (s *Shared) Notices(ctx context.Context) ([]app.JournalOutcome, error) {
	list, err := s.js.Rejections(ctx, s.jc.Counter, true)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, o := range list {
		ids[i] = o.EntryID
	}
	return list, s.js.MarkSeen(ctx, ids)
}

// Run implements the window's Syncer: the portal's deliveries moved in
// and the journal applied.
func (s *Shared) Run(ctx context.Context, progress func(done, total int)) (string, error) {
	res, err := s.Sync(ctx, true)
	if err != nil {
		return "", err
	}
	return res.Summary(), nil
}

// LastState implements the window's Syncer: the journal's state.
func (s *Shared) LastState(ctx context.Context) (*app.SyncState, error) {
	st, err := s.Store.SyncState(ctx, s.jc.Mailbox)
	if err != nil && app.ErrorCode(err) == app.ENOTFOUND {
		return nil, nil
	}
	return st, err
}

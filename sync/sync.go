package sync

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"amtstresen/app"
	"amtstresen/sync/internal/edbatch"
)

// Syncer takes the portal's deliveries in. It is safe for concurrent use;
// runs never overlap (a second Run waits for the first).
type Syncer struct {
	cfg app.IMAPConfig
	// verifier checks the portal's signatures (its public key), a batch
	// at a time.
	verifier *edbatch.Verifier
	store    app.Store
	reg      *app.Registry
	log      *slog.Logger
	limits   Limits

	// BatchSize is the number of mails fetched, stored and moved together.
	BatchSize int
	// Password overrides the keyring and password_env (demo, tests).
	Password func() (string, error)
	// Now is the clock (tests).
	Now func() time.Time

	mu gosync.Mutex
}

// Result counts what one run did.
type Result struct {
	Mails        int // mails looked at
	Cases        int // new cases
	Duplicates   int // re-deliveries of an existing case
	Messages     int // citizens' messages added
	Withdrawals  int
	Appointments int // bookings applied (booked, moved, cancelled)
	Stale        int // appointment messages older than what is stored
	Review       int // mails put on the review list
	Recovered    int // mails taken in by an earlier, interrupted run, only moved now
	Moved        int
	Kept         int // mails left in the inbox (server without MOVE/UIDPLUS)
	Duration     time.Duration
}

// Summary is the German one-line result for the clerk.
func (r *Result) Summary() string {
	if r.Mails == 0 {
		return "keine neuen Sendungen"
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
	add(r.Appointments, "Termin", "Termine")
	add(r.Stale, "veraltete Terminmeldung", "veraltete Terminmeldungen")
	add(r.Review, "Mail zur Sichtung", "Mails zur Sichtung")
	add(r.Recovered, "Mail nachträglich abgelegt", "Mails nachträglich abgelegt")
	if len(parts) == 0 {
		return fmt.Sprintf("%d Mails geprüft", r.Mails)
	}
	return strings.Join(parts, ", ")
}

// New checks the configuration and returns a Syncer. The password is read
// at each run, not here.
func New(cfg *app.Config, store app.Store, reg *app.Registry, logger *slog.Logger) (*Syncer, error) {
	c := *cfg
	c.Defaults()
	if err := checkIMAPConfig(&c.IMAP); err != nil {
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
		limits: Limits{MaxBytes: c.IMAP.MaxMessageBytes}, BatchSize: 500, Now: time.Now}, nil
}

// portalKey reads [portal] public_key (base64, 32 bytes, a point of the
// curve) into the verifier of the portal's signatures.
func portalKey(s string) (*edbatch.Verifier, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, app.Errorf(app.EINVALID, "In der Konfiguration fehlt [portal] public_key, der öffentliche Schlüssel des Bürgerportals. Ohne ihn kann keine Sendung geprüft werden.")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	var v *edbatch.Verifier
	if err == nil {
		v, err = edbatch.NewVerifier(b)
	}
	if err != nil {
		return nil, app.Errorf(app.EINVALID, "[portal] public_key ist kein gültiger Ed25519-Schlüssel (erwartet: 32 Bytes in Base64). Bitte den Schlüssel aus der Dokumentation des Bürgerportals eintragen.")
	}
	return v, nil
}

// relaxGC lets the heap grow to three times its live size (GOGC=200)
// while a sync runs, until the last one ends. A sync allocates fast (the
// mails, their parts); at the default of 100 the collector ran every few
// megabytes, and its assist work fell on the one goroutine that writes
// too: the full sync of make bench-sync took 5–15 % longer. An explicit
// GOGC in the environment is left alone.
func relaxGC() (restore func()) {
	gcMu.Lock()
	defer gcMu.Unlock()
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	if gcUsers == 0 {
		gcPrev = debug.SetGCPercent(200)
	}
	gcUsers++
	return func() {
		gcMu.Lock()
		defer gcMu.Unlock()
		if gcUsers--; gcUsers == 0 {
			debug.SetGCPercent(gcPrev)
		}
	}
}

var (
	gcMu    gosync.Mutex
	gcUsers int
	gcPrev  int
)

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

// Sync runs once: every mail in the inbox is taken in exactly once and
// then filed. On error nothing is half-written: what was committed is
// complete and its mails are filed (or will be on the next run).
func (s *Syncer) Sync(ctx context.Context, progress func(done, total int)) (*Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer relaxGC()()
	if progress == nil {
		progress = func(int, int) {}
	}
	start := s.Now()
	res := &Result{}
	err := s.run(ctx, res, progress)
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
		s.log.Info("sync done", "mails", res.Mails, "cases", res.Cases, "review", res.Review, "took", res.Duration)
	}
	if serr := s.store.SaveSyncState(context.WithoutCancel(ctx), st); serr != nil && err == nil {
		err = serr
	}
	return res, err
}

// mailRef is a mail in the inbox as listed before download.
type mailRef struct {
	uid       imap.UID
	size      int64
	date      time.Time
	messageID string
}

// item is a downloaded and parsed mail on its way to the store.
type item struct {
	ref mailRef
	raw []byte
	d   *Delivery
	nc  *app.NewCase // an application's case, routed while parsing
}

func (s *Syncer) run(ctx context.Context, res *Result, progress func(done, total int)) error {
	pw := s.Password
	if pw == nil {
		pw = func() (string, error) { return password(&s.cfg) }
	}
	secret, err := pw()
	if err != nil {
		return err
	}
	cl, err := dial(ctx, &s.cfg, secret, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	err = s.session(ctx, cl, res, progress)
	if err == nil {
		cl.Logout().Wait()
	}
	if ctx.Err() != nil && err != nil {
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: "Der Portal-Abgleich wurde abgebrochen. Bereits übernommene Sendungen bleiben erhalten; der Rest folgt beim nächsten Abgleich."}
	}
	return err
}

func (s *Syncer) session(ctx context.Context, cl *imapclient.Client, res *Result, progress func(done, total int)) error {
	c := &s.cfg
	sel, err := cl.Select(c.Mailbox, &imap.SelectOptions{}).Wait()
	if err != nil {
		return serverError(c, "SELECT "+c.Mailbox, err)
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
	// 1. List what is there: UID, size, date, Message-ID; nothing large yet.
	tList := time.Now()
	refs, err := s.list(cl, st.LastUID)
	s.log.Debug("listed", "mails", len(refs), "took", time.Since(tList))
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return nil
	}
	if err := s.ensureMailboxes(cl); err != nil {
		return err
	}
	res.Mails = len(refs)
	progress(0, len(refs))
	canMove := cl.Caps().Has(imap.CapMove)
	canUIDExpunge := cl.Caps().Has(imap.CapUIDPlus)
	mv := &mover{s: s, cl: cl, move: canMove, uidExpunge: canUIDExpunge, res: res}

	// 2. Too large: headers only, straight to review.
	var small []mailRef
	var large []mailRef
	for _, r := range refs {
		if r.size > s.limits.withDefaults().MaxBytes {
			large = append(large, r)
		} else {
			small = append(small, r)
		}
	}
	done := 0
	if len(large) > 0 {
		if err := s.takeLarge(ctx, cl, st, large, mv, res); err != nil {
			return err
		}
		done += len(large)
		progress(done, len(refs))
	}

	// 3. Download in batches, parse in parallel, store in UID order, and
	// file each batch on the server after its commits. The stages overlap:
	// while batch k is stored, k+1 is parsed and k+2 fetched; the MOVE of
	// batch k runs on the server while k+1 is stored.
	batches := splitBatches(small, s.batchSize(), 32<<20)
	parsed, stop := fetchAndParse(ctx, batches, 1, s.log, "portal",
		func(b []mailRef) ([]*item, error) { return s.fetchBatch(cl, b) }, s.parseAll)
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
		if err == nil && cursor > st.LastUID {
			st.LastUID = cursor
			err = s.store.SaveSyncState(ctx, st)
		}
		return err
	}
	var firstErr error
	for f := range parsed {
		if f.err != nil {
			firstErr = f.err
			break
		}
		t0 := time.Now()
		stored, err := s.storeBatch(ctx, st, f.items, mv, res, func() {
			done++
			progress(done, len(refs))
		})
		s.log.Debug("stored", "mails", len(stored), "took", time.Since(t0))
		if serr := settle(); serr != nil && err == nil {
			err = serr
		}
		// File what was committed, even when the batch stopped early, as
		// soon as it is on disk; meanwhile the next batch is stored.
		waitMove = mv.flushAfter(s.durable())
		cursor = 0
		if err == nil && len(stored) == len(f.items) && len(f.items) > 0 {
			cursor = uint32(f.items[len(f.items)-1].ref.uid)
		}
		if err != nil {
			firstErr = err
			break
		}
	}
	if serr := settle(); serr != nil && firstErr == nil {
		firstErr = serr
	}
	return firstErr
}

// batchResult is one batch after fetching and parsing.
type batchResult[T any] struct {
	items []T
	err   error
}

// fetchAndParse runs the first two stages of an intake in goroutines:
// batch k+1 is fetched on the IMAP connection while batch k is parsed on
// all cores and the caller stores batch k-1 from the channel, in order
// (depth batches may wait between stages). A fetch error is the last
// result. stop ends the stages and waits until they let go of the
// connection.
func fetchAndParse[T any](ctx context.Context, batches [][]mailRef, depth int, log *slog.Logger, what string,
	fetch func([]mailRef) ([]T, error), parse func([]T)) (<-chan batchResult[T], func()) {
	fctx, cancel := context.WithCancel(ctx)
	raw := make(chan batchResult[T], depth)
	parsed := make(chan batchResult[T], depth)
	send := func(ch chan batchResult[T], f batchResult[T]) bool {
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
			log.Debug("fetched", "what", what, "mails", len(b), "took", time.Since(t0))
			if !send(raw, batchResult[T]{items, err}) || err != nil {
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
				log.Debug("parsed", "what", what, "mails", len(f.items), "took", time.Since(t0))
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
func splitBatches(refs []mailRef, n int, maxBytes int64) [][]mailRef {
	var out [][]mailRef
	var cur []mailRef
	var size int64
	for _, r := range refs {
		limit := n
		if len(out) == 0 {
			limit = max(1, n/5)
		}
		if len(cur) > 0 && (len(cur) >= limit || size+r.size > maxBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, r)
		size += r.size
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

var messageIDSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}

// list fetches UID, size, internal date and Message-ID of every mail above
// the cursor.
func (s *Syncer) list(cl *imapclient.Client, lastUID uint32) ([]mailRef, error) {
	var set imap.UIDSet
	set.AddRange(imap.UID(lastUID+1), 0)
	cmd := cl.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true})
	var refs []mailRef
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var r mailRef
		for {
			it := msg.Next()
			if it == nil {
				break
			}
			switch it := it.(type) {
			case imapclient.FetchItemDataUID:
				r.uid = it.UID
			case imapclient.FetchItemDataRFC822Size:
				r.size = it.Size
			case imapclient.FetchItemDataInternalDate:
				r.date = it.Time
			case imapclient.FetchItemDataBodySection:
				b, _ := io.ReadAll(io.LimitReader(it.Literal, 64<<10))
				r.messageID = messageIDFromHeader(b)
			}
		}
		// "n:*" also returns the last mail when n is above every UID.
		if uint32(r.uid) > lastUID {
			refs = append(refs, r)
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, serverError(&s.cfg, "FETCH", err)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].uid < refs[j].uid })
	return refs, nil
}

func messageIDFromHeader(b []byte) string {
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n ", " "), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "Message-ID") {
			return normalizeMessageID(v)
		}
	}
	return ""
}

// fetchBatch downloads the mails of one batch (BODY.PEEK[]: the \Seen flag
// stays as it is).
func (s *Syncer) fetchBatch(cl *imapclient.Client, refs []mailRef) ([]*item, error) {
	var set imap.UIDSet
	byUID := make(map[imap.UID]*item, len(refs))
	items := make([]*item, len(refs))
	for i, r := range refs {
		set.AddNum(r.uid)
		items[i] = &item{ref: r}
		byUID[r.uid] = items[i]
	}
	whole := &imap.FetchItemBodySection{Peek: true}
	cmd := cl.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{whole}})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		var body []byte
		for {
			it := msg.Next()
			if it == nil {
				break
			}
			switch it := it.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				b, err := readLiteral(it.Literal, s.limits.withDefaults().MaxBytes)
				if err != nil {
					cmd.Close()
					return nil, serverError(&s.cfg, "FETCH", err)
				}
				body = b
			}
		}
		if it := byUID[uid]; it != nil && body != nil {
			it.raw = body
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, serverError(&s.cfg, "FETCH", err)
	}
	// A mail that vanished meanwhile (moved by someone else) is skipped.
	out := items[:0]
	for _, it := range items {
		if it.raw != nil {
			out = append(out, it)
		}
	}
	return out, nil
}

// readLiteral reads a literal of known size in one allocation.
func readLiteral(l imap.LiteralReader, max int64) ([]byte, error) {
	n := l.Size()
	if n < 0 || n > max {
		n = max
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(l, buf)
	if err == io.ErrUnexpectedEOF {
		return buf[:k], nil
	}
	if err != nil {
		return nil, err
	}
	// Drain whatever is left beyond the limit.
	io.Copy(io.Discard, l)
	return buf, nil
}

// parseAll parses the batch on all cores.
func (s *Syncer) parseAll(items []*item) {
	raws := make([][]byte, len(items))
	for i, it := range items {
		raws[i] = it.raw
	}
	var apps []*item
	for i, d := range ParseDeliveries(raws, s.verifier, s.limits) {
		items[i].d = d
		if d.Review == "" && d.Kind == KindAntrag {
			apps = append(apps, items[i])
		}
	}
	// Routing reads the applicant and the form, the store checks and
	// encodes the case: done here, on all cores, not in the store's one
	// goroutine.
	prep, _ := s.store.(casePreparer)
	onAllCores(apps, func(it *item) {
		it.nc = s.newCase(it.d, it.received(s.Now()))
		if prep != nil {
			prep.PrepareCase(it.nc)
		}
	})
}

// casePreparer is a store that can do the work of CreateCase that needs
// no database in advance (storage.DB).
type casePreparer interface {
	PrepareCase(nc *app.NewCase)
}

// received is when an application came in: its own time, else the
// mail's, else now.
func (it *item) received(now time.Time) time.Time {
	return receivedAt(time.Time{}, it.d.Antrag.ReceivedAt(), receivedAt(it.ref.date, it.d.Date, now))
}

// onAllCores calls fn for every item, on as many goroutines as there are
// cores, and returns when all are done.
func onAllCores[T any](items []T, fn func(T)) {
	var wg gosync.WaitGroup
	next := make(chan T)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range next {
				fn(it)
			}
		}()
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	wg.Wait()
}

// takeLarge puts mails over the size limit on the review list with their
// header only.
func (s *Syncer) takeLarge(ctx context.Context, cl *imapclient.Client, st *app.SyncState, refs []mailRef, mv *mover, res *Result) error {
	hdrs, err := s.fetchHeaders(cl, refs)
	if err != nil {
		return err
	}
	for _, r := range refs {
		it := &item{ref: r, d: s.tooLarge(hdrs[r.uid], r)}
		if _, err := s.storeOne(ctx, s.store, st, it, mv, res); err != nil {
			mv.flushAfter(s.durable())()
			return err
		}
	}
	return mv.flushAfter(s.durable())()
}

// fetchHeaders fetches only the header of each mail: a mail over the size
// limit is never downloaded whole.
func (s *Syncer) fetchHeaders(cl *imapclient.Client, refs []mailRef) (map[imap.UID][]byte, error) {
	var set imap.UIDSet
	for _, r := range refs {
		set.AddNum(r.uid)
	}
	hdrs := map[imap.UID][]byte{}
	sec := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	cmd := cl.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		var hdr []byte
		for {
			it := msg.Next()
			if it == nil {
				break
			}
			switch it := it.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				hdr, _ = io.ReadAll(io.LimitReader(it.Literal, 1<<20))
			}
		}
		hdrs[uid] = hdr
	}
	if err := cmd.Close(); err != nil {
		return nil, serverError(&s.cfg, "FETCH", err)
	}
	return hdrs, nil
}

// tooLarge is the review entry of a mail over the size limit, read from
// its header.
func (s *Syncer) tooLarge(hdr []byte, r mailRef) *Delivery {
	d := ParseHeaderOnly(hdr, r.size)
	d.Detail = fmt.Sprintf("Größe %d Bytes über der Grenze von %d Bytes", r.size, s.limits.withDefaults().MaxBytes)
	return d
}

// Batcher is implemented by a store that can group the changes of several
// mails into one transaction: one commit per batch instead of one per
// mail. The calls on tx carry their receipts as usual; when fn returns an
// error nothing of the batch is committed. Storage may offer it; the sync
// uses it when present.
type Batcher interface {
	Batch(ctx context.Context, fn func(tx app.Store) error) error
}

// storeBatch stores the items in order; it stops at the first error and
// returns the items committed so far. With a Batcher the whole batch is
// one transaction; if that fails, the batch is retried mail by mail (each
// in a transaction of its own) so that one bad mail cannot hold back the
// others. A mail is queued for filing only after its commit.
func (s *Syncer) storeBatch(ctx context.Context, st *app.SyncState, items []*item, mv *mover, res *Result, tick func()) ([]*item, error) {
	b, batcher := s.store.(Batcher)
	if batcher && len(items) > 1 {
		err := s.storeTogether(ctx, b, st, items, mv, res)
		if err == nil {
			for range items {
				tick()
			}
			return items, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		s.log.Warn("batch failed, retrying mail by mail", "err", err)
	}
	var stored []*item
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return stored, err
		}
		var err error
		if batcher {
			// A batch of one: committed durably before the mail is filed.
			err = s.storeTogether(ctx, b, st, []*item{it}, mv, res)
		} else {
			_, err = s.storeOne(ctx, s.store, st, it, mv, res)
		}
		if err != nil {
			return stored, err
		}
		stored = append(stored, it)
		tick()
	}
	return stored, nil
}

// storeTogether stores the items in one transaction of b. What is to be
// filed and counted is handed to mv and res only after the commit.
func (s *Syncer) storeTogether(ctx context.Context, b Batcher, st *app.SyncState, items []*item, mv *mover, res *Result) error {
	local := &mover{}
	lres := &Result{}
	err := b.Batch(ctx, func(tx app.Store) error {
		local.pending, local.order, *lres = nil, nil, Result{}
		if pl, ok := tx.(processedLister); ok && len(items) > 1 {
			ids := make([]string, 0, len(items))
			for _, it := range items {
				if it.d.MessageID != "" {
					ids = append(ids, it.d.MessageID)
				}
			}
			known, err := pl.ProcessedAmong(ctx, ids)
			if err != nil {
				return err
			}
			tx = &receipts{Store: tx, known: known}
		}
		for _, it := range items {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := s.storeOne(ctx, tx, st, it, local, lres); err != nil {
				return err
			}
			if r, ok := tx.(*receipts); ok && it.d.MessageID != "" {
				r.known[it.d.MessageID] = true // a copy later in the batch is a repeat
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, dest := range local.order {
		for _, r := range *local.pending[dest] {
			for u := r.Start; u <= r.Stop; u++ {
				mv.add(dest, u)
			}
		}
	}
	res.add(lres)
	return nil
}

// processedLister is a store that looks up the receipts of a whole batch
// at once (storage.DB).
type processedLister interface {
	ProcessedAmong(ctx context.Context, messageIDs []string) (map[string]bool, error)
}

// receipts answers Processed from the receipts looked up for the batch
// and those the batch has recorded since; everything else goes to Store.
type receipts struct {
	app.Store
	known map[string]bool
}

func (r *receipts) Processed(ctx context.Context, messageID string) (bool, error) {
	return r.known[messageID], nil
}

func (r *Result) add(o *Result) {
	r.Cases += o.Cases
	r.Duplicates += o.Duplicates
	r.Messages += o.Messages
	r.Withdrawals += o.Withdrawals
	r.Appointments += o.Appointments
	r.Stale += o.Stale
	r.Review += o.Review
	r.Recovered += o.Recovered
}

// storeOne takes one mail in. Each store call carries the receipt so that
// the mail is recorded as processed in the same transaction as its effect.
// The mail is queued for filing on the server only after that commit.
func (s *Syncer) storeOne(ctx context.Context, store app.Store, st *app.SyncState, it *item, mv *mover, res *Result) (string, error) {
	d := it.d
	if it.ref.messageID != "" && d.MessageID != it.ref.messageID && d.Review == app.ReviewTooLarge {
		d.MessageID = it.ref.messageID
	}
	rc := &app.Receipt{Mailbox: s.cfg.Mailbox, UIDValidity: st.UIDValidity, UID: uint32(it.ref.uid), MessageID: d.MessageID, Kind: d.Kind}
	done, err := store.Processed(ctx, d.MessageID)
	if err != nil {
		return "", err
	}
	if done {
		// Taken in by an earlier run that stopped before filing the mail.
		dest := s.cfg.ProcessedMailbox
		if d.Review != "" || caseUnknown(ctx, store, d) {
			dest = s.cfg.ReviewMailbox
		}
		res.Recovered++
		mv.add(dest, it.ref.uid)
		return dest, nil
	}
	review := func(reason app.ReviewReason, detail string) (string, error) {
		rc.Kind = KindReview
		ri := &app.ReviewItem{MessageID: d.MessageID, Subject: d.Subject, From: d.From, Reason: reason, Detail: detail,
			ReceivedAt: receivedAt(it.ref.date, d.Date, s.now(ctx)), Size: it.ref.size, Raw: it.raw, PortalCase: d.Vorgang}
		if ri.Size == 0 {
			ri.Size = int64(len(it.raw))
		}
		if err := store.AddReview(ctx, ri, rc); err != nil {
			return "", fmt.Errorf("add review: %w", err)
		}
		res.Review++
		mv.add(s.cfg.ReviewMailbox, it.ref.uid)
		return s.cfg.ReviewMailbox, nil
	}
	if d.Review != "" {
		return review(d.Review, d.Detail)
	}
	switch d.Kind {
	case KindAntrag:
		nc := it.nc
		if nc == nil {
			nc = s.newCase(d, it.received(s.now(ctx)))
		}
		_, created, err := store.CreateCase(ctx, nc, rc)
		if err != nil {
			if rv, ok := reviewable(err); ok {
				return review(app.ReviewPayloadInvalid, rv)
			}
			return "", fmt.Errorf("create case: %w", err)
		}
		if created {
			res.Cases++
		} else {
			res.Duplicates++
		}
	case KindNachricht, KindRuecknahme:
		// A message for a case not here: the store answers ENOTFOUND.
		if d.Kind == KindNachricht {
			at := d.Message.SentAt()
			if at.IsZero() {
				at = receivedAt(it.ref.date, d.Date, s.now(ctx))
			}
			n := &app.Note{At: at.UTC(), Author: "Bürger", Kind: "message", Text: d.Message.Text}
			for _, f := range d.Files {
				n.Attachments = append(n.Attachments, f.Attachment)
			}
			err = store.AddMessage(ctx, d.Vorgang, d.Key(), n, d.Files, rc)
		} else {
			err = store.Withdraw(ctx, d.Vorgang, d.Message.Text, rc)
		}
		if err != nil {
			if app.ErrorCode(err) == app.ENOTFOUND {
				return review(app.ReviewCaseUnknown, "kein Vorgang "+d.Vorgang)
			}
			if rv, ok := reviewable(err); ok {
				return review(app.ReviewPayloadInvalid, rv)
			}
			return "", fmt.Errorf("%s: %w", d.Kind, err)
		}
		if d.Kind == KindNachricht {
			res.Messages++
		} else {
			res.Withdrawals++
		}
	case KindTermin:
		a := *d.Appointment
		if s.reg != nil && s.reg.Office(a.Office) == nil {
			a.Office = ""
		}
		a.UpdatedAt = s.now(ctx).UTC()
		applied, err := store.ApplyAppointment(ctx, &a, rc)
		if err != nil {
			if rv, ok := reviewable(err); ok {
				return review(app.ReviewPayloadInvalid, rv)
			}
			return "", fmt.Errorf("apply appointment: %w", err)
		}
		if applied {
			res.Appointments++
		} else {
			res.Stale++
		}
	default:
		return review(app.ReviewPayloadInvalid, "unbekannte Art")
	}
	mv.add(s.cfg.ProcessedMailbox, it.ref.uid)
	return s.cfg.ProcessedMailbox, nil
}

// reviewable reports whether a store error is about this one mail (invalid
// data, a conflict) rather than the store itself; such a mail goes to the
// review list instead of stopping the sync for good.
func reviewable(err error) (string, bool) {
	switch app.ErrorCode(err) {
	case app.EINVALID, app.ECONFLICT:
		return cleanText(app.ErrorMessage(err), 300), true
	}
	return "", false
}

func caseUnknown(ctx context.Context, store app.Store, d *Delivery) bool {
	if d.Kind != KindNachricht && d.Kind != KindRuecknahme {
		return false
	}
	c, err := store.CaseByPortalID(ctx, d.Vorgang)
	return c == nil && (err == nil || app.ErrorCode(err) == app.ENOTFOUND)
}

// now is the clock for a mail: the time set with app.WithTime (a mail
// applied from the shared journal, the same on every counter), else Now.
func (s *Syncer) now(ctx context.Context) time.Time {
	if t, ok := app.TimeFrom(ctx); ok {
		return t
	}
	return s.Now()
}

func receivedAt(first, second, fallback time.Time) time.Time {
	switch {
	case !first.IsZero():
		return first.UTC()
	case !second.IsZero():
		return second.UTC()
	}
	return fallback.UTC()
}

// newCase builds the case of an application: routed by the catalog's
// rules, flagged for attachment problems; the JSON is kept whole.
func (s *Syncer) newCase(d *Delivery, received time.Time) *app.NewCase {
	a := d.Antrag
	var fields map[string]any
	if len(a.Angaben) > 0 {
		_ = json.Unmarshal(a.Angaben, &fields)
	}
	angaben := a.Angaben
	if len(angaben) == 0 || string(angaben) == "null" {
		angaben = json.RawMessage("{}")
	}
	var dec app.Decision
	if s.reg != nil {
		dec = s.reg.Route(app.RouteInput{Service: a.Leistung.Schluessel, Applicant: a.Antragsteller, Fields: fields})
	}
	flags := append([]app.Flag{}, dec.Flags...)
	for _, f := range d.Flags {
		if !hasFlag(flags, f) {
			flags = append(flags, f)
		}
	}
	return &app.NewCase{IdempotencyKey: a.Vorgang, Channel: app.ChannelPortal, Service: a.Leistung.Schluessel,
		PortalCase: a.Vorgang, Applicant: a.Antragsteller, Fields: angaben, Raw: json.RawMessage(d.Payload),
		Attachments: d.Files, Flags: flags, Routing: dec, ReceivedAt: received, Clerk: app.PortalActor.Clerk}
}

func hasFlag(list []app.Flag, f app.Flag) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// ensureMailboxes creates the processed and review folders if missing.
func (s *Syncer) ensureMailboxes(cl *imapclient.Client) error {
	for _, name := range []string{s.cfg.ProcessedMailbox, s.cfg.ReviewMailbox} {
		list, err := cl.List("", name, nil).Collect()
		if err != nil {
			return serverError(&s.cfg, "LIST", err)
		}
		found := false
		for _, l := range list {
			if l.Mailbox == name {
				found = true
			}
		}
		if found {
			continue
		}
		if err := cl.Create(name, nil).Wait(); err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
				continue
			}
			return serverError(&s.cfg, "CREATE "+name, err)
		}
		s.log.Info("mailbox created", "mailbox", name)
	}
	return nil
}

// mover files mails on the server after their commit: UID MOVE where the
// server has it, else COPY + \Deleted + UID EXPUNGE of exactly these UIDs
// (UIDPLUS). Without either the mail stays in the inbox (never a plain
// EXPUNGE, which would remove other people's deleted mail too); the UID
// cursor then keeps it from being looked at again.
type mover struct {
	s          *Syncer
	cl         *imapclient.Client
	move       bool
	uidExpunge bool
	res        *Result
	pending    map[string]*imap.UIDSet
	order      []string
}

func (m *mover) add(dest string, uid imap.UID) {
	if m.pending == nil {
		m.pending = map[string]*imap.UIDSet{}
	}
	set := m.pending[dest]
	if set == nil {
		set = &imap.UIDSet{}
		m.pending[dest] = set
		m.order = append(m.order, dest)
	}
	set.AddNum(uid)
}

// durabler is a store whose commits reach the disk only when asked
// (storage.DB): Durable returns when all committed changes are on disk.
type durabler interface {
	Durable(ctx context.Context) error
}

// durable is what the sync waits for before it files mails: the store's
// Durable, or nothing for a store whose commits are durable at once.
func (s *Syncer) durable() func() error {
	d, ok := s.store.(durabler)
	if !ok {
		return nil
	}
	return func() error { return d.Durable(context.Background()) }
}

// flushAfter files the queued mails once ready returns nil (nil ready:
// at once) and returns a function that waits for the server's answer.
// The queue is handed over at once; mails added afterwards go with the
// next flush.
func (m *mover) flushAfter(ready func() error) func() error {
	if ready == nil {
		return m.flush()
	}
	batch := &mover{s: m.s, cl: m.cl, move: m.move, uidExpunge: m.uidExpunge, res: m.res, pending: m.pending, order: m.order}
	m.pending, m.order = nil, nil
	done := make(chan error, 1)
	go func() {
		if err := ready(); err != nil {
			done <- err
			return
		}
		done <- batch.flush()()
	}()
	return func() error { return <-done }
}

// flush starts filing the queued mails and returns a function that waits
// for the server's answer. With MOVE the commands are pipelined.
func (m *mover) flush() func() error {
	defer func() { m.pending, m.order = nil, nil }()
	if m.move {
		type started struct {
			cmd  *imapclient.MoveCommand
			dest string
			n    int
		}
		var cmds []started
		for _, dest := range m.order {
			set := *m.pending[dest]
			cmds = append(cmds, started{m.cl.Move(set, dest), dest, countUIDs(set)})
		}
		return func() error {
			var first error
			for _, c := range cmds {
				if _, err := c.cmd.Wait(); err != nil {
					if first == nil {
						first = serverError(&m.s.cfg, "MOVE "+c.dest, err)
					}
					continue
				}
				m.res.Moved += c.n
			}
			return first
		}
	}
	err := m.copyFallback()
	return func() error { return err }
}

func (m *mover) copyFallback() error {
	for _, dest := range m.order {
		set := *m.pending[dest]
		n := countUIDs(set)
		if _, err := m.cl.Copy(set, dest).Wait(); err != nil {
			return serverError(&m.s.cfg, "COPY "+dest, err)
		}
		if !m.uidExpunge {
			m.res.Kept += n
			continue
		}
		if err := m.cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return serverError(&m.s.cfg, "STORE", err)
		}
		if err := m.cl.UIDExpunge(set).Close(); err != nil {
			return serverError(&m.s.cfg, "UID EXPUNGE", err)
		}
		m.res.Moved += n
	}
	return nil
}

func countUIDs(set imap.UIDSet) int {
	n := 0
	for _, r := range set {
		n += int(r.Stop-r.Start) + 1
	}
	return n
}

package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"amtstresen/app"
	"amtstresen/sync/delivery"
	"amtstresen/sync/internal/cleantext"
	"amtstresen/sync/mailbox"
)

// storeBatch stores the items in order; it stops at the first error and
// returns the items committed so far. The whole batch is one transaction;
// if that fails, the batch is retried mail by mail (each in a transaction
// of its own) so that one bad mail cannot hold back the others. A mail is
// queued for filing only after its commit.
func (s *Syncer) storeBatch(ctx context.Context, st *app.SyncState, items []*item, mv *mover, res *Result, tick func()) ([]*item, error) {
	if len(items) > 1 {
		err := s.storeTogether(ctx, st, items, mv, res)
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
		// A batch of one: committed durably before the mail is filed.
		if err := s.storeTogether(ctx, st, []*item{it}, mv, res); err != nil {
			return stored, err
		}
		stored = append(stored, it)
		tick()
	}
	return stored, nil
}

// storeTogether stores the items in one transaction. What is to be filed
// and counted is handed to mv and res only after the commit.
func (s *Syncer) storeTogether(ctx context.Context, st *app.SyncState, items []*item, mv *mover, res *Result) error {
	// The portal's quittungen are applied after the batch, each in a
	// transaction of its own with its receipt (ApplyQuittung).
	var quittungen []*item
	if n := countQuittungen(items); n > 0 {
		rest := make([]*item, 0, len(items)-n)
		for _, it := range items {
			if isQuittung(it) {
				quittungen = append(quittungen, it)
			} else {
				rest = append(rest, it)
			}
		}
		items = rest
	}
	if len(items) > 0 {
		if err := s.storeCommon(ctx, st, items, mv, res); err != nil {
			return err
		}
	}
	for _, it := range quittungen {
		if err := s.storeQuittung(ctx, st, it, mv, res); err != nil {
			return err
		}
	}
	return nil
}

// storeCommon stores every item but the quittungen in one transaction.
func (s *Syncer) storeCommon(ctx context.Context, st *app.SyncState, items []*item, mv *mover, res *Result) error {
	local := &mover{}
	lres := &Result{}
	places := s.places.take()
	err := s.store.Batch(ctx, func(tx app.PortalStore) error {
		local.reset()
		*lres = Result{}
		if err := tx.MailFiled(ctx, places); err != nil {
			return err
		}
		sums := make([]string, 0, len(items))
		for _, it := range items {
			if it.key != "" {
				sums = append(sums, it.key)
			}
		}
		known, err := tx.Receipts(ctx, sums)
		if err != nil {
			return err
		}
		// Applications, messages and bookings are staged and written
		// together, each kind in a run of its own (a store may write a
		// whole run in a few statements). A mail waits for the runs it
		// might depend on: the same content, the same portal case (a
		// message after its application) or the same booking. So the
		// runs pending at any time are independent of each other, and
		// a mail is written after every mail it depends on, as one by
		// one.
		runs := [...]*stagedRun{{kind: delivery.KindAntrag}, {kind: delivery.KindNachricht}, {kind: delivery.KindTermin}}
		for _, it := range items {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, r := range runs {
				if r.touches(it) {
					if err := s.writeRun(ctx, tx, known, r, local, lres); err != nil {
						return err
					}
				}
			}
			if kind, rc, seen, ok := s.stage(ctx, known, st, it); ok {
				for _, r := range runs {
					if r.kind == kind {
						r.add(it, rc, seen)
					}
				}
				continue
			}
			if _, err := s.storeOne(ctx, tx, known, st, it, local, lres); err != nil {
				return err
			}
		}
		for _, r := range runs {
			if err := s.writeRun(ctx, tx, known, r, local, lres); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.places.add(places) // for the next transaction
		return err
	}
	mv.takeOver(local)
	res.add(lres)
	return nil
}

func (r *Result) add(o *Result) {
	r.Cases += o.Cases
	r.Duplicates += o.Duplicates
	r.Messages += o.Messages
	r.Withdrawals += o.Withdrawals
	r.Unconfirmed += o.Unconfirmed
	r.Appointments += o.Appointments
	r.Stale += o.Stale
	r.Review += o.Review
	r.Recovered += o.Recovered
	r.Retried += o.Retried
	r.Quittungen += o.Quittungen
}

// stagedRun is the mails of one kind in a batch staged to be written
// together: applications (CreatePreparedCases), messages (AddMessages)
// or bookings (ApplyAppointments).
type stagedRun struct {
	kind  string
	items []*item
	rcs   []*app.Receipt
	seen  []bool
	keys  map[string]bool // contents, portal cases and bookings in the run
}

func (r *stagedRun) add(it *item, rc *app.Receipt, seen bool) {
	if r.keys == nil {
		r.keys = map[string]bool{}
	}
	r.items, r.rcs, r.seen = append(r.items, it), append(r.rcs, rc), append(r.seen, seen)
	for _, k := range runKeys(it) {
		r.keys[k] = true
	}
}

// runKeys are what a mail may share with another one it depends on.
func runKeys(it *item) []string {
	var ks []string
	if it.key != "" {
		ks = append(ks, "sha:"+it.key)
	}
	if d := it.d; d != nil {
		if d.Vorgang != "" {
			ks = append(ks, "case:"+d.Vorgang)
		}
		if d.Appointment != nil && d.Appointment.UID != "" {
			ks = append(ks, "uid:"+d.Appointment.UID)
		}
	}
	return ks
}

// touches reports whether it must wait until the run is written: a copy
// of a mail in the run, a mail of a portal case in it, or another
// version of a booking in it.
func (r *stagedRun) touches(it *item) bool {
	if len(r.items) == 0 {
		return false
	}
	for _, k := range runKeys(it) {
		if r.keys[k] {
			return true
		}
	}
	return false
}

func (r *stagedRun) reset() {
	r.items, r.rcs, r.seen = r.items[:0], r.rcs[:0], r.seen[:0]
	clear(r.keys)
}

// stage reports whether it is an application, a message or a booking to
// be written with the run of its kind, with its receipt and whether the
// mail was judged before (as storeOne). What storeOne would send to the
// review list or file as taken in before is not staged.
func (s *Syncer) stage(ctx context.Context, known map[string]app.Receipt, st *app.SyncState, it *item) (string, *app.Receipt, bool, bool) {
	d := it.d
	if d == nil || d.Review != "" {
		return "", nil, false, false
	}
	switch {
	case d.Kind == delivery.KindAntrag && d.Antrag != nil && d.Vorgang != "":
	case d.Kind == delivery.KindNachricht && d.Message != nil:
	case d.Kind == delivery.KindTermin && d.Appointment != nil:
		if _, ok := plausibleAppointment(d.Appointment, officeTime(it.ref.Date, s.now(ctx))); !ok {
			return "", nil, false, false
		}
	default:
		return "", nil, false, false
	}
	prev, ok := known[it.key]
	if it.key != "" && ok && prev.TakenIn() {
		return "", nil, false, false // storeOne files it as recovered
	}
	rc := s.receipt(st, it)
	return d.Kind, rc, it.key != "" && ok, true
}

// writeRun writes the staged mails of r.
func (s *Syncer) writeRun(ctx context.Context, store app.PortalStore, known map[string]app.Receipt, r *stagedRun, mv *mover, res *Result) error {
	if len(r.items) == 0 {
		return nil
	}
	switch r.kind {
	case delivery.KindNachricht:
		return s.addMessages(ctx, store, known, r, mv, res)
	case delivery.KindTermin:
		return s.applyAppointments(ctx, store, known, r, mv, res)
	}
	return s.createRun(ctx, store, known, r, mv, res)
}

// addMessages adds the staged messages (AddMessages) and takes in each
// result as storeOne does.
func (s *Syncer) addMessages(ctx context.Context, store app.PortalStore, known map[string]app.Receipt, r *stagedRun, mv *mover, res *Result) error {
	defer r.reset()
	ms := make([]app.PortalMessage, len(r.items))
	for i, it := range r.items {
		d := it.d
		ms[i] = app.PortalMessage{PortalCase: d.Vorgang, Key: d.Key(), Note: s.messageNote(ctx, it), Files: d.Files, Receipt: r.rcs[i]}
	}
	errs, err := store.AddMessages(ctx, ms)
	if err != nil {
		return fmt.Errorf("%s: %w", delivery.KindNachricht, err)
	}
	for i, it := range r.items {
		if _, err := s.takenIn(ctx, store, known, it, r.rcs[i], r.seen[i], errs[i], delivery.KindNachricht, &res.Messages, mv, res); err != nil {
			return err
		}
	}
	return nil
}

// applyAppointments applies the staged bookings (ApplyAppointments) and
// takes in each result as storeOne does.
func (s *Syncer) applyAppointments(ctx context.Context, store app.PortalStore, known map[string]app.Receipt, r *stagedRun, mv *mover, res *Result) error {
	defer r.reset()
	as := make([]*app.Appointment, len(r.items))
	for i, it := range r.items {
		as[i] = s.appointmentOf(ctx, it)
	}
	applied, errs, err := store.ApplyAppointments(ctx, as, r.rcs)
	if err != nil {
		return fmt.Errorf("apply appointment: %w", err)
	}
	for i, it := range r.items {
		if _, err := s.appointmentApplied(ctx, store, known, it, r.rcs[i], r.seen[i], applied[i], errs[i], mv, res); err != nil {
			return err
		}
	}
	return nil
}

// messageNote is the note a citizen's message becomes.
func (s *Syncer) messageNote(ctx context.Context, it *item) *app.Note {
	d := it.d
	received := officeTime(it.ref.Date, s.now(ctx))
	at := d.Message.SentAt()
	if at.IsZero() || at.After(received.Add(24*time.Hour)) {
		at = received
	}
	n := &app.Note{At: at.UTC(), Author: "Bürger", Kind: "message", Text: d.Message.Text}
	for _, f := range d.Files {
		n.Attachments = append(n.Attachments, f.Attachment)
	}
	return n
}

// appointmentOf is the booking of it as the store takes it: an office
// this program does not know is left open.
func (s *Syncer) appointmentOf(ctx context.Context, it *item) *app.Appointment {
	a := *it.d.Appointment
	if s.reg != nil && s.reg.Office(a.Office) == nil {
		a.Office = ""
	}
	a.UpdatedAt = s.now(ctx).UTC()
	return &a
}

// learn records in known the receipt the mail of it has now.
func (s *Syncer) learn(known map[string]app.Receipt, it *item, rc *app.Receipt) {
	if known != nil && it.key != "" && rc.Kind != "" {
		known[it.key] = *rc
	}
}

// receipt is the receipt of it's mail when taken in.
func (s *Syncer) receipt(st *app.SyncState, it *item) *app.Receipt {
	d := it.d
	rc := &app.Receipt{SHA256: it.key, Mailbox: s.cfg.Mailbox, UIDValidity: st.UIDValidity, UID: it.ref.UID, MessageID: d.MessageID, Kind: d.Kind}
	if d.Review == "" {
		rc.PortalCase = d.Vorgang // as signed
	}
	return rc
}

// createRun creates the staged applications (CreatePreparedCases); one
// that fails with an error about itself goes to the review list, and the
// rest of the run is created after it.
func (s *Syncer) createRun(ctx context.Context, store app.PortalStore, known map[string]app.Receipt, r *stagedRun, mv *mover, res *Result) error {
	defer r.reset()
	items, rcs, seen := r.items, r.rcs, r.seen
	for len(items) > 0 {
		ps := make([]app.PreparedCase, len(items))
		for i, it := range items {
			ps[i] = s.prepared(ctx, store, it)
		}
		created, err := store.CreatePreparedCases(ctx, ps, rcs)
		for i, ok := range created {
			if _, err := s.caseCreated(ctx, store, known, items[i], rcs[i], seen[i], ok, nil, mv, res); err != nil {
				return err
			}
		}
		if err == nil {
			return nil
		}
		k := len(created)
		if _, err := s.caseCreated(ctx, store, known, items[k], rcs[k], seen[k], false, err, mv, res); err != nil {
			return err
		}
		items, rcs, seen = items[k+1:], rcs[k+1:], seen[k+1:]
	}
	return nil
}

// prepared is the prepared case of an application (prepared while
// parsing, else now).
func (s *Syncer) prepared(ctx context.Context, store app.PortalStore, it *item) app.PreparedCase {
	if it.prep != nil {
		return it.prep
	}
	return store.PrepareCase(s.newCase(it.d, officeTime(it.ref.Date, s.now(ctx))))
}

// takenIn takes in what the store answered for the mail of it (err: its
// error for this mail): counted in *count and filed as processed, or to
// the review list when its portal case is not here (yet: a message before
// its application) or the error is about this mail. what names the step
// in a technical error. known learns the receipt.
func (s *Syncer) takenIn(ctx context.Context, store app.PortalStore, known map[string]app.Receipt, it *item, rc *app.Receipt, seen bool, err error, what string, count *int, mv *mover, res *Result) (string, error) {
	defer s.learn(known, it, rc)
	if err != nil {
		if app.ErrorCode(err) == app.ENOTFOUND {
			return s.review(ctx, store, it, rc, seen, app.ReviewCaseUnknown, "kein Vorgang "+it.d.Vorgang+" (wird nachgetragen, sobald der Antrag eingeht)", mv, res)
		}
		if rv, ok := reviewable(err); ok {
			return s.review(ctx, store, it, rc, seen, app.ReviewPayloadInvalid, rv, mv, res)
		}
		return "", fmt.Errorf("%s: %w", what, err)
	}
	*count++
	mv.add(s.cfg.ProcessedMailbox, it.ref.UID, it.key)
	return s.cfg.ProcessedMailbox, nil
}

// caseCreated is takenIn for an application's case (created: new, else
// found by its key).
func (s *Syncer) caseCreated(ctx context.Context, store app.PortalStore, known map[string]app.Receipt, it *item, rc *app.Receipt, seen, created bool, err error, mv *mover, res *Result) (string, error) {
	count := &res.Duplicates
	if created {
		count = &res.Cases
	}
	return s.takenIn(ctx, store, known, it, rc, seen, err, "create case", count, mv, res)
}

// appointmentApplied is takenIn for a booking (applied: stored, else a
// stale version).
func (s *Syncer) appointmentApplied(ctx context.Context, store app.PortalStore, known map[string]app.Receipt, it *item, rc *app.Receipt, seen, applied bool, err error, mv *mover, res *Result) (string, error) {
	count := &res.Stale
	if applied {
		count = &res.Appointments
	}
	return s.takenIn(ctx, store, known, it, rc, seen, err, "apply appointment", count, mv, res)
}

// storeOne takes one mail in. Each store call carries the receipt, so
// that the mail is recorded as taken in in the same transaction as its
// effect; the mail is queued for filing on the server only after that
// commit. A mail is its content (it.key): one taken in before is only
// filed (also a byte-identical copy); one that went to review before is
// judged again. known holds the receipts of the batch (nil: asked of
// store); it learns this mail's.
func (s *Syncer) storeOne(ctx context.Context, store app.PortalStore, known map[string]app.Receipt, st *app.SyncState, it *item, mv *mover, res *Result) (string, error) {
	d := it.d
	rc := s.receipt(st, it)
	seen := false // a review receipt: the mail was judged before
	if it.key != "" {
		prev, ok := known[it.key]
		if known == nil {
			m, err := store.Receipts(ctx, []string{it.key})
			if err != nil {
				return "", err
			}
			prev, ok = m[it.key]
		}
		if ok && prev.TakenIn() {
			// Taken in before (by an earlier run that stopped before
			// filing it, or this is a copy of the same mail).
			res.Recovered++
			mv.add(s.cfg.ProcessedMailbox, it.ref.UID, it.key)
			return s.cfg.ProcessedMailbox, nil
		}
		seen = ok
		defer s.learn(known, it, rc)
	}
	review := func(reason app.ReviewReason, detail string) (string, error) {
		return s.review(ctx, store, it, rc, seen, reason, detail, mv, res)
	}
	if d.Review != "" {
		return review(d.Review, d.Detail)
	}
	received := officeTime(it.ref.Date, s.now(ctx))
	switch d.Kind {
	case delivery.KindAntrag:
		_, created, err := store.CreatePreparedCase(ctx, s.prepared(ctx, store, it), rc)
		return s.caseCreated(ctx, store, nil, it, rc, seen, created, err, mv, res)
	case delivery.KindNachricht:
		// A message for a case not here: the store answers ENOTFOUND.
		err := store.AddMessage(ctx, d.Vorgang, d.Key(), s.messageNote(ctx, it), d.Files, rc)
		return s.takenIn(ctx, store, nil, it, rc, seen, err, d.Kind, &res.Messages, mv, res)
	case delivery.KindRuecknahme:
		err, count := error(nil), &res.Unconfirmed
		if d.Version >= 2 {
			err, count = store.Withdraw(ctx, d.Vorgang, d.Message.Text, rc), &res.Withdrawals
		} else {
			// Format 1: the kind is not signed (a citizen's message
			// re-sent as a withdrawal has the same signed part). Never
			// applied by itself: a clerk confirms or rejects it.
			err = store.RequestWithdrawal(ctx, d.Vorgang, d.Message.Text, rc)
		}
		return s.takenIn(ctx, store, nil, it, rc, seen, err, d.Kind, count, mv, res)
	case delivery.KindTermin:
		if detail, ok := plausibleAppointment(d.Appointment, received); !ok {
			return review(app.ReviewPayloadInvalid, detail)
		}
		applied, err := store.ApplyAppointment(ctx, s.appointmentOf(ctx, it), rc)
		return s.appointmentApplied(ctx, store, nil, it, rc, seen, applied, err, mv, res)
	}
	return review(app.ReviewPayloadInvalid, "unbekannte Art")
}

// review puts the mail of it on the review list, with its receipt rc.
// seen: it was on the list before (judged again).
func (s *Syncer) review(ctx context.Context, store app.PortalStore, it *item, rc *app.Receipt, seen bool, reason app.ReviewReason, detail string, mv *mover, res *Result) (string, error) {
	d := it.d
	rc.Kind, rc.PortalCase = delivery.KindReview, ""
	ri := &app.ReviewItem{MessageID: d.MessageID, Subject: d.Subject, From: d.From, Reason: reason, Detail: detail,
		ReceivedAt: officeTime(it.ref.Date, s.now(ctx)), Size: it.ref.Size, Raw: it.raw, SHA256: it.key, PortalCase: d.Vorgang}
	if ri.Size == 0 {
		ri.Size = int64(len(it.raw))
	}
	if err := store.AddReview(ctx, ri, rc); err != nil {
		return "", fmt.Errorf("add review: %w", err)
	}
	if seen {
		res.Recovered++ // on the list already
	} else {
		res.Review++
	}
	mv.add(s.cfg.ReviewMailbox, it.ref.UID, it.key)
	return s.cfg.ReviewMailbox, nil
}

// reviewable reports whether a store error is about this one mail (invalid
// data, a conflict) rather than the store itself; such a mail goes to the
// review list instead of stopping the sync for good.
func reviewable(err error) (string, bool) {
	switch app.ErrorCode(err) {
	case app.EINVALID, app.ECONFLICT:
		return cleantext.Line(app.ErrorMessage(err), 300), true
	}
	return "", false
}

// now is the clock for a mail: the time set with app.WithTime, else Now.
func (s *Syncer) now(ctx context.Context) time.Time {
	if t, ok := app.TimeFrom(ctx); ok {
		return t
	}
	return s.Now()
}

// Sane windows for dates from a delivery, against the office's receipt.
var (
	earliestDate  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // submissions, appointments
	earliestBirth = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	// An appointment is booked at most this far ahead and lasts at most a day.
	maxBookingAhead = 3 * 366 * 24 * time.Hour
	maxAppointment  = 24 * time.Hour
)

// plausibleAppointment checks the signed times of a booking against the
// office's receipt: DTEND 9999-12-31 is no booking a clerk can act on.
func plausibleAppointment(a *app.Appointment, received time.Time) (string, bool) {
	switch {
	case a.Start.Before(earliestDate) || a.Start.After(received.Add(maxBookingAhead)):
		return fmt.Sprintf("Termin am %s liegt außerhalb des plausiblen Zeitraums (bis drei Jahre nach Eingang)", a.Start.In(app.Berlin).Format("02.01.2006")), false
	case a.End.Sub(a.Start) > maxAppointment:
		return fmt.Sprintf("Termin endet am %s, mehr als einen Tag nach Beginn", a.End.In(app.Berlin).Format("02.01.2006")), false
	}
	return "", true
}

// implausibleDates reports whether the citizen's dates of an application
// lie outside a sane window: submitted in the future (or before 2000, or
// unreadable), born in the future or before 1900.
func implausibleDates(a *delivery.Antrag, received time.Time) bool {
	if a.Eingereicht != "" {
		t := a.ReceivedAt()
		if t.IsZero() || t.Before(earliestDate) || t.After(received.Add(24*time.Hour)) {
			return true
		}
	}
	if b := a.Antragsteller.BirthDate; b != "" {
		t, err := time.Parse("2006-01-02", b)
		if err != nil || t.Before(earliestBirth) || t.After(received) {
			return true
		}
	}
	return false
}

// newCase builds the case of an application: routed by the catalog's
// rules, flagged for attachment problems and implausible dates; the JSON
// is kept whole. received is the office's receipt: it dates the case and
// decides the year of its reference number.
func (s *Syncer) newCase(d *delivery.Delivery, received time.Time) *app.NewCase {
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
	extra := d.Flags
	if implausibleDates(a, received) {
		extra = append(extra[:len(extra):len(extra)], app.FlagDateImplausible)
	}
	for _, f := range extra {
		if !hasFlag(flags, f) {
			flags = append(flags, f)
		}
	}
	return &app.NewCase{IdempotencyKey: a.Vorgang, Channel: app.ChannelPortal, Service: a.Leistung.Schluessel,
		PortalCase: a.Vorgang, Applicant: a.Antragsteller, Fields: angaben, Raw: json.RawMessage(d.Payload),
		Attachments: d.Files, Flags: flags, Routing: dec, ReceivedAt: received.UTC(), Clerk: app.PortalActor.Clerk}
}

func hasFlag(list []app.Flag, f app.Flag) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// retryWaiting takes in the messages that came before their case: they
// are on the review list as case-unknown, and their case has arrived
// since. Each is parsed again from the kept mail and applied; taking it
// in resolves its review entry (storage does, by its content). The mail
// stays where it is filed on the server.
func (s *Syncer) retryWaiting(ctx context.Context, res *Result) error {
	waiting, err := s.store.Unblocked(ctx, 200)
	if err != nil || len(waiting) == 0 {
		return err
	}
	raws := make([][]byte, len(waiting))
	for i := range waiting {
		raws[i] = waiting[i].Raw
	}
	ds := delivery.ParseDeliveries(raws, s.verifier, s.limits)
	st := &app.SyncState{Mailbox: s.cfg.Mailbox}
	lres := &Result{}
	err = s.store.Batch(ctx, func(tx app.PortalStore) error {
		*lres = Result{}
		for i, d := range ds {
			if d.Review != "" {
				continue // no longer a genuine delivery (another portal key?): stays on the list
			}
			it := &item{ref: mailbox.Ref{Date: waiting[i].ReceivedAt, Size: waiting[i].Size}, raw: raws[i], key: contentKey(raws[i]), d: d}
			if _, err := s.storeOne(ctx, tx, map[string]app.Receipt{}, st, it, &mover{}, lres); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Retried += lres.Messages + lres.Withdrawals + lres.Unconfirmed + lres.Appointments
	return nil
}

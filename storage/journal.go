package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"amtstresen/app"
)

// The shared journal (app.JournalStore). The case tables are a view: the
// entries of the journal folder applied in UID order (ApplyEntry), with
// this counter's outbox applied on top (QueueChange). Before a journal
// batch the outbox's effects are taken out (UndoPending) and afterwards
// those still pending are applied again (RedoPending), so that the journal
// order alone decides, the same way on every counter.

var _ app.JournalStore = (*DB)(nil)

// JournalBatch is Batch for the shared journal: the view fn gets is the
// journal's store too.
func (db *DB) JournalBatch(ctx context.Context, fn func(tx app.JournalBatchStore) error) error {
	if db.btx != nil {
		return fn(db)
	}
	return db.explain(db.batch(ctx, func(view *DB) error { return fn(view) }))
}

// ftsRef is the text of the search row's reference column: the reference
// and, for a walk-in case that had one, its provisional reference.
func ftsRef(ref, alias string) string {
	if alias == "" || alias == ref {
		return ref
	}
	return ref + " " + alias
}

// lockByKey finds the case an entry names: by its idempotency key, or by
// reference for "ref:REF" (cases from before the journal without a key).
func lockByKey(ctx context.Context, tx *txn, key string) (*caseRow, error) {
	var r *caseRow
	var err error
	if ref, ok := strings.CutPrefix(key, "ref:"); ok {
		r, err = lockCase(ctx, tx, "ref = ?", normRef(ref))
	} else if key != "" {
		r, err = lockCase(ctx, tx, "idempotency_key = ?", key)
	}
	if err == nil && r == nil {
		err = app.Errorf(app.ENOTFOUND, "Den Vorgang %s gibt es (noch) nicht.", key)
	}
	return r, err
}

// CaseKey implements app.JournalStore: the key by which journal entries
// name the case (its idempotency key; "ref:REF" for a case without one)
// and its current reference.
func (db *DB) CaseKey(ctx context.Context, ref string) (key, current string, err error) {
	ref = normRef(ref)
	q := `SELECT COALESCE(idempotency_key, 'ref:' || ref), ref FROM cases WHERE `
	err = db.q().QueryRowContext(ctx, q+`ref = ?`, ref).Scan(&key, &current)
	if errors.Is(err, sql.ErrNoRows) {
		err = db.q().QueryRowContext(ctx, q+`provisional_ref = ? AND provisional_ref <> ''`, ref).Scan(&key, &current)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", notFound(ref)
	}
	if err != nil {
		return "", "", fmt.Errorf("case key: %w", err)
	}
	return key, current, nil
}

// CaseByKey implements app.JournalStore.
func (db *DB) CaseByKey(ctx context.Context, key string) (*app.Case, error) {
	if ref, ok := strings.CutPrefix(key, "ref:"); ok {
		return db.CaseByRef(ctx, ref)
	}
	c, err := getCase(ctx, db.q(), "WHERE c.idempotency_key = ?", key)
	if err != nil {
		return nil, fmt.Errorf("case by key: %w", err)
	}
	if c == nil {
		return nil, app.Errorf(app.ENOTFOUND, "Den Vorgang %s gibt es (noch) nicht.", key)
	}
	return c, nil
}

// ReviewKey implements app.JournalStore: how journal entries name a
// review item on every counter.
func (db *DB) ReviewKey(ctx context.Context, id int64) (*app.ReviewKey, error) {
	var k app.ReviewKey
	err := db.q().QueryRowContext(ctx, `SELECT message_id, raw_sha256 FROM review_items WHERE id = ?`, id).Scan(&k.MessageID, &k.SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, reviewNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("review key: %w", err)
	}
	return &k, nil
}

// snapshotCase keeps the case's state before the first pending change.
func snapshotCase(ctx context.Context, tx *txn, id int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO journal_pending_cases (case_id, status, assignee, office, forwarded_from, closed_at, updated_at)
		SELECT id, status, assignee, office, forwarded_from, closed_at, updated_at FROM cases WHERE id = ?
		ON CONFLICT (case_id) DO NOTHING`, id)
	return err
}

func snapshotReview(ctx context.Context, tx *txn, id int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO journal_pending_reviews (review_id, handled, handled_by, handled_at, resolution, note)
		SELECT id, handled, handled_by, handled_at, resolution, note FROM review_items WHERE id = ?
		ON CONFLICT (review_id) DO NOTHING`, id)
	return err
}

// applyOp applies one entry to the view. pending: it comes from the
// outbox (state kept for undo, not audited); else from the journal. A rule
// violation is an *app.Error. It returns the case's reference.
func (db *DB) applyOp(ctx context.Context, tx *txn, e *app.JournalEntry, pending bool) (string, error) {
	by := e.Actor()
	if err := needClerk(by); err != nil {
		return "", err
	}
	ch := change{now: e.At.UTC(), entry: e.ID, audit: !pending}
	if e.At.IsZero() {
		return "", app.Errorf(app.EINVALID, "Journaleintrag ohne Zeitpunkt.")
	}
	switch e.Op {
	case app.OpCreate:
		return db.applyCreate(ctx, tx, e, pending, ch)
	case app.OpResolve:
		if e.Review == nil {
			return "", app.Errorf(app.EINVALID, "Journaleintrag ohne Mail.")
		}
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM review_items WHERE message_id = ? AND raw_sha256 = ?`, e.Review.MessageID, e.Review.SHA256).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", app.Errorf(app.ENOTFOUND, "Die Mail <%s> gibt es in der Prüfliste (noch) nicht.", e.Review.MessageID)
		}
		if err != nil {
			return "", err
		}
		note := strings.TrimSpace(e.Text)
		if note == "" {
			return "", &app.Error{Code: app.EINVALID, Field: "note", Message: "Bitte eine Begründung angeben; sie wird vermerkt."}
		}
		resolution := strings.TrimSpace(e.Resolution)
		if resolution == "" {
			resolution = "handled"
		}
		if pending {
			if err := snapshotReview(ctx, tx, id); err != nil {
				return "", err
			}
		}
		return "", resolveReviewTx(ctx, tx, id, resolution, note, by, ch)
	}
	r, err := lockByKey(ctx, tx, e.Case)
	if err != nil {
		return "", err
	}
	if pending {
		if err := snapshotCase(ctx, tx, r.id); err != nil {
			return "", err
		}
	}
	switch e.Op {
	case app.OpClaim:
		err = db.claimTx(ctx, tx, r, by, ch)
	case app.OpRelease:
		err = db.releaseTx(ctx, tx, r, by, ch)
	case app.OpStatus:
		if err = checkStatusInput(e.Status, e.Reason); err == nil {
			err = db.setStatus(ctx, tx, r, e.Status, strings.TrimSpace(e.Reason), by.Clerk, by, ch)
		}
	case app.OpForward:
		if err = db.checkForwardInput(e.To, e.Reason); err == nil {
			err = db.forwardTx(ctx, tx, r, e.To, strings.TrimSpace(e.Reason), by, ch)
		}
	case app.OpNote:
		if text := strings.TrimSpace(e.Text); text == "" {
			err = &app.Error{Code: app.EINVALID, Field: "text", Message: "Die Notiz ist leer."}
		} else {
			err = db.noteTx(ctx, tx, r, text, by, ch)
		}
	default:
		err = app.Errorf(app.EINVALID, "Unbekannte Art von Journaleintrag „%s“ (neuere Programmversion?).", e.Op)
	}
	return r.ref, err
}

// applyCreate creates a walk-in case. Pending, it gets its provisional
// reference; from the journal, the next number in journal order (a case
// already created here while pending keeps its row and gets the number
// now, its provisional reference staying as an alias).
func (db *DB) applyCreate(ctx context.Context, tx *txn, e *app.JournalEntry, pending bool, ch change) (string, error) {
	nc := e.NewCase
	if nc == nil || strings.TrimSpace(nc.IdempotencyKey) == "" {
		return "", app.Errorf(app.EINVALID, "Journaleintrag „Vorgang aufnehmen“ ohne Antragsdaten oder Schlüssel.")
	}
	if nc.Clerk == "" {
		nc.Clerk = e.Clerk
	}
	in, err := db.checkNewCase(nc, ch.now)
	if err != nil {
		return "", err
	}
	in.alias = e.ProvisionalRef
	if pending {
		in.ref = e.ProvisionalRef
		c, _, err := db.createCaseTx(ctx, tx, in, nil, ch)
		if err != nil {
			return "", err
		}
		if c.Pending() {
			if err := snapshotCase(ctx, tx, c.ID); err != nil {
				return "", err
			}
		}
		return c.Ref, nil
	}
	r, err := lockCase(ctx, tx, "idempotency_key = ?", nc.IdempotencyKey)
	if err != nil {
		return "", err
	}
	if r == nil {
		in.noLoad = true
		c, _, err := db.createCaseTx(ctx, tx, in, nil, ch)
		if err != nil {
			return "", err
		}
		return c.Ref, nil
	}
	var alias string
	if err := tx.QueryRowContext(ctx, `SELECT provisional_ref FROM cases WHERE id = ?`, r.id).Scan(&alias); err != nil {
		return "", err
	}
	if alias == "" || alias != r.ref {
		return r.ref, nil // created before: the same entry twice, or the same form saved twice
	}
	// Our own pending case: now it gets its number.
	ref, err := db.nextRef(ctx, tx, in.Office, in.Received)
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET ref = ? WHERE id = ?`, ref, r.id); err != nil {
		return "", err
	}
	c, err := getCase(ctx, tx, "WHERE c.id = ?", r.id)
	if err != nil {
		return "", err
	}
	if err := db.unindexCase(ctx, tx, r.id); err != nil {
		return "", fmt.Errorf("index case: %w", err)
	}
	if err := db.indexCase(ctx, tx, r.id, func() ftsDoc { return newFTSDoc(db.reg, ftsRef(ref, alias), c) }); err != nil {
		return "", err
	}
	return ref, ch.auditLog(ctx, tx, app.AuditEntry{Clerk: in.Clerk, Action: app.ActionCaseCreate, Ref: ref,
		Detail: fmt.Sprintf("channel=%s office=%s provisional=%s", nc.Channel, officeCode(in.Office), alias)})
}

// QueueChange implements app.JournalStore. The change is applied to the
// view first: one the view already refuses (a case this counter knows to
// be someone else's) is refused at once and not queued. A create gets its
// provisional reference here (e.ProvisionalRef is set).
func (db *DB) QueueChange(ctx context.Context, e *app.JournalEntry) (*app.Case, error) {
	if e == nil || e.ID == "" {
		return nil, errors.New("queue change: entry without id")
	}
	if e.Op == app.OpCreate && e.NewCase != nil && e.ProvisionalRef == "" {
		received := e.NewCase.ReceivedAt
		if received.IsZero() {
			received = e.At
		}
		e.ProvisionalRef = app.ProvisionalRef(app.RefPrefix(db.reg, e.NewCase.Routing.Office), received.In(app.Berlin).Year(), e.ID)
	}
	var c *app.Case
	err := db.tx(ctx, "queue change", func(tx *txn) error {
		ref, err := db.applyOp(ctx, tx, e, true)
		if err != nil {
			return err
		}
		if e.Ref == "" {
			e.Ref = ref
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO journal_outbox (id, entry, queued_at) VALUES (?, ?, ?)`, e.ID, string(b), fmtTime(db.now())); err != nil {
			return err
		}
		if e.Op == app.OpCreate {
			c, err = getCase(ctx, tx, "WHERE c.ref = ?", ref)
		}
		return err
	})
	return c, err
}

// Outbox implements app.JournalStore.
func (db *DB) Outbox(ctx context.Context) ([]app.JournalEntry, error) {
	return outbox(ctx, db.q())
}

func outbox(ctx context.Context, q queryer) ([]app.JournalEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT entry FROM journal_outbox ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	var out []app.JournalEntry
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		var e app.JournalEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UndoPending implements app.JournalStore: the view without the outbox.
// A walk-in case created only here stays, in the state it was created in.
func (db *DB) UndoPending(ctx context.Context) error {
	return db.tx(ctx, "undo pending", func(tx *txn) error {
		for _, q := range []string{
			`DELETE FROM notes WHERE entry IN (SELECT id FROM journal_outbox)`,
			`UPDATE cases SET status = p.status, assignee = p.assignee, office = p.office, forwarded_from = p.forwarded_from,
				closed_at = p.closed_at, updated_at = p.updated_at FROM journal_pending_cases p WHERE p.case_id = cases.id`,
			`DELETE FROM journal_pending_cases`,
			`UPDATE review_items SET handled = p.handled, handled_by = p.handled_by, handled_at = p.handled_at, resolution = p.resolution,
				note = p.note FROM journal_pending_reviews p WHERE p.review_id = review_items.id`,
			`DELETE FROM journal_pending_reviews`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// RedoPending implements app.JournalStore: the outbox on top of the view
// again, in the order the changes were made. A change that the view now
// refuses is left out (its entry will be rejected in journal order, and
// the clerk told).
func (db *DB) RedoPending(ctx context.Context) error {
	return db.tx(ctx, "redo pending", func(tx *txn) error {
		list, err := outbox(ctx, tx)
		if err != nil {
			return err
		}
		for i := range list {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT redo"); err != nil {
				return err
			}
			mark := db.batchMark()
			_, err := db.applyOp(ctx, tx, &list[i], true)
			if err != nil {
				var ae *app.Error
				if !errors.As(err, &ae) {
					return err
				}
				db.batchRollback(mark)
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO redo"); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE redo"); err != nil {
				return err
			}
		}
		return nil
	})
}

// ApplyEntry implements app.JournalStore: the entry read from the journal
// at uid, applied (or rejected) once, recorded by its id, and taken out
// of the outbox if it is this counter's own.
func (db *DB) ApplyEntry(ctx context.Context, uid uint32, e *app.JournalEntry) (*app.JournalOutcome, error) {
	if e == nil || e.ID == "" {
		return nil, errors.New("apply entry: entry without id")
	}
	var out *app.JournalOutcome
	run := db.tx
	if db.btx != nil {
		// Inside a batch: a technical error fails the whole batch anyway,
		// and a refused change has its own savepoint below.
		run = func(ctx context.Context, op string, fn func(tx *txn) error) error { return wrap(op, fn(db.btx)) }
	}
	err := run(ctx, "apply journal entry", func(tx *txn) error {
		o, err := entryOutcome(ctx, tx, e.ID)
		if err != nil || o != nil {
			out = o
			return err // seen before: a duplicate append
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT jop"); err != nil {
			return err
		}
		mark := db.batchMark()
		o = &app.JournalOutcome{EntryID: e.ID, UID: uid, State: app.JournalApplied, Op: e.Op, Clerk: e.Clerk, Counter: e.Counter, At: e.At.UTC()}
		ref, err := db.applyOp(ctx, tx, e, false)
		if err != nil {
			var ae *app.Error
			if !errors.As(err, &ae) {
				return err
			}
			db.batchRollback(mark)
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO jop"); err != nil {
				return err
			}
			o.State, o.Code, o.Message = app.JournalRejected, ae.Code, ae.Message
			if err := audit(ctx, tx, app.AuditEntry{At: e.At.UTC(), Clerk: e.Clerk, Office: e.Office, Action: app.ActionJournalRejected,
				Ref: normRef(e.Ref), Detail: fmt.Sprintf("op=%s code=%s uid=%d", e.Op, ae.Code, uid)}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE jop"); err != nil {
			return err
		}
		if ref == "" {
			ref = e.Ref
		}
		o.Ref = ref
		if _, err := tx.ExecContext(ctx, `INSERT INTO journal_entries (id, uid, op, case_key, counter, clerk, at, state, code, message, ref)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, int64(uid), string(e.Op), e.Case, e.Counter, e.Clerk, fmtTime(e.At),
			o.State, o.Code, o.Message, o.Ref); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM journal_outbox WHERE id = ?`, e.ID); err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

const outcomeCols = `id, uid, op, counter, clerk, at, state, code, message, ref, seen`

func scanOutcome(sc interface{ Scan(...any) error }) (*app.JournalOutcome, error) {
	var o app.JournalOutcome
	var uid int64
	var op, at string
	if err := sc.Scan(&o.EntryID, &uid, &op, &o.Counter, &o.Clerk, &at, &o.State, &o.Code, &o.Message, &o.Ref, &o.Seen); err != nil {
		return nil, err
	}
	o.UID, o.Op = uint32(uid), app.JournalOp(op)
	var err error
	o.At, err = parseTime(at)
	return &o, err
}

func entryOutcome(ctx context.Context, q queryer, id string) (*app.JournalOutcome, error) {
	o, err := scanOutcome(q.QueryRowContext(ctx, `SELECT `+outcomeCols+` FROM journal_entries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return o, err
}

// EntryOutcome implements app.JournalStore.
func (db *DB) EntryOutcome(ctx context.Context, id string) (*app.JournalOutcome, error) {
	o, err := entryOutcome(ctx, db.q(), id)
	if err != nil {
		return nil, fmt.Errorf("entry outcome: %w", err)
	}
	if o != nil {
		return o, nil
	}
	var b []byte
	err = db.q().QueryRowContext(ctx, `SELECT entry FROM journal_outbox WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.Errorf(app.ENOTFOUND, "Den Journaleintrag %s gibt es nicht.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("entry outcome: %w", err)
	}
	var e app.JournalEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("entry outcome: %w", err)
	}
	return &app.JournalOutcome{EntryID: id, State: app.JournalPending, Op: e.Op, Clerk: e.Clerk, Counter: e.Counter, At: e.At, Ref: e.Ref}, nil
}

// Rejections implements app.JournalStore: newest first.
func (db *DB) Rejections(ctx context.Context, counter string, unseenOnly bool) ([]app.JournalOutcome, error) {
	q := `SELECT ` + outcomeCols + ` FROM journal_entries WHERE state = 'rejected' AND counter = ?`
	if unseenOnly {
		q += ` AND seen = 0`
	}
	rows, err := db.q().QueryContext(ctx, q+` ORDER BY uid DESC`, counter)
	if err != nil {
		return nil, fmt.Errorf("rejections: %w", err)
	}
	defer rows.Close()
	var out []app.JournalOutcome
	for rows.Next() {
		o, err := scanOutcome(rows)
		if err != nil {
			return nil, fmt.Errorf("rejections: %w", err)
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

// MarkSeen implements app.JournalStore.
func (db *DB) MarkSeen(ctx context.Context, ids []string) error {
	return db.tx(ctx, "mark seen", func(tx *txn) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE journal_entries SET seen = 1 WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// JournalEntryCount returns how many journal entries were applied and
// rejected (for `amtstresen journal` and the tests).
func (db *DB) JournalEntryCount(ctx context.Context) (applied, rejected int, err error) {
	err = db.q().QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE state = 'applied'), count(*) FILTER (WHERE state = 'rejected') FROM journal_entries`).
		Scan(&applied, &rejected)
	return applied, rejected, err
}

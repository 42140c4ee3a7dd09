package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// AddReview implements app.ReviewStore. A mail is stored once (by its
// content, it.SHA256, computed from Raw when not set; the Message-ID is
// kept for information); it.ID is set to the stored row. The receipt is
// recorded in the same transaction.
func (db *DB) AddReview(ctx context.Context, it *app.ReviewItem, rc *app.Receipt) error {
	if it == nil {
		return errors.New("add review: no item")
	}
	sum := rules.ReviewSum(it)
	return db.tx(ctx, "add review", func(tx pgx.Tx) error {
		now := db.clock(ctx)
		received := it.ReceivedAt
		if received.IsZero() {
			received = now
		}
		var raw any
		if it.Raw != nil {
			raw = it.Raw
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO review_items (message_id, raw_sha256, subject, sender, reason, detail, received_at, size, raw, portal_case)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (message_id, raw_sha256) DO NOTHING RETURNING id`,
			txt(it.MessageID), txt(sum), txt(it.Subject), txt(it.From), txt(string(it.Reason)), txt(it.Detail), received.UTC(), it.Size, raw, txt(it.PortalCase)).Scan(&id)
		inserted := err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			err = tx.QueryRow(ctx, `SELECT id FROM review_items WHERE message_id = $1 AND raw_sha256 = $2`, txt(it.MessageID), txt(sum)).Scan(&id)
		}
		if err != nil {
			return err
		}
		it.ID = id
		if err := recordReceipt(ctx, tx, rc, now, ""); err != nil {
			return err
		}
		if !inserted {
			return nil
		}
		return audit(ctx, tx, rules.ReviewAddAudit(id, it.Reason, now))
	})
}

const reviewCols = `id, message_id, subject, sender, reason, detail, received_at, size, portal_case, handled, handled_by, handled_at, resolution, note, raw_sha256`

func scanReview(sc pgx.Row, extra ...any) (*app.ReviewItem, error) {
	var it app.ReviewItem
	var reason string
	var received, handledAt *time.Time
	dst := append([]any{&it.ID, &it.MessageID, &it.Subject, &it.From, &reason, &it.Detail, &received, &it.Size, &it.PortalCase,
		&it.Handled, &it.HandledBy, &handledAt, &it.Resolution, &it.Note, &it.SHA256}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	it.Reason = app.ReviewReason(reason)
	it.ReceivedAt, it.HandledAt = utc(received), utc(handledAt)
	return &it, nil
}

// ReviewItems implements app.ReviewStore: newest first, without the raw
// mail (ReviewItem has it), which can be megabytes.
func (db *DB) ReviewItems(ctx context.Context, includeHandled bool) ([]app.ReviewItem, error) {
	q := `SELECT ` + reviewCols + ` FROM review_items`
	if !includeHandled {
		q += ` WHERE NOT handled`
	}
	rows, err := db.q().Query(ctx, q+` ORDER BY received_at DESC, id DESC`)
	if err != nil {
		return nil, explain(fmt.Errorf("review items: %w", err))
	}
	defer rows.Close()
	var out []app.ReviewItem
	for rows.Next() {
		it, err := scanReview(rows)
		if err != nil {
			return nil, fmt.Errorf("review items: %w", err)
		}
		out = append(out, *it)
	}
	return out, explain(rows.Err())
}

func reviewNotFound(id int64) error { return rules.ReviewNotFound(id) }

// ReviewItem implements app.ReviewStore, with the raw mail.
func (db *DB) ReviewItem(ctx context.Context, id int64) (*app.ReviewItem, error) {
	var raw []byte
	it, err := scanReview(db.q().QueryRow(ctx, `SELECT `+reviewCols+`, raw FROM review_items WHERE id = $1`, id), &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, reviewNotFound(id)
	}
	if err != nil {
		return nil, explain(fmt.Errorf("review item: %w", err))
	}
	it.Raw = raw
	return it, nil
}

// ResolveReview implements app.ReviewStore. The clerk's note is required;
// an item is resolved once (ECONFLICT after, also when two clerks resolve
// it at once). The audit entry names the case when the resolution does
// ("assigned:REF", "case:REF").
func (db *DB) ResolveReview(ctx context.Context, id int64, resolution, note string, by app.Actor) error {
	resolution, note, err := rules.ResolveInput(resolution, note, by)
	if err != nil {
		return err
	}
	return db.tx(ctx, "resolve review", func(tx pgx.Tx) error {
		now := db.clock(ctx)
		var handled bool
		var handledBy string
		err := tx.QueryRow(ctx, `SELECT handled, handled_by FROM review_items WHERE id = $1 FOR UPDATE`, id).Scan(&handled, &handledBy)
		if errors.Is(err, pgx.ErrNoRows) {
			return reviewNotFound(id)
		}
		if err != nil {
			return err
		}
		entry, err := rules.Resolve(id, handled, handledBy, resolution, by, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE review_items SET handled = true, handled_by = $1, handled_at = $2, resolution = $3, note = $4 WHERE id = $5`,
			txt(by.Clerk), now, txt(resolution), txt(note), id); err != nil {
			return err
		}
		return audit(ctx, tx, entry)
	})
}

// SyncState implements app.SyncStore; ENOTFOUND before the first run.
func (db *DB) SyncState(ctx context.Context, mailbox string) (*app.SyncState, error) {
	var s app.SyncState
	var uv, last int64
	var run *time.Time
	err := db.q().QueryRow(ctx, `SELECT mailbox, uidvalidity, last_uid, last_run, last_result, last_error FROM sync_state WHERE mailbox = $1`, txt(mailbox)).
		Scan(&s.Mailbox, &uv, &last, &run, &s.LastResult, &s.LastError)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, rules.SyncNotFound(mailbox)
	}
	if err != nil {
		return nil, explain(fmt.Errorf("sync state: %w", err))
	}
	s.UIDValidity, s.LastUID, s.LastRun = uint32(uv), uint32(last), utc(run)
	return &s, nil
}

// SaveSyncState implements app.SyncStore. It is audited as "sync.state"
// (cursor and outcome codes, never the summary text).
func (db *DB) SaveSyncState(ctx context.Context, s *app.SyncState) error {
	if s == nil || s.Mailbox == "" {
		return errors.New("save sync state: no mailbox")
	}
	return db.tx(ctx, "save sync state", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sync_state (mailbox, uidvalidity, last_uid, last_run, last_result, last_error)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
			last_run = excluded.last_run, last_result = excluded.last_result, last_error = excluded.last_error`,
			txt(s.Mailbox), int64(s.UIDValidity), int64(s.LastUID), ts(micro(s.LastRun)), txt(s.LastResult), txt(s.LastError)); err != nil {
			return err
		}
		return audit(ctx, tx, rules.SyncStateAudit(s, db.clock(ctx)))
	})
}

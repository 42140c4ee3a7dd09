package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// AddReview implements app.ReviewStore. A mail is stored once (by its
// content, it.SHA256, computed from Raw when not set; the Message-ID is
// kept for information); it.ID is set to the stored row.
// The receipt is recorded in the same transaction.
func (db *DB) AddReview(ctx context.Context, it *app.ReviewItem, rc *app.Receipt) error {
	if it == nil {
		return errors.New("add review: no item")
	}
	sum := rules.ReviewSum(it)
	return db.tx(ctx, "add review", func(tx *txn) error {
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
		err := tx.QueryRowContext(ctx, `INSERT INTO review_items (message_id, raw_sha256, subject, sender, reason, detail, received_at, size, raw, portal_case)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, raw_sha256) DO NOTHING RETURNING id`,
			it.MessageID, sum, it.Subject, it.From, string(it.Reason), it.Detail, fmtTime(received), it.Size, raw, it.PortalCase).Scan(&id)
		inserted := err == nil
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `SELECT id FROM review_items WHERE message_id = ? AND raw_sha256 = ?`, it.MessageID, sum).Scan(&id)
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

func scanReview(sc interface{ Scan(...any) error }, extra ...any) (*app.ReviewItem, error) {
	var it app.ReviewItem
	var reason, received, handledAt string
	dst := append([]any{&it.ID, &it.MessageID, &it.Subject, &it.From, &reason, &it.Detail, &received, &it.Size, &it.PortalCase,
		&it.Handled, &it.HandledBy, &handledAt, &it.Resolution, &it.Note, &it.SHA256}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	it.Reason = app.ReviewReason(reason)
	var err error
	if it.ReceivedAt, err = parseTime(received); err != nil {
		return nil, err
	}
	if it.HandledAt, err = parseTime(handledAt); err != nil {
		return nil, err
	}
	return &it, nil
}

// ReviewItems implements app.ReviewStore: newest first, without the raw
// mail (ReviewItem has it), which can be megabytes.
func (db *DB) ReviewItems(ctx context.Context, includeHandled bool) ([]app.ReviewItem, error) {
	q := `SELECT ` + reviewCols + ` FROM review_items`
	if !includeHandled {
		q += ` WHERE handled = 0`
	}
	rows, err := db.q().QueryContext(ctx, q+` ORDER BY received_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("review items: %w", err)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("review items: %w", err)
	}
	return out, nil
}

func reviewNotFound(id int64) error { return rules.ReviewNotFound(id) }

// ReviewItem implements app.ReviewStore, with the raw mail.
func (db *DB) ReviewItem(ctx context.Context, id int64) (*app.ReviewItem, error) {
	var raw []byte
	it, err := scanReview(db.q().QueryRowContext(ctx, `SELECT `+reviewCols+`, raw FROM review_items WHERE id = ?`, id), &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, reviewNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("review item: %w", err)
	}
	it.Raw = raw
	return it, nil
}

// ResolveReview implements app.ReviewStore. The clerk's note is required;
// an item is resolved once (ECONFLICT after). The audit entry names the
// case when the resolution does ("assigned:REF", "case:REF").
func (db *DB) ResolveReview(ctx context.Context, id int64, resolution, note string, by app.Actor) error {
	resolution, note, err := rules.ResolveInput(resolution, note, by)
	if err != nil {
		return err
	}
	return db.tx(ctx, "resolve review", func(tx *txn) error {
		return resolveReviewTx(ctx, tx, id, resolution, note, by, change{now: db.clock(ctx)})
	})
}

func resolveReviewTx(ctx context.Context, tx *txn, id int64, resolution, note string, by app.Actor, ch change) error {
	var handled bool
	var handledBy string
	err := tx.QueryRowContext(ctx, `SELECT handled, handled_by FROM review_items WHERE id = ?`, id).Scan(&handled, &handledBy)
	if errors.Is(err, sql.ErrNoRows) {
		return reviewNotFound(id)
	}
	if err != nil {
		return err
	}
	entry, err := rules.Resolve(id, handled, handledBy, resolution, by, ch.now)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE review_items SET handled = 1, handled_by = ?, handled_at = ?, resolution = ?, note = ? WHERE id = ?`,
		by.Clerk, fmtTime(ch.now), resolution, note, id); err != nil {
		return err
	}
	return ch.auditLog(ctx, tx, entry)
}

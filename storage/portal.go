package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

var _ app.PortalStore = (*DB)(nil)

// receiptKindReview is the kind of a receipt whose mail went to the
// review list (it does not count as taken in).
const receiptKindReview = "review"

// recordReceipt records the mail as taken in (or reviewed), in the
// transaction of its effect. A mail is its content (rc.SHA256); a receipt
// without it is not recorded. A review receipt gives way when the same
// mail is taken in later (ref: the case it went to); then the trigger
// mail_receipts_taken (migration 0007) resolves its open review entry with
// a note and audits that, in the same statement. A receipt that took the
// mail in is never replaced.
func recordReceipt(ctx context.Context, tx *txn, rc *app.Receipt, at time.Time, ref string) error {
	if rc == nil || rc.SHA256 == "" {
		return nil
	}
	kind := rc.Kind
	if kind == "" {
		kind = receiptKindReview
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_receipts (sha256, kind, portal_case, ref, mailbox, uidvalidity, uid, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET kind = excluded.kind, portal_case = excluded.portal_case,
		ref = excluded.ref, mailbox = excluded.mailbox, uidvalidity = excluded.uidvalidity, uid = excluded.uid, at = excluded.at
		WHERE mail_receipts.kind = 'review' AND excluded.kind <> 'review'`,
		rc.SHA256, kind, rc.PortalCase, ref, rc.Mailbox, int64(rc.UIDValidity), int64(rc.UID), fmtTime(at))
	if err != nil {
		return fmt.Errorf("record receipt: %w", err)
	}
	return nil
}

// Receipts implements app.PortalStore: one query for a whole sync batch.
func (db *DB) Receipts(ctx context.Context, sums []string) (map[string]app.Receipt, error) {
	out := make(map[string]app.Receipt, len(sums))
	const chunk = 500
	for lo := 0; lo < len(sums); lo += chunk {
		part := sums[lo:min(lo+chunk, len(sums))]
		args := make([]any, len(part))
		for i, s := range part {
			args[i] = s
		}
		rows, err := db.q().QueryContext(ctx, `SELECT sha256, kind, portal_case, mailbox, uidvalidity, uid
			FROM mail_receipts WHERE sha256 IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("receipts: %w", err)
		}
		for rows.Next() {
			var r app.Receipt
			var uv, uid int64
			if err := rows.Scan(&r.SHA256, &r.Kind, &r.PortalCase, &r.Mailbox, &uv, &uid); err != nil {
				rows.Close()
				return nil, fmt.Errorf("receipts: %w", err)
			}
			r.UIDValidity, r.UID = uint32(uv), uint32(uid)
			out[r.SHA256] = r
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("receipts: %w", err)
		}
	}
	return out, nil
}

// caseFlags reads the flags of a case inside a transaction.
func caseFlags(ctx context.Context, tx *txn, id int64) ([]app.Flag, error) {
	var flags string
	if err := tx.QueryRowContext(ctx, `SELECT flags FROM cases WHERE id = ?`, id).Scan(&flags); err != nil {
		return nil, err
	}
	return decodeFlags(flags), nil
}

// RequestWithdrawal implements app.PortalStore: a withdrawal in format
// version 1 (its kind not signed) flags the case and keeps the citizen's
// reason as a message; the status stays until a clerk decides. Audited as
// "case.withdrawal.requested".
func (db *DB) RequestWithdrawal(ctx context.Context, portalCase, reason string, rc *app.Receipt) error {
	return db.onOpenPortalCase(ctx, "request withdrawal", portalCase, rc, func(tx *txn, r *caseRow, now time.Time) error {
		flags, err := caseFlags(ctx, tx, r.id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET flags = ?, updated_at = ? WHERE id = ?`,
			encodeFlags(append(flags, app.FlagWithdrawalUnconfirmed)), fmtTime(now), r.id); err != nil {
			return err
		}
		if _, err := addNote(ctx, tx, r.id, now, citizen, "message", rules.WithdrawalRequestText(reason), nil); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: app.PortalActor.Clerk, Action: app.ActionCaseWithdrawalRequested, Ref: r.ref})
	})
}

// DecideWithdrawal implements app.CaseStore.
func (db *DB) DecideWithdrawal(ctx context.Context, ref string, confirm bool, reason string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	reason, err := rules.DecisionInput(reason)
	if err != nil {
		return err
	}
	ref = normRef(ref)
	return db.tx(ctx, "decide withdrawal", func(tx *txn) error {
		r, err := db.caseByRefTx(ctx, tx, ref)
		if err != nil {
			return err
		}
		return db.decideTx(ctx, tx, r, confirm, reason, by, db.clock(ctx))
	})
}

func (db *DB) decideTx(ctx context.Context, tx *txn, r *caseRow, confirm bool, reason string, by app.Actor, now time.Time) error {
	flags, err := caseFlags(ctx, tx, r.id)
	if err != nil {
		return err
	}
	d, err := rules.Decide(r.rc(), flags, confirm, reason, by, now)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET flags = ?, updated_at = ? WHERE id = ?`, encodeFlags(d.Flags), fmtTime(now), r.id); err != nil {
		return err
	}
	ch := change{now: now}
	if d.Withdraw {
		if err := db.setStatus(ctx, tx, r, app.StatusWithdrawn, d.Reason, by.Clerk, by, ch); err != nil {
			return err
		}
	} else if _, err := addNote(ctx, tx, r.id, now, by.Clerk, "note", d.Note, nil); err != nil {
		return err
	}
	return ch.auditLog(ctx, tx, d.Audit)
}

// Unblocked implements app.PortalStore.
func (db *DB) Unblocked(ctx context.Context, limit int) ([]app.ReviewItem, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.q().QueryContext(ctx, `SELECT `+reviewCols+`, raw FROM review_items r
		WHERE r.handled = 0 AND r.reason = ? AND r.portal_case <> '' AND r.raw IS NOT NULL
		AND EXISTS (SELECT 1 FROM cases c WHERE c.portal_case = r.portal_case)
		ORDER BY r.received_at, r.id LIMIT ?`, string(app.ReviewCaseUnknown), limit)
	if err != nil {
		return nil, fmt.Errorf("unblocked: %w", err)
	}
	defer rows.Close()
	var out []app.ReviewItem
	for rows.Next() {
		var raw []byte
		it, err := scanReview(rows, &raw)
		if err != nil {
			return nil, fmt.Errorf("unblocked: %w", err)
		}
		it.Raw = raw
		out = append(out, *it)
	}
	return out, rows.Err()
}

// MailFiled implements app.PortalStore. The places of a sync batch are
// written a few hundred rows per statement.
func (db *DB) MailFiled(ctx context.Context, locs []app.MailLocation) error {
	var rows []app.MailLocation
	for _, l := range locs {
		if l.SHA256 != "" && l.Mailbox != "" && l.UID != 0 {
			rows = append(rows, l)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return db.tx(ctx, "mail filed", func(tx *txn) error {
		const chunk = 200
		for lo := 0; lo < len(rows); lo += chunk {
			part := rows[lo:min(lo+chunk, len(rows))]
			args := make([]any, 0, 4*len(part))
			for _, l := range part {
				args = append(args, l.SHA256, l.Mailbox, int64(l.UIDValidity), int64(l.UID))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_locations (sha256, mailbox, uidvalidity, uid) VALUES (?, ?, ?, ?)`+
				strings.Repeat(", (?, ?, ?, ?)", len(part)-1)+` ON CONFLICT DO NOTHING`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// MailPurges implements app.PortalStore.
func (db *DB) MailPurges(ctx context.Context) ([]app.MailPurge, error) {
	rows, err := db.q().QueryContext(ctx, `SELECT id, mailbox, uidvalidity, uid, sha256, portal_case FROM mail_purges ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("mail purges: %w", err)
	}
	defer rows.Close()
	var out []app.MailPurge
	for rows.Next() {
		var p app.MailPurge
		var uv, uid int64
		if err := rows.Scan(&p.ID, &p.Mailbox, &uv, &uid, &p.SHA256, &p.PortalCase); err != nil {
			return nil, fmt.Errorf("mail purges: %w", err)
		}
		p.UIDValidity, p.UID = uint32(uv), uint32(uid)
		out = append(out, p)
	}
	return out, rows.Err()
}

// MailPurged implements app.PortalStore.
func (db *DB) MailPurged(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return db.tx(ctx, "mail purged", func(tx *txn) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM mail_purges WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// queueMailPurge marks the server copies of the mails with these contents
// for removal (and forgets where they were), in the purge's transaction.
func queueMailPurge(ctx context.Context, tx *txn, sums []string, now string) error {
	var keys []string
	for _, s := range sums {
		if s != "" {
			keys = append(keys, s)
		}
	}
	const chunk = 500
	for lo := 0; lo < len(keys); lo += chunk {
		part := keys[lo:min(lo+chunk, len(keys))]
		in, args := inList(part)
		if _, err := tx.ExecContext(ctx, `INSERT INTO mail_purges (mailbox, uidvalidity, uid, sha256, queued_at)
			SELECT mailbox, uidvalidity, uid, sha256, ? FROM mail_locations WHERE sha256 IN `+in, append([]any{now}, args...)...); err != nil {
			return fmt.Errorf("queue mail purge: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_locations WHERE sha256 IN `+in, args...); err != nil {
			return fmt.Errorf("queue mail purge: %w", err)
		}
	}
	return nil
}

// inList is "(?, ?, …)" for the values, with them as arguments.
func inList(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return "(?" + strings.Repeat(", ?", len(values)-1) + ")", args
}

// queueCaseMails queues the server copies of the purged cases' mails: the
// deliveries taken in for them and the mails on the review list that
// belonged to them (by case id, or assigned to their reference), and a
// search by case id for what was filed without a recorded place. The
// receipts stay (the same mail again is no new case), without the link
// to the case.
func queueCaseMails(ctx context.Context, tx *txn, cases []purgeCase, now string) error {
	var portals, refs []string
	for _, c := range cases {
		refs = append(refs, "assigned:"+c.Ref, "case:"+c.Ref)
		if c.portalCase != "" {
			portals = append(portals, c.portalCase)
		}
	}
	in, args := inList(refs)
	sums, err := stringColumn(ctx, tx, `SELECT raw_sha256 FROM review_items WHERE raw_sha256 <> '' AND resolution IN `+in, args...)
	if err != nil {
		return fmt.Errorf("review mails: %w", err)
	}
	if len(portals) > 0 {
		in, args := inList(portals)
		more, err := stringColumn(ctx, tx, `SELECT raw_sha256 FROM review_items WHERE raw_sha256 <> '' AND portal_case IN `+in, args...)
		if err != nil {
			return fmt.Errorf("review mails: %w", err)
		}
		taken, err := stringColumn(ctx, tx, `SELECT sha256 FROM mail_receipts WHERE portal_case IN `+in, args...)
		if err != nil {
			return fmt.Errorf("receipts: %w", err)
		}
		sums = append(append(sums, more...), taken...)
		if _, err := tx.ExecContext(ctx, `UPDATE mail_receipts SET portal_case = '', ref = '' WHERE portal_case IN `+in, args...); err != nil {
			return fmt.Errorf("receipts: %w", err)
		}
		for _, p := range portals {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_purges (portal_case, queued_at) VALUES (?, ?)`, p, now); err != nil {
				return fmt.Errorf("queue mail purge: %w", err)
			}
		}
	}
	return queueMailPurge(ctx, tx, sums, now)
}

// stringColumn runs a query that returns one text column.
func stringColumn(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

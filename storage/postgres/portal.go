package postgres

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// receiptKindReview is the kind of a receipt whose mail went to the
// review list (it does not count as taken in).
const receiptKindReview = "review"

// recordReceipt records the mail as taken in (or reviewed), in the
// transaction of its effect. A mail is its content (rc.SHA256); a receipt
// without it is not recorded. A review receipt gives way when the same
// mail is taken in later (ref: the case it went to); then the trigger
// mail_receipts_taken (migration 0003) resolves its open review entry with
// a note and audits that, in the same statement. A receipt that took the
// mail in is never replaced.
func recordReceipt(ctx context.Context, tx querier, rc *app.Receipt, at time.Time, ref string) error {
	var r receiptRows
	r.add(rc, ref)
	return r.write(ctx, tx, at)
}

// Receipts implements app.PortalStore: one query for a whole sync batch.
func (db *DB) Receipts(ctx context.Context, sums []string) (map[string]app.Receipt, error) {
	out := make(map[string]app.Receipt, len(sums))
	if len(sums) == 0 {
		return out, nil
	}
	clean := make([]string, len(sums))
	for i, s := range sums {
		clean[i] = txt(s)
	}
	rows, err := db.q().Query(ctx, `SELECT sha256, kind, portal_case, mailbox, uidvalidity, uid FROM mail_receipts WHERE sha256 = ANY ($1)`, clean)
	if err != nil {
		return nil, explain(fmt.Errorf("receipts: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var r app.Receipt
		var uv, uid int64
		if err := rows.Scan(&r.SHA256, &r.Kind, &r.PortalCase, &r.Mailbox, &uv, &uid); err != nil {
			return nil, fmt.Errorf("receipts: %w", err)
		}
		r.UIDValidity, r.UID = uint32(uv), uint32(uid)
		out[r.SHA256] = r
	}
	if err := rows.Err(); err != nil {
		return nil, explain(fmt.Errorf("receipts: %w", err))
	}
	return out, nil
}

// RequestWithdrawal implements app.PortalStore: a withdrawal in format
// version 1 (its kind not signed) flags the case and keeps the citizen's
// reason as a message; the status stays until a clerk decides. Audited as
// "case.withdrawal.requested".
func (db *DB) RequestWithdrawal(ctx context.Context, portalCase, reason string, rc *app.Receipt) error {
	return db.onOpenPortalCase(ctx, "request withdrawal", portalCase, rc, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		flags := append(toFlags(r.flags), app.FlagWithdrawalUnconfirmed)
		if _, err := tx.Exec(ctx, `UPDATE cases SET flags = $1, updated_at = $2 WHERE id = $3`, flagsCol(flags), now, r.id); err != nil {
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
	return db.onCase(ctx, "decide withdrawal", app.ActionCaseWithdrawal, ref, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		return decideTx(ctx, tx, r, confirm, reason, by, now)
	})
}

func decideTx(ctx context.Context, tx pgx.Tx, r *caseRow, confirm bool, reason string, by app.Actor, now time.Time) error {
	d, err := rules.Decide(r.rc(), toFlags(r.flags), confirm, reason, by, now)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE cases SET flags = $1, updated_at = $2 WHERE id = $3`, flagsCol(d.Flags), now, r.id); err != nil {
		return err
	}
	if d.Withdraw {
		if err := setStatus(ctx, tx, r, app.StatusWithdrawn, d.Reason, by.Clerk, by, now); err != nil {
			return err
		}
	} else if _, err := addNote(ctx, tx, r.id, now, by.Clerk, "note", d.Note, nil); err != nil {
		return err
	}
	return audit(ctx, tx, d.Audit)
}

// Unblocked implements app.PortalStore.
func (db *DB) Unblocked(ctx context.Context, limit int) ([]app.ReviewItem, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.q().Query(ctx, `SELECT `+reviewCols+`, raw FROM review_items r
		WHERE NOT r.handled AND r.reason = $1 AND r.portal_case <> '' AND r.raw IS NOT NULL
		AND EXISTS (SELECT 1 FROM cases c WHERE c.portal_case = r.portal_case)
		ORDER BY r.received_at, r.id LIMIT $2`, string(app.ReviewCaseUnknown), limit)
	if err != nil {
		return nil, explain(fmt.Errorf("unblocked: %w", err))
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
	return out, explain(rows.Err())
}

// MailFiled implements app.PortalStore: the places of a sync batch in one
// statement.
func (db *DB) MailFiled(ctx context.Context, locs []app.MailLocation) error {
	var sums, boxes []string
	var uvs, uids []int64
	for _, l := range locs {
		if l.SHA256 != "" && l.Mailbox != "" && l.UID != 0 {
			sums, boxes = append(sums, txt(l.SHA256)), append(boxes, txt(l.Mailbox))
			uvs, uids = append(uvs, int64(l.UIDValidity)), append(uids, int64(l.UID))
		}
	}
	if len(sums) == 0 {
		return nil
	}
	return db.tx(ctx, "mail filed", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO mail_locations (sha256, mailbox, uidvalidity, uid)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) ON CONFLICT DO NOTHING`, sums, boxes, uvs, uids)
		return err
	})
}

// MailPurges implements app.PortalStore.
func (db *DB) MailPurges(ctx context.Context) ([]app.MailPurge, error) {
	rows, err := db.q().Query(ctx, `SELECT id, mailbox, uidvalidity, uid, sha256, portal_case FROM mail_purges ORDER BY id`)
	if err != nil {
		return nil, explain(fmt.Errorf("mail purges: %w", err))
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
	return out, explain(rows.Err())
}

// MailPurged implements app.PortalStore.
func (db *DB) MailPurged(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return db.tx(ctx, "mail purged", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM mail_purges WHERE id = ANY ($1)`, ids)
		return err
	})
}

// queueMailPurge marks the server copies of the mails with these contents
// for removal (and forgets where they were), in the purge's transaction.
func queueMailPurge(ctx context.Context, tx pgx.Tx, sums []string, now time.Time) error {
	var keys []string
	for _, s := range sums {
		if s != "" {
			keys = append(keys, s)
		}
	}
	const chunk = 500 // as the SQLite store, so that the queue has its order
	for lo := 0; lo < len(keys); lo += chunk {
		part := keys[lo:min(lo+chunk, len(keys))]
		if _, err := tx.Exec(ctx, `INSERT INTO mail_purges (mailbox, uidvalidity, uid, sha256, queued_at)
			SELECT mailbox, uidvalidity, uid, sha256, $1 FROM mail_locations WHERE sha256 = ANY ($2)
			ORDER BY mailbox COLLATE "C", uidvalidity, uid`, now, part); err != nil {
			return fmt.Errorf("queue mail purge: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM mail_locations WHERE sha256 = ANY ($1)`, part); err != nil {
			return fmt.Errorf("queue mail purge: %w", err)
		}
	}
	return nil
}

// queueCaseMails queues the server copies of the purged cases' mails: the
// deliveries taken in for them and the mails on the review list that
// belonged to them (by case id, or assigned to their reference), and a
// search by case id for what was filed without a recorded place. The
// receipts stay (the same mail again is no new case), without the link
// to the case.
func queueCaseMails(ctx context.Context, tx pgx.Tx, cases []purgeCase, now time.Time) error {
	var portals, refs []string
	for _, c := range cases {
		refs = append(refs, "assigned:"+c.Ref, "case:"+c.Ref)
		if c.portalCase != "" {
			portals = append(portals, c.portalCase)
		}
	}
	sums, err := stringColumn(ctx, tx, `SELECT raw_sha256 FROM review_items WHERE raw_sha256 <> '' AND resolution = ANY ($1) ORDER BY id`, refs)
	if err != nil {
		return fmt.Errorf("review mails: %w", err)
	}
	if len(portals) > 0 {
		more, err := stringColumn(ctx, tx, `SELECT raw_sha256 FROM review_items WHERE raw_sha256 <> '' AND portal_case = ANY ($1) ORDER BY id`, portals)
		if err != nil {
			return fmt.Errorf("review mails: %w", err)
		}
		taken, err := stringColumn(ctx, tx, `SELECT sha256 FROM mail_receipts WHERE portal_case = ANY ($1) ORDER BY sha256`, portals)
		if err != nil {
			return fmt.Errorf("receipts: %w", err)
		}
		sums = append(append(sums, more...), taken...)
		if _, err := tx.Exec(ctx, `UPDATE mail_receipts SET portal_case = '', ref = '' WHERE portal_case = ANY ($1)`, portals); err != nil {
			return fmt.Errorf("receipts: %w", err)
		}
		for _, p := range portals {
			if _, err := tx.Exec(ctx, `INSERT INTO mail_purges (portal_case, queued_at) VALUES ($1, $2)`, p, now); err != nil {
				return fmt.Errorf("queue mail purge: %w", err)
			}
		}
	}
	return queueMailPurge(ctx, tx, sums, now)
}

// stringColumn runs a query that returns one text column.
func stringColumn(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// syncLock is the key of the advisory lock of the one sync per database
// (advisory locks are per database; migrateLock is another key).
const syncLock = migrateLock + 1

// LockSync implements app.PortalStore with a session-level advisory lock
// on a connection of its own (pg_try_advisory_lock, then pg_advisory_lock
// with lock_timeout = wait): the server releases it when the connection
// ends, also when the process is killed, so a crashed sync never blocks
// the next one. A second sync, on any PC, waits up to wait and then gets
// ECONFLICT with a German message.
func (db *DB) LockSync(ctx context.Context, wait time.Duration) (func(), error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, explain(fmt.Errorf("sync lock: %w", err))
	}
	held := app.Errorf(app.ECONFLICT, "Der Portal-Abgleich läuft bereits (ein anderes Programm gleicht gerade dieselbe Datenbank ab). Dieser Lauf wurde übersprungen; es geht nichts verloren, der laufende Abgleich übernimmt alles.")
	var ok bool
	err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", syncLock).Scan(&ok)
	if err == nil && !ok && wait > 0 {
		ms := max(wait.Milliseconds(), 1)
		_, err = conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d", ms))
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT pg_advisory_lock($1)", syncLock)
			ok = err == nil
			if sqlState(err) == "55P03" {
				err = nil
			}
			if _, rerr := conn.Exec(context.WithoutCancel(ctx), "RESET lock_timeout"); rerr != nil && err == nil {
				err = rerr
			}
		}
	}
	if err != nil || !ok {
		conn.Release()
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			return nil, explain(fmt.Errorf("sync lock: %w", err))
		}
		return nil, held
	}
	db.held.mu.Lock()
	db.held.conns[conn] = true
	db.held.mu.Unlock()
	var once gosync.Once
	return func() {
		once.Do(func() {
			db.held.mu.Lock()
			defer db.held.mu.Unlock()
			if !db.held.conns[conn] {
				return // closed with the store
			}
			delete(db.held.conns, conn)
			if _, err := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", syncLock); err != nil {
				// The lock ends with the connection: close it rather than
				// hand it back to the pool still holding the lock.
				conn.Conn().Close(context.Background())
			}
			conn.Release()
		})
	}, nil
}

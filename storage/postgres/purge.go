package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

type purgeCase struct {
	app.PurgeItem
	id         int64
	portalCase string
}

// Purge deletes what the retention periods of the catalog no longer allow
// to keep, by the rules of the SQLite store (storage.DB.Purge): closed
// cases (with their documents, notes, messages, attachments, search rows,
// review mails and appointments), past appointments, handled review mails
// older than ReviewMonths and audit entries older than AuditMonths. The
// server copies of the deleted mails are queued (MailPurges) for the sync
// to remove from the mailbox. Each deletion is audited by reference only
// ("case.purge", "appointment.purge", "review.purge", "audit.purge").
//
// It runs as the purge's service account (amtstresen_purge): the only
// role that may delete audit entries. The deleted rows' space is taken
// back by the server's autovacuum; what stays in WAL and backups after a
// purge, and for how long, is the README's (Datenschutz und Betrieb).
func (db *DB) Purge(ctx context.Context, o app.PurgeOptions) (*app.PurgeReport, error) {
	rep, err := db.purge(ctx, o)
	return rep, explain(err)
}

func (db *DB) purge(ctx context.Context, o app.PurgeOptions) (*app.PurgeReport, error) {
	now, by, rep := rules.PurgeStart(o, db.now())
	now = micro(now)
	cases, err := db.expiredCases(ctx, now, rep)
	if err != nil {
		return nil, err
	}
	appts, err := db.expiredAppointments(ctx, now, rep)
	if err != nil {
		return nil, err
	}
	for _, c := range cases {
		rep.Cases = append(rep.Cases, c.PurgeItem)
	}
	rep.Appointments = appts
	if o.AuditMonths > 0 {
		rep.AuditBefore = rules.Before(now, o.AuditMonths)
		if err := db.q().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE at < $1`, rep.AuditBefore).Scan(&rep.AuditEntries); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
	}
	if o.ReviewMonths > 0 {
		rep.ReviewBefore = rules.Before(now, o.ReviewMonths)
		if err := db.q().QueryRow(ctx, `SELECT count(*) FROM review_items WHERE handled AND handled_at < $1`,
			rep.ReviewBefore).Scan(&rep.ReviewMails); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
	}
	if o.DryRun {
		return rep, nil
	}

	// Delete in small transactions, so that the windows and the sync wait
	// for a case's row a moment at most.
	const chunk = 100
	for i := 0; i < len(cases); i += chunk {
		part := cases[i:min(i+chunk, len(cases))]
		if err := db.tx(ctx, "purge cases", func(tx pgx.Tx) error {
			// The cases' mails on the server: queued for the sync.
			if err := queueCaseMails(ctx, tx, part, now); err != nil {
				return err
			}
			for _, c := range part {
				if err := deleteCase(ctx, tx, c, now, by); err != nil {
					return fmt.Errorf("%s: %w", c.Ref, err)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	// The words only the deleted search texts had leave the search's
	// word list (migration 0007), after the deletions have committed.
	if len(cases) > 0 {
		if _, err := db.q().Exec(ctx, `SELECT prune_search_words()`); err != nil {
			return nil, fmt.Errorf("purge search words: %w", err)
		}
	}
	for i := 0; i < len(appts); i += chunk {
		part := appts[i:min(i+chunk, len(appts))]
		if err := db.tx(ctx, "purge appointments", func(tx pgx.Tx) error {
			for _, a := range part {
				if _, err := tx.Exec(ctx, `DELETE FROM appointments WHERE uid = $1`, a.Ref); err != nil {
					return err
				}
				if err := audit(ctx, tx, rules.AppointmentPurgeAudit(a, by, now)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if rep.ReviewMails > 0 {
		if err := db.tx(ctx, "purge review mails", func(tx pgx.Tx) error {
			return purgeReviewMails(ctx, tx, rep.ReviewBefore, now, by)
		}); err != nil {
			return nil, err
		}
	}
	if rep.AuditEntries > 0 {
		if err := db.tx(ctx, "purge audit log", func(tx pgx.Tx) error {
			res, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE at < $1`, rep.AuditBefore)
			if err != nil {
				return err
			}
			return audit(ctx, tx, rules.CountPurgeAudit(app.ActionAuditPurge, rep.AuditBefore, res.RowsAffected(), by, now))
		}); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func (db *DB) expiredCases(ctx context.Context, now time.Time, rep *app.PurgeReport) ([]purgeCase, error) {
	rows, err := db.q().Query(ctx, `SELECT id, ref, service, office, closed_at, coalesce(portal_case, '')
		FROM cases WHERE closed_at < $1 ORDER BY closed_at, id`, now)
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	defer rows.Close()
	var out []purgeCase
	for rows.Next() {
		var c purgeCase
		var office string
		if err := rows.Scan(&c.id, &c.Ref, &c.Service, &office, &c.Since, &c.portalCase); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
		c.Office, c.Since = app.OfficeKey(office), c.Since.UTC()
		if rules.Expired(db.reg, &c.PurgeItem, now, false, rep) {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

func (db *DB) expiredAppointments(ctx context.Context, now time.Time, rep *app.PurgeReport) ([]app.PurgeItem, error) {
	// When it took place: its end, else its start, else (a cancellation
	// that never carried a time) when it was last changed.
	rows, err := db.q().Query(ctx, `SELECT uid, service, office, coalesce(end_at, start_at, updated_at) AS took
		FROM appointments WHERE coalesce(end_at, start_at, updated_at) < $1 ORDER BY took, uid`, now)
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	defer rows.Close()
	out := []app.PurgeItem{}
	for rows.Next() {
		var it app.PurgeItem
		var office string
		if err := rows.Scan(&it.Ref, &it.Service, &office, &it.Since); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
		it.Office, it.Since = app.OfficeKey(office), it.Since.UTC()
		if rules.Expired(db.reg, &it, now, true, rep) {
			out = append(out, it)
		}
	}
	return out, rows.Err()
}

// deleteCase removes a case and everything that holds its personal data.
func deleteCase(ctx context.Context, tx pgx.Tx, c purgeCase, now time.Time, by app.Actor) error {
	shas, err := stringColumn(ctx, tx, `SELECT DISTINCT blob FROM attachments WHERE case_id = $1 AND blob IS NOT NULL`, c.id)
	if err != nil {
		return err
	}
	// case_docs, notes (messages), attachments and the search row go by
	// ON DELETE CASCADE.
	if _, err := tx.Exec(ctx, `DELETE FROM cases WHERE id = $1`, c.id); err != nil {
		return err
	}
	// File contents no other case refers to (files are shared by hash).
	if _, err := tx.Exec(ctx, `DELETE FROM blobs b WHERE b.sha256 = ANY ($1) AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob = b.sha256)`, shas); err != nil {
		return fmt.Errorf("attachment data: %w", err)
	}
	// Mails on the review list that belonged to the case (their server
	// copies were queued by queueCaseMails), and its bookings.
	if _, err := tx.Exec(ctx, `DELETE FROM review_items WHERE (portal_case <> '' AND portal_case = $1) OR resolution = ANY ($2)`,
		c.portalCase, []string{"assigned:" + c.Ref, "case:" + c.Ref}); err != nil {
		return fmt.Errorf("review mails: %w", err)
	}
	if c.portalCase != "" {
		if _, err := tx.Exec(ctx, `DELETE FROM appointments WHERE portal_case = $1`, c.portalCase); err != nil {
			return fmt.Errorf("appointments: %w", err)
		}
	}
	return audit(ctx, tx, rules.CasePurgeAudit(c.PurgeItem, by, now))
}

// purgeReviewMails deletes the mails of the review list that were handled
// before before, here and (queued) on the server.
func purgeReviewMails(ctx context.Context, tx pgx.Tx, before, now time.Time, by app.Actor) error {
	sums, err := stringColumn(ctx, tx, `SELECT raw_sha256 FROM review_items WHERE raw_sha256 <> '' AND handled AND handled_at < $1 ORDER BY id`, before)
	if err != nil {
		return err
	}
	if err := queueMailPurge(ctx, tx, sums, now); err != nil {
		return err
	}
	res, err := tx.Exec(ctx, `DELETE FROM review_items WHERE handled AND handled_at < $1`, before)
	if err != nil {
		return err
	}
	return audit(ctx, tx, rules.CountPurgeAudit(app.ActionReviewPurge, before, res.RowsAffected(), by, now))
}

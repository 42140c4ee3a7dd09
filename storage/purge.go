package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// The purge's types are the application's (app.Purger); these names stay
// for the callers of this package.
type (
	PurgeOptions = app.PurgeOptions
	PurgeItem    = app.PurgeItem
	PurgeReport  = app.PurgeReport
)

var _ app.Purger = (*DB)(nil)

type purgeCase struct {
	PurgeItem
	id         int64
	portalCase string
}

// Purge deletes what the retention periods of the catalog no longer allow
// to keep: closed cases (with their documents, notes, messages,
// attachments, search entries, review mails and appointments), past
// appointments, handled review mails older than ReviewMonths and audit
// entries older than AuditMonths. The server copies of the deleted mails
// are queued (MailPurges) for the sync to remove from the mailbox. Each deletion is
// audited by reference only ("case.purge", "appointment.purge",
// "audit.purge"). Then the freed space is overwritten: secure_delete is on
// for every connection, the search index is rebuilt without the deleted
// rows, the database is vacuumed and the WAL truncated, so that no byte of
// a deleted case stays in the database files.
func (db *DB) Purge(ctx context.Context, o PurgeOptions) (*PurgeReport, error) {
	now, by, rep := rules.PurgeStart(o, db.now())
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
		if err := db.q().QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE at < ?`, fmtTime(rep.AuditBefore)).Scan(&rep.AuditEntries); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
	}
	if o.ReviewMonths > 0 {
		rep.ReviewBefore = rules.Before(now, o.ReviewMonths)
		if err := db.q().QueryRowContext(ctx, `SELECT count(*) FROM review_items WHERE handled = 1 AND handled_at <> '' AND handled_at < ?`,
			fmtTime(rep.ReviewBefore)).Scan(&rep.ReviewMails); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
	}
	if o.DryRun {
		return rep, nil
	}

	// Delete in small transactions, so that the window and the sync wait
	// for the write lock a moment at most.
	const chunk = 100
	for i := 0; i < len(cases); i += chunk {
		part := cases[i:min(i+chunk, len(cases))]
		if err := db.tx(ctx, "purge cases", func(tx *txn) error {
			// The cases' mails on the server: queued for the sync.
			if err := queueCaseMails(ctx, tx, part, fmtTime(now)); err != nil {
				return err
			}
			for _, c := range part {
				if err := db.deleteCase(ctx, tx, c, now, by); err != nil {
					return fmt.Errorf("%s: %w", c.Ref, err)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(appts); i += chunk {
		part := appts[i:min(i+chunk, len(appts))]
		if err := db.tx(ctx, "purge appointments", func(tx *txn) error {
			for _, a := range part {
				if _, err := tx.ExecContext(ctx, `DELETE FROM appointments WHERE uid = ?`, a.Ref); err != nil {
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
		if err := db.tx(ctx, "purge review mails", func(tx *txn) error {
			return purgeReviewMails(ctx, tx, rep.ReviewBefore, now, by)
		}); err != nil {
			return nil, err
		}
	}
	if rep.AuditEntries > 0 {
		if err := db.tx(ctx, "purge audit log", func(tx *txn) error {
			return purgeAudit(ctx, tx, rep.AuditBefore, now, by)
		}); err != nil {
			return nil, err
		}
	}
	if len(cases)+len(appts)+rep.AuditEntries+rep.ReviewMails > 0 {
		if err := db.Scrub(ctx); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func (db *DB) expiredCases(ctx context.Context, now time.Time, rep *PurgeReport) ([]purgeCase, error) {
	rows, err := db.q().QueryContext(ctx, `SELECT id, ref, service, office, closed_at, COALESCE(portal_case, '')
		FROM cases WHERE closed_at <> '' AND closed_at < ? ORDER BY closed_at, id`, fmtTime(now))
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	defer rows.Close()
	var out []purgeCase
	for rows.Next() {
		var c purgeCase
		var office, closed string
		if err := rows.Scan(&c.id, &c.Ref, &c.Service, &office, &closed, &c.portalCase); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
		c.Office = app.OfficeKey(office)
		if c.Since, err = parseTime(closed); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
		if rules.Expired(db.reg, &c.PurgeItem, now, false, rep) {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

func (db *DB) expiredAppointments(ctx context.Context, now time.Time, rep *PurgeReport) ([]PurgeItem, error) {
	// When it took place: its end, else its start, else (a cancellation
	// that never carried a time) when it was last changed.
	rows, err := db.q().QueryContext(ctx, `SELECT uid, service, office, COALESCE(NULLIF(end_at, ''), NULLIF(start_at, ''), updated_at) AS took
		FROM appointments WHERE took < ? ORDER BY took, uid`, fmtTime(now))
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	defer rows.Close()
	out := []PurgeItem{}
	for rows.Next() {
		var it PurgeItem
		var office, took string
		if err := rows.Scan(&it.Ref, &it.Service, &office, &took); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
		it.Office = app.OfficeKey(office)
		if it.Since, err = parseTime(took); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
		if rules.Expired(db.reg, &it, now, true, rep) {
			out = append(out, it)
		}
	}
	return out, rows.Err()
}

// deleteCase removes a case and everything that holds its personal data.
func (db *DB) deleteCase(ctx context.Context, tx *txn, c purgeCase, now time.Time, by app.Actor) error {
	var shas []string
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT blob FROM attachments WHERE case_id = ? AND blob IS NOT NULL`, c.id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		shas = append(shas, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// The search row (contentless: deleted by rowid; its tokens leave the
	// index when Scrub rebuilds it).
	if err := db.unindexCase(ctx, tx, c.id); err != nil {
		return err
	}
	// case_docs, notes (messages) and attachments go by ON DELETE CASCADE.
	if _, err := tx.ExecContext(ctx, `DELETE FROM cases WHERE id = ?`, c.id); err != nil {
		return err
	}
	// File contents no other case refers to (files are shared by hash).
	for _, s := range shas {
		if _, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE sha256 = ? AND NOT EXISTS (SELECT 1 FROM attachments WHERE blob = ?)`, s, s); err != nil {
			return fmt.Errorf("attachment data: %w", err)
		}
	}
	// Mails on the review list that belonged to the case (their server
	// copies were queued by queueCaseMails), and its bookings.
	if _, err := tx.ExecContext(ctx, `DELETE FROM review_items WHERE (portal_case <> '' AND portal_case = ?) OR resolution IN (?, ?)`,
		c.portalCase, "assigned:"+c.Ref, "case:"+c.Ref); err != nil {
		return fmt.Errorf("review mails: %w", err)
	}
	if c.portalCase != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM appointments WHERE portal_case = ?`, c.portalCase); err != nil {
			return fmt.Errorf("appointments: %w", err)
		}
	}
	return audit(ctx, tx, rules.CasePurgeAudit(c.PurgeItem, by, now))
}

// purgeReviewMails deletes the mails of the review list that were handled
// before before, here and (queued) on the server.
func purgeReviewMails(ctx context.Context, tx *txn, before, now time.Time, by app.Actor) error {
	where := `handled = 1 AND handled_at <> '' AND handled_at < ?`
	sums, err := stringColumn(ctx, tx, `SELECT raw_sha256 FROM review_items WHERE raw_sha256 <> '' AND `+where, fmtTime(before))
	if err != nil {
		return err
	}
	if err := queueMailPurge(ctx, tx, sums, fmtTime(now)); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM review_items WHERE `+where, fmtTime(before))
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	return audit(ctx, tx, rules.CountPurgeAudit(app.ActionReviewPurge, before, n, by, now))
}

// auditNoDelete is the trigger of migration 0001, created again exactly.
const auditNoDelete = `CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END`

// purgeAudit deletes audit entries older than before. The trigger that
// refuses deletions is dropped and created again inside the same
// transaction, so that no other connection ever sees the log unprotected.
func purgeAudit(ctx context.Context, tx *txn, before, now time.Time, by app.Actor) error {
	if _, err := tx.ExecContext(ctx, `DROP TRIGGER audit_log_no_delete`); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE at < ?`, fmtTime(before))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, auditNoDelete); err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	return audit(ctx, tx, rules.CountPurgeAudit(app.ActionAuditPurge, before, n, by, now))
}

// Scrub overwrites what deleted rows left behind: it rebuilds the search
// index (a contentless FTS5 index keeps deleted tokens until its segments
// are merged), vacuums the database (secure_delete zeroes freed pages;
// VACUUM rewrites the file and cuts off the rest) and truncates the WAL,
// which holds older versions of pages, to zero bytes. The VACUUM's
// temporary copy stays in memory, never in a temporary file.
func (db *DB) Scrub(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `INSERT INTO cases_fts (cases_fts) VALUES ('optimize')`); err != nil {
		return fmt.Errorf("scrub: search index: %w", err)
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	defer conn.Close()
	for _, q := range []string{"PRAGMA secure_delete = ON", "PRAGMA temp_store = MEMORY"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("scrub: %s: %w", q, err)
		}
	}
	if err := checkpoint(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("scrub: vacuum: %w", err)
	}
	if err := checkpoint(ctx, conn); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "PRAGMA temp_store = DEFAULT")
	return err
}

// checkpoint copies the WAL into the database and truncates it to zero
// bytes. A reader of another connection can keep it busy for a moment;
// it is retried for up to a minute.
func checkpoint(ctx context.Context, conn *sql.Conn) error {
	deadline := time.Now().Add(time.Minute)
	for {
		var busy, logFrames, done int
		if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("scrub: checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return app.Errorf(app.ECONFLICT, "Die Datenbank wird gerade gelesen; die gelöschten Daten konnten noch nicht überschrieben werden. Bitte „amtstresen purge“ später erneut ausführen.")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

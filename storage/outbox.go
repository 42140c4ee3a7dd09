package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

var (
	_ app.OutboxStore  = (*DB)(nil)
	_ app.OutboxSender = (*DB)(nil)
)

// messageCase reads what the outbox needs of the case r.
func messageCase(ctx context.Context, tx *txn, r *caseRow) (*rules.MessageCase, error) {
	c := &rules.MessageCase{Case: r.rc(), ID: r.id}
	var portal sql.NullString
	var received, applicant string
	err := tx.QueryRowContext(ctx, `SELECT c.portal_case, c.service, c.received_at, d.applicant
		FROM cases c JOIN case_docs d ON d.case_id = c.id WHERE c.id = ?`, r.id).Scan(&portal, &c.Service, &received, &applicant)
	if err != nil {
		return nil, fmt.Errorf("message case: %w", err)
	}
	c.PortalCase = portal.String
	if c.Received, err = parseTime(received); err != nil {
		return nil, err
	}
	if applicant != "" {
		if err := json.Unmarshal([]byte(applicant), &c.Applicant); err != nil {
			return nil, fmt.Errorf("message case: applicant: %w", err)
		}
	}
	return c, nil
}

// queueMessage writes o into the outbox, and a walk-in case's letter into
// the print queue, in the transaction of the change that causes it.
func queueMessage(ctx context.Context, tx *txn, o *app.Outgoing) error {
	if o == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (nachricht, case_id, portal_case, office, status, free, text, documents,
		deadline, forwarded_to, document, queued_at, queued_by, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Nachricht, o.CaseID, o.PortalCase, string(o.Office), string(o.Status), o.Free, o.Text, rules.EncodeDocuments(o.Documents),
		rules.FormatDay(o.Deadline), string(o.ForwardedTo), o.Document, fmtTime(o.QueuedAt), o.QueuedBy, string(o.State)); err != nil {
		return fmt.Errorf("queue message: %w", err)
	}
	if o.State == app.OutboxLetter {
		return addPrintJob(ctx, tx, o.CaseID, rules.LetterJob(o, o.Office, o.QueuedAt))
	}
	return nil
}

func addPrintJob(ctx context.Context, tx *txn, caseID int64, j *app.PrintJob) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO print_jobs (kind, case_id, office, nachricht, status, why, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, string(j.Kind), caseID, string(j.Office), j.Nachricht, string(j.Status), j.Why, fmtTime(j.CreatedAt)); err != nil {
		return fmt.Errorf("print job: %w", err)
	}
	return nil
}

// ChangeCase implements app.OutboxStore. The message is written first and
// the change after it, in one transaction: a change that fails takes the
// message with it.
func (db *DB) ChangeCase(ctx context.Context, ref string, ch app.CaseChange, msg *app.Tell, by app.Actor) (*app.Outgoing, error) {
	if err := needClerk(by); err != nil {
		return nil, err
	}
	if err := rules.ChangeInput(db.reg, ch); err != nil {
		return nil, err
	}
	ch.Reason = strings.TrimSpace(ch.Reason)
	ref = normRef(ref)
	var out *app.Outgoing
	err := db.tx(ctx, "change case", func(tx *txn) error {
		out = nil
		r, err := db.caseByRefTx(ctx, tx, ref)
		if err != nil {
			return err
		}
		mc, err := messageCase(ctx, tx, r)
		if err != nil {
			return err
		}
		now := db.clock(ctx)
		o, err := rules.Tell(db.reg, mc, ch, msg, by, now)
		if err != nil {
			return err
		}
		if err := queueMessage(ctx, tx, o); err != nil {
			return err
		}
		c := change{now: now}
		switch ch.Kind {
		case app.ChangeStatus:
			err = db.setStatus(ctx, tx, r, ch.Status, ch.Reason, by.Clerk, by, c)
		case app.ChangeForward:
			err = db.forwardTx(ctx, tx, r, ch.Office, ch.Reason, by, c)
		case app.ChangeWithdrawal:
			err = db.decideTx(ctx, tx, r, ch.Confirm, ch.Reason, by, now)
		}
		if err != nil {
			return err
		}
		if o != nil {
			if err := audit(ctx, tx, rules.TellAudit(o, r.office, by)); err != nil {
				return err
			}
		}
		out = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const outboxCols = `o.nachricht, o.message_id, o.case_id, c.ref, o.portal_case, o.office, o.status, o.free, o.text, o.documents,
	o.deadline, o.forwarded_to, o.document, o.queued_at, o.queued_by, o.state, o.attempts, o.next_attempt, o.sent_at,
	o.failure_class, o.failure_code, o.reason, o.receipt_at, o.grund`

func scanOutgoing(sc interface{ Scan(...any) error }, extra ...any) (*app.Outgoing, error) {
	var o app.Outgoing
	var office, status, docs, deadline, fwd, queued, state, next, sent, receipt string
	dest := append([]any{&o.Nachricht, &o.MessageID, &o.CaseID, &o.Ref, &o.PortalCase, &office, &status, &o.Free, &o.Text, &docs,
		&deadline, &fwd, &o.Document, &queued, &o.QueuedBy, &state, &o.Attempts, &next, &sent,
		&o.FailureClass, &o.FailureCode, &o.Reason, &receipt, &o.Grund}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	o.Office, o.Status, o.State, o.ForwardedTo = app.OfficeKey(office), app.PortalStatus(status), app.OutboxState(state), app.OfficeKey(fwd)
	o.Documents, o.Deadline = rules.DecodeDocuments(docs), rules.ParseDay(deadline)
	var err error
	for _, p := range []struct {
		s string
		t *time.Time
	}{{queued, &o.QueuedAt}, {next, &o.NextAttempt}, {sent, &o.SentAt}, {receipt, &o.ReceiptAt}} {
		if *p.t, err = parseTime(p.s); err != nil {
			return nil, err
		}
	}
	return &o, nil
}

func (db *DB) listOutgoing(ctx context.Context, q queryer, where string, args ...any) ([]app.Outgoing, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox o JOIN cases c ON c.id = o.case_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	var out []app.Outgoing
	for rows.Next() {
		o, err := scanOutgoing(rows)
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

// CaseMessages implements app.OutboxStore.
func (db *DB) CaseMessages(ctx context.Context, ref string) ([]app.Outgoing, error) {
	ref = normRef(ref)
	var id int64
	err := db.q().QueryRowContext(ctx, `SELECT id FROM cases WHERE ref = ?`, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(ref)
	}
	if err != nil {
		return nil, fmt.Errorf("case messages: %w", err)
	}
	return db.listOutgoing(ctx, db.q(), `WHERE o.case_id = ? ORDER BY o.queued_at, o.id`, id)
}

// OutboxMessages implements app.OutboxStore and app.OutboxSender.
func (db *DB) OutboxMessages(ctx context.Context, f app.OutboxFilter) ([]app.Outgoing, error) {
	var conds []string
	var args []any
	in := func(col string, vals []string) {
		conds = append(conds, col+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(f.States) > 0 {
		vals := make([]string, len(f.States))
		for i, s := range f.States {
			vals[i] = string(s)
		}
		in("o.state", vals)
	}
	if f.Undelivered {
		in("o.state", []string{string(app.OutboxUndelivered), string(app.OutboxUnzustellbar), string(app.OutboxRefused)})
	}
	if len(f.Offices) > 0 {
		vals := make([]string, len(f.Offices))
		for i, o := range f.Offices {
			vals[i] = string(o)
		}
		in("c.office", vals)
	}
	if f.Ref != "" {
		conds = append(conds, "c.ref = ?")
		args = append(args, normRef(f.Ref))
	}
	if f.Nachricht != "" {
		conds = append(conds, "o.nachricht = ?")
		args = append(args, strings.ToLower(strings.TrimSpace(f.Nachricht)))
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	where += " ORDER BY o.queued_at DESC, o.id DESC"
	if f.Limit > 0 {
		where += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return db.listOutgoing(ctx, db.q(), where, args...)
}

// outgoingTx reads one message in a transaction; nil when unknown.
func outgoingTx(ctx context.Context, tx *txn, nachricht string) (*app.Outgoing, error) {
	o, err := scanOutgoing(tx.QueryRowContext(ctx, `SELECT `+outboxCols+` FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.nachricht = ?`, strings.ToLower(strings.TrimSpace(nachricht))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return o, err
}

// Resend implements app.OutboxStore.
func (db *DB) Resend(ctx context.Context, nachricht string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	return db.tx(ctx, "resend", func(tx *txn) error {
		o, err := outgoingTx(ctx, tx, nachricht)
		if err != nil {
			return err
		}
		if o == nil {
			return rules.OutboxNotFound(nachricht)
		}
		if err := rules.ResendInput(o); err != nil {
			return err
		}
		now := db.clock(ctx)
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'queued', next_attempt = '' WHERE nachricht = ?`, o.Nachricht); err != nil {
			return err
		}
		var office string
		if err := tx.QueryRowContext(ctx, `SELECT office FROM cases WHERE id = ?`, o.CaseID).Scan(&office); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: app.OfficeKey(office), Action: app.ActionCaseResend, Ref: o.Ref, Detail: string(o.Status)})
	})
}

const printCols = `p.id, p.kind, c.ref, c.office, p.nachricht, p.status, p.why, p.created_at, p.printed_at, p.printed_by`

func scanPrintJob(sc interface{ Scan(...any) error }) (*app.PrintJob, error) {
	var j app.PrintJob
	var kind, office, status, created, printed string
	if err := sc.Scan(&j.ID, &kind, &j.Ref, &office, &j.Nachricht, &status, &j.Why, &created, &printed, &j.PrintedBy); err != nil {
		return nil, err
	}
	j.Kind, j.Office, j.Status = app.PrintKind(kind), app.OfficeKey(office), app.PortalStatus(status)
	var err error
	if j.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if j.PrintedAt, err = parseTime(printed); err != nil {
		return nil, err
	}
	return &j, nil
}

// PrintJobs implements app.OutboxStore.
func (db *DB) PrintJobs(ctx context.Context, f app.PrintFilter) ([]app.PrintJob, error) {
	var conds []string
	var args []any
	if !f.Printed {
		conds = append(conds, "p.printed_at = ''")
	}
	if len(f.Offices) > 0 {
		conds = append(conds, "c.office IN (?"+strings.Repeat(", ?", len(f.Offices)-1)+")")
		for _, o := range f.Offices {
			args = append(args, string(o))
		}
	}
	if f.Ref != "" {
		conds = append(conds, "c.ref = ?")
		args = append(args, normRef(f.Ref))
	}
	if f.ID != 0 {
		conds = append(conds, "p.id = ?")
		args = append(args, f.ID)
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := db.q().QueryContext(ctx, `SELECT `+printCols+` FROM print_jobs p JOIN cases c ON c.id = p.case_id `+where+` ORDER BY p.created_at, p.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("print jobs: %w", err)
	}
	defer rows.Close()
	var out []app.PrintJob
	for rows.Next() {
		j, err := scanPrintJob(rows)
		if err != nil {
			return nil, fmt.Errorf("print jobs: %w", err)
		}
		out = append(out, *j)
	}
	return out, rows.Err()
}

// MarkPrinted implements app.OutboxStore.
func (db *DB) MarkPrinted(ctx context.Context, id int64, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	return db.tx(ctx, "mark printed", func(tx *txn) error {
		j, err := scanPrintJob(tx.QueryRowContext(ctx, `SELECT `+printCols+` FROM print_jobs p JOIN cases c ON c.id = p.case_id WHERE p.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return rules.PrintJobNotFound(id)
		}
		if err != nil || !j.PrintedAt.IsZero() {
			return err
		}
		now := db.clock(ctx)
		if _, err := tx.ExecContext(ctx, `UPDATE print_jobs SET printed_at = ?, printed_by = ? WHERE id = ?`, fmtTime(now), by.Clerk, id); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: j.Office, Action: app.ActionCasePrinted, Ref: j.Ref, Detail: string(j.Kind)})
	})
}

// NextDue implements app.OutboxSender.
func (db *DB) NextDue(ctx context.Context, now time.Time) (*app.Outgoing, error) {
	var raw []byte
	o, err := scanOutgoing(db.q().QueryRowContext(ctx, `SELECT `+outboxCols+`, o.raw FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.state IN ('queued', 'failed') AND o.portal_case <> '' AND (o.state = 'queued' OR o.next_attempt <= ?)
		ORDER BY o.queued_at, o.id LIMIT 1`, fmtTime(now)), &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("next due: %w", err)
	}
	o.Raw = raw
	return o, nil
}

// StoreComposed implements app.OutboxSender.
func (db *DB) StoreComposed(ctx context.Context, nachricht, messageID string, raw []byte) ([]byte, error) {
	if len(raw) == 0 || strings.TrimSpace(messageID) == "" {
		return nil, app.Errorf(app.EINVALID, "Die zusammengestellte Nachricht ist leer.")
	}
	var stored []byte
	err := db.tx(ctx, "store composed", func(tx *txn) error {
		var have []byte
		err := tx.QueryRowContext(ctx, `SELECT raw FROM outbox WHERE nachricht = ?`, nachricht).Scan(&have)
		if errors.Is(err, sql.ErrNoRows) {
			return rules.OutboxNotFound(nachricht)
		}
		if err != nil {
			return err
		}
		if have != nil {
			stored = have
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET raw = ?, message_id = ? WHERE nachricht = ?`, raw, messageID, nachricht); err != nil {
			return err
		}
		stored = raw
		return nil
	})
	return stored, err
}

// MarkSent implements app.OutboxSender.
func (db *DB) MarkSent(ctx context.Context, nachricht string, at time.Time) error {
	return db.tx(ctx, "mark sent", func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at = CASE WHEN sent_at = '' THEN ? ELSE sent_at END,
			state = CASE WHEN state IN ('queued', 'failed', 'undelivered') THEN 'sent' ELSE state END,
			next_attempt = '', reason = CASE WHEN state IN ('queued', 'failed', 'undelivered') THEN '' ELSE reason END
			WHERE nachricht = ?`, fmtTime(at), nachricht)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return rules.OutboxNotFound(nachricht)
		}
		return nil
	})
}

// MarkFailed implements app.OutboxSender.
func (db *DB) MarkFailed(ctx context.Context, nachricht string, f app.OutboxFailure, next time.Time) error {
	state := app.OutboxFailed
	if next.IsZero() {
		state = app.OutboxUndelivered
	}
	return db.tx(ctx, "mark failed", func(tx *txn) error {
		// Only a message still waiting: a late report of a failed attempt
		// never undoes "sent" or a quittung.
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, attempts = attempts + 1, next_attempt = ?,
			failure_class = ?, failure_code = ?, reason = ? WHERE nachricht = ? AND state IN ('queued', 'failed', 'undelivered')`,
			string(state), fmtTime(next), f.Class, f.Code, f.Reason, nachricht)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE nachricht = ?`, nachricht).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return rules.OutboxNotFound(nachricht)
			}
		}
		return nil
	})
}

// ApplyQuittung implements app.OutboxSender.
func (db *DB) ApplyQuittung(ctx context.Context, q *app.Quittung, rc *app.Receipt) error {
	if q == nil {
		return app.Errorf(app.EINVALID, "Keine Quittung angegeben.")
	}
	return db.tx(ctx, "apply quittung", func(tx *txn) error {
		o, err := outgoingTx(ctx, tx, q.Nachricht)
		if err != nil {
			return err
		}
		if o == nil {
			return rules.OutboxNotFound(q.Nachricht)
		}
		if err := rules.QuittungInput(q, o); err != nil {
			return err
		}
		now := db.clock(ctx)
		if err := recordReceipt(ctx, tx, rc, now, o.Ref); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox_receipts (nachricht, result, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			o.Nachricht, string(q.Result), fmtTime(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // applied before: one effect
		}
		at := q.At
		if at.IsZero() {
			at = now
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, receipt_at = ?, grund = ?, reason = ?, next_attempt = '' WHERE nachricht = ?`,
			string(q.Result), fmtTime(at), q.Grund, rules.QuittungReason(q), o.Nachricht); err != nil {
			return err
		}
		var flag app.Flag
		switch q.Result {
		case app.OutboxUnzustellbar:
			flag = app.FlagCitizenUnreachable
			var office string
			if err := tx.QueryRowContext(ctx, `SELECT office FROM cases WHERE id = ?`, o.CaseID).Scan(&office); err != nil {
				return err
			}
			if err := addPrintJob(ctx, tx, o.CaseID, rules.LetterJob(o, app.OfficeKey(office), now)); err != nil {
				return err
			}
		case app.OutboxRefused:
			flag = app.FlagCitizenMessageRefused
		}
		if flag != "" {
			flags, err := caseFlags(ctx, tx, o.CaseID)
			if err != nil {
				return err
			}
			if !hasFlag(flags, flag) {
				if _, err := tx.ExecContext(ctx, `UPDATE cases SET flags = ?, updated_at = ? WHERE id = ?`,
					encodeFlags(append(flags, flag)), fmtTime(now), o.CaseID); err != nil {
					return err
				}
			}
		}
		return audit(ctx, tx, rules.QuittungAudit(o, q, now))
	})
}

func hasFlag(fs []app.Flag, f app.Flag) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

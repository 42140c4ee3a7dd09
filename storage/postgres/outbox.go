package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

var (
	_ app.OutboxStore  = (*DB)(nil)
	_ app.OutboxSender = (*DB)(nil)
)

// messageCase reads what the outbox needs of the case r.
func messageCase(ctx context.Context, tx pgx.Tx, r *caseRow) (*rules.MessageCase, error) {
	c := &rules.MessageCase{Case: r.rc(), ID: r.id}
	var applicant string
	err := tx.QueryRow(ctx, `SELECT coalesce(c.portal_case, ''), c.service, c.received_at, d.applicant::text
		FROM cases c JOIN case_docs d ON d.case_id = c.id WHERE c.id = $1`, r.id).Scan(&c.PortalCase, &c.Service, &c.Received, &applicant)
	if err != nil {
		return nil, fmt.Errorf("message case: %w", err)
	}
	c.Received = c.Received.UTC()
	if applicant != "" {
		if err := json.Unmarshal([]byte(applicant), &c.Applicant); err != nil {
			return nil, fmt.Errorf("message case: applicant: %w", err)
		}
	}
	return c, nil
}

func docsCol(docs []string) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = txt(d)
	}
	return out
}

// queueMessage writes o into the outbox, and a walk-in case's letter into
// the print queue, in the transaction of the change that causes it.
func queueMessage(ctx context.Context, tx querier, o *app.Outgoing) error {
	if o == nil {
		return nil
	}
	return queueMessages(ctx, tx, []*app.Outgoing{o})
}

// queueMessages is queueMessage of several messages, in one statement.
func queueMessages(ctx context.Context, tx querier, os []*app.Outgoing) error {
	if len(os) == 0 {
		return nil
	}
	var portals, offices, statuses, texts, docs, fwds, documents, bys, states []string
	var nachrichten []string
	var ids []int64
	var frees []bool
	var deadlines []*string
	var queued []time.Time
	for _, o := range os {
		nachrichten, ids = append(nachrichten, o.Nachricht), append(ids, o.CaseID)
		portals, offices, statuses, frees = append(portals, txt(o.PortalCase)), append(offices, string(o.Office)), append(statuses, string(o.Status)), append(frees, o.Free)
		texts, docs, deadlines = append(texts, txt(o.Text)), append(docs, arrayLiteral(docsCol(o.Documents))), append(deadlines, dayText(o.Deadline))
		fwds, documents, queued = append(fwds, string(o.ForwardedTo)), append(documents, o.Document), append(queued, micro(o.QueuedAt))
		bys, states = append(bys, txt(o.QueuedBy)), append(states, string(o.State))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (nachricht, case_id, portal_case, office, status, free, text, documents,
		deadline, forwarded_to, document, queued_at, queued_by, state)
		SELECT n, c, p, o, s, f, t, d::text[], dl::date, fw, doc, q, b, st
		FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::text[], $8::text[], $9::text[],
			$10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::text[]) AS x(n, c, p, o, s, f, t, d, dl, fw, doc, q, b, st)`,
		nachrichten, ids, portals, offices, statuses, frees, texts, docs, deadlines, fwds, documents, queued, bys, states); err != nil {
		return fmt.Errorf("queue message: %w", err)
	}
	for _, o := range os {
		if o.State == app.OutboxLetter {
			if err := addPrintJob(ctx, tx, o.CaseID, rules.LetterJob(o, o.Office, o.QueuedAt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// dayText is a date for a date column, nil for none.
func dayText(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rules.FormatDay(t)
	return &s
}

func addPrintJob(ctx context.Context, tx querier, caseID int64, j *app.PrintJob) error {
	if _, err := tx.Exec(ctx, `INSERT INTO print_jobs (kind, case_id, office, nachricht, status, why, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, string(j.Kind), caseID, string(j.Office), j.Nachricht, string(j.Status), j.Why, micro(j.CreatedAt)); err != nil {
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
	var out *app.Outgoing
	err := db.onCase(ctx, "change case", ch.Kind.Action(), ref, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		out = nil
		mc, err := messageCase(ctx, tx, r)
		if err != nil {
			return err
		}
		o, err := rules.Tell(db.reg, mc, ch, msg, by, now)
		if err != nil {
			return err
		}
		if err := queueMessage(ctx, tx, o); err != nil {
			return err
		}
		switch ch.Kind {
		case app.ChangeStatus:
			err = setStatus(ctx, tx, r, ch.Status, ch.Reason, by.Clerk, by, now)
		case app.ChangeForward:
			err = db.forwardTx(ctx, tx, r, db.reg.Office(ch.Office), ch.Reason, by, now)
		case app.ChangeWithdrawal:
			err = decideTx(ctx, tx, r, ch.Confirm, ch.Reason, by, now)
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

func scanOutgoing(sc pgx.Row, extra ...any) (*app.Outgoing, error) {
	var o app.Outgoing
	var office, status, fwd, state string
	var deadline, next, sent, receipt *time.Time
	dest := append([]any{&o.Nachricht, &o.MessageID, &o.CaseID, &o.Ref, &o.PortalCase, &office, &status, &o.Free, &o.Text, &o.Documents,
		&deadline, &fwd, &o.Document, &o.QueuedAt, &o.QueuedBy, &state, &o.Attempts, &next, &sent,
		&o.FailureClass, &o.FailureCode, &o.Reason, &receipt, &o.Grund}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	o.Office, o.Status, o.State, o.ForwardedTo = app.OfficeKey(office), app.PortalStatus(status), app.OutboxState(state), app.OfficeKey(fwd)
	if len(o.Documents) == 0 {
		o.Documents = nil
	}
	if deadline != nil {
		o.Deadline = rules.ParseDay(deadline.Format("2006-01-02"))
	}
	o.QueuedAt, o.NextAttempt, o.SentAt, o.ReceiptAt = o.QueuedAt.UTC(), utc(next), utc(sent), utc(receipt)
	return &o, nil
}

func listOutgoing(ctx context.Context, q querier, where string, args ...any) ([]app.Outgoing, error) {
	rows, err := q.Query(ctx, `SELECT `+outboxCols+` FROM outbox o JOIN cases c ON c.id = o.case_id `+where, args...)
	if err != nil {
		return nil, explain(fmt.Errorf("outbox: %w", err))
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
	return out, explain(rows.Err())
}

// CaseMessages implements app.OutboxStore.
func (db *DB) CaseMessages(ctx context.Context, ref string) ([]app.Outgoing, error) {
	ref = normRef(ref)
	var id int64
	err := db.q().QueryRow(ctx, `SELECT id FROM cases WHERE ref = $1`, ref).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, db.caseRefused(ctx, app.ActionCaseRead, ref, "", notFound(ref))
	}
	if err != nil {
		return nil, explain(fmt.Errorf("case messages: %w", err))
	}
	return listOutgoing(ctx, db.q(), `WHERE o.case_id = $1 ORDER BY o.queued_at, o.id`, id)
}

// OutboxMessages implements app.OutboxStore and app.OutboxSender.
func (db *DB) OutboxMessages(ctx context.Context, f app.OutboxFilter) ([]app.Outgoing, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.States) > 0 {
		vals := make([]string, len(f.States))
		for i, s := range f.States {
			vals[i] = string(s)
		}
		conds = append(conds, "o.state = ANY ("+arg(vals)+")")
	}
	if f.Undelivered {
		conds = append(conds, "o.state IN ('undelivered', 'unzustellbar', 'abgelehnt')")
	}
	if len(f.Offices) > 0 {
		vals := make([]string, len(f.Offices))
		for i, o := range f.Offices {
			vals[i] = string(o)
		}
		conds = append(conds, "c.office = ANY ("+arg(vals)+")")
	}
	if f.Ref != "" {
		conds = append(conds, "c.ref = "+arg(normRef(f.Ref)))
	}
	if f.Nachricht != "" {
		conds = append(conds, "o.nachricht = "+arg(strings.ToLower(strings.TrimSpace(f.Nachricht))))
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	where += " ORDER BY o.queued_at DESC, o.id DESC"
	if f.Limit > 0 {
		where += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return listOutgoing(ctx, db.q(), where, args...)
}

// outgoingTx reads and locks one message in a transaction; nil when unknown.
func outgoingTx(ctx context.Context, tx pgx.Tx, nachricht string) (*app.Outgoing, error) {
	o, err := scanOutgoing(tx.QueryRow(ctx, `SELECT `+outboxCols+` FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.nachricht = $1 FOR UPDATE OF o`, strings.ToLower(strings.TrimSpace(txt(nachricht)))))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return o, err
}

// Resend implements app.OutboxStore.
func (db *DB) Resend(ctx context.Context, nachricht string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	return db.tx(ctx, "resend", func(tx pgx.Tx) error {
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
		if _, err := tx.Exec(ctx, `UPDATE outbox SET state = 'queued', next_attempt = NULL WHERE nachricht = $1`, o.Nachricht); err != nil {
			return err
		}
		var office string
		if err := tx.QueryRow(ctx, `SELECT office FROM cases WHERE id = $1`, o.CaseID).Scan(&office); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: app.OfficeKey(office), Action: app.ActionCaseResend, Ref: o.Ref, Detail: string(o.Status)})
	})
}

const printCols = `p.id, p.kind, c.ref, c.office, p.nachricht, p.status, p.why, p.created_at, p.printed_at, p.printed_by`

func scanPrintJob(sc pgx.Row) (*app.PrintJob, error) {
	var j app.PrintJob
	var kind, office, status string
	var printed *time.Time
	if err := sc.Scan(&j.ID, &kind, &j.Ref, &office, &j.Nachricht, &status, &j.Why, &j.CreatedAt, &printed, &j.PrintedBy); err != nil {
		return nil, err
	}
	j.Kind, j.Office, j.Status = app.PrintKind(kind), app.OfficeKey(office), app.PortalStatus(status)
	j.CreatedAt, j.PrintedAt = j.CreatedAt.UTC(), utc(printed)
	return &j, nil
}

// PrintJobs implements app.OutboxStore.
func (db *DB) PrintJobs(ctx context.Context, f app.PrintFilter) ([]app.PrintJob, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if !f.Printed {
		conds = append(conds, "p.printed_at IS NULL")
	}
	if len(f.Offices) > 0 {
		vals := make([]string, len(f.Offices))
		for i, o := range f.Offices {
			vals[i] = string(o)
		}
		conds = append(conds, "c.office = ANY ("+arg(vals)+")")
	}
	if f.Ref != "" {
		conds = append(conds, "c.ref = "+arg(normRef(f.Ref)))
	}
	if f.ID != 0 {
		conds = append(conds, "p.id = "+arg(f.ID))
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := db.q().Query(ctx, `SELECT `+printCols+` FROM print_jobs p JOIN cases c ON c.id = p.case_id `+where+` ORDER BY p.created_at, p.id`, args...)
	if err != nil {
		return nil, explain(fmt.Errorf("print jobs: %w", err))
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
	return out, explain(rows.Err())
}

// MarkPrinted implements app.OutboxStore.
func (db *DB) MarkPrinted(ctx context.Context, id int64, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	return db.tx(ctx, "mark printed", func(tx pgx.Tx) error {
		j, err := scanPrintJob(tx.QueryRow(ctx, `SELECT `+printCols+` FROM print_jobs p JOIN cases c ON c.id = p.case_id WHERE p.id = $1 FOR UPDATE OF p`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return rules.PrintJobNotFound(id)
		}
		if err != nil || !j.PrintedAt.IsZero() {
			return err
		}
		now := db.clock(ctx)
		if _, err := tx.Exec(ctx, `UPDATE print_jobs SET printed_at = $1, printed_by = $2 WHERE id = $3`, now, txt(by.Clerk), id); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: j.Office, Action: app.ActionCasePrinted, Ref: j.Ref, Detail: string(j.Kind)})
	})
}

// NextDue implements app.OutboxSender.
func (db *DB) NextDue(ctx context.Context, now time.Time) (*app.Outgoing, error) {
	var raw []byte
	o, err := scanOutgoing(db.q().QueryRow(ctx, `SELECT `+outboxCols+`, o.raw FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.state IN ('queued', 'failed') AND o.portal_case <> '' AND (o.state = 'queued' OR o.next_attempt <= $1)
		ORDER BY o.queued_at, o.id LIMIT 1`, now.UTC()), &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, explain(fmt.Errorf("next due: %w", err))
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
	err := db.tx(ctx, "store composed", func(tx pgx.Tx) error {
		var have []byte
		err := tx.QueryRow(ctx, `SELECT raw FROM outbox WHERE nachricht = $1 FOR UPDATE`, txt(nachricht)).Scan(&have)
		if errors.Is(err, pgx.ErrNoRows) {
			return rules.OutboxNotFound(nachricht)
		}
		if err != nil {
			return err
		}
		if have != nil {
			stored = have
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox SET raw = $1, message_id = $2 WHERE nachricht = $3`, raw, txt(messageID), nachricht); err != nil {
			return err
		}
		stored = raw
		return nil
	})
	return stored, err
}

// MarkSent implements app.OutboxSender.
func (db *DB) MarkSent(ctx context.Context, nachricht string, at time.Time) error {
	return db.tx(ctx, "mark sent", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE outbox SET sent_at = coalesce(sent_at, $1),
			state = CASE WHEN state IN ('queued', 'failed', 'undelivered') THEN 'sent' ELSE state END,
			next_attempt = NULL, reason = CASE WHEN state IN ('queued', 'failed', 'undelivered') THEN '' ELSE reason END
			WHERE nachricht = $2`, micro(at), txt(nachricht))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	return db.tx(ctx, "mark failed", func(tx pgx.Tx) error {
		// Only a message still waiting: a late report of a failed attempt
		// never undoes "sent" or a quittung.
		tag, err := tx.Exec(ctx, `UPDATE outbox SET state = $1, attempts = attempts + 1, next_attempt = $2,
			failure_class = $3, failure_code = $4, reason = $5 WHERE nachricht = $6 AND state IN ('queued', 'failed', 'undelivered')`,
			string(state), ts(next), txt(f.Class), f.Code, txt(f.Reason), txt(nachricht))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM outbox WHERE nachricht = $1`, txt(nachricht)).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
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
	return db.tx(ctx, "apply quittung", func(tx pgx.Tx) error {
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
		tag, err := tx.Exec(ctx, `INSERT INTO outbox_receipts (nachricht, result, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			o.Nachricht, string(q.Result), now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // applied before: one effect
		}
		at := q.At
		if at.IsZero() {
			at = now
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox SET state = $1, receipt_at = $2, grund = $3, reason = $4, next_attempt = NULL WHERE nachricht = $5`,
			string(q.Result), micro(at), txt(q.Grund), txt(rules.QuittungReason(q)), o.Nachricht); err != nil {
			return err
		}
		var flag app.Flag
		switch q.Result {
		case app.OutboxUnzustellbar:
			flag = app.FlagCitizenUnreachable
			var office string
			if err := tx.QueryRow(ctx, `SELECT office FROM cases WHERE id = $1`, o.CaseID).Scan(&office); err != nil {
				return err
			}
			if err := addPrintJob(ctx, tx, o.CaseID, rules.LetterJob(o, app.OfficeKey(office), now)); err != nil {
				return err
			}
		case app.OutboxRefused:
			flag = app.FlagCitizenMessageRefused
		}
		if flag != "" {
			if _, err := tx.Exec(ctx, `UPDATE cases SET flags = array_append(flags, $1), updated_at = $2 WHERE id = $3 AND NOT ($1 = ANY (flags))`,
				string(flag), now, o.CaseID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, rules.QuittungAudit(o, q, now))
	})
}

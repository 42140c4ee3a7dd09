package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"amtstresen/app"
	"amtstresen/storage/internal/casetext"
	"amtstresen/storage/internal/rules"
)

// caseCols are the columns scanCase reads, from cases c joined with case_docs d.
const caseCols = `c.id, c.ref, c.provisional_ref, c.office, c.channel, c.service, coalesce(c.portal_case, ''), c.status, c.assignee, c.flags,
	c.municipality, c.routing_reason, c.forwarded_from, c.received_at, c.updated_at, c.closed_at,
	d.applicant::text, d.fields::text, d.raw::text, d.presented::text`

func scanCase(sc pgx.Row) (*app.Case, error) {
	var c app.Case
	var office, channel, status, forwarded, applicant, fields string
	var flags []string
	var received, updated, closed *time.Time
	var raw, presented *string
	if err := sc.Scan(&c.ID, &c.Ref, &c.ProvisionalRef, &office, &channel, &c.Service, &c.PortalCase, &status, &c.Assignee, &flags,
		&c.Municipality, &c.RoutingReason, &forwarded, &received, &updated, &closed, &applicant, &fields, &raw, &presented); err != nil {
		return nil, err
	}
	c.Office, c.Channel, c.Status, c.ForwardedFrom = app.OfficeKey(office), app.Channel(channel), app.Status(status), app.OfficeKey(forwarded)
	c.Flags = toFlags(flags)
	c.ReceivedAt, c.UpdatedAt, c.ClosedAt = utc(received), utc(updated), utc(closed)
	if presented != nil {
		if err := json.Unmarshal([]byte(*presented), &c.Presented); err != nil {
			return nil, fmt.Errorf("case %s: presented documents: %w", c.Ref, err)
		}
	}
	if applicant != "" {
		if err := json.Unmarshal([]byte(applicant), &c.Applicant); err != nil {
			return nil, fmt.Errorf("case %s: applicant: %w", c.Ref, err)
		}
	}
	c.Fields = json.RawMessage(fields)
	if raw != nil && *raw != "" {
		c.Raw = json.RawMessage(*raw)
	}
	return &c, nil
}

// toFlags is the flags column as app.Flags (nil for none).
func toFlags(fs []string) []app.Flag {
	var out []app.Flag
	for _, f := range fs {
		out = append(out, app.Flag(f))
	}
	return out
}

// flagsCol is the flags as stored: cleaned (casetext.Flags), never NULL.
func flagsCol(fs []app.Flag) []string {
	out := []string{}
	for _, f := range casetext.Flags(fs) {
		out = append(out, txt(string(f)))
	}
	return out
}

// queryCases loads whole cases (with their attachments) matching where.
func queryCases(ctx context.Context, q querier, where string, args ...any) ([]*app.Case, error) {
	rows, err := q.Query(ctx, "SELECT "+caseCols+" FROM cases c JOIN case_docs d ON d.case_id = c.id "+where, args...)
	if err != nil {
		return nil, err
	}
	var out []*app.Case
	byID := map[int64]*app.Case{}
	var ids []int64
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	// The case's own attachments (not those of messages).
	err = attachmentsBy(ctx, q, `SELECT case_id, name, type, size, sha256, blob IS NOT NULL, problem FROM attachments
		WHERE note_id IS NULL AND case_id = ANY ($1) ORDER BY case_id, pos`, ids, func(id int64, a app.Attachment) {
		if c := byID[id]; c != nil {
			c.Attachments = append(c.Attachments, a)
		}
	})
	return out, err
}

// attachmentsBy runs a query of attachments, each row the id of its case
// or note and the attachment, and hands each to add.
func attachmentsBy(ctx context.Context, q querier, query string, arg any, add func(id int64, a app.Attachment)) error {
	rows, err := q.Query(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var a app.Attachment
		if err := rows.Scan(&id, &a.Name, &a.Type, &a.Size, &a.SHA256, &a.Received, &a.Problem); err != nil {
			return err
		}
		add(id, a)
	}
	return rows.Err()
}

func getCase(ctx context.Context, q querier, where string, args ...any) (*app.Case, error) {
	cs, err := queryCases(ctx, q, where+" LIMIT 1", args...)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return cs[0], nil
}

func notFound(ref string) error { return rules.NotFound(ref) }

func portalNotFound(portalCase string) error { return rules.PortalNotFound(portalCase) }

func normRef(ref string) string { return rules.NormRef(ref) }

// nullString maps "" to NULL (for UNIQUE columns where "" means "none").
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return txt(s)
}

// CaseByRef implements app.CaseStore; also by the provisional reference
// a walk-in case's receipt may carry.
func (db *DB) CaseByRef(ctx context.Context, ref string) (*app.Case, error) {
	ref = normRef(ref)
	c, err := getCase(ctx, db.q(), "WHERE c.ref = $1", ref)
	if err == nil && c == nil {
		c, err = getCase(ctx, db.q(), "WHERE c.provisional_ref = $1 AND c.provisional_ref <> ''", ref)
	}
	if err != nil {
		return nil, explain(fmt.Errorf("case by ref: %w", err))
	}
	if c == nil {
		return nil, db.caseRefused(ctx, app.ActionCaseRead, ref, "", notFound(ref))
	}
	return c, nil
}

// CaseByPortalID implements app.CaseStore.
func (db *DB) CaseByPortalID(ctx context.Context, portalCase string) (*app.Case, error) {
	if portalCase == "" {
		return nil, portalNotFound(portalCase)
	}
	c, err := getCase(ctx, db.q(), "WHERE c.portal_case = $1", portalCase)
	if err != nil {
		return nil, explain(fmt.Errorf("case by portal id: %w", err))
	}
	if c == nil {
		return nil, db.caseRefused(ctx, app.ActionCaseRead, "", portalCase, portalNotFound(portalCase))
	}
	return c, nil
}

// AllCases returns every case the role sees, with its attachments,
// oldest first (for `amtstresen cases --json` and exports).
func (db *DB) AllCases(ctx context.Context) ([]*app.Case, error) {
	cs, err := queryCases(ctx, db.q(), "ORDER BY c.received_at, c.id")
	if err != nil {
		return nil, explain(fmt.Errorf("all cases: %w", err))
	}
	return cs, nil
}

// PrepareCase implements app.PortalStore: what CreateCase does before it
// touches the database (the checks, the encoding of the applicant, the
// hashes of the files), so that the sync can prepare the cases of a batch
// on all cores.
func (db *DB) PrepareCase(nc *app.NewCase) app.PreparedCase { return rules.Prepare(db.reg, nc) }

// CreateCase implements app.CaseStore. The idempotency key (and the
// portal case id) find an existing case, which is returned with
// created=false; no reference number is used up then. A new case gets the
// next number of its office's prefix and year (Europe/Berlin) in the same
// transaction (amtstresen.next_ref_number: gap-free), status "received",
// the flags of the input and of routing, its search row, and an audit
// entry "case.create". A receipt is recorded either way.
//
// Two programs creating the same key at once: the second waits for the
// first and then finds its case. A clerk who saves a walk-in case for
// another office twice gets ECONFLICT the second time (the case is that
// office's and no longer visible to the clerk).
func (db *DB) CreateCase(ctx context.Context, nc *app.NewCase, rc *app.Receipt) (*app.Case, bool, error) {
	return db.createCase(ctx, nc, nil, rc)
}

// CreatePreparedCase implements app.PortalStore: CreateCase with the work
// PrepareCase did in advance.
func (db *DB) CreatePreparedCase(ctx context.Context, p app.PreparedCase, rc *app.Receipt) (*app.Case, bool, error) {
	pc, _ := p.(*rules.Prepared) // anything else is checked again
	return db.createCase(ctx, p.NewCase(), pc, rc)
}

func (db *DB) createCase(ctx context.Context, nc *app.NewCase, p *rules.Prepared, rc *app.Receipt) (*app.Case, bool, error) {
	now := db.clock(ctx)
	in, err := rules.Checked(db.reg, nc, p, micro(now))
	if err != nil {
		return nil, false, err
	}
	return db.createChecked(ctx, in, rc, now)
}

// createChecked is createCase of a checked input.
func (db *DB) createChecked(ctx context.Context, in *rules.NewCase, rc *app.Receipt, now time.Time) (*app.Case, bool, error) {
	var c *app.Case
	created := false
	var err error
	for attempt := 1; ; attempt++ {
		err = db.pipedTx(ctx, "create case", func(tx pgx.Tx) error {
			var err error
			c, created, err = db.createCaseTx(ctx, tx, in, rc, now)
			return err
		})
		if !duplicateKey(err) {
			break
		}
		if attempt == 2 {
			return nil, false, &app.Error{Code: app.ECONFLICT, Err: err, Message: "Dieser Antrag wurde bereits gespeichert, für eine andere Dienststelle; er liegt jetzt dort und wird hier nicht mehr angezeigt. Bitte nicht erneut erfassen."}
		}
	}
	if err != nil {
		return nil, false, err
	}
	return c, created, nil
}

// duplicateKey reports a case that another transaction created with the
// same idempotency key or portal id meanwhile.
func duplicateKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (pe.ConstraintName == "cases_idempotency_key_key" || pe.ConstraintName == "cases_portal_case_key")
}

func (db *DB) createCaseTx(ctx context.Context, tx pgx.Tx, in *rules.NewCase, rc *app.Receipt, now time.Time) (*app.Case, bool, error) {
	nc := in.NC
	var id int64
	// Each arm by its own unique index (with OR the generic plan of the
	// prepared statement scanned the table: 0.9 ms a case at 7,000 cases).
	err := tx.QueryRow(ctx, `(SELECT id FROM cases WHERE idempotency_key = $1) UNION ALL (SELECT id FROM cases WHERE portal_case = $2) LIMIT 1`,
		nullString(nc.IdempotencyKey), nullString(nc.PortalCase)).Scan(&id)
	switch {
	case err == nil:
		c, err := getCase(ctx, tx, "WHERE c.id = $1", id)
		if err != nil {
			return nil, false, err
		}
		if err := recordReceipt(ctx, tx, rc, now, c.Ref); err != nil {
			return nil, false, err
		}
		return c, false, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, false, err
	}
	// The next number of the office's prefix and year (Europe/Berlin)
	// comes with the insert (one round trip); the counter stays locked
	// until the transaction ends, numbers are gap-free (app.FormatRef).
	prefix, year := app.RefPrefix(db.reg, in.Office), in.Received.In(app.Berlin).Year()
	a := nc.Applicant
	var ref string
	if err := tx.QueryRow(ctx, `INSERT INTO cases (ref, idempotency_key, office, channel, service, portal_case, status,
		flags, municipality, routing_reason, applicant_name, applicant_sort, birthdate, email, received_at, updated_at, provisional_ref)
		VALUES ((SELECT $1::text || '-' || $18::int || '-' || CASE WHEN n < 100000 THEN lpad(n::text, 5, '0') ELSE n::text END
			FROM next_ref_number($1, $18) AS n), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id, ref`,
		prefix, nullString(nc.IdempotencyKey), string(in.Office), string(nc.Channel), txt(in.Service), nullString(nc.PortalCase), string(app.StatusReceived),
		flagsCol(in.Flags), txt(nc.Routing.Municipality), txt(nc.Routing.Reason), txt(a.Name()), txt(a.SortKey()),
		txt(a.BirthDate), txt(a.Email), micro(in.Received), now, nc.ProvisionalRef, year).Scan(&id, &ref); err != nil {
		return nil, false, err
	}
	// Documents, files, search row, the citizen's message, receipt and
	// audit entry as for a block of cases (caseRows).
	rs := caseRows{goVectors: db.goVectors(ctx, tx)}
	rs.add(db.reg, in, id, ref, now)
	rs.receipt(rc, ref)
	if err := rs.write(ctx, tx, now); err != nil {
		return nil, false, err
	}
	// Built from the input instead of read back, at the database's
	// precision: the contract suite holds it to what a read returns.
	c, err := in.Stored(id, ref, nc.ProvisionalRef, rs.stored[0], now, micro)
	return c, true, err
}

// addMessageNote writes a citizen's message as a note with its files
// (attachmentRows.add), the note and the files in one statement: queued
// on a pipeTx, it costs no round trip of its own.
func addMessageNote(ctx context.Context, tx querier, caseID int64, at time.Time, author, text, key string, files []app.NewAttachment) error {
	var blobs blobRows
	var atts attachmentRows
	atts.add(&blobs, caseID, files, nil)
	if err := blobs.write(ctx, tx); err != nil {
		return fmt.Errorf("store attachment: %w", err)
	}
	if _, err := tx.Exec(ctx, `WITH n AS (INSERT INTO notes (case_id, at, author, kind, text, msg_key) VALUES ($9, $10, $11, 'message', $12, $13) RETURNING id)
		INSERT INTO attachments (case_id, note_id, pos, name, type, size, sha256, blob, problem)
		SELECT t.c, n.id, t.p, t.name, t.type, t.size, t.sha, t.blob, t.problem
		FROM n, unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[])
			AS t(c, p, name, type, size, sha, blob, problem)`,
		atts.cases, atts.pos, atts.names, atts.types, atts.sizes, atts.sums, atts.blobs, atts.problems,
		caseID, at.UTC(), txt(author), txt(text), nullString(key)); err != nil {
		return fmt.Errorf("add note: %w", err)
	}
	return nil
}

// caseRow is the part of a case that the state changes look at.
type caseRow struct {
	id       int64
	ref      string
	office   app.OfficeKey
	status   app.Status
	assignee string
	flags    []string
}

// rc is what the rules of a change look at.
func (r *caseRow) rc() rules.Case {
	return rules.Case{Ref: r.ref, Office: r.office, Status: r.status, Assignee: r.assignee}
}

// lockCase reads and locks the case (FOR UPDATE): a second change of the
// same case waits for the first to commit and then sees its result.
func lockCase(ctx context.Context, tx pgx.Tx, where string, arg any) (*caseRow, error) {
	return lockCaseAnd(ctx, tx, where, arg, "", nil, nil)
}

// lockCaseAnd is lockCase that also reads the boolean expression also
// (with the argument also2 as $2) into value, when also is not "".
func lockCaseAnd(ctx context.Context, tx pgx.Tx, where string, arg any, also string, also2 any, value *bool) (*caseRow, error) {
	var r caseRow
	var office, status string
	q, args, dest := `SELECT id, ref, office, status, assignee, flags`, []any{arg}, []any{&r.id, &r.ref, &office, &status, &r.assignee, &r.flags}
	if also != "" {
		q, args, dest = q+", "+also, append(args, also2), append(dest, value)
	}
	err := tx.QueryRow(ctx, q+` FROM cases WHERE `+where+` FOR UPDATE`, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.office, r.status = app.OfficeKey(office), app.Status(status)
	return &r, nil
}

func caseByRefTx(ctx context.Context, tx pgx.Tx, ref string) (*caseRow, error) {
	r, err := lockCase(ctx, tx, "ref = $1", ref)
	if err == nil && r == nil {
		r, err = lockCase(ctx, tx, "provisional_ref = $1 AND provisional_ref <> ''", ref)
	}
	if err == nil && r == nil {
		err = notFound(ref)
	}
	return r, err
}

func needClerk(by app.Actor) error { return rules.NeedClerk(by) }

func addNote(ctx context.Context, tx pgx.Tx, caseID int64, at time.Time, author, kind, text string, key any) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO notes (case_id, at, author, kind, text, msg_key) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		caseID, at.UTC(), txt(author), kind, txt(text), key).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add note: %w", err)
	}
	return id, nil
}

// Claim implements app.CaseStore. It assigns the case to the clerk when
// nobody holds it; claiming one's own case again changes nothing; another
// clerk's case gives ECONFLICT. Claiming does not change the status. A
// closed case cannot be claimed. Clerks claiming one case at once are
// served one after the other (the row lock): one wins, the others read
// who holds it.
func (db *DB) Claim(ctx context.Context, ref string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	return db.onCase(ctx, "claim", app.ActionCaseClaim, ref, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		if change, err := rules.Claim(r.rc(), by); !change {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET assignee = $1, updated_at = $2 WHERE id = $3`, txt(by.Clerk), now, r.id); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: r.office, Action: app.ActionCaseClaim, Ref: r.ref})
	})
}

// Release implements app.CaseStore: the holder gives the case back.
// Releasing a case nobody holds changes nothing; another clerk's case
// cannot be released (ECONFLICT).
func (db *DB) Release(ctx context.Context, ref string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	return db.onCase(ctx, "release", app.ActionCaseRelease, ref, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		if change, err := rules.Release(r.rc(), by); !change {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET assignee = '', updated_at = $1 WHERE id = $2`, now, r.id); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: r.office, Action: app.ActionCaseRelease, Ref: r.ref})
	})
}

// SetStatus implements app.CaseStore. The move must be allowed by
// app.CheckTransition; a reason is required for every move except to
// "in_progress". The move is written as a status note (with the reason)
// and audited ("case.status", detail "from->to"); a final status sets
// closed_at.
func (db *DB) SetStatus(ctx context.Context, ref string, to app.Status, reason string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	if err := rules.StatusInput(to, reason); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	return db.onCase(ctx, "set status", app.ActionCaseStatus, ref, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		return setStatus(ctx, tx, r, to, reason, by.Clerk, by, now)
	})
}

func setStatus(ctx context.Context, tx pgx.Tx, r *caseRow, to app.Status, reason, author string, by app.Actor, now time.Time) error {
	if err := app.CheckTransition(r.status, to); err != nil {
		return err
	}
	var closed any
	if to.Final() {
		closed = now
	}
	if _, err := tx.Exec(ctx, `UPDATE cases SET status = $1, closed_at = $2, updated_at = $3 WHERE id = $4`,
		string(to), closed, now, r.id); err != nil {
		return err
	}
	if _, err := addNote(ctx, tx, r.id, now, author, "status", rules.StatusNote(r.status, to, reason), nil); err != nil {
		return err
	}
	return audit(ctx, tx, rules.StatusAudit(r.rc(), to, by, now))
}

// Forward implements app.CaseStore. The reason is required and the target
// must be a known office other than the current one; a closed case stays
// where it is. The case loses its assignee (the new office claims it),
// remembers where it came from, and gets a note "forward" with the reason.
// A clerk no longer sees the case once the change is committed.
func (db *DB) Forward(ctx context.Context, ref string, to app.OfficeKey, reason string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	target, err := rules.ForwardInput(db.reg, to, reason)
	if err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	return db.onCase(ctx, "forward", app.ActionCaseForward, ref, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		return db.forwardTx(ctx, tx, r, target, reason, by, now)
	})
}

func (db *DB) forwardTx(ctx context.Context, tx pgx.Tx, r *caseRow, target *app.Office, reason string, by app.Actor, now time.Time) error {
	note, entry, err := rules.Forward(db.reg, r.rc(), target, reason, by, now)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE cases SET office = $1, forwarded_from = $2, assignee = '', updated_at = $3 WHERE id = $4`,
		string(target.Key), string(r.office), now, r.id); err != nil {
		return err
	}
	if _, err := addNote(ctx, tx, r.id, now, by.Clerk, "forward", note, nil); err != nil {
		return err
	}
	return audit(ctx, tx, entry)
}

// AddNote implements app.CaseStore.
func (db *DB) AddNote(ctx context.Context, ref string, text string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	text, err := rules.NoteInput(text)
	if err != nil {
		return err
	}
	return db.onCase(ctx, "add note", app.ActionCaseNote, ref, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		if _, err := addNote(ctx, tx, r.id, now, by.Clerk, "note", text, nil); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET updated_at = $1 WHERE id = $2`, now, r.id); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: by.Clerk, Name: by.Name, Office: r.office, Action: app.ActionCaseNote, Ref: r.ref})
	})
}

// citizen is the author of portal messages.
const citizen = rules.Citizen

// AddMessage implements app.CaseStore: a citizen's message with its files
// becomes a note of kind "message". The key (the portal's message
// identity) makes it idempotent: a message already stored is not stored
// again, but the receipt is recorded. ENOTFOUND when the portal case is
// unknown.
func (db *DB) AddMessage(ctx context.Context, portalCase, key string, n *app.Note, files []app.NewAttachment, rc *app.Receipt) error {
	if n == nil {
		n = &app.Note{}
	}
	return db.pipedTx(ctx, "add message", func(tx pgx.Tx) error {
		// The case, locked, and whether the message is there already, in
		// one round trip (issue 15: the sync waited for two per message).
		// Another writer of the same message fails on notes.msg_key.
		var known bool
		r, err := lockCaseAnd(ctx, tx, "portal_case = $1", nullString(portalCase),
			"$2::text IS NOT NULL AND EXISTS (SELECT 1 FROM notes WHERE msg_key = $2)", nullString(key), &known)
		if err != nil {
			return err
		}
		if r == nil {
			return portalNotFound(portalCase)
		}
		now := db.clock(ctx)
		if known {
			return recordReceipt(ctx, tx, rc, now, r.ref)
		}
		at, author, files := rules.PortalMessage(n, files, now)
		if err := addMessageNote(ctx, tx, r.id, at, author, n.Text, key, files); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET updated_at = $1 WHERE id = $2`, now, r.id); err != nil {
			return err
		}
		if err := recordReceipt(ctx, tx, rc, now, r.ref); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: app.PortalActor.Clerk, Office: r.office, Action: app.ActionCaseMessage, Ref: r.ref,
			Detail: fmt.Sprintf("files=%d", len(files))})
	})
}

// Withdraw implements app.CaseStore: the citizen withdraws; an open case
// moves to "withdrawn" with a status note holding the citizen's reason. A
// closed case stays as it is (a repeated withdrawal is no change), but the
// receipt is recorded.
func (db *DB) Withdraw(ctx context.Context, portalCase, reason string, rc *app.Receipt) error {
	return db.onOpenPortalCase(ctx, "withdraw", portalCase, rc, func(tx pgx.Tx, r *caseRow, now time.Time) error {
		if err := setStatus(ctx, tx, r, app.StatusWithdrawn, rules.WithdrawText(reason), citizen, app.PortalActor, now); err != nil {
			return err
		}
		// The citizen hears that the withdrawal arrived ("zurueckgenommen").
		mc, err := messageCase(ctx, tx, r)
		if err != nil {
			return err
		}
		return queueMessage(ctx, tx, rules.AutoWithdrawn(db.reg, mc, reason, now))
	})
}

// onOpenPortalCase records the receipt on the portal case and runs fn
// when the case is still open (a closed case stays as it is; the receipt
// is recorded either way). ENOTFOUND for an unknown case.
func (db *DB) onOpenPortalCase(ctx context.Context, op, portalCase string, rc *app.Receipt, fn func(tx pgx.Tx, r *caseRow, now time.Time) error) error {
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		r, err := lockCase(ctx, tx, "portal_case = $1", nullString(portalCase))
		if err != nil {
			return err
		}
		if r == nil {
			return portalNotFound(portalCase)
		}
		now := db.clock(ctx)
		if err := recordReceipt(ctx, tx, rc, now, r.ref); err != nil {
			return err
		}
		if r.status.Final() {
			return nil
		}
		return fn(tx, r, now)
	})
}

// Notes implements app.CaseStore: the notes of a case, oldest first, with
// the files of citizens' messages.
func (db *DB) Notes(ctx context.Context, ref string) ([]app.Note, error) {
	ref = normRef(ref)
	var id int64
	err := db.q().QueryRow(ctx, `SELECT id FROM cases WHERE ref = $1`, ref).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, db.caseRefused(ctx, app.ActionCaseRead, ref, "", notFound(ref))
	}
	if err != nil {
		return nil, explain(fmt.Errorf("notes: %w", err))
	}
	out, err := notesOf(ctx, db.q(), id)
	if err != nil {
		return nil, explain(fmt.Errorf("notes: %w", err))
	}
	return out, nil
}

func notesOf(ctx context.Context, q querier, id int64) ([]app.Note, error) {
	rows, err := q.Query(ctx, `SELECT id, at, author, kind, text FROM notes WHERE case_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, err
	}
	var out []app.Note
	idx := map[int64]int{}
	for rows.Next() {
		n := app.Note{CaseID: id}
		if err := rows.Scan(&n.ID, &n.At, &n.Author, &n.Kind, &n.Text); err != nil {
			rows.Close()
			return nil, err
		}
		n.At = n.At.UTC()
		idx[n.ID] = len(out)
		out = append(out, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	err = attachmentsBy(ctx, q, `SELECT note_id, name, type, size, sha256, blob IS NOT NULL, problem
		FROM attachments WHERE case_id = $1 AND note_id IS NOT NULL ORDER BY note_id, pos`, id, func(nid int64, a app.Attachment) {
		if i, ok := idx[nid]; ok {
			out[i].Attachments = append(out[i].Attachments, a)
		}
	})
	return out, err
}

// AttachmentData implements app.CaseStore: a file the role may see (one
// of a case it sees).
func (db *DB) AttachmentData(ctx context.Context, sum string) ([]byte, error) {
	var b []byte
	err := db.q().QueryRow(ctx, `SELECT data FROM blobs WHERE sha256 = $1`, txt(strings.ToLower(strings.TrimSpace(sum)))).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, app.Errorf(app.ENOTFOUND, "Die Anlage ist nicht gespeichert (sie fehlte in der Sendung oder wurde gelöscht).")
	}
	if err != nil {
		return nil, explain(fmt.Errorf("attachment data: %w", err))
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

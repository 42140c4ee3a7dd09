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
	"amtstresen/storage/internal/casetext"
	"amtstresen/storage/internal/rules"
)

// caseCols are the columns scanCase reads, from cases c joined with case_docs d.
const caseCols = `c.id, c.ref, c.provisional_ref, c.office, c.channel, c.service, COALESCE(c.portal_case, ''), c.status, c.assignee, c.flags,
	c.municipality, c.routing_reason, c.forwarded_from, c.received_at, c.updated_at, c.closed_at,
	d.applicant, d.fields, d.raw, d.presented`

func scanCase(sc interface{ Scan(...any) error }) (*app.Case, error) {
	var c app.Case
	var office, channel, status, flags, forwarded, received, updated, closed string
	var applicant, fields, raw, presented []byte
	if err := sc.Scan(&c.ID, &c.Ref, &c.ProvisionalRef, &office, &channel, &c.Service, &c.PortalCase, &status, &c.Assignee, &flags,
		&c.Municipality, &c.RoutingReason, &forwarded, &received, &updated, &closed, &applicant, &fields, &raw, &presented); err != nil {
		return nil, err
	}
	if len(presented) > 0 {
		if err := json.Unmarshal(presented, &c.Presented); err != nil {
			return nil, fmt.Errorf("case %s: presented documents: %w", c.Ref, err)
		}
	}
	c.Office, c.Channel, c.Status, c.ForwardedFrom = app.OfficeKey(office), app.Channel(channel), app.Status(status), app.OfficeKey(forwarded)
	c.Flags = decodeFlags(flags)
	var err error
	if c.ReceivedAt, err = parseTime(received); err != nil {
		return nil, err
	}
	if c.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if c.ClosedAt, err = parseTime(closed); err != nil {
		return nil, err
	}
	if len(applicant) > 0 {
		if err := json.Unmarshal(applicant, &c.Applicant); err != nil {
			return nil, fmt.Errorf("case %s: applicant: %w", c.Ref, err)
		}
	}
	c.Fields = json.RawMessage(fields)
	if len(raw) > 0 {
		c.Raw = json.RawMessage(raw)
	}
	return &c, nil
}

// queryCases loads whole cases (with their attachments) matching where.
func queryCases(ctx context.Context, q queryer, where string, args ...any) ([]*app.Case, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+caseCols+" FROM cases c JOIN case_docs d ON d.case_id = c.id "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*app.Case
	byID := map[int64]*app.Case{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		byID[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(out) == 0 {
		return nil, nil
	}
	// The case's own attachments (not those of messages).
	aq, aargs := `SELECT case_id, name, type, size, sha256, blob IS NOT NULL, problem FROM attachments WHERE note_id IS NULL AND case_id = ? ORDER BY pos`, []any{out[0].ID}
	if len(out) > 1 {
		aq, aargs = `SELECT case_id, name, type, size, sha256, blob IS NOT NULL, problem FROM attachments WHERE note_id IS NULL ORDER BY case_id, pos`, nil
	}
	arows, err := q.QueryContext(ctx, aq, aargs...)
	if err != nil {
		return nil, err
	}
	defer arows.Close()
	for arows.Next() {
		var id int64
		var a app.Attachment
		if err := arows.Scan(&id, &a.Name, &a.Type, &a.Size, &a.SHA256, &a.Received, &a.Problem); err != nil {
			return nil, err
		}
		if c := byID[id]; c != nil {
			c.Attachments = append(c.Attachments, a)
		}
	}
	return out, arows.Err()
}

func getCase(ctx context.Context, q queryer, where string, args ...any) (*app.Case, error) {
	cs, err := queryCases(ctx, q, where+" LIMIT 1", args...)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return cs[0], nil
}

func notFound(ref string) error { return rules.NotFound(ref) }

func portalNotFound(portalCase string) error { return rules.PortalNotFound(portalCase) }

// normRef accepts a reference as a clerk types it ("zel-2026-00042 ").
func normRef(ref string) string { return rules.NormRef(ref) }

// CaseByRef implements app.CaseStore.
func (db *DB) CaseByRef(ctx context.Context, ref string) (*app.Case, error) {
	ref = normRef(ref)
	c, err := getCase(ctx, db.q(), "WHERE c.ref = ?", ref)
	if err == nil && c == nil {
		// The provisional reference of a walk-in case (printed on its receipt).
		c, err = getCase(ctx, db.q(), "WHERE c.provisional_ref = ? AND c.provisional_ref <> ''", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("case by ref: %w", err)
	}
	if c == nil {
		return nil, notFound(ref)
	}
	return c, nil
}

// CaseByPortalID implements app.CaseStore.
func (db *DB) CaseByPortalID(ctx context.Context, portalCase string) (*app.Case, error) {
	if portalCase == "" {
		return nil, portalNotFound(portalCase)
	}
	c, err := getCase(ctx, db.q(), "WHERE c.portal_case = ?", portalCase)
	if err != nil {
		return nil, fmt.Errorf("case by portal id: %w", err)
	}
	if c == nil {
		return nil, portalNotFound(portalCase)
	}
	return c, nil
}

// AllCases returns every case with its attachments, oldest first (for
// `amtstresen cases --json` and exports).
func (db *DB) AllCases(ctx context.Context) ([]*app.Case, error) {
	cs, err := queryCases(ctx, db.q(), "ORDER BY c.received_at, c.id")
	if err != nil {
		return nil, fmt.Errorf("all cases: %w", err)
	}
	return cs, nil
}

// CreateCase implements app.CaseStore. The idempotency key (and the portal
// case id) find an existing case, which is returned with created=false; no
// reference number is used up then. A new case gets the next number of
// its office's prefix and year (Europe/Berlin) in the same transaction,
// status "received", the flags of the input and of routing, its search
// row, and an audit entry "case.create". A receipt is recorded either way.
func (db *DB) CreateCase(ctx context.Context, nc *app.NewCase, rc *app.Receipt) (*app.Case, bool, error) {
	return db.createCase(ctx, nc, nil, rc)
}

// CreatePreparedCase implements app.PortalStore: CreateCase with the work
// PrepareCase did in advance.
func (db *DB) CreatePreparedCase(ctx context.Context, p app.PreparedCase, rc *app.Receipt) (*app.Case, bool, error) {
	pc, _ := p.(*rules.Prepared) // anything else is checked again
	return db.createCase(ctx, p.NewCase(), pc, rc)
}

// CreatePreparedCases implements app.PortalStore: one case after the
// other (SQLite writes in the program; a statement per case costs little).
func (db *DB) CreatePreparedCases(ctx context.Context, ps []app.PreparedCase, rcs []*app.Receipt) ([]bool, error) {
	return app.CreateEach(ctx, db.CreatePreparedCase, ps, rcs)
}

func (db *DB) createCase(ctx context.Context, nc *app.NewCase, p *rules.Prepared, rc *app.Receipt) (*app.Case, bool, error) {
	now := db.clock(ctx)
	checked, err := rules.Checked(db.reg, nc, p, now)
	if err != nil {
		return nil, false, err
	}
	in := &newCaseRow{NewCase: checked}
	var c *app.Case
	created := false
	err = db.tx(ctx, "create case", func(tx *txn) error {
		var err error
		c, created, err = db.createCaseTx(ctx, tx, in, rc, change{now: now})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return c, created, nil
}

// newCaseRow is a checked app.NewCase (rules.CheckNewCase).
type newCaseRow struct {
	*rules.NewCase
}

// PrepareCase implements app.PortalStore: what CreateCase does before it
// touches the database (the checks, the encoding of the applicant, the
// hashes of the files).
func (db *DB) PrepareCase(nc *app.NewCase) app.PreparedCase { return rules.Prepare(db.reg, nc) }

// checkNewCase validates the input of a case the way CreateCase does.
func (db *DB) checkNewCase(nc *app.NewCase, now time.Time) (*newCaseRow, error) {
	in, err := rules.CheckNewCase(db.reg, nc, now)
	if err != nil {
		return nil, err
	}
	return &newCaseRow{NewCase: in}, nil
}

// createCaseTx inserts the case unless its key exists (then it returns
// that case, created=false).
func (db *DB) createCaseTx(ctx context.Context, tx *txn, in *newCaseRow, rc *app.Receipt, ch change) (*app.Case, bool, error) {
	nc, now := in.NC, ch.now
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM cases WHERE idempotency_key = ? OR portal_case = ? LIMIT 1`,
		nullString(nc.IdempotencyKey), nullString(nc.PortalCase)).Scan(&id)
	switch {
	case err == nil:
		c, err := getCase(ctx, tx, "WHERE c.id = ?", id)
		if err != nil {
			return nil, false, err
		}
		if err := recordReceipt(ctx, tx, rc, now, c.Ref); err != nil {
			return nil, false, err
		}
		return c, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, false, err
	}
	ref, err := db.nextRef(ctx, tx, in.Office, in.Received)
	if err != nil {
		return nil, false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO cases (ref, idempotency_key, office, channel, service, portal_case, status,
		flags, municipality, routing_reason, applicant_name, applicant_sort, birthdate, email, received_at, updated_at, provisional_ref)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ref, nullString(nc.IdempotencyKey), string(in.Office), string(nc.Channel), in.Service, nullString(nc.PortalCase), string(app.StatusReceived),
		encodeFlags(in.Flags), nc.Routing.Municipality, nc.Routing.Reason, nc.Applicant.Name(), sortKey(nc.Applicant),
		nc.Applicant.BirthDate, nc.Applicant.Email, fmtTime(in.Received), fmtTime(now), nc.ProvisionalRef)
	if err != nil {
		return nil, false, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return nil, false, err
	}
	var raw any
	if in.Raw != nil {
		raw = string(in.Raw)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO case_docs (case_id, applicant, fields, raw, presented) VALUES (?, ?, ?, ?, ?)`,
		id, string(in.Applicant), string(in.Fields), raw, string(in.Presented)); err != nil {
		return nil, false, err
	}
	atts, err := insertAttachments(ctx, tx, id, nil, nc.Attachments, in.Sums)
	if err != nil {
		return nil, false, err
	}
	// The search text prepared while parsing (rules.Prepare), with the
	// reference added.
	if err := db.indexCase(ctx, tx, id, func() ftsDoc { return in.SearchDoc(ref) }); err != nil {
		return nil, false, err
	}
	if nc.Channel == app.ChannelPortal {
		// The citizen hears that the application arrived ("eingegangen",
		// with the Eingangsbestätigung), unless the service says not to.
		mc := &rules.MessageCase{Case: rules.Case{Ref: ref, Office: in.Office, Status: app.StatusReceived}, ID: id,
			PortalCase: nc.PortalCase, Service: in.Service, Applicant: nc.Applicant, Received: in.Received}
		if err := queueMessage(ctx, tx, rules.AutoReceived(db.reg, mc, now)); err != nil {
			return nil, false, err
		}
	}
	if err := recordReceipt(ctx, tx, rc, now, ref); err != nil {
		return nil, false, err
	}
	if err := audit(ctx, tx, in.CreateAudit(ref, now)); err != nil {
		return nil, false, err
	}
	// Built from the input instead of read back (reading it back was a
	// third of the time the sync spent per new case), through the stored
	// text of the times, so that they are exactly what a read returns.
	// TestCreatedCaseAsStored holds it to what a read returns.
	c, err := in.Stored(id, ref, nc.ProvisionalRef, atts, now, func(t time.Time) time.Time {
		t, _ = parseTime(fmtTime(t))
		return t
	})
	return c, true, err
}

// change is how a state change is written: its time.
type change struct {
	now time.Time
}

func (ch change) auditLog(ctx context.Context, tx *txn, e app.AuditEntry) error {
	e.At = ch.now
	return audit(ctx, tx, e)
}

// officeCode is the office key for audit details ("-" while undecided).
func officeCode(o app.OfficeKey) string { return rules.OfficeCode(o) }

// insertAttachments stores files by content hash (the sender's name is
// kept for display only, without any path) and returns what was stored.
// A file without data is recorded as announced but missing.
func insertAttachments(ctx context.Context, tx *txn, caseID int64, noteID any, files []app.NewAttachment, sums []string) ([]app.Attachment, error) {
	if len(sums) != len(files) {
		sums = attachmentSums(files)
	}
	var out []app.Attachment
	for i, f := range files {
		a := f.Attachment
		a.Name = safeName(a.Name)
		var blob any
		a.Received = f.Data != nil
		if a.Received {
			a.SHA256, a.Size = sums[i], int64(len(f.Data))
			if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
				a.SHA256, a.Size, f.Data); err != nil {
				return nil, fmt.Errorf("store attachment: %w", err)
			}
			blob = a.SHA256
		} else {
			a.SHA256 = strings.ToLower(strings.TrimSpace(a.SHA256))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO attachments (case_id, note_id, pos, name, type, size, sha256, blob, problem)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, caseID, noteID, i, a.Name, a.Type, a.Size, a.SHA256, blob, a.Problem); err != nil {
			return nil, fmt.Errorf("store attachment: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// attachmentSums are the SHA-256 (hex) of the files' data, "" for a file
// without data.
func attachmentSums(files []app.NewAttachment) []string { return casetext.Sums(files) }

// safeName keeps the last element of a sender's file name; never a path.
func safeName(s string) string { return casetext.SafeName(s) }

// encodeFlags stores flags as ",a,b," (no duplicates) so that a flag test
// is instr(flags, ',a,'); no flags is the empty string.
func encodeFlags(fs []app.Flag) string {
	var b strings.Builder
	for _, f := range casetext.Flags(fs) {
		b.WriteString("," + string(f))
	}
	if b.Len() == 0 {
		return ""
	}
	return b.String() + ","
}

func decodeFlags(s string) []app.Flag {
	var out []app.Flag
	for _, f := range strings.Split(s, ",") {
		if f != "" {
			out = append(out, app.Flag(f))
		}
	}
	return out
}

// sortKey is the applicant's key for the "applicant" sort (app.Applicant.SortKey).
func sortKey(a app.Applicant) string { return a.SortKey() }

// caseRow is the part of a case that the state changes look at.
type caseRow struct {
	id       int64
	ref      string
	office   app.OfficeKey
	status   app.Status
	assignee string
}

// rc is what the rules of a change look at.
func (r *caseRow) rc() rules.Case {
	return rules.Case{Ref: r.ref, Office: r.office, Status: r.status, Assignee: r.assignee}
}

func lockCase(ctx context.Context, tx *txn, where string, arg any) (*caseRow, error) {
	var r caseRow
	var office, status string
	err := tx.QueryRowContext(ctx, `SELECT id, ref, office, status, assignee FROM cases WHERE `+where, arg).
		Scan(&r.id, &r.ref, &office, &status, &r.assignee)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.office, r.status = app.OfficeKey(office), app.Status(status)
	return &r, nil
}

func (db *DB) caseByRefTx(ctx context.Context, tx *txn, ref string) (*caseRow, error) {
	r, err := lockCase(ctx, tx, "ref = ?", ref)
	if err == nil && r == nil {
		r, err = lockCase(ctx, tx, "provisional_ref = ? AND provisional_ref <> ''", ref)
	}
	if err == nil && r == nil {
		err = notFound(ref)
	}
	return r, err
}

func needClerk(by app.Actor) error { return rules.NeedClerk(by) }

func addNote(ctx context.Context, tx *txn, caseID int64, at time.Time, author, kind, text string, key any) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO notes (case_id, at, author, kind, text, msg_key) VALUES (?, ?, ?, ?, ?, ?)`,
		caseID, fmtTime(at), author, kind, text, key)
	if err != nil {
		return 0, fmt.Errorf("add note: %w", err)
	}
	return res.LastInsertId()
}

// Claim implements app.CaseStore. It assigns the case to the clerk when
// nobody holds it; claiming one's own case again changes nothing. Claiming
// does not change the status: the clerk moves a case to "in_progress"
// explicitly (SetStatus), so that every status change has its note.
// A closed case cannot be claimed.
func (db *DB) Claim(ctx context.Context, ref string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	ref = normRef(ref)
	return db.tx(ctx, "claim", func(tx *txn) error {
		r, err := db.caseByRefTx(ctx, tx, ref)
		if err != nil {
			return err
		}
		return db.claimTx(ctx, tx, r, by, change{now: db.clock(ctx)})
	})
}

func (db *DB) claimTx(ctx context.Context, tx *txn, r *caseRow, by app.Actor, ch change) error {
	if change, err := rules.Claim(r.rc(), by); !change {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET assignee = ?, updated_at = ? WHERE id = ?`, by.Clerk, fmtTime(ch.now), r.id); err != nil {
		return err
	}
	return ch.auditLog(ctx, tx, app.AuditEntry{Clerk: by.Clerk, Name: by.Name, Office: r.office, Action: app.ActionCaseClaim, Ref: r.ref})
}

// Release implements app.CaseStore: the holder gives the case back.
// Releasing a case nobody holds changes nothing; another clerk's case
// cannot be released (ECONFLICT).
func (db *DB) Release(ctx context.Context, ref string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	ref = normRef(ref)
	return db.tx(ctx, "release", func(tx *txn) error {
		r, err := db.caseByRefTx(ctx, tx, ref)
		if err != nil {
			return err
		}
		return db.releaseTx(ctx, tx, r, by, change{now: db.clock(ctx)})
	})
}

func (db *DB) releaseTx(ctx context.Context, tx *txn, r *caseRow, by app.Actor, ch change) error {
	if change, err := rules.Release(r.rc(), by); !change {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET assignee = '', updated_at = ? WHERE id = ?`, fmtTime(ch.now), r.id); err != nil {
		return err
	}
	return ch.auditLog(ctx, tx, app.AuditEntry{Clerk: by.Clerk, Name: by.Name, Office: r.office, Action: app.ActionCaseRelease, Ref: r.ref})
}

// checkStatusInput checks what SetStatus needs besides the case.
func checkStatusInput(to app.Status, reason string) error { return rules.StatusInput(to, reason) }

// SetStatus implements app.CaseStore. The move must be allowed by
// app.CheckTransition; a reason is required for every move except to
// "in_progress". The move is written as a status note (with the reason)
// and audited ("case.status", detail "from->to"); a final status sets
// closed_at.
func (db *DB) SetStatus(ctx context.Context, ref string, to app.Status, reason string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	if err := checkStatusInput(to, reason); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	ref = normRef(ref)
	return db.tx(ctx, "set status", func(tx *txn) error {
		r, err := db.caseByRefTx(ctx, tx, ref)
		if err != nil {
			return err
		}
		return db.setStatus(ctx, tx, r, to, reason, by.Clerk, by, change{now: db.clock(ctx)})
	})
}

func (db *DB) setStatus(ctx context.Context, tx *txn, r *caseRow, to app.Status, reason, author string, by app.Actor, ch change) error {
	if err := app.CheckTransition(r.status, to); err != nil {
		return err
	}
	now := ch.now
	closed := ""
	if to.Final() {
		closed = fmtTime(now)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET status = ?, closed_at = ?, updated_at = ? WHERE id = ?`,
		string(to), closed, fmtTime(now), r.id); err != nil {
		return err
	}
	if _, err := addNote(ctx, tx, r.id, now, author, "status", rules.StatusNote(r.status, to, reason), nil); err != nil {
		return err
	}
	return ch.auditLog(ctx, tx, rules.StatusAudit(r.rc(), to, by, now))
}

// checkForwardInput checks what Forward needs besides the case.
func (db *DB) checkForwardInput(to app.OfficeKey, reason string) error {
	_, err := rules.ForwardInput(db.reg, to, reason)
	return err
}

// Forward implements app.CaseStore. The reason is required and the target
// must be a known office other than the current one; a closed case stays
// where it is. The case loses its assignee (the new office claims it),
// remembers where it came from, and gets a note "forward" with the reason.
func (db *DB) Forward(ctx context.Context, ref string, to app.OfficeKey, reason string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	if err := db.checkForwardInput(to, reason); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	ref = normRef(ref)
	return db.tx(ctx, "forward", func(tx *txn) error {
		r, err := db.caseByRefTx(ctx, tx, ref)
		if err != nil {
			return err
		}
		return db.forwardTx(ctx, tx, r, to, reason, by, change{now: db.clock(ctx)})
	})
}

func (db *DB) forwardTx(ctx context.Context, tx *txn, r *caseRow, to app.OfficeKey, reason string, by app.Actor, ch change) error {
	now := ch.now
	note, entry, err := rules.Forward(db.reg, r.rc(), db.reg.Office(to), reason, by, now)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET office = ?, forwarded_from = ?, assignee = '', updated_at = ? WHERE id = ?`,
		string(to), string(r.office), fmtTime(now), r.id); err != nil {
		return err
	}
	if _, err := addNote(ctx, tx, r.id, now, by.Clerk, "forward", note, nil); err != nil {
		return err
	}
	return ch.auditLog(ctx, tx, entry)
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
	ref = normRef(ref)
	return db.tx(ctx, "add note", func(tx *txn) error {
		r, err := db.caseByRefTx(ctx, tx, ref)
		if err != nil {
			return err
		}
		return db.noteTx(ctx, tx, r, text, by, change{now: db.clock(ctx)})
	})
}

func (db *DB) noteTx(ctx context.Context, tx *txn, r *caseRow, text string, by app.Actor, ch change) error {
	if _, err := addNote(ctx, tx, r.id, ch.now, by.Clerk, "note", text, nil); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET updated_at = ? WHERE id = ?`, fmtTime(ch.now), r.id); err != nil {
		return err
	}
	return ch.auditLog(ctx, tx, app.AuditEntry{Clerk: by.Clerk, Name: by.Name, Office: r.office, Action: app.ActionCaseNote, Ref: r.ref})
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
	return db.tx(ctx, "add message", func(tx *txn) error {
		r, err := lockCase(ctx, tx, "portal_case = ?", nullString(portalCase))
		if err != nil {
			return err
		}
		if r == nil {
			return portalNotFound(portalCase)
		}
		now := db.clock(ctx)
		if key != "" {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM notes WHERE msg_key = ?`, key).Scan(&one)
			if err == nil {
				return recordReceipt(ctx, tx, rc, now, r.ref)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		at, author, files := rules.PortalMessage(n, files, now)
		noteID, err := addNote(ctx, tx, r.id, at, author, "message", n.Text, nullString(key))
		if err != nil {
			return err
		}
		if _, err := insertAttachments(ctx, tx, r.id, noteID, files, nil); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET updated_at = ? WHERE id = ?`, fmtTime(now), r.id); err != nil {
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
	return db.onOpenPortalCase(ctx, "withdraw", portalCase, rc, func(tx *txn, r *caseRow, now time.Time) error {
		if err := db.setStatus(ctx, tx, r, app.StatusWithdrawn, rules.WithdrawText(reason), citizen, app.PortalActor, change{now: now}); err != nil {
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
func (db *DB) onOpenPortalCase(ctx context.Context, op, portalCase string, rc *app.Receipt, fn func(tx *txn, r *caseRow, now time.Time) error) error {
	return db.tx(ctx, op, func(tx *txn) error {
		r, err := lockCase(ctx, tx, "portal_case = ?", nullString(portalCase))
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
	err := db.q().QueryRowContext(ctx, `SELECT id FROM cases WHERE ref = ?`, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(ref)
	}
	if err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	rows, err := db.q().QueryContext(ctx, `SELECT id, at, author, kind, text FROM notes WHERE case_id = ? ORDER BY at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	defer rows.Close()
	var out []app.Note
	idx := map[int64]int{}
	for rows.Next() {
		n := app.Note{CaseID: id}
		var at string
		if err := rows.Scan(&n.ID, &at, &n.Author, &n.Kind, &n.Text); err != nil {
			return nil, fmt.Errorf("notes: %w", err)
		}
		if n.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("notes: %w", err)
		}
		idx[n.ID] = len(out)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	rows.Close()
	arows, err := db.q().QueryContext(ctx, `SELECT note_id, name, type, size, sha256, blob IS NOT NULL, problem
		FROM attachments WHERE case_id = ? AND note_id IS NOT NULL ORDER BY note_id, pos`, id)
	if err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var nid int64
		var a app.Attachment
		if err := arows.Scan(&nid, &a.Name, &a.Type, &a.Size, &a.SHA256, &a.Received, &a.Problem); err != nil {
			return nil, fmt.Errorf("notes: %w", err)
		}
		if i, ok := idx[nid]; ok {
			out[i].Attachments = append(out[i].Attachments, a)
		}
	}
	if err := arows.Err(); err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	return out, nil
}

// AttachmentData implements app.CaseStore.
func (db *DB) AttachmentData(ctx context.Context, sum string) ([]byte, error) {
	var b []byte
	err := db.q().QueryRowContext(ctx, `SELECT data FROM blobs WHERE sha256 = ?`, strings.ToLower(strings.TrimSpace(sum))).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.Errorf(app.ENOTFOUND, "Die Anlage ist nicht gespeichert (sie fehlte in der Sendung oder wurde gelöscht).")
	}
	if err != nil {
		return nil, fmt.Errorf("attachment data: %w", err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// AddMessages implements app.PortalStore: one message after the other
// (SQLite writes them in the caller's transaction anyway).
func (db *DB) AddMessages(ctx context.Context, ms []app.PortalMessage) ([]error, error) {
	return app.AddEach(ctx, db.AddMessage, ms)
}

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// The portal sync's messages and bookings, written as blocks (issue 15):
// one by one, a message cost about 1.5 ms and a booking about 0.9 ms of
// the sync's one writer, mostly in round trips and in the server's work
// per statement, for 30 % of the deliveries. A block reads what it needs
// in one round trip and writes a statement per table in a second one.
// Like the case block it runs in a savepoint: when anything of it fails,
// nothing of it stays, and the block is done one by one instead, which
// gives each message its own result and error.

// AddMessages implements app.PortalStore.
func (db *DB) AddMessages(ctx context.Context, ms []app.PortalMessage) ([]error, error) {
	if db.btx == nil {
		var errs []error
		err := db.Batch(ctx, func(tx app.PortalStore) error {
			var err error
			errs, err = tx.AddMessages(ctx, ms)
			return err
		})
		if err != nil {
			return nil, err
		}
		return errs, nil
	}
	if len(ms) >= minBlock && messagesBlockable(ms) {
		errs, err := db.messageBlock(ctx, ms)
		if err == nil {
			return errs, nil
		}
		if ctx.Err() != nil {
			return nil, explain(err)
		}
		if db.log != nil {
			db.log.Warn("message block failed, adding the messages one by one", "messages", len(ms), "err", err)
		}
	}
	return app.AddEach(ctx, db.AddMessage, ms)
}

// messagesBlockable: every message has its key (notes and their files
// are matched by it), and no mail comes twice (one receipt row each).
func messagesBlockable(ms []app.PortalMessage) bool {
	rcs := make([]*app.Receipt, len(ms))
	for i, m := range ms {
		if m.Key == "" {
			return false
		}
		rcs[i] = m.Receipt
	}
	return receiptsDistinct(rcs)
}

// blockCaseRow is a case a message block found by its portal case.
type blockCaseRow struct {
	id     int64
	ref    string
	office app.OfficeKey
}

func (db *DB) messageBlock(ctx context.Context, ms []app.PortalMessage) (errs []error, err error) {
	tx := db.btx
	var portals, keys []string
	for _, m := range ms {
		if m.PortalCase != "" {
			portals = append(portals, m.PortalCase)
		}
		keys = append(keys, m.Key)
	}
	// 1. The messages there already, the cases that get a new message
	// (updated and so locked in one statement, as AddMessage locks its
	// case and changes it), and all the block's cases (for the receipts
	// of messages there already): one round trip, with the savepoint.
	// A message is new to its case when its key is neither in the
	// database nor earlier in the block.
	var newPortals, newKeys []string
	first := map[string]bool{}
	for _, m := range ms {
		if m.PortalCase != "" && !first[m.Key] {
			newPortals, newKeys = append(newPortals, m.PortalCase), append(newKeys, m.Key)
		}
		first[m.Key] = true
	}
	now := db.clock(ctx)
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT " + blockSavepoint)
	b.Queue(`SELECT msg_key FROM notes WHERE msg_key = ANY ($1)`, keys)
	// Each case by a look into the unique index on portal_case (OFFSET 0
	// keeps the subquery apart): "portal_case = ANY ($1)" or a join read
	// the whole table while it was young (7 ms a block at 7,000 cases),
	// as in knownKeys.
	b.Queue(`UPDATE cases c SET updated_at = $3
		FROM (SELECT DISTINCT x.id FROM unnest($1::text[], $2::text[]) AS m(p, k),
			LATERAL (SELECT f.id FROM cases f WHERE f.portal_case = m.p OFFSET 0) AS x
			WHERE NOT EXISTS (SELECT 1 FROM notes n WHERE n.msg_key = m.k)) AS t
		WHERE c.id = t.id
		RETURNING c.id`,
		newPortals, newKeys, now)
	b.Queue(`SELECT x.id, x.ref, x.office, x.portal_case FROM unnest($1::text[]) AS p(v),
		LATERAL (SELECT c.id, c.ref, c.office, c.portal_case FROM cases c WHERE c.portal_case = p.v OFFSET 0) AS x`, portals)
	cases := map[string]*blockCaseRow{}
	known := map[string]bool{}
	br := tx.SendBatch(ctx, b)
	defer func() {
		if err != nil {
			err = rollbackBlock(ctx, tx, err)
		}
	}()
	if _, err = br.Exec(); err == nil {
		var key string
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			_, err = pgx.ForEachRow(rows, []any{&key}, func() error { known[key] = true; return nil })
		}
	}
	bumped := map[int64]bool{}
	if err == nil {
		var id int64
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			_, err = pgx.ForEachRow(rows, []any{&id}, func() error { bumped[id] = true; return nil })
		}
	}
	if err == nil {
		var r blockCaseRow
		var office, portal string
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			_, err = pgx.ForEachRow(rows, []any{&r.id, &r.ref, &office, &portal}, func() error {
				c := r
				c.office = app.OfficeKey(office)
				cases[portal] = &c
				return nil
			})
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}

	// 2. What AddMessage would do with each, in order.
	errs = make([]error, len(ms))
	var blobs blobRows
	var atts attachmentRows
	var attKeys []string // the message of each attachment row
	var noteCases []int64
	var noteAts []time.Time
	var authors, texts, noteKeys []string
	var receipts receiptRows
	var entries []app.AuditEntry
	noted := map[int64]bool{} // the cases that get a note
	for i, m := range ms {
		r := cases[m.PortalCase]
		if r == nil {
			errs[i] = portalNotFound(m.PortalCase)
			continue
		}
		if known[m.Key] {
			receipts.add(m.Receipt, r.ref)
			continue
		}
		known[m.Key] = true
		n := m.Note
		if n == nil {
			n = &app.Note{}
		}
		at, author, files := rules.PortalMessage(n, m.Files, now)
		from := len(atts.cases)
		atts.add(&blobs, r.id, files, nil)
		for range atts.cases[from:] {
			attKeys = append(attKeys, m.Key)
		}
		noteCases, noteAts = append(noteCases, r.id), append(noteAts, at.UTC())
		authors, texts, noteKeys = append(authors, txt(author)), append(texts, txt(n.Text)), append(noteKeys, txt(m.Key))
		noted[r.id] = true
		receipts.add(m.Receipt, r.ref)
		entries = append(entries, app.AuditEntry{At: now, Clerk: app.PortalActor.Clerk, Office: r.office, Action: app.ActionCaseMessage,
			Ref: r.ref, Detail: fmt.Sprintf("files=%d", len(files))})
	}

	// The cases changed in step 1 are exactly those that get a note
	// (one key for two cases could make them differ: then one by one).
	if len(bumped) != len(noted) {
		err = fmt.Errorf("message block: %d cases changed, %d get a note", len(bumped), len(noted))
		return nil, err
	}
	for id := range noted {
		if !bumped[id] {
			err = fmt.Errorf("message block: case %d gets a note but was not changed", id)
			return nil, err
		}
	}

	// 3. A statement per table, sent together.
	p := newPipe(tx)
	if err = blobs.write(ctx, p); err != nil {
		return nil, fmt.Errorf("store attachment: %w", err)
	}
	if len(noteCases) > 0 {
		p.Exec(ctx, `WITH n AS (
				INSERT INTO notes (case_id, at, author, kind, text, msg_key)
				SELECT c, at, a, 'message', t, k FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[]) AS u(c, at, a, t, k)
				RETURNING id, msg_key)
			INSERT INTO attachments (case_id, note_id, pos, name, type, size, sha256, blob, problem)
			SELECT t.c, n.id, t.p, t.name, t.type, t.size, t.sha, t.blob, t.problem
			FROM unnest($6::text[], $7::bigint[], $8::integer[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::text[])
				AS t(k, c, p, name, type, size, sha, blob, problem)
			JOIN n ON n.msg_key = t.k`,
			noteCases, noteAts, authors, texts, noteKeys,
			attKeys, atts.cases, atts.pos, atts.names, atts.types, atts.sizes, atts.sums, atts.blobs, atts.problems)
	}
	if err = receipts.write(ctx, p, now); err != nil {
		return nil, err
	}
	if err = audits(ctx, p, entries); err != nil {
		return nil, err
	}
	p.Exec(ctx, "RELEASE SAVEPOINT "+blockSavepoint)
	if err = p.flush(ctx); err != nil {
		return nil, err
	}
	return errs, nil
}

// rollbackBlock undoes what a block did since its savepoint.
func rollbackBlock(ctx context.Context, tx pgx.Tx, err error) error {
	if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+blockSavepoint+"; RELEASE SAVEPOINT "+blockSavepoint); rerr != nil {
		return fmt.Errorf("%w (rollback: %v)", err, rerr)
	}
	return err
}

// ApplyAppointments implements app.PortalStore.
func (db *DB) ApplyAppointments(ctx context.Context, as []*app.Appointment, rcs []*app.Receipt) ([]bool, []error, error) {
	if db.btx == nil {
		var applied []bool
		var errs []error
		err := db.Batch(ctx, func(tx app.PortalStore) error {
			var err error
			applied, errs, err = tx.ApplyAppointments(ctx, as, rcs)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		return applied, errs, nil
	}
	if len(as) >= minBlock && receiptsDistinct(rcs) {
		applied, errs, err := db.appointmentBlock(ctx, as, rcs)
		if err == nil {
			return applied, errs, nil
		}
		if ctx.Err() != nil {
			return nil, nil, explain(err)
		}
		if db.log != nil {
			db.log.Warn("booking block failed, applying the bookings one by one", "bookings", len(as), "err", err)
		}
	}
	return app.ApplyEach(ctx, db.ApplyAppointment, as, rcs)
}

// receiptsDistinct: no mail comes twice (a receipt row of a block's
// statement may not be written twice).
func receiptsDistinct(rcs []*app.Receipt) bool {
	sums := map[string]bool{}
	for _, rc := range rcs {
		if rc != nil && rc.SHA256 != "" {
			if sums[rc.SHA256] {
				return false
			}
			sums[rc.SHA256] = true
		}
	}
	return true
}

func (db *DB) appointmentBlock(ctx context.Context, as []*app.Appointment, rcs []*app.Receipt) (applied []bool, errs []error, err error) {
	tx := db.btx
	applied, errs = make([]bool, len(as)), make([]error, len(as))
	var uids []string
	for i, a := range as {
		if errs[i] = rules.CheckAppointment(a); errs[i] == nil {
			uids = append(uids, txt(a.UID))
		}
	}
	// 1. The bookings' locks (as ApplyAppointment takes them, in a fixed
	// order) and the stored versions: one round trip.
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT " + blockSavepoint)
	b.Queue(`SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(u, 0) AS h FROM unnest($1::text[]) AS u ORDER BY h) AS l`, uids)
	b.Queue(`SELECT `+apptCols+` FROM appointments WHERE uid = ANY ($1) ORDER BY uid FOR UPDATE`, uids)
	cur := map[string]*app.Appointment{}
	br := tx.SendBatch(ctx, b)
	defer func() {
		if err != nil {
			err = rollbackBlock(ctx, tx, err)
		}
	}()
	if _, err = br.Exec(); err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			for rows.Next() {
				var a *app.Appointment
				if a, err = scanAppointment(rows); err != nil {
					break
				}
				cur[a.UID] = a
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}

	// 2. Each version against the one before it (stored, or earlier in
	// the block); a booking is written once, as it ends.
	now := db.clock(ctx)
	var receipts receiptRows
	var entries []app.AuditEntry
	var order []string // the bookings to write, in the order of their first version
	written := map[string]bool{}
	for i, a := range as {
		if errs[i] != nil {
			continue
		}
		var rc *app.Receipt
		if i < len(rcs) {
			rc = rcs[i]
		}
		receipts.add(rc, "")
		uid := txt(a.UID)
		n, entry := rules.ApplyAppointment(a, cur[uid], now)
		entries = append(entries, entry)
		if n == nil {
			continue
		}
		if !written[uid] {
			written[uid] = true
			order = append(order, uid)
		}
		cur[uid], applied[i] = n, true
	}

	// 3. Written together.
	p := newPipe(tx)
	if len(order) > 0 {
		var r apptRows
		for _, uid := range order {
			r.add(cur[uid])
		}
		p.Exec(ctx, `INSERT INTO appointments (`+apptCols+`)
			SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
				$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::text[])
			ON CONFLICT (uid) DO UPDATE SET sequence = excluded.sequence, status = excluded.status, service = excluded.service,
			office = excluded.office, start_at = excluded.start_at, end_at = excluded.end_at, citizen_name = excluded.citizen_name,
			citizen_email = excluded.citizen_email, location = excluded.location, portal_case = excluded.portal_case,
			attendance = excluded.attendance, updated_at = excluded.updated_at, attendance_note = excluded.attendance_note`,
			r.uids, r.seqs, r.statuses, r.services, r.offices, r.starts, r.ends,
			r.names, r.emails, r.locations, r.portals, r.attendances, r.updated, r.attNotes)
	}
	if err = receipts.write(ctx, p, now); err != nil {
		return nil, nil, err
	}
	if err = audits(ctx, p, entries); err != nil {
		return nil, nil, err
	}
	p.Exec(ctx, "RELEASE SAVEPOINT "+blockSavepoint)
	if err = p.flush(ctx); err != nil {
		return nil, nil, err
	}
	return applied, errs, nil
}

// apptRows are bookings as columns, for one INSERT … SELECT FROM unnest.
type apptRows struct {
	uids, statuses, services, offices              []string
	names, emails, locations, portals, attendances []string
	attNotes                                       []string
	seqs                                           []int64
	starts, ends                                   []*time.Time
	updated                                        []time.Time
}

func (r *apptRows) add(n *app.Appointment) {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	r.uids, r.seqs, r.statuses, r.services = append(r.uids, txt(n.UID)), append(r.seqs, int64(n.Sequence)), append(r.statuses, string(n.Status)), append(r.services, txt(n.Service))
	r.offices, r.starts, r.ends = append(r.offices, txt(string(n.Office))), append(r.starts, opt(n.Start)), append(r.ends, opt(n.End))
	r.names, r.emails, r.locations = append(r.names, txt(n.CitizenName)), append(r.emails, txt(n.CitizenEmail)), append(r.locations, txt(n.Location))
	r.portals, r.attendances = append(r.portals, txt(n.PortalCase)), append(r.attendances, string(n.Attendance))
	r.updated, r.attNotes = append(r.updated, n.UpdatedAt.UTC()), append(r.attNotes, txt(n.AttendanceNote))
}

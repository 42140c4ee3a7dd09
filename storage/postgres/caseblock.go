package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/casetext"
	"amtstresen/storage/internal/rules"
)

// minBlock is the least number of new cases written as a block; fewer
// go one by one (the block costs four round trips whatever its size).
const minBlock = 4

// CreatePreparedCases implements app.PortalStore: the new cases of a run
// of the sync are written together, a statement per table for all of
// them (issue 15: a statement per case and table cost the server and the
// program more than the rows themselves). Their numbers are taken at
// once from each office's counter (next_ref_numbers, migration 8) in the
// order of the run, gap-free as one by one. The block runs in a
// savepoint: when anything of it fails, nothing of it stays and the cases
// are created one by one (CreatePreparedCase), which gives each its own
// result and error. A case whose key is known already, or repeats a key
// of the run, is handled one by one after the block, inside its savepoint.
func (db *DB) CreatePreparedCases(ctx context.Context, ps []app.PreparedCase, rcs []*app.Receipt) ([]bool, error) {
	if db.btx == nil {
		// In a transaction of its own: the cases before a failing one
		// stay (the failing one left nothing).
		var created []bool
		var failed error
		err := db.Batch(ctx, func(tx app.PortalStore) error {
			created, failed = tx.CreatePreparedCases(ctx, ps, rcs)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return created, failed
	}
	now := db.clock(ctx)
	ins := make([]*rules.NewCase, 0, len(ps))
	var bad error // of the first case that fails the checks: the block ends before it
	for _, p := range ps {
		pc, _ := p.(*rules.Prepared)
		in, err := rules.Checked(db.reg, p.NewCase(), pc, now)
		if err != nil {
			bad = err
			break
		}
		ins = append(ins, in)
	}
	if len(ins) >= minBlock {
		created, err := db.createBlock(ctx, ins, rcs, now)
		if err == nil {
			return created, bad
		}
		if ctx.Err() != nil {
			return nil, explain(err)
		}
		if db.log != nil {
			db.log.Warn("case block failed, creating the cases one by one", "cases", len(ins), "err", err)
		}
	}
	return app.CreateEach(ctx, db.CreatePreparedCase, ps, rcs)
}

// blockCase is a case of a block: its input, receipt and what the insert
// gave it.
type blockCase struct {
	in  *rules.NewCase
	rc  *app.Receipt
	id  int64
	ref string
}

// blockSavepoint holds a block: rolled back to when any of it fails.
const blockSavepoint = "amtstresen_block"

// createBlock writes the cases ins (checked) with their receipts in the
// batch's transaction. Any error: nothing of the block is left.
func (db *DB) createBlock(ctx context.Context, ins []*rules.NewCase, rcs []*app.Receipt, now time.Time) ([]bool, error) {
	tx := db.btx
	rcOf := func(i int) *app.Receipt {
		if i < len(rcs) {
			return rcs[i]
		}
		return nil
	}
	known, err := knownKeys(ctx, tx, ins)
	if err != nil {
		return nil, err
	}
	// The cases new to the database and to the block go into it; the
	// others are looked at one by one after it (created=false, or a
	// conflict), in the order of the run.
	created := make([]bool, len(ins))
	var fresh []*blockCase
	var alone []int
	inBlock := map[string]bool{}
	for i, in := range ins {
		rc := rcOf(i)
		var ks []string
		if k := in.NC.IdempotencyKey; k != "" {
			ks = append(ks, "k"+txt(k))
		}
		if p := in.NC.PortalCase; p != "" {
			ks = append(ks, "p"+txt(p))
		}
		if rc != nil && rc.SHA256 != "" {
			ks = append(ks, "s"+txt(rc.SHA256))
		}
		apart := false
		for _, k := range ks {
			apart = apart || known[k] || inBlock[k]
		}
		if apart {
			alone = append(alone, i)
			continue
		}
		for _, k := range ks {
			inBlock[k] = true
		}
		fresh = append(fresh, &blockCase{in: in, rc: rc})
		created[i] = true
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT "+blockSavepoint); err != nil {
		return nil, err
	}
	err = db.writeBlock(ctx, tx, fresh, now)
	for _, i := range alone {
		if err != nil {
			break
		}
		_, created[i], err = db.createChecked(ctx, ins[i], rcOf(i), now)
	}
	if err != nil {
		if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+blockSavepoint+"; RELEASE SAVEPOINT "+blockSavepoint); rerr != nil {
			return nil, fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return nil, err
	}
	if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+blockSavepoint); err != nil {
		return nil, err
	}
	return created, nil
}

// knownKeys returns which idempotency keys ("k…") and portal cases ("p…")
// of the block the database has already.
func knownKeys(ctx context.Context, tx pgx.Tx, ins []*rules.NewCase) (map[string]bool, error) {
	var keys, portals []string
	for _, in := range ins {
		if k := in.NC.IdempotencyKey; k != "" {
			keys = append(keys, txt(k))
		}
		if p := in.NC.PortalCase; p != "" {
			portals = append(portals, txt(p))
		}
	}
	// A look into the unique index per key, as a subquery the planner
	// cannot turn into a join: "= ANY ($1)" scanned the table and compared
	// each row with the whole list (32 ms a block at 7,000 cases), and a
	// join's custom plan for a block of 95 keys read the whole table
	// into a hash join (7 ms at 7,000 cases; 0.5 ms through the index).
	rows, err := tx.Query(ctx, `SELECT 'k' || k.v FROM unnest($1::text[]) AS k(v) WHERE (SELECT true FROM cases c WHERE c.idempotency_key = k.v)
		UNION ALL SELECT 'p' || p.v FROM unnest($2::text[]) AS p(v) WHERE (SELECT true FROM cases c WHERE c.portal_case = p.v)`, keys, portals)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(found))
	for _, k := range found {
		known[k] = true
	}
	return known, nil
}

// writeBlock numbers and inserts the cases cs, then the rows that come
// with them.
func (db *DB) writeBlock(ctx context.Context, tx pgx.Tx, cs []*blockCase, now time.Time) error {
	if len(cs) == 0 {
		return nil
	}
	if err := db.numberBlock(ctx, tx, cs); err != nil {
		return err
	}
	var refs, offices, channels, services, flags, munis, reasons, names, sorts, births, emails, provs []string
	var keys, portals []*string
	var received []time.Time
	for _, c := range cs {
		in, nc := c.in, c.in.NC
		a := nc.Applicant
		refs, offices, channels, services = append(refs, c.ref), append(offices, string(in.Office)), append(channels, string(nc.Channel)), append(services, txt(in.Service))
		keys, portals = append(keys, nullText(nc.IdempotencyKey)), append(portals, nullText(nc.PortalCase))
		flags, munis, reasons = append(flags, arrayLiteral(flagsCol(in.Flags))), append(munis, txt(nc.Routing.Municipality)), append(reasons, txt(nc.Routing.Reason))
		names, sorts, births, emails = append(names, txt(a.Name())), append(sorts, txt(a.SortKey())), append(births, txt(a.BirthDate)), append(emails, txt(a.Email))
		received, provs = append(received, micro(in.Received)), append(provs, nc.ProvisionalRef)
	}
	rs := caseRows{goVectors: db.goVectors(ctx, tx)}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO cases (ref, idempotency_key, office, channel, service, portal_case, status,
		flags, municipality, routing_reason, applicant_name, applicant_sort, birthdate, email, received_at, updated_at, provisional_ref)
		SELECT ref, key, office, channel, service, portal, $15, flags::text[], muni, reason, name, sort, birth, email, received, $16, prov
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[], $17::text[])
			AS t(ref, key, office, channel, service, portal, flags, muni, reason, name, sort, birth, email, received, prov)
		RETURNING id, ref`,
		refs, keys, offices, channels, services, portals, flags, munis, reasons, names, sorts, births, emails, received,
		string(app.StatusReceived), now, provs)
	br := tx.SendBatch(ctx, b)
	// While the server inserts the cases, the rest is built here (search
	// texts, messages, audit: they need the reference, not the id): the
	// sync's one writer and the server work at the same time.
	for _, c := range cs {
		rs.add(db.reg, c.in, 0, c.ref, now)
		rs.receipt(c.rc, c.ref)
	}
	ids := make(map[string]int64, len(cs))
	var id int64
	var ref string
	rows, err := br.Query()
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&id, &ref}, func() error { ids[ref] = id; return nil })
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for k, c := range cs {
		if c.id = ids[c.ref]; c.id == 0 {
			return fmt.Errorf("case block: %s not inserted", c.ref)
		}
		rs.setID(k, c.id)
	}
	p := newPipe(tx)
	if err := rs.write(ctx, p, now); err != nil {
		return err
	}
	return p.flush(ctx)
}

// numberBlock gives each case of cs the next number of its office's
// prefix and year, in the order of cs: one call of next_ref_numbers per
// counter, in a fixed order of the counters (no deadlock with another
// block).
func (db *DB) numberBlock(ctx context.Context, tx pgx.Tx, cs []*blockCase) error {
	type counter struct {
		prefix string
		year   int
	}
	groups := map[counter][]*blockCase{}
	var order []counter
	for _, c := range cs {
		k := counter{app.RefPrefix(db.reg, c.in.Office), c.in.Received.In(app.Berlin).Year()}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].prefix != order[j].prefix {
			return order[i].prefix < order[j].prefix
		}
		return order[i].year < order[j].year
	})
	b := &pgx.Batch{}
	for _, k := range order {
		b.Queue(`SELECT next_ref_numbers($1, $2, $3)`, k.prefix, k.year, len(groups[k]))
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for _, k := range order {
		var last *int64
		if err := br.QueryRow().Scan(&last); err != nil {
			return fmt.Errorf("reference numbers: %w", err)
		}
		g := groups[k]
		if last == nil || *last < int64(len(g)) {
			return fmt.Errorf("reference numbers of %s-%d: no counter", k.prefix, k.year)
		}
		first := int(*last) - len(g) + 1
		for j, c := range g {
			c.ref = app.FormatRef(k.prefix, k.year, first+j)
		}
	}
	return br.Close()
}

// caseRows are the rows that come with new cases besides the case row:
// documents, files, search rows, the citizen's "eingegangen" message,
// receipts and audit entries, written a statement per table (write).
type caseRows struct {
	docIDs             []int64
	applicants, fields []string
	raws, presented    []*string
	blobs              blobRows
	atts               attachmentRows
	searchIDs          []int64
	searchTexts        []string
	// goVectors: the search vectors are built here (searchVectors, nil
	// where the server builds it from the text).
	goVectors     bool
	searchVectors []*string
	// The office and month of each search row (its case's; migration
	// 14 checks them instead of looking them up row by row).
	searchOffices []string
	searchMonths  []int32
	out           []*app.Outgoing
	receipts      receiptRows
	audits        []app.AuditEntry
	stored        [][]app.Attachment // per case added, the attachments as stored
	// Per case added: where its attachments end, its message (setID).
	attEnd []int
	msgs   []*app.Outgoing
}

// add adds the rows of the new case in (id, ref; an id of 0 is set
// later with setID).
func (r *caseRows) add(reg *app.Registry, in *rules.NewCase, id int64, ref string, now time.Time) {
	nc := in.NC
	r.docIDs, r.applicants, r.fields = append(r.docIDs, id), append(r.applicants, string(in.Applicant)), append(r.fields, string(in.Fields))
	r.raws, r.presented = append(r.raws, jsonPtr(in.Raw)), append(r.presented, jsonPtr(in.Presented))
	r.stored = append(r.stored, r.atts.add(&r.blobs, id, nc.Attachments, in.Sums))
	r.searchIDs = append(r.searchIDs, id)
	text := txt(strings.Join(SearchWords(in.SearchDoc(ref).Text()), " "))
	var vec *string
	if r.goVectors {
		if v, ok := searchVectorText(text); ok {
			vec, text = &v, ""
		}
	}
	r.searchTexts, r.searchVectors = append(r.searchTexts, text), append(r.searchVectors, vec)
	r.searchOffices, r.searchMonths = append(r.searchOffices, string(in.Office)), append(r.searchMonths, caseMonth(micro(in.Received)))
	var o *app.Outgoing
	if nc.Channel == app.ChannelPortal {
		// The citizen hears that the application arrived ("eingegangen",
		// with the Eingangsbestätigung), unless the service says not to.
		mc := &rules.MessageCase{Case: rules.Case{Ref: ref, Office: in.Office, Status: app.StatusReceived}, ID: id,
			PortalCase: nc.PortalCase, Service: in.Service, Applicant: nc.Applicant, Received: in.Received}
		o = rules.AutoReceived(reg, mc, now)
		if o != nil {
			r.out = append(r.out, o)
		}
	}
	r.attEnd, r.msgs = append(r.attEnd, len(r.atts.cases)), append(r.msgs, o)
	r.audits = append(r.audits, in.CreateAudit(ref, now))
}

// setID sets the id of the k-th case added.
func (r *caseRows) setID(k int, id int64) {
	r.docIDs[k], r.searchIDs[k] = id, id
	from := 0
	if k > 0 {
		from = r.attEnd[k-1]
	}
	for j := from; j < r.attEnd[k]; j++ {
		r.atts.cases[j] = id
	}
	if o := r.msgs[k]; o != nil {
		o.CaseID = id
	}
}

// receipt adds the receipt of the mail a case came from (ref).
func (r *caseRows) receipt(rc *app.Receipt, ref string) { r.receipts.add(rc, ref) }

// write writes the rows, a statement per table (on a pipeTx: sent
// together with what follows).
func (r *caseRows) write(ctx context.Context, q querier, now time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO case_docs (case_id, applicant, fields, raw, presented)
		SELECT id, a::json, f::json, r::json, p::json FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(id, a, f, r, p)`,
		r.docIDs, r.applicants, r.fields, r.raws, r.presented); err != nil {
		return fmt.Errorf("case documents: %w", err)
	}
	if err := r.blobs.write(ctx, q); err != nil {
		return fmt.Errorf("store attachment: %w", err)
	}
	if err := r.atts.write(ctx, q); err != nil {
		return fmt.Errorf("store attachment: %w", err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO case_search (case_id, office, month, doc)
		SELECT id, o, m, coalesce(v::tsvector, search_vector(w))
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::integer[]) AS t(id, w, v, o, m)`,
		r.searchIDs, r.searchTexts, r.searchVectors, r.searchOffices, r.searchMonths); err != nil {
		return fmt.Errorf("index case: %w", err)
	}
	if err := queueMessages(ctx, q, r.out); err != nil {
		return err
	}
	if err := r.receipts.write(ctx, q, now); err != nil {
		return err
	}
	return audits(ctx, q, r.audits)
}

// jsonPtr is a JSON document for a json column (nil: NULL).
func jsonPtr(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// nullText is s as the database stores it, nil for "" (NULL).
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	t := txt(s)
	return &t
}

// arrayLiteral is a text[] as its literal ('{"a","b"}'), for an array
// column of rows passed as arrays (unnest cannot take an array of arrays).
func arrayLiteral(vs []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(arrayQuote.Replace(v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var arrayQuote = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// blobRows are file contents to store, each once.
type blobRows struct {
	sums  []string
	sizes []int64
	data  [][]byte
	seen  map[string]bool
}

func (b *blobRows) add(sum string, data []byte) {
	if b.seen[sum] {
		return
	}
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	b.seen[sum] = true
	b.sums, b.sizes, b.data = append(b.sums, sum), append(b.sizes, int64(len(data))), append(b.data, data)
}

func (b *blobRows) write(ctx context.Context, q querier) error {
	if len(b.sums) == 0 {
		return nil
	}
	// No conflict target: with one, PostgreSQL holds the new row to the
	// SELECT policy too, which shows a file only once an attachment
	// refers to it.
	_, err := q.Exec(ctx, `INSERT INTO blobs (sha256, size, data) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING`,
		b.sums, b.sizes, b.data)
	return err
}

// attachmentRows are attachments of cases (or of a note: addMessageNote).
type attachmentRows struct {
	cases        []int64
	pos          []int32
	names, types []string
	sizes        []int64
	sums         []string
	blobs        []*string
	problems     []string
}

// add adds the files of a case and their contents to blobs, and returns the attachments as stored: by content
// hash (the sender's name kept for display only, without any path); a
// file without data is recorded as announced but missing.
func (r *attachmentRows) add(blobs *blobRows, caseID int64, files []app.NewAttachment, sums []string) []app.Attachment {
	if len(sums) != len(files) {
		sums = casetext.Sums(files)
	}
	var out []app.Attachment
	for i, f := range files {
		a := f.Attachment
		a.Name = txt(casetext.SafeName(a.Name))
		a.Type, a.Problem = txt(a.Type), txt(a.Problem)
		var blob *string
		a.Received = f.Data != nil
		if a.Received {
			a.SHA256, a.Size = sums[i], int64(len(f.Data))
			blobs.add(a.SHA256, f.Data)
			blob = &a.SHA256
		} else {
			a.SHA256 = txt(strings.ToLower(strings.TrimSpace(a.SHA256)))
		}
		r.cases, r.pos = append(r.cases, caseID), append(r.pos, int32(i))
		r.names, r.types, r.sizes, r.sums = append(r.names, a.Name), append(r.types, a.Type), append(r.sizes, a.Size), append(r.sums, a.SHA256)
		r.blobs, r.problems = append(r.blobs, blob), append(r.problems, a.Problem)
		out = append(out, a)
	}
	return out
}

func (r *attachmentRows) write(ctx context.Context, q querier) error {
	if len(r.cases) == 0 {
		return nil
	}
	_, err := q.Exec(ctx, `INSERT INTO attachments (case_id, pos, name, type, size, sha256, blob, problem)
		SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[])`,
		r.cases, r.pos, r.names, r.types, r.sizes, r.sums, r.blobs, r.problems)
	return err
}

// receiptRows are receipts of mails (recordReceipt).
type receiptRows struct {
	sums, kinds, portals, refs, boxes []string
	uvs, uids                         []int64
}

func (r *receiptRows) add(rc *app.Receipt, ref string) {
	if rc == nil || rc.SHA256 == "" {
		return
	}
	kind := rc.Kind
	if kind == "" {
		kind = receiptKindReview
	}
	r.sums, r.kinds, r.portals, r.refs = append(r.sums, txt(rc.SHA256)), append(r.kinds, txt(kind)), append(r.portals, txt(rc.PortalCase)), append(r.refs, ref)
	r.boxes, r.uvs, r.uids = append(r.boxes, txt(rc.Mailbox)), append(r.uvs, int64(rc.UIDValidity)), append(r.uids, int64(rc.UID))
}

// write records the receipts (recordReceipt); each mail at most once in
// one call (a second row of the same content would fail the statement).
func (r *receiptRows) write(ctx context.Context, q querier, at time.Time) error {
	if len(r.sums) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, `INSERT INTO mail_receipts AS m (sha256, kind, portal_case, ref, mailbox, uidvalidity, uid, at)
		SELECT *, $8::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
		ON CONFLICT (sha256) DO UPDATE SET kind = excluded.kind, portal_case = excluded.portal_case,
		ref = excluded.ref, mailbox = excluded.mailbox, uidvalidity = excluded.uidvalidity, uid = excluded.uid, at = excluded.at
		WHERE m.kind = 'review' AND excluded.kind <> 'review'`,
		r.sums, r.kinds, r.portals, r.refs, r.boxes, r.uvs, r.uids, at.UTC()); err != nil {
		return fmt.Errorf("record receipt: %w", err)
	}
	return nil
}

// audits appends the entries in one statement.
func audits(ctx context.Context, q querier, es []app.AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	ats := make([]time.Time, len(es))
	var clerks, names, offices, actions, refs, details []string
	for i, e := range es {
		ats[i] = e.At.UTC()
		clerks, names, offices = append(clerks, txt(e.Clerk)), append(names, txt(e.Name)), append(offices, string(e.Office))
		actions, refs, details = append(actions, e.Action), append(refs, txt(e.Ref)), append(details, txt(e.Detail))
	}
	if _, err := q.Exec(ctx, `INSERT INTO audit_log (at, clerk, clerk_name, office, action, ref, detail)
		SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
		ats, clerks, names, offices, actions, refs, details); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

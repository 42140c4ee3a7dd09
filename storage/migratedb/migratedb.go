// Package migratedb moves a counter's SQLite queue into the office
// network's PostgreSQL database (`amtstresen migrate-db --to URL`): every
// table both schemas have (cases and their documents, notes and messages,
// attachments and their files, appointments, the review list, the mail
// receipts, the sync state, the audit log, the reference counters, …),
// then the search rows and the role assignments as the PostgreSQL store
// makes them. It is neither adapter: it reads the SQLite file as it lies
// on disk and writes the PostgreSQL tables as their owner, the migration
// role, in one transaction that also checks the copy, table by table, by
// row count and by a hash of every row's content. A copy that does not
// match is rolled back: the target stays empty.
//
// Run again on the same file it does nothing (the target records the
// source's database id); into a database that holds other data it refuses.
package migratedb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/storage/postgres"
)

// Report says what was copied.
type Report struct {
	SourceID string        // the SQLite file's database id
	Already  bool          // this file was copied into the target before: nothing done
	Tables   []TableReport // in the order copied
	Search   int           // search rows built
	Roles    []string      // role assignments made as database roles (without password)
	Failed   []string      // role assignments the server refused, with its German reason
	Skipped  []string      // tables of the SQLite file that have no place in PostgreSQL
}

// TableReport is one table: rows on both sides, and the hash both agree on.
type TableReport struct {
	Name   string
	Rows   int
	SHA256 string // over the sorted hashes of the rows' canonical content
}

// order is the order of the tables the foreign keys need; tables both
// schemas have beyond these (those of later migrations) follow by name.
var order = []string{"cases", "case_docs", "blobs", "notes", "attachments", "appointments", "review_items",
	"mail_receipts", "mail_locations", "mail_purges", "sync_state", "ref_counters", "maintenance_runs", "audit_log"}

// notCopied are the tables of the PostgreSQL schema that are not copied:
// its own bookkeeping, the offices (made by the migration), the roles
// (made as database roles below), the search rows (built from the cases)
// and the receipts of the first schema (SQLite has mail_receipts since).
var notCopied = map[string]bool{"schema_version": true, "offices": true, "roles": true, "meta": true,
	"case_search": true, "processed_mails": true}

// Copy copies the SQLite queue at path into the database of target, which
// must be connected as the migration role (the owner of the database with
// CREATEROLE): the schema is migrated first if the database is empty.
func Copy(ctx context.Context, path string, reg *app.Registry, target *pgx.Conn) (*Report, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, app.Errorf(app.ENOTFOUND, "Die Datenbankdatei %s gibt es nicht.", path)
	}
	// Bring the file to this program's schema (and refuse a damaged or a
	// newer one) the way the program opens it.
	db, err := storage.Open(ctx, path, reg)
	if err != nil {
		return nil, err
	}
	db.Close()
	src, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	conn, err := src.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// One read transaction: a program still working on the file cannot
	// change what is copied midway.
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return nil, fmt.Errorf("migrate-db: read: %w", err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	rep := &Report{}
	if err := conn.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'database_id'`).Scan(&rep.SourceID); err != nil {
		return nil, fmt.Errorf("migrate-db: database id: %w", err)
	}

	if err := postgres.Migrate(ctx, target); err != nil {
		return nil, err
	}
	if err := postgres.CheckSchema(ctx, target); err != nil {
		return nil, err
	}
	tx, err := target.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	c := &copier{ctx: ctx, src: conn, tx: tx, reg: reg, rep: rep}
	if err := c.run(); err != nil || rep.Already {
		return rep, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("migrate-db: commit: %w", err)
	}
	return rep, nil
}

type copier struct {
	ctx context.Context
	src *sql.Conn
	tx  pgx.Tx
	reg *app.Registry
	rep *Report
}

func (c *copier) run() error {
	ctx, tx := c.ctx, c.tx
	// Copies of two programs at once: the second waits here, then finds
	// the first one's copy.
	if _, err := tx.Exec(ctx, "LOCK TABLE amtstresen.meta IN EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("migrate-db: lock: %w", err)
	}
	var from string
	err := tx.QueryRow(ctx, `SELECT value FROM amtstresen.meta WHERE key = 'migrated_from'`).Scan(&from)
	switch {
	case err == nil && from == c.rep.SourceID:
		c.rep.Already = true
		return nil
	case err == nil:
		return app.Errorf(app.ECONFLICT, "In die Zieldatenbank wurde schon eine andere SQLite-Datenbank übernommen. Es wird nichts kopiert.")
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("migrate-db: meta: %w", err)
	}

	// The migration role owns the tables and is held to their policies
	// (FORCE ROW LEVEL SECURITY), which give it no row: in this
	// transaction only, the policies are lifted for the owner and the
	// change notifications of the copied rows are off.
	forced, err := c.strings(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'amtstresen' AND c.relkind = 'r' AND c.relforcerowsecurity ORDER BY 1`)
	if err != nil {
		return err
	}
	notify, err := c.pairs(`SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'amtstresen' AND NOT t.tgisinternal AND t.tgname LIKE '%notify%'`)
	if err != nil {
		return err
	}
	for _, t := range forced {
		if _, err := tx.Exec(ctx, "ALTER TABLE amtstresen."+ident(t)+" NO FORCE ROW LEVEL SECURITY"); err != nil {
			return fmt.Errorf("migrate-db: %s: %w", t, err)
		}
	}
	for _, p := range notify {
		if _, err := tx.Exec(ctx, "ALTER TABLE amtstresen."+ident(p[0])+" DISABLE TRIGGER "+ident(p[1])); err != nil {
			return fmt.Errorf("migrate-db: %s: %w", p[1], err)
		}
	}

	tables, err := c.tables()
	if err != nil {
		return err
	}
	// The target must be empty: no case, no audit entry, nothing the sync
	// or a counter wrote (the offices and the schema's own rows aside).
	for _, t := range append(slices.Clone(tables), "roles", "case_search") {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM amtstresen."+ident(t)).Scan(&n); err != nil {
			return fmt.Errorf("migrate-db: %s: %w", t, err)
		}
		if n > 0 {
			return app.Errorf(app.ECONFLICT, "Die Zieldatenbank ist nicht leer (Tabelle %s: %d Zeilen). migrate-db kopiert nur in eine leere Datenbank; es wird nichts kopiert.", t, n)
		}
	}
	for _, t := range tables {
		tr, err := c.copyTable(t)
		if err != nil {
			return err
		}
		c.rep.Tables = append(c.rep.Tables, *tr)
	}
	if err := c.buildSearch(); err != nil {
		return err
	}
	if err := c.identities(tables); err != nil {
		return err
	}
	if err := c.roles(); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO amtstresen.meta (key, value) VALUES ('migrated_from', $1), ('migrated_at', $2)`,
		c.rep.SourceID, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("migrate-db: meta: %w", err)
	}
	for _, p := range notify {
		if _, err := tx.Exec(ctx, "ALTER TABLE amtstresen."+ident(p[0])+" ENABLE TRIGGER "+ident(p[1])); err != nil {
			return fmt.Errorf("migrate-db: %s: %w", p[1], err)
		}
	}
	for _, t := range forced {
		if _, err := tx.Exec(ctx, "ALTER TABLE amtstresen."+ident(t)+" FORCE ROW LEVEL SECURITY"); err != nil {
			return fmt.Errorf("migrate-db: %s: %w", t, err)
		}
	}
	return nil
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func (c *copier) strings(q string) ([]string, error) {
	rows, err := c.tx.Query(c.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("migrate-db: %w", err)
	}
	return out, nil
}

func (c *copier) pairs(q string) ([][2]string, error) {
	rows, err := c.tx.Query(c.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: %w", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// tables are the tables to copy, in order: both schemas have them.
func (c *copier) tables() ([]string, error) {
	pg, err := c.strings(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'amtstresen' AND c.relkind = 'r'`)
	if err != nil {
		return nil, err
	}
	rows, err := c.src.QueryContext(c.ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'cases_fts%'`)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: tables: %w", err)
	}
	var lite []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		lite = append(lite, s)
	}
	rows.Close()
	var both, rest []string
	for _, t := range lite {
		switch {
		case notCopied[t]:
		case !slices.Contains(pg, t):
			c.rep.Skipped = append(c.rep.Skipped, t)
		case slices.Contains(order, t):
			both = append(both, t)
		default:
			rest = append(rest, t)
		}
	}
	sort.Slice(both, func(i, j int) bool { return slices.Index(order, both[i]) < slices.Index(order, both[j]) })
	sort.Strings(rest)
	sort.Strings(c.rep.Skipped)
	return append(both, rest...), nil
}

// kind is how a column's values travel.
type kind int

const (
	kText kind = iota
	kInt
	kBool
	kTime
	kFlags // text[] from SQLite's ",a,b," or a JSON list
	kDate  // date from SQLite's "YYYY-MM-DD"; '' is NULL
	kBytes
	kJSON // json: the document's text as it is; '' is NULL
)

type column struct {
	name     string
	kind     kind
	nullable bool
}

func (c *copier) columns(table string) ([]column, error) {
	rows, err := c.tx.Query(c.ctx, `SELECT column_name, data_type, udt_name, is_nullable = 'YES', column_default IS NOT NULL OR is_identity = 'YES'
		FROM information_schema.columns WHERE table_schema = 'amtstresen' AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: columns of %s: %w", table, err)
	}
	type pgCol struct {
		column
		hasDefault bool
	}
	var pg []pgCol
	for rows.Next() {
		var name, dt, udt string
		var nullable, def bool
		if err := rows.Scan(&name, &dt, &udt, &nullable, &def); err != nil {
			rows.Close()
			return nil, err
		}
		k := kText
		switch {
		case dt == "bigint" || dt == "integer" || dt == "smallint":
			k = kInt
		case dt == "boolean":
			k = kBool
		case strings.HasPrefix(dt, "timestamp"):
			k = kTime
		case dt == "date":
			k = kDate
		case dt == "ARRAY" && udt == "_text":
			k = kFlags
		case dt == "bytea":
			k = kBytes
		case dt == "json" || dt == "jsonb":
			k = kJSON
		case dt == "text" || dt == "name" || dt == "character varying":
		default:
			k = -1 // only PostgreSQL has it (written_tx): its default
		}
		pg = append(pg, pgCol{column{name, k, nullable}, def})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	lrows, err := c.src.QueryContext(c.ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: columns of %s: %w", table, err)
	}
	var lite []string
	for lrows.Next() {
		var s string
		if err := lrows.Scan(&s); err != nil {
			lrows.Close()
			return nil, err
		}
		lite = append(lite, s)
	}
	lrows.Close()
	var out []column
	for _, p := range pg {
		switch {
		case slices.Contains(lite, p.name) && p.kind >= 0:
			out = append(out, p.column)
		case !p.nullable && !p.hasDefault:
			return nil, fmt.Errorf("migrate-db: %s.%s has no counterpart in the SQLite file", table, p.name)
		}
	}
	return out, nil
}

// convert turns an SQLite value into the PostgreSQL column's Go value.
func convert(col column, v any) (any, error) {
	if b, ok := v.([]byte); ok && col.kind != kBytes {
		v = string(b)
	}
	if v == nil {
		if col.kind == kFlags {
			return []string{}, nil
		}
		return nil, nil
	}
	switch col.kind {
	case kText:
		switch x := v.(type) {
		case string:
			return pgText(x), nil
		case int64:
			return fmt.Sprint(x), nil
		}
	case kJSON:
		if s, ok := v.(string); ok {
			if s == "" {
				return nil, nil
			}
			return s, nil
		}
	case kInt:
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case kBool:
		if x, ok := v.(int64); ok {
			return x != 0, nil
		}
	case kTime:
		if s, ok := v.(string); ok {
			if s == "" {
				if col.nullable {
					return nil, nil
				}
				return nil, errors.New("empty time in a column that needs one")
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("time %q: %w", s, err)
			}
			return t.UTC().Truncate(time.Microsecond), nil
		}
	case kDate:
		if s, ok := v.(string); ok {
			if s == "" {
				return nil, nil
			}
			d, err := time.Parse("2006-01-02", s)
			if err != nil {
				return nil, fmt.Errorf("date %q: %w", s, err)
			}
			return civilDate(d), nil
		}
	case kFlags:
		if s, ok := v.(string); ok {
			out := []string{}
			if strings.HasPrefix(s, "[") {
				if err := json.Unmarshal([]byte(s), &out); err != nil {
					return nil, fmt.Errorf("list %q: %w", s, err)
				}
				return out, nil
			}
			for _, f := range strings.Split(s, ",") {
				if f != "" {
					out = append(out, f)
				}
			}
			return out, nil
		}
	case kBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("value of type %T", v)
}

// civilDate is a day for a date column; hashed as "YYYY-MM-DD".
type civilDate time.Time

// pgText is text as PostgreSQL takes it: valid UTF-8 without NUL (the
// PostgreSQL store writes such text the same way).
func pgText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// rowHash is the hash of one row's canonical content: kind-tagged,
// length-prefixed values, times in UTC to the microsecond.
func rowHash(vals []any) [32]byte {
	var b bytes.Buffer
	num := func(n int) {
		var x [8]byte
		binary.BigEndian.PutUint64(x[:], uint64(n))
		b.Write(x[:])
	}
	str := func(tag byte, s string) {
		b.WriteByte(tag)
		num(len(s))
		b.WriteString(s)
	}
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			b.WriteByte('0')
		case string:
			str('s', x)
		case int64:
			str('i', fmt.Sprint(x))
		case bool:
			str('b', fmt.Sprint(x))
		case time.Time:
			str('t', x.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano))
		case civilDate:
			str('d', time.Time(x).Format("2006-01-02"))
		case []string:
			b.WriteByte('a')
			num(len(x))
			for _, s := range x {
				str('s', s)
			}
		case []byte:
			str('x', string(x))
		default:
			str('?', fmt.Sprint(x))
		}
	}
	return sha256.Sum256(b.Bytes())
}

// digest combines row hashes independently of their order (the engines
// sort text differently).
func digest(hs [][32]byte) string {
	sort.Slice(hs, func(i, j int) bool { return bytes.Compare(hs[i][:], hs[j][:]) < 0 })
	h := sha256.New()
	for _, x := range hs {
		h.Write(x[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copyTable copies one table with COPY and reads it back: the same number
// of rows with the same content, or an error (the transaction is rolled
// back).
func (c *copier) copyTable(table string) (*TableReport, error) {
	cols, err := c.columns(table)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.name
	}
	quoted := make([]string, len(cols))
	for i, n := range names {
		quoted[i] = `"` + n + `"`
	}
	rows, err := c.src.QueryContext(c.ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+`"`+table+`"`)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: read %s: %w", table, err)
	}
	defer rows.Close()
	var hashes [][32]byte
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	var rowErr error
	n, err := c.tx.CopyFrom(c.ctx, pgx.Identifier{"amtstresen", table}, names, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out := make([]any, len(cols))
		for i, col := range cols {
			v, err := convert(col, raw[i])
			if err != nil {
				rowErr = fmt.Errorf("migrate-db: %s.%s (row %d): %w", table, col.name, len(hashes)+1, err)
				return nil, rowErr
			}
			out[i] = v
		}
		hashes = append(hashes, rowHash(out))
		for i, v := range out {
			if d, ok := v.(civilDate); ok {
				out[i] = time.Time(d)
			}
		}
		return out, nil
	}))
	if rowErr != nil {
		return nil, rowErr
	}
	if err != nil {
		return nil, fmt.Errorf("migrate-db: copy %s: %w", table, err)
	}
	want := digest(hashes)
	got, count, err := c.readBack(table, cols)
	if err != nil {
		return nil, err
	}
	if int(n) != len(hashes) || count != len(hashes) || got != want {
		return nil, app.Errorf(app.EINTERNAL, "Die Kopie der Tabelle %s stimmt nicht mit der SQLite-Datei überein (%d Zeilen gelesen, %d geschrieben, %d zurückgelesen). Es wurde nichts übernommen.", table, len(hashes), n, count)
	}
	return &TableReport{Name: table, Rows: count, SHA256: want}, nil
}

// readBack reads the copied table from PostgreSQL and hashes its rows as
// copyTable hashed what it wrote.
func (c *copier) readBack(table string, cols []column) (string, int, error) {
	sel := make([]string, len(cols))
	for i, col := range cols {
		sel[i] = `"` + col.name + `"`
		if col.kind == kJSON {
			sel[i] += "::text"
		}
	}
	rows, err := c.tx.Query(c.ctx, "SELECT "+strings.Join(sel, ", ")+" FROM amtstresen."+ident(table))
	if err != nil {
		return "", 0, fmt.Errorf("migrate-db: read back %s: %w", table, err)
	}
	defer rows.Close()
	var hashes [][32]byte
	for rows.Next() {
		dest := make([]any, len(cols))
		for i, col := range cols {
			switch col.kind {
			case kText, kJSON:
				dest[i] = new(*string)
			case kInt:
				dest[i] = new(*int64)
			case kBool:
				dest[i] = new(*bool)
			case kTime, kDate:
				dest[i] = new(*time.Time)
			case kFlags:
				dest[i] = new([]string)
			case kBytes:
				dest[i] = new([]byte)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return "", 0, fmt.Errorf("migrate-db: read back %s: %w", table, err)
		}
		vals := make([]any, len(cols))
		for i, d := range dest {
			switch x := d.(type) {
			case **string:
				if *x != nil {
					vals[i] = **x
				}
			case **int64:
				if *x != nil {
					vals[i] = **x
				}
			case **bool:
				if *x != nil {
					vals[i] = **x
				}
			case **time.Time:
				switch {
				case *x == nil:
				case cols[i].kind == kDate:
					vals[i] = civilDate(**x)
				default:
					vals[i] = **x
				}
			case *[]string:
				if *x == nil {
					*x = []string{}
				}
				vals[i] = *x
			case *[]byte:
				if *x != nil {
					vals[i] = *x
				}
			}
		}
		hashes = append(hashes, rowHash(vals))
	}
	if err := rows.Err(); err != nil {
		return "", 0, fmt.Errorf("migrate-db: read back %s: %w", table, err)
	}
	return digest(hashes), len(hashes), nil
}

// buildSearch writes the search row of every copied case as the
// PostgreSQL store writes it (SQLite's full-text index cannot be copied).
func (c *copier) buildSearch() error {
	rows, err := c.src.QueryContext(c.ctx, `SELECT c.id, c.ref, c.service, c.municipality, d.applicant, d.fields
		FROM cases c JOIN case_docs d ON d.case_id = c.id`)
	if err != nil {
		return fmt.Errorf("migrate-db: search: %w", err)
	}
	defer rows.Close()
	b := &pgx.Batch{}
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		err := c.tx.SendBatch(c.ctx, b).Close()
		b = &pgx.Batch{}
		return err
	}
	for rows.Next() {
		var id int64
		var ref, service, municipality, applicant, fields string
		if err := rows.Scan(&id, &ref, &service, &municipality, &applicant, &fields); err != nil {
			return fmt.Errorf("migrate-db: search: %w", err)
		}
		cs := &app.Case{Service: service, Municipality: municipality, Fields: json.RawMessage(fields)}
		if err := json.Unmarshal([]byte(applicant), &cs.Applicant); err != nil {
			return fmt.Errorf("migrate-db: search: case %d: %w", id, err)
		}
		b.Queue(`INSERT INTO amtstresen.case_search (case_id, doc) VALUES ($1, amtstresen.search_vector($2))`, id, postgres.SearchText(c.reg, ref, cs))
		c.rep.Search++
		if b.Len() == 500 {
			if err := flush(); err != nil {
				return fmt.Errorf("migrate-db: search: %w", err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate-db: search: %w", err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("migrate-db: search: %w", err)
	}
	return nil
}

// identities move the identity sequences past the copied ids.
func (c *copier) identities(tables []string) error {
	for _, t := range tables {
		cols, err := c.strings(fmt.Sprintf(`SELECT column_name::text FROM information_schema.columns
			WHERE table_schema = 'amtstresen' AND table_name = '%s' AND is_identity = 'YES'`, t))
		if err != nil {
			return err
		}
		for _, col := range cols {
			if _, err := c.tx.Exec(c.ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('amtstresen.%s', '%s'), coalesce(max(%s), 0) + 1, false) FROM amtstresen.%s`,
				ident(t), col, ident(col), ident(t))); err != nil {
				return fmt.Errorf("migrate-db: identity %s.%s: %w", t, col, err)
			}
		}
	}
	return nil
}

// roles makes every role assignment of the SQLite file a database role,
// as `amtstresen roles set` does, without a password (the IT gives one
// with roles set --password-env, or the server trusts Kerberos). The
// server writes "role.set" for each; an account it refuses is reported.
func (c *copier) roles() error {
	rows, err := c.src.QueryContext(c.ctx, `SELECT clerk, role, office, name FROM roles ORDER BY role <> 'admin', clerk`)
	if err != nil {
		return fmt.Errorf("migrate-db: roles: %w", err)
	}
	type ra struct{ clerk, role, office, name string }
	var list []ra
	for rows.Next() {
		var r ra
		if err := rows.Scan(&r.clerk, &r.role, &r.office, &r.name); err != nil {
			rows.Close()
			return err
		}
		list = append(list, r)
	}
	rows.Close()
	for _, r := range list {
		sp, err := c.tx.Begin(c.ctx)
		if err != nil {
			return err
		}
		_, err = sp.Exec(c.ctx, `SELECT amtstresen.set_clerk_role($1, $2, $3, $4, NULL)`, r.clerk, r.role, r.office, pgText(r.name))
		if err != nil {
			sp.Rollback(c.ctx)
			msg := err.Error()
			var pe *pgconn.PgError
			if errors.As(err, &pe) {
				msg = pe.Message
			}
			c.rep.Failed = append(c.rep.Failed, r.clerk+": "+msg)
			continue
		}
		if err := sp.Commit(c.ctx); err != nil {
			return err
		}
		c.rep.Roles = append(c.rep.Roles, r.clerk)
	}
	return nil
}

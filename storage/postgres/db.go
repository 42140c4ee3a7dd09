package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	gosync "sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"amtstresen/app"
)

// DB is the PostgreSQL store. It implements app.PortalStore (and so
// app.Store), app.RoleStore, app.PersonFinder and app.AttendanceOverrider
// with the semantics of the SQLite store (package storage), passing the
// same contract suite (storage/storetest).
//
// A DB works as the one login role of its connection string: a clerk's
// window connects as the clerk's own role, the portal sync as the sync's
// service account, the retention purge as the purge's. Row-level security
// on the server decides what the role sees and may change
// (migrations/0001_init.sql); a case of another office does not exist for
// a clerk (ENOTFOUND), and a change the role may not make is refused with
// EFORBIDDEN.
//
// Every change runs in one transaction at READ COMMITTED that also writes
// its audit entry and, for changes that come from a mail, the receipt.
// The case row is locked (SELECT … FOR UPDATE) before its state is
// checked, so that claims and status changes of several counters are
// decided one after the other on the server.
type DB struct {
	pool *pgxpool.Pool
	reg  *app.Registry
	log  *slog.Logger
	now  func() time.Time // UTC; replaced in tests
	user string           // the session's login role

	// btx is set on the view of the DB that Batch hands out: every read
	// and write of that view runs in the batch's one transaction.
	btx pgx.Tx
	// held are the connections that hold the sync's lock (LockSync).
	held *heldConns
	// vectors: whether search vectors are built in the program (goVectors).
	vectors *vectorCheck
	// viewers: the login's visibility, read at most every viewerTTL.
	viewers *viewerCache
}

// heldConns are connections taken out of the pool for a session lock.
type heldConns struct {
	mu    gosync.Mutex
	conns map[*pgxpool.Conn]bool
}

var (
	_ app.PortalStore         = (*DB)(nil)
	_ app.RoleStore           = (*DB)(nil)
	_ app.PersonFinder        = (*DB)(nil)
	_ app.AttendanceOverrider = (*DB)(nil)
)

// Open connects to the database at url (a postgres:// URL or key=value
// string, without password) as the login role it names, with password
// (from the configuration's password_env or the OS keyring; "" when the
// server authenticates otherwise, e.g. by Kerberos or a certificate).
//
// Over the network only TLS with a verified certificate is accepted
// (sslmode=verify-full, with sslrootcert= for the office's own CA);
// without, only a server on this machine (loopback or a Unix socket).
// Several hosts with target_session_attrs=read-write connect to the one
// that takes writes, also after a standby was promoted.
//
// The schema must be the one this program knows (CheckSchema): the
// migration is the IT's step with the migration role (Migrate), never
// done by a clerk's program.
func Open(ctx context.Context, connString, password string, reg *app.Registry) (*DB, error) {
	if reg == nil {
		return nil, errors.New("open database: no registry")
	}
	cfg, err := ParseURL(connString)
	if err != nil {
		return nil, err
	}
	if password != "" {
		cfg.ConnConfig.Password = password
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "amtstresen"
	cfg.ConnConfig.RuntimeParams["search_path"] = "amtstresen"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// A lock another counter holds is waited for, a stuck one is not.
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = "30s"
	// A window needs few connections and dozens of them share the server
	// (max_connections is 100 by default): at most 4 (pool_max_conns= in
	// the address says otherwise), closed after 5 idle minutes.
	if !strings.Contains(connString, "pool_max_conns") {
		cfg.MaxConns = 4
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.AfterConnect = warmUp
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, explainConnect(cfg, err)
	}
	db := &DB{pool: pool, reg: reg, log: slog.Default().With("component", "postgres"),
		now: func() time.Time { return time.Now().UTC() }, held: &heldConns{conns: map[*pgxpool.Conn]bool{}},
		vectors: &vectorCheck{}, viewers: &viewerCache{}}
	if err := pool.QueryRow(ctx, "SELECT session_user").Scan(&db.user); err != nil {
		pool.Close()
		return nil, explainConnect(cfg, err)
	}
	if err := CheckSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// warmUpSQL readies a clerk's or a lead's new server session for the
// queue: a session's first search cost 20-30 ms more than the next ones
// (measured as a Zell clerk on the benchmark's million cases: 8-11 ms
// against 1.3-2 ms, the newest matches 26 ms against 7-9 ms), as it
// loads the search dictionary (unaccent's rules), the tables' and
// indexes' descriptions and the policies, and compiles the search
// functions. A word no case has keeps the searches themselves short.
// Service accounts skip it (the CASE's subqueries run only when needed).
const warmUpSQL = `SELECT CASE WHEN pg_has_role('amtstresen_clerk', 'MEMBER') OR pg_has_role('amtstresen_lead', 'MEMBER') THEN
	(SELECT count(*) FROM amtstresen.search_newest_case_ids(ARRAY['amtstresen'], NULL::text[], 1))
	+ (SELECT count(*) FROM amtstresen.search_case_ids(ARRAY['amtstresen'], NULL::text[], NULL, NULL::integer, true))
	+ (SELECT count(*) FROM amtstresen.cases WHERE id = 0) END`

// warmUp runs warmUpSQL on a new pooled connection. It is a help, not a
// condition: an error (an older schema: CheckSchema says so) leaves the
// connection as it is.
func warmUp(ctx context.Context, conn *pgx.Conn) error {
	conn.Exec(ctx, warmUpSQL, pgx.QueryExecModeSimpleProtocol)
	return nil
}

// ParseURL reads a connection string as Open does and checks it: no
// password in it (it would stand in the configuration file in plain
// text), and TLS with certificate and host name verified for every host
// that is not this machine.
func ParseURL(connString string) (*pgxpool.Config, error) {
	if hasPassword(connString) {
		return nil, &app.Error{Code: app.EINVALID, Field: "url", Message: "Die Datenbankadresse enthält ein Kennwort. Bitte das Kennwort aus der Adresse entfernen; es kommt aus password_env oder dem Schlüsselbund des Betriebssystems."}
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, &app.Error{Code: app.EINVALID, Field: "url", Err: err, Message: "Die Datenbankadresse ist ungültig. Erwartet wird z. B. postgres://KONTO@db.example.local/amtstresen?sslmode=verify-full."}
	}
	type hostTLS struct {
		host   string
		secure bool
	}
	hosts := []hostTLS{{cfg.ConnConfig.Host, verified(cfg.ConnConfig.TLSConfig != nil, cfg.ConnConfig.TLSConfig != nil && !cfg.ConnConfig.TLSConfig.InsecureSkipVerify)}}
	for _, f := range cfg.ConnConfig.Fallbacks {
		hosts = append(hosts, hostTLS{f.Host, verified(f.TLSConfig != nil, f.TLSConfig != nil && !f.TLSConfig.InsecureSkipVerify)})
	}
	for _, h := range hosts {
		if !h.secure && !Loopback(h.host) {
			return nil, &app.Error{Code: app.EINVALID, Field: "url", Message: fmt.Sprintf(
				"Zum Datenbankserver %s wird nur verschlüsselt und mit geprüftem Zertifikat verbunden. Bitte sslmode=verify-full in die Datenbankadresse schreiben (und mit sslrootcert=DATEI die Zertifizierungsstelle der Verwaltung angeben).", h.host)}
		}
	}
	return cfg, nil
}

func verified(tls, checked bool) bool { return tls && checked }

// Loopback reports whether host is this machine: a Unix socket folder,
// localhost or a loopback address.
func Loopback(host string) bool {
	if strings.HasPrefix(host, "/") || strings.HasPrefix(host, "@") || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// hasPassword reports whether the connection string carries a password.
func hasPassword(s string) bool {
	if u, err := url.Parse(s); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if _, set := u.User.Password(); set {
			return true
		}
		return u.Query().Has("password")
	}
	for _, f := range strings.Fields(s) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == "password" {
			return true
		}
	}
	return false
}

// explainConnect says in German why the connection failed.
func explainConnect(cfg *pgxpool.Config, err error) error {
	host := cfg.ConnConfig.Host
	away := &app.Error{Code: app.EUNAVAILABLE, Err: err, Message: fmt.Sprintf(
		"Der Datenbankserver %s ist nicht erreichbar (oder sein Zertifikat ist nicht gültig). Bitte Netzwerk und Datenbankadresse prüfen; bleibt es so, die IT verständigen.", host)}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03": // shutting down or starting up: away for the moment, like a stopped server
			return away
		case "28P01", "28000":
			return &app.Error{Code: app.EFORBIDDEN, Err: err, Message: fmt.Sprintf(
				"Der Datenbankserver hat die Anmeldung als „%s“ abgelehnt. Bitte das Kennwort prüfen; ist das Konto neu oder gesperrt, hilft die IT (amtstresen roles set).", cfg.ConnConfig.User)}
		case "3D000":
			return &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf(
				"Die Datenbank „%s“ gibt es auf dem Server nicht. Bitte die Datenbankadresse prüfen.", cfg.ConnConfig.Database)}
		case "42501":
			return &app.Error{Code: app.EFORBIDDEN, Err: err, Message: fmt.Sprintf(
				"Das Konto „%s“ darf sich mit der Datenbank nicht verbinden. Bitte die IT bitten, es freizuschalten (amtstresen roles set).", cfg.ConnConfig.User)}
		}
		return fmt.Errorf("connect database: %w", err)
	}
	var ae *app.Error
	if errors.As(err, &ae) {
		return err
	}
	return away
}

// Close closes the connections; a sync lock still held ends with its
// connection.
func (db *DB) Close() error {
	db.held.mu.Lock()
	for c := range db.held.conns {
		c.Conn().Close(context.Background())
		c.Release()
	}
	clear(db.held.conns)
	db.held.mu.Unlock()
	db.pool.Close()
	return nil
}

// User returns the login role the store works as.
func (db *DB) User() string { return db.user }

// clock is "now" for a change: the time set with app.WithTime, else the
// wall clock, at the database's precision (microseconds).
func (db *DB) clock(ctx context.Context) time.Time {
	if t, ok := app.TimeFrom(ctx); ok {
		return t.UTC().Truncate(time.Microsecond)
	}
	return db.now().UTC().Truncate(time.Microsecond)
}

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (db *DB) q() querier {
	if db.btx != nil {
		return db.btx
	}
	return retryPool{db.pool}
}

// retryPool runs a statement outside a transaction once more when the
// pooled connection it got was dead (the server restarted, or a standby
// was promoted while the connection rested less than the pool's ping
// interval of a second): a read always, a write only when it never
// reached the server (pgconn.SafeToRetry). The second try gets a new
// connection, to the server that now takes writes.
type retryPool struct{ p *pgxpool.Pool }

// staleConn reports an error of a connection that was already dead.
func staleConn(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || isNetErr(err)
}

// reading reports whether sql only reads (a SELECT without a function
// that writes: those run in transactions).
func reading(sql string) bool {
	s := strings.ToUpper(strings.TrimSpace(sql))
	return strings.HasPrefix(s, "SELECT") && !strings.Contains(s, "INSERT ") && !strings.Contains(s, "UPDATE ") && !strings.Contains(s, "DELETE ")
}

func (r retryPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := r.p.Exec(ctx, sql, args...)
	if err != nil && ctx.Err() == nil && (pgconn.SafeToRetry(err) || (reading(sql) && staleConn(err))) {
		return r.p.Exec(ctx, sql, args...)
	}
	return tag, err
}

func (r retryPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := r.p.Query(ctx, sql, args...)
	if err != nil && ctx.Err() == nil && (pgconn.SafeToRetry(err) || (reading(sql) && staleConn(err))) {
		return r.p.Query(ctx, sql, args...)
	}
	return rows, err
}

func (r retryPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return retryRow{r.p, ctx, sql, args}
}

type retryRow struct {
	p    *pgxpool.Pool
	ctx  context.Context
	sql  string
	args []any
}

func (r retryRow) Scan(dest ...any) error {
	err := r.p.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	if err != nil && r.ctx.Err() == nil && (pgconn.SafeToRetry(err) || (reading(r.sql) && staleConn(err))) {
		return r.p.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	}
	return err
}

// tx runs fn in one transaction (inside a batch: in a savepoint, so that
// a failed operation leaves nothing half-done and the batch may go on).
// A transaction that lost a deadlock is run again.
func (db *DB) tx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	if db.btx != nil {
		sp, err := db.btx.Begin(ctx)
		if err != nil {
			return explain(fmt.Errorf("%s: savepoint: %w", op, err))
		}
		if err := fn(sp); err != nil {
			if rerr := sp.Rollback(ctx); rerr != nil {
				return explain(fmt.Errorf("%s: %w (rollback: %v)", op, err, rerr))
			}
			return explain(wrap(op, err))
		}
		if err := sp.Commit(ctx); err != nil {
			return explain(fmt.Errorf("%s: release: %w", op, err))
		}
		return nil
	}
	for attempt := 1; ; attempt++ {
		err := beginFunc(ctx, db.pool, fn)
		if retryable(err) && attempt < 5 && ctx.Err() == nil {
			continue
		}
		return explain(wrap(op, err))
	}
}

// beginFunc is pgx.BeginFunc on the pool, beginning once more on another
// connection when the first was dead (nothing of fn ran then).
func beginFunc(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil && ctx.Err() == nil && staleConn(err) {
		tx, err = pool.Begin(ctx)
	}
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// retryable reports a deadlock or serialization failure: the transaction
// was rolled back by the server and may simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// pipedTx is tx for the writes of the portal sync (and a clerk's new
// case): fn's Exec statements are queued and sent with the next query or
// at the end (pipeTx), and inside a batch the savepoint travels with
// them instead of costing a round trip of its own. fn must not look at
// what an Exec returns (rows affected): it is empty.
func (db *DB) pipedTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	if db.btx == nil {
		return db.tx(ctx, op, func(tx pgx.Tx) error {
			p := newPipe(tx)
			if err := fn(p); err != nil {
				return err
			}
			return p.flush(ctx)
		})
	}
	p := newPipe(db.btx)
	p.b.Queue("SAVEPOINT amtstresen_op")
	err := fn(p)
	if err == nil {
		p.b.Queue("RELEASE SAVEPOINT amtstresen_op")
		err = p.flush(ctx)
	}
	if err != nil {
		// Nothing sent: nothing happened on the server. Else back to the
		// savepoint, so that the batch goes on without this operation.
		if p.sent {
			if _, rerr := db.btx.Exec(ctx, "ROLLBACK TO SAVEPOINT amtstresen_op; RELEASE SAVEPOINT amtstresen_op"); rerr != nil {
				return explain(fmt.Errorf("%s: %w (rollback: %v)", op, err, rerr))
			}
		}
		return explain(wrap(op, err))
	}
	return nil
}

// Batch runs fn with a view of the store whose reads and writes all go
// through one transaction, committed when fn returns nil and rolled back
// otherwise; each operation inside keeps its own all-or-nothing effect (a
// savepoint). The sync takes in a few hundred mails per batch this way.
// A batch that creates cases holds their offices' reference counters
// until it commits: a clerk creating a case of such an office meanwhile
// waits for the batch (numbers stay gap-free).
func (db *DB) Batch(ctx context.Context, fn func(tx app.PortalStore) error) error {
	if db.btx != nil {
		return fn(db)
	}
	err := beginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		view := *db
		view.btx = tx
		return fn(&view)
	})
	return explain(err)
}

// Durable returns at once: a PostgreSQL commit is durable when it
// returns (synchronous_commit = on, the server's default; with a
// synchronous standby, on both servers). The sync files mails on the
// server only after the commit of their batch.
func (db *DB) Durable(ctx context.Context) error { return ctx.Err() }

// wrap adds the operation name to technical errors; clerk-facing errors
// pass unchanged.
func wrap(op string, err error) error {
	var ae *app.Error
	if err == nil || errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// explain turns what the server refused into a German message: a change
// the role may not make, text the database cannot store, the server gone.
// Other errors pass unchanged; so do errors that carry a message already.
func explain(err error) error {
	if err == nil {
		return nil
	}
	var ae *app.Error
	if errors.As(err, &ae) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "42501": // insufficient_privilege, also a row-level security policy
			return &app.Error{Code: app.EFORBIDDEN, Err: err, Message: "Das ist Ihrer Rolle in der Datenbank nicht erlaubt (der Vorgang gehört zu einer anderen Dienststelle, oder die Rolle darf das nicht). Bitte wenden Sie sich an die Leitung oder die IT."}
		case "22021", "22P05", "22P02", "22025", "2200N": // bad text or JSON
			return &app.Error{Code: app.EINVALID, Err: err, Message: "Die Daten enthalten Zeichen, die die Datenbank nicht speichern kann (ungültiges UTF-8 oder ein Nullzeichen); es wurde nichts gespeichert."}
		case "55P03": // lock_not_available (lock_timeout)
			return &app.Error{Code: app.ECONFLICT, Err: err, Message: "Der Datensatz ist gerade an einem anderen Tresen in Arbeit. Bitte in einem Moment erneut versuchen."}
		case "57P01", "57P02", "57P03", "08006", "08003", "08001", "08004":
			return unreachable(err)
		case "25006": // read_only_sql_transaction: a standby
			return &app.Error{Code: app.EINTERNAL, Err: err, Message: "Der Datenbankserver nimmt gerade keine Änderungen an (Bereitschaftsserver). Bitte in einer Minute erneut versuchen; bleibt es so, die IT verständigen."}
		}
		return err
	}
	if pgconn.SafeToRetry(err) || errors.Is(err, net.ErrClosed) || isNetErr(err) {
		return unreachable(err)
	}
	return err
}

func isNetErr(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce)
}

func unreachable(err error) error {
	return &app.Error{Code: app.EUNAVAILABLE, Err: err, Message: "Die Verbindung zum Datenbankserver ist unterbrochen; die Änderung wurde nicht gespeichert. Bitte in einem Moment erneut versuchen; bleibt es so, die IT verständigen."}
}

// txt is a string as the database can store it: PostgreSQL text holds no
// NUL and only valid UTF-8; both become U+FFFD (the SQLite store keeps
// such bytes as they are; the documents in JSON keep them escaped).
func txt(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// ts is a time for a timestamptz column: NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// utc is a time read from a timestamptz column (nil: the zero time).
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// micro is t at the database's precision, as a read returns it.
func micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// audit appends an entry inside a transaction.
func audit(ctx context.Context, q querier, e app.AuditEntry) error {
	_, err := q.Exec(ctx, `INSERT INTO audit_log (at, clerk, clerk_name, office, action, ref, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.At.UTC(), txt(e.Clerk), txt(e.Name), string(e.Office), e.Action, txt(e.Ref), txt(e.Detail))
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// sqlState returns the SQLSTATE of err ("" when none).
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pipeTx is a transaction whose Exec statements are queued and sent
// together (pgx pipelines a batch in one round trip), for the writes of a
// case that need no answer: a portal sync writes ten of them per case,
// and on a network each would otherwise wait for the server. Query and
// QueryRow send what is queued first, so that statements run in the
// order written. flush must be called before the transaction goes on.
type pipeTx struct {
	pgx.Tx
	b    *pgx.Batch
	sent bool // something reached the server
}

func newPipe(tx pgx.Tx) *pipeTx { return &pipeTx{Tx: tx, b: &pgx.Batch{}} }

func (p *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (p *pipeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := p.flush(ctx); err != nil {
		return nil, err
	}
	return p.Tx.Query(ctx, sql, args...)
}

// QueryRow sends what is queued and the query in one round trip.
func (p *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	n := p.b.Len()
	if n == 0 {
		p.sent = true
		return p.Tx.QueryRow(ctx, sql, args...)
	}
	p.b.Queue(sql, args...)
	br := p.Tx.SendBatch(ctx, p.b)
	p.b, p.sent = &pgx.Batch{}, true
	for i := 0; i < n; i++ {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return errRow{err}
		}
	}
	return batchRow{br.QueryRow(), br}
}

// batchRow is the last result of a batch; scanning it ends the batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// flush sends the queued statements and returns the first error.
func (p *pipeTx) flush(ctx context.Context) error {
	n := p.b.Len()
	if n == 0 {
		return nil
	}
	br := p.Tx.SendBatch(ctx, p.b)
	p.b, p.sent = &pgx.Batch{}, true
	var first error
	for i := 0; i < n; i++ {
		if _, err := br.Exec(); err != nil && first == nil {
			first = err
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

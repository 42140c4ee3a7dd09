// Package storage keeps the work queue, appointments, the review list, the
// sync progress and the audit log in one SQLite file (mattn/go-sqlite3,
// build tag sqlite_fts5).
//
// One DB serves the whole process: reads run on pooled connections in
// parallel (WAL); every change runs in one IMMEDIATE transaction that also
// writes its audit entry and, for changes that come from a mail, the
// processed-mail record. Errors a clerk can act on are *app.Error with a
// German message; everything else is wrapped with the operation's name.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"amtstresen/app"
)

// DB is the SQLite store. It implements app.ClerkStore and app.PortalStore.
type DB struct {
	db   *sql.DB
	reg  *app.Registry
	path string
	log  *slog.Logger
	now  func() time.Time // UTC; replaced in tests

	// btx is set on the view of the DB that Batch hands out: every read
	// and write of that view runs in the batch's one transaction.
	btx *txn
	// bs is what the batch keeps in memory until its end (batchState).
	bs *batchState
	// ckpt checkpoints the WAL after batches (shared by all views).
	ckpt *checkpointer
}

var _ app.ClerkStore = (*DB)(nil)

// applicationID marks the file as an Amtstresen database ("AMTS").
const applicationID = 0x414D5453

// dsnParams are the connection settings, applied by the driver to every
// connection of the pool (pragmas are per connection). _txlock=immediate
// makes every transaction take the write lock at BEGIN, so two writers
// queue on busy_timeout instead of failing on a lock upgrade.
const dsnParams = "_foreign_keys=true&_busy_timeout=5000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_secure_delete=true&_cache_size=-32000&_stmt_cache_size=64"

// Option is a setting of Open.
type Option func(*DB)

// WithLogger hands the store its logger (migrations, failed checkpoints);
// the store adds component=storage. Without one it logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(db *DB) { db.log = l.With("component", "storage") }
}

// Open opens (and creates or upgrades) the database at path. The folder is
// created with mode 0700, the file and its -wal/-shm companions get 0600:
// the database holds personal data. A database written by a newer version
// of the program is refused with ETOONEW.
func Open(ctx context.Context, path string, reg *app.Registry, opts ...Option) (*DB, error) {
	if reg == nil {
		return nil, errors.New("open database: no registry")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, err
	}
	sdb, err := sql.Open("sqlite3", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db := &DB{db: sdb, reg: reg, path: abs, log: slog.New(slog.DiscardHandler), ckpt: &checkpointer{},
		now: func() time.Time { return time.Now().UTC() }}
	for _, o := range opts {
		o(db)
	}
	// Two programs opening a new file at the same moment: one switches it
	// to WAL or migrates it while the other waits (SQLite does not wait on
	// its own for the switch to WAL).
	err = db.init(ctx)
	for deadline := time.Now().Add(10 * time.Second); busy(err) && time.Now().Before(deadline); err = db.init(ctx) {
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		sdb.Close()
		return nil, db.explain(err)
	}
	// SQLite creates -wal and -shm with the main file's mode; make sure
	// anyway (an older file may have been created by hand).
	for _, p := range []string{abs, abs + "-wal", abs + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			sdb.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
	return db, nil
}

// prepareFile creates the folder (0700) and an empty file (0600) before
// SQLite sees it, so that the file is never readable by others, not even
// for a moment.
func prepareFile(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
				"Der Ordner %s für die Datenbank konnte nicht angelegt werden. Bitte Pfad und Berechtigungen prüfen.", dir)}
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if e := explainFS(path, err); e != err {
			return e // a full or read-only disk: said as such
		}
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Die Datenbank %s kann nicht geöffnet werden. Bitte Pfad und Berechtigungen prüfen.", path)}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	// An existing file may have been created with looser permissions.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	return nil
}

// dsn builds a file: URI. '?', '#' and '%' in the path are escaped;
// Windows paths become file:///C:/….
func dsn(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	return "file://" + p + "?" + dsnParams
}

// init checks the file and brings the schema up to date.
func (db *DB) init(ctx context.Context) error {
	var appID int64
	if err := db.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		var se sqlite3.Error
		if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
			return &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf(
				"Die Datei %s ist keine Amtstresen-Datenbank oder ist beschädigt. Bitte die Datei prüfen oder aus der Sicherung zurückholen.", db.path)}
		}
		return fmt.Errorf("open database: %w", err)
	}
	if appID != 0 && appID != applicationID {
		return &app.Error{Code: app.EINVALID, Message: fmt.Sprintf(
			"Die Datei %s ist keine Amtstresen-Datenbank. Bitte den Pfad der Datenbank prüfen.", db.path)}
	}
	return db.migrate(ctx)
}

// Close closes the database after letting SQLite refresh its planner
// statistics where they are stale.
func (db *DB) Close() error {
	db.ckpt.close()
	if _, err := db.db.Exec("PRAGMA optimize"); err != nil {
		db.log.Warn("optimize failed", "err", err)
	}
	return db.db.Close()
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// clock is "now" for a change: the time set with app.WithTime, else the
// wall clock.
func (db *DB) clock(ctx context.Context) time.Time {
	if t, ok := app.TimeFrom(ctx); ok {
		return t
	}
	return db.now()
}

// tx runs fn in one IMMEDIATE transaction (inside a batch: in a
// savepoint). An *app.Error from fn is returned as is; other errors are
// wrapped with op.
func (db *DB) tx(ctx context.Context, op string, fn func(tx *txn) error) error {
	if db.btx != nil {
		return db.savepoint(ctx, op, fn)
	}
	tx, err := begin(ctx, db.db)
	if err != nil {
		return db.explain(fmt.Errorf("%s: begin: %w", op, err))
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return db.explain(wrap(op, err))
	}
	if err := tx.Commit(); err != nil {
		return db.explain(fmt.Errorf("%s: commit: %w", op, err))
	}
	return nil
}

// savepoint runs one operation of a batch. A failed operation is rolled
// back to where it began and its error returned, as it would be outside a
// batch; the caller decides whether the batch goes on.
func (db *DB) savepoint(ctx context.Context, op string, fn func(tx *txn) error) error {
	if _, err := db.btx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return fmt.Errorf("%s: savepoint: %w", op, err)
	}
	mark := db.batchMark()
	if err := fn(db.btx); err != nil {
		db.batchRollback(mark)
		if _, rerr := db.btx.ExecContext(ctx, "ROLLBACK TO op; RELEASE op"); rerr != nil {
			return db.explain(fmt.Errorf("%s: %w (rollback: %v)", op, err, rerr))
		}
		return db.explain(wrap(op, err))
	}
	if _, err := db.btx.ExecContext(ctx, "RELEASE op"); err != nil {
		return fmt.Errorf("%s: release: %w", op, err)
	}
	return nil
}

// batchState is what a batch keeps in memory until its end: the search
// rows it writes, the reference counters it advances, and how to undo both
// back to a savepoint.
//
// Search rows: FTS5 writes its pending rows out as a new index segment at
// every savepoint, and every statement with a trigger or constraint opens
// one: written case by case, each case became a segment of its own, which
// cost about 120 µs per case and left the index in thousands of pieces to
// merge. Written at the end, a batch is one segment. The text of a row is
// built on another goroutine while the batch goes on writing. Searches
// inside a batch do not see its own new rows (the sync never searches).
//
// Reference counters: the batch holds the write lock, so the next number
// of a prefix and year is read once and counted on in memory; the counters
// are written back at the end.
type batchState struct {
	docs map[int64]*ftsDoc // nil entry: deleted in this batch
	refs map[refKey]int    // last number handed out
	undo []func()          // to roll back to a savepoint, newest last

	jobs    chan func() // search rows to build
	pending gosync.WaitGroup
	stop    func()
}

type refKey struct {
	prefix string
	year   int
}

func newBatchState() *batchState {
	b := &batchState{docs: map[int64]*ftsDoc{}, refs: map[refKey]int{}, jobs: make(chan func(), 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range b.jobs {
			f()
		}
	}()
	var once gosync.Once
	b.stop = func() { once.Do(func() { close(b.jobs); <-done }) }
	return b
}

func (b *batchState) setDoc(id int64, d *ftsDoc) {
	prev, had := b.docs[id]
	b.undo = append(b.undo, func() {
		if had {
			b.docs[id] = prev
		} else {
			delete(b.docs, id)
		}
	})
	b.docs[id] = d
}

// flush writes the search rows and the counters. The batch state is done
// after it.
func (b *batchState) flush(ctx context.Context, tx *txn) error {
	b.stop()
	b.pending.Wait()
	ids := make([]int64, 0, len(b.docs))
	for id, d := range b.docs {
		if d != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := insertFTS(ctx, tx, id, *b.docs[id]); err != nil {
			return err
		}
	}
	for k, last := range b.refs {
		if _, err := tx.ExecContext(ctx, `UPDATE ref_counters SET last = ? WHERE prefix = ? AND year = ?`, last, k.prefix, k.year); err != nil {
			return fmt.Errorf("reference counter: %w", err)
		}
	}
	b.docs, b.refs, b.undo = nil, nil, nil
	return nil
}

// batchMark and batchRollback go with a savepoint and its ROLLBACK TO.
func (db *DB) batchMark() int {
	if db.bs == nil {
		return 0
	}
	return len(db.bs.undo)
}

func (db *DB) batchRollback(mark int) {
	if db.bs == nil {
		return
	}
	for i := len(db.bs.undo) - 1; i >= mark; i-- {
		db.bs.undo[i]()
	}
	db.bs.undo = db.bs.undo[:mark]
}

// indexCase writes the search row of a case; in a batch the row is built
// on the batch's helper goroutine and written at the end, so build must
// only read what nobody changes meanwhile.
func (db *DB) indexCase(ctx context.Context, tx queryer, id int64, build func() ftsDoc) error {
	if db.bs != nil {
		d := new(ftsDoc)
		db.bs.setDoc(id, d)
		db.bs.pending.Add(1)
		db.bs.jobs <- func() {
			defer db.bs.pending.Done()
			*d = build()
		}
		return nil
	}
	return insertFTS(ctx, tx, id, build())
}

// unindexCase deletes the search row of a case, also one a batch has not
// written yet.
func (db *DB) unindexCase(ctx context.Context, tx queryer, id int64) error {
	if db.bs != nil {
		if _, pending := db.bs.docs[id]; pending {
			db.bs.setDoc(id, nil)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM cases_fts WHERE rowid = ?`, id); err != nil {
		return fmt.Errorf("search entry: %w", err)
	}
	return nil
}

// nextRef hands out the next reference number of the office's prefix and
// the year (Europe/Berlin) of received.
func (db *DB) nextRef(ctx context.Context, tx *txn, office app.OfficeKey, received time.Time) (string, error) {
	prefix, year := app.RefPrefix(db.reg, office), received.In(app.Berlin).Year()
	k := refKey{prefix, year}
	if b := db.bs; b != nil {
		if last, ok := b.refs[k]; ok {
			b.refs[k] = last + 1
			b.undo = append(b.undo, func() { b.refs[k] = last })
			return app.FormatRef(prefix, year, last+1), nil
		}
	}
	var seq int
	if err := tx.QueryRowContext(ctx, `INSERT INTO ref_counters (prefix, year, last) VALUES (?, ?, 1)
		ON CONFLICT (prefix, year) DO UPDATE SET last = last + 1 RETURNING last`, prefix, year).Scan(&seq); err != nil {
		return "", fmt.Errorf("next reference: %w", err)
	}
	if b := db.bs; b != nil {
		// The row's change is undone by the savepoint's rollback.
		b.refs[k] = seq
		b.undo = append(b.undo, func() { delete(b.refs, k) })
	}
	return app.FormatRef(prefix, year, seq), nil
}

// Batch runs fn with a view of the store whose reads and writes all go
// through one transaction, committed when fn returns nil and rolled back
// otherwise. The sync takes in a few hundred mails per batch this way: one
// commit instead of one per mail. Each operation inside keeps its own
// all-or-nothing effect (a savepoint), so an operation that fails with a
// clerk-facing error leaves nothing half-done in the batch.
//
// A batch's commit is not synced to disk when Batch returns (synchronous
// = NORMAL); call Durable before anything outside the database relies on
// it. The batch does not copy the WAL into the database file either; a
// checkpoint on another connection does that meanwhile (checkpointer).
func (db *DB) Batch(ctx context.Context, fn func(tx app.PortalStore) error) error {
	if db.btx != nil {
		return fn(db)
	}
	return db.explain(db.batch(ctx, func(view *DB) error { return fn(view) }))
}

func (db *DB) batch(ctx context.Context, fn func(view *DB) error) error {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	defer conn.Close()
	// Each operation's savepoint keeps the pages it changes in a
	// sub-journal, by default a temporary file; in memory it is written
	// and truncated without system calls.
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0"); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA wal_autocheckpoint = 1000")
	tx, err := begin(ctx, conn)
	if err != nil {
		return fmt.Errorf("batch: begin: %w", err)
	}
	defer tx.Rollback()
	view := *db
	view.btx, view.bs = tx, newBatchState()
	defer view.bs.stop()
	if err := fn(&view); err != nil {
		return err
	}
	if err := view.bs.flush(ctx, tx); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("batch: commit: %w", err)
	}
	db.ckpt.soon(db)
	return nil
}

// Durable returns when every change committed so far is on disk. The
// sync calls it before it files mails on the server: a power cut must not
// take back what the mailbox already shows as taken in. With
// synchronous = NORMAL a commit is in the WAL but not synced; syncing the
// WAL file makes all of them durable (what a checkpoint has already moved
// into the database file was synced by that checkpoint before the WAL
// could be reused). Done apart from the commit, the sync waits for the
// disk while the next batch is written.
func (db *DB) Durable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.OpenFile(db.path+"-wal", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(db.path, os.O_RDWR, 0) // no WAL: all is in the file
	}
	if err == nil {
		defer f.Close()
		err = f.Sync()
	}
	if err != nil {
		return &app.Error{Code: app.EINTERNAL, Err: fmt.Errorf("sync database to disk: %w", err), Message: fmt.Sprintf(
			"Die Datenbank %s konnte nicht sicher auf die Platte geschrieben werden (Platte voll oder nicht erreichbar?). Die betroffenen Mails bleiben im Posteingang und werden beim nächsten Abgleich abgelegt.", db.path)}
	}
	return nil
}

// checkpointer copies the WAL into the database file on a connection of
// its own while the next batch is written (a PASSIVE checkpoint does not
// block writers). Done in the batch's commit, the copy and its two syncs
// held up the sync every few hundred mails.
type checkpointer struct {
	mu      gosync.Mutex
	started bool
	closed  bool
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func (c *checkpointer) soon(db *DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if !c.started {
		c.started = true
		c.kick, c.stop, c.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go func() {
			defer close(c.done)
			for {
				select {
				case <-c.stop:
					return
				case <-c.kick:
					if _, err := db.db.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
						db.log.Warn("checkpoint failed", "err", err)
					}
				}
			}
		}()
	}
	select {
	case c.kick <- struct{}{}:
	default: // one is pending already
	}
}

// close waits for a running checkpoint and ends the checkpointer.
func (c *checkpointer) close() {
	c.mu.Lock()
	started := c.started && !c.closed
	c.closed = true
	c.mu.Unlock()
	if started {
		close(c.stop)
		<-c.done
	}
}

func (db *DB) q() queryer {
	if db.btx != nil {
		return db.btx
	}
	return db.db
}

// wrap adds the operation name to technical errors; clerk-facing errors
// pass unchanged.
func wrap(op string, err error) error {
	var ae *app.Error
	if err == nil || errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// txn is the transaction a change runs in. Its statements do not hand
// a live context to the driver: with a cancellable context the driver
// starts a goroutine per statement (and database/sql one per result set)
// to interrupt it, which cost more than the statement itself when the
// sync writes thousands of mails. Cancellation is checked before every
// statement instead; a cancelled context fails the statement, and the
// transaction is rolled back by its owner.
type txn struct{ *sql.Tx }

// quiet is ctx without its cancellation, unless it is already cancelled
// (then database/sql returns ctx.Err() before running anything).
func quiet(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(quiet(ctx), query, args...)
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(quiet(ctx), query, args...)
}

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(quiet(ctx), query, args...)
}

// begin starts a transaction on c (the pool or one connection); see txn.
func begin(ctx context.Context, c interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}) (*txn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tx, err := c.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return nil, err
	}
	return &txn{tx}, nil
}

// queryer is what *sql.DB and *txn have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// timeLayout stores times in UTC with fixed width, so that they sort as
// text and keep nanoseconds.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		// Tolerate hand-edited rows in any RFC 3339 form.
		if t2, err2 := time.Parse(time.RFC3339Nano, s); err2 == nil {
			return t2.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("bad time %q: %w", s, err)
	}
	return t, nil
}

// nullString maps "" to NULL (for UNIQUE columns where "" means "none").
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// audit appends an entry inside a transaction.
func audit(ctx context.Context, q queryer, e app.AuditEntry) error {
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, clerk, clerk_name, office, action, ref, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		fmtTime(e.At), e.Clerk, e.Name, string(e.Office), e.Action, e.Ref, e.Detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

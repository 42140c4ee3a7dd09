// Package offline is the counter's outbox for walk-in applications taken
// while the shared store (PostgreSQL) cannot be reached: a small SQLite
// file on this PC (app.OfflineOutbox). Each application waits there under
// a provisional reference (app.ProvisionalRef, printed on the receipt as
// "vorläufig") until app.ReplayOffline writes it with its idempotency key.
//
// The file holds personal data: mode 0600 in a 0700 folder, written with
// fsync (synchronous=FULL), so that a receipt handed to a citizen is never
// lost to a power cut. Written entries are deleted after a week; refused
// ones stay until a clerk has settled them.
package offline

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"amtstresen/app"
)

// keepWritten is how long a written entry stays (shown as "übertragen").
const keepWritten = 7 * 24 * time.Hour

// Outbox is the file. It implements app.OfflineOutbox.
type Outbox struct {
	db  *sql.DB
	reg *app.Registry
	now func() time.Time
}

var (
	_ app.OfflineOutbox  = (*Outbox)(nil)
	_ app.OfflineActions = (*Outbox)(nil)
)

// steps are the schema's versions (PRAGMA user_version is the number of
// steps applied): a file of an older program version is brought up to
// date when opened, its entries kept. Only append.
var steps = []string{
	// 1: walk-in applications.
	`CREATE TABLE IF NOT EXISTS entries (
    key             TEXT PRIMARY KEY,
    provisional_ref TEXT NOT NULL UNIQUE,
    office          TEXT NOT NULL,
    clerk           TEXT NOT NULL,
    held_at         TEXT NOT NULL,
    new_case        TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'waiting',
    final_ref       TEXT NOT NULL DEFAULT '',
    message         TEXT NOT NULL DEFAULT '',
    done_at         TEXT NOT NULL DEFAULT ''
) STRICT;`,
	// 2: changes to cases already shown (claim, status, note), in the
	// order made (seq), with what the clerk saw of the case.
	`CREATE TABLE actions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('claim', 'status', 'note')),
    ref           TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT '',
    text          TEXT NOT NULL DEFAULT '',
    seen_status   TEXT NOT NULL,
    seen_assignee TEXT NOT NULL,
    seen_office   TEXT NOT NULL,
    seen_updated  TEXT NOT NULL,
    clerk         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    held_at       TEXT NOT NULL,
    tried         INTEGER NOT NULL DEFAULT 0,
    note_mark     INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL DEFAULT 'waiting',
    message       TEXT NOT NULL DEFAULT '',
    done_at       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX actions_ref ON actions (ref);`,
	// 3: a status change's message to the citizen (app.Tell as JSON, ''
	// for none), as the clerk confirmed it in the message dialog.
	`ALTER TABLE actions ADD COLUMN tell TEXT NOT NULL DEFAULT '';`,
	// 4: an application marked as being sent (TryEntry), which the clerk
	// can then no longer discard.
	`ALTER TABLE entries ADD COLUMN tried INTEGER NOT NULL DEFAULT 0;`,
}

// migrate applies the steps the file lacks, each in its transaction with
// its user_version (read inside it, as storage.DB.migrate does).
func migrate(ctx context.Context, db *sql.DB) error {
	for {
		done, err := migrateOne(ctx, db)
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, err
	}
	switch {
	case v > len(steps):
		return false, &app.Error{Code: app.ETOONEW, Message: fmt.Sprintf(
			"Der Ausgang dieses PCs für Anträge und Änderungen ohne Verbindung wurde von einer neueren Version von Amtstresen geschrieben (Schema %d, dieses Programm kennt Schema %d); bitte die neuere Version verwenden.",
			v, len(steps))}
	case v == len(steps):
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, steps[v]); err != nil {
		return false, fmt.Errorf("offline outbox schema step %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// Open opens (or creates) the outbox file at path.
func Open(ctx context.Context, path string, reg *app.Registry) (*Outbox, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, outboxErr(path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, outboxErr(path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, outboxErr(path, err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate&_secure_delete=true")
	if err != nil {
		return nil, outboxErr(path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		if app.ErrorCode(err) == app.ETOONEW {
			return nil, err // the path is right: the advice below would not be
		}
		return nil, outboxErr(path, err)
	}
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, outboxErr(path, err)
		}
	}
	o := &Outbox{db: db, reg: reg, now: func() time.Time { return time.Now().UTC() }}
	old := o.now().Add(-keepWritten).Format(time.RFC3339Nano)
	_, err = db.ExecContext(ctx, "DELETE FROM entries WHERE state = 'written' AND done_at < ?", old)
	if err == nil {
		_, err = db.ExecContext(ctx, "DELETE FROM actions WHERE state = 'written' AND done_at < ?", old)
	}
	if err != nil {
		db.Close()
		return nil, outboxErr(path, err)
	}
	return o, nil
}

func outboxErr(path string, err error) error {
	return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
		"Der Ausgang für Schalteranträge ohne Verbindung (%s) kann nicht geöffnet werden. Bitte Pfad und Berechtigungen prüfen.", path)}
}

// Close closes the file.
func (o *Outbox) Close() error { return o.db.Close() }

// Hold implements app.OfflineOutbox.
func (o *Outbox) Hold(ctx context.Context, nc *app.NewCase, office app.OfficeKey, clerk string) (*app.OfflineEntry, error) {
	if nc == nil || nc.IdempotencyKey == "" {
		return nil, errors.New("offline hold: no idempotency key")
	}
	if e, err := o.entry(ctx, nc.IdempotencyKey); err == nil {
		return e, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	doc, err := json.Marshal(nc)
	if err != nil {
		return nil, err
	}
	now := o.now()
	year := nc.ReceivedAt
	if year.IsZero() {
		year = now
	}
	// The provisional reference comes from a random id, not the key: the
	// key is the form's and may be chosen by the caller.
	for range 5 {
		b := make([]byte, 8)
		rand.Read(b)
		ref := app.ProvisionalRef(app.RefPrefix(o.reg, office), year.In(app.Berlin).Year(), hex.EncodeToString(b))
		_, err = o.db.ExecContext(ctx, `INSERT INTO entries (key, provisional_ref, office, clerk, held_at, new_case) VALUES (?, ?, ?, ?, ?, ?)`,
			nc.IdempotencyKey, ref, string(office), clerk, now.Format(time.RFC3339Nano), string(doc))
		if err == nil {
			return o.entry(ctx, nc.IdempotencyKey)
		}
		if e, gerr := o.entry(ctx, nc.IdempotencyKey); gerr == nil {
			return e, nil // held meanwhile by another window of this PC
		}
	}
	return nil, &app.Error{Code: app.EINTERNAL, Err: err, Message: "Der Antrag konnte auch auf diesem PC nicht vorgemerkt werden. Bitte die Angaben auf Papier aufnehmen und die IT verständigen."}
}

func (o *Outbox) entry(ctx context.Context, key string) (*app.OfflineEntry, error) {
	es, err := o.query(ctx, "WHERE key = ?", key)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, sql.ErrNoRows
	}
	return &es[0], nil
}

// Entries implements app.OfflineOutbox.
func (o *Outbox) Entries(ctx context.Context, state app.OfflineState) ([]app.OfflineEntry, error) {
	if state == "" {
		return o.query(ctx, "")
	}
	return o.query(ctx, "WHERE state = ?", string(state))
}

func (o *Outbox) query(ctx context.Context, where string, args ...any) ([]app.OfflineEntry, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT key, provisional_ref, office, clerk, held_at, new_case, tried, state, final_ref, message, done_at
		FROM entries `+where+` ORDER BY held_at, rowid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []app.OfflineEntry
	for rows.Next() {
		var e app.OfflineEntry
		var office, held, doc, state, done string
		if err := rows.Scan(&e.Key, &e.ProvisionalRef, &office, &e.Clerk, &held, &doc, &e.Tried, &state, &e.FinalRef, &e.Message, &done); err != nil {
			return nil, err
		}
		e.Office, e.State = app.OfficeKey(office), app.OfflineState(state)
		e.HeldAt, _ = time.Parse(time.RFC3339Nano, held)
		if done != "" {
			e.DoneAt, _ = time.Parse(time.RFC3339Nano, done)
		}
		e.Case = &app.NewCase{}
		if err := json.Unmarshal([]byte(doc), e.Case); err != nil {
			return nil, fmt.Errorf("offline entry %s: %w", e.ProvisionalRef, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Written implements app.OfflineOutbox.
func (o *Outbox) Written(ctx context.Context, key, finalRef string) error {
	return o.settle(ctx, key, app.OfflineWritten, finalRef, "")
}

// Refused implements app.OfflineOutbox.
func (o *Outbox) Refused(ctx context.Context, key, message string) error {
	return o.settle(ctx, key, app.OfflineConflict, "", message)
}

// TryEntry implements app.OfflineOutbox (synchronous=FULL: on disk before
// the application goes to the server).
func (o *Outbox) TryEntry(ctx context.Context, key string) error {
	res, err := o.db.ExecContext(ctx, `UPDATE entries SET tried = 1 WHERE key = ? AND state = 'waiting'`, key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return app.Errorf(app.ENOTFOUND, "Der vorgemerkte Antrag ist nicht mehr im Ausgang dieses PCs.")
	}
	return nil
}

func (o *Outbox) settle(ctx context.Context, key string, state app.OfflineState, ref, msg string) error {
	res, err := o.db.ExecContext(ctx, `UPDATE entries SET state = ?, final_ref = ?, message = ?, done_at = ? WHERE key = ?`,
		string(state), ref, msg, o.now().Format(time.RFC3339Nano), key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return app.Errorf(app.ENOTFOUND, "Der vorgemerkte Antrag ist nicht mehr im Ausgang dieses PCs.")
	}
	return nil
}

// HoldAction implements app.OfflineActions.
func (o *Outbox) HoldAction(ctx context.Context, a *app.OfflineAction) (*app.OfflineAction, error) {
	k := *a
	if k.Key == "" {
		b := make([]byte, 16)
		rand.Read(b)
		k.Key = "offline-" + hex.EncodeToString(b)
	}
	if k.HeldAt.IsZero() {
		k.HeldAt = o.now()
	}
	var tell []byte
	if k.Tell != nil {
		var err error
		if tell, err = json.Marshal(k.Tell); err != nil {
			return nil, err
		}
	}
	_, err := o.db.ExecContext(ctx, `INSERT INTO actions (key, kind, ref, status, text, tell, seen_status, seen_assignee, seen_office, seen_updated, clerk, name, held_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		k.Key, string(k.Kind), k.Ref, string(k.Status), k.Text, string(tell), string(k.Seen.Status), k.Seen.Assignee, string(k.Seen.Office),
		k.Seen.UpdatedAt.UTC().Format(time.RFC3339Nano), k.Clerk, k.Name, k.HeldAt.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return nil, &app.Error{Code: app.EINTERNAL, Err: err, Message: "Die Änderung konnte auch auf diesem PC nicht vorgemerkt werden. Bitte notieren Sie sie und tragen Sie sie nach, sobald die Verbindung wieder besteht."}
	}
	as, err := o.actions(ctx, "WHERE key = ?", k.Key)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, sql.ErrNoRows
	}
	return &as[0], nil
}

// Actions implements app.OfflineActions.
func (o *Outbox) Actions(ctx context.Context, state app.OfflineState) ([]app.OfflineAction, error) {
	if state == "" {
		return o.actions(ctx, "")
	}
	return o.actions(ctx, "WHERE state = ?", string(state))
}

func (o *Outbox) actions(ctx context.Context, where string, args ...any) ([]app.OfflineAction, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT key, kind, ref, status, text, tell, seen_status, seen_assignee, seen_office, seen_updated,
		clerk, name, held_at, tried, note_mark, state, message, done_at FROM actions `+where+` ORDER BY seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []app.OfflineAction
	for rows.Next() {
		var a app.OfflineAction
		var kind, status, tell, seenStatus, seenOffice, seenUpdated, held, state, done string
		if err := rows.Scan(&a.Key, &kind, &a.Ref, &status, &a.Text, &tell, &seenStatus, &a.Seen.Assignee, &seenOffice, &seenUpdated,
			&a.Clerk, &a.Name, &held, &a.Tried, &a.NoteMark, &state, &a.Message, &done); err != nil {
			return nil, err
		}
		if tell != "" {
			a.Tell = &app.Tell{}
			if err := json.Unmarshal([]byte(tell), a.Tell); err != nil {
				return nil, fmt.Errorf("offline action %s: %w", a.Key, err)
			}
		}
		a.Kind, a.Status, a.State = app.OfflineActionKind(kind), app.Status(status), app.OfflineState(state)
		a.Seen.Status, a.Seen.Office = app.Status(seenStatus), app.OfficeKey(seenOffice)
		a.Seen.UpdatedAt, _ = time.Parse(time.RFC3339Nano, seenUpdated)
		a.HeldAt, _ = time.Parse(time.RFC3339Nano, held)
		if done != "" {
			a.DoneAt, _ = time.Parse(time.RFC3339Nano, done)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// TryAction implements app.OfflineActions (synchronous=FULL: on disk
// before the change goes to the server).
func (o *Outbox) TryAction(ctx context.Context, key string, noteMark int64) error {
	return o.exec(ctx, `UPDATE actions SET tried = 1, note_mark = ? WHERE key = ? AND state = 'waiting'`, noteMark, key)
}

// ActionDone implements app.OfflineActions.
func (o *Outbox) ActionDone(ctx context.Context, key string) error {
	return o.exec(ctx, `UPDATE actions SET state = 'written', done_at = ? WHERE key = ?`, o.now().Format(time.RFC3339Nano), key)
}

// ActionRefused implements app.OfflineActions.
func (o *Outbox) ActionRefused(ctx context.Context, key, message string) error {
	return o.exec(ctx, `UPDATE actions SET state = 'conflict', message = ?, done_at = ? WHERE key = ?`, message, o.now().Format(time.RFC3339Nano), key)
}

// Discard implements app.OfflineActions: an application or a change. A
// waiting one the replay has marked as being sent (TryEntry, TryAction)
// stays: the one DELETE decides against the UPDATE of TryEntry or
// TryAction, so it is either discarded before it is sent or sent and
// kept until settled.
func (o *Outbox) Discard(ctx context.Context, key string) error {
	res, err := o.db.ExecContext(ctx, `DELETE FROM entries WHERE key = ? AND NOT (state = 'waiting' AND tried = 1)`, key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var prov string
	switch err := o.db.QueryRowContext(ctx, `SELECT provisional_ref FROM entries WHERE key = ?`, key).Scan(&prov); {
	case err == nil:
		return app.Errorf(app.ECONFLICT, "Der Antrag %s ist schon unterwegs zum Server (die Verbindung ist wieder da) und ist dort vielleicht schon unter seinem endgültigen Aktenzeichen gespeichert; er kann nicht mehr verworfen werden. Bitte den Vorgang im Arbeitsvorrat öffnen, sobald er gespeichert ist, und dort zurücknehmen oder korrigieren.", prov)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	res, err = o.db.ExecContext(ctx, `DELETE FROM actions WHERE key = ? AND NOT (state = 'waiting' AND tried = 1)`, key)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var ref string
	switch err := o.db.QueryRowContext(ctx, `SELECT ref FROM actions WHERE key = ?`, key).Scan(&ref); {
	case errors.Is(err, sql.ErrNoRows):
		return app.Errorf(app.ENOTFOUND, "Die vorgemerkte Änderung ist nicht mehr im Ausgang dieses PCs.")
	case err != nil:
		return err
	}
	return app.Errorf(app.ECONFLICT, "Die Änderung an %s ist schon unterwegs zum Server (die Verbindung ist wieder da) und kann nicht mehr verworfen werden. Bitte den Vorgang öffnen, sobald sie gespeichert ist, und dort korrigieren.", ref)
}

func (o *Outbox) exec(ctx context.Context, q string, args ...any) error {
	res, err := o.db.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return app.Errorf(app.ENOTFOUND, "Die vorgemerkte Änderung ist nicht mehr im Ausgang dieses PCs.")
	}
	return nil
}

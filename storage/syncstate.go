package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// SyncState implements app.SyncStore; ENOTFOUND before the first run.
func (db *DB) SyncState(ctx context.Context, mailbox string) (*app.SyncState, error) {
	var s app.SyncState
	var uv, last int64
	var run string
	err := db.q().QueryRowContext(ctx, `SELECT mailbox, uidvalidity, last_uid, last_run, last_result, last_error FROM sync_state WHERE mailbox = ?`, mailbox).
		Scan(&s.Mailbox, &uv, &last, &run, &s.LastResult, &s.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, rules.SyncNotFound(mailbox)
	}
	if err != nil {
		return nil, fmt.Errorf("sync state: %w", err)
	}
	s.UIDValidity, s.LastUID = uint32(uv), uint32(last)
	if s.LastRun, err = parseTime(run); err != nil {
		return nil, fmt.Errorf("sync state: %w", err)
	}
	return &s, nil
}

// SaveSyncState implements app.SyncStore. It is audited as "sync.state"
// (cursor and outcome codes, never the summary text).
func (db *DB) SaveSyncState(ctx context.Context, s *app.SyncState) error {
	if s == nil || s.Mailbox == "" {
		return errors.New("save sync state: no mailbox")
	}
	return db.tx(ctx, "save sync state", func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sync_state (mailbox, uidvalidity, last_uid, last_run, last_result, last_error)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
			last_run = excluded.last_run, last_result = excluded.last_result, last_error = excluded.last_error`,
			s.Mailbox, int64(s.UIDValidity), int64(s.LastUID), fmtTime(s.LastRun), s.LastResult, s.LastError); err != nil {
			return err
		}
		return audit(ctx, tx, rules.SyncStateAudit(s, db.clock(ctx)))
	})
}

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"amtstresen/app"
)

// SyncState implements app.SyncStore; ENOTFOUND before the first run.
func (db *DB) SyncState(ctx context.Context, mailbox string) (*app.SyncState, error) {
	var s app.SyncState
	var uv, last int64
	var run string
	err := db.q().QueryRowContext(ctx, `SELECT mailbox, uidvalidity, last_uid, last_run, last_result, last_error FROM sync_state WHERE mailbox = ?`, mailbox).
		Scan(&s.Mailbox, &uv, &last, &run, &s.LastResult, &s.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.Errorf(app.ENOTFOUND, "Das Postfach %s wurde noch nie abgerufen.", mailbox)
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
		failed := 0
		if s.LastError != "" {
			failed = 1
		}
		return audit(ctx, tx, app.AuditEntry{At: db.clock(ctx), Clerk: app.PortalActor.Clerk, Action: "sync.state", Ref: s.Mailbox,
			Detail: fmt.Sprintf("uidvalidity=%d last_uid=%d error=%d", s.UIDValidity, s.LastUID, failed)})
	})
}

// Processed implements app.SyncStore.
func (db *DB) Processed(ctx context.Context, messageID string) (bool, error) {
	if messageID == "" {
		return false, nil
	}
	var one int
	err := db.q().QueryRowContext(ctx, `SELECT 1 FROM processed_mails WHERE message_id = ?`, messageID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("processed: %w", err)
	}
	return true, nil
}

// ProcessedAmong returns which of the Message-IDs are recorded as
// processed: one query for a whole sync batch instead of one per mail.
func (db *DB) ProcessedAmong(ctx context.Context, messageIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	const chunk = 500
	for lo := 0; lo < len(messageIDs); lo += chunk {
		ids := messageIDs[lo:min(lo+chunk, len(messageIDs))]
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		rows, err := db.q().QueryContext(ctx, `SELECT message_id FROM processed_mails WHERE message_id IN (?`+
			strings.Repeat(", ?", len(ids)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("processed: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("processed: %w", err)
			}
			out[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("processed: %w", err)
		}
	}
	return out, nil
}

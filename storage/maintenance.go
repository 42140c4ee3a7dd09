package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"amtstresen/app"
)

var _ app.MaintenanceLog = (*DB)(nil)

// RecordRun implements app.MaintenanceLog.
func (db *DB) RecordRun(ctx context.Context, job, result, errText string) error {
	return db.tx(ctx, "record run", func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO maintenance_runs (job, last_run, last_result, last_error) VALUES (?, ?, ?, ?)
			ON CONFLICT (job) DO UPDATE SET last_run = excluded.last_run, last_result = excluded.last_result, last_error = excluded.last_error`,
			job, fmtTime(db.now()), result, errText)
		return err
	})
}

// LastRun implements app.MaintenanceLog.
func (db *DB) LastRun(ctx context.Context, job string) (*app.MaintenanceRun, error) {
	r := &app.MaintenanceRun{Job: job}
	var at string
	err := db.q().QueryRowContext(ctx, `SELECT last_run, last_result, last_error FROM maintenance_runs WHERE job = ?`, job).Scan(&at, &r.Result, &r.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last run: %w", err)
	}
	if r.LastRun, err = parseTime(at); err != nil {
		return nil, fmt.Errorf("last run: %w", err)
	}
	return r, nil
}

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// MaintenanceRun is the last run of a maintenance job ("purge", "backup").
type MaintenanceRun struct {
	Job     string
	LastRun time.Time
	Result  string // German summary, no personal data
	Error   string
}

// RecordRun stores the outcome of a maintenance job.
func (db *DB) RecordRun(ctx context.Context, job, result, errText string) error {
	return db.tx(ctx, "record run", func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO maintenance_runs (job, last_run, last_result, last_error) VALUES (?, ?, ?, ?)
			ON CONFLICT (job) DO UPDATE SET last_run = excluded.last_run, last_result = excluded.last_result, last_error = excluded.last_error`,
			job, fmtTime(db.now()), result, errText)
		return err
	})
}

// LastRun returns the last run of job; nil when it never ran.
func (db *DB) LastRun(ctx context.Context, job string) (*MaintenanceRun, error) {
	r := &MaintenanceRun{Job: job}
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

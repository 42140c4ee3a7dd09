package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
)

var _ app.MaintenanceLog = (*DB)(nil)

// RecordRun implements app.MaintenanceLog (administration and the purge's
// service account may write it).
func (db *DB) RecordRun(ctx context.Context, job, result, errText string) error {
	return db.tx(ctx, "record run", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO maintenance_runs (job, last_run, last_result, last_error) VALUES ($1, $2, $3, $4)
			ON CONFLICT (job) DO UPDATE SET last_run = excluded.last_run, last_result = excluded.last_result, last_error = excluded.last_error`,
			txt(job), micro(db.now()), txt(result), txt(errText))
		return err
	})
}

// LastRun implements app.MaintenanceLog.
func (db *DB) LastRun(ctx context.Context, job string) (*app.MaintenanceRun, error) {
	r := &app.MaintenanceRun{Job: job}
	var at *time.Time
	err := db.q().QueryRow(ctx, `SELECT last_run, last_result, last_error FROM maintenance_runs WHERE job = $1`, txt(job)).Scan(&at, &r.Result, &r.Error)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, explain(fmt.Errorf("last run: %w", err))
	}
	r.LastRun = utc(at)
	return r, nil
}

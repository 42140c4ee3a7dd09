package app

import (
	"context"
	"time"
)

// MaintenanceRun is the last run of a maintenance job ("purge", "backup",
// "nightly").
type MaintenanceRun struct {
	Job     string
	LastRun time.Time
	Result  string // German summary, no personal data
	Error   string
}

// MaintenanceLog keeps the last run of each maintenance job: the nightly
// job catches up a missed run from it, and the administration sees when
// the purge and the backup last ran.
type MaintenanceLog interface {
	// RecordRun stores the outcome of a run of job now (errText "" when it
	// succeeded).
	RecordRun(ctx context.Context, job, result, errText string) error
	// LastRun returns the last run of job; nil when it never ran.
	LastRun(ctx context.Context, job string) (*MaintenanceRun, error)
}

package app

import (
	"context"
	"fmt"
	"time"
)

// PurgeOptions control a retention purge.
type PurgeOptions struct {
	// Now is the moment against which periods are measured; zero = now.
	Now time.Time
	// DryRun only reports what would be deleted.
	DryRun bool
	// AuditMonths is the retention period of the audit log ([audit]
	// retention_months); 0 keeps the log.
	AuditMonths int
	// ReviewMonths is how long a handled mail of the review list is kept
	// after it was handled ([imap] review_retention_months); 0 keeps them.
	ReviewMonths int
	// By is who runs the purge (for the audit log); "system" by default.
	By Actor
}

// PurgeItem is one case or appointment whose retention period is over.
type PurgeItem struct {
	Ref     string    `json:"ref"` // case reference or booking UID
	Service string    `json:"service"`
	Office  OfficeKey `json:"office"`
	Since   time.Time `json:"since"`   // closed (case) or took place (appointment)
	Expired time.Time `json:"expired"` // end of the retention period
}

// PurgeReport says what was (or, in a dry run, would be) deleted.
type PurgeReport struct {
	DryRun       bool        `json:"dry_run"`
	Cases        []PurgeItem `json:"cases"`
	Appointments []PurgeItem `json:"appointments"`
	// AuditEntries older than AuditBefore (zero when the log is kept).
	AuditEntries int       `json:"audit_entries"`
	AuditBefore  time.Time `json:"audit_before"`
	// ReviewMails handled before ReviewBefore (zero when they are kept).
	ReviewMails  int       `json:"review_mails"`
	ReviewBefore time.Time `json:"review_before"`
	// NoRetention lists closed cases and past appointments whose service
	// has no retention period in the catalog: they are kept, and the
	// admin must complete the catalog.
	NoRetention []string `json:"no_retention"`
}

// Summary is a German one-line summary.
func (r *PurgeReport) Summary() string {
	verb := "gelöscht"
	if r.DryRun {
		verb = "würden gelöscht"
	}
	s := fmt.Sprintf("%d Vorgänge, %d Termine, %d erledigte Mails der Sichtung und %d Protokolleinträge %s", len(r.Cases), len(r.Appointments), r.ReviewMails, r.AuditEntries, verb)
	if n := len(r.NoRetention); n > 0 {
		s += fmt.Sprintf("; %d ohne Aufbewahrungsfrist im Leistungskatalog (bleiben erhalten)", n)
	}
	return s
}

// Expiry returns the end of the retention period of something of service
// svc that ended (was closed, took place) at t; ok=false when the catalog
// gives the service no period. Months count in calendar months,
// Europe/Berlin.
func Expiry(svc *Service, t time.Time, appointment bool) (time.Time, bool) {
	if svc == nil || t.IsZero() {
		return time.Time{}, false
	}
	l := t.In(Berlin)
	switch {
	case appointment && svc.RetentionDays > 0:
		return l.AddDate(0, 0, svc.RetentionDays), true
	case svc.RetentionMonths > 0:
		return l.AddDate(0, svc.RetentionMonths, 0), true
	case svc.RetentionDays > 0:
		return l.AddDate(0, 0, svc.RetentionDays), true
	}
	return time.Time{}, false
}

// Purger deletes what the retention periods no longer allow to keep.
//
// A case is purged once Expiry (of its service, from when it was closed)
// has passed: with it go its notes, messages, files no other case refers
// to, its review mails and its bookings; the server copies of its mails
// are queued for the sync (PortalStore.MailPurges). An open case is never
// purged, however old. A booking goes Expiry after it took place (its
// end, else its start). Handled review mails go ReviewMonths after they
// were handled, audit entries AuditMonths after they were written. Each
// deletion is audited by reference only ("case.purge",
// "appointment.purge", "review.purge", "audit.purge"); a dry run changes
// nothing and reports the same.
type Purger interface {
	Purge(ctx context.Context, o PurgeOptions) (*PurgeReport, error)
}

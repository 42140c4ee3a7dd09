package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"amtstresen/app"
)

// ReviewSum is the identity of a mail on the review list: its SHA256, or
// computed from Raw when not set.
func ReviewSum(it *app.ReviewItem) string {
	if it.SHA256 == "" && it.Raw != nil {
		s := sha256.Sum256(it.Raw)
		return hex.EncodeToString(s[:])
	}
	return it.SHA256
}

// ReviewAddAudit is the audit entry of a mail put on the review list.
func ReviewAddAudit(id int64, reason app.ReviewReason, now time.Time) app.AuditEntry {
	return app.AuditEntry{At: now, Clerk: app.PortalActor.Clerk, Action: app.ActionReviewAdd, Ref: fmt.Sprintf("review:%d", id), Detail: string(reason)}
}

// ResolveInput checks a clerk's resolution of a review item and returns
// the note and the resolution trimmed ("handled" by default).
func ResolveInput(resolution, note string, by app.Actor) (string, string, error) {
	if err := NeedClerk(by); err != nil {
		return "", "", err
	}
	note = strings.TrimSpace(note)
	if note == "" {
		return "", "", &app.Error{Code: app.EINVALID, Field: "note", Message: "Bitte eine Begründung angeben; sie wird vermerkt."}
	}
	resolution = strings.TrimSpace(resolution)
	if resolution == "" {
		resolution = "handled"
	}
	return resolution, note, nil
}

// Resolve decides resolving review item id (handled: whether and by whom
// it was resolved already) and returns the audit entry, which names the
// case when the resolution does ("assigned:REF", "case:REF").
func Resolve(id int64, handled bool, handledBy, resolution string, by app.Actor, now time.Time) (app.AuditEntry, error) {
	if handled {
		return app.AuditEntry{}, app.Errorf(app.ECONFLICT, "Die Mail wurde bereits von %s erledigt.", handledBy)
	}
	kind, ref, _ := strings.Cut(resolution, ":")
	return app.AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: app.ActionReviewResolve, Ref: NormRef(ref),
		Detail: fmt.Sprintf("review=%d %s", id, kind)}, nil
}

// ReviewNotFound is the error for an unknown review item.
func ReviewNotFound(id int64) error {
	return app.Errorf(app.ENOTFOUND, "Die Mail Nr. %d gibt es nicht in der Prüfliste.", id)
}

// SyncStateAudit is the audit entry of saved sync progress (cursor and
// outcome codes, never the summary text).
func SyncStateAudit(s *app.SyncState, now time.Time) app.AuditEntry {
	failed := 0
	if s.LastError != "" {
		failed = 1
	}
	return app.AuditEntry{At: now, Clerk: app.PortalActor.Clerk, Action: app.ActionSyncState, Ref: s.Mailbox,
		Detail: fmt.Sprintf("uidvalidity=%d last_uid=%d error=%d", s.UIDValidity, s.LastUID, failed)}
}

// SyncNotFound is the error before the first run of a mailbox.
func SyncNotFound(mailbox string) error {
	return app.Errorf(app.ENOTFOUND, "Das Postfach %s wurde noch nie abgerufen.", mailbox)
}

// AuditInput checks an entry appended by hand; At defaults to now.
func AuditInput(e app.AuditEntry, now time.Time) (app.AuditEntry, error) {
	if strings.TrimSpace(e.Action) == "" {
		return e, app.Errorf(app.EINVALID, "Protokolleintrag ohne Aktion.")
	}
	if e.At.IsZero() {
		e.At = now
	}
	return e, nil
}

// RoleNotFound is the error for an account without a role.
func RoleNotFound(clerk string) error {
	return app.Errorf(app.ENOTFOUND, "Das Benutzerkonto „%s“ hat keine Rolle.", clerk)
}

// FirstRole refuses a first assignment that is not an administrator's
// (existing: how many assignments there are).
func FirstRole(existing int, ra app.RoleAssignment) error {
	if existing == 0 && ra.Role != app.RoleAdmin {
		return app.Errorf(app.ECONFLICT, "Bitte zuerst eine Administration eintragen (amtstresen roles set KONTO admin); sonst könnte niemand mehr Rollen vergeben.")
	}
	return nil
}

// ListByStatus pages through the statuses in workflow order (or
// reverse), each newest first (or oldest first): one received-ordered
// list per status that the page touches. A status before the page is
// counted, at most up to the offset, to skip it.
func ListByStatus(f app.CaseFilter, asc bool, limit, offset int,
	list func(g app.CaseFilter, limit, offset int) ([]app.CaseSummary, error),
	count func(g app.CaseFilter, max int) (int, error)) ([]app.CaseSummary, error) {
	var statuses []app.Status
	for _, s := range f.Statuses {
		if !slices.Contains(statuses, s) {
			statuses = append(statuses, s)
		}
	}
	if len(statuses) == 0 {
		statuses = append(statuses, app.AllStatuses...)
	}
	rank := func(s app.Status) int {
		if i := slices.Index(app.AllStatuses, s); i >= 0 {
			return i
		}
		return len(app.AllStatuses)
	}
	slices.SortFunc(statuses, func(a, b app.Status) int {
		if asc {
			return rank(a) - rank(b)
		}
		return rank(b) - rank(a)
	})
	var out []app.CaseSummary
	for _, s := range statuses {
		if limit == 0 {
			break
		}
		g := f
		g.Statuses, g.Sort = []app.Status{s}, "received"
		if asc {
			g.Sort = "+received"
		}
		rows, err := list(g, limit, offset)
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 {
			out = append(out, rows...)
			limit -= len(rows)
			offset = 0
			continue
		}
		if offset > 0 {
			n, err := count(g, offset)
			if err != nil {
				return nil, err
			}
			offset -= n
		}
	}
	return out, nil
}

// PersonSource is what the Art. 15 search asks a store.
type PersonSource interface {
	// CasesBorn returns reference and applicant name of the cases whose
	// applicant was born on the date (YYYY-MM-DD).
	CasesBorn(ctx context.Context, birthDate string) (refs, names []string, err error)
	// RefsByEmail returns the cases of the e-mail address (lower case).
	RefsByEmail(ctx context.Context, email string) ([]string, error)
	// CaseAndNotes returns a whole case and its notes (nil when gone).
	CaseAndNotes(ctx context.Context, ref string) (*app.Case, []app.Note, error)
	// CaseMessages returns the messages to the citizen of a case.
	CaseMessages(ctx context.Context, ref string) ([]app.Outgoing, error)
	// Appointments returns the bookings of the e-mail address (lower
	// case) or the portal case.
	AppointmentsByEmail(ctx context.Context, email string) ([]app.Appointment, error)
	AppointmentsByPortalCase(ctx context.Context, portalCase string) ([]app.Appointment, error)
	// MailsFrom returns the review list's mails whose sender contains
	// the address, oldest first.
	MailsFrom(ctx context.Context, email string) ([]app.ReviewItem, error)
}

// FindPerson puts together the data of a person for an Art. 15 request:
// the cases whose applicant has the name and birth date, or the e-mail
// address; the appointments booked with one of those addresses or for
// one of those portal cases; the notes and messages of the cases; and the
// mails from those addresses on the review list (metadata only). A name
// alone never matches appointments: two people can share it.
func FindPerson(ctx context.Context, q app.PersonQuery, now time.Time, src PersonSource) (*app.PersonData, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	d := &app.PersonData{Query: q, Notes: map[string][]app.Note{}, Messages: map[string][]app.Outgoing{}, At: now}
	refs := map[string]bool{}
	if q.Name != "" && q.BirthDate != "" {
		want := app.FoldName(q.Name)
		rs, names, err := src.CasesBorn(ctx, q.BirthDate)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		for i, ref := range rs {
			if app.FoldName(names[i]) == want {
				refs[ref] = true
			}
		}
	}
	emails := map[string]bool{}
	if q.Email != "" {
		e := strings.ToLower(q.Email)
		rs, err := src.RefsByEmail(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		for _, r := range rs {
			refs[r] = true
		}
		emails[e] = true
	}
	portal := map[string]bool{}
	sorted := make([]string, 0, len(refs))
	for r := range refs {
		sorted = append(sorted, r)
	}
	sort.Strings(sorted)
	for _, ref := range sorted {
		c, notes, err := src.CaseAndNotes(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		if c == nil {
			continue
		}
		d.Cases = append(d.Cases, c)
		if e := strings.ToLower(strings.TrimSpace(c.Applicant.Email)); e != "" {
			emails[e] = true
		}
		if c.PortalCase != "" {
			portal[c.PortalCase] = true
		}
		d.Notes[ref] = notes
		ms, err := src.CaseMessages(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		if len(ms) > 0 {
			d.Messages[ref] = ms
		}
	}
	seen := map[string]bool{}
	addAppts := func(as []app.Appointment, err error) error {
		if err != nil {
			return fmt.Errorf("find person: %w", err)
		}
		for _, a := range as {
			if !seen[a.UID] {
				seen[a.UID] = true
				d.Appointments = append(d.Appointments, a)
			}
		}
		return nil
	}
	for e := range emails {
		if err := addAppts(src.AppointmentsByEmail(ctx, e)); err != nil {
			return nil, err
		}
		mails, err := src.MailsFrom(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		d.Mails = append(d.Mails, mails...)
	}
	for p := range portal {
		if err := addAppts(src.AppointmentsByPortalCase(ctx, p)); err != nil {
			return nil, err
		}
	}
	sort.Slice(d.Appointments, func(i, j int) bool { return d.Appointments[i].Start.Before(d.Appointments[j].Start) })
	return d, nil
}

// PurgeStart is the beginning of a retention purge: its moment, who runs
// it ("system" by default) and the empty report.
func PurgeStart(o app.PurgeOptions, now time.Time) (time.Time, app.Actor, *app.PurgeReport) {
	if !o.Now.IsZero() {
		now = o.Now
	}
	by := o.By
	if by.Clerk == "" {
		by.Clerk = "system"
	}
	return now, by, &app.PurgeReport{DryRun: o.DryRun, Cases: []app.PurgeItem{}, Appointments: []app.PurgeItem{}, NoRetention: []string{}}
}

// Before is the end of a retention of months counted back from now
// (Europe/Berlin), in UTC.
func Before(now time.Time, months int) time.Time {
	return now.In(app.Berlin).AddDate(0, -months, 0).UTC()
}

// Expired decides whether it (a closed case or a past appointment) is
// over its service's retention at now: it sets it.Expired then. Without a
// retention in the catalog the item is kept and listed in rep.
func Expired(reg *app.Registry, it *app.PurgeItem, now time.Time, appointment bool, rep *app.PurgeReport) bool {
	exp, ok := app.Expiry(reg.Catalog.Service(it.Service), it.Since, appointment)
	if !ok {
		if appointment {
			rep.NoRetention = append(rep.NoRetention, "Termin "+it.Ref)
		} else {
			rep.NoRetention = append(rep.NoRetention, it.Ref)
		}
		return false
	}
	if exp.After(now) {
		return false
	}
	it.Expired = exp.UTC()
	return true
}

// CasePurgeAudit is the audit entry of a purged case (reference and codes
// only).
func CasePurgeAudit(it app.PurgeItem, by app.Actor, now time.Time) app.AuditEntry {
	return app.AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: app.ActionCasePurge, Ref: it.Ref,
		Detail: fmt.Sprintf("service=%s office=%s closed=%s", it.Service, it.Office, it.Since.In(app.Berlin).Format("2006-01-02"))}
}

// AppointmentPurgeAudit is the audit entry of a purged booking.
func AppointmentPurgeAudit(it app.PurgeItem, by app.Actor, now time.Time) app.AuditEntry {
	return app.AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: app.ActionAppointmentPurge, Ref: it.Ref,
		Detail: "service=" + it.Service + " office=" + string(it.Office)}
}

// CountPurgeAudit is the audit entry of purged review mails
// ("review.purge") or audit entries ("audit.purge").
func CountPurgeAudit(action string, before time.Time, n int64, by app.Actor, now time.Time) app.AuditEntry {
	return app.AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: action,
		Detail: fmt.Sprintf("before=%s count=%d", before.In(app.Berlin).Format("2006-01-02"), n)}
}

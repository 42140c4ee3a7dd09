// Package memstore is an in-memory app.Store for UI tests while no
// database is at hand. It follows the rules of the app package (status
// transitions, claims, idempotent creation) but is not fast and keeps
// nothing.
package memstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"amtstresen/app"
)

// Store is the in-memory store.
type Store struct {
	mu      gosync.Mutex
	reg     *app.Registry
	cases   []*app.Case
	byKey   map[string]*app.Case
	seq     map[string]int
	notes   map[string][]app.Note
	files   map[string][]byte
	audit   []app.AuditEntry
	appts   map[string]*app.Appointment
	reviews []*app.ReviewItem
	sync    map[string]*app.SyncState
	Now     func() time.Time
}

var _ app.Store = (*Store)(nil)

// New returns an empty store.
func New(reg *app.Registry) *Store {
	return &Store{reg: reg, byKey: map[string]*app.Case{}, seq: map[string]int{}, notes: map[string][]app.Note{},
		files: map[string][]byte{}, appts: map[string]*app.Appointment{}, sync: map[string]*app.SyncState{}, Now: time.Now}
}

func (s *Store) now() time.Time { return s.Now().UTC() }

func clone(c *app.Case) *app.Case {
	cp := *c
	cp.Flags = append([]app.Flag(nil), c.Flags...)
	cp.Attachments = append([]app.Attachment(nil), c.Attachments...)
	return &cp
}

func (s *Store) find(ref string) (*app.Case, error) {
	for _, c := range s.cases {
		if c.Ref == ref {
			return c, nil
		}
	}
	return nil, app.Errorf(app.ENOTFOUND, "Den Vorgang %s gibt es nicht.", ref)
}

func (s *Store) log(by app.Actor, action, ref, detail string) {
	s.audit = append(s.audit, app.AuditEntry{ID: int64(len(s.audit) + 1), At: s.now(), Clerk: by.Clerk, Office: by.Office, Action: action, Ref: ref, Detail: detail})
}

// CreateCase implements app.CaseStore.
func (s *Store) CreateCase(ctx context.Context, nc *app.NewCase, rc *app.Receipt) (*app.Case, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.byKey[nc.IdempotencyKey]; ok && nc.IdempotencyKey != "" {
		return clone(c), false, nil
	}
	at := nc.ReceivedAt
	if at.IsZero() {
		at = s.now()
	}
	prefix := app.RefPrefix(s.reg, nc.Routing.Office)
	year := at.In(app.Berlin).Year()
	k := fmt.Sprintf("%s-%d", prefix, year)
	s.seq[k]++
	c := &app.Case{ID: int64(len(s.cases) + 1), Ref: app.FormatRef(prefix, year, s.seq[k]), Office: nc.Routing.Office,
		Channel: nc.Channel, Service: nc.Service, PortalCase: nc.PortalCase, Applicant: nc.Applicant, Fields: nc.Fields, Raw: nc.Raw,
		Status: app.StatusReceived, Flags: append([]app.Flag(nil), nc.Flags...), Municipality: nc.Routing.Municipality,
		RoutingReason: nc.Routing.Reason, ReceivedAt: at.UTC(), UpdatedAt: s.now()}
	for _, a := range nc.Attachments {
		att := a.Attachment
		if a.Data != nil {
			sum := sha256.Sum256(a.Data)
			att.SHA256 = hex.EncodeToString(sum[:])
			att.Size = int64(len(a.Data))
			s.files[att.SHA256] = a.Data
		}
		c.Attachments = append(c.Attachments, att)
	}
	s.cases = append(s.cases, c)
	s.byKey[nc.IdempotencyKey] = c
	clerk := nc.Clerk
	if clerk == "" {
		clerk = "portal"
	}
	s.log(app.Actor{Clerk: clerk}, "case.create", c.Ref, "channel="+string(c.Channel))
	return clone(c), true, nil
}

// CaseByRef implements app.CaseStore.
func (s *Store) CaseByRef(ctx context.Context, ref string) (*app.Case, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.find(ref)
	if err != nil {
		return nil, err
	}
	return clone(c), nil
}

// CaseByPortalID implements app.CaseStore.
func (s *Store) CaseByPortalID(ctx context.Context, id string) (*app.Case, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cases {
		if c.PortalCase == id && id != "" {
			return clone(c), nil
		}
	}
	return nil, app.Errorf(app.ENOTFOUND, "Zum Portal-Vorgang %s gibt es keinen Vorgang.", id)
}

func (s *Store) match(c *app.Case, f app.CaseFilter) bool {
	if len(f.Offices) > 0 && !has(f.Offices, c.Office) {
		return false
	}
	if len(f.Statuses) > 0 && !has(f.Statuses, c.Status) {
		return false
	}
	if f.Service != "" && c.Service != f.Service {
		return false
	}
	if f.Assignee != "" && c.Assignee != f.Assignee {
		return false
	}
	if f.Unassigned && c.Assignee != "" {
		return false
	}
	if f.Flag != "" && !c.HasFlag(f.Flag) {
		return false
	}
	if f.Flagged && len(c.Flags) == 0 {
		return false
	}
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		hay := strings.ToLower(c.Ref + " " + c.Applicant.Name() + " " + string(c.Fields) + " " + c.Applicant.Address.Line())
		for _, w := range strings.Fields(q) {
			if !strings.Contains(hay, w) {
				return false
			}
		}
	}
	return true
}

func has[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Store) selectCases(f app.CaseFilter) []*app.Case {
	var out []*app.Case
	for _, c := range s.cases {
		if s.match(c, f) {
			out = append(out, c)
		}
	}
	key, asc := strings.TrimPrefix(f.Sort, "+"), strings.HasPrefix(f.Sort, "+")
	less := func(a, b *app.Case) bool {
		switch key {
		case "ref":
			return a.Ref < b.Ref
		case "service":
			return a.Service < b.Service
		case "status":
			return a.Status < b.Status
		case "applicant":
			return a.Applicant.LastName < b.Applicant.LastName
		}
		return a.ReceivedAt.Before(b.ReceivedAt)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if asc {
			return less(out[i], out[j])
		}
		return less(out[j], out[i])
	})
	return out
}

// ListCases implements app.CaseStore.
func (s *Store) ListCases(ctx context.Context, f app.CaseFilter) ([]app.CaseSummary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.selectCases(f)
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Offset > len(all) {
		f.Offset = len(all)
	}
	end := min(f.Offset+f.Limit, len(all))
	var out []app.CaseSummary
	for _, c := range all[f.Offset:end] {
		out = append(out, app.CaseSummary{ID: c.ID, Ref: c.Ref, ReceivedAt: c.ReceivedAt, Service: c.Service, ApplicantName: c.Applicant.Name(),
			Municipality: c.Municipality, Office: c.Office, Status: c.Status, Assignee: c.Assignee, Flags: c.Flags, Channel: c.Channel})
	}
	return out, nil
}

// CountCases implements app.CaseStore.
func (s *Store) CountCases(ctx context.Context, f app.CaseFilter) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.selectCases(f)), nil
}

// Claim implements app.CaseStore.
func (s *Store) Claim(ctx context.Context, ref string, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.find(ref)
	if err != nil {
		return err
	}
	if c.Assignee != "" && c.Assignee != by.Clerk {
		return app.Errorf(app.ECONFLICT, "Der Vorgang %s wird bereits von %s bearbeitet.", ref, c.Assignee)
	}
	c.Assignee = by.Clerk
	s.log(by, "case.claim", ref, "")
	return nil
}

// Release implements app.CaseStore.
func (s *Store) Release(ctx context.Context, ref string, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.find(ref)
	if err != nil {
		return err
	}
	if c.Assignee != by.Clerk {
		return app.Errorf(app.ECONFLICT, "Der Vorgang %s ist nicht von Ihnen übernommen.", ref)
	}
	c.Assignee = ""
	s.log(by, "case.release", ref, "")
	return nil
}

func (s *Store) note(c *app.Case, by app.Actor, kind, text string) {
	s.notes[c.Ref] = append(s.notes[c.Ref], app.Note{ID: int64(len(s.notes[c.Ref]) + 1), CaseID: c.ID, At: s.now(), Author: by.Clerk, Kind: kind, Text: text})
}

// SetStatus implements app.CaseStore.
func (s *Store) SetStatus(ctx context.Context, ref string, to app.Status, reason string, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.find(ref)
	if err != nil {
		return err
	}
	if err := app.CheckTransition(c.Status, to); err != nil {
		return err
	}
	from := c.Status
	c.Status = to
	if to.Final() {
		c.ClosedAt = s.now()
	}
	text := from.Label() + " → " + to.Label()
	if reason != "" {
		text += ": " + reason
	}
	s.note(c, by, "status", text)
	s.log(by, "case.status", ref, string(from)+"->"+string(to))
	return nil
}

// DecideWithdrawal implements app.CaseStore.
func (s *Store) DecideWithdrawal(ctx context.Context, ref string, confirm bool, reason string, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.find(ref)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return &app.Error{Code: app.EINVALID, Field: "reason", Message: "Bitte eine Begründung angeben; sie wird im Vorgang vermerkt."}
	}
	rest := c.Flags[:0:0]
	for _, f := range c.Flags {
		if f != app.FlagWithdrawalUnconfirmed {
			rest = append(rest, f)
		}
	}
	if len(rest) == len(c.Flags) {
		return app.Errorf(app.ECONFLICT, "Zum Vorgang %s liegt keine unbestätigte Rücknahme (mehr) vor.", ref)
	}
	c.Flags = rest
	detail := "rejected"
	if confirm {
		detail = "confirmed"
		if !c.Status.Final() {
			from := c.Status
			c.Status, c.ClosedAt = app.StatusWithdrawn, s.now()
			s.note(c, by, "status", from.Label()+" → "+app.StatusWithdrawn.Label()+": Rücknahme bestätigt: "+reason)
		}
	} else {
		s.note(c, by, "note", "Rücknahme nicht bestätigt: "+reason)
	}
	s.log(by, "case.withdrawal", ref, detail)
	return nil
}

// Forward implements app.CaseStore.
func (s *Store) Forward(ctx context.Context, ref string, to app.OfficeKey, reason string, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.find(ref)
	if err != nil {
		return err
	}
	if s.reg.Office(to) == nil {
		return app.Errorf(app.EINVALID, "Die Dienststelle %q gibt es nicht.", to)
	}
	if c.Office == to {
		return app.Errorf(app.EINVALID, "Der Vorgang liegt bereits bei dieser Dienststelle.")
	}
	c.ForwardedFrom, c.Office, c.Assignee = c.Office, to, ""
	s.note(c, by, "forward", reason)
	s.log(by, "case.forward", ref, string(c.ForwardedFrom)+"->"+string(to))
	return nil
}

// AddNote implements app.CaseStore.
func (s *Store) AddNote(ctx context.Context, ref, text string, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.find(ref)
	if err != nil {
		return err
	}
	s.note(c, by, "note", text)
	s.log(by, "case.note", ref, "")
	return nil
}

// AddMessage implements app.CaseStore.
func (s *Store) AddMessage(ctx context.Context, portalCase, key string, n *app.Note, files []app.NewAttachment, rc *app.Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cases {
		if c.PortalCase == portalCase {
			nn := *n
			nn.Kind = "message"
			nn.CaseID = c.ID
			for _, f := range files {
				att := f.Attachment
				if f.Data != nil {
					sum := sha256.Sum256(f.Data)
					att.SHA256 = hex.EncodeToString(sum[:])
					s.files[att.SHA256] = f.Data
				}
				nn.Attachments = append(nn.Attachments, att)
			}
			s.notes[c.Ref] = append(s.notes[c.Ref], nn)
			return nil
		}
	}
	return app.Errorf(app.ENOTFOUND, "Zum Portal-Vorgang %s gibt es keinen Vorgang.", portalCase)
}

// Withdraw implements app.CaseStore.
func (s *Store) Withdraw(ctx context.Context, portalCase, reason string, rc *app.Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cases {
		if c.PortalCase == portalCase {
			if !c.Status.Final() {
				c.Status, c.ClosedAt = app.StatusWithdrawn, s.now()
			}
			return nil
		}
	}
	return app.Errorf(app.ENOTFOUND, "Zum Portal-Vorgang %s gibt es keinen Vorgang.", portalCase)
}

// Notes implements app.CaseStore.
func (s *Store) Notes(ctx context.Context, ref string) ([]app.Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]app.Note(nil), s.notes[ref]...), nil
}

// AttachmentData implements app.CaseStore.
func (s *Store) AttachmentData(ctx context.Context, sum string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.files[sum]; ok {
		return b, nil
	}
	return nil, app.Errorf(app.ENOTFOUND, "Die Anlage ist nicht gespeichert.")
}

// ApplyAppointment implements app.AppointmentStore.
func (s *Store) ApplyAppointment(ctx context.Context, a *app.Appointment, rc *app.Receipt) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !app.Supersedes(a, s.appts[a.UID]) {
		return false, nil
	}
	cp := *a
	if old := s.appts[a.UID]; old != nil {
		cp.Attendance = old.Attendance
	}
	s.appts[a.UID] = &cp
	return true, nil
}

// Appointment implements app.AppointmentStore.
func (s *Store) Appointment(ctx context.Context, uid string) (*app.Appointment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.appts[uid]; ok {
		cp := *a
		return &cp, nil
	}
	return nil, app.Errorf(app.ENOTFOUND, "Den Termin gibt es nicht.")
}

// Appointments implements app.AppointmentStore.
func (s *Store) Appointments(ctx context.Context, office app.OfficeKey, from, to time.Time) ([]app.Appointment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []app.Appointment
	for _, a := range s.appts {
		if (office == "" || a.Office == office) && !a.Start.Before(from) && a.Start.Before(to) {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// SetAttendance implements app.AppointmentStore.
func (s *Store) SetAttendance(ctx context.Context, uid string, att app.Attendance, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.appts[uid]
	if !ok {
		return app.Errorf(app.ENOTFOUND, "Den Termin gibt es nicht.")
	}
	if a.Status == app.AppointmentCancelled && att != app.AttendanceNone {
		return app.Errorf(app.EINVALID, "Der Termin ist abgesagt.")
	}
	a.Attendance = att
	return nil
}

// AddReview implements app.ReviewStore.
func (s *Store) AddReview(ctx context.Context, it *app.ReviewItem, rc *app.Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.reviews {
		if x.MessageID == it.MessageID {
			return nil
		}
	}
	cp := *it
	cp.ID = int64(len(s.reviews) + 1)
	s.reviews = append(s.reviews, &cp)
	return nil
}

// ReviewItems implements app.ReviewStore.
func (s *Store) ReviewItems(ctx context.Context, includeHandled bool) ([]app.ReviewItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []app.ReviewItem
	for _, it := range s.reviews {
		if includeHandled || !it.Handled {
			out = append(out, *it)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ReceivedAt.After(out[j].ReceivedAt) })
	return out, nil
}

// ReviewItem implements app.ReviewStore.
func (s *Store) ReviewItem(ctx context.Context, id int64) (*app.ReviewItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.reviews {
		if it.ID == id {
			cp := *it
			return &cp, nil
		}
	}
	return nil, app.Errorf(app.ENOTFOUND, "Die Mail gibt es nicht.")
}

// ResolveReview implements app.ReviewStore.
func (s *Store) ResolveReview(ctx context.Context, id int64, resolution, note string, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.reviews {
		if it.ID == id {
			if it.Handled {
				return app.Errorf(app.ECONFLICT, "Die Mail wurde bereits von %s erledigt.", it.HandledBy)
			}
			if strings.TrimSpace(note) == "" {
				return app.Errorf(app.EINVALID, "Bitte eine Begründung angeben.")
			}
			it.Handled, it.HandledBy, it.HandledAt, it.Resolution, it.Note = true, by.Clerk, s.now(), resolution, note
			s.log(by, "review.resolve", "", resolution)
			return nil
		}
	}
	return app.Errorf(app.ENOTFOUND, "Die Mail gibt es nicht.")
}

// SyncState implements app.SyncStore.
func (s *Store) SyncState(ctx context.Context, mailbox string) (*app.SyncState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.sync[mailbox]; ok {
		cp := *st
		return &cp, nil
	}
	return &app.SyncState{Mailbox: mailbox}, nil
}

// SaveSyncState implements app.SyncStore.
func (s *Store) SaveSyncState(ctx context.Context, st *app.SyncState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *st
	s.sync[st.Mailbox] = &cp
	return nil
}

// Processed implements app.SyncStore.
func (s *Store) Processed(ctx context.Context, messageID string) (bool, error) { return false, nil }

// Audit implements app.AuditLog.
func (s *Store) Audit(ctx context.Context, e app.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ID = int64(len(s.audit) + 1)
	if e.At.IsZero() {
		e.At = s.now()
	}
	s.audit = append(s.audit, e)
	return nil
}

// AuditEntries implements app.AuditLog.
func (s *Store) AuditEntries(ctx context.Context, f app.AuditFilter) ([]app.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []app.AuditEntry
	for _, e := range s.audit {
		if (f.Ref == "" || e.Ref == f.Ref) && (f.Clerk == "" || e.Clerk == f.Clerk) {
			out = append(out, e)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}

// Close implements app.Store.
func (s *Store) Close() error { return nil }

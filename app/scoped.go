package app

import (
	"context"
	gosync "sync"
	"time"
)

// Scoped is the store as one clerk may use it: every call checks the
// actor's role and office before it reaches the store underneath, so that
// access control does not depend on what a screen shows or hides. A
// refused read of a case is itself audited ("case.read.denied").
//
// The window and the headless commands work through a Scoped store; the
// portal sync and the maintenance jobs use the store directly.
type Scoped struct {
	Store
	Actor Actor
	now   func() time.Time

	mu       gosync.Mutex
	shown    map[string]bool // SHA-256 of attachments of cases this actor was shown
	finder   PersonFinder
	override AttendanceOverrider
}

var _ Store = (*Scoped)(nil)

// NewScoped wraps s for the actor. When s also implements PersonFinder the
// scoped store does too (filtered to what the actor may see).
func NewScoped(s Store, a Actor) *Scoped {
	sc := &Scoped{Store: s, Actor: a, now: func() time.Time { return time.Now().UTC() }, shown: map[string]bool{}}
	if f, ok := s.(PersonFinder); ok {
		sc.finder = f
	}
	if o, ok := s.(AttendanceOverrider); ok {
		sc.override = o
	}
	return sc
}

func (s *Scoped) forbidden(c *Case) error {
	return Errorf(EFORBIDDEN, "Der Vorgang %s gehört nicht zu Ihrer Dienststelle. Einsehen und bearbeiten kann ihn nur die zuständige Dienststelle; bei Bedarf kann sie ihn an Sie weiterleiten.", c.Ref)
}

// deny audits the refused access and returns EFORBIDDEN.
func (s *Scoped) deny(ctx context.Context, c *Case, action string) error {
	_ = s.Store.Audit(ctx, AuditEntry{At: s.now(), Clerk: s.Actor.Clerk, Office: s.Actor.Office, Action: action + DeniedSuffix, Ref: c.Ref, Detail: string(c.Office)})
	return s.forbidden(c)
}

func (s *Scoped) remember(c *Case) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range c.Attachments {
		if a.SHA256 != "" {
			s.shown[a.SHA256] = true
		}
	}
}

// checkCase loads the case and refuses it when not the actor's.
func (s *Scoped) checkCase(ctx context.Context, ref, action string) (*Case, error) {
	c, err := s.Store.CaseByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !s.Actor.CanSee(c.Office) {
		return nil, s.deny(ctx, c, action)
	}
	return c, nil
}

// CaseByRef returns the case if the actor may see it, else EFORBIDDEN.
func (s *Scoped) CaseByRef(ctx context.Context, ref string) (*Case, error) {
	c, err := s.checkCase(ctx, ref, ActionCaseRead)
	if err != nil {
		return nil, err
	}
	s.remember(c)
	return c, nil
}

// CaseByPortalID returns the case if the actor may see it, else EFORBIDDEN.
func (s *Scoped) CaseByPortalID(ctx context.Context, portalCase string) (*Case, error) {
	c, err := s.Store.CaseByPortalID(ctx, portalCase)
	if err != nil {
		return nil, err
	}
	if !s.Actor.CanSee(c.Office) {
		return nil, s.deny(ctx, c, ActionCaseRead)
	}
	s.remember(c)
	return c, nil
}

// scope narrows the filter's offices to those the actor sees; ok=false
// when nothing is left.
func (s *Scoped) scope(f CaseFilter) (CaseFilter, bool) {
	vis := s.Actor.VisibleOffices()
	if vis == nil {
		return f, true
	}
	if len(f.Offices) == 0 {
		f.Offices = vis
		return f, len(vis) > 0
	}
	var keep []OfficeKey
	for _, o := range f.Offices {
		if s.Actor.CanSee(o) {
			keep = append(keep, o)
		}
	}
	f.Offices = keep
	return f, len(keep) > 0
}

// ListCases lists only cases of offices the actor sees.
func (s *Scoped) ListCases(ctx context.Context, f CaseFilter) ([]CaseSummary, error) {
	f, ok := s.scope(f)
	if !ok {
		return nil, nil
	}
	return s.Store.ListCases(ctx, f)
}

// CountCases counts only cases of offices the actor sees.
func (s *Scoped) CountCases(ctx context.Context, f CaseFilter) (int, error) {
	f, ok := s.scope(f)
	if !ok {
		return 0, nil
	}
	return s.Store.CountCases(ctx, f)
}

// Claim implements CaseStore for the actor's cases only.
func (s *Scoped) Claim(ctx context.Context, ref string, by Actor) error {
	if _, err := s.checkCase(ctx, ref, ActionCaseClaim); err != nil {
		return err
	}
	return s.Store.Claim(ctx, ref, s.by(by))
}

// Release implements CaseStore for the actor's cases only.
func (s *Scoped) Release(ctx context.Context, ref string, by Actor) error {
	if _, err := s.checkCase(ctx, ref, ActionCaseRelease); err != nil {
		return err
	}
	return s.Store.Release(ctx, ref, s.by(by))
}

// SetStatus implements CaseStore for the actor's cases only.
func (s *Scoped) SetStatus(ctx context.Context, ref string, to Status, reason string, by Actor) error {
	if _, err := s.checkCase(ctx, ref, ActionCaseStatus); err != nil {
		return err
	}
	return s.Store.SetStatus(ctx, ref, to, reason, s.by(by))
}

// Forward implements CaseStore for the actor's cases only.
func (s *Scoped) Forward(ctx context.Context, ref string, to OfficeKey, reason string, by Actor) error {
	if _, err := s.checkCase(ctx, ref, ActionCaseForward); err != nil {
		return err
	}
	return s.Store.Forward(ctx, ref, to, reason, s.by(by))
}

// AddNote implements CaseStore for the actor's cases only.
func (s *Scoped) AddNote(ctx context.Context, ref string, text string, by Actor) error {
	if _, err := s.checkCase(ctx, ref, ActionCaseNote); err != nil {
		return err
	}
	return s.Store.AddNote(ctx, ref, text, s.by(by))
}

// DecideWithdrawal implements CaseStore for the actor's cases only.
func (s *Scoped) DecideWithdrawal(ctx context.Context, ref string, confirm bool, reason string, by Actor) error {
	if _, err := s.checkCase(ctx, ref, ActionCaseWithdrawal); err != nil {
		return err
	}
	return s.Store.DecideWithdrawal(ctx, ref, confirm, reason, s.by(by))
}

// Notes implements CaseStore for the actor's cases only.
func (s *Scoped) Notes(ctx context.Context, ref string) ([]Note, error) {
	if _, err := s.checkCase(ctx, ref, ActionCaseRead); err != nil {
		return nil, err
	}
	ns, err := s.Store.Notes(ctx, ref)
	if err == nil {
		s.mu.Lock()
		for _, n := range ns {
			for _, a := range n.Attachments {
				s.shown[a.SHA256] = true
			}
		}
		s.mu.Unlock()
	}
	return ns, err
}

// AttachmentData returns a file only when it belongs to a case (or a
// message of a case) this actor was shown through this store.
func (s *Scoped) AttachmentData(ctx context.Context, sha256 string) ([]byte, error) {
	if s.Actor.Role != RoleAdmin {
		s.mu.Lock()
		ok := s.shown[sha256]
		s.mu.Unlock()
		if !ok {
			_ = s.Store.Audit(ctx, AuditEntry{At: s.now(), Clerk: s.Actor.Clerk, Office: s.Actor.Office, Action: ActionAttachmentRead + DeniedSuffix, Detail: sha256})
			return nil, Errorf(EFORBIDDEN, "Diese Anlage gehört zu keinem Vorgang, den Sie geöffnet haben. Bitte den Vorgang öffnen.")
		}
	}
	return s.Store.AttachmentData(ctx, sha256)
}

// by makes sure changes are made in the actor's name, whatever the caller
// passed; only the display name may come from the caller (the window knows
// it, the role may not).
func (s *Scoped) by(b Actor) Actor {
	a := s.Actor
	if a.Name == "" {
		a.Name = b.Name
	}
	return a
}

// Appointment returns a booking of an office the actor sees.
func (s *Scoped) Appointment(ctx context.Context, uid string) (*Appointment, error) {
	a, err := s.Store.Appointment(ctx, uid)
	if err != nil {
		return nil, err
	}
	if !s.Actor.CanSee(a.Office) {
		_ = s.Store.Audit(ctx, AuditEntry{At: s.now(), Clerk: s.Actor.Clerk, Office: s.Actor.Office, Action: ActionAppointmentRead + DeniedSuffix, Ref: a.UID, Detail: string(a.Office)})
		return nil, Errorf(EFORBIDDEN, "Der Termin gehört nicht zu Ihrer Dienststelle.")
	}
	return a, nil
}

// Appointments lists bookings of offices the actor sees.
func (s *Scoped) Appointments(ctx context.Context, office OfficeKey, from, to time.Time) ([]Appointment, error) {
	if office != "" && !s.Actor.CanSee(office) {
		return nil, nil
	}
	list, err := s.Store.Appointments(ctx, office, from, to)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, a := range list {
		if s.Actor.CanSee(a.Office) {
			out = append(out, a)
		}
	}
	return out, nil
}

// SetAttendance implements AppointmentStore for the actor's office only.
func (s *Scoped) SetAttendance(ctx context.Context, uid string, att Attendance, by Actor) error {
	if _, err := s.Appointment(ctx, uid); err != nil {
		return err
	}
	return s.Store.SetAttendance(ctx, uid, att, s.by(by))
}

// OverrideAttendance lets a lead (or the administration) record an
// attendance against the day rules, with a reason, for an appointment of
// an office the actor sees.
func (s *Scoped) OverrideAttendance(ctx context.Context, uid string, att Attendance, reason string, by Actor) error {
	if !s.Actor.Is(RoleLead) {
		return Forbidden("Die Anwesenheit abweichend von den Regeln zu erfassen")
	}
	if s.override == nil {
		return Errorf(EINTERNAL, "Mit diesem Speicher lässt sich die Anwesenheit nicht abweichend erfassen.")
	}
	if _, err := s.Appointment(ctx, uid); err != nil {
		return err
	}
	return s.override.OverrideAttendance(ctx, uid, att, reason, s.by(by))
}

var _ AttendanceOverrider = (*Scoped)(nil)

// AuditEntries: administrators read the whole log, leads their office's
// entries; clerks none. Everyone reads the history of a case they may see
// (the case view shows it).
func (s *Scoped) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	switch {
	case s.Actor.Role == RoleAdmin:
	case f.Ref != "" && f.Clerk == "" && f.Office == "":
		c, err := s.Store.CaseByRef(ctx, f.Ref)
		if err != nil || !s.Actor.CanSee(c.Office) {
			return nil, Forbidden("Das Lesen des Protokolls")
		}
	case s.Actor.Role == RoleLead:
		f.Office = s.Actor.Office
	default:
		return nil, Forbidden("Das Lesen des Protokolls")
	}
	return s.Store.AuditEntries(ctx, f)
}

// FindPerson finds the person's data among what the actor may see.
func (s *Scoped) FindPerson(ctx context.Context, q PersonQuery) (*PersonData, error) {
	if s.finder == nil {
		return nil, Errorf(EINTERNAL, "Die Auskunft ist mit diesem Speicher nicht möglich.")
	}
	if !s.Actor.Is(RoleLead) {
		return nil, Forbidden("Die Auskunft nach Art. 15 DSGVO")
	}
	d, err := s.finder.FindPerson(ctx, q)
	if err != nil {
		return nil, err
	}
	cases := d.Cases[:0]
	for _, c := range d.Cases {
		if s.Actor.CanSee(c.Office) {
			cases = append(cases, c)
			s.remember(c)
		} else {
			delete(d.Notes, c.Ref)
		}
	}
	d.Cases = cases
	for _, ns := range d.Notes {
		for _, n := range ns {
			s.mu.Lock()
			for _, a := range n.Attachments {
				s.shown[a.SHA256] = true
			}
			s.mu.Unlock()
		}
	}
	appts := d.Appointments[:0]
	for _, a := range d.Appointments {
		if s.Actor.CanSee(a.Office) {
			appts = append(appts, a)
		}
	}
	d.Appointments = appts
	if s.Actor.Role != RoleAdmin {
		d.Mails = nil // the shared review list is not one office's
	}
	return d, nil
}

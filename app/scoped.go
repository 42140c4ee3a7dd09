package app

import (
	"context"
	"fmt"
	gosync "sync"
	"time"
)

// Scoped is the store as one clerk may use it: every call checks the
// actor's role and office before it reaches the store underneath, so that
// access control does not depend on what a screen shows or hides. A
// refused read of a case is itself audited ("case.read.denied").
//
// Every method of ClerkStore is written out here, none is inherited from
// the store underneath: each says what a clerk, a lead and the
// administration may do, or why there is nothing to check. A change is
// made in the scoped actor's name; a caller that names another actor gets
// an error (EFORBIDDEN), never a silent substitution.
//
// The window and the headless commands of a clerk work through a Scoped
// store; the portal sync and the maintenance jobs use the store directly.
type Scoped struct {
	st    ClerkStore
	Actor Actor
	now   func() time.Time

	mu    gosync.Mutex
	shown map[string]bool // SHA-256 of attachments of cases this actor was shown
}

var (
	_ ClerkStore = (*Scoped)(nil)
	_ CaseReader = (*Scoped)(nil)
)

// NewScoped wraps s for the actor (from ResolveActor: it has a role).
func NewScoped(s ClerkStore, a Actor) *Scoped {
	return &Scoped{st: s, Actor: a, now: func() time.Time { return time.Now().UTC() }, shown: map[string]bool{}}
}

func (s *Scoped) forbidden(c *Case) error {
	return Errorf(EFORBIDDEN, "Der Vorgang %s gehört nicht zu Ihrer Dienststelle. Einsehen und bearbeiten kann ihn nur die zuständige Dienststelle; bei Bedarf kann sie ihn an Sie weiterleiten.", c.Ref)
}

// deny audits the refused access and returns EFORBIDDEN.
func (s *Scoped) deny(ctx context.Context, c *Case, action string) error {
	_ = s.st.Audit(ctx, AuditEntry{At: s.now(), Clerk: s.Actor.Clerk, Office: s.Actor.Office, Action: action + DeniedSuffix, Ref: c.Ref, Detail: string(c.Office)})
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

func (s *Scoped) rememberNotes(ns []Note) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range ns {
		for _, a := range n.Attachments {
			s.shown[a.SHA256] = true
		}
	}
}

// as returns the actor a change is made in: the scoped actor. The caller
// must name that actor (account, office and role); only the display name
// may come from the caller when the role assignment has none (the window
// knows it from the clerk's first start). Any other actor is refused: the
// store never acts for someone else, and never pretends to.
func (s *Scoped) as(by Actor) (Actor, error) {
	a := s.Actor
	if by.Clerk != a.Clerk || by.Office != a.Office || by.Role != a.Role {
		return Actor{}, Errorf(EFORBIDDEN, "Änderungen sind nur im eigenen Namen möglich: angemeldet ist %s, die Änderung nennt %s.", actorLabel(a), actorLabel(by))
	}
	if a.Name == "" {
		a.Name = by.Name
	}
	return a, nil
}

// actorLabel names an actor in a message by account, role and office
// (codes only).
func actorLabel(a Actor) string {
	s := fmt.Sprintf("„%s“", a.Clerk)
	if a.Role != "" {
		s += " (" + a.Role.Label()
		if a.Office != "" {
			s += ", " + string(a.Office)
		}
		s += ")"
	} else if a.Office != "" {
		s += " (" + string(a.Office) + ")"
	}
	return s
}

// checkCase loads the case and refuses it when not the actor's.
func (s *Scoped) checkCase(ctx context.Context, ref, action string) (*Case, error) {
	c, err := s.st.CaseByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !s.Actor.CanSee(c.Office) {
		return nil, s.deny(ctx, c, action)
	}
	return c, nil
}

// onlySync refuses what only the portal sync does (it works on the store
// directly, never through a clerk's Scoped store).
func onlySync(what string) error {
	return Errorf(EFORBIDDEN, "%s übernimmt nur der Portal-Abgleich, nicht die Sachbearbeitung.", what)
}

// --- CaseStore ---

// CreateCase records a walk-in case at the counter in the actor's name;
// every role may, for any office (the routing decides which office gets
// it, and a clerk may take in a case for another office). Cases with a
// receipt or from another channel come from the portal sync only.
func (s *Scoped) CreateCase(ctx context.Context, nc *NewCase, rc *Receipt) (*Case, bool, error) {
	if nc == nil {
		return nil, false, Errorf(EINVALID, "Kein Vorgang angegeben.")
	}
	if rc != nil || nc.Channel != ChannelCounter {
		return nil, false, onlySync("Vorgänge aus dem Bürgerportal")
	}
	if nc.Clerk != s.Actor.Clerk {
		return nil, false, Errorf(EFORBIDDEN, "Vorgänge lassen sich nur im eigenen Namen anlegen: angemeldet ist %s, der Vorgang nennt „%s“.", actorLabel(s.Actor), nc.Clerk)
	}
	return s.st.CreateCase(ctx, nc, nil)
}

// CaseByRef returns the case if the actor may see it, else EFORBIDDEN
// (audited). It is a lookup and not audited as a read; a case shown to the
// clerk is opened with ReadCase.
func (s *Scoped) CaseByRef(ctx context.Context, ref string) (*Case, error) {
	c, err := s.checkCase(ctx, ref, ActionCaseRead)
	if err != nil {
		return nil, err
	}
	s.remember(c)
	return c, nil
}

// ReadCase returns the case if the actor may see it and writes the read
// to the audit log (ActionCaseRead, with the case's office), else
// EFORBIDDEN (audited as a refused read).
func (s *Scoped) ReadCase(ctx context.Context, ref string, by Actor) (*Case, error) {
	a, err := s.as(by)
	if err != nil {
		return nil, err
	}
	c, err := s.checkCase(ctx, ref, ActionCaseRead)
	if err != nil {
		return nil, err
	}
	// At zero: the store's clock (app.WithTime when the caller set one).
	if err := s.st.Audit(ctx, AuditEntry{Clerk: a.Clerk, Name: a.Name, Office: c.Office, Action: ActionCaseRead, Ref: c.Ref}); err != nil {
		return nil, err
	}
	s.remember(c)
	return c, nil
}

// CaseByPortalID returns the case if the actor may see it, else EFORBIDDEN.
func (s *Scoped) CaseByPortalID(ctx context.Context, portalCase string) (*Case, error) {
	c, err := s.st.CaseByPortalID(ctx, portalCase)
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
	return s.st.ListCases(ctx, f)
}

// CountCases counts only cases of offices the actor sees.
func (s *Scoped) CountCases(ctx context.Context, f CaseFilter) (int, error) {
	f, ok := s.scope(f)
	if !ok {
		return 0, nil
	}
	return s.st.CountCases(ctx, f)
}

// AllCases returns the cases of offices the actor sees (every role: the
// same cases as the queue shows). Their attachments are not marked as
// shown: the export lists them, it does not open them.
func (s *Scoped) AllCases(ctx context.Context) ([]*Case, error) {
	all, err := s.st.AllCases(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if s.Actor.CanSee(c.Office) {
			out = append(out, c)
		}
	}
	return out, nil
}

// change runs a change of one case: in the actor's name, on a case the
// actor sees (a refusal audited as action.denied).
func (s *Scoped) change(ctx context.Context, ref, action string, by Actor, fn func(a Actor) error) error {
	a, err := s.as(by)
	if err != nil {
		return err
	}
	if _, err := s.checkCase(ctx, ref, action); err != nil {
		return err
	}
	return fn(a)
}

// Claim: every role, on the actor's cases.
func (s *Scoped) Claim(ctx context.Context, ref string, by Actor) error {
	return s.change(ctx, ref, ActionCaseClaim, by, func(a Actor) error { return s.st.Claim(ctx, ref, a) })
}

// Release: every role, on the actor's cases.
func (s *Scoped) Release(ctx context.Context, ref string, by Actor) error {
	return s.change(ctx, ref, ActionCaseRelease, by, func(a Actor) error { return s.st.Release(ctx, ref, a) })
}

// SetStatus: every role, on the actor's cases (the status rules are the
// store's).
func (s *Scoped) SetStatus(ctx context.Context, ref string, to Status, reason string, by Actor) error {
	return s.change(ctx, ref, ActionCaseStatus, by, func(a Actor) error { return s.st.SetStatus(ctx, ref, to, reason, a) })
}

// Forward: every role, from the actor's cases to any office.
func (s *Scoped) Forward(ctx context.Context, ref string, to OfficeKey, reason string, by Actor) error {
	return s.change(ctx, ref, ActionCaseForward, by, func(a Actor) error { return s.st.Forward(ctx, ref, to, reason, a) })
}

// AddNote: every role, on the actor's cases.
func (s *Scoped) AddNote(ctx context.Context, ref string, text string, by Actor) error {
	return s.change(ctx, ref, ActionCaseNote, by, func(a Actor) error { return s.st.AddNote(ctx, ref, text, a) })
}

// DecideWithdrawal: every role, on the actor's cases.
func (s *Scoped) DecideWithdrawal(ctx context.Context, ref string, confirm bool, reason string, by Actor) error {
	return s.change(ctx, ref, ActionCaseWithdrawal, by, func(a Actor) error { return s.st.DecideWithdrawal(ctx, ref, confirm, reason, a) })
}

// AddMessage: a citizen's message comes from the portal sync only.
func (s *Scoped) AddMessage(ctx context.Context, portalCase, key string, n *Note, files []NewAttachment, rc *Receipt) error {
	return onlySync("Nachrichten aus dem Bürgerportal")
}

// Withdraw: a signed withdrawal comes from the portal sync only (a clerk
// settles an unsigned one with DecideWithdrawal).
func (s *Scoped) Withdraw(ctx context.Context, portalCase, reason string, rc *Receipt) error {
	return onlySync("Rücknahmen aus dem Bürgerportal")
}

// Notes: every role, of the actor's cases; their files count as shown.
func (s *Scoped) Notes(ctx context.Context, ref string) ([]Note, error) {
	if _, err := s.checkCase(ctx, ref, ActionCaseRead); err != nil {
		return nil, err
	}
	ns, err := s.st.Notes(ctx, ref)
	if err == nil {
		s.rememberNotes(ns)
	}
	return ns, err
}

// AttachmentData returns a file only when it belongs to a case (or a
// message of a case) this actor was shown through this store; the
// administration reads every file.
func (s *Scoped) AttachmentData(ctx context.Context, sha256 string) ([]byte, error) {
	if s.Actor.Role != RoleAdmin {
		s.mu.Lock()
		ok := s.shown[sha256]
		s.mu.Unlock()
		if !ok {
			_ = s.st.Audit(ctx, AuditEntry{At: s.now(), Clerk: s.Actor.Clerk, Office: s.Actor.Office, Action: ActionAttachmentRead + DeniedSuffix, Detail: sha256})
			return nil, Errorf(EFORBIDDEN, "Diese Anlage gehört zu keinem Vorgang, den Sie geöffnet haben. Bitte den Vorgang öffnen.")
		}
	}
	return s.st.AttachmentData(ctx, sha256)
}

// --- AppointmentStore ---

// ApplyAppointment: bookings come from the portal sync only.
func (s *Scoped) ApplyAppointment(ctx context.Context, a *Appointment, rc *Receipt) (bool, error) {
	return false, onlySync("Terminbuchungen aus dem Bürgerportal")
}

// Appointment returns a booking of an office the actor sees.
func (s *Scoped) Appointment(ctx context.Context, uid string) (*Appointment, error) {
	a, err := s.st.Appointment(ctx, uid)
	if err != nil {
		return nil, err
	}
	if !s.Actor.CanSee(a.Office) {
		_ = s.st.Audit(ctx, AuditEntry{At: s.now(), Clerk: s.Actor.Clerk, Office: s.Actor.Office, Action: ActionAppointmentRead + DeniedSuffix, Ref: a.UID, Detail: string(a.Office)})
		return nil, Errorf(EFORBIDDEN, "Der Termin gehört nicht zu Ihrer Dienststelle.")
	}
	return a, nil
}

// Appointments lists bookings of offices the actor sees.
func (s *Scoped) Appointments(ctx context.Context, office OfficeKey, from, to time.Time) ([]Appointment, error) {
	if office != "" && !s.Actor.CanSee(office) {
		return nil, nil
	}
	list, err := s.st.Appointments(ctx, office, from, to)
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

// SetAttendance: every role, for bookings of the actor's office (the day
// rules are the store's).
func (s *Scoped) SetAttendance(ctx context.Context, uid string, att Attendance, by Actor) error {
	a, err := s.as(by)
	if err != nil {
		return err
	}
	if _, err := s.Appointment(ctx, uid); err != nil {
		return err
	}
	return s.st.SetAttendance(ctx, uid, att, a)
}

// OverrideAttendance lets a lead (or the administration) record an
// attendance against the day rules, with a reason, for an appointment of
// an office the actor sees; a clerk may not.
func (s *Scoped) OverrideAttendance(ctx context.Context, uid string, att Attendance, reason string, by Actor) error {
	if !s.Actor.Is(RoleLead) {
		return Forbidden("Die Anwesenheit abweichend von den Regeln zu erfassen")
	}
	a, err := s.as(by)
	if err != nil {
		return err
	}
	if _, err := s.Appointment(ctx, uid); err != nil {
		return err
	}
	return s.st.OverrideAttendance(ctx, uid, att, reason, a)
}

// --- ReviewStore ---

// AddReview: mails come onto the review list from the portal sync only.
func (s *Scoped) AddReview(ctx context.Context, it *ReviewItem, rc *Receipt) error {
	return onlySync("Mails zur Sichtung")
}

// ReviewItems: every role reads the whole list. The review list holds
// the mails that are not (yet) understood; they belong to no office until
// a clerk takes them in, so it is shared by all offices (as the
// functional mailbox is).
func (s *Scoped) ReviewItems(ctx context.Context, includeHandled bool) ([]ReviewItem, error) {
	return s.st.ReviewItems(ctx, includeHandled)
}

// ReviewItem: every role, as ReviewItems.
func (s *Scoped) ReviewItem(ctx context.Context, id int64) (*ReviewItem, error) {
	return s.st.ReviewItem(ctx, id)
}

// ResolveReview: every role handles mails of the shared list, in the
// actor's name. Assigning the mail to a case notes it on the case
// (AddNote), which is checked there.
func (s *Scoped) ResolveReview(ctx context.Context, id int64, resolution, note string, by Actor) error {
	a, err := s.as(by)
	if err != nil {
		return err
	}
	return s.st.ResolveReview(ctx, id, resolution, note, a)
}

// --- SyncStore ---

// SyncState: every role reads a mailbox's sync progress (UIDs, times and
// a summary in numbers: no personal data); the window shows the last run.
func (s *Scoped) SyncState(ctx context.Context, mailbox string) (*SyncState, error) {
	return s.st.SyncState(ctx, mailbox)
}

// SaveSyncState: the sync's progress is the sync's to write.
func (s *Scoped) SaveSyncState(ctx context.Context, st *SyncState) error {
	return onlySync("Der Stand des Abgleichs")
}

// --- AuditLog ---

// clerkActions are what a clerk's programs write to the audit log
// themselves: printed and saved confirmations and the CSV export of the
// log (every role; reading the log is checked by AuditEntries). The
// Art. 15 answer's entries (ExportPerson) need a lead. Everything else is
// written by the store with the change it records, or by Scoped itself.
var clerkActions = map[string]Role{
	ActionCasePrint:         RoleClerk,
	ActionAppointmentPrint:  RoleClerk,
	ActionAuditExport:       RoleClerk,
	ActionCaseExport:        RoleLead,
	ActionAppointmentExport: RoleLead,
	ActionPersonExport:      RoleLead,
}

// Audit writes an entry in the actor's own name (Clerk must be the
// actor's account), of an action the actor's programs may record.
func (s *Scoped) Audit(ctx context.Context, e AuditEntry) error {
	if e.Clerk != s.Actor.Clerk {
		return Errorf(EFORBIDDEN, "Protokolleinträge sind nur im eigenen Namen möglich: angemeldet ist %s, der Eintrag nennt „%s“.", actorLabel(s.Actor), e.Clerk)
	}
	r, ok := clerkActions[e.Action]
	if !ok || !s.Actor.Is(r) {
		return Errorf(EFORBIDDEN, "Den Protokolleintrag „%s“ schreibt das Programm selbst; von Hand ist er nicht erlaubt.", e.Action)
	}
	return s.st.Audit(ctx, e)
}

// AuditEntries: administrators read the whole log, leads their office's
// entries; clerks none. Everyone reads the history of a case they may see
// (the case view shows it).
func (s *Scoped) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	switch {
	case s.Actor.Role == RoleAdmin:
	case f.Ref != "" && f.Clerk == "" && f.Office == "":
		c, err := s.st.CaseByRef(ctx, f.Ref)
		if err != nil || !s.Actor.CanSee(c.Office) {
			return nil, Forbidden("Das Lesen des Protokolls")
		}
	case s.Actor.Role == RoleLead:
		f.Office = s.Actor.Office
	default:
		return nil, Forbidden("Das Lesen des Protokolls")
	}
	return s.st.AuditEntries(ctx, f)
}

// --- PersonFinder ---

// FindPerson: leads and the administration find the person's data among
// what the actor may see; the shared review list's mails only for the
// administration.
func (s *Scoped) FindPerson(ctx context.Context, q PersonQuery) (*PersonData, error) {
	if !s.Actor.Is(RoleLead) {
		return nil, Forbidden("Die Auskunft nach Art. 15 DSGVO")
	}
	d, err := s.st.FindPerson(ctx, q)
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
			delete(d.Messages, c.Ref)
		}
	}
	d.Cases = cases
	for _, ns := range d.Notes {
		s.rememberNotes(ns)
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

// Close closes the store underneath: the Scoped store is its one handle
// in the window and a clerk's command (nothing to check).
func (s *Scoped) Close() error { return s.st.Close() }

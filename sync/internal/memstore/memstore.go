// Package memstore is an in-memory sync.Store for the sync's unit tests
// (only tests import it). It keeps the semantics the sync relies on (idempotency keys,
// receipts by content recorded with the change, a review receipt replaced
// when the mail is taken in later, RFC 5546 supersession, batches rolled
// back as a whole, one sync at a time) and can fail on demand.
package memstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	gosync "sync"
	"time"

	"amtstresen/app"
)

// Store is safe for concurrent use.
type Store struct {
	mu       gosync.Mutex
	Cases    []*app.Case
	byKey    map[string]*app.Case
	byPortal map[string]*app.Case
	Messages map[string]*app.Note // by key
	Appts    map[string]*app.Appointment
	Reviews  []*app.ReviewItem
	Taken    map[string]app.Receipt // receipts by content (SHA-256)
	States   map[string]app.SyncState
	Filed    []app.MailLocation
	Purges   []app.MailPurge
	// FailAfter makes the n-th change (1-based) and every later one fail
	// with an internal error; 0 never fails.
	FailAfter int
	changes   int
	// Batches counts committed batches.
	Batches int

	lock chan struct{} // LockSync
}

var _ app.PortalStore = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{byKey: map[string]*app.Case{}, byPortal: map[string]*app.Case{}, Messages: map[string]*app.Note{},
		Appts: map[string]*app.Appointment{}, Taken: map[string]app.Receipt{}, States: map[string]app.SyncState{},
		lock: make(chan struct{}, 1)}
}

func (s *Store) change(rc *app.Receipt) error {
	s.changes++
	if s.FailAfter > 0 && s.changes >= s.FailAfter {
		return fmt.Errorf("memstore: disk full (injected)")
	}
	return nil
}

// receipt records rc; a review receipt gives way to one that takes the
// mail in, and then the mail's open review entry is resolved.
func (s *Store) receipt(rc *app.Receipt, ref string) {
	if rc == nil || rc.SHA256 == "" {
		return
	}
	if old, ok := s.Taken[rc.SHA256]; ok && (old.TakenIn() || !rc.TakenIn()) {
		return
	}
	s.Taken[rc.SHA256] = *rc
	if !rc.TakenIn() {
		return
	}
	for _, r := range s.Reviews {
		if r.SHA256 == rc.SHA256 && !r.Handled {
			r.Handled, r.HandledBy, r.Resolution = true, app.PortalActor.Clerk, "taken"
			if ref != "" {
				r.Resolution = "case:" + ref
			}
			r.Note = "Nachträglich übernommen"
		}
	}
}

func (s *Store) CreateCase(ctx context.Context, nc *app.NewCase, rc *app.Receipt) (*app.Case, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(rc); err != nil {
		return nil, false, err
	}
	if c := s.byKey[nc.IdempotencyKey]; c != nil {
		s.receipt(rc, c.Ref)
		return c, false, nil
	}
	c := &app.Case{ID: int64(len(s.Cases) + 1), Ref: fmt.Sprintf("CZ-%d-%05d", nc.ReceivedAt.In(app.Berlin).Year(), len(s.Cases)+1), Office: nc.Routing.Office,
		Channel: nc.Channel, Service: nc.Service, PortalCase: nc.PortalCase, Applicant: nc.Applicant, Fields: nc.Fields, Raw: nc.Raw,
		Status: app.StatusReceived, Flags: append(append([]app.Flag(nil), nc.Flags...), nc.Routing.Flags...), Municipality: nc.Routing.Municipality,
		RoutingReason: nc.Routing.Reason, ReceivedAt: nc.ReceivedAt, UpdatedAt: nc.ReceivedAt}
	for _, a := range nc.Attachments {
		c.Attachments = append(c.Attachments, a.Attachment)
	}
	s.Cases = append(s.Cases, c)
	s.byKey[nc.IdempotencyKey] = c
	if nc.PortalCase != "" {
		s.byPortal[nc.PortalCase] = c
	}
	s.receipt(rc, c.Ref)
	return c, true, nil
}

func (s *Store) CaseByRef(ctx context.Context, ref string) (*app.Case, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.Cases {
		if c.Ref == ref {
			return c, nil
		}
	}
	return nil, app.Errorf(app.ENOTFOUND, "Vorgang %s gibt es nicht.", ref)
}

func (s *Store) CaseByPortalID(ctx context.Context, id string) (*app.Case, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byPortal[id]; c != nil {
		return c, nil
	}
	return nil, app.Errorf(app.ENOTFOUND, "Vorgang %s gibt es nicht.", id)
}

func (s *Store) ListCases(ctx context.Context, f app.CaseFilter) ([]app.CaseSummary, error) {
	return nil, nil
}
func (s *Store) CountCases(ctx context.Context, f app.CaseFilter) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.Cases), nil
}
func (s *Store) Claim(ctx context.Context, ref string, by app.Actor) error   { return nil }
func (s *Store) Release(ctx context.Context, ref string, by app.Actor) error { return nil }
func (s *Store) SetStatus(ctx context.Context, ref string, to app.Status, reason string, by app.Actor) error {
	return nil
}
func (s *Store) Forward(ctx context.Context, ref string, to app.OfficeKey, reason string, by app.Actor) error {
	return nil
}
func (s *Store) AddNote(ctx context.Context, ref string, text string, by app.Actor) error { return nil }

func (s *Store) AddMessage(ctx context.Context, portalCase, key string, n *app.Note, files []app.NewAttachment, rc *app.Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(rc); err != nil {
		return err
	}
	c := s.byPortal[portalCase]
	if c == nil {
		return app.Errorf(app.ENOTFOUND, "Vorgang %s gibt es nicht.", portalCase)
	}
	if _, dup := s.Messages[key]; !dup {
		nn := *n
		nn.CaseID = c.ID
		s.Messages[key] = &nn
	}
	s.receipt(rc, c.Ref)
	return nil
}

func (s *Store) Withdraw(ctx context.Context, portalCase, reason string, rc *app.Receipt) error {
	return s.onPortalCase(portalCase, rc, func(c *app.Case) {
		if !c.Status.Final() {
			c.Status = app.StatusWithdrawn
		}
	})
}

// RequestWithdrawal implements app.PortalStore: the case is flagged.
func (s *Store) RequestWithdrawal(ctx context.Context, portalCase, reason string, rc *app.Receipt) error {
	return s.onPortalCase(portalCase, rc, func(c *app.Case) {
		if !c.Status.Final() && !c.HasFlag(app.FlagWithdrawalUnconfirmed) {
			c.Flags = append(c.Flags, app.FlagWithdrawalUnconfirmed)
		}
	})
}

// onPortalCase is a change to a portal case with its receipt.
func (s *Store) onPortalCase(portalCase string, rc *app.Receipt, fn func(c *app.Case)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(rc); err != nil {
		return err
	}
	c := s.byPortal[portalCase]
	if c == nil {
		return app.Errorf(app.ENOTFOUND, "Vorgang %s gibt es nicht.", portalCase)
	}
	fn(c)
	s.receipt(rc, c.Ref)
	return nil
}

// DecideWithdrawal implements app.CaseStore.
func (s *Store) DecideWithdrawal(ctx context.Context, ref string, confirm bool, reason string, by app.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.Cases {
		if c.Ref != ref {
			continue
		}
		rest := c.Flags[:0:0]
		for _, f := range c.Flags {
			if f != app.FlagWithdrawalUnconfirmed {
				rest = append(rest, f)
			}
		}
		c.Flags = rest
		if confirm && !c.Status.Final() {
			c.Status = app.StatusWithdrawn
		}
		return nil
	}
	return app.Errorf(app.ENOTFOUND, "Vorgang %s gibt es nicht.", ref)
}

func (s *Store) Notes(ctx context.Context, ref string) ([]app.Note, error) { return nil, nil }
func (s *Store) AttachmentData(ctx context.Context, sha string) ([]byte, error) {
	return nil, app.Errorf(app.ENOTFOUND, "nicht da")
}

func (s *Store) ApplyAppointment(ctx context.Context, a *app.Appointment, rc *app.Receipt) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(rc); err != nil {
		return false, err
	}
	old := s.Appts[a.UID]
	applied := app.Supersedes(a, old)
	if applied {
		cp := *a
		s.Appts[a.UID] = &cp
	}
	s.receipt(rc, "")
	return applied, nil
}

func (s *Store) Appointment(ctx context.Context, uid string) (*app.Appointment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.Appts[uid]; a != nil {
		return a, nil
	}
	return nil, app.Errorf(app.ENOTFOUND, "Termin unbekannt")
}

func (s *Store) Appointments(ctx context.Context, office app.OfficeKey, from, to time.Time) ([]app.Appointment, error) {
	return nil, nil
}
func (s *Store) SetAttendance(ctx context.Context, uid string, att app.Attendance, by app.Actor) error {
	return nil
}

// AddReview implements app.ReviewStore: once per content.
func (s *Store) AddReview(ctx context.Context, it *app.ReviewItem, rc *app.Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(rc); err != nil {
		return err
	}
	sum := it.SHA256
	if sum == "" && it.Raw != nil {
		h := sha256.Sum256(it.Raw)
		sum = hex.EncodeToString(h[:])
	}
	for _, r := range s.Reviews {
		if r.SHA256 == sum && r.MessageID == it.MessageID {
			it.ID = r.ID
			s.receipt(rc, "")
			return nil
		}
	}
	cp := *it
	cp.SHA256 = sum
	cp.ID = int64(len(s.Reviews) + 1)
	it.ID = cp.ID
	s.Reviews = append(s.Reviews, &cp)
	s.receipt(rc, "")
	return nil
}

func (s *Store) ReviewItems(ctx context.Context, includeHandled bool) ([]app.ReviewItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []app.ReviewItem
	for _, r := range s.Reviews {
		if includeHandled || !r.Handled {
			out = append(out, *r)
		}
	}
	return out, nil
}
func (s *Store) ReviewItem(ctx context.Context, id int64) (*app.ReviewItem, error) { return nil, nil }
func (s *Store) ResolveReview(ctx context.Context, id int64, resolution, note string, by app.Actor) error {
	return nil
}

func (s *Store) SyncState(ctx context.Context, mailbox string) (*app.SyncState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.States[mailbox]
	if !ok {
		return nil, nil
	}
	return &st, nil
}

func (s *Store) SaveSyncState(ctx context.Context, st *app.SyncState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.States[st.Mailbox] = *st
	return nil
}

// Receipts implements app.PortalStore.
func (s *Store) Receipts(ctx context.Context, sums []string) (map[string]app.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]app.Receipt{}
	for _, k := range sums {
		if r, ok := s.Taken[k]; ok {
			out[k] = r
		}
	}
	return out, nil
}

// Unblocked implements app.PortalStore.
func (s *Store) Unblocked(ctx context.Context, limit int) ([]app.ReviewItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []app.ReviewItem
	for _, r := range s.Reviews {
		if !r.Handled && r.Reason == app.ReviewCaseUnknown && r.Raw != nil && s.byPortal[r.PortalCase] != nil && len(out) < limit {
			out = append(out, *r)
		}
	}
	return out, nil
}

// MailFiled implements app.PortalStore.
func (s *Store) MailFiled(ctx context.Context, locs []app.MailLocation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Filed = append(s.Filed, locs...)
	return nil
}

// MailPurges implements app.PortalStore.
func (s *Store) MailPurges(ctx context.Context) ([]app.MailPurge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]app.MailPurge(nil), s.Purges...), nil
}

// MailPurged implements app.PortalStore.
func (s *Store) MailPurged(ctx context.Context, ids []int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := map[int64]bool{}
	for _, id := range ids {
		done[id] = true
	}
	rest := s.Purges[:0]
	for _, p := range s.Purges {
		if !done[p.ID] {
			rest = append(rest, p)
		}
	}
	s.Purges = rest
	return nil
}

// LockSync implements app.PortalStore: one sync per store.
func (s *Store) LockSync(ctx context.Context, wait time.Duration) (func(), error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.lock <- struct{}{}:
		return func() { <-s.lock }, nil
	case <-t.C:
		return nil, app.Errorf(app.ECONFLICT, "Der Portal-Abgleich läuft bereits.")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Store) Audit(ctx context.Context, e app.AuditEntry) error { return nil }
func (s *Store) AuditEntries(ctx context.Context, f app.AuditFilter) ([]app.AuditEntry, error) {
	return nil, nil
}
func (s *Store) Close() error { return nil }

// Batch implements app.PortalStore: fn's changes are one "transaction",
// undone as a whole when fn fails.
func (s *Store) Batch(ctx context.Context, fn func(tx app.PortalStore) error) error {
	s.mu.Lock()
	snapCases := append([]*app.Case(nil), s.Cases...)
	type caseState struct {
		status app.Status
		flags  []app.Flag
	}
	state := map[*app.Case]caseState{}
	for _, c := range s.Cases {
		state[c] = caseState{c.Status, append([]app.Flag(nil), c.Flags...)}
	}
	copyMap := func(m map[string]*app.Case) map[string]*app.Case {
		out := make(map[string]*app.Case, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	byKey, byPortal := copyMap(s.byKey), copyMap(s.byPortal)
	msgs := map[string]*app.Note{}
	for k, v := range s.Messages {
		msgs[k] = v
	}
	appts := map[string]*app.Appointment{}
	for k, v := range s.Appts {
		appts[k] = v
	}
	reviews := make([]*app.ReviewItem, len(s.Reviews))
	for i, r := range s.Reviews {
		cp := *r
		reviews[i] = &cp
	}
	receipts := map[string]app.Receipt{}
	for k, v := range s.Taken {
		receipts[k] = v
	}
	s.mu.Unlock()
	if err := fn(s); err != nil {
		s.mu.Lock()
		s.Cases, s.byKey, s.byPortal, s.Messages, s.Appts, s.Reviews, s.Taken = snapCases, byKey, byPortal, msgs, appts, reviews, receipts
		for c, st := range state {
			c.Status, c.Flags = st.status, st.flags
		}
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	s.Batches++
	s.mu.Unlock()
	return nil
}

// PrepareCase implements app.PortalStore: nothing to do in advance.
func (s *Store) PrepareCase(nc *app.NewCase) app.PreparedCase { return prepared{nc} }

// CreatePreparedCase implements app.PortalStore.
func (s *Store) CreatePreparedCase(ctx context.Context, p app.PreparedCase, rc *app.Receipt) (*app.Case, bool, error) {
	return s.CreateCase(ctx, p.NewCase(), rc)
}

// CreatePreparedCases implements app.PortalStore.
func (s *Store) CreatePreparedCases(ctx context.Context, ps []app.PreparedCase, rcs []*app.Receipt) ([]bool, error) {
	return app.CreateEach(ctx, s.CreatePreparedCase, ps, rcs)
}

type prepared struct{ nc *app.NewCase }

func (p prepared) NewCase() *app.NewCase { return p.nc }

// Durable implements sync.Store: in memory, a commit is all there is.
func (s *Store) Durable(ctx context.Context) error { return nil }

// Batching is a Store under another name, for tests written when batches
// were optional.
type Batching struct {
	*Store
}

// AddMessages implements app.PortalStore: one message after the other.
func (s *Store) AddMessages(ctx context.Context, ms []app.PortalMessage) ([]error, error) {
	return app.AddEach(ctx, s.AddMessage, ms)
}

// ApplyAppointments implements app.PortalStore: one booking after the
// other.
func (s *Store) ApplyAppointments(ctx context.Context, as []*app.Appointment, rcs []*app.Receipt) ([]bool, []error, error) {
	return app.ApplyEach(ctx, s.ApplyAppointment, as, rcs)
}

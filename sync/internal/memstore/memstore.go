// Package memstore is an in-memory app.Store for the sync's unit tests. It
// keeps the semantics the sync relies on (idempotency keys, receipts
// recorded with the change, RFC 5546 supersession) and can fail on demand.
package memstore

import (
	"context"
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
	Receipts map[string]app.Receipt // by Message-ID
	States   map[string]app.SyncState
	// FailAfter makes the n-th change (1-based) and every later one fail
	// with an internal error; 0 never fails.
	FailAfter int
	changes   int
}

var _ app.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{byKey: map[string]*app.Case{}, byPortal: map[string]*app.Case{}, Messages: map[string]*app.Note{},
		Appts: map[string]*app.Appointment{}, Receipts: map[string]app.Receipt{}, States: map[string]app.SyncState{}}
}

func (s *Store) change(rc *app.Receipt) error {
	s.changes++
	if s.FailAfter > 0 && s.changes >= s.FailAfter {
		return fmt.Errorf("memstore: disk full (injected)")
	}
	return nil
}

func (s *Store) receipt(rc *app.Receipt) {
	if rc != nil {
		s.Receipts[rc.MessageID] = *rc
	}
}

func (s *Store) CreateCase(ctx context.Context, nc *app.NewCase, rc *app.Receipt) (*app.Case, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(rc); err != nil {
		return nil, false, err
	}
	if c := s.byKey[nc.IdempotencyKey]; c != nil {
		s.receipt(rc)
		return c, false, nil
	}
	c := &app.Case{ID: int64(len(s.Cases) + 1), Ref: fmt.Sprintf("CZ-2026-%05d", len(s.Cases)+1), Office: nc.Routing.Office,
		Channel: nc.Channel, Service: nc.Service, PortalCase: nc.PortalCase, Applicant: nc.Applicant, Fields: nc.Fields, Raw: nc.Raw,
		Status: app.StatusReceived, Flags: nc.Flags, Municipality: nc.Routing.Municipality, RoutingReason: nc.Routing.Reason,
		ReceivedAt: nc.ReceivedAt, UpdatedAt: nc.ReceivedAt}
	for _, a := range nc.Attachments {
		c.Attachments = append(c.Attachments, a.Attachment)
	}
	s.Cases = append(s.Cases, c)
	s.byKey[nc.IdempotencyKey] = c
	if nc.PortalCase != "" {
		s.byPortal[nc.PortalCase] = c
	}
	s.receipt(rc)
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
	s.receipt(rc)
	return nil
}

func (s *Store) Withdraw(ctx context.Context, portalCase, reason string, rc *app.Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(rc); err != nil {
		return err
	}
	c := s.byPortal[portalCase]
	if c == nil {
		return app.Errorf(app.ENOTFOUND, "Vorgang %s gibt es nicht.", portalCase)
	}
	c.Status = app.StatusWithdrawn
	s.receipt(rc)
	return nil
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
	s.receipt(rc)
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

func (s *Store) AddReview(ctx context.Context, it *app.ReviewItem, rc *app.Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.change(rc); err != nil {
		return err
	}
	for _, r := range s.Reviews {
		if r.MessageID == it.MessageID {
			s.receipt(rc)
			return nil
		}
	}
	cp := *it
	cp.ID = int64(len(s.Reviews) + 1)
	s.Reviews = append(s.Reviews, &cp)
	s.receipt(rc)
	return nil
}

func (s *Store) ReviewItems(ctx context.Context, includeHandled bool) ([]app.ReviewItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []app.ReviewItem
	for _, r := range s.Reviews {
		out = append(out, *r)
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

func (s *Store) Processed(ctx context.Context, messageID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.Receipts[messageID]
	return ok, nil
}

func (s *Store) Audit(ctx context.Context, e app.AuditEntry) error { return nil }
func (s *Store) AuditEntries(ctx context.Context, f app.AuditFilter) ([]app.AuditEntry, error) {
	return nil, nil
}
func (s *Store) Close() error { return nil }

// Batching wraps a Store with a Batch method (one "transaction" for many
// changes, rolled back as a whole on error), like a store that implements
// sync.Batcher.
type Batching struct {
	*Store
	Batches int // committed batches
}

// Batch runs fn; on error every change fn made is undone.
func (b *Batching) Batch(ctx context.Context, fn func(tx app.Store) error) error {
	s := b.Store
	s.mu.Lock()
	snapCases := append([]*app.Case(nil), s.Cases...)
	status := map[*app.Case]app.Status{}
	for _, c := range s.Cases {
		status[c] = c.Status
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
	reviews := append([]*app.ReviewItem(nil), s.Reviews...)
	receipts := map[string]app.Receipt{}
	for k, v := range s.Receipts {
		receipts[k] = v
	}
	s.mu.Unlock()
	if err := fn(s); err != nil {
		s.mu.Lock()
		s.Cases, s.byKey, s.byPortal, s.Messages, s.Appts, s.Reviews, s.Receipts = snapCases, byKey, byPortal, msgs, appts, reviews, receipts
		for c, st := range status {
			c.Status = st
		}
		s.mu.Unlock()
		return err
	}
	b.Batches++
	return nil
}

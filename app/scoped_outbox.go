package app

import "context"

// ScopedOutbox is the outbox and the print queue as one clerk may use
// them: the same checks as Scoped (the actor's own name, cases of offices
// the actor sees; a refusal audited). Every role may tell the citizen of
// its cases and print their letters.
type ScopedOutbox struct {
	s *Scoped
	o OutboxStore
}

var _ OutboxStore = (*ScopedOutbox)(nil)

// Outbox returns o (the store's outbox) with the actor's access checks.
func (s *Scoped) Outbox(o OutboxStore) *ScopedOutbox { return &ScopedOutbox{s: s, o: o} }

// ChangeCase: every role, on the actor's cases, in the actor's name.
func (so *ScopedOutbox) ChangeCase(ctx context.Context, ref string, ch CaseChange, msg *Tell, by Actor) (*Outgoing, error) {
	var out *Outgoing
	err := so.s.change(ctx, ref, ch.Kind.Action(), by, func(a Actor) error {
		var err error
		out, err = so.o.ChangeCase(ctx, ref, ch, msg, a)
		return err
	})
	return out, err
}

// CaseMessages: every role, of the actor's cases.
func (so *ScopedOutbox) CaseMessages(ctx context.Context, ref string) ([]Outgoing, error) {
	if _, err := so.s.checkCase(ctx, ref, ActionCaseRead); err != nil {
		return nil, err
	}
	return so.o.CaseMessages(ctx, ref)
}

// offices narrows a filter's offices to those the actor sees; ok=false
// when none is left.
func (so *ScopedOutbox) offices(want []OfficeKey) ([]OfficeKey, bool) {
	vis := so.s.Actor.VisibleOffices()
	if vis == nil {
		return want, true
	}
	if len(want) == 0 {
		return vis, len(vis) > 0
	}
	var keep []OfficeKey
	for _, o := range want {
		if so.s.Actor.CanSee(o) {
			keep = append(keep, o)
		}
	}
	return keep, len(keep) > 0
}

// OutboxMessages: messages of cases of offices the actor sees.
func (so *ScopedOutbox) OutboxMessages(ctx context.Context, f OutboxFilter) ([]Outgoing, error) {
	var ok bool
	if f.Offices, ok = so.offices(f.Offices); !ok {
		return nil, nil
	}
	return so.o.OutboxMessages(ctx, f)
}

// visible reports whether the actor may see the case of a message or a
// letter (a refusal is audited). A message of another office's case is
// unknown to the clerk, as under PostgreSQL's row-level security, where
// the clerk's connection cannot read it at all.
func (so *ScopedOutbox) visible(ctx context.Context, ref, action string) bool {
	_, err := so.s.checkCase(ctx, ref, action)
	return err == nil
}

// Resend: every role, a message of the actor's cases.
func (so *ScopedOutbox) Resend(ctx context.Context, nachricht string, by Actor) error {
	a, err := so.s.as(by)
	if err != nil {
		return err
	}
	ms, err := so.o.OutboxMessages(ctx, OutboxFilter{Nachricht: nachricht})
	if err != nil {
		return err
	}
	if len(ms) == 0 || !so.visible(ctx, ms[0].Ref, ActionCaseResend) {
		return Errorf(ENOTFOUND, "Die Nachricht %s ist unbekannt.", nachricht)
	}
	return so.o.Resend(ctx, nachricht, a)
}

// PrintJobs: letters of cases of offices the actor sees.
func (so *ScopedOutbox) PrintJobs(ctx context.Context, f PrintFilter) ([]PrintJob, error) {
	var ok bool
	if f.Offices, ok = so.offices(f.Offices); !ok {
		return nil, nil
	}
	return so.o.PrintJobs(ctx, f)
}

// MarkPrinted: every role, a letter of the actor's cases.
func (so *ScopedOutbox) MarkPrinted(ctx context.Context, id int64, by Actor) error {
	a, err := so.s.as(by)
	if err != nil {
		return err
	}
	js, err := so.o.PrintJobs(ctx, PrintFilter{ID: id, Printed: true})
	if err != nil {
		return err
	}
	if len(js) == 0 || !so.visible(ctx, js[0].Ref, ActionCasePrinted) {
		return Errorf(ENOTFOUND, "Der Druckauftrag %d ist unbekannt.", id)
	}
	return so.o.MarkPrinted(ctx, id, a)
}

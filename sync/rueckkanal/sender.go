package rueckkanal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Outgoing is a status message waiting in the outbox.
type Outgoing struct {
	Nachricht string // status.json "nachricht": the outbox key
	MessageID string // without angle brackets; for the log
	Raw       []byte // sent unchanged on every attempt
	Attempts  int    // failed attempts so far
	// Held is set when the message could not be prepared for sending
	// (e.g. the office's signing key is missing): the outbox has recorded
	// the failure already; the Sender only counts it.
	Held *Failure
}

// Outbox is what the sender needs from storage. The status message is
// written into it in the same transaction as the status change that causes
// it (Compose gives the bytes); storage implements it for SQLite and
// PostgreSQL alike.
//
// Exactly once: a message stays due until MarkSent has committed. A crash
// after the relay accepted it but before MarkSent re-sends the same bytes,
// and so the same Message-ID, which the portal applies once.
type Outbox interface {
	// NextDue returns the oldest message that is due at now (queued, or
	// failed with a next attempt at or before now), or nil when none is.
	NextDue(ctx context.Context, now time.Time) (*Outgoing, error)
	// MarkSent records that the relay accepted the message.
	MarkSent(ctx context.Context, nachricht string, at time.Time) error
	// MarkFailed records a failed attempt: the failure (class, code and
	// German reason, to show on the case and in the list of messages not
	// delivered) and when to try again. A zero next means no automatic
	// attempt: a clerk must send it again (or answer by letter).
	MarkFailed(ctx context.Context, nachricht string, f *Failure, next time.Time) error
}

// Relay opens sessions to the office's mail server; *Submitter is one.
type Relay interface {
	Open(ctx context.Context) (RelaySession, error)
}

// RelaySession sends messages over one connection.
type RelaySession interface {
	Send(ctx context.Context, raw []byte) error
	Close() error
}

// Relay returns s as a Relay for the Sender.
func (s *Submitter) Relay() Relay { return submitterRelay{s} }

type submitterRelay struct{ s *Submitter }

func (r submitterRelay) Open(ctx context.Context) (RelaySession, error) {
	ss, err := r.s.Open(ctx)
	if err != nil {
		return nil, err
	}
	return ss, nil
}

// Backoff is the wait before the next attempt: Base doubled for every
// failed attempt, at most Max, spread by ±Jitter (a fraction) so that many
// messages held back together do not all come back at once.
type Backoff struct {
	Base, Max time.Duration
	Jitter    float64
}

// DefaultBackoff: 30 s, 1 min, 2 min, … up to an hour, ±20 %.
var DefaultBackoff = Backoff{Base: 30 * time.Second, Max: time.Hour, Jitter: 0.2}

// Delay returns the wait after the n-th failed attempt (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	if b.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + b.Jitter*(2*rand.Float64()-1)))
	}
	return d
}

// Sender delivers what the outbox holds. One Sender per outbox; its
// methods must not run concurrently with each other (Run serialises them).
type Sender struct {
	Outbox  Outbox
	Relay   Relay
	Backoff Backoff
	Log     *slog.Logger
	Now     func() time.Time
	// AfterRelay, when set, is called after the relay accepted a message
	// and before the outbox records it: the crash tests kill the process
	// there. nil in the program.
	AfterRelay func(m *Outgoing)

	wake chan struct{}
}

// NewSender returns a sender with the default backoff and clock.
func NewSender(o Outbox, r Relay, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{Outbox: o, Relay: r, Backoff: DefaultBackoff, Log: log, Now: time.Now, wake: make(chan struct{}, 1)}
}

// Round is what one SendDue did.
type Round struct {
	Sent     int
	Retry    int // failed, will be tried again (including those held back for the relay)
	Failed   int // failed for good: a clerk must act
	LastFail *Failure
}

// SendDue sends every message that is due now, over one connection, and
// returns when none is left. A failure that concerns the relay (not
// reachable, login refused, TLS) holds every due message back with the
// same reason. An error is returned only when the outbox itself fails;
// then the round stops, and what was not marked is due again next time.
func (s *Sender) SendDue(ctx context.Context) (Round, error) {
	var r Round
	var sess RelaySession
	// A message comes back in the same round only if its next attempt is
	// already due (a zero backoff); it waits for the next round then.
	tried := map[string]bool{}
	defer func() {
		if sess != nil {
			sess.Close()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		m, err := s.Outbox.NextDue(ctx, s.Now())
		if err != nil {
			return r, fmt.Errorf("outbox next: %w", err)
		}
		if m == nil || tried[m.Nachricht] {
			return r, nil
		}
		tried[m.Nachricht] = true
		if f := m.Held; f != nil {
			if f.Retry() {
				r.Retry++
			} else {
				r.Failed++
			}
			r.LastFail = f
			continue
		}
		if sess == nil {
			sess, err = s.Relay.Open(ctx)
			if err != nil {
				sess = nil
				f := asFailure(err)
				if ctx.Err() != nil {
					return r, ctx.Err()
				}
				return r, s.holdBack(ctx, &r, m, f, tried)
			}
		}
		err = sess.Send(ctx, m.Raw)
		if err == nil {
			if s.AfterRelay != nil {
				s.AfterRelay(m)
			}
			if err := s.Outbox.MarkSent(ctx, m.Nachricht, s.Now()); err != nil {
				// The relay has it; the outbox does not know. It is sent
				// again next time with the same Message-ID.
				return r, fmt.Errorf("outbox mark sent: %w", err)
			}
			r.Sent++
			s.Log.Debug("status message sent", "message_id", m.MessageID)
			continue
		}
		f := asFailure(err)
		if f.Broken {
			sess.Close()
			sess = nil
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		if f.RelayWide() {
			return r, s.holdBack(ctx, &r, m, f, tried)
		}
		if err := s.fail(ctx, &r, m, f); err != nil {
			return r, err
		}
	}
}

// holdBack marks m and every other due message failed with f: the relay
// cannot take any of them now.
func (s *Sender) holdBack(ctx context.Context, r *Round, m *Outgoing, f *Failure, tried map[string]bool) error {
	s.Log.Warn("relay unavailable, holding back status messages", "class", string(f.Class), "code", f.Code, "err", f.Err)
	for m != nil {
		tried[m.Nachricht] = true
		if err := s.fail(ctx, r, m, f); err != nil {
			return err
		}
		var err error
		m, err = s.Outbox.NextDue(ctx, s.Now())
		if err != nil {
			return fmt.Errorf("outbox next: %w", err)
		}
		if m != nil && tried[m.Nachricht] {
			return nil
		}
	}
	return nil
}

func (s *Sender) fail(ctx context.Context, r *Round, m *Outgoing, f *Failure) error {
	var next time.Time
	if f.Retry() {
		n := m.Attempts + 1
		if f.Class == ClassLogin || f.Class == ClassTLS {
			n = 1 << 10 // a person must fix it: try again at the longest interval
		}
		next = s.Now().Add(s.Backoff.Delay(n))
		r.Retry++
	} else {
		r.Failed++
	}
	r.LastFail = f
	if !f.RelayWide() {
		s.Log.Warn("status message not accepted", "message_id", m.MessageID, "class", string(f.Class), "code", f.Code, "retry", f.Retry())
	}
	if err := s.Outbox.MarkFailed(ctx, m.Nachricht, f, next); err != nil {
		return fmt.Errorf("outbox mark failed: %w", err)
	}
	return nil
}

func asFailure(err error) *Failure {
	if f, ok := AsFailure(err); ok {
		return f
	}
	return &Failure{Class: ClassTemporary, Broken: true, Err: err,
		Reason: "Der Versand ist fehlgeschlagen; die Statusmeldung wird automatisch erneut gesendet."}
}

// Wake makes a running Run look at the outbox now (a message was queued).
// It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends what is due, then waits for Wake or interval, until ctx ends.
// An outbox error is logged and the next round tried after interval; the
// window never waits for it.
func (s *Sender) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-s.wake:
		}
		if _, err := s.SendDue(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.Log.Error("sending status messages", "err", err)
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(interval)
	}
}

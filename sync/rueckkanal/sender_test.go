package rueckkanal

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// memOutbox is an in-memory Outbox for the sender's tests (storage
// implements the real one).
type memOutbox struct {
	mu    gosync.Mutex
	items []*memItem
	// failMarkSent makes the next n MarkSent calls fail, as a crash between
	// the relay's acceptance and the outbox's commit would.
	failMarkSent int
}

type memItem struct {
	Outgoing
	sent   bool
	sentAt time.Time
	next   time.Time // zero and failed: waits for a clerk
	failed *Failure
}

var _ Outbox = (*memOutbox)(nil)

func (o *memOutbox) add(ms ...*Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range ms {
		o.items = append(o.items, &memItem{Outgoing: Outgoing{Nachricht: m.Nachricht, MessageID: m.MessageID, Raw: m.Raw}})
	}
}

func (o *memOutbox) NextDue(_ context.Context, now time.Time) (*Outgoing, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, it := range o.items {
		if it.sent || (it.failed != nil && (it.next.IsZero() || it.next.After(now))) {
			continue
		}
		out := it.Outgoing
		return &out, nil
	}
	return nil, nil
}

func (o *memOutbox) find(n string) *memItem {
	for _, it := range o.items {
		if it.Nachricht == n {
			return it
		}
	}
	return nil
}

func (o *memOutbox) MarkSent(_ context.Context, n string, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failMarkSent > 0 {
		o.failMarkSent--
		return errors.New("disk I/O error")
	}
	it := o.find(n)
	it.sent, it.sentAt, it.failed = true, at, nil
	return nil
}

func (o *memOutbox) MarkFailed(_ context.Context, n string, f *Failure, next time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	it := o.find(n)
	it.failed, it.next = f, next
	it.Attempts++
	return nil
}

func (o *memOutbox) count() (sent, waiting, failed int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, it := range o.items {
		switch {
		case it.sent:
			sent++
		case it.failed != nil && it.next.IsZero():
			failed++
		default:
			waiting++
		}
	}
	return
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func testSender(t testing.TB, o Outbox, addr string) (*Sender, *clock) {
	t.Helper()
	c := &clock{t: testTime}
	s := NewSender(o, testSubmitter(t, testConfig(addr, TLSNone), "").Relay(), nil)
	s.Now = c.now
	return s, c
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: 30 * time.Second, Max: time.Hour, Jitter: 0.2}
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 8: 64 * time.Minute, 50: time.Hour, 1 << 10: time.Hour} {
		if want > b.Max {
			want = b.Max
		}
		lo, hi := time.Duration(float64(want)*0.8), time.Duration(float64(want)*1.2)
		seen := map[time.Duration]bool{}
		for i := 0; i < 50; i++ {
			d := b.Delay(n)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("attempt %d: no jitter (%d distinct delays)", n, len(seen))
		}
	}
	if d := (Backoff{Base: time.Second, Max: time.Minute}).Delay(3); d != 4*time.Second {
		t.Fatalf("without jitter: %v", d)
	}
}

func TestSenderSendsAll(t *testing.T) {
	r := startRelay(t, plain, nil, nil)
	o := &memOutbox{}
	msgs := composeN(t, 7, testKey(t))
	o.add(msgs...)
	s, _ := testSender(t, o, r.Addr)
	res, err := s.SendDue(context.Background())
	if err != nil || res.Sent != 7 || res.Retry+res.Failed != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if sent, _, _ := o.count(); sent != 7 || len(r.received()) != 7 || r.sessions != 1 {
		t.Fatalf("sent %d, relay got %d in %d sessions", sent, len(r.received()), r.sessions)
	}
	for i, m := range msgs {
		if !bytes.Equal(r.received()[i], m.Raw) {
			t.Fatalf("message %d not sent as stored", i)
		}
	}
	if res, err := s.SendDue(context.Background()); err != nil || res.Sent != 0 || r.sessions != 1 {
		t.Fatalf("nothing due: %+v %v, sessions %d", res, err, r.sessions)
	}
}

func TestSenderRetriesTemporary(t *testing.T) {
	r := startRelay(t, plain, nil, func(r *relay) {
		r.rcpt = func(n int, _ string) error {
			if n <= 2 {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
			}
			return nil
		}
	})
	o := &memOutbox{}
	o.add(composeN(t, 1, testKey(t))...)
	s, c := testSender(t, o, r.Addr)
	for attempt := 1; attempt <= 2; attempt++ {
		res, err := s.SendDue(context.Background())
		if err != nil || res.Retry != 1 || res.LastFail.Class != ClassTemporary {
			t.Fatalf("attempt %d: %+v %v", attempt, res, err)
		}
		it := o.items[0]
		want := s.Backoff.Base << (attempt - 1)
		if d := it.next.Sub(c.now()); d < want*8/10 || d > want*12/10 || it.Attempts != attempt {
			t.Fatalf("attempt %d: next in %v, want about %v", attempt, d, want)
		}
		// Not due before its time.
		if res, _ := s.SendDue(context.Background()); res.Sent+res.Retry != 0 {
			t.Fatalf("sent before the backoff ended: %+v", res)
		}
		c.advance(2 * want)
	}
	if res, err := s.SendDue(context.Background()); err != nil || res.Sent != 1 {
		t.Fatalf("third attempt: %+v %v", res, err)
	}
	if len(r.received()) != 1 {
		t.Fatalf("relay got %d", len(r.received()))
	}
}

// TestSenderRelayDown: with the relay down every due message is held
// back with the same German reason; when it is back they all go, none
// lost, none twice.
func TestSenderRelayDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	o := &memOutbox{}
	o.add(composeN(t, 5, testKey(t))...)
	s, c := testSender(t, o, addr)
	res, err := s.SendDue(context.Background())
	if err != nil || res.Retry != 5 || res.LastFail.Class != ClassUnreachable {
		t.Fatalf("%+v %v", res, err)
	}
	for _, it := range o.items {
		if it.failed == nil || !strings.Contains(it.failed.Reason, "nicht erreichbar") || it.next.IsZero() {
			t.Fatalf("held back: %+v", it.failed)
		}
	}
	// The relay is back (a fresh one; the outbox is what carries over).
	r := startRelay(t, plain, nil, nil)
	s.Relay = testSubmitter(t, testConfig(r.Addr, TLSNone), "").Relay()
	c.advance(time.Hour + time.Minute)
	res, err = s.SendDue(context.Background())
	if err != nil || res.Sent != 5 {
		t.Fatalf("after the relay is back: %+v %v", res, err)
	}
	if sent, waiting, failed := o.count(); sent != 5 || waiting+failed != 0 || len(r.received()) != 5 {
		t.Fatalf("sent %d waiting %d failed %d, relay got %d", sent, waiting, failed, len(r.received()))
	}
}

func TestSenderPermanentAndLogin(t *testing.T) {
	r := startRelay(t, plain, nil, func(r *relay) {
		r.rcpt = func(n int, _ string) error {
			if n == 2 {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
			return nil
		}
	})
	o := &memOutbox{}
	o.add(composeN(t, 3, testKey(t))...)
	s, c := testSender(t, o, r.Addr)
	res, err := s.SendDue(context.Background())
	if err != nil || res.Sent != 2 || res.Failed != 1 || res.LastFail.Class != ClassPermanent {
		t.Fatalf("%+v %v", res, err)
	}
	bad := o.items[1]
	if bad.sent || !bad.next.IsZero() || bad.failed.Code != 550 || !strings.Contains(bad.failed.Reason, "per Brief") {
		t.Fatalf("refused message: %+v %+v", bad, bad.failed)
	}
	c.advance(24 * time.Hour)
	if res, _ := s.SendDue(context.Background()); res.Sent+res.Retry+res.Failed != 0 {
		t.Fatalf("a permanently refused message was sent again: %+v", res)
	}

	// A refused login holds back everything at the longest interval.
	r2 := startRelay(t, plain, nil, func(r *relay) { r.user, r.pass = "u", "richtig" })
	o2 := &memOutbox{}
	o2.add(composeN(t, 3, testKey(t))...)
	c2 := testConfig(r2.Addr, TLSNone)
	c2.SMTP.Username = "u"
	s2 := NewSender(o2, testSubmitter(t, c2, "falsch").Relay(), nil)
	s2.Now = c.now
	res, err = s2.SendDue(context.Background())
	if err != nil || res.Retry != 3 || res.LastFail.Class != ClassLogin || r2.auths != 1 {
		t.Fatalf("login refused: %+v %v (logins %d)", res, err, r2.auths)
	}
	for _, it := range o2.items {
		if d := it.next.Sub(c.now()); d < 48*time.Minute || !strings.Contains(it.failed.Reason, "Anmeldung") {
			t.Fatalf("held back for %v: %s", d, it.failed.Reason)
		}
	}
}

// TestSenderCrashBeforeMarkSent: the relay accepted the message but the
// outbox could not record it. The round stops with the error, and the next
// round sends the same bytes, the same Message-ID, again.
func TestSenderCrashBeforeMarkSent(t *testing.T) {
	r := startRelay(t, plain, nil, nil)
	o := &memOutbox{failMarkSent: 1}
	msgs := composeN(t, 2, testKey(t))
	o.add(msgs...)
	s, _ := testSender(t, o, r.Addr)
	if _, err := s.SendDue(context.Background()); err == nil || !strings.Contains(err.Error(), "mark sent") {
		t.Fatalf("want the outbox error, got %v", err)
	}
	if sent, waiting, _ := o.count(); sent != 0 || waiting != 2 {
		t.Fatalf("sent %d waiting %d", sent, waiting)
	}
	res, err := s.SendDue(context.Background())
	if err != nil || res.Sent != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	got := r.received()
	if len(got) != 3 || !bytes.Equal(got[0], got[1]) || !bytes.Equal(got[0], msgs[0].Raw) {
		t.Fatalf("relay got %d messages; the first twice with the same bytes expected", len(got))
	}
}

// TestSenderRunWakes: Run sends at start and again when woken, without
// waiting for the interval; it ends with its context.
func TestSenderRunWakes(t *testing.T) {
	r := startRelay(t, plain, nil, nil)
	o := &memOutbox{}
	key := testKey(t)
	o.add(composeN(t, 1, key)...)
	s, _ := testSender(t, o, r.Addr)
	s.Now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Hour) }()
	waitFor(t, func() bool { sent, _, _ := o.count(); return sent == 1 })
	o.add(composeN(t, 2, key)...)
	s.Wake()
	waitFor(t, func() bool { sent, _, _ := o.count(); return sent == 3 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package rueckkanal_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"amtstresen/app"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/internal/signedmail"
	"amtstresen/sync/portalsim"
	"amtstresen/sync/portaltest"
	"amtstresen/sync/postfixtest"
	"amtstresen/sync/rueckkanal"
)

const (
	returnAddr = "rueckkanal@portal.test"
	rejectAddr = "abgelehnt@portal.test"
	officeFrom = "Verbandsgemeindeverwaltung Cochem <buergerportal@cochem.example>"
)

// chain is the real path of a status message: the office's relay
// (Postfix) → LMTP → the portal's return mailbox (Dovecot, user
// "rueckkanal") → the test portal → quittung into the functional mailbox
// (Dovecot, user "eingang").
type chain struct {
	dc      *dovecottest.Server
	pf      *postfixtest.Server
	portal  *portalsim.Portal
	in, out portalsim.Mailbox
	key     *rueckkanal.OfficeKey
	now     time.Time
}

func startChain(t testing.TB, outcome map[string]rueckkanal.Ergebnis) *chain {
	t.Helper()
	dc := dovecottest.StartWith(t, dovecottest.Options{LMTP: true})
	pf := postfixtest.Start(t, postfixtest.Options{LMTPAddr: dc.LMTPAddr, Reject: []string{rejectAddr}})
	key := portaltest.TestOfficeKey(app.OfficeCochem)
	c := &chain{dc: dc, pf: pf, key: key, now: time.Now(),
		in:  portalsim.Mailbox{Addr: dc.Addr, User: "rueckkanal", Password: dc.Password},
		out: portalsim.Mailbox{Addr: dc.Addr, User: dc.User, Password: dc.Password}}
	c.portal = portalsim.New(portalsim.Config{PortalKey: portaltest.TestKey(),
		OfficeKeys: map[app.OfficeKey]ed25519.PublicKey{app.OfficeCochem: key.Public()},
		Outcome:    portalsim.OutcomeByCase(outcome, rueckkanal.ErgebnisServicekonto)})
	return c
}

func (c *chain) sender(t testing.TB, o rueckkanal.Outbox, to string) *rueckkanal.Sender {
	t.Helper()
	sub, err := rueckkanal.NewSubmitter(rueckkanal.Config{
		SMTP:          rueckkanal.SMTPConfig{Address: c.pf.Addr, TLS: rueckkanal.TLSNone, From: officeFrom},
		ReturnAddress: to}, "")
	if err != nil {
		t.Fatal(err)
	}
	s := rueckkanal.NewSender(o, sub.Relay(), nil)
	s.Now = func() time.Time { return c.now }
	return s
}

// compose makes n status messages of every kind for new cases, the first
// with a PDF.
func (c *chain) compose(t testing.TB, n int, key ed25519.PrivateKey) []*rueckkanal.Message {
	t.Helper()
	var out []*rueckkanal.Message
	for i := 0; i < n; i++ {
		code := rueckkanal.StatusCodes[i%len(rueckkanal.StatusCodes)]
		s := rueckkanal.NewStatus(rueckkanal.NewUUID(), fmt.Sprintf("COC-2026-%05d", i+1), app.OfficeCochem, code, c.now, "Sehr geehrte Bürgerin, sehr geehrter Bürger,\nIhr Antrag: "+code.Label()+".")
		switch code {
		case rueckkanal.StatusUnterlagenFehlen:
			s.FehlendeUnterlagen, s.Frist = []string{"Impfpass"}, c.now.AddDate(0, 0, 14).In(app.Berlin).Format("2006-01-02")
		case rueckkanal.StatusWeitergeleitet:
			s.WeitergeleitetAn = app.OfficeKreis
		}
		var pdf *rueckkanal.PDF
		if i == 0 {
			pdf = &rueckkanal.PDF{Name: "eingangsbestaetigung.pdf", Data: []byte("%PDF-1.4\n% Eingangsbestätigung\n%%EOF\n")}
		}
		m, err := rueckkanal.Compose(s, pdf, officeFrom, returnAddr, key)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func (c *chain) count(t testing.TB, user string) int {
	t.Helper()
	out, err := c.dc.Doveadm("-f", "flow", "mailbox", "status", "-u", user, "messages", "INBOX")
	if err != nil {
		if strings.Contains(out, "doesn't exist") {
			return 0
		}
		t.Fatal(err)
	}
	i := strings.LastIndex(out, "messages=")
	n, err := strconv.Atoi(strings.TrimSpace(out[i+len("messages="):]))
	if err != nil {
		t.Fatalf("doveadm: %q", out)
	}
	return n
}

// waitDelivered waits until the portal's return mailbox holds n mails.
func (c *chain) waitDelivered(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for c.count(t, "rueckkanal") < n {
		if time.Now().After(deadline) {
			t.Fatalf("return mailbox holds %d of %d\npostfix:\n%s", c.count(t, "rueckkanal"), n, tail(c.pf.Log(), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// quittungen reads every quittung in the functional mailbox and checks
// each as the office's sync will: the portal's signature over the exact
// decoded bytes of quittung.json, and the JSON itself.
func (c *chain) quittungen(t testing.TB) map[string]*rueckkanal.Quittung {
	t.Helper()
	conn, err := net.Dial("tcp", c.dc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := imapclient.New(conn, nil)
	defer cl.Close()
	if err := cl.Login(c.out.User, c.out.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := cl.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*rueckkanal.Quittung{}
	if sel.NumMessages == 0 {
		return got
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	cmd := cl.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for it := msg.Next(); it != nil; it = msg.Next() {
			bs, ok := it.(imapclient.FetchItemDataBodySection)
			if !ok {
				continue
			}
			raw, err := io.ReadAll(bs.Literal)
			if err != nil {
				t.Fatal(err)
			}
			p, err := signedmail.Parse(raw, "quittung.json")
			if err != nil {
				t.Fatal(err)
			}
			if !ed25519.Verify(portaltest.TestPublicKey(), p.JSON, p.Signature) {
				t.Fatalf("quittung %s: portal signature does not verify over quittung.json", p.MessageID)
			}
			q, err := rueckkanal.ParseQuittung(p.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if p.Field("X-Buergerportal-Art") != "quittung" || p.Field("X-Buergerportal-Version") != "2" || p.Field("X-Buergerportal-Vorgang") != q.Vorgang {
				t.Fatalf("quittung headers: %v", p.Header.Map())
			}
			if got[q.MessageIDKey()] != nil {
				t.Fatalf("two quittungen for %s", q.MessageIDKey())
			}
			got[q.MessageIDKey()] = q
		}
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

// pollUntil lets the portal answer until it has answered n messages.
func (c *chain) pollUntil(t testing.TB, n int) portalsim.Result {
	t.Helper()
	var total portalsim.Result
	deadline := time.Now().Add(60 * time.Second)
	for total.Answered < n {
		res, err := c.portal.Poll(context.Background(), c.in, c.out)
		if err != nil {
			t.Fatal(err)
		}
		total.Answered += res.Answered
		total.Refused += res.Refused
		total.Duplicates += res.Duplicates
		total.Unreadable += res.Unreadable
		if time.Now().After(deadline) {
			t.Fatalf("portal answered %d of %d", total.Answered, n)
		}
		if total.Answered < n {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return total
}

// TestPostfixDovecot sends status messages through a real Postfix into a
// real Dovecot mailbox, lets the test portal verify them and answer, and
// reads the signed quittungen back; then the faults: Postfix stopped,
// the recipient refused, the same Message-ID sent twice.
func TestPostfixDovecot(t *testing.T) {
	email, lost := rueckkanal.NewUUID(), rueckkanal.NewUUID()
	c := startChain(t, nil)
	c.portal = portalsim.New(portalsim.Config{PortalKey: portaltest.TestKey(),
		OfficeKeys: map[app.OfficeKey]ed25519.PublicKey{app.OfficeCochem: c.key.Public()},
		Outcome:    portalsim.OutcomeByCase(map[string]rueckkanal.Ergebnis{email: rueckkanal.ErgebnisEmail, lost: rueckkanal.ErgebnisUnzustellbar}, rueckkanal.ErgebnisServicekonto)})
	delivered, answered := 0, 0
	seen := map[string]bool{}

	t.Run("delivery", func(t *testing.T) {
		const n = 20
		msgs := c.compose(t, n, c.key.Private)
		// Two cases with another outcome, one status signed with a foreign key.
		for i, v := range map[int]string{3: email, 4: lost} {
			s := rueckkanal.NewStatus(v, "COC-2026-09999", app.OfficeCochem, rueckkanal.StatusInBearbeitung, c.now, "In Bearbeitung.")
			m, err := rueckkanal.Compose(s, nil, officeFrom, returnAddr, c.key.Private)
			if err != nil {
				t.Fatal(err)
			}
			msgs[i] = m
		}
		_, foreign, _ := ed25519.GenerateKey(nil)
		msgs[5] = c.compose(t, 1, foreign)[0]
		o := &rueckkanal.MemOutbox{}
		o.Add(msgs...)
		res, err := c.sender(t, o, returnAddr).SendDue(context.Background())
		if err != nil || res.Sent != n {
			t.Fatalf("%+v %v", res, err)
		}
		delivered += n
		c.waitDelivered(t, delivered)
		pr := c.pollUntil(t, n)
		answered += n
		if pr.Refused != 1 || pr.Duplicates != 0 {
			t.Fatalf("portal: %+v", pr)
		}
		qs := c.quittungen(t)
		if len(qs) != answered {
			t.Fatalf("%d quittungen, want %d", len(qs), answered)
		}
		for i, m := range msgs {
			q := qs[m.MessageID]
			if q == nil || q.Nachricht != m.Nachricht || q.Vorgang != m.Vorgang {
				t.Fatalf("message %d (%s): quittung %+v", i, m.MessageID, q)
			}
			seen[m.MessageID] = true
			want, grund := rueckkanal.ErgebnisServicekonto, ""
			switch i {
			case 3:
				want = rueckkanal.ErgebnisEmail
			case 4:
				want = rueckkanal.ErgebnisUnzustellbar
			case 5:
				want, grund = rueckkanal.ErgebnisAbgelehnt, rueckkanal.GrundSignatur
			}
			if q.Ergebnis != want || q.Grund != grund {
				t.Errorf("message %d: %s/%s, want %s/%s", i, q.Ergebnis, q.Grund, want, grund)
			}
		}
	})

	t.Run("postfix stopped", func(t *testing.T) {
		msgs := c.compose(t, 5, c.key.Private)
		o := &rueckkanal.MemOutbox{}
		o.Add(msgs...)
		s := c.sender(t, o, returnAddr)
		c.pf.Stop()
		res, err := s.SendDue(context.Background())
		if err != nil || res.Retry != 5 || res.Sent != 0 || res.LastFail.Class != rueckkanal.ClassUnreachable {
			t.Fatalf("relay down: %+v %v", res, err)
		}
		for _, f := range o.Failures() {
			if f == nil || !strings.Contains(f.Reason, "nicht erreichbar") || !f.Retry() {
				t.Fatalf("failure %+v", f)
			}
		}
		// Not due before the backoff ends, even with the relay back.
		if err := c.pf.Start(); err != nil {
			t.Fatal(err)
		}
		if res, _ := s.SendDue(context.Background()); res.Sent != 0 {
			t.Fatalf("sent before its backoff: %+v", res)
		}
		c.now = c.now.Add(2 * time.Minute)
		res, err = s.SendDue(context.Background())
		if err != nil || res.Sent != 5 {
			t.Fatalf("relay back: %+v %v", res, err)
		}
		delivered += 5
		c.waitDelivered(t, delivered)
		c.pollUntil(t, 5)
		answered += 5
		qs := c.quittungen(t)
		for _, m := range msgs {
			if qs[m.MessageID] == nil {
				t.Fatalf("lost: %s", m.MessageID)
			}
		}
		if len(qs) != answered {
			t.Fatalf("%d quittungen, want %d", len(qs), answered)
		}
	})

	t.Run("recipient refused", func(t *testing.T) {
		o := &rueckkanal.MemOutbox{}
		o.Add(c.compose(t, 1, c.key.Private)...)
		res, err := c.sender(t, o, rejectAddr).SendDue(context.Background())
		if err != nil || res.Failed != 1 || res.Sent+res.Retry != 0 {
			t.Fatalf("%+v %v", res, err)
		}
		f := o.Failures()[0]
		if f.Class != rueckkanal.ClassPermanent || f.Code != 550 || f.Retry() ||
			!strings.Contains(f.Reason, "endgültig abgelehnt") || !strings.Contains(f.Reason, "[portal] return_address") {
			t.Fatalf("failure %+v", f)
		}
		if _, _, failed := o.Count(); failed != 1 {
			t.Fatal("the refused message is not marked failed")
		}
	})

	t.Run("same Message-ID twice", func(t *testing.T) {
		msgs := c.compose(t, 2, c.key.Private)
		o := &rueckkanal.MemOutbox{}
		o.Add(msgs...)
		o.FailNextMarkSent(1) // the relay took the first, the outbox did not record it
		s := c.sender(t, o, returnAddr)
		if _, err := s.SendDue(context.Background()); err == nil {
			t.Fatal("the outbox error was not reported")
		}
		res, err := s.SendDue(context.Background())
		if err != nil || res.Sent != 2 {
			t.Fatalf("%+v %v", res, err)
		}
		delivered += 3 // the first one twice
		c.waitDelivered(t, delivered)
		pr := c.pollUntil(t, 2)
		answered += 2
		if pr.Duplicates != 1 {
			t.Fatalf("portal: %+v, want one repeat", pr)
		}
		qs := c.quittungen(t)
		if len(qs) != answered || qs[msgs[0].MessageID] == nil || qs[msgs[1].MessageID] == nil {
			t.Fatalf("%d quittungen, want %d (one for the repeated Message-ID)", len(qs), answered)
		}
	})
}

// BenchmarkPostfix1000 sends 1,000 status messages through the real
// Postfix into Dovecot (make bench-rueckkanal). Reported: submission
// (relay accepted every message), delivery (all in the portal's mailbox)
// in messages per second, and the time until the test portal's last
// quittung is in the functional mailbox.
func BenchmarkPostfix1000(b *testing.B) {
	const n = 1000
	c := startChain(b, nil)
	b.ResetTimer()
	delivered := 0
	var submit, deliver, quittung time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		msgs := c.compose(b, n, c.key.Private)
		o := &rueckkanal.MemOutbox{}
		o.Add(msgs...)
		s := c.sender(b, o, returnAddr)
		b.StartTimer()
		start := time.Now()
		res, err := s.SendDue(context.Background())
		if err != nil || res.Sent != n {
			b.Fatalf("%+v %v", res, err)
		}
		submit += time.Since(start)
		delivered += n
		c.waitDelivered(b, delivered)
		deliver += time.Since(start)
		c.pollUntil(b, n)
		quittung += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/submit.Seconds(), "submitted-msg/s")
	b.ReportMetric(float64(n*b.N)/deliver.Seconds(), "delivered-msg/s")
	b.ReportMetric(quittung.Seconds()/float64(b.N), "s-to-last-quittung")
}

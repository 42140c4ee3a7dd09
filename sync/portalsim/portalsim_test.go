package portalsim

import (
	"context"
	"crypto/ed25519"
	"os"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/internal/signedmail"
	"amtstresen/sync/portaltest"
	"amtstresen/sync/rueckkanal"
)

const (
	office = app.OfficeCochem
	from   = "VG Cochem <buergerportal@cochem.example>"
)

var now = time.Date(2026, 11, 30, 10, 12, 41, 0, app.Berlin)

func status(t testing.TB, vorgang string, key ed25519.PrivateKey) *rueckkanal.Message {
	t.Helper()
	s := rueckkanal.NewStatus(vorgang, "COC-2026-00017", office, rueckkanal.StatusEingegangen, now, "Ihr Antrag ist eingegangen.")
	m, err := rueckkanal.Compose(s, nil, from, rueckkanal.DefaultReturnAddress, key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newPortal(outcome map[string]rueckkanal.Ergebnis, known func(string) bool) *Portal {
	return New(Config{PortalKey: portaltest.TestKey(), OfficeKeys: map[app.OfficeKey]ed25519.PublicKey{office: portaltest.TestOfficeKey(office).Public()},
		Outcome: OutcomeByCase(outcome, rueckkanal.ErgebnisServicekonto), KnownCase: known, Now: func() time.Time { return now }})
}

// checkQuittung reads a quittung delivery as the office's sync will: the
// portal's signature over the exact bytes of quittung.json, version 2,
// kind and case in the headers equal to the signed JSON.
func checkQuittung(t testing.TB, raw []byte) *rueckkanal.Quittung {
	t.Helper()
	p, err := signedmail.Parse(raw, "quittung.json")
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(portaltest.TestPublicKey(), p.JSON, p.Signature) {
		t.Fatal("quittung not signed by the portal key")
	}
	q, err := rueckkanal.ParseQuittung(p.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if p.Field("X-Buergerportal-Version") != "2" || p.Field("X-Buergerportal-Art") != "quittung" || p.Field("X-Buergerportal-Vorgang") != q.Vorgang {
		t.Fatalf("headers %v", p.Header.Map())
	}
	return q
}

func TestTestOfficeKey(t *testing.T) {
	pub, err := os.ReadFile("../portaltest/office-signing-test.pub")
	if err != nil {
		t.Fatal(err)
	}
	if got := portaltest.TestOfficeKey(office).PublicBase64(); got != strings.TrimSpace(string(pub)) {
		t.Fatalf("public key %s, documented %s", got, pub)
	}
}

func TestAnswer(t *testing.T) {
	key := portaltest.TestOfficeKey(office).Private
	email, lost, unknown := rueckkanal.NewUUID(), rueckkanal.NewUUID(), rueckkanal.NewUUID()
	p := newPortal(map[string]rueckkanal.Ergebnis{email: rueckkanal.ErgebnisEmail, lost: rueckkanal.ErgebnisUnzustellbar},
		func(v string) bool { return v != unknown })
	_, wrong, _ := ed25519.GenerateKey(nil)
	tests := []struct {
		name     string
		m        *rueckkanal.Message
		ergebnis rueckkanal.Ergebnis
		grund    string
	}{
		{"servicekonto", status(t, rueckkanal.NewUUID(), key), rueckkanal.ErgebnisServicekonto, ""},
		{"email", status(t, email, key), rueckkanal.ErgebnisEmail, ""},
		{"unzustellbar", status(t, lost, key), rueckkanal.ErgebnisUnzustellbar, ""},
		{"case unknown", status(t, unknown, key), rueckkanal.ErgebnisAbgelehnt, rueckkanal.GrundVorgangUnbekannt},
		{"wrong office key", status(t, rueckkanal.NewUUID(), wrong), rueckkanal.ErgebnisAbgelehnt, rueckkanal.GrundSignatur},
	}
	for _, tt := range tests {
		a, err := p.Answer(tt.m.Raw)
		if err != nil || a.Duplicate {
			t.Fatalf("%s: %v %+v", tt.name, err, a)
		}
		q := checkQuittung(t, a.Raw)
		if q.Ergebnis != tt.ergebnis || q.Grund != tt.grund || q.MessageIDKey() != tt.m.MessageID || q.Nachricht != tt.m.Nachricht || q.Vorgang != tt.m.Vorgang {
			t.Errorf("%s: %+v", tt.name, q)
		}
		if q.Zeitpunkt != "2026-11-30T10:12:41+01:00" {
			t.Errorf("%s: zeitpunkt %s", tt.name, q.Zeitpunkt)
		}
		// Each Message-ID once.
		if a, err := p.Answer(tt.m.Raw); err != nil || !a.Duplicate || a.Raw != nil {
			t.Errorf("%s again: %v %+v", tt.name, err, a)
		}
	}
	if _, err := p.Answer([]byte("From: x@y\r\n\r\nkein Status\r\n")); err == nil {
		t.Fatal("a mail without Message-ID was answered")
	}
}

func TestQuittungLikeExample(t *testing.T) {
	q := &rueckkanal.Quittung{Schema: rueckkanal.QuittungSchema, Art: "quittung", Vorgang: "cd613e30-d8f1-4adf-91b7-584a2265b1f5",
		Nachricht: "5d1f0a9e-2c4b-4f0e-8f51-0c1e8a7b9d22", MessageID: "<status-5d1f0a9e@vgcochem.example>",
		Ergebnis: rueckkanal.ErgebnisServicekonto, Zeitpunkt: "2026-11-30T10:12:41+01:00"}
	raw, err := ComposeQuittung(q, portaltest.TestKey(), DefaultFrom, DefaultTo, now)
	if err != nil {
		t.Fatal(err)
	}
	got := checkQuittung(t, raw)
	if got.MessageID != q.MessageID || got.Grund != "" {
		t.Fatalf("%+v", got)
	}
	p, _ := signedmail.Parse(raw, "quittung.json")
	fa, err := p.Header.AddressList("From")
	if err != nil || len(fa) != 1 || fa[0].Name != "Bürgerportal Cochem-Zell" || fa[0].Address != "noreply@cochem-zell-online.de" {
		t.Errorf("From %v %v", fa, err)
	}
	if d, err := p.Header.Date(); err != nil || !d.Equal(now) || p.Field("Auto-Submitted") != "auto-generated" {
		t.Errorf("Date %v %v, Auto-Submitted %q", d, err, p.Field("Auto-Submitted"))
	}
}

// TestPollDovecot: the portal reads status messages from a real Dovecot
// mailbox, answers each Message-ID once into the functional mailbox, and a
// restarted portal answers nothing again.
func TestPollDovecot(t *testing.T) {
	dc := dovecottest.Start(t)
	key := portaltest.TestOfficeKey(office).Private
	m1, m2 := status(t, rueckkanal.NewUUID(), key), status(t, rueckkanal.NewUUID(), key)
	for _, raw := range [][]byte{m1.Raw, m2.Raw, m1.Raw} { // m1 re-sent after a crash
		if err := dc.Save("Rueckkanal", raw); err != nil {
			t.Fatal(err)
		}
	}
	in := Mailbox{Addr: dc.Addr, User: dc.User, Password: dc.Password, Name: "Rueckkanal"}
	out := Mailbox{Addr: dc.Addr, User: dc.User, Password: dc.Password}
	p := newPortal(nil, nil)
	res, err := p.Poll(context.Background(), in, out)
	if err != nil || res.Answered != 2 || res.Duplicates != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if n := dc.MustCount(t, "INBOX"); n != 2 {
		t.Fatalf("%d quittungen in the functional mailbox", n)
	}
	if res, err := p.Poll(context.Background(), in, out); err != nil || res != (Result{}) {
		t.Fatalf("second poll: %+v %v", res, err)
	}
	// A new portal on the same mailbox (a restart) knows what it answered.
	dc.Save("Rueckkanal", m2.Raw)
	if res, err := newPortal(nil, nil).Poll(context.Background(), in, out); err != nil || res.Duplicates != 1 || res.Answered != 0 {
		t.Fatalf("after restart: %+v %v", res, err)
	}
	if n := dc.MustCount(t, "INBOX"); n != 2 {
		t.Fatalf("%d quittungen after restart", n)
	}
}

func TestSMTPServer(t *testing.T) {
	p := newPortal(nil, nil)
	var got [][]byte
	srv, err := p.ListenSMTP(func(q []byte) error { got = append(got, q); return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	key := portaltest.TestOfficeKey(office).Private
	m := status(t, rueckkanal.NewUUID(), key)
	c := rueckkanal.Config{SMTP: rueckkanal.SMTPConfig{Address: srv.Addr, TLS: rueckkanal.TLSNone, From: from}, ReturnAddress: rueckkanal.DefaultReturnAddress}
	sub, err := rueckkanal.NewSubmitter(c, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		ss, err := sub.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := ss.Send(context.Background(), m.Raw); err != nil {
			t.Fatal(err)
		}
		ss.Close()
	}
	if ids := srv.Received(); len(ids) != 2 || ids[0] != m.MessageID || ids[1] != m.MessageID {
		t.Fatalf("received %v", ids)
	}
	if len(got) != 1 || checkQuittung(t, got[0]).MessageIDKey() != m.MessageID {
		t.Fatalf("%d quittungen for one Message-ID sent twice", len(got))
	}
}

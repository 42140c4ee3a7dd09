package sync

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"amtstresen/app"
	"amtstresen/sync/internal/memstore"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

var testReg = app.Default()

func memConfig(srv *portaltest.MemServer) *app.Config {
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: srv.Addr, TLS: mailbox.TLSNone, Username: srv.User},
		Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
	cfg.Defaults()
	return cfg
}

func newMemSyncer(t *testing.T, srv *portaltest.MemServer, st Store, cfg *app.Config) *Syncer {
	t.Helper()
	if cfg == nil {
		cfg = memConfig(srv)
	}
	s, err := New(cfg, st, testReg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pw := srv.Password
	s.Password = func() (string, error) { return pw, nil }
	return s
}

func startMem(t *testing.T, o *portaltest.MemOptions) *portaltest.MemServer {
	t.Helper()
	srv, err := portaltest.StartMemServer("eingang", "geheim-"+t.Name(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func appendAll(t *testing.T, srv *portaltest.MemServer, raws ...[]byte) {
	t.Helper()
	for _, r := range raws {
		if err := srv.Append("INBOX", r); err != nil {
			t.Fatal(err)
		}
	}
}

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	return readTestdata(t, "examples", name)
}

func exampleRaws(t *testing.T) [][]byte {
	ents, err := os.ReadDir(filepath.Join("testdata", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".eml") {
			out = append(out, readExample(t, e.Name()))
		}
	}
	return out
}

func TestSyncExamplesMem(t *testing.T) {
	srv := startMem(t, nil)
	appendAll(t, srv, exampleRaws(t)...)
	st := memstore.New()
	s := newMemSyncer(t, srv, st, nil)
	var calls, lastDone, lastTotal int
	res, err := s.Sync(context.Background(), func(done, total int) { calls++; lastDone, lastTotal = done, total })
	if err != nil {
		t.Fatal(err)
	}
	if lastDone != 11 || lastTotal != 11 || calls < 2 {
		t.Errorf("progress %d/%d after %d calls", lastDone, lastTotal, calls)
	}
	checkExampleOutcome(t, exampleState{cases: st.Cases, appts: st.Appts, reviews: st.Reviews, messages: len(st.Messages)})
	if res.Cases != 4 || res.Duplicates != 1 || res.Messages != 1 || res.Unconfirmed != 1 || res.Withdrawals != 0 || res.Review != 1 || res.Appointments != 3 {
		t.Errorf("result %+v", res)
	}
	if got := srv.Count("INBOX"); got != 0 {
		t.Errorf("INBOX has %d mails", got)
	}
	if p, r := srv.Count("Übernommen"), srv.Count("Zur Sichtung"); p != 10 || r != 1 {
		t.Errorf("filed %d processed, %d review", p, r)
	}
	// A second run is a no-op.
	res, err = s.Sync(context.Background(), nil)
	if err != nil || res.Mails != 0 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	ls, _ := s.LastState(context.Background())
	if ls == nil || ls.LastRun.IsZero() || ls.LastError != "" || ls.LastResult != "keine neuen Sendungen" {
		t.Errorf("state %+v", ls)
	}
}

type exampleState struct {
	cases    []*app.Case
	appts    map[string]*app.Appointment
	reviews  []*app.ReviewItem
	messages int
}

// checkExampleOutcome checks the effect of the eleven examples. The
// withdrawal (10) is in format 1: its kind is not signed, so it only
// flags the case for a clerk to confirm.
func checkExampleOutcome(t *testing.T, got exampleState) {
	t.Helper()
	want := map[string]struct {
		service string
		office  app.OfficeKey
		status  app.Status
		files   int
		flags   []app.Flag
	}{
		"cd613e30-d8f1-4adf-91b7-584a2265b1f5": {"hund-anmelden", app.OfficeCochem, app.StatusReceived, 1, nil},
		"21636369-8b52-4b4a-97b7-50923ceb3ffd": {"sperrmuell", app.OfficeKreis, app.StatusReceived, 0, []app.Flag{app.FlagWithdrawalUnconfirmed}},
		"b8a1abcd-1a69-46c7-8da4-f9fc3c6da5d7": {"eigentuemerwechsel", app.OfficeKaisersesch, app.StatusReceived, 0, nil},
		"4462ebfc-5f91-4ef0-9cfb-ac6e7687a66e": {"plakatierung", app.OfficeCochem, app.StatusReceived, 0, nil},
	}
	if len(got.cases) != len(want) {
		t.Fatalf("%d cases, want %d", len(got.cases), len(want))
	}
	for _, c := range got.cases {
		w, ok := want[c.PortalCase]
		if !ok {
			t.Errorf("unexpected case %s", c.PortalCase)
			continue
		}
		if c.Service != w.service || c.Office != w.office || c.Status != w.status || len(c.Attachments) != w.files || !slices.Equal(c.Flags, w.flags) {
			t.Errorf("case %s: %s %s %s files=%d flags=%v", c.PortalCase, c.Service, c.Office, c.Status, len(c.Attachments), c.Flags)
		}
	}
	a := got.appts["74b77472-1431-492a-8f9e-a47c4655af32@cochem-zell-online.de"]
	if a == nil || a.Status != app.AppointmentCancelled || a.Sequence != 2 || a.Office != app.OfficeKreis {
		t.Errorf("appointment %+v", a)
	}
	if len(got.reviews) != 1 || got.reviews[0].Reason != app.ReviewNotPortal || got.reviews[0].MessageID != "a1b2c3d4e5@example.org" ||
		got.reviews[0].Subject != "Frage zur Sperrmüllabholung in Büchel" || len(got.reviews[0].Raw) == 0 {
		t.Errorf("reviews %+v", got.reviews)
	}
	if got.messages != 1 {
		t.Errorf("%d messages", got.messages)
	}
}

func TestSyncMixMem(t *testing.T) {
	srv := startMem(t, nil)
	g := portaltest.New(3)
	mails := g.Mix(60)
	for _, m := range mails {
		appendAll(t, srv, m.Raw)
	}
	st := memstore.New()
	s := newMemSyncer(t, srv, st, nil)
	s.BatchSize = 7 // several batches
	if _, err := s.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	reviews := map[string]app.ReviewReason{}
	for _, r := range st.Reviews {
		reviews[r.MessageID] = r.Reason
	}
	byPortal := map[string]*app.Case{}
	for _, c := range st.Cases {
		byPortal[c.PortalCase] = c
	}
	wantReview := 0
	for i, m := range mails {
		if m.Review != "" {
			wantReview++
			if reviews[m.MessageID] != m.Review {
				t.Errorf("mail %d (%s): review %q, want %q", i, m.Kind, reviews[m.MessageID], m.Review)
			}
			if m.Vorgang != "" && byPortal[m.Vorgang] != nil {
				t.Errorf("mail %d: untrusted mail became case %s", i, byPortal[m.Vorgang].Ref)
			}
			continue
		}
		if m.Kind == "antrag" {
			c := byPortal[m.Vorgang]
			if c == nil {
				t.Errorf("mail %d: no case for %s", i, m.Vorgang)
				continue
			}
			for _, f := range m.Flags {
				if !c.HasFlag(f) {
					t.Errorf("case %s lacks flag %s (%v)", c.Ref, f, c.Flags)
				}
			}
			if len(c.Attachments) != m.Files {
				t.Errorf("case %s: %d attachments, want %d", c.Ref, len(c.Attachments), m.Files)
			}
		}
	}
	caseUnknown := 0
	for _, r := range st.Reviews {
		if r.Reason == app.ReviewCaseUnknown {
			caseUnknown++
		}
	}
	if caseUnknown != 1 || len(st.Reviews) != wantReview+1 {
		t.Errorf("%d reviews (%d case-unknown), want %d+1", len(st.Reviews), caseUnknown, wantReview)
	}
	// The appointment cases of Mix: the CANCEL that came first wins; the
	// stale REQUEST does not undo the move.
	var cancelled, seq1 int
	for _, a := range st.Appts {
		if a.Service == "fuehrerschein" && a.Status == app.AppointmentCancelled && a.Sequence == 0 {
			cancelled++
		}
		if a.Service == "buergerbuero" && a.Sequence == 1 && a.Status == app.AppointmentConfirmed {
			seq1++
		}
	}
	if cancelled < 1 || seq1 < 1 {
		t.Errorf("appointment rules: cancelled-first %d, stale-kept %d", cancelled, seq1)
	}
	if srv.Count("INBOX") != 0 || srv.Count("Übernommen")+srv.Count("Zur Sichtung") != len(mails) {
		t.Errorf("mailboxes: inbox %d processed %d review %d", srv.Count("INBOX"), srv.Count("Übernommen"), srv.Count("Zur Sichtung"))
	}
}

func TestSyncRedeliveryAndRecovery(t *testing.T) {
	g := portaltest.New(4)
	a := g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"})
	n := g.Nachricht(a.Vorgang, "Nachtrag")
	st := memstore.New()

	srv := startMem(t, nil)
	appendAll(t, srv, a.Raw, n.Raw)
	if _, err := newMemSyncer(t, srv, st, nil).Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// The portal re-sends both with new Message-IDs: no second case, no
	// second message.
	appendAll(t, srv, g.Resend(a).Raw, g.Resend(n).Raw)
	res, err := newMemSyncer(t, srv, st, nil).Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Cases) != 1 || len(st.Messages) != 1 || res.Duplicates != 1 {
		t.Errorf("cases %d messages %d result %+v", len(st.Cases), len(st.Messages), res)
	}
	// A run that committed but died before filing: the same mails (same
	// Message-IDs) are still in the inbox of the next run. They are only
	// filed, nothing is taken in twice.
	// (The cursor of that run was not advanced: it dies before filing.)
	delete(st.States, "INBOX")
	srv2 := startMem(t, nil)
	appendAll(t, srv2, a.Raw, n.Raw, g.CitizenMail().Raw)
	res, err = newMemSyncer(t, srv2, st, nil).Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recovered != 2 || len(st.Cases) != 1 || len(st.Messages) != 1 || srv2.Count("INBOX") != 0 || srv2.Count("Übernommen") != 2 {
		t.Errorf("recovery: %+v; cases %d inbox %d", res, len(st.Cases), srv2.Count("INBOX"))
	}
}

func TestSyncStoreFailsMidway(t *testing.T) {
	for _, batching := range []bool{false, true} {
		t.Run(map[bool]string{false: "per-mail", true: "batched"}[batching], func(t *testing.T) { testStoreFailsMidway(t, batching) })
	}
}

func testStoreFailsMidway(t *testing.T, batching bool) {
	g := portaltest.New(5)
	srv := startMem(t, nil)
	var mails []*portaltest.Mail
	for i := 0; i < 10; i++ {
		m := g.Antrag(portaltest.AntragSpec{})
		mails = append(mails, m)
		appendAll(t, srv, m.Raw)
	}
	st := memstore.New()
	st.FailAfter = 6
	var store Store = st
	bs := &memstore.Batching{Store: st}
	if batching {
		store = bs
	}
	s := newMemSyncer(t, srv, store, nil)
	s.BatchSize = 4
	_, err := s.Sync(context.Background(), nil)
	if err == nil {
		t.Fatal("no error")
	}
	// Five committed and filed (batched: the first two batches, of one
	// and four mails; the third is rolled back and its retry fails at
	// once); the rest untouched in the inbox.
	want := 5
	if len(st.Cases) != want || srv.Count("Übernommen") != want || srv.Count("INBOX") != 10-want {
		t.Fatalf("after failure: cases %d processed %d inbox %d", len(st.Cases), srv.Count("Übernommen"), srv.Count("INBOX"))
	}
	ls, _ := s.LastState(context.Background())
	if ls == nil || ls.LastError == "" {
		t.Errorf("state %+v", ls)
	}
	st.FailAfter = 0
	if _, err := s.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(st.Cases) != 10 || srv.Count("Übernommen") != 10 || srv.Count("INBOX") != 0 {
		t.Fatalf("after retry: cases %d processed %d inbox %d", len(st.Cases), srv.Count("Übernommen"), srv.Count("INBOX"))
	}
	if batching && bs.Batches < 2 {
		t.Errorf("%d batches committed", bs.Batches)
	}
}

func TestSyncTooLarge(t *testing.T) {
	g := portaltest.New(6)
	srv := startMem(t, nil)
	big := g.Large(200 << 10)
	appendAll(t, srv, big.Raw, g.Antrag(portaltest.AntragSpec{}).Raw)
	st := memstore.New()
	cfg := memConfig(srv)
	cfg.IMAP.MaxMessageBytes = 100 << 10
	if _, err := newMemSyncer(t, srv, st, cfg).Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(st.Reviews) != 1 || st.Reviews[0].Reason != app.ReviewTooLarge || st.Reviews[0].Raw != nil ||
		st.Reviews[0].MessageID != big.MessageID || st.Reviews[0].Size < 200<<10 || st.Reviews[0].Subject == "" {
		t.Fatalf("reviews %+v", st.Reviews)
	}
	if len(st.Cases) != 1 || srv.Count("Zur Sichtung") != 1 || srv.Count("INBOX") != 0 {
		t.Errorf("cases %d review folder %d", len(st.Cases), srv.Count("Zur Sichtung"))
	}
}

// TestSyncWithoutMove: a server with neither MOVE nor UIDPLUS (go-imap's
// memserver with IMAP4rev1 only). Nothing is copied (a copy could never
// be removed from the inbox without a plain EXPUNGE, which would remove
// other people's deleted mail too): the mails stay in the inbox, the
// summary says so and why, and the cursor keeps them from being looked
// at again. When the cursor starts over (a new database; a new
// UIDVALIDITY), the receipts recognise them: no copy ever, however often.
func TestSyncWithoutMove(t *testing.T) {
	srv := startMem(t, &portaltest.MemOptions{Caps: imap.CapSet{imap.CapIMAP4rev1: {}}})
	g := portaltest.New(8)
	var raws [][]byte
	for range 8 {
		raws = append(raws, g.Antrag(portaltest.AntragSpec{}).Raw)
	}
	raws = append(raws, g.CitizenMail().Raw, g.Bounce().Raw)
	appendAll(t, srv, raws...)
	st := memstore.New()
	s := newMemSyncer(t, srv, st, nil)
	res, err := s.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != 10 || res.Cases != 8 || res.Review != 2 || !strings.Contains(res.Summary(), "10 im Posteingang belassen (der Mailserver kann weder MOVE noch UIDPLUS") {
		t.Errorf("result %+v: %s", res, res.Summary())
	}
	for round := range 3 {
		if srv.Count("INBOX") != 10 || srv.Count("Übernommen") != 0 || srv.Count("Zur Sichtung") != 0 {
			t.Fatalf("round %d: inbox %d, Übernommen %d, Zur Sichtung %d", round, srv.Count("INBOX"), srv.Count("Übernommen"), srv.Count("Zur Sichtung"))
		}
		res, err = s.Sync(context.Background(), nil)
		if err != nil || res.Mails != 0 {
			t.Errorf("round %d: run without new mail %+v %v", round, res, err)
		}
		// The cursor starts over: every mail is looked at again and
		// recognised by its receipt.
		delete(st.States, "INBOX")
		res, err = s.Sync(context.Background(), nil)
		if err != nil || res.Recovered != 10 || res.Cases != 0 || res.Kept != 10 {
			t.Errorf("round %d after a cursor reset: %+v %v", round, res, err)
		}
	}
	// A fresh database (the receipts gone too): taken in again, once,
	// idempotently; still no copy.
	st2 := memstore.New()
	if res, err := newMemSyncer(t, srv, st2, nil).Sync(context.Background(), nil); err != nil || res.Cases != 8 || res.Kept != 10 {
		t.Errorf("fresh database: %+v %v", res, err)
	}
	if srv.Count("INBOX") != 10 || srv.Count("Übernommen")+srv.Count("Zur Sichtung") != 0 {
		t.Errorf("after a fresh database: inbox %d, Übernommen %d, Zur Sichtung %d", srv.Count("INBOX"), srv.Count("Übernommen"), srv.Count("Zur Sichtung"))
	}
}

func TestSyncErrors(t *testing.T) {
	srv := startMem(t, nil)
	appendAll(t, srv, portaltest.New(9).Antrag(portaltest.AntragSpec{}).Raw)
	st := memstore.New()

	s := newMemSyncer(t, srv, st, nil)
	s.Password = func() (string, error) { return "falsch", nil }
	_, err := s.Sync(context.Background(), nil)
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "Anmeldung") || !strings.Contains(msg, "abgelehnt") || strings.Contains(msg, "falsch") {
		t.Errorf("login refused: %q", msg)
	}
	if len(st.Cases) != 0 || srv.Count("INBOX") != 1 {
		t.Error("something written")
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()
	cfg := memConfig(srv)
	cfg.IMAP.Address = down
	s = newMemSyncer(t, srv, st, cfg)
	_, err = s.Sync(context.Background(), nil)
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "nicht erreichbar") {
		t.Errorf("server down: %q", msg)
	}
	ls, _ := s.LastState(context.Background())
	if ls == nil || !strings.Contains(ls.LastError, "nicht erreichbar") {
		t.Errorf("state %+v", ls)
	}

	for _, c := range []struct {
		mutate func(*app.Config)
		want   string
	}{
		{func(c *app.Config) { c.IMAP.Address = "imap.example.de:143"; c.IMAP.TLS = "none" }, "nur für einen Server auf diesem Rechner"},
		{func(c *app.Config) { c.IMAP.TLS = "ssl" }, "unbekannt"},
		{func(c *app.Config) { c.IMAP.Address = "" }, "nicht eingerichtet"},
		{func(c *app.Config) { c.Portal.PublicKey = "" }, "public_key"},
		{func(c *app.Config) { c.Portal.PublicKey = "abc" }, "kein gültiger"},
		{func(c *app.Config) { c.Portal.PublicKey = "AAAA" }, "kein gültiger"}, // 3 bytes
		// 32 bytes, but no point of the curve: no signature could ever verify.
		{func(c *app.Config) { c.Portal.PublicKey = "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }, "kein gültiger"},
		{func(c *app.Config) { c.IMAP.ReviewMailbox = "INBOX" }, "verschiedene"},
	} {
		cfg := memConfig(srv)
		c.mutate(cfg)
		if _, err := New(cfg, st, testReg, nil); err == nil || !strings.Contains(app.ErrorMessage(err), c.want) {
			t.Errorf("config error %v, want %q", err, c.want)
		}
	}
	// Password: the environment variable, else the keyring; never empty.
	cfg = memConfig(srv)
	cfg.IMAP.PasswordEnv = "AMTSTRESEN_TEST_PW"
	t.Setenv("AMTSTRESEN_TEST_PW", srv.Password)
	s, _ = New(cfg, st, testReg, nil)
	if _, err := s.Sync(context.Background(), nil); err != nil {
		t.Errorf("password from env: %v", err)
	}
	t.Setenv("AMTSTRESEN_TEST_PW", "")
	cfg.IMAP.Username = "niemand-" + t.Name()
	s, _ = New(cfg, st, testReg, nil)
	if _, err := s.Sync(context.Background(), nil); !strings.Contains(app.ErrorMessage(err), "Kein Passwort") {
		t.Errorf("no password: %v", err)
	}
}

// selfSigned returns a server certificate for 127.0.0.1 and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test-CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestSyncTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	srv := startMem(t, &portaltest.MemOptions{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	appendAll(t, srv, portaltest.New(10).Antrag(portaltest.AntragSpec{}).Raw)
	st := memstore.New()
	cfg := memConfig(srv)
	cfg.IMAP.TLS = mailbox.TLSImplicit
	_, err := newMemSyncer(t, srv, st, cfg).Sync(context.Background(), nil)
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "Zertifikat") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	if len(st.Cases) != 0 {
		t.Fatal("case taken in over an unverified connection")
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, caPEM, 0o600)
	cfg.IMAP.CAFile = ca
	if _, err := newMemSyncer(t, srv, st, cfg).Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(st.Cases) != 1 {
		t.Errorf("%d cases", len(st.Cases))
	}
}

func TestSyncStartTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
	srv := startMem(t, &portaltest.MemOptions{StartTLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	appendAll(t, srv, portaltest.New(12).Antrag(portaltest.AntragSpec{}).Raw)
	st := memstore.New()
	cfg := memConfig(srv)
	cfg.IMAP.TLS = mailbox.TLSStart
	if _, err := newMemSyncer(t, srv, st, cfg).Sync(context.Background(), nil); !strings.Contains(app.ErrorMessage(err), "Zertifikat") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, caPEM, 0o600)
	cfg.IMAP.CAFile = ca
	if _, err := newMemSyncer(t, srv, st, cfg).Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(st.Cases) != 1 {
		t.Errorf("%d cases", len(st.Cases))
	}
}

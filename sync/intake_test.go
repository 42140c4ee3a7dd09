package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync/delivery"
	"amtstresen/sync/internal/memstore"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

// The tests of issue 12: what a mail is and what it does is decided by
// its content and its signed part, never by a header the sender chooses.

func readRepro(t testing.TB, name string) []byte {
	t.Helper()
	return readTestdata(t, "repro", name)
}

// readTestdata reads testdata/dir/name.
func readTestdata(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openSQLite(t testing.TB) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// stores runs fn against the in-memory store and the real SQLite store.
func stores(t *testing.T, fn func(t *testing.T, st Store)) {
	t.Run("memstore", func(t *testing.T) { fn(t, memstore.New()) })
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLite(t)) })
}

func mustSync(t *testing.T, s *Syncer) *Result {
	t.Helper()
	res, err := s.Sync(context.Background(), nil)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return res
}

func reviewItems(t *testing.T, st Store) []app.ReviewItem {
	t.Helper()
	items, err := st.ReviewItems(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// TestIdentityIsContent (point 1): an unsigned mail carrying the
// Message-ID of a later genuine delivery does not make that delivery
// vanish (repro/msgid-*), and different mails with one Message-ID are as
// many entries on the review list as there are mails in "Zur Sichtung".
func TestIdentityIsContent(t *testing.T) {
	stores(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		srv := startMem(t, nil)
		appendAll(t, srv, readRepro(t, "msgid-1-unsigned-same-message-id.eml"), readRepro(t, "msgid-2-genuine.eml"))
		res := mustSync(t, newMemSyncer(t, srv, st, nil))
		if res.Cases != 1 || res.Review != 1 || res.Recovered != 0 {
			t.Errorf("result %+v", res)
		}
		if c, err := st.CaseByPortalID(ctx, "753a60ee-85a5-45bc-9e1a-559a817f3f9d"); err != nil || c.Service != "plakatierung" {
			t.Errorf("the genuine delivery is no case: %v", err)
		}
		items := reviewItems(t, st)
		if len(items) != 1 || items[0].MessageID != "74617fde18ace9b32958@mail.cochem-zell-online.de" || items[0].Reason != app.ReviewNotPortal {
			t.Errorf("review list %+v", items)
		}
		if srv.Count("INBOX") != 0 || srv.Count("Übernommen") != 1 || srv.Count("Zur Sichtung") != 1 {
			t.Errorf("folders: inbox %d, Übernommen %d, Zur Sichtung %d", srv.Count("INBOX"), srv.Count("Übernommen"), srv.Count("Zur Sichtung"))
		}

		// Bounces and third-party mail with one Message-ID, different
		// content, and a byte-identical copy of one of them: every
		// different mail has its own entry.
		srv2 := startMem(t, nil)
		var raws [][]byte
		for i := range 3 {
			raws = append(raws, []byte(fmt.Sprintf("From: mailer-daemon@example.net\r\nSubject: Unzustellbar %d\r\nMessage-ID: <gleich@example.net>\r\n\r\nText %d\r\n", i, i)))
		}
		raws = append(raws, raws[0])
		appendAll(t, srv2, raws...)
		if err := st.SaveSyncState(ctx, &app.SyncState{Mailbox: "INBOX"}); err != nil {
			t.Fatal(err)
		}
		mustSync(t, newMemSyncer(t, srv2, st, nil))
		subjects := map[string]bool{}
		for _, it := range reviewItems(t, st) {
			if it.MessageID == "gleich@example.net" {
				subjects[it.Subject] = true
			}
		}
		if len(subjects) != 3 || srv2.Count("Zur Sichtung") != 4 {
			t.Errorf("%d review entries for 3 different mails (%v); Zur Sichtung holds %d", len(subjects), subjects, srv2.Count("Zur Sichtung"))
		}
	})
}

// TestSignedKindDecides (point 2): the signed part decides what a mail
// does. A signed antrag.json re-sent as a withdrawal (repro/swap-*) is
// payload-invalid and the case stays; a signed message re-sent as a
// withdrawal only flags the case in format 1 and is refused in format 2;
// a format-2 withdrawal (examples/13) withdraws.
func TestSignedKindDecides(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	srv := startMem(t, nil)
	s := newMemSyncer(t, srv, st, nil)
	const swapped = "21636369-8b52-4b4a-97b7-50923ceb3ffd"

	appendAll(t, srv, readRepro(t, "swap-1-antrag.eml"), readRepro(t, "swap-2-antrag-replayed-as-ruecknahme.eml"))
	res := mustSync(t, s)
	c, err := st.CaseByPortalID(ctx, swapped)
	if err != nil || c.Status != app.StatusReceived || len(c.Flags) != 0 {
		t.Fatalf("the replayed antrag changed the case: %+v %v", c, err)
	}
	items := reviewItems(t, st)
	if res.Review != 1 || len(items) != 1 || items[0].Reason != app.ReviewPayloadInvalid || !strings.Contains(items[0].Detail, "Form eines Antrags") {
		t.Fatalf("swap-2 on the review list: %+v (%+v)", items, res)
	}

	// Format 1: a citizen's message re-sent as a withdrawal has the same
	// signed part as a real one; it is never applied by itself.
	g := portaltest.New(41)
	a1 := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
	n1 := g.Nachricht(a1.Vorgang, "Wann wird abgeholt?")
	appendAll(t, srv, a1.Raw, n1.Raw, g.Relabel(n1, "ruecknahme").Raw)
	res = mustSync(t, s)
	c1, _ := st.CaseByPortalID(ctx, a1.Vorgang)
	if res.Unconfirmed != 1 || res.Withdrawals != 0 || c1.Status != app.StatusReceived || !c1.HasFlag(app.FlagWithdrawalUnconfirmed) {
		t.Errorf("format 1 relabelled message: %+v, case %s %v", res, c1.Status, c1.Flags)
	}

	// Format 2: the signed part names its kind; a relabelled message is
	// refused, and so is a header that names another case or no kind.
	g2 := portaltest.New(42)
	g2.Version = 2
	a2 := g2.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
	n2 := g2.Nachricht(a2.Vorgang, "Bitte vorher anrufen.")
	otherCase := &portaltest.Mail{Raw: portaltest.SetHeader(g2.Resend(n2).Raw, "X-Buergerportal-Vorgang", c.PortalCase)}
	asV1 := &portaltest.Mail{Raw: portaltest.SetHeader(g2.Relabel(n2, "ruecknahme").Raw, "X-Buergerportal-Version", "1")}
	appendAll(t, srv, a2.Raw, n2.Raw, g2.Relabel(n2, "ruecknahme").Raw, otherCase.Raw, asV1.Raw)
	res = mustSync(t, s)
	c2, _ := st.CaseByPortalID(ctx, a2.Vorgang)
	if res.Cases != 1 || res.Messages != 1 || res.Review != 3 || res.Withdrawals+res.Unconfirmed != 0 || c2.Status != app.StatusReceived || len(c2.Flags) != 0 {
		t.Errorf("format 2: %+v, case %s %v", res, c2.Status, c2.Flags)
	}
	var details []string
	for _, it := range reviewItems(t, st) {
		if it.Reason == app.ReviewPayloadInvalid {
			details = append(details, it.Detail)
		}
	}
	joined := strings.Join(details, " | ")
	if !strings.Contains(joined, "als „nachricht“ signiert, die Kopfzeile X-Buergerportal-Art sagt „ruecknahme“") ||
		!strings.Contains(joined, "Vorgang in Kopfzeile und nachricht.json verschieden") {
		t.Errorf("details: %s", joined)
	}

	// The format-2 withdrawal of example 13 withdraws the case of swap-1.
	v2, err := os.ReadFile(filepath.Join("testdata", "v2", "13-ruecknahme-v2.eml"))
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, srv, v2)
	res = mustSync(t, s)
	if c, _ := st.CaseByPortalID(ctx, swapped); res.Withdrawals != 1 || c.Status != app.StatusWithdrawn {
		t.Errorf("format-2 withdrawal: %+v, case %s", res, c.Status)
	}
	if d := delivery.ParseDelivery(v2, portaltest.TestPublicKey(), delivery.Limits{}); d.Version != 2 || d.Kind != delivery.KindRuecknahme || d.Review != "" {
		t.Errorf("example 13 parsed as %+v", d)
	}
}

// otherKey is a valid portal key that is not the test key's.
func otherKey(t *testing.T) string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pub)
}

// TestJudgedAgain (point 4): mails rejected under a wrong portal key and
// moved back to the inbox after the key was corrected are taken in, and
// their review entries are resolved with a note.
func TestJudgedAgain(t *testing.T) {
	stores(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		g := portaltest.New(43)
		a := g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"})
		n := g.Nachricht(a.Vorgang, "Nachtrag")
		srv := startMem(t, nil)
		appendAll(t, srv, a.Raw, n.Raw)
		wrong := memConfig(srv)
		wrong.Portal.PublicKey = otherKey(t)
		res := mustSync(t, newMemSyncer(t, srv, st, wrong))
		if res.Review != 2 || res.Cases != 0 || srv.Count("Zur Sichtung") != 2 {
			t.Fatalf("under the wrong key: %+v", res)
		}
		// The admin corrects the key and moves both back to the inbox.
		appendAll(t, srv, a.Raw, n.Raw)
		res = mustSync(t, newMemSyncer(t, srv, st, nil))
		if res.Cases != 1 || res.Messages != 1 || res.Recovered != 0 {
			t.Errorf("after moving back: %+v (%s)", res, res.Summary())
		}
		c, err := st.CaseByPortalID(ctx, a.Vorgang)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range reviewItems(t, st) {
			if !it.Handled || it.Resolution != "case:"+c.Ref || it.Note == "" {
				t.Errorf("review entry %d (%s) not resolved: handled=%v resolution=%q note=%q", it.ID, it.Reason, it.Handled, it.Resolution, it.Note)
			}
		}
		if srv.Count("INBOX") != 0 || srv.Count("Übernommen") != 2 {
			t.Errorf("folders: inbox %d, Übernommen %d", srv.Count("INBOX"), srv.Count("Übernommen"))
		}
	})
}

// TestMessageBeforeApplication (point 4): a message that arrives before
// its application is taken in as soon as the case exists, in the same run
// or a later one, and its review entry is resolved.
func TestMessageBeforeApplication(t *testing.T) {
	stores(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		g := portaltest.New(44)
		srv := startMem(t, nil)
		s := newMemSyncer(t, srv, st, nil)
		// A later run.
		a := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
		appendAll(t, srv, g.Nachricht(a.Vorgang, "Vorab: bitte klingeln").Raw)
		if res := mustSync(t, s); res.Review != 1 {
			t.Fatalf("first run %+v", res)
		}
		appendAll(t, srv, a.Raw)
		res := mustSync(t, s)
		if res.Cases != 1 || res.Retried != 1 {
			t.Errorf("second run %+v (%s)", res, res.Summary())
		}
		// The same run, in the wrong order.
		b := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
		appendAll(t, srv, g.Nachricht(b.Vorgang, "Vorab 2").Raw, b.Raw)
		if res := mustSync(t, s); res.Cases != 1 || res.Retried != 1 {
			t.Errorf("one run: %+v", res)
		}
		for _, v := range []string{a.Vorgang, b.Vorgang} {
			if _, err := st.CaseByPortalID(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if ms, ok := st.(*memstore.Store); ok && len(ms.Messages) != 2 {
			t.Errorf("%d messages stored, want 2", len(ms.Messages))
		}
		if db, ok := st.(*storage.DB); ok {
			for _, v := range []string{a.Vorgang, b.Vorgang} {
				c, _ := db.CaseByPortalID(ctx, v)
				notes, _ := db.Notes(ctx, c.Ref)
				if len(notes) != 1 || notes[0].Kind != "message" {
					t.Errorf("case %s: notes %+v", c.Ref, notes)
				}
			}
		}
		for _, it := range reviewItems(t, st) {
			if !it.Handled {
				t.Errorf("review entry %+v still open", it)
			}
		}
		// Nothing is retried twice.
		if res := mustSync(t, s); res.Retried != 0 || res.Messages != 0 {
			t.Errorf("a run without news: %+v", res)
		}
	})
}

// TestImplausibleValues (point 9): the reference number's year comes
// from the office's receipt, never from the citizen's data; implausible
// dates flag the case; an absurd end, an unknown time zone (also
// "Local") and an absurd SEQUENCE send a booking to review.
func TestImplausibleValues(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	srv := startMem(t, nil)
	s := newMemSyncer(t, srv, st, nil)
	g := portaltest.New(45)
	a := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell", Extra: map[string]any{"eingereicht": "9999-12-31T23:00:00+01:00"}})
	born := g.Applicant()
	born.BirthDate = "1850-01-01"
	b := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell", Applicant: &born})
	ok := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	far, _ := g.Termin(portaltest.TerminSpec{Start: start, End: time.Date(9999, 12, 31, 10, 0, 0, 0, app.Berlin)})
	local, _ := g.Termin(portaltest.TerminSpec{Start: start, TZID: "Local"})
	mars, _ := g.Termin(portaltest.TerminSpec{Start: start, TZID: "Mars/Olympus_Mons"})
	seq, _ := g.Termin(portaltest.TerminSpec{Start: start, SequenceText: "9223372036854775807"})
	late, _ := g.Termin(portaltest.TerminSpec{Start: time.Date(2099, 3, 1, 9, 0, 0, 0, app.Berlin)})
	fine, _ := g.Termin(portaltest.TerminSpec{Start: start})
	appendAll(t, srv, a.Raw, b.Raw, ok.Raw, far.Raw, local.Raw, mars.Raw, seq.Raw, late.Raw, fine.Raw)
	res := mustSync(t, s)
	if res.Cases != 3 || res.Appointments != 1 || res.Review != 5 {
		t.Errorf("result %+v", res)
	}
	year := fmt.Sprint(time.Now().In(app.Berlin).Year())
	for m, flagged := range map[*portaltest.Mail]bool{a: true, b: true, ok: false} {
		c, err := st.CaseByPortalID(ctx, m.Vorgang)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(c.Ref, "-"+year+"-") || c.ReceivedAt.Year() > time.Now().Year() {
			t.Errorf("case %s received %v: the year is not the office's", c.Ref, c.ReceivedAt)
		}
		if c.HasFlag(app.FlagDateImplausible) != flagged {
			t.Errorf("case %s flags %v, want date-implausible=%v", c.Ref, c.Flags, flagged)
		}
	}
	want := map[string]string{far.MessageID: "endet am 31.12.9999", local.MessageID: "unbekannte Zeitzone „Local“",
		mars.MessageID: "unbekannte Zeitzone", seq.MessageID: "SEQUENCE 9223372036854775807 unplausibel",
		late.MessageID: "Termin am 01.03.2099 liegt außerhalb des plausiblen Zeitraums"}
	for _, it := range reviewItems(t, st) {
		if w, ok := want[it.MessageID]; !ok || it.Reason != app.ReviewPayloadInvalid || !strings.Contains(it.Detail, w) {
			t.Errorf("review %s: %s %q, want %q", it.MessageID, it.Reason, it.Detail, w)
		}
	}
}

// TestMailboxNamesCompareAsTheServer (point 10): INBOX in any spelling is
// the inbox.
func TestMailboxNamesCompareAsTheServer(t *testing.T) {
	for _, c := range []struct{ mailbox, processed, review string }{
		{"INBOX", "inbox", "Zur Sichtung"}, {"INBOX", "Übernommen", "Inbox"}, {"inbox", "INBOX", "x"}, {"INBOX", "A", "A"},
	} {
		cfg := &app.Config{IMAP: app.IMAPConfig{Address: "127.0.0.1:143", TLS: mailbox.TLSNone, Username: "u", Mailbox: c.mailbox,
			ProcessedMailbox: c.processed, ReviewMailbox: c.review}, Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
		if _, err := New(cfg, memstore.New(), testReg, nil); err == nil || !strings.Contains(app.ErrorMessage(err), "drei verschiedene Ordner") {
			t.Errorf("%+v accepted: %v", c, err)
		}
	}
}

// TestPortalSizedApplications (point 11): an application with 99
// attachments is a case, not malformed; a mail with CR-only line ends
// shows its subject and sender on the review list.
func TestPortalSizedApplications(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	srv := startMem(t, nil)
	g := portaltest.New(46)
	var files []portaltest.File
	for i := range 99 {
		files = append(files, portaltest.File{Name: fmt.Sprintf("seite-%02d.jpg", i+1), Type: "image/jpeg", Data: g.JPEG(200 + i)})
	}
	a := g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden", Files: files, WithPDF: true})
	cr := []byte(strings.ReplaceAll("From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@example.org>\r\nSubject: =?utf-8?q?Frage_zur_Hundesteuer?=\r\nMessage-ID: <cr@example.org>\r\n\r\nHallo,\r\nwie hoch ist sie?\r\n", "\r\n", "\r"))
	appendAll(t, srv, a.Raw, cr)
	res := mustSync(t, newMemSyncer(t, srv, st, nil))
	c, err := st.CaseByPortalID(ctx, a.Vorgang)
	if err != nil || len(c.Attachments) != 99 || len(c.Flags) != 0 || res.Cases != 1 {
		t.Fatalf("99 attachments: %v, %+v", err, res)
	}
	items := reviewItems(t, st)
	if len(items) != 1 || items[0].Subject != "Frage zur Hundesteuer" || items[0].From != "Jörg Müller <j@example.org>" || items[0].Reason != app.ReviewNotPortal {
		t.Errorf("CR-only mail on the review list: %+v", items)
	}
}

// TestCaps (point 8): what is over a cap goes to review as too-large with
// the cap named; nothing of it is decoded into a case.
func TestCaps(t *testing.T) {
	g := portaltest.New(47)
	pub := portaltest.TestPublicKey()
	huge := g.Applicant()
	huge.LastName = strings.Repeat("x", 10<<20)
	long := g.Applicant()
	long.FirstName = strings.Repeat("é", 3000)
	manyAnnounced := make([]any, 100000)
	for i := range manyAnnounced {
		manyAnnounced[i] = map[string]any{"datei": "a.jpg"}
	}
	fiveHundredOne := make([]any, 501)
	for i := range fiveHundredOne {
		fiveHundredOne[i] = map[string]any{"datei": fmt.Sprint(i)}
	}
	items := make([]any, 1001)
	for i := range items {
		items[i] = 1
	}
	deep := json.RawMessage(strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40))
	var nested strings.Builder
	nested.WriteString("{")
	for i := 0; nested.Len() < 2<<20; i++ {
		if i > 0 {
			nested.WriteString(",")
		}
		fmt.Fprintf(&nested, `"k%d":{}`, i)
	}
	nested.WriteString("}")
	for name, c := range map[string]struct {
		m    *portaltest.Mail
		want string
	}{
		"10 MB name":            {g.Antrag(portaltest.AntragSpec{Applicant: &huge}), "antrag.json ist"},
		"long name":             {g.Antrag(portaltest.AntragSpec{Applicant: &long}), "antragsteller.vorname ist 6000 Bytes lang (Grenze 4096)"},
		"100,000 announced":     {g.Antrag(portaltest.AntragSpec{Extra: map[string]any{"anlagen": manyAnnounced}}), "antrag.json ist"},
		"501 announced":         {g.Antrag(portaltest.AntragSpec{NoFiles: true, Extra: map[string]any{"anlagen": fiveHundredOne}}), "501 Anlagen an (Grenze 500)"},
		"list of 1001":          {g.Antrag(portaltest.AntragSpec{Service: "sperrmuell", Angaben: map[string]any{"gegenstaende": items}}), "angaben.gegenstaende[] hat mehr als 1000 Einträge"},
		"40 levels":             {g.Antrag(portaltest.AntragSpec{Extra: map[string]any{"tief": deep}}), "mehr als 32 Ebenen"},
		"2 MB of empty objects": {g.Antrag(portaltest.AntragSpec{Extra: map[string]any{"angaben": json.RawMessage(nested.String())}}), "antrag.json ist"},
		"message text of 70 KB": {g.Nachricht(g.UUID(), strings.Repeat("a", 70<<10)), "text ist 71680 Bytes lang (Grenze 65536)"},
		"calendar line of 70 KB": {func() *portaltest.Mail {
			m, _ := g.Termin(portaltest.TerminSpec{Name: strings.Repeat("b", 70<<10)})
			return m
		}(), "termin.ics: eine Zeile ist länger als 65536 Bytes"},
	} {
		d := delivery.ParseDelivery(c.m.Raw, pub, delivery.Limits{})
		if d.Review != app.ReviewTooLarge || !strings.Contains(d.Detail, c.want) || d.Antrag != nil || d.Message != nil || d.Payload != nil {
			t.Errorf("%s: review %q %q, want too-large %q", name, d.Review, d.Detail, c.want)
		}
		if strings.Contains(d.Detail, "xxxx") || strings.Contains(d.Detail, "éé") {
			t.Errorf("%s: the detail quotes the content: %q", name, d.Detail)
		}
	}
	// Just under the caps: accepted.
	ok := g.Applicant()
	ok.FirstName = strings.Repeat("x", 4000)
	for name, m := range map[string]*portaltest.Mail{
		"name of 4000 bytes":    g.Antrag(portaltest.AntragSpec{Applicant: &ok}),
		"message text of 60 KB": g.Nachricht(g.UUID(), strings.Repeat("a", 60<<10)),
	} {
		if d := delivery.ParseDelivery(m.Raw, pub, delivery.Limits{}); d.Review != "" {
			t.Errorf("%s: %s %s", name, d.Review, d.Detail)
		}
	}
}

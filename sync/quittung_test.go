package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync/portalsim"
	"amtstresen/sync/portaltest"
	"amtstresen/sync/rueckkanal"
)

// TestQuittungIntakeSQLite: a portal application taken in queues its
// "eingegangen" message; the portal's signed quittung for it, synced from
// the mailbox, sets the message to "im Servicekonto" with the mail's
// receipt. The same quittung twice (a byte copy and a second mail with the
// same content) has one effect; a quittung for a message not known here
// goes to the review list as quittung-unknown, a forged one (another key)
// as signature-invalid, and neither changes anything.
func TestQuittungIntakeSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "a.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := portaltest.New(16)
	a := g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"})
	srv := startMem(t, nil)
	appendAll(t, srv, a.Raw)
	s := newMemSyncer(t, srv, db, nil)
	s.Quittungen = db
	if _, err := s.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	msgs, err := db.OutboxMessages(ctx, app.OutboxFilter{})
	if err != nil || len(msgs) != 1 || msgs[0].Status != app.PortalReceived || msgs[0].State != app.OutboxQueued {
		t.Fatalf("outbox after the application: %+v, %v", msgs, err)
	}
	m := msgs[0]
	msgID := rueckkanal.MessageIDFor(m.Nachricht, "buergerportal@cochem.example")
	quittung := func(nachricht, ergebnis string, key ed25519.PrivateKey) []byte {
		q := &rueckkanal.Quittung{Schema: rueckkanal.QuittungSchema, Art: "quittung", Vorgang: m.PortalCase, Nachricht: nachricht,
			MessageID: "<" + msgID + ">", Ergebnis: rueckkanal.Ergebnis(ergebnis), Zeitpunkt: rueckkanal.FormatTime(time.Now())}
		raw, err := portalsim.ComposeQuittung(q, key, portalsim.DefaultFrom, portalsim.DefaultTo, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	// The sender stores the composed bytes (and so the Message-ID) first.
	if _, err := db.StoreComposed(ctx, m.Nachricht, msgID, []byte("From: x\r\n\r\nstatus")); err != nil {
		t.Fatal(err)
	}
	good := quittung(m.Nachricht, "servicekonto", portaltest.TestKey())
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	appendAll(t, srv, good, good,
		quittung(m.Nachricht, "servicekonto", portaltest.TestKey()), // same quittung in another mail
		quittung("0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4a11", "servicekonto", portaltest.TestKey()),
		quittung(m.Nachricht, "unzustellbar", otherKey))
	res, err := s.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Quittungen != 2 || res.Recovered != 1 || res.Review != 2 {
		t.Errorf("result %+v: want 2 quittungen (one a repeat), 1 byte copy filed, 2 to review", res)
	}
	msgs, _ = db.OutboxMessages(ctx, app.OutboxFilter{})
	if len(msgs) != 1 || msgs[0].State != app.OutboxServicekonto || msgs[0].ReceiptAt.IsZero() {
		t.Errorf("message after the quittung: %+v", msgs)
	}
	c, _ := db.CaseByRef(ctx, m.Ref)
	for _, f := range c.Flags {
		if f == app.FlagCitizenUnreachable {
			t.Error("the forged quittung flagged the case")
		}
	}
	reviews, _ := db.ReviewItems(ctx, false)
	reasons := map[app.ReviewReason]string{}
	for _, r := range reviews {
		reasons[r.Reason] = r.Detail
	}
	if d, ok := reasons[app.ReviewQuittungUnknown]; !ok || !strings.Contains(d, "nicht bekannt") {
		t.Errorf("unknown quittung: reviews %v", reasons)
	}
	if _, ok := reasons[app.ReviewSignatureInvalid]; !ok || len(reviews) != 2 {
		t.Errorf("forged quittung: reviews %v", reasons)
	}
	if srv.Count("INBOX") != 0 || srv.Count("Übernommen") != 4 || srv.Count("Zur Sichtung") != 2 {
		t.Errorf("inbox %d, Übernommen %d, Zur Sichtung %d", srv.Count("INBOX"), srv.Count("Übernommen"), srv.Count("Zur Sichtung"))
	}
}

// TestQuittungWithoutOutbox: a sync that was given no outbox store
// (Syncer.Quittungen nil) takes nothing of a quittung in: it goes to the
// review list with the reason, and is filed there.
func TestQuittungWithoutOutbox(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "a.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := &rueckkanal.Quittung{Schema: rueckkanal.QuittungSchema, Art: "quittung", Vorgang: rueckkanal.NewUUID(), Nachricht: rueckkanal.NewUUID(),
		MessageID: "<status.x@cochem.example>", Ergebnis: rueckkanal.ErgebnisServicekonto, Zeitpunkt: rueckkanal.FormatTime(time.Now())}
	raw, err := portalsim.ComposeQuittung(q, portaltest.TestKey(), portalsim.DefaultFrom, portalsim.DefaultTo, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := startMem(t, nil)
	appendAll(t, srv, raw)
	res, err := newMemSyncer(t, srv, db, nil).Sync(ctx, nil)
	if err != nil || res.Review != 1 || res.Quittungen != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	reviews, _ := db.ReviewItems(ctx, false)
	if len(reviews) != 1 || !strings.Contains(reviews[0].Detail, "nicht eingerichtet") || srv.Count("Zur Sichtung") != 1 {
		t.Errorf("reviews %+v", reviews)
	}
}

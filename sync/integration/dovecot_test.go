package integration

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"amtstresen/app"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/portaltest"
)

func TestDovecotExamples(t *testing.T) {
	d := dovecottest.Start(t)
	ex := examples(t)
	for _, name := range []string{"01-antrag-hund-anmelden.eml", "02-antrag-hund-anmelden-erneut.eml", "03-antrag-sperrmuell.eml",
		"04-antrag-eigentuemerwechsel.eml", "05-termin-kfz-zulassung.eml", "06-termin-kfz-verschoben.eml", "07-termin-kfz-abgesagt.eml",
		"08-nachricht.eml", "09-antrag-plakatierung.eml", "10-ruecknahme.eml", "11-buergeranfrage.eml"} {
		save(t, d, ex[name])
	}
	st := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	res := mustSync(t, newSyncer(t, d, st))
	if res.Cases != 4 || res.Duplicates != 1 || res.Review != 1 || res.Messages != 1 || res.Unconfirmed != 1 || res.Appointments != 3 {
		t.Errorf("result %+v", res)
	}
	checkExamples(t, st)
	if in, p, r := counts(t, d); in != 0 || p != 10 || r != 1 {
		t.Errorf("folders: inbox %d, processed %d, review %d", in, p, r)
	}
	ids, _ := d.MessageIDs("Zur Sichtung")
	if len(ids) != 1 || ids[0] != "a1b2c3d4e5@example.org" {
		t.Errorf("review folder %v", ids)
	}
	// Every example again (a restored backup, say): nothing new.
	for _, b := range ex {
		save(t, d, b)
	}
	res = mustSync(t, newSyncer(t, d, st))
	if res.Cases != 0 || res.Review != 0 || res.Recovered != 11 {
		t.Errorf("second pass %+v", res)
	}
	checkExamples(t, st)
}

// checkExamples checks the store after the eleven examples, through the
// store interface only. The withdrawal (10) is in format 1 and only flags
// its case for a clerk to confirm.
func checkExamples(t *testing.T, st app.Store) {
	t.Helper()
	ctx := context.Background()
	if n, err := st.CountCases(ctx, app.CaseFilter{}); err != nil || n != 4 {
		t.Errorf("%d cases (%v), want 4", n, err)
	}
	for id, w := range map[string]struct {
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
	} {
		c, err := st.CaseByPortalID(ctx, id)
		if err != nil || c == nil {
			t.Errorf("case %s: %v", id, err)
			continue
		}
		if c.Service != w.service || c.Office != w.office || c.Status != w.status || len(c.Attachments) != w.files || !slices.Equal(c.Flags, w.flags) || c.Channel != app.ChannelPortal {
			t.Errorf("case %s: %s %s %s files=%d flags=%v", id, c.Service, c.Office, c.Status, len(c.Attachments), c.Flags)
		}
	}
	a, err := st.Appointment(ctx, "74b77472-1431-492a-8f9e-a47c4655af32@cochem-zell-online.de")
	if err != nil || a.Status != app.AppointmentCancelled || a.Sequence != 2 || a.Office != app.OfficeKreis || a.Service != "kfz-zulassung" {
		t.Errorf("appointment %+v %v", a, err)
	}
	items, err := st.ReviewItems(ctx, true)
	if err != nil || len(items) != 1 || items[0].Reason != app.ReviewNotPortal || items[0].MessageID != "a1b2c3d4e5@example.org" {
		t.Errorf("review %+v %v", items, err)
	}
}

func TestDovecotMix(t *testing.T) {
	d := dovecottest.Start(t)
	g := portaltest.New(21)
	mails := g.Mix(60)
	var raws [][]byte
	for _, m := range mails {
		raws = append(raws, m.Raw)
	}
	if err := d.FillInbox(raws); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	s := newSyncer(t, d, st)
	s.BatchSize = 16
	res := mustSync(t, s)
	wantReview := 1 // the message for an unknown case
	for _, m := range mails {
		if m.Review != "" {
			wantReview++
		}
	}
	in, p, r := counts(t, d)
	if in != 0 || r != wantReview || p != len(mails)-wantReview || res.Review != wantReview {
		t.Errorf("folders inbox %d processed %d review %d (want review %d); result %+v", in, p, r, wantReview, res)
	}
	items, _ := st.ReviewItems(context.Background(), true)
	reasons := map[string]app.ReviewReason{}
	for _, it := range items {
		reasons[it.MessageID] = it.Reason
	}
	for _, m := range mails {
		if m.Review != "" && reasons[m.MessageID] != m.Review {
			t.Errorf("%s: reason %q, want %q", m.MessageID, reasons[m.MessageID], m.Review)
		}
		if m.Kind == "antrag" && m.Review == "" {
			c, err := st.CaseByPortalID(context.Background(), m.Vorgang)
			if err != nil {
				t.Errorf("no case %s: %v", m.Vorgang, err)
				continue
			}
			for _, f := range m.Flags {
				if !c.HasFlag(f) {
					t.Errorf("case %s lacks %s", c.Ref, f)
				}
			}
		}
	}
}

func TestDovecotUIDValidityChanged(t *testing.T) {
	d := dovecottest.Start(t)
	g := portaltest.New(22)
	var first []*portaltest.Mail
	for i := 0; i < 5; i++ {
		m := g.Antrag(portaltest.AntragSpec{})
		first = append(first, m)
		save(t, d, m.Raw)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	s := newSyncer(t, d, st)
	mustSync(t, s)
	before, _ := st.SyncState(context.Background(), "INBOX")
	if before == nil || before.LastUID != 5 {
		t.Fatalf("state %+v", before)
	}
	// The server's mailbox is rebuilt: UIDs start at 1 again under a new
	// UIDVALIDITY, and a restored backup brings back three old mails.
	d.Kill()
	var raws [][]byte
	for _, m := range first[:3] {
		raws = append(raws, m.Raw)
	}
	n1, n2 := g.Antrag(portaltest.AntragSpec{}), g.Nachricht(first[4].Vorgang, "Noch eine Frage")
	raws = append(raws, n1.Raw, n2.Raw)
	if err := removeIndexes(d.Maildir()); err != nil {
		t.Fatal(err)
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := d.FillInbox(raws); err != nil {
		t.Fatal(err)
	}
	if err := d.SetUIDValidity("INBOX", 777); err != nil {
		t.Fatal(err)
	}
	res := mustSync(t, newSyncer(t, d, st))
	after, _ := st.SyncState(context.Background(), "INBOX")
	if after.UIDValidity != 777 {
		t.Errorf("uidvalidity %d", after.UIDValidity)
	}
	if res.Cases != 1 || res.Messages != 1 || res.Recovered != 3 {
		t.Errorf("result %+v", res)
	}
	if n, _ := st.CountCases(context.Background(), app.CaseFilter{}); n != 6 {
		t.Errorf("%d cases, want 6", n)
	}
	if in, p, _ := counts(t, d); in != 0 || p != 10 {
		t.Errorf("inbox %d processed %d", in, p)
	}
}

func TestDovecotServerDownAndLoginRefused(t *testing.T) {
	d := dovecottest.Start(t)
	save(t, d, portaltest.New(23).Antrag(portaltest.AntragSpec{}).Raw)
	st := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	ctx := context.Background()

	s := newSyncer(t, d, st)
	s.Password = func() (string, error) { return "falsches-passwort", nil }
	_, err := s.Sync(ctx, nil)
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "Anmeldung") || !strings.Contains(msg, "abgelehnt") {
		t.Errorf("login refused: %q", msg)
	}
	if n, _ := st.CountCases(ctx, app.CaseFilter{}); n != 0 {
		t.Errorf("%d cases after refused login", n)
	}

	d.Kill()
	s = newSyncer(t, d, st)
	_, err = s.Sync(ctx, nil)
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "nicht erreichbar") {
		t.Errorf("server down: %q", msg)
	}
	state, _ := s.LastState(ctx)
	if state == nil || !strings.Contains(state.LastError, "nicht erreichbar") {
		t.Errorf("state %+v", state)
	}
	if n, _ := st.CountCases(ctx, app.CaseFilter{}); n != 0 {
		t.Errorf("%d cases while down", n)
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	res := mustSync(t, s)
	if res.Cases != 1 {
		t.Errorf("after restart %+v", res)
	}
	state, _ = s.LastState(ctx)
	if state.LastError != "" {
		t.Errorf("error kept: %+v", state)
	}
}

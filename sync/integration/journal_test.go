package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/journal"
	"amtstresen/sync/portaltest"
)

const journalBox = "Amtstresen/Journal"

// portalCases puts n applications in the inbox, lets a take them in (they
// move into the journal) and b, c read them; it returns their references.
func portalCases(t *testing.T, d *dovecottest.Server, g *portaltest.Generator, n int, cs ...*counter) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		m := g.Antrag(portaltest.AntragSpec{NoFiles: i%2 == 0})
		save(t, d, m.Raw)
		ids = append(ids, m.Vorgang)
	}
	res := cs[0].sync(t, true)
	if res.Moved != n || res.Portal.Cases != n {
		t.Fatalf("intake: %+v", res)
	}
	if in := d.MustCount(t, "INBOX"); in != 0 {
		t.Errorf("%d mails left in the inbox", in)
	}
	for _, c := range cs[1:] {
		c.sync(t, false)
	}
	var refs []string
	for _, id := range ids {
		c, err := cs[0].db.CaseByPortalID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, c.Ref)
	}
	return refs
}

// Three counters claim the same case at the same moment: exactly one
// wins, everywhere, and the others are told in German who has it.
func TestJournalConcurrentClaims(t *testing.T) {
	d := dovecottest.Start(t)
	cs := newCounters(t, d, "tresen-1", "tresen-2", "tresen-3")
	refs := portalCases(t, d, portaltest.New(71), 3, cs...)
	ctx := context.Background()
	for round, ref := range refs {
		clerks := []string{"amueller", "bschmitz", "cweber"}
		errs := make([]error, 3)
		var wg gosync.WaitGroup
		start := make(chan struct{})
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = c.sh.Claim(ctx, ref, actor(clerks[i]))
			}()
		}
		close(start)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != "" {
					t.Errorf("round %d: %s and %s both won", round, winner, clerks[i])
				}
				winner = clerks[i]
			case app.ErrorCode(err) != app.ECONFLICT:
				t.Errorf("round %d: %s: %v", round, clerks[i], err)
			}
		}
		if winner == "" {
			t.Fatalf("round %d: nobody won: %v", round, errs)
		}
		for i, err := range errs {
			if err != nil && !strings.Contains(app.ErrorMessage(err), "wird bereits von "+winner+" bearbeitet") {
				t.Errorf("round %d: %s told %q", round, clerks[i], app.ErrorMessage(err))
			}
		}
		for _, c := range cs {
			c.sync(t, false)
			got, err := c.db.CaseByRef(ctx, ref)
			if err != nil || got.Assignee != winner {
				t.Errorf("round %d: %s shows %q as holder (%v), want %s", round, c.name, got.Assignee, err, winner)
			}
		}
		t.Logf("round %d: %s won", round, winner)
	}
	sameQueue(t, cs...)
	// Every claim is in the journal: 3 deliveries + 9 claims.
	if n := d.MustCount(t, journalBox); n != 12 {
		t.Errorf("journal holds %d mails, want 12", n)
	}
}

// A walk-in case taken at one counter appears at the others (through
// IDLE, without their syncing), with the same number; their changes
// come back; a status change illegal after an earlier one is refused.
func TestJournalWalkInSeenEverywhere(t *testing.T) {
	d := dovecottest.Start(t)
	cs := newCounters(t, d, "tresen-1", "tresen-2", "tresen-3")
	a, b, c := cs[0], cs[1], cs[2]
	portalCases(t, d, portaltest.New(72), 2, cs...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := make(chan string, 16)
	b.sh.OnChange = func(*sync.JournalResult) { changed <- "b" }
	go b.sh.Watch(ctx, 0)
	time.Sleep(300 * time.Millisecond) // B is in IDLE

	nc := walkInCase("anmeldung-1", "amueller")
	created, isNew, err := a.sh.CreateCase(ctx, nc, nil)
	if err != nil || !isNew {
		t.Fatalf("create: %v %v", isNew, err)
	}
	if created.Pending() || !strings.HasPrefix(created.Ref, "ZEL-") || strings.Contains(created.Ref, "-V-") {
		t.Fatalf("walk-in case got %q (provisional %q), want a final number at once", created.Ref, created.ProvisionalRef)
	}
	// The same form saved again: the same case.
	if again, isNew, err := a.sh.CreateCase(ctx, nc, nil); err != nil || isNew || again.Ref != created.Ref {
		t.Errorf("saved twice: %v %v %v", again, isNew, err)
	}
	// B learns it by IDLE: poll_seconds is 60, so only IDLE is fast.
	deadline := time.After(10 * time.Second)
	for {
		if got, err := b.db.CaseByRef(ctx, created.Ref); err == nil && got.Service == nc.Service {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("B did not see %s within 10 s", created.Ref)
		}
	}
	c.sync(t, false)
	if got, err := c.db.CaseByRef(ctx, created.Ref); err != nil || got.Channel != app.ChannelCounter || got.Applicant.LastName != "Tresen" {
		t.Fatalf("C: %+v %v", got, err)
	}
	// C works on it; A sees it.
	if err := c.sh.Claim(ctx, created.Ref, actor("cweber")); err != nil {
		t.Fatal(err)
	}
	if err := c.sh.SetStatus(ctx, created.Ref, app.StatusInProgress, "", actor("cweber")); err != nil {
		t.Fatal(err)
	}
	if err := c.sh.SetStatus(ctx, created.Ref, app.StatusDone, "Hundesteuermarke ausgegeben", actor("cweber")); err != nil {
		t.Fatal(err)
	}
	if err := c.sh.AddNote(ctx, created.Ref, "Marke Nr. 17", actor("cweber")); err != nil {
		t.Fatal(err)
	}
	// A has not synced since its create: its view does not know "done"
	// yet, so the move is queued and rejected in journal order.
	err = a.sh.SetStatus(ctx, created.Ref, app.StatusWithdrawn, "Bürger zieht zurück", actor("amueller"))
	if app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "abgeschlossen") {
		t.Errorf("withdraw after done: %v", err)
	}
	for _, x := range cs {
		x.sync(t, false)
	}
	got, _ := a.db.CaseByRef(ctx, created.Ref)
	if got.Status != app.StatusDone || got.Assignee != "cweber" {
		t.Errorf("A: %s %s", got.Status, got.Assignee)
	}
	cancel()
	sameQueue(t, cs...)
	// The rejection is the same on every counter.
	for _, x := range cs {
		ap, rej, err := x.db.JournalEntryCount(context.Background())
		if err != nil || rej != 1 || ap != 5 {
			t.Errorf("%s: %d applied, %d rejected (%v)", x.name, ap, rej, err)
		}
	}
}

func walkInCase(key, clerk string) *app.NewCase {
	m := reg.Municipalities[0]
	for _, x := range reg.Municipalities {
		if x.Office == app.OfficeZell {
			m = x
			break
		}
	}
	fields, _ := json.Marshal(map[string]any{"hund": map[string]any{"name": "Rex", "rasse": "Mischling", "chipnummer": "276098106543210", "farbe": "schwarz"},
		"haltungsbeginn": "2026-11-01", "gefaehrlich": false, "weitereHunde": 0})
	return &app.NewCase{IdempotencyKey: key, Channel: app.ChannelCounter, Service: "hund-anmelden",
		Applicant: app.Applicant{FirstName: "Erika", LastName: "Tresen", Address: app.Address{Street: "Marktstraße", HouseNumber: "1",
			Postcode: m.Postcodes[0], Place: m.Name, AGS: m.AGS}},
		Fields: fields, Routing: app.Decision{Office: app.OfficeZell, Decided: true, Reason: "Test", Municipality: m.AGS},
		ReceivedAt: time.Now().UTC(), Clerk: clerk}
}

// One counter works offline while the others go on; when it is back its
// outbox is appended, journal order decides, it is told what lost, and
// all three show the same queue. A fresh counter rebuilds it from the
// mailbox alone.
func TestJournalOfflineThenBack(t *testing.T) {
	d := dovecottest.Start(t)
	dir := t.TempDir()
	px := startProxy(t, d.Addr)
	a := newCounter(t, d, d.Addr, "tresen-1", filepath.Join(dir, "a.db"))
	b := newCounter(t, d, d.Addr, "tresen-2", filepath.Join(dir, "b.db"))
	c := newCounter(t, d, px.addr, "tresen-3", filepath.Join(dir, "c.db"))
	cs := []*counter{a, b, c}
	refs := portalCases(t, d, portaltest.New(73), 3, cs...)
	x, y, z := refs[0], refs[1], refs[2]
	ctx := context.Background()

	px.Down()
	// Offline, C keeps working: its changes show at once.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.sh.Claim(ctx, x, actor("cweber")))
	must(c.sh.AddNote(ctx, x, "Bürger hat angerufen (offline vermerkt)", actor("cweber")))
	must(c.sh.SetStatus(ctx, y, app.StatusWithdrawn, "zurückgezogen am Telefon", actor("cweber")))
	must(c.sh.Claim(ctx, z, actor("cweber")))
	w, isNew, err := c.sh.CreateCase(ctx, walkInCase("anmeldung-offline", "cweber"), nil)
	if err != nil || !isNew || !w.Pending() || !strings.Contains(w.Ref, "-V-") {
		t.Fatalf("offline walk-in: %+v %v %v", w, isNew, err)
	}
	provisional := w.Ref
	must(c.sh.AddNote(ctx, provisional, "Quittung mit vorläufiger Nummer ausgegeben", actor("cweber")))
	if got, _ := c.db.CaseByRef(ctx, x); got.Assignee != "cweber" {
		t.Errorf("offline claim not shown: %q", got.Assignee)
	}
	if ob, _ := c.db.Outbox(ctx); len(ob) != 6 {
		t.Errorf("outbox %d, want 6", len(ob))
	}
	// Meanwhile A and B work online.
	must(a.sh.Claim(ctx, x, actor("amueller")))
	must(b.sh.Claim(ctx, y, actor("bschmitz")))
	must(b.sh.SetStatus(ctx, y, app.StatusInProgress, "", actor("bschmitz")))
	must(b.sh.SetStatus(ctx, y, app.StatusDone, "erledigt", actor("bschmitz")))
	v, _, err := a.sh.CreateCase(ctx, walkInCase("anmeldung-online", "amueller"), nil)
	must(err)
	if _, err := c.sh.Sync(ctx, false); err == nil {
		t.Fatal("sync through a cut connection worked")
	}
	if st, _ := c.sh.LastState(ctx); st == nil || !strings.Contains(st.LastError, "Verbindung") {
		t.Errorf("offline state %+v", st)
	}

	px.Up(t)
	res := c.sync(t, false)
	if st, _ := c.sh.LastState(ctx); st == nil || st.LastError != "" {
		t.Errorf("state after reconnect %+v", st)
	}
	if res.Appended != 6 || res.Rejected != 2 || res.Pending != 0 {
		t.Errorf("back online: %+v", res)
	}
	notices, err := c.sh.Notices(ctx)
	if err != nil || len(notices) != 2 {
		t.Fatalf("notices %+v %v", notices, err)
	}
	var msgs []string
	for _, n := range notices {
		msgs = append(msgs, string(n.Op)+": "+n.Message)
	}
	joined := strings.Join(msgs, "\n")
	if !strings.Contains(joined, "case.claim: Der Vorgang "+x+" wird bereits von amueller bearbeitet.") ||
		!strings.Contains(joined, "case.status: Der Vorgang ist bereits abgeschlossen (Erledigt)") {
		t.Errorf("notices:\n%s", joined)
	}
	if again, _ := c.sh.Notices(ctx); len(again) != 0 {
		t.Errorf("notices shown twice")
	}
	for _, x := range cs {
		x.sync(t, false)
	}
	ctxs := context.Background()
	gx, _ := c.db.CaseByRef(ctxs, x)
	gz, _ := c.db.CaseByRef(ctxs, z)
	gw, err := c.db.CaseByRef(ctxs, provisional) // the receipt's number still finds it
	if err != nil {
		t.Fatal(err)
	}
	if gx.Assignee != "amueller" || gz.Assignee != "cweber" {
		t.Errorf("x held by %q, z by %q", gx.Assignee, gz.Assignee)
	}
	if gw.Pending() || gw.ProvisionalRef != provisional || gw.Ref <= v.Ref {
		t.Errorf("walk-in after sync: %q (provisional %q), online one %q", gw.Ref, gw.ProvisionalRef, v.Ref)
	}
	if notes, _ := a.db.Notes(ctxs, gw.Ref); len(notes) != 1 {
		t.Errorf("A: notes of %s: %+v", gw.Ref, notes)
	}
	want := sameQueue(t, cs...)

	// A new PC: an empty database rebuilds the same queue from the mailbox.
	fresh := newCounter(t, d, d.Addr, "tresen-4", filepath.Join(dir, "fresh.db"))
	fresh.sync(t, false)
	if got := dump(t, fresh.db); got != want {
		t.Errorf("rebuilt queue differs:\n%s\n---\n%s", got, want)
	}
	if got, err := fresh.db.CaseByRef(ctxs, provisional); err != nil || got.Ref != gw.Ref {
		t.Errorf("fresh: provisional ref: %v %v", got, err)
	}
}

// A mail put into the journal folder from outside (without the office's
// secret) changes nothing: it is kept for review on every counter.
func TestJournalForgedEntry(t *testing.T) {
	d := dovecottest.Start(t)
	cs := newCounters(t, d, "tresen-1", "tresen-2")
	refs := portalCases(t, d, portaltest.New(74), 1, cs...)
	ctx := context.Background()
	key, _, err := cs[0].db.CaseKey(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	e := &app.JournalEntry{ID: journal.NewID(), Op: app.OpClaim, At: time.Now().UTC(), Counter: "fremd", Clerk: "mallory", Case: key, Ref: refs[0]}
	forged, _ := journal.Encode(e, []byte("falsches-geheimnis-0123456789"))
	if err := d.Save(journalBox, forged); err != nil {
		t.Fatal(err)
	}
	if err := d.Save(journalBox, []byte("From: x@example.org\r\nSubject: Hallo\r\nMessage-ID: <spam-1@example.org>\r\n\r\nWerbung\r\n")); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		res := c.sync(t, false)
		if res.Invalid != 1 || res.Entries != 0 || res.Portal.Review != 1 {
			t.Errorf("%s: %+v", c.name, res)
		}
		got, _ := c.db.CaseByRef(ctx, refs[0])
		if got.Assignee != "" {
			t.Errorf("%s: forged claim applied: %q", c.name, got.Assignee)
		}
		items, _ := c.db.ReviewItems(ctx, false)
		found := false
		for _, it := range items {
			if it.Reason == app.ReviewJournalInvalid && strings.Contains(it.Detail, "Signatur ungültig") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: forged entry not on the review list: %+v", c.name, items)
		}
	}
	sameQueue(t, cs...)
}

// Two counters take the inbox in at the same moment: every delivery lands
// in the journal once, and both show the same cases.
func TestJournalConcurrentIntake(t *testing.T) {
	d := dovecottest.Start(t)
	cs := newCounters(t, d, "tresen-1", "tresen-2")
	g := portaltest.New(76)
	var raws [][]byte
	for i := 0; i < 40; i++ {
		raws = append(raws, g.Antrag(portaltest.AntragSpec{NoFiles: true}).Raw)
	}
	if err := d.FillInbox(raws); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg gosync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.sh.Sync(context.Background(), true)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", cs[i].name, err)
		}
	}
	for _, c := range cs {
		c.sync(t, false)
	}
	// Both may have copied a mail before either expunged it; every
	// delivery is there, a second copy changes nothing.
	in, j := d.MustCount(t, "INBOX"), d.MustCount(t, journalBox)
	ids, _ := d.MessageIDs(journalBox)
	distinct := map[string]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	if in != 0 || j < 40 || j > 80 || len(distinct) != 40 {
		t.Errorf("inbox %d, journal %d (%d distinct), want 0 and 40–80 (40)", in, j, len(distinct))
	}
	t.Logf("journal holds %d mails for 40 deliveries", j)
	if n, _ := cs[0].db.CountCases(context.Background(), app.CaseFilter{}); n != 40 {
		t.Errorf("%d cases, want 40", n)
	}
	sameQueue(t, cs...)
}

// A server that does not answer (packets dropped) holds up the first
// change for SubmitTimeout; the following ones go to the outbox at once,
// and all are appended when it answers again.
func TestJournalServerHangs(t *testing.T) {
	d := dovecottest.Start(t)
	dir := t.TempDir()
	px := startProxy(t, d.Addr)
	a := newCounter(t, d, d.Addr, "tresen-1", filepath.Join(dir, "a.db"))
	c := newCounter(t, d, px.addr, "tresen-3", filepath.Join(dir, "c.db"))
	refs := portalCases(t, d, portaltest.New(77), 1, a, c)
	ctx := context.Background()
	c.sh.SubmitTimeout = time.Second
	px.Hang()
	c.sh.Close() // the next change dials the silent server
	t0 := time.Now()
	if err := c.sh.AddNote(ctx, refs[0], "erste", actor("cweber")); err != nil {
		t.Fatal(err)
	}
	first := time.Since(t0)
	t0 = time.Now()
	for i := 0; i < 5; i++ {
		if err := c.sh.AddNote(ctx, refs[0], fmt.Sprintf("weitere %d", i), actor("cweber")); err != nil {
			t.Fatal(err)
		}
	}
	rest := time.Since(t0)
	if first < time.Second || rest > first {
		t.Errorf("first change waited %v, the next five %v together", first, rest)
	}
	if ob, _ := c.db.Outbox(ctx); len(ob) != 6 {
		t.Errorf("outbox %d, want 6", len(ob))
	}
	px.Down()
	px.mu.Lock()
	px.hang = false
	px.mu.Unlock()
	px.Up(t)
	res := c.sync(t, false)
	a.sync(t, false)
	if res.Appended != 6 || res.Pending != 0 {
		t.Errorf("after the hang: %+v", res)
	}
	if ns, _ := a.db.Notes(ctx, refs[0]); len(ns) != 6 {
		t.Errorf("A sees %d notes, want 6", len(ns))
	}
	sameQueue(t, a, c)
}

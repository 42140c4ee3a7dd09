package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"amtstresen/app"
)

// portal: what the portal sync needs besides the store (app.PortalStore).
var portal = []test{
	{"ReceiptsByContent", testReceiptsByContent},
	{"WithdrawalUnconfirmed", testWithdrawalUnconfirmed},
	{"Unblocked", testUnblocked},
	{"Batch", testBatch},
	{"MessagesTogether", testMessagesTogether},
	{"BookingsTogether", testBookingsTogether},
	{"LockSync", testLockSync},
}

// testReceiptsByContent: a receipt is keyed by the mail's content. A
// review receipt does not count as taken in; when the same mail is taken
// in later, the receipt takes the new kind and the open review entry is
// resolved with a note, in the same transaction, and audited.
func testReceiptsByContent(e *env) {
	rc := &app.Receipt{SHA256: "sum-1", Mailbox: "INBOX", UIDValidity: 4, UID: 7, MessageID: "<a@x>", Kind: "review"}
	e.ok(e.st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<a@x>", Reason: app.ReviewSignatureInvalid, Raw: []byte("roh"), SHA256: "sum-1"}, rc))
	got, err := e.st.Receipts(e.ctx, []string{"sum-1", "sum-2"})
	if err != nil || len(got) != 1 || got["sum-1"].Kind != "review" || got["sum-1"].TakenIn() {
		e.Fatalf("receipts %+v %v", got, err)
	}
	if r := got["sum-1"]; r.SHA256 != "sum-1" || r.Mailbox != "INBOX" || r.UIDValidity != 4 || r.UID != 7 {
		e.Errorf("receipt %+v", r)
	}
	// Another mail with the same Message-ID is another mail.
	e.ok(e.st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<a@x>", Reason: app.ReviewNotPortal, Raw: []byte("anders")},
		&app.Receipt{SHA256: "sum-2", Kind: "review"}))
	if items, _ := e.st.ReviewItems(e.ctx, false); len(items) != 2 {
		e.Fatalf("%d open review entries, want 2", len(items))
	}
	rc2 := *rc
	rc2.Kind, rc2.PortalCase, rc2.UID = "antrag", "p-1", 9
	c, _, err := e.st.CreateCase(e.ctx, e.dogCase("p-1", "Anna", "Muster", app.OfficeZell, Start), &rc2)
	if err != nil {
		e.Fatal(err)
	}
	got, _ = e.st.Receipts(e.ctx, []string{"sum-1"})
	if r := got["sum-1"]; r.Kind != "antrag" || r.PortalCase != "p-1" || r.UID != 9 || !r.TakenIn() {
		e.Errorf("receipt after taking in %+v", r)
	}
	items, _ := e.st.ReviewItems(e.ctx, true)
	for _, it := range items {
		switch it.SHA256 {
		case "sum-1":
			if !it.Handled || it.Resolution != "case:"+c.Ref || it.HandledBy != "portal" || !strings.Contains(it.Note, "Nachträglich übernommen") {
				e.Errorf("entry of the mail taken in: %+v", it)
			}
		default:
			if it.Handled {
				e.Errorf("the other mail's entry was resolved: %+v", it)
			}
		}
	}
	entries, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{Action: "review.resolve"})
	if len(entries) != 1 || entries[0].Ref != c.Ref {
		e.Errorf("audit %+v", entries)
	}
	// A review receipt never replaces one that took the mail in.
	e.ok(e.st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<a@x>", Reason: app.ReviewMalformed, Raw: []byte("roh"), SHA256: "sum-1"}, rc))
	if got, _ := e.st.Receipts(e.ctx, []string{"sum-1"}); got["sum-1"].Kind != "antrag" {
		e.Errorf("receipt downgraded: %+v", got["sum-1"])
	}
	// Many at once, unknown ones left out.
	sums := []string{"sum-1", "sum-2"}
	for i := range 500 {
		sums = append(sums, fmt.Sprintf("unknown-%d", i))
	}
	if got, err := e.st.Receipts(e.ctx, sums); err != nil || len(got) != 2 {
		e.Errorf("500 unknown and 2 known: %d receipts, %v", len(got), err)
	}
	if got, err := e.st.Receipts(e.ctx, nil); err != nil || len(got) != 0 {
		e.Errorf("no sums: %v, %v", got, err)
	}
}

// testWithdrawalUnconfirmed: a format-1 withdrawal flags the case and
// keeps the citizen's words; only a clerk's decision, with a reason,
// withdraws it or not. Both are audited. A closed case stays as it is.
func testWithdrawalUnconfirmed(e *env) {
	clerk := app.Actor{Clerk: "mm", Office: app.OfficeZell}
	for _, confirm := range []bool{true, false} {
		key := fmt.Sprintf("p-%v", confirm)
		c := e.create(e.dogCase(key, "Anna", "Muster", app.OfficeZell, Start))
		e.ok(e.st.RequestWithdrawal(e.ctx, key, "Der Hund ist doch nicht eingezogen.", &app.Receipt{SHA256: "w-" + key, Kind: "ruecknahme", PortalCase: key}))
		if !e.hasReceipt(e.st, "w-"+key) {
			e.Errorf("receipt of the request not recorded")
		}
		got := e.mustCase(c.Ref)
		if got.Status != app.StatusReceived || !got.HasFlag(app.FlagWithdrawalUnconfirmed) {
			e.Fatalf("after the request: %s %v", got.Status, got.Flags)
		}
		notes, _ := e.st.Notes(e.ctx, c.Ref)
		if len(notes) != 1 || notes[0].Kind != "message" || !strings.Contains(notes[0].Text, "Der Hund ist doch nicht eingezogen.") {
			e.Errorf("notes %+v", notes)
		}
		if err := e.st.DecideWithdrawal(e.ctx, c.Ref, confirm, " ", clerk); app.ErrorCode(err) != app.EINVALID {
			e.Errorf("without a reason: %v", err)
		}
		e.ok(e.st.DecideWithdrawal(e.ctx, c.Ref, confirm, "Telefonisch bestätigt", clerk))
		got = e.mustCase(c.Ref)
		want := map[bool]app.Status{true: app.StatusWithdrawn, false: app.StatusReceived}[confirm]
		if got.Status != want || got.HasFlag(app.FlagWithdrawalUnconfirmed) {
			e.Errorf("confirm=%v: %s %v", confirm, got.Status, got.Flags)
		}
		entries, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: c.Ref, Action: "case.withdrawal"})
		if len(entries) != 1 || entries[0].Clerk != "mm" || entries[0].Detail != map[bool]string{true: "confirmed", false: "rejected"}[confirm] {
			e.Errorf("audit %+v", entries)
		}
		if err := e.st.DecideWithdrawal(e.ctx, c.Ref, confirm, "nochmal", clerk); app.ErrorCode(err) != app.ECONFLICT {
			e.Errorf("a second decision: %v", err)
		}
	}
	if err := e.st.RequestWithdrawal(e.ctx, "unbekannt", "x", nil); app.ErrorCode(err) != app.ENOTFOUND {
		e.Errorf("unknown case: %v", err)
	}
	// A closed case: nothing changes, the mail counts as taken in.
	c := e.create(e.dogCase("p-closed", "Anna", "Muster", app.OfficeZell, Start))
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusInProgress, "", clerk))
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusDone, "erledigt", clerk))
	before := e.mustCase(c.Ref)
	e.ok(e.st.RequestWithdrawal(e.ctx, "p-closed", "zu spät", &app.Receipt{SHA256: "w-closed", Kind: "ruecknahme", PortalCase: "p-closed"}))
	if got := e.mustCase(c.Ref); got.Status != app.StatusDone || got.HasFlag(app.FlagWithdrawalUnconfirmed) || !got.UpdatedAt.Equal(before.UpdatedAt) {
		e.Errorf("closed case after a request: %s %v", got.Status, got.Flags)
	}
	if !e.hasReceipt(e.st, "w-closed") {
		e.Error("receipt on a closed case not recorded")
	}
	e.wantCode(e.st.DecideWithdrawal(e.ctx, c.Ref, true, "x", clerk), app.ECONFLICT)
	// Flagged, then closed by a clerk, then confirmed: the status stays,
	// the flag goes, the decision is noted.
	c = e.create(e.dogCase("p-late", "Anna", "Muster", app.OfficeZell, Start))
	e.ok(e.st.RequestWithdrawal(e.ctx, "p-late", "bitte zurücknehmen", nil))
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusWithdrawn, "telefonisch zurückgenommen", clerk))
	e.ok(e.st.DecideWithdrawal(e.ctx, c.Ref, true, "schon erledigt", clerk))
	got := e.mustCase(c.Ref)
	notes, _ := e.st.Notes(e.ctx, c.Ref)
	if got.Status != app.StatusWithdrawn || got.HasFlag(app.FlagWithdrawalUnconfirmed) || !strings.Contains(notes[len(notes)-1].Text, "schon erledigt") {
		e.Errorf("confirmed on a closed case: %s %v %+v", got.Status, got.Flags, notes)
	}
}

// testUnblocked: a message kept as case-unknown is offered again once its
// case exists, oldest first, at most limit.
func testUnblocked(e *env) {
	e.ok(e.st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<m@x>", Reason: app.ReviewCaseUnknown, PortalCase: "p-9", Raw: []byte("nachricht"),
		ReceivedAt: Start.Add(-time.Hour)}, nil))
	e.ok(e.st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<n@x>", Reason: app.ReviewNotPortal, PortalCase: "p-9", Raw: []byte("andere")}, nil))
	e.ok(e.st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<o@x>", Reason: app.ReviewCaseUnknown, PortalCase: "p-9", Raw: []byte("zweite"),
		ReceivedAt: Start}, nil))
	e.ok(e.st.AddReview(e.ctx, &app.ReviewItem{MessageID: "<p@x>", Reason: app.ReviewCaseUnknown, PortalCase: "p-8", Raw: []byte("andere Sache")}, nil))
	if got, err := e.st.Unblocked(e.ctx, 10); err != nil || len(got) != 0 {
		e.Fatalf("before the case: %+v %v", got, err)
	}
	e.create(e.dogCase("p-9", "Anna", "Muster", app.OfficeZell, Start))
	got, err := e.st.Unblocked(e.ctx, 10)
	if err != nil || len(got) != 2 || string(got[0].Raw) != "nachricht" || got[0].SHA256 == "" || string(got[1].Raw) != "zweite" {
		e.Fatalf("after the case: %+v %v", got, err)
	}
	if got, _ := e.st.Unblocked(e.ctx, 1); len(got) != 1 || string(got[0].Raw) != "nachricht" {
		e.Errorf("limit 1: %+v", got)
	}
	e.ok(e.st.ResolveReview(e.ctx, got[0].ID, "handled", "erledigt", app.Actor{Clerk: "mm"}))
	if got, _ := e.st.Unblocked(e.ctx, 10); len(got) != 1 || string(got[0].Raw) != "zweite" {
		e.Errorf("after resolving the first: %+v", got)
	}
}

// testBatch: inside a batch, reads see what the batch wrote; a failing
// operation leaves nothing half-done and the batch goes on; the commit
// makes it all visible at once, and an error from fn rolls everything
// back, its reference numbers included.
func testBatch(e *env) {
	rc := func(id string) *app.Receipt {
		return &app.Receipt{Mailbox: "INBOX", UIDValidity: 3, UID: 1, SHA256: id, MessageID: id, Kind: "antrag"}
	}
	n := &app.Note{At: Start, Author: "Bürger", Kind: "message", Text: "Nachtrag"}
	err := e.st.Batch(e.ctx, func(tx app.PortalStore) error {
		if _, created, err := tx.CreateCase(e.ctx, e.dogCase("p-1", "Anna", "Muster", app.OfficeZell, Start), rc("<a@x>")); err != nil || !created {
			e.Fatalf("create in batch: %v %v", err, created)
		}
		// The batch sees its own writes: the message finds the case,
		// the receipt is known.
		if err := tx.AddMessage(e.ctx, "p-1", "k1", n, nil, rc("<m@x>")); err != nil {
			e.Fatalf("message in batch: %v", err)
		}
		if !e.hasReceipt(tx, "<a@x>") {
			e.Error("receipt not visible inside the batch")
		}
		if c, err := tx.CaseByPortalID(e.ctx, "p-1"); err != nil || c.Ref != "ZEL-2026-00001" {
			e.Errorf("case inside the batch: %v %v", c, err)
		}
		// Outside the batch nothing is visible yet.
		if n, _ := e.st.CountCases(e.ctx, app.CaseFilter{}); n != 0 {
			e.Errorf("%d cases visible before commit", n)
		}
		// A failing operation: an unknown case. Its receipt must not stay.
		e.wantCode(tx.Withdraw(e.ctx, "unbekannt", "x", rc("<w@x>")), app.ENOTFOUND)
		if e.hasReceipt(tx, "<w@x>") {
			e.Error("failed operation left its receipt in the batch")
		}
		// Invalid input: refused, and the batch goes on.
		bad := e.dogCase("p-bad", "Bernd", "Kaputt", app.OfficeZell, Start)
		bad.Fields = []byte("{")
		_, _, err := tx.CreateCase(e.ctx, bad, rc("<bad@x>"))
		e.wantCode(err, app.EINVALID)
		return nil
	})
	e.ok(err)
	c, err := e.st.CaseByPortalID(e.ctx, "p-1")
	if err != nil || c.Ref != "ZEL-2026-00001" {
		e.Fatalf("after commit: %v %+v", err, c)
	}
	if notes, _ := e.st.Notes(e.ctx, c.Ref); len(notes) != 1 {
		e.Errorf("notes = %+v", notes)
	}
	if e.hasReceipt(e.st, "<bad@x>") || e.hasReceipt(e.st, "<w@x>") {
		e.Error("receipts of failed operations committed")
	}

	boom := errors.New("boom")
	err = e.st.Batch(e.ctx, func(tx app.PortalStore) error {
		if _, _, err := tx.CreateCase(e.ctx, e.dogCase("p-2", "Bernd", "Beispiel", app.OfficeZell, Start), rc("<b@x>")); err != nil {
			e.Fatal(err)
		}
		if _, _, err := tx.CreateCase(e.ctx, e.dogCase("p-2c", "Carl", "Beispiel", app.OfficeCochem, Start), nil); err != nil {
			e.Fatal(err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		e.Fatalf("err = %v", err)
	}
	if n, _ := e.st.CountCases(e.ctx, app.CaseFilter{}); n != 1 {
		e.Errorf("%d cases after a rolled-back batch", n)
	}
	if e.hasReceipt(e.st, "<b@x>") {
		e.Error("receipt of a rolled-back batch recorded")
	}
	if n, _ := e.st.CountCases(e.ctx, app.CaseFilter{Query: "Beispiel"}); n != 0 {
		e.Errorf("search finds %d cases of a rolled-back batch", n)
	}
	// The reference numbers of the rolled-back cases are not used up.
	if c2 := e.create(e.dogCase("p-3", "C", "C", app.OfficeZell, Start)); c2.Ref != "ZEL-2026-00002" {
		e.Errorf("ref after rollback = %s", c2.Ref)
	}
	if c3 := e.create(e.dogCase("p-4", "D", "D", app.OfficeCochem, Start)); c3.Ref != "COC-2026-00001" {
		e.Errorf("Cochem's ref after rollback = %s", c3.Ref)
	}
	// The next batch counts on.
	e.ok(e.st.Batch(e.ctx, func(tx app.PortalStore) error {
		if c := e.createIn(tx, e.dogCase("p-5", "E", "E", app.OfficeZell, Start)); c.Ref != "ZEL-2026-00003" {
			e.Errorf("ref in the next batch = %s", c.Ref)
		}
		return nil
	}))
}

// testLockSync: one sync per database. A second waits as long as it is
// told, then gets ECONFLICT in German; one that waits gets the lock when
// the holder lets go; a cancelled wait ends at once.
func testLockSync(e *env) {
	unlock, err := e.st.LockSync(e.ctx, 0)
	e.ok(err)
	other := e.ad.Reopen(e.T)
	start := time.Now()
	_, err = other.LockSync(e.ctx, 200*time.Millisecond)
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "läuft bereits") || time.Since(start) < 200*time.Millisecond {
		e.Fatalf("second lock: %v after %v", err, time.Since(start))
	}
	cancelled, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := other.LockSync(cancelled, time.Minute); err == nil {
		e.Fatal("a cancelled wait got the lock")
	}
	unlock()
	u2, err := other.LockSync(e.ctx, 0)
	e.ok(err)
	// A waiting sync gets it once the first one ends.
	got := make(chan error, 1)
	go func() {
		u, err := e.st.LockSync(e.ctx, 10*time.Second)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(150 * time.Millisecond)
	u2()
	if err := <-got; err != nil {
		e.Errorf("waiting for the lock: %v", err)
	}
}

// file is an attachment of a portal message with its content.
func file(name, content string) app.NewAttachment {
	sum := sha256.Sum256([]byte(content))
	return app.NewAttachment{Attachment: app.Attachment{Name: name, Type: "application/pdf", Size: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), Received: true}, Data: []byte(content)}
}

// codeOf is the code of a clerk-facing error, "" for nil, "?" for another.
func codeOf(err error) string {
	var ae *app.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.Code
	}
	return "?: " + err.Error()
}

// portalState is what a database holds of the given cases (portal ids),
// bookings and mails, times of writing left out: the notes with their
// files, the audit entries of the cases and bookings, the receipts.
func (e *env) portalState(cases, uids, sums []string) string {
	e.Helper()
	var b strings.Builder
	for _, p := range cases {
		c, err := e.st.CaseByPortalID(e.ctx, p)
		if err != nil {
			e.Fatal(err)
		}
		notes, err := e.st.Notes(e.ctx, c.Ref)
		if err != nil {
			e.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\n", p, c.Ref)
		for _, n := range notes {
			fmt.Fprintf(&b, "  note %s %s %s %q\n", n.At.UTC().Format(time.RFC3339), n.Author, n.Kind, n.Text)
			for _, a := range n.Attachments {
				fmt.Fprintf(&b, "    file %s %s %d %s %v\n", a.Name, a.Type, a.Size, a.SHA256, a.Received)
				if data, err := e.st.AttachmentData(e.ctx, a.SHA256); err != nil || len(data) != int(a.Size) {
					fmt.Fprintf(&b, "    data %d bytes, %v\n", len(data), err)
				}
			}
		}
		for _, x := range e.auditActions(c.Ref) {
			fmt.Fprintf(&b, "  audit %s\n", x)
		}
	}
	for _, uid := range uids {
		a, err := e.st.Appointment(e.ctx, uid)
		if err != nil {
			fmt.Fprintf(&b, "%s: %s\n", uid, codeOf(err))
			continue
		}
		a.UpdatedAt = time.Time{}
		fmt.Fprintf(&b, "%s %+v\n", uid, *a)
		for _, x := range e.auditActions(uid) {
			fmt.Fprintf(&b, "  audit %s\n", x)
		}
	}
	m, err := e.st.Receipts(e.ctx, sums)
	if err != nil {
		e.Fatal(err)
	}
	for _, sum := range sums {
		if rc, ok := m[sum]; ok {
			fmt.Fprintf(&b, "receipt %s %s %s %d\n", sum, rc.Kind, rc.PortalCase, rc.UID)
		} else {
			fmt.Fprintf(&b, "receipt %s none\n", sum)
		}
	}
	return b.String()
}

// testMessagesTogether: AddMessages gives what AddMessage gives called
// once per message (a store may write them as a block): the same notes
// with their files, receipts and audit entries, and the same error for
// each message. A message for a case not here leaves nothing; one here
// already (from before, or earlier in the same call) only records its
// mail's receipt; a message is added to the case it names even when the
// case has messages of the call before it.
func testMessagesTogether(e *env) {
	at := Start.Add(2 * time.Hour)
	msg := func(p, key, text string, uid uint32, files ...app.NewAttachment) app.PortalMessage {
		var atts []app.Attachment
		for _, f := range files {
			atts = append(atts, f.Attachment)
		}
		return app.PortalMessage{PortalCase: p, Key: key, Files: files,
			Note:    &app.Note{At: at.Add(time.Duration(uid) * time.Minute), Author: "Bürger", Kind: "message", Text: text, Attachments: atts},
			Receipt: &app.Receipt{SHA256: fmt.Sprintf("m%d", uid), Mailbox: "INBOX", UIDValidity: 7, UID: uid, Kind: "nachricht", PortalCase: p}}
	}
	ms := []app.PortalMessage{
		msg("p-1", "k1", "Hier der Impfpass.", 1, file("impfpass.pdf", "Impfpass Bello")),
		msg("p-2", "k2", "Bitte um Rückruf", 2),
		msg("fehlt", "k3", "Zu welchem Antrag?", 3, file("x.pdf", "x")),
		msg("p-1", "k0", "Schon da", 4),
		msg("p-1", "k1", "Hier der Impfpass.", 5, file("impfpass.pdf", "Impfpass Bello")),
		msg("p-2", "k6", "Zwei Dateien, eine davon schon gesendet", 6, file("a.pdf", "Impfpass Bello"), file("b.pdf", "Steuerbescheid")),
		msg("p-1", "k7", "Und noch etwas", 7),
	}
	var states [2]string
	var codes [2][]string
	for i, x := range []*env{e, e.fresh(e.T)} {
		x.create(x.dogCase("p-1", "Anna", "Muster", app.OfficeZell, Start))
		x.create(x.dogCase("p-2", "Bernd", "Beispiel", app.OfficeCochem, Start))
		old := msg("p-1", "k0", "Schon da", 9)
		x.ok(x.st.AddMessage(x.ctx, old.PortalCase, old.Key, old.Note, old.Files, old.Receipt))
		x.ok(x.st.Batch(x.ctx, func(tx app.PortalStore) error {
			if i == 0 {
				errs, err := tx.AddMessages(x.ctx, ms)
				if err != nil || len(errs) != len(ms) {
					x.Fatalf("AddMessages: %v, %d results", err, len(errs))
				}
				for _, err := range errs {
					codes[i] = append(codes[i], codeOf(err))
				}
				return nil
			}
			for _, m := range ms {
				codes[i] = append(codes[i], codeOf(tx.AddMessage(x.ctx, m.PortalCase, m.Key, m.Note, m.Files, m.Receipt)))
			}
			return nil
		}))
		states[i] = x.portalState([]string{"p-1", "p-2"}, nil, []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m9"})
	}
	if fmt.Sprint(codes[0]) != fmt.Sprint(codes[1]) {
		e.Errorf("errors together %q, one by one %q", codes[0], codes[1])
	}
	if want := []string{"", "", app.ENOTFOUND, "", "", "", ""}; fmt.Sprint(codes[1]) != fmt.Sprint(want) {
		e.Errorf("errors one by one %q, want %q", codes[1], want)
	}
	if states[0] != states[1] {
		e.Errorf("together:\n%s\none by one:\n%s", states[0], states[1])
	}
	// What the calls one after the other give, in short.
	for _, want := range []string{"receipt m3 none", "receipt m4 nachricht p-1 4", "receipt m5 nachricht p-1 5",
		`note 2026-`, `"Und noch etwas"`, "file b.pdf application/pdf 14"} {
		if !strings.Contains(states[1], want) {
			e.Errorf("one by one lacks %q:\n%s", want, states[1])
		}
	}
	if n := strings.Count(states[1], "note "); n != 5 {
		e.Errorf("%d notes, want 5 (k0, k1, k7; k2, k6):\n%s", n, states[1])
	}
}

// testBookingsTogether: ApplyAppointments gives what ApplyAppointment
// gives called once per booking: the same bookings, receipts, audit
// entries, applied flags and errors, also for several versions of one
// booking in the same call, a stale one among them, and a version that
// fails the checks (it leaves nothing, not even its receipt).
func testBookingsTogether(e *env) {
	t9 := time.Date(2026, 12, 1, 9, 0, 0, 0, app.Berlin)
	mk := func(uid string, seq int, st app.AppointmentStatus, start time.Time) *app.Appointment {
		a := appt(seq, st, start)
		a.UID, a.UpdatedAt = uid, Start.Add(time.Duration(seq)*time.Hour)
		return a
	}
	cancel := mk("b2@portal", 3, app.AppointmentCancelled, time.Time{})
	cancel.CitizenName, cancel.Location = "", ""
	bad := mk("b3@portal", 0, "vielleicht", t9)
	as := []*app.Appointment{
		mk("b1@portal", 0, app.AppointmentConfirmed, t9),
		mk("b2@portal", 1, app.AppointmentConfirmed, t9.Add(time.Hour)),
		mk("b1@portal", 2, app.AppointmentConfirmed, t9.Add(30*time.Minute)),
		mk("b1@portal", 1, app.AppointmentConfirmed, t9.Add(45*time.Minute)), // stale: seq 2 is there
		bad,
		cancel,
		mk("b4@portal", 0, app.AppointmentConfirmed, t9.Add(2*time.Hour)),
		mk("b5@portal", 5, app.AppointmentConfirmed, t9.Add(3*time.Hour)), // stale: seq 6 from before
	}
	rcs := make([]*app.Receipt, len(as))
	var sums []string
	for i := range as {
		rcs[i] = &app.Receipt{SHA256: fmt.Sprintf("t%d", i), Mailbox: "INBOX", UIDValidity: 7, UID: uint32(i + 1), Kind: "termin"}
		sums = append(sums, rcs[i].SHA256)
	}
	var states [2]string
	var results [2][]string
	for i, x := range []*env{e, e.fresh(e.T)} {
		if _, err := x.st.ApplyAppointment(x.ctx, mk("b5@portal", 6, app.AppointmentConfirmed, t9.Add(4*time.Hour)), nil); err != nil {
			x.Fatal(err)
		}
		x.ok(x.st.Batch(x.ctx, func(tx app.PortalStore) error {
			if i == 0 {
				applied, errs, err := tx.ApplyAppointments(x.ctx, as, rcs)
				if err != nil || len(applied) != len(as) || len(errs) != len(as) {
					x.Fatalf("ApplyAppointments: %v, %d/%d results", err, len(applied), len(errs))
				}
				for k := range as {
					results[i] = append(results[i], fmt.Sprintf("%v %s", applied[k], codeOf(errs[k])))
				}
				return nil
			}
			for k, a := range as {
				ok, err := tx.ApplyAppointment(x.ctx, a, rcs[k])
				results[i] = append(results[i], fmt.Sprintf("%v %s", ok, codeOf(err)))
			}
			return nil
		}))
		states[i] = x.portalState(nil, []string{"b1@portal", "b2@portal", "b3@portal", "b4@portal", "b5@portal"}, sums)
	}
	if fmt.Sprint(results[0]) != fmt.Sprint(results[1]) {
		e.Errorf("results together %q, one by one %q", results[0], results[1])
	}
	want := []string{"true ", "true ", "true ", "false ", "false " + app.EINVALID, "true ", "true ", "false "}
	if fmt.Sprint(results[1]) != fmt.Sprint(want) {
		e.Errorf("results one by one %q, want %q", results[1], want)
	}
	if states[0] != states[1] {
		e.Errorf("together:\n%s\none by one:\n%s", states[0], states[1])
	}
	for _, w := range []string{"receipt t4 none", "receipt t3 termin", "Sequence:2", "Sequence:6", "b3@portal: " + app.ENOTFOUND} {
		if !strings.Contains(states[1], w) {
			e.Errorf("one by one lacks %q:\n%s", w, states[1])
		}
	}
}

package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

func TestCreateCaseIdempotent(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	nc := newDogCase(t, "p-1", "Anna", "Muster", app.OfficeCochem, testNow)
	c1, created, err := db.CreateCase(ctx, nc, nil)
	if err != nil || !created {
		t.Fatalf("first: %v, created %v", err, created)
	}
	if c1.Ref != "COC-2026-00001" || c1.Status != app.StatusReceived || c1.Office != app.OfficeCochem || c1.PortalCase != "p-1" {
		t.Errorf("case: %+v", c1)
	}
	if !c1.ReceivedAt.Equal(testNow) || c1.Applicant != nc.Applicant || c1.Municipality != nc.Routing.Municipality || c1.RoutingReason == "" {
		t.Errorf("case data: %+v", c1)
	}
	if string(c1.Raw) != string(nc.Raw) || !strings.Contains(string(c1.Fields), "276098106543210") {
		t.Errorf("documents not kept whole: raw %s fields %s", c1.Raw, c1.Fields)
	}
	// The same key again (a re-delivery): same case, no number used up.
	again := newDogCase(t, "p-1", "Anna", "Muster-Geändert", app.OfficeCochem, testNow.Add(time.Hour))
	c2, created, err := db.CreateCase(ctx, again, nil)
	if err != nil || created || c2.ID != c1.ID || c2.Ref != c1.Ref || c2.Applicant.LastName != "Muster" {
		t.Fatalf("repeat: %v, created %v, %+v", err, created, c2)
	}
	c3 := mustCreate(t, db, newDogCase(t, "p-2", "Karl", "Zender", app.OfficeCochem, testNow))
	if c3.Ref != "COC-2026-00002" {
		t.Errorf("next ref = %s, want COC-2026-00002", c3.Ref)
	}
	if n, _ := db.CountCases(ctx, app.CaseFilter{}); n != 2 {
		t.Errorf("%d cases, want 2", n)
	}
	if got := auditActions(t, db, c1.Ref); len(got) != 1 || got[0] != "portal case.create channel=portal office=vg-cochem" {
		t.Errorf("audit = %q", got)
	}
	// Counter cases without portal id, each with its own form key.
	for i, key := range []string{"form-a", "form-b", "form-a"} {
		nc := newDogCase(t, key, "Eva", "Thal", app.OfficeZell, testNow)
		nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, "mm"
		c, created, err := db.CreateCase(ctx, nc, nil)
		if err != nil || created != (i < 2) || c.PortalCase != "" || c.Raw != nil {
			t.Errorf("counter case %d: %v created %v %+v", i, err, created, c)
		}
	}
}

func TestRefsPerOfficeAndYear(t *testing.T) {
	db := openTest(t)
	// New Year's Eve 23:30 UTC is already the new year in Berlin.
	newYear := time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)
	for i, tc := range []struct {
		office app.OfficeKey
		at     time.Time
		want   string
	}{
		{app.OfficeZell, testNow, "ZEL-2026-00001"},
		{app.OfficeZell, testNow, "ZEL-2026-00002"},
		{app.OfficeCochem, testNow, "COC-2026-00001"},
		{app.OfficeKreis, testNow, "KV-2026-00001"},
		{app.OfficeKaisersesch, testNow, "KAI-2026-00001"},
		{app.OfficeUlmen, testNow, "ULM-2026-00001"},
		{"", testNow, "CZ-2026-00001"},
		{"", testNow, "CZ-2026-00002"},
		{app.OfficeZell, time.Date(2025, 3, 1, 9, 0, 0, 0, app.Berlin), "ZEL-2025-00001"},
		{app.OfficeZell, newYear.Add(-time.Hour), "ZEL-2025-00002"},
		{app.OfficeZell, newYear, "ZEL-2026-00003"},
		{app.OfficeZell, testNow, "ZEL-2026-00004"},
	} {
		nc := newDogCase(t, "k"+string(rune('a'+i)), "A", "B", app.OfficeZell, tc.at)
		nc.Routing.Office = tc.office
		c := mustCreate(t, db, nc)
		if c.Ref != tc.want {
			t.Errorf("%d: ref %s, want %s", i, c.Ref, tc.want)
		}
		if c.Office != tc.office {
			t.Errorf("%d: office %q, want %q", i, c.Office, tc.office)
		}
	}
}

func TestCreateCaseValidation(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for name, mod := range map[string]func(*app.NewCase){
		"unknown office": func(nc *app.NewCase) { nc.Routing.Office = "vg-atlantis" },
		"no service":     func(nc *app.NewCase) { nc.Service = " " },
		"bad fields":     func(nc *app.NewCase) { nc.Fields = []byte("{nope") },
		"bad raw":        func(nc *app.NewCase) { nc.Raw = []byte("[") },
		"bad channel":    func(nc *app.NewCase) { nc.Channel = "fax" },
	} {
		nc := newDogCase(t, "k-"+name, "A", "B", app.OfficeZell, testNow)
		mod(nc)
		_, _, err := db.CreateCase(ctx, nc, nil)
		wantCode(t, err, app.EINVALID)
	}
	if n, _ := db.CountCases(ctx, app.CaseFilter{}); n != 0 {
		t.Errorf("%d cases created from invalid input", n)
	}
}

func TestCreateCaseFlagsAndAttachments(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	photo := []byte("JPEG … Impfpass")
	sum := sha256.Sum256(photo)
	hexSum := hex.EncodeToString(sum[:])
	nc := newDogCase(t, "p-1", "Anna", "Muster", "", testNow)
	nc.Flags = []app.Flag{app.FlagAttachmentMissing, app.FlagRoutingUnclear}
	nc.Routing.Flags = []app.Flag{app.FlagRoutingUnclear, app.FlagOutsideDistrict}
	nc.Attachments = []app.NewAttachment{
		{Attachment: app.Attachment{Name: `..\..\Windows\impfpass.jpg`, Type: "image/jpeg", Size: 1, SHA256: "announced"}, Data: photo},
		{Attachment: app.Attachment{Name: "fehlt.pdf", Type: "application/pdf", Size: 99, SHA256: "ABC", Problem: "Die Anlage fehlt in der Sendung."}},
		{Attachment: app.Attachment{Name: "../../etc/kopie.jpg", Type: "image/jpeg"}, Data: photo},
	}
	c := mustCreate(t, db, nc)
	if got := encodeFlags(c.Flags); got != ",attachment-missing,routing-unclear,outside-district," {
		t.Errorf("flags = %v", c.Flags)
	}
	want := []app.Attachment{
		{Name: "impfpass.jpg", Type: "image/jpeg", Size: int64(len(photo)), SHA256: hexSum, Received: true},
		{Name: "fehlt.pdf", Type: "application/pdf", Size: 99, SHA256: "abc", Problem: "Die Anlage fehlt in der Sendung."},
		{Name: "kopie.jpg", Type: "image/jpeg", Size: int64(len(photo)), SHA256: hexSum, Received: true},
	}
	if len(c.Attachments) != len(want) {
		t.Fatalf("attachments = %+v", c.Attachments)
	}
	for i := range want {
		if c.Attachments[i] != want[i] {
			t.Errorf("attachment %d = %+v, want %+v", i, c.Attachments[i], want[i])
		}
	}
	data, err := db.AttachmentData(ctx, strings.ToUpper(hexSum))
	if err != nil || string(data) != string(photo) {
		t.Errorf("data = %q, %v", data, err)
	}
	var blobs int
	db.db.QueryRow("SELECT count(*) FROM blobs").Scan(&blobs)
	if blobs != 1 {
		t.Errorf("%d blobs, want 1 (stored by content)", blobs)
	}
	_, err = db.AttachmentData(ctx, "abc")
	wantCode(t, err, app.ENOTFOUND)
}

func TestClaimRelease(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	c := mustCreate(t, db, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeCochem, testNow))
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	ab := app.Actor{Clerk: "ab", Office: app.OfficeCochem}
	steps := []struct {
		name     string
		do       func() error
		code     string
		assignee string
	}{
		{"claim free", func() error { return db.Claim(ctx, c.Ref, mm) }, "", "mm"},
		{"claim again", func() error { return db.Claim(ctx, strings.ToLower(c.Ref), mm) }, "", "mm"},
		{"claim held", func() error { return db.Claim(ctx, c.Ref, ab) }, app.ECONFLICT, "mm"},
		{"release by other", func() error { return db.Release(ctx, c.Ref, ab) }, app.ECONFLICT, "mm"},
		{"release", func() error { return db.Release(ctx, c.Ref, mm) }, "", ""},
		{"release free", func() error { return db.Release(ctx, c.Ref, mm) }, "", ""},
		{"claim by other", func() error { return db.Claim(ctx, c.Ref, ab) }, "", "ab"},
		{"no clerk", func() error { return db.Claim(ctx, c.Ref, app.Actor{}) }, app.EINVALID, "ab"},
		{"unknown", func() error { return db.Claim(ctx, "ZEL-1999-00001", mm) }, app.ENOTFOUND, "ab"},
	}
	for _, s := range steps {
		err := s.do()
		if s.code == "" && err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.code != "" {
			wantCode(t, err, s.code)
		}
		got, _ := db.CaseByRef(ctx, c.Ref)
		if got.Assignee != s.assignee {
			t.Fatalf("%s: assignee %q, want %q", s.name, got.Assignee, s.assignee)
		}
		if got.Status != app.StatusReceived {
			t.Fatalf("%s: claiming changed the status to %s", s.name, got.Status)
		}
	}
	err := db.Claim(ctx, c.Ref, mm)
	if msg := app.ErrorMessage(err); msg != "Der Vorgang "+c.Ref+" wird bereits von ab bearbeitet." {
		t.Errorf("message = %q", msg)
	}
	want := []string{"mm case.claim ", "mm case.release ", "ab case.claim "}
	if got := auditActions(t, db, c.Ref)[1:]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit = %q, want %q", got, want)
	}
	// A closed case is not claimed.
	db.Release(ctx, c.Ref, ab)
	db.SetStatus(ctx, c.Ref, app.StatusWithdrawn, "auf Wunsch", mm)
	wantCode(t, db.Claim(ctx, c.Ref, mm), app.EINVALID)
}

func TestSetStatus(t *testing.T) {
	ctx := context.Background()
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	for _, tc := range []struct {
		path []app.Status // moves from received
		code string       // of the last move
	}{
		{[]app.Status{app.StatusInProgress}, ""},
		{[]app.Status{app.StatusWithdrawn}, ""},
		{[]app.Status{app.StatusDone}, app.EINVALID},
		{[]app.Status{app.StatusWaiting}, app.EINVALID},
		{[]app.Status{app.StatusReceived}, app.EINVALID},
		{[]app.Status{app.StatusInProgress, app.StatusWaiting, app.StatusInProgress, app.StatusDone}, ""},
		{[]app.Status{app.StatusInProgress, app.StatusRejected}, ""},
		{[]app.Status{app.StatusInProgress, app.StatusDone, app.StatusInProgress}, app.EINVALID},
		{[]app.Status{app.StatusWithdrawn, app.StatusInProgress}, app.EINVALID},
		{[]app.Status{"archived"}, app.EINVALID},
	} {
		db := openTest(t)
		c := mustCreate(t, db, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeCochem, testNow))
		cur := app.StatusReceived
		for i, to := range tc.path {
			err := db.SetStatus(ctx, c.Ref, to, "Grund "+string(to), mm)
			if i < len(tc.path)-1 || tc.code == "" {
				if err != nil {
					t.Fatalf("%v: move %d: %v", tc.path, i, err)
				}
				cur = to
				continue
			}
			wantCode(t, err, tc.code)
		}
		got, _ := db.CaseByRef(ctx, c.Ref)
		if got.Status != cur {
			t.Errorf("%v: status %s, want %s", tc.path, got.Status, cur)
		}
		if got.ClosedAt.IsZero() == cur.Final() {
			t.Errorf("%v: closed_at %v with status %s", tc.path, got.ClosedAt, cur)
		}
	}

	// Reasons, notes and audit.
	db := openTest(t)
	c := mustCreate(t, db, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeCochem, testNow))
	if err := db.SetStatus(ctx, c.Ref, app.StatusInProgress, "", mm); err != nil {
		t.Fatalf("in_progress without reason: %v", err)
	}
	wantCode(t, db.SetStatus(ctx, c.Ref, app.StatusRejected, "  ", mm), app.EINVALID)
	if err := db.SetStatus(ctx, c.Ref, app.StatusRejected, "Hund nicht im Kreis", mm); err != nil {
		t.Fatal(err)
	}
	notes, err := db.Notes(ctx, c.Ref)
	if err != nil || len(notes) != 2 {
		t.Fatalf("notes %+v, %v", notes, err)
	}
	if n := notes[1]; n.Kind != "status" || n.Author != "mm" || n.Text != "In Bearbeitung → Abgelehnt: Hund nicht im Kreis" {
		t.Errorf("status note = %+v", n)
	}
	want := "portal case.create channel=portal office=vg-cochem|mm case.status received->in_progress|mm case.status in_progress->rejected"
	if got := strings.Join(auditActions(t, db, c.Ref), "|"); got != want {
		t.Errorf("audit = %s", got)
	}
}

func TestForward(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	c := mustCreate(t, db, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeCochem, testNow))
	db.Claim(ctx, c.Ref, mm)
	for _, tc := range []struct {
		to     app.OfficeKey
		reason string
		code   string
	}{
		{app.OfficeKaisersesch, "", app.EINVALID},
		{"vg-atlantis", "weil", app.EINVALID},
		{"", "weil", app.EINVALID},
		{app.OfficeCochem, "weil", app.EINVALID},
	} {
		wantCode(t, db.Forward(ctx, c.Ref, tc.to, tc.reason, mm), tc.code)
	}
	if err := db.Forward(ctx, c.Ref, app.OfficeKaisersesch, "Bürger wohnt in Landkern", mm); err != nil {
		t.Fatal(err)
	}
	got, _ := db.CaseByRef(ctx, c.Ref)
	if got.Office != app.OfficeKaisersesch || got.ForwardedFrom != app.OfficeCochem || got.Assignee != "" || got.Ref != c.Ref {
		t.Errorf("after forward: %+v", got)
	}
	notes, _ := db.Notes(ctx, c.Ref)
	if len(notes) != 1 || notes[0].Kind != "forward" || notes[0].Text != "VG Cochem → VG Kaisersesch: Bürger wohnt in Landkern" {
		t.Errorf("notes = %+v", notes)
	}
	if a := auditActions(t, db, c.Ref); a[len(a)-1] != "mm case.forward vg-cochem->vg-kaisersesch" {
		t.Errorf("audit = %q", a)
	}
	// The queue of the new office has it.
	if n, _ := db.CountCases(ctx, app.CaseFilter{Offices: []app.OfficeKey{app.OfficeKaisersesch}}); n != 1 {
		t.Errorf("Kaisersesch has %d cases", n)
	}
	db.SetStatus(ctx, c.Ref, app.StatusWithdrawn, "zurückgezogen", mm)
	wantCode(t, db.Forward(ctx, c.Ref, app.OfficeZell, "weil", mm), app.EINVALID)
}

func TestNotes(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	c := mustCreate(t, db, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeCochem, testNow))
	wantCode(t, db.AddNote(ctx, c.Ref, " ", mm), app.EINVALID)
	wantCode(t, db.AddNote(ctx, "COC-2026-09999", "x", mm), app.ENOTFOUND)
	if err := db.AddNote(ctx, c.Ref, "Rückruf vereinbart", mm); err != nil {
		t.Fatal(err)
	}
	notes, err := db.Notes(ctx, c.Ref)
	if err != nil || len(notes) != 1 || notes[0].Text != "Rückruf vereinbart" || notes[0].Kind != "note" || notes[0].CaseID != c.ID {
		t.Errorf("notes = %+v, %v", notes, err)
	}
	_, err = db.Notes(ctx, "COC-2026-09999")
	wantCode(t, err, app.ENOTFOUND)
	// The audit log names the action, never the text.
	es, _ := db.AuditEntries(ctx, app.AuditFilter{Ref: c.Ref})
	for _, e := range es {
		if strings.Contains(e.Detail, "Rückruf") {
			t.Errorf("note text in audit: %+v", e)
		}
	}
}

func TestMessagesAndWithdrawal(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	c := mustCreate(t, db, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeCochem, testNow))
	rc := func(id string) *app.Receipt {
		return &app.Receipt{Mailbox: "INBOX", UIDValidity: 7, UID: 1, SHA256: id, MessageID: id, Kind: "nachricht"}
	}
	n := &app.Note{At: testNow.Add(-time.Hour), Author: "Bürger", Kind: "message", Text: "Anbei der Impfpass."}
	files := []app.NewAttachment{{Attachment: app.Attachment{Name: "impfpass.jpg", Type: "image/jpeg"}, Data: []byte("jpg")}}

	wantCode(t, db.AddMessage(ctx, "unbekannt", "k1", n, files, rc("<m0@x>")), app.ENOTFOUND)
	if done, _ := hasReceipt(ctx, db, "<m0@x>"); done {
		t.Error("receipt recorded for a failed message")
	}
	for i := 0; i < 2; i++ { // the second is a re-delivery with a new Message-ID
		if err := db.AddMessage(ctx, "p-1", "k1", n, files, rc("<m"+string(rune('1'+i))+"@x>")); err != nil {
			t.Fatal(err)
		}
	}
	notes, _ := db.Notes(ctx, c.Ref)
	if len(notes) != 1 || notes[0].Kind != "message" || notes[0].Text != n.Text || !notes[0].At.Equal(n.At) {
		t.Fatalf("notes = %+v", notes)
	}
	if a := notes[0].Attachments; len(a) != 1 || !a[0].Received || a[0].Size != 3 {
		t.Errorf("message attachments = %+v", a)
	}
	if got, _ := db.CaseByRef(ctx, c.Ref); len(got.Attachments) != 0 {
		t.Errorf("message files listed as case attachments: %+v", got.Attachments)
	}
	for _, id := range []string{"<m1@x>", "<m2@x>"} {
		if done, _ := hasReceipt(ctx, db, id); !done {
			t.Errorf("%s not recorded", id)
		}
	}

	wantCode(t, db.Withdraw(ctx, "unbekannt", "x", rc("<w0@x>")), app.ENOTFOUND)
	if err := db.Withdraw(ctx, "p-1", "Hund doch nicht gekauft", rc("<w1@x>")); err != nil {
		t.Fatal(err)
	}
	got, _ := db.CaseByRef(ctx, c.Ref)
	if got.Status != app.StatusWithdrawn || got.ClosedAt.IsZero() {
		t.Errorf("after withdrawal: %s %v", got.Status, got.ClosedAt)
	}
	// Again (re-delivery): no change, receipt recorded.
	if err := db.Withdraw(ctx, "p-1", "Hund doch nicht gekauft", rc("<w2@x>")); err != nil {
		t.Fatal(err)
	}
	notes, _ = db.Notes(ctx, c.Ref)
	if len(notes) != 2 || notes[1].Kind != "status" || notes[1].Author != "Bürger" ||
		notes[1].Text != "Eingegangen → Zurückgenommen: Rücknahme durch den Bürger: Hund doch nicht gekauft" {
		t.Errorf("notes = %+v", notes)
	}
	for _, id := range []string{"<w1@x>", "<w2@x>"} {
		if done, _ := hasReceipt(ctx, db, id); !done {
			t.Errorf("%s not recorded", id)
		}
	}
	want := "portal case.create channel=portal office=vg-cochem|portal case.message files=1|portal case.status received->withdrawn"
	if got := strings.Join(auditActions(t, db, c.Ref), "|"); got != want {
		t.Errorf("audit = %s", got)
	}
}

// The receipt is part of the change's transaction: when the change fails,
// the mail is not marked processed, and no reference number is used up.
func TestReceiptAtomic(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.db.Exec(`CREATE TRIGGER fail_create BEFORE INSERT ON audit_log WHEN NEW.action = 'case.create'
		BEGIN SELECT RAISE(ABORT, 'simulated failure'); END`); err != nil {
		t.Fatal(err)
	}
	rc := &app.Receipt{Mailbox: "INBOX", UIDValidity: 1, UID: 5, SHA256: "<a@x>", Kind: "antrag"}
	nc := newDogCase(t, "p-1", "Anna", "Muster", app.OfficeZell, testNow)
	if _, _, err := db.CreateCase(ctx, nc, rc); err == nil || !strings.Contains(err.Error(), "simulated failure") {
		t.Fatalf("err = %v", err)
	}
	if done, _ := hasReceipt(ctx, db, "<a@x>"); done {
		t.Error("receipt recorded for a failed creation")
	}
	if n, _ := db.CountCases(ctx, app.CaseFilter{}); n != 0 {
		t.Errorf("%d cases after a failed creation", n)
	}
	db.db.Exec(`DROP TRIGGER fail_create`)
	c, created, err := db.CreateCase(ctx, nc, rc)
	if err != nil || !created || c.Ref != "ZEL-2026-00001" {
		t.Fatalf("retry: %v %v %+v", err, created, c)
	}
	var uid, uv int
	var mailbox, kind string
	db.db.QueryRow(`SELECT mailbox, uidvalidity, uid, kind FROM mail_receipts WHERE sha256 = '<a@x>'`).Scan(&mailbox, &uv, &uid, &kind)
	if mailbox != "INBOX" || uv != 1 || uid != 5 || kind != "antrag" {
		t.Errorf("receipt = %s %d %d %s", mailbox, uv, uid, kind)
	}
	// A duplicate delivery records its own receipt.
	rc2 := *rc
	rc2.SHA256, rc2.UID = "<b@x>", 6
	if _, created, err := db.CreateCase(ctx, nc, &rc2); err != nil || created {
		t.Fatalf("duplicate: %v %v", err, created)
	}
	if done, _ := hasReceipt(ctx, db, "<b@x>"); !done {
		t.Error("duplicate's receipt not recorded")
	}
}

func TestAllCases(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mustCreate(t, db, newDogCase(t, "p-2", "B", "B", app.OfficeZell, testNow.Add(time.Hour)))
	mustCreate(t, db, newDogCase(t, "p-1", "A", "A", app.OfficeCochem, testNow))
	nc := newDogCase(t, "p-3", "C", "C", app.OfficeCochem, testNow)
	nc.Attachments = []app.NewAttachment{{Attachment: app.Attachment{Name: "a.pdf"}, Data: []byte("%PDF")}}
	mustCreate(t, db, nc)
	all, err := db.AllCases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range all {
		got = append(got, c.PortalCase)
	}
	if strings.Join(got, ",") != "p-1,p-3,p-2" {
		t.Errorf("order = %v", got)
	}
	if len(all[1].Attachments) != 1 || len(all[0].Attachments) != 0 {
		t.Errorf("attachments: %+v / %+v", all[0].Attachments, all[1].Attachments)
	}
}

// TestCreatedCaseAsStored: the case CreateCase returns is built from the
// inserted values, not read back; it must equal what a read returns, for
// every kind of input, inside a batch and outside.
func TestCreatedCaseAsStored(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	db.now = func() time.Time { return time.Date(2026, 11, 29, 8, 15, 30, 123456789, time.UTC) }
	photo := []byte("PDF … Nachweis")
	variants := map[string]func(nc *app.NewCase){
		"plain": func(nc *app.NewCase) {},
		"flags and attachments": func(nc *app.NewCase) {
			nc.Flags = []app.Flag{app.FlagAttachmentMismatch, app.FlagRoutingUnclear}
			nc.Routing.Flags = []app.Flag{app.FlagRoutingUnclear, app.FlagOutsideDistrict}
			nc.Attachments = []app.NewAttachment{
				{Attachment: app.Attachment{Name: `C:\tmp\nachweis.pdf`, Type: "application/pdf", Size: 3, SHA256: "x", Problem: "Größe stimmt nicht"}, Data: photo},
				{Attachment: app.Attachment{Name: "fehlt.jpg", Type: "image/jpeg", Size: 7, SHA256: " ABCD "}},
			}
		},
		"undecided, no raw, empty fields": func(nc *app.NewCase) {
			nc.Routing = app.Decision{Reason: "Postleitzahl unklar"}
			nc.Raw, nc.Fields = nil, nil
		},
		"counter, received now": func(nc *app.NewCase) {
			nc.Channel, nc.PortalCase, nc.ReceivedAt, nc.Clerk = app.ChannelCounter, "", time.Time{}, "MÜL"
			nc.Presented = []app.PresentedDocument{{Name: "Personalausweis"}, {Name: "Impfpass", Copy: true}}
		},
		"received with nanoseconds, other zone": func(nc *app.NewCase) {
			nc.ReceivedAt = time.Date(2026, 12, 31, 23, 59, 59, 987654321, app.Berlin)
			nc.Applicant.Phone, nc.Applicant.Salutation = "0261 1234", ""
		},
		"invalid UTF-8 in the name": func(nc *app.NewCase) {
			nc.Applicant.LastName = "M\xfcller"
			nc.Applicant.Address.Place = "Zell \ufffd (Mosel)"
		},
	}
	i := 0
	for name, change := range variants {
		for _, mode := range []string{"direct", "batch", "prepared", "prepared, batch"} {
			inBatch := strings.HasSuffix(mode, "batch")
			i++
			nc := newDogCase(t, fmt.Sprintf("p-%d", i), "Zoë", "Çelik-Müller", app.OfficeCochem, testNow)
			change(nc)
			var prep app.PreparedCase
			if strings.HasPrefix(mode, "prepared") {
				prep = db.PrepareCase(nc)
				if p, _ := prep.(*preparedCase); p == nil || p.in == nil {
					t.Fatalf("%s: not prepared", name)
				}
			}
			var got *app.Case
			create := func(st app.IntakeStore) error {
				rc := &app.Receipt{Mailbox: "INBOX", UID: uint32(i), SHA256: fmt.Sprintf("<%d@x>", i)}
				mk := st.CreateCase
				if prep != nil {
					mk = func(ctx context.Context, _ *app.NewCase, rc *app.Receipt) (*app.Case, bool, error) {
						return st.CreatePreparedCase(ctx, prep, rc)
					}
				}
				c, created, err := mk(ctx, nc, rc)
				if err == nil && !created {
					err = fmt.Errorf("not created")
				}
				got = c
				return err
			}
			var err error
			if inBatch {
				err = db.Batch(ctx, create)
			} else {
				err = create(db)
			}
			if err != nil {
				t.Fatalf("%s (%s): %v", name, mode, err)
			}
			read, err := db.CaseByRef(ctx, got.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, read) {
				t.Errorf("%s (%s):\nreturned %+v\nread     %+v", name, mode, got, read)
			}
			// And both are right: the time of a case without one is now,
			// a file is stored under the hash of its data.
			if nc.ReceivedAt.IsZero() && !got.ReceivedAt.Equal(db.now()) {
				t.Errorf("%s (%s): received %v, want now", name, mode, got.ReceivedAt)
			}
			for k, f := range nc.Attachments {
				if sum := sha256.Sum256(f.Data); f.Data != nil && got.Attachments[k].SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("%s (%s): file %d stored as %s", name, mode, k, got.Attachments[k].SHA256)
				}
			}
		}
	}
}

// Issue 13, point 23: every action on a case is audited with the case's
// office (not the clerk's, which is empty for an administrator), so that
// `audit --office` and a lead's view find them; the clerk's display name
// is kept beside the account (point 6); the documents shown at the
// counter are stored with the case (point 5).
func TestCaseAuditCarriesCaseOffice(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	nc := newDogCase(t, "k1", "Anna", "Muster", app.OfficeZell, testNow)
	nc.Channel, nc.Clerk, nc.ClerkName = app.ChannelCounter, "root", "Maria Müller"
	nc.Presented = []app.PresentedDocument{{Name: "Personalausweis oder Reisepass"}, {Name: "Impfpass", Copy: true}}
	c := mustCreate(t, db, nc)
	admin := app.Actor{Clerk: "root", Role: app.RoleAdmin, Name: "Maria Müller"} // no office of its own
	steps := []error{
		db.Claim(ctx, c.Ref, admin),
		db.SetStatus(ctx, c.Ref, app.StatusInProgress, "", admin),
		db.AddNote(ctx, c.Ref, "Rückruf vereinbart", admin),
		db.Release(ctx, c.Ref, admin),
		db.Forward(ctx, c.Ref, app.OfficeCochem, "Hund lebt in Cochem", admin),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	es, err := db.AuditEntries(ctx, app.AuditFilter{Ref: c.Ref, Office: app.OfficeZell})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Action)
		if e.Name != "Maria Müller" {
			t.Errorf("%s: name %q", e.Action, e.Name)
		}
	}
	if want := "case.create case.claim case.status case.note case.release case.forward"; strings.Join(got, " ") != want {
		t.Errorf("audit --office vg-zell --ref %s finds %v, want %s", c.Ref, got, want)
	}
	back, err := db.CaseByRef(ctx, c.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Presented) != 2 || !back.Presented[1].Copy || back.Presented[0].Name != "Personalausweis oder Reisepass" {
		t.Errorf("presented = %+v", back.Presented)
	}
}

package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
	"amtstresen/storage/storetest"
)

// TestAttachmentsStoredOnce: a file two attachments share is one row of
// blobs (stored by content; storetest checks what a reader sees).
func TestAttachmentsStoredOnce(t *testing.T) {
	db := openTest(t)
	photo := []byte("JPEG … Impfpass")
	nc := newDogCase(t, "p-1", "Anna", "Muster", "", testNow)
	nc.Attachments = []app.NewAttachment{
		{Attachment: app.Attachment{Name: "impfpass.jpg", Type: "image/jpeg"}, Data: photo},
		{Attachment: app.Attachment{Name: "kopie.jpg", Type: "image/jpeg"}, Data: photo},
	}
	mustCreate(t, db, nc)
	other := newDogCase(t, "p-2", "Bernd", "Beispiel", "", testNow)
	other.Attachments = nc.Attachments[:1]
	mustCreate(t, db, other)
	var blobs int
	db.db.QueryRow("SELECT count(*) FROM blobs").Scan(&blobs)
	if blobs != 1 {
		t.Errorf("%d blobs, want 1 (stored by content)", blobs)
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

// TestCreatedCaseAsStored: the case CreateCase returns for a prepared
// case (PrepareCase) is built from the inserted values, not read back; it
// must equal what a read returns (the contract's check, on this path).
func TestCreatedCaseAsStored(t *testing.T) {
	db := openTest(t)
	now := time.Date(2026, 11, 29, 8, 15, 30, 123456789, time.UTC)
	db.now = func() time.Time { return now }
	storetest.CreatedCaseAsStored(t, db, now, func(p app.PreparedCase) {
		if pc, _ := p.(*rules.Prepared); pc == nil || !pc.Checked() {
			t.Fatalf("%s: not prepared", p.NewCase().IdempotencyKey)
		}
	})
}

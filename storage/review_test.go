package storage

import (
	"context"
	"testing"
	"time"

	"amtstresen/app"
)

func TestReview(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	rc := func(id string) *app.Receipt {
		return &app.Receipt{Mailbox: "INBOX", UIDValidity: 3, UID: 9, SHA256: id, MessageID: id, Kind: "review"}
	}
	raw := []byte("From: jemand@example.org\r\nSubject: Frage\r\n\r\nHallo")
	it := &app.ReviewItem{MessageID: "<r1@x>", Subject: "Frage", From: "jemand@example.org", Reason: app.ReviewNotPortal,
		ReceivedAt: testNow, Size: int64(len(raw)), Raw: raw}
	if err := db.AddReview(ctx, it, rc("<r1@x>")); err != nil {
		t.Fatal(err)
	}
	id := it.ID
	// The same mail again: one item.
	again := *it
	again.ID = 0
	if err := db.AddReview(ctx, &again, rc("<r1@x>")); err != nil || again.ID != id {
		t.Errorf("repeat: id %d (want %d), %v", again.ID, id, err)
	}
	// Same Message-ID, other content (a forged or changed mail): kept too.
	other := *it
	other.Raw = []byte("anders")
	if err := db.AddReview(ctx, &other, nil); err != nil || other.ID == id {
		t.Errorf("other content: id %d, %v", other.ID, err)
	}
	// Too large: no raw.
	big := &app.ReviewItem{MessageID: "<big@x>", Reason: app.ReviewTooLarge, ReceivedAt: testNow.Add(time.Hour), Size: 80 << 20}
	if err := db.AddReview(ctx, big, rc("<big@x>")); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"<r1@x>", "<big@x>"} {
		if done, _ := hasReceipt(ctx, db, m); !done {
			t.Errorf("%s not processed", m)
		}
	}
	items, err := db.ReviewItems(ctx, false)
	if err != nil || len(items) != 3 || items[0].MessageID != "<big@x>" {
		t.Fatalf("items = %+v, %v", items, err)
	}
	got, err := db.ReviewItem(ctx, id)
	if err != nil || string(got.Raw) != string(raw) || got.Subject != "Frage" || got.Reason != app.ReviewNotPortal || !got.ReceivedAt.Equal(testNow) {
		t.Errorf("item = %+v, %v", got, err)
	}
	if got, _ := db.ReviewItem(ctx, big.ID); got.Raw != nil {
		t.Errorf("raw of a too large mail = %q", got.Raw)
	}

	mm := app.Actor{Clerk: "mm", Office: app.OfficeZell}
	wantCode(t, db.ResolveReview(ctx, id, "handled", " ", mm), app.EINVALID)
	wantCode(t, db.ResolveReview(ctx, 999, "handled", "x", mm), app.ENOTFOUND)
	if err := db.ResolveReview(ctx, id, "case:zel-2026-00001", "als Antrag erfasst", mm); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.ResolveReview(ctx, id, "handled", "nochmal", app.Actor{Clerk: "ab"}), app.ECONFLICT)
	got, _ = db.ReviewItem(ctx, id)
	if !got.Handled || got.HandledBy != "mm" || got.Resolution != "case:zel-2026-00001" || got.Note != "als Antrag erfasst" || got.HandledAt.IsZero() {
		t.Errorf("resolved = %+v", got)
	}
	if items, _ := db.ReviewItems(ctx, false); len(items) != 2 {
		t.Errorf("open items = %d, want 2", len(items))
	}
	if items, _ := db.ReviewItems(ctx, true); len(items) != 3 {
		t.Errorf("all items = %d, want 3", len(items))
	}
	if a := auditActions(t, db, "ZEL-2026-00001"); len(a) != 1 || a[0] != "mm review.resolve review=1 case" {
		t.Errorf("audit = %q", a)
	}
	_, err = db.ReviewItem(ctx, 999)
	wantCode(t, err, app.ENOTFOUND)
}

func TestSyncState(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	_, err := db.SyncState(ctx, "INBOX")
	wantCode(t, err, app.ENOTFOUND)
	for _, s := range []app.SyncState{
		{Mailbox: "INBOX", UIDValidity: 42, LastUID: 7, LastRun: testNow, LastResult: "3 Anträge"},
		{Mailbox: "INBOX", UIDValidity: 43, LastUID: 0, LastRun: testNow.Add(time.Hour), LastError: "Server nicht erreichbar"},
	} {
		if err := db.SaveSyncState(ctx, &s); err != nil {
			t.Fatal(err)
		}
		got, err := db.SyncState(ctx, "INBOX")
		if err != nil || *got != (app.SyncState{Mailbox: s.Mailbox, UIDValidity: s.UIDValidity, LastUID: s.LastUID,
			LastRun: s.LastRun.UTC(), LastResult: s.LastResult, LastError: s.LastError}) {
			t.Errorf("state = %+v, %v; want %+v", got, err, s)
		}
	}
	if done, err := hasReceipt(ctx, db, "<nie@x>"); done || err != nil {
		t.Errorf("processed = %v, %v", done, err)
	}
	if done, _ := hasReceipt(ctx, db, ""); done {
		t.Error("empty Message-ID processed")
	}
	if a := auditActions(t, db, "INBOX"); len(a) != 2 || a[1] != "portal sync.state uidvalidity=43 last_uid=0 error=1" {
		t.Errorf("audit = %q", a)
	}
}

package storetest

import (
	"fmt"
	"time"

	"amtstresen/app"
)

// review: the list of mails not understood, and the sync's progress.
var review = []test{
	{"Review", testReview},
	{"SyncState", testSyncState},
}

// testReview: a mail is kept once per content, with its receipt; too
// large a mail without its raw bytes; the list is newest first; a clerk
// resolves an item once, with a reason, audited by the case it names.
func testReview(e *env) {
	rc := func(id string) *app.Receipt {
		return &app.Receipt{Mailbox: "INBOX", UIDValidity: 3, UID: 9, SHA256: id, MessageID: id, Kind: "review"}
	}
	raw := []byte("From: jemand@example.org\r\nSubject: Frage\r\n\r\nHallo")
	it := &app.ReviewItem{MessageID: "<r1@x>", Subject: "Frage", From: "jemand@example.org", Reason: app.ReviewNotPortal,
		ReceivedAt: Start, Size: int64(len(raw)), Raw: raw}
	e.ok(e.st.AddReview(e.ctx, it, rc("<r1@x>")))
	id := it.ID
	if id == 0 {
		e.Fatal("AddReview set no ID")
	}
	// The same mail again: one item.
	again := *it
	again.ID = 0
	if err := e.st.AddReview(e.ctx, &again, rc("<r1@x>")); err != nil || again.ID != id {
		e.Errorf("repeat: id %d (want %d), %v", again.ID, id, err)
	}
	// Same Message-ID, other content (a forged or changed mail): kept too.
	other := *it
	other.Raw = []byte("anders")
	if err := e.st.AddReview(e.ctx, &other, nil); err != nil || other.ID == id {
		e.Errorf("other content: id %d, %v", other.ID, err)
	}
	// Too large: no raw.
	big := &app.ReviewItem{MessageID: "<big@x>", Reason: app.ReviewTooLarge, ReceivedAt: Start.Add(time.Hour), Size: 80 << 20}
	e.ok(e.st.AddReview(e.ctx, big, rc("<big@x>")))
	for _, m := range []string{"<r1@x>", "<big@x>"} {
		if !e.hasReceipt(e.st, m) {
			e.Errorf("%s not processed", m)
		}
	}
	items, err := e.st.ReviewItems(e.ctx, false)
	if err != nil || len(items) != 3 || items[0].MessageID != "<big@x>" {
		e.Fatalf("items = %+v, %v", items, err)
	}
	for _, x := range items {
		if x.Raw != nil {
			e.Errorf("the list carries the raw mail of %d", x.ID)
		}
	}
	got, err := e.st.ReviewItem(e.ctx, id)
	if err != nil || string(got.Raw) != string(raw) || got.Subject != "Frage" || got.From != "jemand@example.org" ||
		got.Reason != app.ReviewNotPortal || !got.ReceivedAt.Equal(Start) || got.Size != int64(len(raw)) || got.SHA256 == "" || got.Handled {
		e.Errorf("item = %+v, %v", got, err)
	}
	if got, _ := e.st.ReviewItem(e.ctx, big.ID); got.Raw != nil || got.Size != 80<<20 {
		e.Errorf("too large a mail = %+v", got)
	}

	mm := app.Actor{Clerk: "mm", Office: app.OfficeZell}
	e.wantCode(e.st.ResolveReview(e.ctx, id, "handled", " ", mm), app.EINVALID)
	e.wantCode(e.st.ResolveReview(e.ctx, id+1000, "handled", "x", mm), app.ENOTFOUND)
	e.ok(e.st.ResolveReview(e.ctx, id, "case:zel-2026-00001", "als Antrag erfasst", mm))
	e.wantCode(e.st.ResolveReview(e.ctx, id, "handled", "nochmal", app.Actor{Clerk: "ab"}), app.ECONFLICT)
	got, _ = e.st.ReviewItem(e.ctx, id)
	if !got.Handled || got.HandledBy != "mm" || got.Resolution != "case:zel-2026-00001" || got.Note != "als Antrag erfasst" || got.HandledAt.IsZero() {
		e.Errorf("resolved = %+v", got)
	}
	if items, _ := e.st.ReviewItems(e.ctx, false); len(items) != 2 {
		e.Errorf("open items = %d, want 2", len(items))
	}
	if items, _ := e.st.ReviewItems(e.ctx, true); len(items) != 3 {
		e.Errorf("all items = %d, want 3", len(items))
	}
	if a := e.auditActions("ZEL-2026-00001"); len(a) != 1 || a[0] != fmt.Sprintf("mm review.resolve review=%d case", id) {
		e.Errorf("audit = %q", a)
	}
	_, err = e.st.ReviewItem(e.ctx, id+1000)
	e.wantCode(err, app.ENOTFOUND)
}

func testSyncState(e *env) {
	_, err := e.st.SyncState(e.ctx, "INBOX")
	e.wantCode(err, app.ENOTFOUND)
	for _, s := range []app.SyncState{
		{Mailbox: "INBOX", UIDValidity: 42, LastUID: 7, LastRun: Start, LastResult: "3 Anträge"},
		{Mailbox: "INBOX", UIDValidity: 43, LastUID: 0, LastRun: Start.Add(time.Hour), LastError: "Server nicht erreichbar"},
		{Mailbox: "Zur Sichtung", UIDValidity: 1<<32 - 1, LastUID: 1<<32 - 2, LastRun: Start},
	} {
		e.ok(e.st.SaveSyncState(e.ctx, &s))
		got, err := e.st.SyncState(e.ctx, s.Mailbox)
		if err != nil || *got != (app.SyncState{Mailbox: s.Mailbox, UIDValidity: s.UIDValidity, LastUID: s.LastUID,
			LastRun: s.LastRun.UTC(), LastResult: s.LastResult, LastError: s.LastError}) {
			e.Errorf("state = %+v, %v; want %+v", got, err, s)
		}
	}
	if got, _ := e.st.SyncState(e.ctx, "INBOX"); got.UIDValidity != 43 {
		e.Errorf("INBOX after another mailbox: %+v", got)
	}
	if e.hasReceipt(e.st, "<nie@x>") {
		e.Error("an unknown mail has a receipt")
	}
	if got, err := e.st.Receipts(e.ctx, []string{""}); err != nil || len(got) != 0 {
		e.Errorf("empty content processed: %v %v", got, err)
	}
	if a := e.auditActions("INBOX"); len(a) != 2 || a[1] != "portal sync.state uidvalidity=43 last_uid=0 error=1" {
		e.Errorf("audit = %q", a)
	}
}

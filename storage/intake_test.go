package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"amtstresen/app"
)

// TestReceiptsByContent: a receipt is keyed by the mail's content. A
// review receipt does not count as taken in; when the same mail is taken
// in later, the receipt takes the new kind and the open review entry is
// resolved with a note, in the same transaction, and audited.
func TestReceiptsByContent(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	rc := &app.Receipt{SHA256: "sum-1", Mailbox: "INBOX", UIDValidity: 4, UID: 7, MessageID: "<a@x>", Kind: "review"}
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "<a@x>", Reason: app.ReviewSignatureInvalid, Raw: []byte("roh"), SHA256: "sum-1"}, rc); err != nil {
		t.Fatal(err)
	}
	got, err := db.Receipts(ctx, []string{"sum-1", "sum-2"})
	if err != nil || len(got) != 1 || got["sum-1"].Kind != "review" || got["sum-1"].TakenIn() {
		t.Fatalf("receipts %+v %v", got, err)
	}
	// Another mail with the same Message-ID is another mail.
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "<a@x>", Reason: app.ReviewNotPortal, Raw: []byte("anders")},
		&app.Receipt{SHA256: "sum-2", Kind: "review"}); err != nil {
		t.Fatal(err)
	}
	if items, _ := db.ReviewItems(ctx, false); len(items) != 2 {
		t.Fatalf("%d open review entries, want 2", len(items))
	}
	rc2 := *rc
	rc2.Kind, rc2.PortalCase, rc2.UID = "antrag", "p-1", 9
	c, _, err := db.CreateCase(ctx, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeZell, testNow), &rc2)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = db.Receipts(ctx, []string{"sum-1"})
	if r := got["sum-1"]; r.Kind != "antrag" || r.PortalCase != "p-1" || r.UID != 9 || !r.TakenIn() {
		t.Errorf("receipt after taking in %+v", r)
	}
	items, _ := db.ReviewItems(ctx, true)
	for _, it := range items {
		switch it.SHA256 {
		case "sum-1":
			if !it.Handled || it.Resolution != "case:"+c.Ref || it.HandledBy != "portal" || !strings.Contains(it.Note, "Nachträglich übernommen") {
				t.Errorf("entry of the mail taken in: %+v", it)
			}
		default:
			if it.Handled {
				t.Errorf("the other mail's entry was resolved: %+v", it)
			}
		}
	}
	entries, _ := db.AuditEntries(ctx, app.AuditFilter{Action: "review.resolve"})
	if len(entries) != 1 || entries[0].Ref != c.Ref {
		t.Errorf("audit %+v", entries)
	}
	// A review receipt never replaces one that took the mail in.
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "<a@x>", Reason: app.ReviewMalformed, Raw: []byte("roh"), SHA256: "sum-1"}, rc); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Receipts(ctx, []string{"sum-1"}); got["sum-1"].Kind != "antrag" {
		t.Errorf("receipt downgraded: %+v", got["sum-1"])
	}
}

// TestWithdrawalUnconfirmed: a format-1 withdrawal flags the case and
// keeps the citizen's words; only a clerk's decision, with a reason,
// withdraws it or not. Both are audited.
func TestWithdrawalUnconfirmed(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	clerk := app.Actor{Clerk: "mm", Office: app.OfficeZell}
	for _, confirm := range []bool{true, false} {
		key := fmt.Sprintf("p-%v", confirm)
		c := mustCreate(t, db, newDogCase(t, key, "Anna", "Muster", app.OfficeZell, testNow))
		if err := db.RequestWithdrawal(ctx, key, "Der Hund ist doch nicht eingezogen.", &app.Receipt{SHA256: "w-" + key, Kind: "ruecknahme", PortalCase: key}); err != nil {
			t.Fatal(err)
		}
		got, _ := db.CaseByRef(ctx, c.Ref)
		if got.Status != app.StatusReceived || !got.HasFlag(app.FlagWithdrawalUnconfirmed) {
			t.Fatalf("after the request: %s %v", got.Status, got.Flags)
		}
		notes, _ := db.Notes(ctx, c.Ref)
		if len(notes) != 1 || notes[0].Kind != "message" || !strings.Contains(notes[0].Text, "Der Hund ist doch nicht eingezogen.") {
			t.Errorf("notes %+v", notes)
		}
		if err := db.DecideWithdrawal(ctx, c.Ref, confirm, " ", clerk); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("without a reason: %v", err)
		}
		if err := db.DecideWithdrawal(ctx, c.Ref, confirm, "Telefonisch bestätigt", clerk); err != nil {
			t.Fatal(err)
		}
		got, _ = db.CaseByRef(ctx, c.Ref)
		want := map[bool]app.Status{true: app.StatusWithdrawn, false: app.StatusReceived}[confirm]
		if got.Status != want || got.HasFlag(app.FlagWithdrawalUnconfirmed) {
			t.Errorf("confirm=%v: %s %v", confirm, got.Status, got.Flags)
		}
		entries, _ := db.AuditEntries(ctx, app.AuditFilter{Ref: c.Ref, Action: "case.withdrawal"})
		if len(entries) != 1 || entries[0].Clerk != "mm" || entries[0].Detail != map[bool]string{true: "confirmed", false: "rejected"}[confirm] {
			t.Errorf("audit %+v", entries)
		}
		if err := db.DecideWithdrawal(ctx, c.Ref, confirm, "nochmal", clerk); app.ErrorCode(err) != app.ECONFLICT {
			t.Errorf("a second decision: %v", err)
		}
	}
	if err := db.RequestWithdrawal(ctx, "unbekannt", "x", nil); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("unknown case: %v", err)
	}
}

// TestUnblocked: a message kept as case-unknown is offered again once its
// case exists.
func TestUnblocked(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "<m@x>", Reason: app.ReviewCaseUnknown, PortalCase: "p-9", Raw: []byte("nachricht")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "<n@x>", Reason: app.ReviewNotPortal, PortalCase: "p-9", Raw: []byte("andere")}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Unblocked(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("before the case: %+v %v", got, err)
	}
	mustCreate(t, db, newDogCase(t, "p-9", "Anna", "Muster", app.OfficeZell, testNow))
	got, err := db.Unblocked(ctx, 10)
	if err != nil || len(got) != 1 || string(got[0].Raw) != "nachricht" || got[0].SHA256 == "" {
		t.Fatalf("after the case: %+v %v", got, err)
	}
}

// TestPurgeQueuesServerMails (point 12): the purge of a case queues its
// mails on the server (the recorded places and a search by its case id),
// forgets the places, keeps the receipts without the case; handled review
// mail past its period goes too.
func TestPurgeQueuesServerMails(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	c := mustCreate(t, db, newDogCase(t, "p-1", "Anna", "Muster", app.OfficeZell, testNow))
	keep := mustCreate(t, db, newDogCase(t, "p-2", "Bernd", "Beispiel", app.OfficeZell, testNow))
	// The application's mail (taken in again by a re-delivery receipt),
	// a message, a review mail of the case; and one of the other case.
	for _, r := range []app.Receipt{{SHA256: "a1", Kind: "antrag", PortalCase: "p-1"}, {SHA256: "a2", Kind: "nachricht", PortalCase: "p-1"},
		{SHA256: "b1", Kind: "antrag", PortalCase: "p-2"}} {
		nc := newDogCase(t, r.PortalCase, "x", "y", app.OfficeZell, testNow)
		if _, _, err := db.CreateCase(ctx, nc, &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "<r@x>", Reason: app.ReviewCaseUnknown, PortalCase: "p-1", Raw: []byte("r1"), SHA256: "r1"}, nil); err != nil {
		t.Fatal(err)
	}
	old := &app.ReviewItem{MessageID: "<old@x>", Reason: app.ReviewNotPortal, Raw: []byte("alt"), SHA256: "old"}
	if err := db.AddReview(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.ResolveReview(ctx, old.ID, "handled", "Werbung", app.Actor{Clerk: "mm"}); err != nil {
		t.Fatal(err)
	}
	if err := db.MailFiled(ctx, []app.MailLocation{{SHA256: "a1", Mailbox: "Übernommen", UIDValidity: 5, UID: 1},
		{SHA256: "a2", Mailbox: "Übernommen", UIDValidity: 5, UID: 2}, {SHA256: "b1", Mailbox: "Übernommen", UIDValidity: 5, UID: 3},
		{SHA256: "r1", Mailbox: "Zur Sichtung", UIDValidity: 6, UID: 1}, {SHA256: "old", Mailbox: "Zur Sichtung", UIDValidity: 6, UID: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStatus(ctx, c.Ref, app.StatusInProgress, "", app.Actor{Clerk: "mm"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStatus(ctx, c.Ref, app.StatusDone, "erledigt", app.Actor{Clerk: "mm"}); err != nil {
		t.Fatal(err)
	}
	rep, err := db.Purge(ctx, PurgeOptions{Now: testNow.AddDate(20, 0, 0), ReviewMonths: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) != 1 || rep.ReviewMails != 1 {
		t.Fatalf("report %+v", rep)
	}
	jobs, err := db.MailPurges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, j := range jobs {
		got[fmt.Sprintf("%s/%d/%d %s", j.Mailbox, j.UIDValidity, j.UID, j.PortalCase)] = true
	}
	for _, want := range []string{"Übernommen/5/1 ", "Übernommen/5/2 ", "Zur Sichtung/6/1 ", "Zur Sichtung/6/2 ", "/0/0 p-1"} {
		if !got[want] {
			t.Errorf("not queued: %q (queue %v)", want, got)
		}
	}
	if len(jobs) != 5 {
		t.Errorf("%d jobs, want 5: %v", len(jobs), got)
	}
	var left int
	db.db.QueryRow(`SELECT count(*) FROM mail_locations`).Scan(&left)
	if left != 1 {
		t.Errorf("%d places left, want the other case's one", left)
	}
	if r, _ := db.Receipts(ctx, []string{"a1", "b1"}); r["a1"].PortalCase != "" || !r["a1"].TakenIn() || r["b1"].PortalCase != "p-2" {
		t.Errorf("receipts %+v", r)
	}
	if _, err := db.CaseByRef(ctx, keep.Ref); err != nil {
		t.Error(err)
	}
	var ids []int64
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if err := db.MailPurged(ctx, ids); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := db.MailPurges(ctx); len(jobs) != 0 {
		t.Errorf("%d jobs after done", len(jobs))
	}
}

// TestLockSync (point 3): one sync per database. A second waits as long
// as it is told, then gets ECONFLICT in German; the lock ends with its
// holder, also when the holder is killed (SIGKILL).
func TestLockSync(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	unlock, err := db.LockSync(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, db.Path(), testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	start := time.Now()
	_, err = other.LockSync(ctx, 200*time.Millisecond)
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "läuft bereits") || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("second lock: %v after %v", err, time.Since(start))
	}
	unlock()
	u2, err := other.LockSync(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	u2()

	// A holder that is killed.
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockSyncChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AMTSTRESEN_LOCK_CHILD="+db.Path())
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "locked" {
	}
	if _, err := db.LockSync(ctx, 0); app.ErrorCode(err) != app.ECONFLICT {
		t.Fatalf("while the child holds it: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	u3, err := db.LockSync(ctx, 2*time.Second)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	u3()
}

// TestLockSyncChild holds the lock of the database TestLockSync names
// until it is killed.
func TestLockSyncChild(t *testing.T) {
	path := os.Getenv("AMTSTRESEN_LOCK_CHILD")
	if path == "" {
		t.Skip("only as child process of TestLockSync")
	}
	db, err := Open(context.Background(), path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LockSync(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
}

// TestExplainFileSystem (point 7): a full disk and a database that cannot
// be written give German sentences naming the cause and what to do (real
// SQLite errors: a page limit makes it report a full disk, query_only a
// read-only database).
func TestExplainFileSystem(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.db.SetMaxOpenConns(1)
	var pages int
	if err := db.db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	nc := newDogCase(t, "p-1", strings.Repeat("Anna", 5000), "Muster", app.OfficeZell, testNow)
	_, _, err := db.CreateCase(ctx, nc, nil)
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "kein Platz mehr") || !strings.Contains(msg, "Bitte Platz schaffen") {
		t.Errorf("full disk: %v", err)
	}
	err = db.Batch(ctx, func(tx app.IntakeStore) error { _, _, err := tx.CreateCase(ctx, nc, nil); return err })
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "kein Platz mehr") {
		t.Errorf("full disk in a batch: %v", err)
	}
	ro := openTest(t)
	ro.db.SetMaxOpenConns(1)
	if _, err := ro.db.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	err = ro.SaveSyncState(ctx, &app.SyncState{Mailbox: "INBOX"})
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "kann nicht geschrieben werden") || !strings.Contains(msg, "Schreibrechte") {
		t.Errorf("read-only: %v", err)
	}
}

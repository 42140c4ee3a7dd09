package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/journal"
	"amtstresen/sync/portaltest"
)

// TestJournalKillChild is the child process of TestJournalKilledMidAppend:
// it opens a counter whose outbox is full and syncs (appending the outbox
// and reading the journal), reporting each append, until it is killed.
func TestJournalKillChild(t *testing.T) {
	if os.Getenv("AMTSTRESEN_JKILL_CHILD") == "" {
		t.Skip("only as child process of TestJournalKilledMidAppend")
	}
	db, err := storage.Open(context.Background(), os.Getenv("AMTSTRESEN_JKILL_DB"), reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := journalConfig(os.Getenv("AMTSTRESEN_JKILL_ADDR"), "eingang", "tresen-k")
	cfg.IMAP.PasswordEnv = "AMTSTRESEN_JKILL_PW"
	cfg.Journal.SecretEnv = "AMTSTRESEN_JKILL_SECRET"
	sh, err := sync.NewShared(cfg, db, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sh.OnAppend = func(id string, uid uint32) {
		n++
		fmt.Printf("appended %d %d\n", n, uid)
	}
	if _, err := sh.Sync(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	fmt.Println("finished")
}

func runJournalChild(t *testing.T, addr, pw, dbPath string, killAt int) bool {
	t.Helper()
	return killChildAt(t, "TestJournalKillChild", "appended", killAt, "AMTSTRESEN_JKILL_CHILD=1", "AMTSTRESEN_JKILL_DB="+dbPath,
		"AMTSTRESEN_JKILL_ADDR="+addr, "AMTSTRESEN_JKILL_PW="+pw, "AMTSTRESEN_JKILL_SECRET="+string(journalSecret))
}

// A counter killed with SIGKILL while it appends its outbox (twice, at
// different points) and started again: every change arrives exactly once
// on every counter, nothing half-applied, the outbox empty.
func TestJournalKilledMidAppend(t *testing.T) {
	d := dovecottest.Start(t)
	dir := t.TempDir()
	a := newCounter(t, d, d.Addr, "tresen-1", filepath.Join(dir, "a.db"))
	refs := portalCases(t, d, portaltest.New(75), 1, a)
	ctx := context.Background()
	key, ref, err := a.db.CaseKey(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	// The killed counter: same journal read, then 120 changes made while
	// the server was away (straight into its outbox).
	kPath := filepath.Join(dir, "k.db")
	k := newCounter(t, d, d.Addr, "tresen-k", kPath)
	k.sync(t, false)
	const n = 120
	at := time.Now().UTC()
	for i := 0; i < n; i++ {
		e := &app.JournalEntry{V: 1, ID: journal.NewID(), Op: app.OpNote, At: at.Add(time.Duration(i) * time.Millisecond), Counter: "tresen-k",
			Clerk: "kkrause", Office: app.OfficeZell, Case: key, Ref: ref, Text: fmt.Sprintf("Notiz %03d", i)}
		if _, err := k.db.QueueChange(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	k.sh.Close()
	k.db.Close()

	for _, killAt := range []int{25, 70} {
		if !runJournalChild(t, d.Addr, d.Password, kPath, killAt) {
			t.Fatalf("child finished before it could be killed at %d", killAt)
		}
		t.Logf("killed after %d appends: journal holds %d mails", killAt, d.MustCount(t, journalBox))
	}
	runJournalChild(t, d.Addr, d.Password, kPath, 0)

	k = newCounter(t, d, d.Addr, "tresen-k", kPath)
	if ob, _ := k.db.Outbox(ctx); len(ob) != 0 {
		t.Errorf("outbox still holds %d", len(ob))
	}
	a.sync(t, false)
	for _, c := range []*counter{a, k} {
		notes, err := c.db.Notes(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, nt := range notes {
			seen[nt.Text]++
		}
		if len(notes) != n || len(seen) != n {
			t.Errorf("%s: %d notes, %d distinct, want %d", c.name, len(notes), len(seen), n)
		}
		applied, rejected, _ := c.db.JournalEntryCount(ctx)
		if applied != n || rejected != 0 {
			t.Errorf("%s: %d applied, %d rejected", c.name, applied, rejected)
		}
	}
	total := d.MustCount(t, journalBox)
	t.Logf("journal: %d mails for 1 delivery and %d changes (%d copies of entries appended before a kill, applied once)", total, n, total-1-n)
	if total < 1+n {
		t.Errorf("journal holds %d mails, want at least %d", total, 1+n)
	}
	sameQueue(t, a, k)
}

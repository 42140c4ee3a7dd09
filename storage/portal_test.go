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

// TestLockSync (point 3): the lock ends with its holder, also when the
// holder is killed (SIGKILL); waiting and refusing: storetest.
func TestLockSync(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
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
	err = db.Batch(ctx, func(tx app.PortalStore) error { _, _, err := tx.CreateCase(ctx, nc, nil); return err })
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

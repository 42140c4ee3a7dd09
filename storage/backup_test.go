package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"amtstresen/app"
)

// TestBackupRestoreWhileWriting takes a backup while another goroutine
// keeps creating cases, checks that the backup is one consistent state (a
// prefix of the writes, integrity_check ok, mode 0600), writes more, and
// restores the backup into the open database: the same handle then sees
// exactly the backed-up cases, and the state before the restore is kept
// aside.
func TestBackupRestoreWhileWriting(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	backups := filepath.Join(t.TempDir(), "sicherungen")

	var written atomic.Int64
	stop := make(chan struct{})
	var wg gosync.WaitGroup
	wg.Add(1)
	errs := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			nc := newDogCase(t, fmt.Sprintf("w-%d", i), "Wilma", fmt.Sprintf("Schreiber%d", i), app.OfficeCochem, testNow)
			if _, _, err := db.CreateCase(ctx, nc, nil); err != nil {
				errs <- err
				return
			}
			written.Add(1)
		}
	}()
	for written.Load() < 30 {
		time.Sleep(time.Millisecond)
	}
	before := written.Load()
	res, err := db.Backup(ctx, BackupOptions{Dir: backups, Daily: 7, Weekly: 4})
	if err != nil {
		t.Fatal(err)
	}
	after := written.Load()
	for written.Load() < after+20 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("writer: %v", err)
	default:
	}
	if after == before {
		t.Log("note: no case was written during the backup itself")
	}
	st, err := os.Stat(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", st.Mode().Perm())
	}
	for _, s := range []string{"-wal", "-shm", "-journal", ".part"} {
		if _, err := os.Stat(res.Path + s); err == nil {
			t.Errorf("backup left %s behind", s)
		}
	}
	if err := checkFile(ctx, res.Path, "integrity_check"); err != nil {
		t.Fatalf("backup check: %v", err)
	}

	// What the backup holds: a prefix of the writes, each case whole.
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := copyFile(res.Path, copyPath); err != nil {
		t.Fatal(err)
	}
	bdb, err := Open(ctx, copyPath, testReg)
	if err != nil {
		t.Fatal(err)
	}
	inBackup, err := bdb.AllCases(ctx)
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(inBackup))
	if n < before || n > after {
		t.Fatalf("backup holds %d cases; %d were written before it started and %d when it ended", n, before, after)
	}
	for i, c := range inBackup {
		if want := fmt.Sprintf("Schreiber%d", i); c.Applicant.LastName != want || len(c.Fields) == 0 {
			t.Fatalf("backup case %d: %q, fields %d bytes; want %s (a consistent prefix)", i, c.Applicant.LastName, len(c.Fields), want)
		}
	}
	total, _ := db.AllCases(ctx)
	if int64(len(total)) <= n {
		t.Fatalf("live database has %d cases, backup %d: the test wrote nothing after the backup", len(total), n)
	}

	rr, err := Restore(ctx, res.Path, db.Path(), testReg, false)
	if err != nil {
		t.Fatal(err)
	}
	if !rr.Online {
		t.Error("a healthy database should be restored in place")
	}
	now, err := db.AllCases(ctx) // the handle opened before the restore
	if err != nil {
		t.Fatal(err)
	}
	if len(now) != len(inBackup) {
		t.Fatalf("after restore %d cases, backup had %d", len(now), len(inBackup))
	}
	// The state before the restore is kept aside, readable, 0600.
	st, err = os.Stat(rr.Aside)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("aside file: %v %v", err, st)
	}
	adb, err := Open(ctx, rr.Aside, testReg)
	if err != nil {
		t.Fatal(err)
	}
	aside, _ := adb.AllCases(ctx)
	adb.Close()
	if len(aside) != len(total) {
		t.Fatalf("aside copy has %d cases, the database had %d", len(aside), len(total))
	}
	// The restored database goes on working.
	mustCreate(t, db, newDogCase(t, "nach-restore", "Nora", "Neu", app.OfficeCochem, testNow))
}

// corruptFile overwrites a page in the middle of the file with garbage.
func corruptFile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12*4096 {
		t.Fatalf("file too small to corrupt: %d", len(b))
	}
	for i := 8 * 4096; i < 8*4096+4096; i++ {
		b[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// filledDB writes n cases into a new database file, closes it and returns its path.
func filledDB(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "amtstresen.db")
	db, err := Open(context.Background(), path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		mustCreate(t, db, newDogCase(t, fmt.Sprintf("f-%d", i), "Fritz", fmt.Sprintf("Füller%d", i), app.OfficeZell, testNow))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCorruptDatabaseDetected damages a database file on disk: the check at
// start (quick_check) finds it and the message names the newest backup and
// the restore command; restore then puts the damaged file aside and the
// backup in its place.
func TestCorruptDatabaseDetected(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "amtstresen.db")
	db, err := Open(ctx, path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		mustCreate(t, db, newDogCase(t, fmt.Sprintf("f-%d", i), "Fritz", fmt.Sprintf("Füller%d", i), app.OfficeZell, testNow))
	}
	backups := filepath.Join(t.TempDir(), "sicherungen")
	res, err := db.Backup(ctx, BackupOptions{Dir: backups, Daily: 7, Weekly: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QuickCheck(ctx, false, backups); err != nil {
		t.Fatalf("healthy database: %v", err)
	}
	db.Close()
	corruptFile(t, path)

	err = func() error {
		db, err := Open(ctx, path, testReg)
		if err != nil {
			if IsCorruption(err) {
				return Corrupt(path, backups, err)
			}
			return err
		}
		defer db.Close()
		return db.QuickCheck(ctx, false, backups)
	}()
	wantCode(t, err, app.ECORRUPT)
	msg := app.ErrorMessage(err)
	for _, want := range []string{"beschädigt", "amtstresen restore \"" + res.Path + "\"", "beiseitegelegt"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}

	rr, err := Restore(ctx, res.Path, path, testReg, false)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Online {
		t.Error("a damaged database cannot be restored in place")
	}
	if _, err := os.Stat(rr.Aside); err != nil {
		t.Fatalf("damaged file not kept aside: %v", err)
	}
	db, err = Open(ctx, path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QuickCheck(ctx, true, backups); err != nil {
		t.Fatal(err)
	}
	if cs, _ := db.AllCases(ctx); len(cs) != 200 {
		t.Fatalf("restored %d cases, want 200", len(cs))
	}
}

// TestRestoreRefusesDamagedBackup: a damaged backup changes nothing.
func TestRestoreRefusesDamagedBackup(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "amtstresen.db")
	db, err := Open(ctx, path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, newDogCase(t, "a", "Anna", "Alt", app.OfficeZell, testNow))
	db.Close()
	bad := filledDB(t, 200)
	corruptFile(t, bad)
	before, _ := os.ReadFile(path)
	_, err = Restore(ctx, bad, path, testReg, false)
	wantCode(t, err, app.EINVALID)
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("a refused restore changed the database")
	}
	notDB := filepath.Join(t.TempDir(), "x.db")
	os.WriteFile(notDB, []byte(strings.Repeat("x", 9000)), 0o600)
	_, err = Restore(ctx, notDB, path, testReg, false)
	wantCode(t, err, app.EINVALID)
	es, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range es {
		if strings.Contains(e.Name(), "wiederherstellung") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestBackupRotation: 90 nightly backups leave the 7 newest days and the
// newest backup of each of the 4 newest ISO weeks; none older than 4 weeks.
func TestBackupRotation(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 9, 1, 2, 0, 0, 0, app.Berlin)
	var last time.Time
	for d := 0; d < 90; d++ {
		last = start.AddDate(0, 0, d)
		os.WriteFile(filepath.Join(dir, "amtstresen-"+last.Format(backupLayout)+".db"), []byte("x"), 0o600)
		if _, _, err := Rotate(dir, "amtstresen.db", 7, 4); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "notiz.txt"), []byte("bleibt"), 0o600)
	kept, removed, err := Rotate(dir, "amtstresen.db", 7, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 0 {
		t.Errorf("second rotation removed %v", removed)
	}
	if len(kept) < 7 || len(kept) > 11 {
		t.Fatalf("kept %d: %v", len(kept), kept)
	}
	for i := 0; i < 7; i++ {
		want := "amtstresen-" + last.AddDate(0, 0, -i).Format(backupLayout) + ".db"
		if filepath.Base(kept[i]) != want {
			t.Errorf("kept[%d] = %s, want %s", i, filepath.Base(kept[i]), want)
		}
	}
	oldest := filepath.Base(kept[len(kept)-1])
	ot, _ := time.ParseInLocation(backupLayout, backupPattern("amtstresen.db").FindStringSubmatch(oldest)[1], app.Berlin)
	if age := last.Sub(ot); age > 28*24*time.Hour || age < 21*24*time.Hour {
		t.Errorf("oldest kept backup is %v old, want 3–4 weeks", age)
	}
	if _, err := os.Stat(filepath.Join(dir, "notiz.txt")); err != nil {
		t.Error("rotation removed a file that is not a backup")
	}
}

// TestBackupsPerDatabase: backups of two databases in one folder are named,
// listed and rotated each by its own database (rotating one never removes
// the other's), and restore refuses the other database's backup unless
// forced. Before, both were "amtstresen-…" and the rotation of one deleted
// the other's.
func TestBackupsPerDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	backups := filepath.Join(dir, "sicherungen")
	open := func(name string) *DB {
		db, err := Open(ctx, filepath.Join(dir, name), testReg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	main, demo := open("amtstresen.db"), open("demo.db")
	mustCreate(t, demo, newDogCase(t, "d1", "Demo", "Daten", app.OfficeZell, testNow))
	if DatabaseID(ctx, main.Path()) == "" || DatabaseID(ctx, main.Path()) == DatabaseID(ctx, demo.Path()) {
		t.Fatalf("database ids %q and %q", DatabaseID(ctx, main.Path()), DatabaseID(ctx, demo.Path()))
	}
	day := time.Date(2026, 11, 1, 2, 0, 0, 0, app.Berlin)
	dres, err := demo.Backup(ctx, BackupOptions{Dir: backups, Daily: 1, Weekly: 1, Now: day})
	if err != nil {
		t.Fatal(err)
	}
	if got := filepath.Base(dres.Path); got != "demo-20261101-020000.db" {
		t.Errorf("demo backup named %s", got)
	}
	// Ten days of backups of the main database, rotated to one.
	for d := 1; d <= 10; d++ {
		if _, err := main.Backup(ctx, BackupOptions{Dir: backups, Daily: 1, Weekly: 1, Now: day.AddDate(0, 0, d)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := Backups(backups, demo.Path()); len(got) != 1 || got[0] != dres.Path {
		t.Fatalf("demo backups after rotating the main database: %v", got)
	}
	mb := Backups(backups, main.Path())
	if len(mb) != 1 || !strings.HasPrefix(filepath.Base(mb[0]), "amtstresen-2026111") {
		t.Fatalf("main backups %v", mb)
	}
	if got := LatestBackup(backups, main.Path()); got != mb[0] {
		t.Errorf("latest backup of the main database = %s", got)
	}
	// Restoring the demo's backup over the main database: refused, nothing changed.
	_, err = Restore(ctx, dres.Path, main.Path(), testReg, false)
	wantCode(t, err, app.EINVALID)
	if !strings.Contains(app.ErrorMessage(err), "anderen Datenbank") || !strings.Contains(app.ErrorMessage(err), "--force") {
		t.Errorf("message = %q", app.ErrorMessage(err))
	}
	if n, _ := main.CountCases(ctx, app.CaseFilter{}); n != 0 {
		t.Fatalf("main database changed: %d cases", n)
	}
	// A renamed copy is still the other database (by its id).
	renamed := filepath.Join(dir, "amtstresen-20261201-020000.db")
	if err := copyFile(dres.Path, renamed); err != nil {
		t.Fatal(err)
	}
	_, err = Restore(ctx, renamed, main.Path(), testReg, false)
	wantCode(t, err, app.EINVALID)
	// Its own backup is fine; forced, the other one too.
	if _, err := Restore(ctx, mb[0], main.Path(), testReg, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, dres.Path, main.Path(), testReg, true); err != nil {
		t.Fatal(err)
	}
	if n, _ := main.CountCases(ctx, app.CaseFilter{}); n != 1 {
		t.Errorf("after the forced restore: %d cases, want the demo's 1", n)
	}
}

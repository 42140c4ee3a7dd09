package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	portaldemo "amtstresen/sync/demo"
)

// hostile is signed text as a hostile portal delivery could carry it: an
// ANSI escape sequence that clears the screen and colours it, a bell, a
// NUL, a line break that would start a fake table row, and a bidi
// override that shows "‮gpj.exe" as "exe.jpg".
const hostile = "Anna\x1b[2J\x1b[31m\a\x00 Muster\r\nZEL-2026-99999 fake\u202egpj.exe"

// TestTablesNeutraliseSignedText: the tables of `cases`, `appointments`
// and `review` show signed text neutralised (no control or bidi character
// reaches the terminal), and the store keeps it exactly as it arrived.
func TestTablesNeutraliseSignedText(t *testing.T) {
	dbPath, _ := confirmEnv(t)
	ctx := context.Background()
	db, err := storage.Open(ctx, dbPath, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.CreateCase(ctx, &app.NewCase{IdempotencyKey: "h1", Channel: app.ChannelPortal, PortalCase: "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4a11",
		Service: "hund-anmelden\x1b[5m", Applicant: app.Applicant{FirstName: hostile, LastName: "X"},
		Routing: app.Decision{Office: app.OfficeZell}, ReceivedAt: time.Date(2026, 11, 27, 17, 4, 0, 0, time.UTC)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyAppointment(ctx, &app.Appointment{UID: "h2@cochem-zell-online.de", Service: "kfz-zulassung\a", Office: app.OfficeKreis,
		Status: app.AppointmentConfirmed, CitizenName: hostile, Start: time.Date(2026, 12, 4, 8, 30, 0, 0, time.UTC),
		End: time.Date(2026, 12, 4, 8, 45, 0, 0, time.UTC)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.AddReview(ctx, &app.ReviewItem{MessageID: "h3@x", Subject: hostile, From: "\u202eevil@example.org", Reason: app.ReviewNotPortal,
		ReceivedAt: time.Date(2026, 11, 27, 17, 4, 0, 0, time.UTC), Raw: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	stored, err := db.CaseByRef(ctx, c.Ref)
	db.Close()
	if err != nil || stored.Applicant.FirstName != hostile {
		t.Fatalf("the store changed what arrived: %q %v", stored.Applicant.FirstName, err)
	}
	as(t, "it")
	for _, cmd := range [][]string{{"cases"}, {"appointments"}, {"review"}} {
		out := mustRun(t, append(cmd, "--db", dbPath)...)
		for _, r := range out {
			if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Errorf("%s: %U reaches the terminal:\n%q", cmd[0], r, out)
				break
			}
		}
		if !strings.Contains(out, "Anna␛[2J␛[31m␇␀ Muster␍␊ZEL-2026-99999 fake<U+202E>gpj.exe") && !strings.Contains(out, "<U+202E>evil@example.org") {
			t.Errorf("%s: the text is not shown neutralised:\n%s", cmd[0], out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "ZEL-2026-99999") {
				t.Errorf("%s: the line break in the data started a row of its own:\n%s", cmd[0], out)
			}
		}
	}
}

// TestSyncOnceWhileAnotherRuns: a second `sync --once` on a database
// another sync holds waits as long as --wait says, then ends harmlessly:
// exit 0 and a German sentence that says so.
func TestSyncOnceWhileAnotherRuns(t *testing.T) {
	dbPath, _ := confirmEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := portaldemo.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	t.Setenv("AMTSTRESEN_TEST_IMAP_PW", d.Password)
	cfg := writeConfig(t, "[imap]\naddress = \""+d.Addr+"\"\ntls = \"none\"\nusername = \""+d.User+"\"\npassword_env = \"AMTSTRESEN_TEST_IMAP_PW\"\n[portal]\npublic_key = \""+d.PublicKey+"\"\n")
	db, err := storage.Open(ctx, dbPath, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	unlock, err := db.LockSync(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, errOut, rc := runCmd(t, "sync", "--once", "--wait", "300ms", "--db", dbPath, "--config", cfg)
	if rc != 0 || !strings.Contains(out, "Abgleich läuft bereits") || strings.Contains(out+errOut, "IT verständigen") {
		t.Fatalf("second sync: rc %d\n%s%s", rc, out, errOut)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("did not wait (%v)", took)
	}
	if n, _ := db.CountCases(ctx, app.CaseFilter{}); n != 1 {
		t.Errorf("%d cases: the skipped run took something in", n)
	}
	unlock()
	out, errOut, rc = runCmd(t, "sync", "--once", "--db", dbPath, "--config", cfg)
	if rc != 0 || strings.Contains(out, "läuft bereits") {
		t.Fatalf("sync after the other ended: rc %d\n%s%s", rc, out, errOut)
	}
	if _, err := filepath.Abs(db.SyncLockPath()); err != nil {
		t.Fatal(err)
	}
}

package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

// TestKillChild is the child process of TestDovecotKilledMidSync: it syncs
// and reports progress on stdout until it is killed.
func TestKillChild(t *testing.T) {
	if os.Getenv("AMTSTRESEN_KILL_CHILD") == "" {
		t.Skip("only as child process of TestDovecotKilledMidSync")
	}
	db, err := storage.Open(context.Background(), os.Getenv("AMTSTRESEN_KILL_DB"), reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: os.Getenv("AMTSTRESEN_KILL_ADDR"), TLS: mailbox.TLSNone, Username: "eingang",
		PasswordEnv: "AMTSTRESEN_KILL_PW"}, Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
	cfg.Defaults()
	s, err := sync.New(cfg, db, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.BatchSize = 25
	_, err = s.Sync(context.Background(), func(done, total int) { fmt.Printf("progress %d %d\n", done, total) })
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("finished")
}

// runChild starts the child and kills it with SIGKILL once it reported
// killAt mails done (0: let it finish). It returns whether it was killed.
func runChild(t *testing.T, d *dovecottest.Server, dbPath string, killAt int) bool {
	t.Helper()
	return killChildAt(t, "TestKillChild", "progress", killAt, "AMTSTRESEN_KILL_CHILD=1", "AMTSTRESEN_KILL_DB="+dbPath,
		"AMTSTRESEN_KILL_ADDR="+d.Addr, "AMTSTRESEN_KILL_PW="+d.Password)
}

// killChildAt runs the test named child in a child process with env added
// and kills it with SIGKILL once it printed a line "word N …" with
// N >= killAt (0: let it finish). It returns whether it was killed.
func killChildAt(t *testing.T, child, word string, killAt int, env ...string) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == word && killAt > 0 && !killed {
			if n, _ := strconv.Atoi(f[1]); n >= killAt {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
	}
	err = cmd.Wait()
	if !killed && err != nil {
		t.Fatalf("child failed: %v", err)
	}
	return killed
}

func TestDovecotKilledMidSync(t *testing.T) {
	d := dovecottest.Start(t)
	g := portaltest.New(31)
	mails := g.Bulk(400)
	mails = append(mails, g.Mix(60)...)
	resent := g.Resend(mails[0])
	mails = append(mails, resent)
	var raws [][]byte
	for _, m := range mails {
		raws = append(raws, m.Raw)
	}
	if err := d.FillInbox(raws); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "kill.db")
	// Kill twice at different points, then let it finish.
	for _, at := range []int{90, 260} {
		if !runChild(t, d, dbPath, at) {
			t.Fatalf("child finished before it could be killed at %d", at)
		}
		in, _ := d.Count("INBOX")
		t.Logf("killed at %d: %d mails left in the inbox", at, in)
	}
	runChild(t, d, dbPath, 0)

	st := openStore(t, dbPath)
	defer st.Close()
	ctx := context.Background()
	// No loss: every mail filed exactly once, none left.
	in, p, r := counts(t, d)
	if in != 0 || p+r != len(mails) {
		t.Fatalf("inbox %d processed %d review %d, want %d filed", in, p, r, len(mails))
	}
	var filed []string
	for _, box := range []string{"Übernommen", "Zur Sichtung"} {
		ids, err := d.MessageIDs(box)
		if err != nil {
			t.Fatal(err)
		}
		filed = append(filed, ids...)
	}
	sort.Strings(filed)
	for i := 1; i < len(filed); i++ {
		if filed[i] == filed[i-1] {
			t.Errorf("mail %s filed twice", filed[i])
		}
	}
	// No duplicate: one case per application, each message once.
	vorgaenge := map[string]bool{}
	messages := map[string]int{}
	for _, m := range mails {
		switch {
		case m.Review != "":
		case m.Kind == "antrag":
			vorgaenge[m.Vorgang] = true
		case m.Kind == "nachricht":
			messages[m.Vorgang]++
		}
	}
	if n, _ := st.CountCases(ctx, app.CaseFilter{}); n != len(vorgaenge) {
		t.Errorf("%d cases, want %d", n, len(vorgaenge))
	}
	for v := range vorgaenge {
		if _, err := st.CaseByPortalID(ctx, v); err != nil {
			t.Errorf("case %s lost: %v", v, err)
		}
	}
	// Messages on a case: never more than were sent (re-sent identical
	// messages count once, by their key).
	checked := 0
	for v, want := range messages {
		c, err := st.CaseByPortalID(ctx, v)
		if err != nil {
			continue // message for an unknown case
		}
		notes, err := st.Notes(ctx, c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, n := range notes {
			if n.Kind == "message" {
				got++
			}
		}
		if got > want || got == 0 {
			t.Errorf("case %s: %d messages, want ≤ %d and > 0", c.Ref, got, want)
		}
		checked++
	}
	items, _ := st.ReviewItems(ctx, true)
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.MessageID] {
			t.Errorf("review item %s twice", it.MessageID)
		}
		seen[it.MessageID] = true
	}
	t.Logf("%d mails, %d cases, %d cases with messages checked, %d review items, %v", len(mails), len(vorgaenge), checked, len(items), time.Now().Format(time.TimeOnly))
}

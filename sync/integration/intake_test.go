package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

// Issue 12 against the real Dovecot: the reproductions, two syncs at
// once, a server without MOVE and UIDPLUS, a full and a read-only disk,
// and the retention purge reaching the mailbox.

func repro(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "repro", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDovecotRepro: the reproductions of ../shared/portal/repro, each pair
// appended to INBOX in name order, end as the table there says.
func TestDovecotRepro(t *testing.T) {
	d := dovecottest.Start(t)
	for _, name := range []string{"msgid-1-unsigned-same-message-id.eml", "msgid-2-genuine.eml", "swap-1-antrag.eml", "swap-2-antrag-replayed-as-ruecknahme.eml"} {
		save(t, d, repro(t, name))
	}
	st := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	res := mustSync(t, newSyncer(t, d, st))
	ctx := context.Background()
	// msgid: the genuine delivery becomes its case; the unsigned mail is
	// on the review list; both are on the server.
	if _, err := st.CaseByPortalID(ctx, "753a60ee-85a5-45bc-9e1a-559a817f3f9d"); err != nil {
		t.Errorf("msgid-2 is no case: %v", err)
	}
	// swap: 2 is payload-invalid on the review list; the case stays.
	c, err := st.CaseByPortalID(ctx, "21636369-8b52-4b4a-97b7-50923ceb3ffd")
	if err != nil || c.Status != app.StatusReceived || len(c.Flags) != 0 {
		t.Errorf("swap-1's case changed: %+v %v", c, err)
	}
	items, _ := st.ReviewItems(ctx, true)
	reasons := map[string]app.ReviewReason{}
	for _, it := range items {
		reasons[it.MessageID] = it.Reason
	}
	if len(items) != 2 || reasons["74617fde18ace9b32958@mail.cochem-zell-online.de"] != app.ReviewNotPortal ||
		reasons["forged-ruecknahme-1@evil.example"] != app.ReviewPayloadInvalid {
		t.Errorf("review list %v", reasons)
	}
	if in, p, r := counts(t, d); in != 0 || p != 2 || r != 2 || res.Cases != 2 {
		t.Errorf("folders: inbox %d, processed %d, review %d; %+v", in, p, r, res)
	}
}

// TestConcurrentChild is the child process of TestDovecotConcurrentSyncs:
// one `sync --once` on the database it is given.
func TestConcurrentChild(t *testing.T) {
	if os.Getenv("AMTSTRESEN_CONC_CHILD") == "" {
		t.Skip("only as child process of TestDovecotConcurrentSyncs")
	}
	db, err := storage.Open(context.Background(), os.Getenv("AMTSTRESEN_CONC_DB"), reg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: os.Getenv("AMTSTRESEN_CONC_ADDR"), TLS: mailbox.TLSNone, Username: "eingang",
		PasswordEnv: "AMTSTRESEN_CONC_PW"}, Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
	cfg.Defaults()
	s, err := sync.New(cfg, db, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.BatchSize = 7
	if w, err := time.ParseDuration(os.Getenv("AMTSTRESEN_CONC_WAIT")); err == nil {
		s.LockWait = w
	}
	res, err := s.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("result:", res.Summary())
}

// TestDovecotConcurrentSyncs (point 3): two syncs started at the same
// moment on one database, 20 rounds with new mail each: no panic (both
// end with exit 0, the second one waiting, or skipping with „läuft
// bereits“), every mail on the server exactly once, nothing taken in
// twice.
func TestDovecotConcurrentSyncs(t *testing.T) {
	d := dovecottest.Start(t)
	dbPath := filepath.Join(t.TempDir(), "conc.db")
	g := portaltest.New(61)
	delivered := 0
	vorgaenge := map[string]bool{}
	skipped := 0
	for round := range 20 {
		var raws [][]byte
		for i := range 12 {
			var m *portaltest.Mail
			switch i % 4 {
			case 0, 1:
				m = g.Antrag(portaltest.AntragSpec{})
				vorgaenge[m.Vorgang] = true
			case 2:
				m, _ = g.Termin(portaltest.TerminSpec{})
			default:
				m = g.CitizenMail()
			}
			raws = append(raws, m.Raw)
		}
		if err := d.FillInbox(raws); err != nil {
			t.Fatal(err)
		}
		delivered += len(raws)
		wait := "10s"
		if round%2 == 1 {
			wait = "0s" // the second one skips at once
		}
		var wg gosync.WaitGroup
		outs := make([]string, 2)
		errs := make([]error, 2)
		for k := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentChild$", "-test.count=1", "-test.v")
				cmd.Env = append(os.Environ(), "AMTSTRESEN_CONC_CHILD=1", "AMTSTRESEN_CONC_DB="+dbPath, "AMTSTRESEN_CONC_ADDR="+d.Addr,
					"AMTSTRESEN_CONC_PW="+d.Password, "AMTSTRESEN_CONC_WAIT="+wait)
				out, err := cmd.CombinedOutput()
				outs[k], errs[k] = string(out), err
			}()
		}
		wg.Wait()
		for k := range 2 {
			if errs[k] != nil || strings.Contains(outs[k], "panic") {
				t.Fatalf("round %d, sync %d: %v\n%s", round, k, errs[k], outs[k])
			}
			if strings.Contains(outs[k], "läuft bereits") {
				skipped++
			}
		}
		in, p, r := counts(t, d)
		if in+p+r != delivered {
			t.Fatalf("round %d: %d mails on the server, %d delivered (inbox %d, processed %d, review %d)", round, in+p+r, delivered, in, p, r)
		}
	}
	// Whatever is left (a round whose second sync skipped and whose first
	// had not seen the last mail) is taken by one more run.
	st := openStore(t, dbPath)
	defer st.Close()
	mustSync(t, newSyncer(t, d, st))
	in, p, r := counts(t, d)
	if in != 0 || p+r != delivered {
		t.Errorf("after all: inbox %d, processed %d, review %d; %d delivered", in, p, r, delivered)
	}
	var ids []string
	for _, box := range []string{"Übernommen", "Zur Sichtung"} {
		l, err := d.MessageIDs(box)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l...)
	}
	sort.Strings(ids)
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Errorf("mail %s twice on the server", ids[i])
		}
	}
	if n, _ := st.CountCases(context.Background(), app.CaseFilter{}); n != len(vorgaenge) {
		t.Errorf("%d cases, want %d", n, len(vorgaenge))
	}
	t.Logf("%d mails in 20 rounds; %d runs skipped with „läuft bereits“", delivered, skipped)
}

// capsProxy forwards to an IMAP server and hides capabilities from its
// answers (MOVE, UIDPLUS and IMAP4rev2, which implies both): a server
// without them, in front of the real Dovecot.
type capsProxy struct{ ln net.Listener }

var capsRE = regexp.MustCompile(`(?i) (MOVE|UIDPLUS|IMAP4rev2)\b`)

func startCapsProxy(t testing.TB, target string) *capsProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() { hideCaps(c, s); c.Close() }()
		}
	}()
	return &capsProxy{ln: ln}
}

var literalRE = regexp.MustCompile(`\{(\d+)\}\r\n$`)

// hideCaps copies the server's answers line by line, passing literals
// through untouched and rewriting capability lists.
func hideCaps(w io.Writer, r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if bytes.Contains(bytes.ToUpper(line), []byte("CAPABILITY")) {
				line = capsRE.ReplaceAll(line, nil)
			}
			if _, werr := w.Write(line); werr != nil {
				return
			}
			if m := literalRE.FindSubmatch(line); m != nil {
				n, _ := strconv.Atoi(string(m[1]))
				if _, err := io.CopyN(w, br, int64(n)); err != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// TestDovecotWithoutMoveAndUIDPlus (point 5): in front of Dovecot a proxy
// hides MOVE and UIDPLUS. The sync copies nothing (no copy could be
// removed from the inbox without a plain EXPUNGE), says how many mails it
// left in the inbox and why, and however often the cursor starts over (a
// new UIDVALIDITY, a new database) no copy grows anywhere.
func TestDovecotWithoutMoveAndUIDPlus(t *testing.T) {
	d := dovecottest.Start(t)
	g := portaltest.New(62)
	var raws [][]byte
	for range 8 {
		raws = append(raws, g.Antrag(portaltest.AntragSpec{}).Raw)
	}
	raws = append(raws, g.CitizenMail().Raw, g.Bounce().Raw)
	if err := d.FillInbox(raws); err != nil {
		t.Fatal(err)
	}
	p := startCapsProxy(t, d.Addr)
	sync1 := func(st sync.Store) *sync.Result {
		cfg := config(d)
		cfg.IMAP.Address = p.ln.Addr().String()
		s, err := sync.New(cfg, st, reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		pw := d.Password
		s.Password = func() (string, error) { return pw, nil }
		return mustSync(t, s)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	defer st.Close()
	res := sync1(st)
	if res.Kept != 10 || res.Cases != 8 || !strings.Contains(res.Summary(), "weder MOVE noch UIDPLUS") {
		t.Errorf("first run %+v: %s", res, res.Summary())
	}
	for round := range 3 {
		if err := d.SetUIDValidity("INBOX", uint32(900+round)); err != nil {
			t.Fatal(err)
		}
		res = sync1(st)
		if res.Recovered != 10 || res.Cases != 0 || res.Kept != 10 {
			t.Errorf("round %d after a new UIDVALIDITY: %+v", round, res)
		}
		if in, pr, rv := counts(t, d); in != 10 || pr != 0 || rv != 0 {
			t.Fatalf("round %d: inbox %d, processed %d, review %d", round, in, pr, rv)
		}
	}
	fresh := openStore(t, filepath.Join(t.TempDir(), "b.db"))
	defer fresh.Close()
	if res := sync1(fresh); res.Cases != 8 || res.Kept != 10 {
		t.Errorf("fresh database %+v", res)
	}
	if in, pr, rv := counts(t, d); in != 10 || pr+rv != 0 {
		t.Errorf("after a fresh database: inbox %d, processed %d, review %d", in, pr, rv)
	}
}

// mountTmpfs mounts a small tmpfs (the tests run as root, like Dovecot's)
// and unmounts it at the end.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "platte")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (the test needs root, as Dovecot's do): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v: %s", opts, err, out)
	}
}

// TestDovecotDiskFullAndReadOnly (point 7): the database on a real small
// disk that fills up, then on one mounted read-only. The sync ends with a
// German sentence naming the cause and what to do; nothing is
// half-written (every committed case has its mail filed or still in the
// inbox, none twice); when the disk has room again, the rest is taken in.
func TestDovecotDiskFullAndReadOnly(t *testing.T) {
	d := dovecottest.Start(t)
	g := portaltest.New(63)
	var raws [][]byte
	for range 60 {
		raws = append(raws, g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden", Files: []portaltest.File{{Name: "foto.jpg", Type: "image/jpeg", Data: g.JPEG(60000)}}}).Raw)
	}
	if err := d.FillInbox(raws); err != nil {
		t.Fatal(err)
	}
	dir := mountTmpfs(t, "1500k")
	dbPath := filepath.Join(dir, "a.db")
	st := openStore(t, dbPath)
	s := newSyncer(t, d, st)
	s.BatchSize = 10
	_, err := s.Sync(context.Background(), nil)
	msg := app.ErrorMessage(err)
	if err == nil || !strings.Contains(msg, "kein Platz mehr") || !strings.Contains(msg, "Bitte Platz schaffen") || strings.Contains(msg, "interner Fehler") {
		t.Fatalf("full disk: %v\n%s", err, msg)
	}
	ctx := context.Background()
	n, _ := st.CountCases(ctx, app.CaseFilter{})
	in, p, _ := counts(t, d)
	if n >= 60 || p > n || in+p != 60 {
		t.Errorf("after the full disk: %d cases, inbox %d, processed %d", n, in, p)
	}
	t.Logf("full after %d cases", n)

	// Room again; then the disk is read-only (a folder the job's account
	// may not write, a medium mounted read-only) when the sync starts.
	remount(t, dir, "size=64m")
	st.Close()
	remount(t, dir, "ro")
	more := g.Antrag(portaltest.AntragSpec{})
	save(t, d, more.Raw)
	_, err = storage.Open(ctx, dbPath, reg)
	msg = app.ErrorMessage(err)
	if err == nil || !strings.Contains(msg, "kann nicht geschrieben werden") || !strings.Contains(msg, "schreibgeschützt") || strings.Contains(msg, "interner Fehler") {
		t.Errorf("read-only disk: %v\n%s", err, msg)
	}

	remount(t, dir, "rw")
	st = openStore(t, dbPath)
	defer st.Close()
	mustSync(t, newSyncer(t, d, st))
	if n, _ := st.CountCases(ctx, app.CaseFilter{}); n != 61 {
		t.Errorf("%d cases after the disk is back, want 61", n)
	}
	if in, p, r := counts(t, d); in != 0 || p != 61 || r != 0 {
		t.Errorf("folders after the disk is back: inbox %d, processed %d, review %d", in, p, r)
	}
}

// folderCases returns the X-Buergerportal-Vorgang of every mail in a
// folder.
func folderCases(t *testing.T, d *dovecottest.Server, box string) []string {
	t.Helper()
	out, err := d.Doveadm("-f", "tab", "fetch", "-u", d.User, "hdr.x-buergerportal-vorgang", "mailbox", box)
	if err != nil {
		if strings.Contains(out, "doesn't exist") {
			return nil
		}
		t.Fatal(err)
	}
	var ids []string
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if i > 0 {
			ids = append(ids, strings.TrimSpace(l))
		}
	}
	return ids
}

// TestDovecotPurgeReachesMailbox (point 12): after the retention purge no
// mail of the purged case stays on the server — neither its application
// and message in "Übernommen" nor a forged mail about it in "Zur
// Sichtung", nor a copy someone put there whose place was never recorded
// — while the other case's mail stays; a handled review mail past its
// period goes too.
func TestDovecotPurgeReachesMailbox(t *testing.T) {
	d := dovecottest.Start(t)
	g := portaltest.New(64)
	a := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
	b := g.Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
	spam := g.Spam()
	save(t, d, a.Raw, g.Nachricht(a.Vorgang, "Bitte vor 10 Uhr").Raw, portaltest.Unsigned(g.Resend(a)).Raw, b.Raw, spam.Raw)
	dbPath := filepath.Join(t.TempDir(), "a.db")
	db, err := storage.Open(context.Background(), dbPath, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := newSyncer(t, d, db)
	mustSync(t, s)
	// A copy of the application in "Übernommen" whose place nobody
	// recorded (an admin copied it back, say).
	if err := d.Save("Übernommen", a.Raw); err != nil {
		t.Fatal(err)
	}
	if got := folderCases(t, d, "Übernommen"); len(got) != 4 {
		t.Fatalf("Übernommen before: %v", got)
	}
	ctx := context.Background()
	c, err := db.CaseByPortalID(ctx, a.Vorgang)
	if err != nil {
		t.Fatal(err)
	}
	clerk := app.Actor{Clerk: "mm"}
	for _, step := range []struct {
		to     app.Status
		reason string
	}{{app.StatusInProgress, ""}, {app.StatusDone, "abgeholt"}} {
		if err := db.SetStatus(ctx, c.Ref, step.to, step.reason, clerk); err != nil {
			t.Fatal(err)
		}
	}
	items, _ := db.ReviewItems(ctx, false)
	for _, it := range items {
		if it.MessageID == spam.MessageID {
			if err := db.ResolveReview(ctx, it.ID, "handled", "Werbung", clerk); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := db.Purge(ctx, storage.PurgeOptions{Now: time.Now().AddDate(20, 0, 0), ReviewMonths: 12})
	if err != nil || len(rep.Cases) != 1 || rep.ReviewMails < 1 {
		t.Fatalf("purge: %+v %v", rep, err)
	}
	removed, err := s.PurgeMailbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, box := range []string{"Übernommen", "Zur Sichtung"} {
		for _, id := range folderCases(t, d, box) {
			if id == a.Vorgang {
				t.Errorf("a mail of the purged case is still in %s", box)
			}
		}
	}
	if got := folderCases(t, d, "Übernommen"); len(got) != 1 || got[0] != b.Vorgang {
		t.Errorf("Übernommen after the purge: %v (the other case's mail must stay)", got)
	}
	if ids, _ := d.MessageIDs("Zur Sichtung"); len(ids) != 0 {
		t.Errorf("Zur Sichtung after the purge: %v", ids)
	}
	if removed != 5 {
		t.Errorf("%d mails removed, want 5", removed)
	}
	if jobs, _ := db.MailPurges(ctx); len(jobs) != 0 {
		t.Errorf("%d purge jobs left", len(jobs))
	}
	if n, err := s.PurgeMailbox(ctx); n != 0 || err != nil {
		t.Errorf("a second run: %d %v", n, err)
	}
}

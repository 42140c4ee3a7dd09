package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/portalsim"
	"amtstresen/sync/portaltest"
	"amtstresen/sync/postfixtest"
	"amtstresen/sync/rueckkanal"
)

const (
	e2eReturn = "rueckkanal@portal.test"
	e2eReject = "abgelehnt@portal.test"
)

// e2e is the whole return channel with real parts: the functional
// mailbox in a real Dovecot (user "eingang"), the office's relay a real
// Postfix, which hands the portal's mail by LMTP to the same Dovecot (user
// "rueckkanal", the portal's return address), and the test portal that
// reads that mailbox, verifies each status message with the offices'
// public keys and answers with a signed quittung into the functional
// mailbox. The counter is the program itself: its commands on a SQLite
// file.
type e2e struct {
	dc      *dovecottest.Server
	pf      *postfixtest.Server
	portal  *portalsim.Portal
	in, out portalsim.Mailbox
	keys    map[app.OfficeKey]*rueckkanal.OfficeKey
	gen     *portaltest.Generator
	dbPath  string
	cfg     string // return_address = e2eReturn
	reject  string // the same, return_address = e2eReject (refused by the relay)
	dbArgs  []string
	view    string // the configuration `outbox` runs with
	// pastDue moves a failed message's next attempt into the past (the
	// backoff has passed), behind the program's back.
	pastDue func(t *testing.T, nachricht string)
}

// startE2E starts the parts. database is "" for a SQLite file, else the
// [database] section the sync and the sender run with (PostgreSQL as the
// sync's service account), and view the configuration of the one who
// lists the outbox.
func startE2E(t *testing.T, database, view string) *e2e {
	t.Helper()
	emptyHome(t)
	dc := dovecottest.StartWith(t, dovecottest.Options{LMTP: true})
	pf := postfixtest.Start(t, postfixtest.Options{LMTPAddr: dc.LMTPAddr, Reject: []string{e2eReject}})
	dir := t.TempDir()
	x := &e2e{dc: dc, pf: pf, gen: portaltest.New(31), dbPath: filepath.Join(dir, "amtstresen.db"),
		in:  portalsim.Mailbox{Addr: dc.Addr, User: "rueckkanal", Password: dc.Password},
		out: portalsim.Mailbox{Addr: dc.Addr, User: dc.User, Password: dc.Password}}
	var offices string
	x.keys, offices = officeKeyFiles(t, dir)
	known := map[app.OfficeKey]ed25519.PublicKey{}
	for o, k := range x.keys {
		known[o] = k.Public()
	}
	x.portal = portalsim.New(portalsim.Config{PortalKey: portaltest.TestKey(), OfficeKeys: known})
	t.Setenv("E2E_IMAP_PW", dc.Password)
	cfg := func(ret string) string {
		return writeConfig(t, fmt.Sprintf(`[imap]
address = %q
tls = "none"
username = %q
password_env = "E2E_IMAP_PW"

[portal]
public_key = %q
return_address = %q

[smtp]
address = %q
tls = "none"
from = "Verbandsgemeindeverwaltung Cochem <buergerportal@cochem.example>"

%s
%s`, dc.Addr, dc.User, portaltest.TestPublicKeyBase64(), ret, pf.Addr, offices, database))
	}
	x.cfg, x.reject = cfg(e2eReturn), cfg(e2eReject)
	if database == "" {
		x.dbArgs, x.view = []string{"--db", x.dbPath}, x.cfg
		as(t, "it")
		x.run(t, "roles", "set", "it", "admin")
	} else {
		x.view = writeConfig(t, view)
	}
	return x
}

func (x *e2e) runWith(t *testing.T, cfg string, args ...string) string {
	t.Helper()
	return mustRun(t, append(append(args, x.dbArgs...), "--config", cfg)...)
}

func (x *e2e) run(t *testing.T, args ...string) string {
	t.Helper()
	return x.runWith(t, x.cfg, args...)
}

// antrag puts a new portal application into the functional mailbox and
// returns its portal case.
func (x *e2e) antrag(t *testing.T) string {
	t.Helper()
	m := x.gen.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"})
	if err := x.dc.Save("INBOX", m.Raw); err != nil {
		t.Fatal(err)
	}
	return m.Vorgang
}

// message returns the outbox entry of a portal case.
func (x *e2e) message(t *testing.T, portalCase string) outboxJSON {
	t.Helper()
	var list []outboxJSON
	if err := json.Unmarshal([]byte(x.runWith(t, x.view, "outbox", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	var found []outboxJSON
	for _, o := range list {
		if o.PortalCase == portalCase {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("case %s: %d messages in the outbox, want 1", portalCase, len(found))
	}
	return found[0]
}

// returned is the number of mails in the portal's return mailbox.
func (x *e2e) returned(t *testing.T) int {
	t.Helper()
	out, err := x.dc.Doveadm("-f", "flow", "mailbox", "status", "-u", "rueckkanal", "messages", "INBOX")
	if err != nil {
		if strings.Contains(out, "doesn't exist") {
			return 0
		}
		t.Fatal(err)
	}
	i := strings.LastIndex(out, "messages=")
	n, err := strconv.Atoi(strings.TrimSpace(out[i+len("messages="):]))
	if err != nil {
		t.Fatalf("doveadm: %q", out)
	}
	return n
}

// waitReturned waits until Postfix has delivered n mails in all.
func (x *e2e) waitReturned(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for x.returned(t) < n {
		if time.Now().After(deadline) {
			t.Fatalf("return mailbox holds %d of %d mails\npostfix:\n%s", x.returned(t), n, tail(x.pf.Log(), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// answer lets the test portal answer what the return mailbox holds.
func (x *e2e) answer(t *testing.T, p *portalsim.Portal) portalsim.Result {
	t.Helper()
	res, err := p.Poll(context.Background(), x.in, x.out)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestReturnChannelPostfix is the proof of issue 16 with real parts:
// portal antrag → sync → "eingegangen" through Postfix into Dovecot → the
// test portal verifies it → quittung into the functional mailbox → sync
// → the case's message is "im Servicekonto". Then the faults, each with a
// new application.
func TestReturnChannelPostfix(t *testing.T) {
	x := startE2E(t, "", "")
	x.pastDue = func(t *testing.T, nachricht string) {
		rawExec(t, x.dbPath, `UPDATE outbox SET next_attempt = ? WHERE nachricht = ?`,
			time.Now().Add(-time.Second).UTC().Format("2006-01-02T15:04:05.000000000Z"), nachricht)
	}
	x.proof(t)
}

// proof runs the main path and the faults on x's store.
func (x *e2e) proof(t *testing.T) {
	delivered := 0

	t.Run("loop", func(t *testing.T) {
		pc, m := x.loop(t, &delivered)
		if out := x.runWith(t, x.view, "outbox"); !strings.Contains(out, m.Ref) || !strings.Contains(out, "Im Servicekonto") {
			t.Errorf("outbox:\n%s", out)
		}

		// The same quittung again (the portal delivers it twice): one effect.
		q := &rueckkanal.Quittung{Schema: rueckkanal.QuittungSchema, Art: "quittung", Vorgang: pc, Nachricht: m.Nachricht,
			MessageID: "<" + m.MessageID + ">", Ergebnis: rueckkanal.ErgebnisServicekonto, Zeitpunkt: rueckkanal.FormatTime(time.Now())}
		again, err := portalsim.ComposeQuittung(q, portaltest.TestKey(), portalsim.DefaultFrom, portalsim.DefaultTo, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// And a forged one: signed with a key that is not the portal's.
		_, forger, _ := ed25519.GenerateKey(rand.Reader)
		q.Ergebnis = rueckkanal.ErgebnisUnzustellbar
		forged, err := portalsim.ComposeQuittung(q, forger, portalsim.DefaultFrom, portalsim.DefaultTo, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		x.dc.Save("INBOX", again)
		x.dc.Save("INBOX", forged)
		out := x.run(t, "sync", "--once")
		if !strings.Contains(out, "1 Quittung des Portals") || !strings.Contains(out, "1 Mail zur Sichtung") {
			t.Fatalf("sync of the repeat and the forgery:\n%s", out)
		}
		if m2 := x.message(t, pc); m2.State != "servicekonto" || m2.Receipt.At != m.Receipt.At {
			t.Errorf("the repeat or the forgery changed the message: %+v", m2)
		}
		if out := x.runWith(t, x.view, "review", "--json"); !strings.Contains(out, string(app.ReviewSignatureInvalid)) {
			t.Errorf("forged quittung not on the review list:\n%s", out)
		}
		if out := x.runWith(t, x.view, "cases", "--json"); strings.Contains(out, string(app.FlagCitizenUnreachable)) {
			t.Errorf("the forged quittung flagged the case")
		}
	})

	t.Run("postfix stopped", func(t *testing.T) {
		pc := x.antrag(t)
		x.pf.Stop()
		out := x.run(t, "sync", "--once")
		if !strings.Contains(out, "1 Antrag übernommen") || !strings.Contains(out, "1 warten auf einen neuen Versuch") || !strings.Contains(out, "nicht erreichbar") {
			t.Fatalf("sync with the relay down:\n%s", out)
		}
		m := x.message(t, pc)
		if m.State != "failed" || m.Attempts != 1 || m.Next == "" || !strings.Contains(m.Reason, "nicht erreichbar") {
			t.Fatalf("queued while the relay is down: %+v", m)
		}
		if err := x.pf.Start(); err != nil {
			t.Fatal(err)
		}
		// Not before its backoff ends.
		if out := x.run(t, "send", "--once"); !strings.Contains(out, "0 gesendet") {
			t.Fatalf("sent before the backoff ended: %s", out)
		}
		// The backoff has passed (the clock moved on).
		x.pastDue(t, m.Nachricht)
		if out := x.run(t, "send", "--once"); !strings.Contains(out, "1 gesendet") {
			t.Fatalf("relay back: %s", out)
		}
		delivered++
		x.waitReturned(t, delivered)
		x.answer(t, x.portal)
		x.run(t, "sync", "--once")
		if m := x.message(t, pc); m.State != "servicekonto" {
			t.Fatalf("lost: %+v", m)
		}
	})

	t.Run("recipient refused", func(t *testing.T) {
		pc := x.antrag(t)
		out := x.runWith(t, x.reject, "sync", "--once")
		if !strings.Contains(out, "1 nicht gesendet") {
			t.Fatalf("sync:\n%s", out)
		}
		m := x.message(t, pc)
		if m.State != "undelivered" || !strings.Contains(m.Reason, "endgültig abgelehnt") {
			t.Fatalf("refused by the relay: %+v", m)
		}
		if out := x.runWith(t, x.view, "outbox", "--undelivered"); !strings.Contains(out, m.Ref) || !strings.Contains(out, "Nicht versendet") {
			t.Errorf("outbox --undelivered:\n%s", out)
		}
		if out := x.run(t, "send", "--once"); !strings.Contains(out, "0 gesendet") {
			t.Errorf("a refused message was tried again: %s", out)
		}
	})

	t.Run("killed between relay and outbox", func(t *testing.T) {
		pc := x.antrag(t)
		// Take the application in without sending (no [smtp] in this config).
		full := readFile(t, x.cfg)
		i := strings.Index(full, "[smtp]")
		j := i + strings.Index(full[i:], "\n\n")
		plain := writeConfig(t, full[:i]+full[j:])
		x.runWith(t, plain, "sync", "--once")
		// A sender that dies (SIGKILL) right after the relay accepted the
		// message, before the outbox recorded it.
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSendAndDie$")
		cmd.Env = append(os.Environ(), "AMTSTRESEN_DIE_CONFIG="+x.cfg)
		if x.dbArgs != nil {
			cmd.Env = append(cmd.Env, "AMTSTRESEN_DIE_DB="+x.dbPath)
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err == nil || !errorsAs(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the sender was not killed: %v\n%s", err, out)
		}
		delivered++
		x.waitReturned(t, delivered)
		if m := x.message(t, pc); m.State != "queued" || m.MessageID == "" {
			t.Fatalf("after the crash: %+v", m)
		}
		// The next round sends the same bytes again: the same Message-ID.
		if out := x.run(t, "send", "--once"); !strings.Contains(out, "1 gesendet") {
			t.Fatalf("after the crash: %s", out)
		}
		delivered++
		x.waitReturned(t, delivered)
		ids, err := x.dc.Doveadm("-f", "flow", "fetch", "-u", "rueckkanal", "hdr.message-id", "mailbox", "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		m := x.message(t, pc)
		if n := strings.Count(ids, m.MessageID); n != 2 {
			t.Fatalf("the portal has Message-ID %s %d times, want 2:\n%s", m.MessageID, n, ids)
		}
		res := x.answer(t, x.portal)
		if res.Answered != 1 || res.Duplicates != 1 {
			t.Fatalf("portal: %+v, want one answer and one repeat", res)
		}
		if out := x.run(t, "sync", "--once"); !strings.Contains(out, "1 Quittung des Portals") {
			t.Fatalf("sync:\n%s", out)
		}
		if m := x.message(t, pc); m.State != "servicekonto" {
			t.Fatalf("after the quittung: %+v", m)
		}
	})

	t.Run("wrong office key", func(t *testing.T) {
		pc := x.antrag(t)
		x.run(t, "sync", "--once")
		delivered++
		x.waitReturned(t, delivered)
		// The portal has other keys on file for every office.
		other := map[app.OfficeKey]ed25519.PublicKey{}
		for _, o := range rueckkanal.Offices {
			k, _ := rueckkanal.GenerateOfficeKey(o, nil)
			other[o] = k.Public()
		}
		if res := x.answer(t, portalsim.New(portalsim.Config{PortalKey: portaltest.TestKey(), OfficeKeys: other})); res.Refused != 1 {
			t.Fatalf("portal: %+v", res)
		}
		x.run(t, "sync", "--once")
		m := x.message(t, pc)
		if m.State != "abgelehnt" || m.Receipt == nil || m.Receipt.Grund != "signatur" || !strings.Contains(m.Reason, "Signatur") {
			t.Fatalf("refused by the portal: %+v", m)
		}
		if out := x.runWith(t, x.view, "outbox", "--undelivered"); !strings.Contains(out, m.Ref) || !strings.Contains(out, "Abgelehnt") {
			t.Errorf("outbox --undelivered:\n%s", out)
		}
	})
}

// loop is the proof's main path: antrag → sync → eingegangen through
// Postfix → the test portal → quittung → sync → "im Servicekonto".
func (x *e2e) loop(t *testing.T, delivered *int) (string, outboxJSON) {
	t.Helper()
	pc := x.antrag(t)
	out := x.run(t, "sync", "--once")
	if !strings.Contains(out, "1 Antrag übernommen") || !strings.Contains(out, "Statusmeldungen: 1 gesendet") {
		t.Fatalf("sync:\n%s", out)
	}
	m := x.message(t, pc)
	if m.State != "sent" || m.Status != "eingegangen" {
		t.Fatalf("after sending: %+v", m)
	}
	*delivered++
	x.waitReturned(t, *delivered)
	if res := x.answer(t, x.portal); res.Answered != 1 || res.Refused != 0 {
		t.Fatalf("portal: %+v", res)
	}
	out = x.run(t, "sync", "--once")
	if !strings.Contains(out, "1 Quittung des Portals") {
		t.Fatalf("sync of the quittung:\n%s", out)
	}
	m = x.message(t, pc)
	if m.State != "servicekonto" || m.Receipt == nil || m.Receipt.Ergebnis != "servicekonto" {
		t.Fatalf("after the quittung: %+v", m)
	}
	return pc, m
}

// TestReturnChannelPostfixPG is the same proof on PostgreSQL: the sync and
// the sender run as the sync's service account, an administrator lists
// the outbox and the review list with their own role.
func TestReturnChannelPostfixPG(t *testing.T) {
	c, db := pgDatabase(t)
	admin, syncAcct := account("itadmin"), account("abgleich")
	t.Setenv("PGPASSWORD", pgMigratorPassword)
	t.Setenv("AMTSTRESEN_TEST_NEWPW", "Admin-Kennwort-1")
	as(t, "wer-auch-immer")
	mustRun(t, "roles", "set", admin, "admin", "--password-env", "AMTSTRESEN_TEST_NEWPW", "--db", pgURL(c, db, pgMigrator))
	t.Setenv("PGPASSWORD", "")
	if err := c.Exec(context.Background(), "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'Abgleich-4'; GRANT amtstresen_konto, amtstresen_sync TO %s", syncAcct, syncAcct)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("E2E_SYNC_PW", "Abgleich-4")
	t.Setenv("E2E_ADMIN_PW", "Admin-Kennwort-1")
	x := startE2E(t, "[database]\nurl = \""+pgURL(c, db, syncAcct)+"\"\npassword_env = \"E2E_SYNC_PW\"\n",
		"[database]\nurl = \""+pgURL(c, db, admin)+"\"\npassword_env = \"E2E_ADMIN_PW\"\n")
	x.pastDue = func(t *testing.T, nachricht string) {
		if err := c.Exec(context.Background(), db, `UPDATE amtstresen.outbox SET next_attempt = now() - interval '1 second' WHERE nachricht = $1`, nachricht); err != nil {
			t.Fatal(err)
		}
	}
	x.proof(t)
}

// TestHelperSendAndDie is the sender process of the crash test: it sends
// what waits and kills itself (SIGKILL) after the relay accepted the first
// message, before the outbox records it. It does nothing unless started
// by TestReturnChannelPostfix.
func TestHelperSendAndDie(t *testing.T) {
	cfgPath := os.Getenv("AMTSTRESEN_DIE_CONFIG")
	if cfgPath == "" {
		return
	}
	dbPath := os.Getenv("AMTSTRESEN_DIE_DB") // "" on PostgreSQL: [database] url
	cfg, err := app.LoadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: context.Background(), cfg: cfg, reg: app.Default(), dbPath: dbPath, stdout: io.Discard, stderr: io.Discard,
		log: slog.New(slog.DiscardHandler)}
	db, err := e.open()
	if err != nil {
		t.Fatal(err)
	}
	snd, err := newSender(e, cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	snd.AfterRelay = func(*rueckkanal.Outgoing) { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	snd.SendDue(e.ctx)
	t.Fatal("not killed: nothing was sent")
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

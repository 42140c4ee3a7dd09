package cli

import (
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/sync/portalsim"
	"amtstresen/sync/portaltest"
	"amtstresen/sync/rueckkanal"
)

// TestOfficeKeyCommand: an administrator creates the key of VG Cochem
// into the [[office]] key_file (mode 0600); the command prints the public
// key, never the private one; it never overwrites a key; show prints the
// same public key; a clerk may do neither; a key file others can read is
// refused.
func TestOfficeKeyCommand(t *testing.T) {
	emptyHome(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "vg-cochem.key")
	cfg := writeConfig(t, "[[office]]\ndienststelle = \"vg-cochem\"\nkey_file = \""+keyFile+"\"\n")
	dbPath := filepath.Join(dir, "a.db")
	as(t, "it")
	mustRun(t, "roles", "set", "it", "admin", "--db", dbPath)
	mustRun(t, "roles", "set", "klerk", "clerk", "vg-cochem", "--db", dbPath)

	out, errOut, rc := runCmd(t, "office-key", "create", "vg-cochem", "--db", dbPath, "--config", cfg)
	if rc != 0 {
		t.Fatalf("create: rc %d\n%s%s", rc, out, errOut)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi)
	}
	k, err := rueckkanal.LoadOfficeKey(rueckkanal.OfficeConfig{Dienststelle: app.OfficeCochem, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := os.ReadFile(keyFile)
	if !strings.Contains(out, k.PublicBase64()) || !strings.Contains(out, "Portalbetreiber") {
		t.Errorf("create does not print the public key:\n%s", out)
	}
	if s := strings.TrimSpace(string(priv)); strings.Contains(out+errOut, s) || strings.Contains(out+errOut, s[:20]) {
		t.Error("create printed the private key")
	}
	if out := mustRun(t, "audit", "--action", app.ActionOfficeKeyCreate, "--db", dbPath, "--config", cfg); !strings.Contains(out, "vg-cochem") || strings.Contains(out, strings.TrimSpace(string(priv))[:20]) {
		t.Errorf("audit of the key creation:\n%s", out)
	}
	failRun(t, "nicht überschrieben", "office-key", "create", "vg-cochem", "--db", dbPath, "--config", cfg)
	if again, _ := os.ReadFile(keyFile); string(again) != string(priv) {
		t.Error("the key was replaced")
	}
	out = mustRun(t, "office-key", "show", "vg-cochem", "--db", dbPath, "--config", cfg)
	if !strings.Contains(out, k.PublicBase64()) || strings.Contains(out, strings.TrimSpace(string(priv))) {
		t.Errorf("show:\n%s", out)
	}

	as(t, "klerk")
	failRun(t, "nicht erlaubt", "office-key", "show", "vg-cochem", "--db", dbPath, "--config", cfg)
	as(t, "it")
	if out, errOut, rc := runCmd(t, "office-key", "create", "vg-mayen", "--db", dbPath, "--config", cfg); rc != 2 || !strings.Contains(errOut, "Unbekannte Dienststelle") {
		t.Errorf("unknown office: rc %d\n%s%s", rc, out, errOut)
	}
	os.Chmod(keyFile, 0o644)
	failRun(t, "für andere lesbar", "office-key", "show", "vg-cochem", "--db", dbPath, "--config", cfg)
}

// loopEnv is a counter wired to a portal in this process: an IMAP
// mailbox with the portal's deliveries, the test portal as the relay
// (SMTP on loopback) that answers each status message with a signed
// quittung into that mailbox, and a key file per office.
type loopEnv struct {
	dbPath, cfg string
	srv         *portaltest.MemServer
	portal      *portalsim.SMTPServer
	keys        map[app.OfficeKey]*rueckkanal.OfficeKey
}

func newLoopEnv(t *testing.T, wrongKeys bool) *loopEnv {
	t.Helper()
	emptyHome(t)
	dir := t.TempDir()
	l := &loopEnv{dbPath: filepath.Join(dir, "a.db")}
	srv, err := portaltest.StartMemServer("eingang", "pw-"+t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	l.srv = srv
	t.Setenv("LOOP_IMAP_PW", srv.Password)
	var offices string
	l.keys, offices = officeKeyFiles(t, dir)
	known := map[app.OfficeKey]ed25519.PublicKey{}
	for o, k := range l.keys {
		known[o] = k.Public()
		if wrongKeys {
			other, _ := rueckkanal.GenerateOfficeKey(o, nil)
			known[o] = other.Public() // the portal has another key on file
		}
	}
	portal := portalsim.New(portalsim.Config{PortalKey: portaltest.TestKey(), OfficeKeys: known})
	l.portal, err = portal.ListenSMTP(func(q []byte) error { return srv.Append("INBOX", q) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.portal.Close() })
	l.cfg = writeConfig(t, fmt.Sprintf(`[imap]
address = %q
tls = "none"
username = "eingang"
password_env = "LOOP_IMAP_PW"

[portal]
public_key = %q
return_address = "rueckkanal@portal.test"

[smtp]
address = %q
tls = "none"
from = "Bürgerportal-Postfach <buergerportal@cochem.example>"

%s`, srv.Addr, portaltest.TestPublicKeyBase64(), l.portal.Addr, offices))
	as(t, "it")
	mustRun(t, "roles", "set", "it", "admin", "--db", l.dbPath, "--config", l.cfg)
	return l
}

func (l *loopEnv) run(t *testing.T, args ...string) string {
	t.Helper()
	return mustRun(t, append(args, "--db", l.dbPath, "--config", l.cfg)...)
}

func (l *loopEnv) outbox(t *testing.T) []outboxJSON {
	t.Helper()
	var out []outboxJSON
	if err := json.Unmarshal([]byte(l.run(t, "outbox", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSendLoopInProcess: `sync --once` takes a portal application in,
// queues its "eingegangen" and sends it at once (signed with the office's
// key from its key file, with the Eingangsbestätigung); the portal
// answers; the next `sync --once` applies the quittung: `outbox --json`
// shows "servicekonto" with the receipt. `send --once` then has nothing
// to send, and the portal got the message once.
func TestSendLoopInProcess(t *testing.T) {
	l := newLoopEnv(t, false)
	g := portaltest.New(21)
	if err := l.srv.Append("INBOX", g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"}).Raw); err != nil {
		t.Fatal(err)
	}
	out := l.run(t, "sync", "--once")
	if !strings.Contains(out, "1 Antrag übernommen") || !strings.Contains(out, "Statusmeldungen: 1 gesendet") {
		t.Fatalf("sync:\n%s", out)
	}
	ob := l.outbox(t)
	if len(ob) != 1 || ob[0].State != "sent" || ob[0].Status != "eingegangen" || ob[0].SentAt == nil || ob[0].Receipt != nil ||
		!strings.HasPrefix(ob[0].MessageID, "status."+ob[0].Nachricht+"@cochem.example") {
		t.Fatalf("outbox after sending: %+v", ob)
	}
	if got := l.portal.Received(); len(got) != 1 || got[0] != ob[0].MessageID {
		t.Fatalf("portal received %v", got)
	}
	// The stored bytes: signed by the office's own key over status.json,
	// zeitpunkt the time it was queued, the Eingangsbestätigung attached.
	raw := outboxRaw(t, l.dbPath, ob[0].Nachricht)
	pubs := map[app.OfficeKey]ed25519.PublicKey{}
	for o, k := range l.keys {
		pubs[o] = k.Public()
	}
	v, err := rueckkanal.Verify(raw, pubs)
	if err != nil || v.PDF == nil || v.PDF.Name != "eingangsbestaetigung.pdf" || !strings.HasPrefix(string(v.PDF.Data), "%PDF-") {
		t.Fatalf("stored status message: %v, %+v", err, v)
	}
	if v.Status.Zeitpunkt != rueckkanal.FormatTime(mustTime(t, ob[0].QueuedAt)) || v.Status.Aktenzeichen != ob[0].Ref {
		t.Errorf("status.json %+v, queued %s", v.Status, ob[0].QueuedAt)
	}
	out = l.run(t, "sync", "--once")
	if !strings.Contains(out, "1 Quittung des Portals") {
		t.Fatalf("second sync:\n%s", out)
	}
	ob = l.outbox(t)
	if len(ob) != 1 || ob[0].State != "servicekonto" || ob[0].Receipt == nil || ob[0].Receipt.Ergebnis != "servicekonto" {
		t.Fatalf("outbox after the quittung: %+v", ob)
	}
	if out := l.run(t, "send", "--once"); !strings.Contains(out, "0 gesendet") {
		t.Errorf("send --once: %s", out)
	}
	if out := l.run(t, "outbox"); !strings.Contains(out, "Im Servicekonto") {
		t.Errorf("outbox:\n%s", out)
	}
}

// TestSendWrongOfficeKey: the portal has another key on file for the
// office; it answers abgelehnt/signatur, and the app shows it: state
// abgelehnt with the German reason, the case flagged.
func TestSendWrongOfficeKey(t *testing.T) {
	g := portaltest.New(22)
	a := g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"})
	l := newLoopEnv(t, true)
	l.srv.Append("INBOX", a.Raw)
	l.run(t, "sync", "--once")
	l.run(t, "sync", "--once")
	ob := l.outbox(t)
	if len(ob) != 1 || ob[0].State != "abgelehnt" || ob[0].Receipt == nil || ob[0].Receipt.Grund != "signatur" || !strings.Contains(ob[0].Reason, "Signatur") {
		t.Fatalf("outbox: %+v", ob)
	}
	out := l.run(t, "cases", "--json")
	if !strings.Contains(out, string(app.FlagCitizenMessageRefused)) {
		t.Errorf("case not flagged:\n%s", out)
	}
	if out := l.run(t, "outbox", "--undelivered"); !strings.Contains(out, "Abgelehnt") {
		t.Errorf("outbox --undelivered:\n%s", out)
	}
}

// outboxRaw reads the stored bytes of a message behind the program's back.
func outboxRaw(t *testing.T, dbPath, nachricht string) []byte {
	t.Helper()
	c, err := sql.Open("sqlite3", "file:"+dbPath+"?_busy_timeout=5000&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var raw []byte
	if err := c.QueryRow(`SELECT raw FROM outbox WHERE nachricht = ?`, nachricht).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDemoRunsTheLoop: `amtstresen demo --headless` takes the demo's
// applications in, sends their "eingegangen" to the demo's portal, which
// answers with signed quittungen (the demo's portal key, the demo's own
// office keys), and the second sync applies them: the outbox shows
// "servicekonto", "email" and "unzustellbar", nothing stays queued.
func TestDemoRunsTheLoop(t *testing.T) {
	emptyHome(t)
	dbPath := filepath.Join(t.TempDir(), "demo.db")
	out := mustRun(t, "demo", "--headless", "--db", dbPath)
	if !strings.Contains(out, "Rückkanal: Statusmeldungen:") || !strings.Contains(out, "Quittungen des Portals") {
		t.Fatalf("demo:\n%s", out)
	}
	as(t, "it")
	mustRun(t, "roles", "set", "it", "admin", "--db", dbPath)
	var ob []outboxJSON
	if err := json.Unmarshal([]byte(mustRun(t, "outbox", "--json", "--db", dbPath)), &ob); err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, o := range ob {
		states[o.State]++
	}
	if len(ob) < 5 || states["servicekonto"] == 0 || states["queued"]+states["failed"]+states["sent"] != 0 {
		t.Errorf("demo outbox states %v of %d", states, len(ob))
	}
}

// officeKeyFiles makes a key pair for every office, each private key in a
// file of dir (mode 0600), and returns them with the [[office]] entries
// of a configuration naming the files.
func officeKeyFiles(t *testing.T, dir string) (map[app.OfficeKey]*rueckkanal.OfficeKey, string) {
	t.Helper()
	keys := map[app.OfficeKey]*rueckkanal.OfficeKey{}
	var offices strings.Builder
	for _, o := range rueckkanal.Offices {
		k, err := rueckkanal.GenerateOfficeKey(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, string(o)+".key")
		if err := rueckkanal.WriteKeyFile(p, k); err != nil {
			t.Fatal(err)
		}
		keys[o] = k
		fmt.Fprintf(&offices, "[[office]]\ndienststelle = %q\nkey_file = %q\n", o, p)
	}
	return keys, offices.String()
}

// TestSendNeedsSMTP: without [smtp] address `send` says in German what is
// missing and that the messages wait; a login without a password (neither
// the environment variable nor the keyring has one) is refused before any
// connection, and no password is read from the file.
func TestSendNeedsSMTP(t *testing.T) {
	emptyHome(t)
	dbPath := filepath.Join(t.TempDir(), "a.db")
	failRun(t, "[smtp] address", "send", "--once", "--db", dbPath, "--config", writeConfig(t, "[imap]\naddress = \"m:993\"\n"))
	t.Setenv("AMTSTRESEN_SMTP_PW_UNSET", "")
	cfg := writeConfig(t, "[smtp]\naddress = \"127.0.0.1:1\"\ntls = \"none\"\nusername = \"buergerportal\"\npassword_env = \"AMTSTRESEN_SMTP_PW_UNSET\"\nfrom = \"a@b.example\"\n")
	failRun(t, "Kein Passwort", "send", "--once", "--db", dbPath, "--config", cfg)
}

// TestSendWithoutOfficeKey: without a signing key of the office the
// message is not sent and not lost: it waits (failed, next attempt at the
// longest interval) with the German reason naming `amtstresen office-key`.
func TestSendWithoutOfficeKey(t *testing.T) {
	l := newLoopEnv(t, false)
	full := readFile(t, l.cfg)
	if err := os.WriteFile(l.cfg, []byte(full[:strings.Index(full, "[[office]]")]), 0o600); err != nil {
		t.Fatal(err)
	}
	g := portaltest.New(23)
	l.srv.Append("INBOX", g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"}).Raw)
	if out := l.run(t, "sync", "--once"); !strings.Contains(out, "0 gesendet, 1 warten auf einen neuen Versuch") || !strings.Contains(out, "amtstresen office-key") {
		t.Fatalf("sync:\n%s", out)
	}
	ob := l.outbox(t)
	if len(ob) != 1 || ob[0].State != "failed" || ob[0].Next == "" || !strings.Contains(ob[0].Reason, "amtstresen office-key") {
		t.Fatalf("outbox: %+v", ob)
	}
	if next := mustTime(t, ob[0].Next); time.Until(next) < 30*time.Minute {
		t.Errorf("next attempt %s: want the longest interval", ob[0].Next)
	}
	if got := l.portal.Received(); len(got) != 0 {
		t.Errorf("the portal got %v", got)
	}
}

// TestNightlySends: what waits in the outbox (here: taken in while [smtp]
// was not set up) goes out with the nightly job.
func TestNightlySends(t *testing.T) {
	l := newLoopEnv(t, false)
	full := readFile(t, l.cfg)
	i := strings.Index(full, "[smtp]")
	plain := writeConfig(t, full[:i]+full[i+strings.Index(full[i:], "\n\n"):])
	g := portaltest.New(24)
	l.srv.Append("INBOX", g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"}).Raw)
	if out := mustRun(t, "sync", "--once", "--db", l.dbPath, "--config", plain); strings.Contains(out, "gesendet") {
		t.Fatalf("sent without [smtp]:\n%s", out)
	}
	if ob := l.outbox(t); len(ob) != 1 || ob[0].State != "queued" || ob[0].SentAt != nil {
		t.Fatalf("outbox: %+v", ob)
	}
	// Every field of `outbox --json` is there, also before sending.
	raw := l.run(t, "outbox", "--json")
	for _, f := range []string{"nachricht", "portal_case", "ref", "status", "state", "message_id", "queued_at", "sent_at", "receipt"} {
		if !strings.Contains(raw, `"`+f+`":`) {
			t.Errorf("outbox --json lacks %s:\n%s", f, raw)
		}
	}
	if out := l.run(t, "nightly", "--once"); !strings.Contains(out, "Statusmeldungen: 1 gesendet") {
		t.Fatalf("nightly:\n%s", out)
	}
	if ob := l.outbox(t); ob[0].State != "sent" || len(l.portal.Received()) != 1 {
		t.Errorf("after the nightly job: %+v", ob)
	}
}

// TestSenderWokenByChange: the sender beside the window (or the continuous
// sync) runs with an interval of an hour here; a clerk's free message,
// written by another connection to the same file, still reaches the
// portal within seconds, because the store's change feed wakes the
// sender. Without the feed it would wait for the interval.
func TestSenderWokenByChange(t *testing.T) {
	l := newLoopEnv(t, false)
	g := portaltest.New(23)
	if err := l.srv.Append("INBOX", g.Antrag(portaltest.AntragSpec{Service: "hund-anmelden"}).Raw); err != nil {
		t.Fatal(err)
	}
	l.run(t, "sync", "--once") // the case, and its eingegangen sent
	ob := l.outbox(t)
	if len(ob) != 1 || len(l.portal.Received()) != 1 {
		t.Fatalf("after the sync: outbox %+v, portal %v", ob, l.portal.Received())
	}
	cfg, err := app.LoadConfig(l.cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: t.Context(), cfg: cfg, reg: app.Default(), dbPath: l.dbPath, stdout: io.Discard, stderr: io.Discard,
		log: slog.New(slog.DiscardHandler)}
	db, err := e.open()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, stop := sendAlongside(e, cfg, db, db.store, time.Hour)
	defer stop()
	time.Sleep(300 * time.Millisecond) // the sender's first round has run

	other, err := e.open() // another program on the same file: the window
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	admin := app.Actor{Clerk: "it", Role: app.RoleAdmin}
	msg, err := other.store.ChangeCase(t.Context(), ob[0].Ref, app.CaseChange{}, &app.Tell{Text: "Ihr Hund ist angemeldet; die Marke kommt mit der Post."}, admin)
	if err != nil || msg == nil {
		t.Fatalf("free message: %v, %+v", err, msg)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(l.portal.Received()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the free message did not go out within 5 s (interval 1 h): portal has %v", l.portal.Received())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := l.portal.Received(); !strings.Contains(got[1], msg.Nachricht) {
		t.Errorf("portal received %v, want the message %s second", got, msg.Nachricht)
	}
}

package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
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

// journalSecret is the office-shared secret of the tests.
var journalSecret = []byte("amt-cochem-zell-journal-test-0123")

// counter is one app instance: its own SQLite file and its Shared.
type counter struct {
	name string
	path string
	db   *storage.DB
	sh   *sync.Shared
}

func journalConfig(addr, user, name string) *app.Config {
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: addr, TLS: mailbox.TLSNone, Username: user},
		Portal:  app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()},
		Journal: app.JournalConfig{Enabled: true, Counter: name, PollSeconds: 60}}
	cfg.Defaults()
	return cfg
}

// newCounter opens (or creates) the counter's database at path and
// connects it to the server at addr (Dovecot or a proxy in front of it).
func newCounter(t testing.TB, d *dovecottest.Server, addr, name, path string) *counter {
	t.Helper()
	db, err := storage.Open(context.Background(), path, reg)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := sync.NewShared(journalConfig(addr, d.User, name), db, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pw := d.Password
	sh.SetPassword(func() (string, error) { return pw, nil })
	sh.Secret = func() ([]byte, error) { return journalSecret, nil }
	sh.SubmitTimeout = 5 * time.Second
	c := &counter{name: name, path: path, db: db, sh: sh}
	t.Cleanup(func() { sh.Close(); db.Close() })
	return c
}

func newCounters(t testing.TB, d *dovecottest.Server, names ...string) []*counter {
	var out []*counter
	dir := t.TempDir()
	for _, n := range names {
		out = append(out, newCounter(t, d, d.Addr, n, filepath.Join(dir, n+".db")))
	}
	return out
}

func (c *counter) sync(t testing.TB, intake bool) *sync.JournalResult {
	t.Helper()
	res, err := c.sh.Sync(context.Background(), intake)
	if err != nil {
		t.Fatalf("%s: journal sync: %v", c.name, err)
	}
	return res
}

func actor(clerk string) app.Actor { return app.Actor{Clerk: clerk, Office: app.OfficeZell} }

// dump is the queue as a counter shows it: every case with the fields
// that journal entries change, its notes, and the review list. Two
// counters that read the same journal must give the same text.
func dump(t testing.TB, db *storage.DB) string {
	t.Helper()
	ctx := context.Background()
	cs, err := db.AllCases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range cs {
		lines = append(lines, fmt.Sprintf("%s prov=%s key=%s %s office=%s from=%s assignee=%s flags=%v received=%s updated=%s closed=%s",
			c.Ref, c.ProvisionalRef, c.PortalCase, c.Status, c.Office, c.ForwardedFrom, c.Assignee, c.Flags,
			c.ReceivedAt.Format(time.RFC3339Nano), c.UpdatedAt.Format(time.RFC3339Nano), c.ClosedAt.Format(time.RFC3339Nano)))
		ns, err := db.Notes(ctx, c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			lines = append(lines, fmt.Sprintf("  %s %s %s %q files=%d", n.At.Format(time.RFC3339Nano), n.Author, n.Kind, n.Text, len(n.Attachments)))
		}
	}
	items, err := db.ReviewItems(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	var rv []string
	for _, it := range items {
		rv = append(rv, fmt.Sprintf("review %s %s handled=%v by=%s %s %q", it.MessageID, it.Reason, it.Handled, it.HandledBy, it.Resolution, it.Note))
	}
	sort.Strings(rv)
	return strings.Join(append(lines, rv...), "\n")
}

// sameQueue fails unless every counter shows the first one's queue.
func sameQueue(t testing.TB, cs ...*counter) string {
	t.Helper()
	want := dump(t, cs[0].db)
	for _, c := range cs[1:] {
		if got := dump(t, c.db); got != want {
			t.Errorf("%s and %s differ:\n--- %s\n%s\n--- %s\n%s", cs[0].name, c.name, cs[0].name, want, c.name, got)
		}
	}
	return want
}

// proxy forwards TCP to the server; Down cuts every connection and
// refuses new ones (the counter behind it is offline), Up restores it.
// With hang set it accepts connections and never answers (a network
// that drops packets).
type proxy struct {
	addr, target string
	mu           gosync.Mutex
	ln           net.Listener
	conns        []net.Conn
	hang         bool
}

func startProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), target: target}
	p.serve(ln)
	t.Cleanup(p.Down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			hang := p.hang
			if hang {
				p.conns = append(p.conns, c)
			}
			p.mu.Unlock()
			if hang {
				continue
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Hang cuts every connection and lets new ones hang without an answer.
func (p *proxy) Hang() {
	p.mu.Lock()
	p.hang = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

func (p *proxy) Up(t testing.TB) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

package ui

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"amtstresen/app"
	"amtstresen/storage/offline"
	"amtstresen/storage/postgres"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/postgres/pgtest/pgsetup"
)

// A counter PC of VG Ulmen starts while its PostgreSQL server is down
// (Options.Connect, as ui/cli hands it in then): the window says so in
// German, shows no queue (this PC has no copy of the cases), takes a
// walk-in application with Strg+N into the outbox under a provisional
// reference with its receipt, and lists it. When the server is back the
// window becomes the normal one without a restart: the input typed
// meanwhile stays in the form, the application is written once under its
// final reference, and the queue shows it.
func TestWindowStartsWithoutServer(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	login := d.Clerk(t, "ulm_start", "clerk", app.OfficeUlmen, "Alma Ulmer")
	ob, err := offline.Open(ctx, filepath.Join(t.TempDir(), "offline.db"), testReg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	var mu gosync.Mutex
	var opened []*postgres.DB
	t.Cleanup(func() {
		for _, db := range opened {
			db.Close()
		}
	})
	tries := 0
	connect := func(ctx context.Context) (*Connection, error) {
		mu.Lock()
		tries++
		mu.Unlock()
		db, err := postgres.Open(ctx, login.URL, login.Password, testReg)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		opened = append(opened, db)
		mu.Unlock()
		a, setup, err := app.ResolveActor(ctx, db, login.Account)
		if err != nil {
			return nil, err
		}
		sc := app.NewScoped(db, a)
		return &Connection{Store: sc, Messages: sc.Outbox(db), Changes: db, Actor: a, Setup: setup}, nil
	}
	old := connectRetry
	connectRetry = 200 * time.Millisecond
	t.Cleanup(func() { connectRetry = old })

	c.Shutdown()
	h := newHarness(t, nil, func(o *Options) {
		o.Connect, o.Offline, o.Actor = connect, ob, app.Actor{Clerk: login.Account}
	})
	m, s := h.m, h.m.intake
	if !m.away() || len(m.tabs.Items) != 2 {
		t.Fatalf("away %v, %d screens", m.away(), len(m.tabs.Items))
	}
	if !m.live.banner.Visible() || m.live.text.Text != "Server nicht erreichbar – nur Annahme am Tresen möglich, alles wird nachgetragen" {
		t.Errorf("banner %q", m.live.text.Text)
	}
	queue := markup(m.tabs.Items[0].Content)
	if !strings.Contains(queue, "keine Kopie der Vorgänge") || m.queue.table != nil {
		t.Errorf("queue's place: %q", queue)
	}
	h.eventually(5*time.Second, "connect tried", func() bool {
		return strings.Contains(m.awayUI.status.Text, "Server nicht erreichbar. Es wird alle paar Sekunden neu versucht.")
	})

	// Strg+N, a walk-in application, Enter: kept on this PC.
	h.shortcut(fyne.KeyN, fyne.KeyModifierShortcutDefault)
	if m.current() != ScreenIntake || h.w.Canvas().Focused() != s.svc {
		t.Fatalf("Strg+N: screen %s, focus %T", m.current(), h.w.Canvas().Focused())
	}
	s.fill(dogCase("Anna", "Muster", "56766", "Auderath"))
	h.key(s.last, fyne.KeyReturn)
	h.wait()
	es, err := ob.Entries(ctx, app.OfflineWaiting)
	if err != nil || len(es) != 1 {
		t.Fatalf("outbox: %+v, %v", es, err)
	}
	prov := es[0].ProvisionalRef
	if es[0].Case.Clerk != login.Account || !strings.HasPrefix(prov, "ULM-2026-V-") || !strings.Contains(s.lastSave.Text, prov+" (vorläufig)") {
		t.Errorf("kept %s by %q, message %q", prov, es[0].Case.Clerk, s.lastSave.Text)
	}
	if jobs := h.print.jobs(); len(jobs) != 1 || jobs[0] != prov {
		t.Errorf("printed %q, want the receipt of %s", jobs, prov)
	}
	h.wait()
	if got := m.awayUI.entries.Text; !strings.Contains(got, prov+" (Anna Muster, ") || !strings.Contains(got, "wartet auf den Server") {
		t.Errorf("kept applications in the queue's place: %q", got)
	}

	// The next citizen's input, unsaved, when the server comes back.
	h.typeInto(s.first, "Berta")
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	h.eventually(20*time.Second, "the normal window", func() bool { return !m.away() })
	if len(m.tabs.Items) != len(Screens) || m.current() != ScreenIntake || s.first.Text != "Berta" {
		t.Errorf("after connecting: %d screens, on %s, first name %q", len(m.tabs.Items), m.current(), s.first.Text)
	}
	h.eventually(20*time.Second, "written", func() bool {
		es, _ := ob.Entries(ctx, app.OfflineWritten)
		return len(es) == 1 && strings.Contains(m.lastMessage, prov+" ist jetzt ULM-2026-00001 (Anna Muster)")
	})
	h.press(fyne.KeyReturn) // OK to the message: back in the field
	if f := h.w.Canvas().Focused(); f != s.first || len(m.dialogs) != 0 {
		t.Errorf("after the message: focus %T, %d dialogs", f, len(m.dialogs))
	}
	if es, _ := ob.Entries(ctx, app.OfflineWaiting); len(es) != 0 {
		t.Errorf("still waiting: %+v", es)
	}
	if n, err := m.store.CountCases(ctx, app.CaseFilter{}); err != nil || n != 1 {
		t.Errorf("%d cases, %v; want 1", n, err)
	}
	if !m.unsaved() {
		t.Error("the typed first name no longer counts as unsaved input")
	}
	m.closeDialogs()
	m.show(ScreenQueue)
	h.eventually(5*time.Second, "queue", func() bool { return h.queueRow("ULM-2026-00001") != nil })
	if m.o.Actor.Role != app.RoleClerk || m.o.Actor.Office != app.OfficeUlmen {
		t.Errorf("actor after connecting: %+v", m.o.Actor)
	}
}

// TestWindowAwayRefused: the server is back but refuses the login (the
// password was changed meanwhile): that is no outage to wait out silently.
// The queue's place says the refusal in German, the window stays a
// counter for walk-ins (the applications wait on this PC), and the log
// has the refusal once, not every few seconds.
func TestWindowAwayRefused(t *testing.T) {
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	login := d.Clerk(t, "ulm_pw", "clerk", app.OfficeUlmen, "Paula Ulmer")
	var logged strings.Builder
	var mu gosync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))
	connect := func(ctx context.Context) (*Connection, error) {
		db, err := postgres.Open(ctx, login.URL, "falsch", testReg)
		if err == nil {
			db.Close()
			t.Error("opened with a wrong password")
		}
		return nil, err
	}
	old := connectRetry
	connectRetry = 50 * time.Millisecond
	t.Cleanup(func() { connectRetry = old })
	h := newHarness(t, nil, func(o *Options) { o.Connect, o.Actor, o.Log = connect, app.Actor{Clerk: login.Account}, log })
	m := h.m
	h.eventually(5*time.Second, "refusal", func() bool {
		return strings.Contains(m.awayUI.status.Text, "Der Server ist erreichbar, hat aber abgelehnt: Der Datenbankserver hat die Anmeldung als „ulm_pw“ abgelehnt.")
	})
	time.Sleep(300 * time.Millisecond) // a few more tries
	h.wait()
	mu.Lock()
	n := strings.Count(logged.String(), "connect database")
	mu.Unlock()
	if !m.away() || n != 1 {
		t.Errorf("away %v, refusal logged %d times", m.away(), n)
	}
}

type lockedWriter struct {
	mu *gosync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

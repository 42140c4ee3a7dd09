package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/offline"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/postgres/pgtest/pgsetup"
	"amtstresen/ui"
)

// TestWindowStartsWithoutServer: a counter PC starts while its PostgreSQL
// server is down (a private cluster, stopped). After the short retry the
// window opens for walk-in applications only: no store yet, the offline
// outbox, the clerk's login as who takes them, and Connect. A walk-in
// application is kept; the cluster starts; Connect opens the store as the
// clerk's role and the outbox is written once: the case is in PostgreSQL
// once, under its final reference and findable by the provisional one,
// and nothing waits or was refused. A wrong password with the server up is
// not an outage: no window, a German refusal that says so.
func TestWindowStartsWithoutServer(t *testing.T) {
	c := pgtest.Start(t)
	d := pgsetup.New(t, c)
	login := d.Clerk(t, "uwe_ulmen", "clerk", app.OfficeUlmen, "Uwe Ulmer")
	dir := t.TempDir()
	t.Setenv("AMTSTRESEN_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("AMTSTRESEN_CONFIG_DIR", filepath.Join(dir, "config"))
	t.Setenv("AMTSTRESEN_DB", "")
	t.Setenv("DISPLAY", ":0") // the window itself is replaced below
	t.Setenv("AMTSTRESEN_TEST_DBPW", login.Password)
	cfg := writeConfig(t, fmt.Sprintf("[database]\nurl = \"postgres://127.0.0.1:%d/%s?sslmode=disable\"\npassword_env = \"AMTSTRESEN_TEST_DBPW\"\n", c.Port, d.Name))
	as(t, login.Account)
	var startup []string
	oldErr, oldRetries := startupError, startRetries
	startupError = func(_ context.Context, _ *slog.Logger, title, msg string) error {
		startup = append(startup, title+": "+msg)
		return nil
	}
	startRetries = []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}
	t.Cleanup(func() { startupError, startRetries = oldErr, oldRetries })

	ctx := context.Background()
	var prov, final string
	var windows int
	old := runWindow
	runWindow = func(_ context.Context, o ui.Options) error {
		windows++
		if o.Store != nil || o.Connect == nil || o.Offline == nil || o.Actor.Clerk != login.Account || o.SyncUnavailable == nil {
			t.Fatalf("window options without the server: store %v, connect %v, offline %v, actor %+v", o.Store, o.Connect != nil, o.Offline, o.Actor)
		}
		if _, err := o.Connect(ctx); !app.Unavailable(err) {
			t.Fatalf("connect with the server down: %v", err)
		}
		// The walk-in application, as the window's intake keeps it.
		it := app.Default().Intake(app.IntakeInput{Service: "hund-anmelden", FirstName: "Anna", LastName: "Muster", Street: "Moselstraße", HouseNumber: "1",
			Postcode: "56766", Place: "Auderath", Fields: map[string]string{"hund.name": "Bello", "hund.rasse": "Dackel",
				"hund.chipnummer": "276098106543210", "haltungsbeginn": "01.11.2026"}}, time.Now())
		nc, err := it.NewCase("schalter-offline-1", o.Actor.Clerk, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e, err := o.Offline.Hold(ctx, nc, nc.Routing.Office, o.Actor.Clerk)
		if err != nil {
			t.Fatal(err)
		}
		prov = e.ProvisionalRef

		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		var conn *ui.Connection
		for i := 0; ; i++ {
			if conn, err = o.Connect(ctx); err == nil {
				break
			}
			if i > 100 {
				t.Fatalf("connect after the restart: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if conn.Actor.Clerk != login.Account || conn.Actor.Office != app.OfficeUlmen || conn.Changes == nil || conn.Messages == nil {
			t.Errorf("connection: %+v", conn)
		}
		res, err := app.ReplayOffline(ctx, o.Offline, conn.Store)
		if err != nil || len(res) != 1 || res[0].Err != nil || !res[0].Created {
			t.Fatalf("replay: %+v, %v", res, err)
		}
		final = res[0].Entry.FinalRef
		if again, err := app.ReplayOffline(ctx, o.Offline, conn.Store); err != nil || len(again) != 0 {
			t.Errorf("second replay: %+v, %v", again, err)
		}
		return nil
	}
	t.Cleanup(func() { runWindow = old })

	c.Shutdown()
	mustRun(t, "gui", "--config", cfg)
	if windows != 1 || len(startup) != 0 {
		t.Fatalf("%d windows, startup errors %q", windows, startup)
	}
	if !strings.HasPrefix(prov, "ULM-2026-V-") || final != "ULM-2026-00001" {
		t.Errorf("provisional %q, final %q", prov, final)
	}
	conn, err := pgx.Connect(ctx, c.SuperURL(d.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	var ref, p string
	if err := conn.QueryRow(ctx, "SELECT count(*), max(ref), max(provisional_ref) FROM amtstresen.cases").Scan(&n, &ref, &p); err != nil || n != 1 || ref != final || p != prov {
		t.Errorf("cases in PostgreSQL: %d (%s, %s), %v; want 1 (%s, %s)", n, ref, p, err, final, prov)
	}
	ob, err := offline.Open(ctx, filepath.Join(dir, "data", OfflineFile), app.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []app.OfflineState{app.OfflineWaiting, app.OfflineConflict} {
		if es, err := ob.Entries(ctx, st); err != nil || len(es) != 0 {
			t.Errorf("outbox %s: %+v, %v", st, es, err)
		}
	}
	ob.Close()

	// A wrong password with the server up.
	t.Setenv("AMTSTRESEN_TEST_DBPW", "falsch")
	failRun(t, "abgelehnt", "gui", "--config", cfg)
	if windows != 1 || len(startup) != 1 || !strings.HasPrefix(startup[0], "Anmeldung an der Datenbank abgelehnt: ") || !strings.Contains(startup[0], "keine Störung") {
		t.Errorf("wrong password: %d windows, startup %q", windows, startup)
	}
}

// TestWindowStartsWhenServerHangs: a server that takes the connection and
// never answers (a network that drops packets looks the same to the
// program) keeps the window from opening for connectTimeout a try, not
// for the system's TCP timeout of minutes; each later try ends as soon.
func TestWindowStartsWhenServerHangs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn // open and silent until the test ends
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	dir := t.TempDir()
	t.Setenv("AMTSTRESEN_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("AMTSTRESEN_CONFIG_DIR", filepath.Join(dir, "config"))
	t.Setenv("AMTSTRESEN_DB", "")
	t.Setenv("DISPLAY", ":0")
	cfg := writeConfig(t, fmt.Sprintf("[database]\nurl = \"postgres://uwe@%s/amtstresen?sslmode=disable\"\n", l.Addr()))
	oldTimeout, oldRetries, old := connectTimeout, startRetries, runWindow
	connectTimeout, startRetries = 300*time.Millisecond, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}
	var away bool
	var again time.Duration
	runWindow = func(ctx context.Context, o ui.Options) error {
		away = o.Store == nil && o.Connect != nil
		start := time.Now()
		if _, err := o.Connect(ctx); !app.Unavailable(err) {
			t.Errorf("connect to a silent server: %v", err)
		}
		again = time.Since(start)
		return nil
	}
	t.Cleanup(func() { connectTimeout, startRetries, runWindow = oldTimeout, oldRetries, old })
	start := time.Now()
	mustRun(t, "gui", "--config", cfg)
	if took := time.Since(start); !away || took > 5*time.Second || again > 2*time.Second {
		t.Errorf("window without the server %v after %v, a later try %v", away, took, again)
	}
}

// Command journalbench measures the shared journal against a real Dovecot:
//
//  1. Latency: counter A makes a change (a note, through the journal as a
//     clerk would), counter B waits in IMAP IDLE; measured is the time from
//     the start of A's change to B having applied it in its database.
//
//  2. Rebuild: the journal folder is filled with -n generated, signed
//     entries (walk-in cases, claims, status changes, notes, forwards,
//     releases from five clerks at three counters, conflicts included) and
//     a counter with an empty database reads and applies all of it.
//
//     go run -tags sqlite_fts5 ./ui/cli/internal/journalbench -n 100000     (make bench-journal)
//
// It must run as root (the private Dovecot switches to nobody).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/journal"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
	"amtstresen/ui/cli/internal/gctune"
)

var (
	logger     *slog.Logger
	cpuprofile string
	noLatency  bool
	reg        = app.Default()
	secret     = []byte("amt-cochem-zell-journal-bench-0123")
)

func main() {
	n := flag.Int("n", 100000, "Journaleinträge für den Neuaufbau")
	rounds := flag.Int("rounds", 50, "Änderungen für die Latenzmessung")
	batch := flag.Int("batch", 1000, "Journal-Mails je Transaktion beim Neuaufbau")
	skipLatency := flag.Bool("nolatency", false, "nur den Neuaufbau messen")
	flag.StringVar(&cpuprofile, "cpuprofile", "", "CPU-Profil des ersten Neuaufbaus in diese Datei")
	verbose := flag.Bool("v", false, "Zeiten je Block ausgeben")
	flag.Parse()
	noLatency = *skipLatency
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := run(*n, *rounds, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "Fehler:", err)
		os.Exit(1)
	}
}

func counter(d *dovecottest.Server, dir, name string) (*sync.Shared, *storage.DB, error) {
	db, err := storage.Open(context.Background(), filepath.Join(dir, name+".db"), reg)
	if err != nil {
		return nil, nil, err
	}
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: d.Addr, TLS: mailbox.TLSNone, Username: d.User},
		Portal:  app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()},
		Journal: app.JournalConfig{Enabled: true, Counter: name, PollSeconds: 60}}
	cfg.Defaults()
	sh, err := sync.NewShared(cfg, db, reg, logger)
	if err != nil {
		return nil, nil, err
	}
	pw := d.Password
	sh.SetPassword(func() (string, error) { return pw, nil })
	sh.Secret = func() ([]byte, error) { return secret, nil }
	sh.OnRun = gctune.Relax
	return sh, db, nil
}

func run(n, rounds, batch int) error {
	tmp, err := os.MkdirTemp("", "amtstresen-journalbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if !noLatency {
		if err := latency(tmp, rounds); err != nil {
			return err
		}
	}
	return rebuild(tmp, n, batch)
}

func latency(tmp string, rounds int) error {
	d, err := dovecottest.StartServer()
	if err != nil {
		return err
	}
	defer d.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, adb, err := counter(d, tmp, "tresen-a")
	if err != nil {
		return err
	}
	defer adb.Close()
	b, bdb, err := counter(d, tmp, "tresen-b")
	if err != nil {
		return err
	}
	defer bdb.Close()
	if err := d.Save("INBOX", portaltest.New(1).Antrag(portaltest.AntragSpec{NoFiles: true}).Raw); err != nil {
		return err
	}
	if _, err := a.Sync(ctx, true); err != nil {
		return err
	}
	cases, err := adb.AllCases(ctx)
	if err != nil || len(cases) != 1 {
		return fmt.Errorf("setup: %d cases, %v", len(cases), err)
	}
	ref := cases[0].Ref
	changed := make(chan struct{}, 64)
	b.OnChange = func(*sync.JournalResult) { changed <- struct{}{} }
	go b.Watch(ctx, 0)
	time.Sleep(500 * time.Millisecond)
	var vis, own []time.Duration
	for i := 0; i < rounds; i++ {
		for len(changed) > 0 {
			<-changed
		}
		t0 := time.Now()
		if err := a.AddNote(ctx, ref, fmt.Sprintf("Notiz %d", i), app.Actor{Clerk: "amueller", Office: app.OfficeZell}); err != nil {
			return err
		}
		own = append(own, time.Since(t0))
		deadline := time.After(30 * time.Second)
		for {
			ns, err := bdb.Notes(ctx, ref)
			if err != nil {
				return err
			}
			if len(ns) == i+1 {
				break
			}
			select {
			case <-changed:
			case <-time.After(5 * time.Millisecond):
			case <-deadline:
				return fmt.Errorf("B sah Änderung %d nicht innerhalb von 30 s", i)
			}
		}
		vis = append(vis, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("Latenz Änderung an Tresen A → sichtbar an Tresen B (IDLE), %d Änderungen: Median %v, 95 %% %v, max %v\n",
		rounds, pct(vis, 50), pct(vis, 95), pct(vis, 100))
	fmt.Printf("Dauer der Änderung an Tresen A selbst (Anhängen + Abgleich): Median %v, 95 %% %v\n", pct(own, 50), pct(own, 95))
	return nil
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return s[i-1].Round(100 * time.Microsecond)
}

// entries generates a journal of n changes: about one in eight creates a
// walk-in case, the rest work on recent cases (claims, status, notes,
// forwards, releases), so that some lose in journal order.
func entries(n int) [][]byte {
	rnd := rand.New(rand.NewSource(7))
	clerks := []string{"amueller", "bschmitz", "cweber", "dkoch", "ekrause"}
	counters := []string{"tresen-1", "tresen-2", "tresen-3"}
	offices := []app.OfficeKey{app.OfficeCochem, app.OfficeKaisersesch, app.OfficeUlmen, app.OfficeZell, app.OfficeKreis}
	var munis []*app.Municipality
	for _, m := range reg.Municipalities {
		if m.Office == app.OfficeZell {
			munis = append(munis, m)
		}
	}
	fields, _ := json.Marshal(map[string]any{"hund": map[string]any{"name": "Rex", "rasse": "Mischling", "chipnummer": "276098106543210", "farbe": "schwarz"},
		"haltungsbeginn": "2026-11-01", "gefaehrlich": false, "weitereHunde": 0})
	statuses := []app.Status{app.StatusInProgress, app.StatusWaiting, app.StatusInProgress, app.StatusDone, app.StatusRejected}
	at := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	var keys []string
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		at = at.Add(time.Duration(1+rnd.Intn(60)) * time.Second)
		clerk := clerks[rnd.Intn(len(clerks))]
		e := &app.JournalEntry{V: app.JournalVersion, ID: journal.NewID(), At: at, Counter: counters[rnd.Intn(len(counters))], Clerk: clerk, Office: app.OfficeZell}
		if len(keys) == 0 || rnd.Intn(8) == 0 {
			m := munis[rnd.Intn(len(munis))]
			key := journal.NewID()
			keys = append(keys, key)
			e.Op, e.Case = app.OpCreate, key
			e.NewCase = &app.NewCase{IdempotencyKey: key, Channel: app.ChannelCounter, Service: "hund-anmelden",
				Applicant: app.Applicant{FirstName: "Erika", LastName: fmt.Sprintf("Tresen%d", i), Address: app.Address{Street: "Marktstraße",
					HouseNumber: fmt.Sprint(1 + rnd.Intn(90)), Postcode: m.Postcodes[0], Place: m.Name, AGS: m.AGS}},
				Fields: fields, Routing: app.Decision{Office: app.OfficeZell, Decided: true, Reason: "Wohnsitz", Municipality: m.AGS},
				ReceivedAt: at, Clerk: clerk}
			e.ProvisionalRef = app.ProvisionalRef("ZEL", 2026, e.ID)
		} else {
			// Mostly the newest cases, as at a real counter.
			k := len(keys) - 1 - rnd.Intn(min(len(keys), 40))
			e.Case = keys[k]
			switch r := rnd.Intn(20); {
			case r < 6:
				e.Op = app.OpClaim
			case r < 12:
				e.Op, e.Status, e.Reason = app.OpStatus, statuses[rnd.Intn(len(statuses))], "Bearbeitung"
			case r < 17:
				e.Op, e.Text = app.OpNote, fmt.Sprintf("Rückruf %d", i)
			case r < 19:
				e.Op, e.To, e.Reason = app.OpForward, offices[rnd.Intn(len(offices))], "zuständig"
			default:
				e.Op = app.OpRelease
			}
		}
		raw, err := journal.Encode(e, secret)
		if err != nil {
			panic(err)
		}
		out = append(out, raw)
	}
	return out
}

func rebuild(tmp string, n, batch int) error {
	d, err := dovecottest.StartServer()
	if err != nil {
		return err
	}
	defer d.Stop()
	t0 := time.Now()
	raws := entries(n)
	var bytes int
	for _, r := range raws {
		bytes += len(r)
	}
	gen := time.Since(t0)
	t0 = time.Now()
	if err := d.FillMailbox("Amtstresen/Journal", raws); err != nil {
		return err
	}
	fmt.Printf("Journal mit %d Einträgen (%.1f MB) erzeugt in %v, in Dovecot eingelagert in %v\n", n, float64(bytes)/1e6,
		gen.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	for run := 1; run <= 2; run++ {
		sh, db, err := counter(d, tmp, fmt.Sprintf("neu-%d", run))
		if err != nil {
			return err
		}
		sh.BatchSize = batch
		var prof *os.File
		if run == 1 && cpuprofile != "" {
			if prof, err = os.Create(cpuprofile); err != nil {
				return err
			}
			pprof.StartCPUProfile(prof)
		}
		t0 = time.Now()
		res, err := sh.Sync(context.Background(), false)
		took := time.Since(t0)
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
		}
		if err != nil {
			return err
		}
		applied, rejected, _ := db.JournalEntryCount(context.Background())
		cases, _ := db.CountCases(context.Background(), app.CaseFilter{})
		fmt.Printf("Neuaufbau %d eines frischen Tresens aus %d Einträgen: %v (%.0f Einträge/s); angewendet %d, abgelehnt %d, %d Vorgänge\n",
			run, n, took.Round(time.Millisecond), float64(res.Entries+res.Rejected)/took.Seconds(), applied, rejected, cases)
		if applied+rejected != n {
			return fmt.Errorf("nur %d von %d Einträgen verarbeitet", applied+rejected, n)
		}
		sh.Close()
		db.Close()
	}
	return nil
}

//go:build screenshots

// Command screenshots starts the real window (Fyne's OpenGL driver; under
// Xvfb on a machine without a display) on a seeded database, walks through
// every screen and saves each as PNG, for a person to look at. With -bench
// it measures instead: window shown, filter and search times, memory.
//
//	xvfb-run -a -s "-screen 0 1400x900x24" go run -tags "screenshots sqlite_fts5" ./ui/cli/internal/screenshots -out build/screenshots
//	go run -tags "screenshots sqlite_fts5" ./ui/cli/internal/screenshots -db /tmp/bench.db -cases 100000 -seed-only
//	xvfb-run -a -s "-screen 0 1400x900x24" go run -tags "screenshots sqlite_fts5" ./ui/cli/internal/screenshots -db /tmp/bench.db -bench
//
// Nothing it writes is meant to be committed.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"amtstresen/app"
	"amtstresen/ui"
	"amtstresen/ui/internal/seed"
)

var mainStart = time.Now()

// checkTook receives how long the start-up check of the database took.
var checkTook = make(chan time.Duration, 1)

func main() {
	out := flag.String("out", "build/screenshots", "folder for the PNG files")
	dbPath := flag.String("db", "", "database file; default a new temporary one")
	cases := flag.Int("cases", 3000, "cases to generate into an empty database")
	seedOnly := flag.Bool("seed-only", false, "only fill the database, then exit")
	bench := flag.Bool("bench", false, "measure instead of taking screenshots")
	useCapture := flag.Bool("capture", false, "capture with Fyne's Canvas.Capture instead of ImageMagick's import (blank under some Xvfb setups)")
	themeName := flag.String("theme", "light", "Fyne theme variant: light or dark")
	flag.Parse()
	log.SetFlags(0)
	os.Setenv("FYNE_THEME", *themeName)

	tmp, err := os.MkdirTemp("", "amtstresen-screens-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	// Fyne keeps preferences under the user's config folder: use a fresh
	// one, so the first-start question shows and nothing of a real
	// installation is touched.
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	if *dbPath == "" {
		*dbPath = filepath.Join(tmp, "amtstresen.db")
	}

	ctx := context.Background()
	reg := app.Default()
	openStart := time.Now()
	st, err := openStore(ctx, *dbPath, reg)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	openDur := time.Since(openStart)
	now := time.Now()
	if n, err := st.CountCases(ctx, app.CaseFilter{}); err != nil {
		log.Fatal(err)
	} else if n == 0 {
		t := time.Now()
		if err := seed.Fill(ctx, st, reg, *cases, now, func(done int) {
			if done%10000 == 0 {
				log.Printf("%d Vorgänge angelegt (%s)", done, time.Since(t).Round(time.Second))
			}
		}); err != nil {
			log.Fatal(err)
		}
		if err := seed.Appointments(ctx, st, reg, now); err != nil {
			log.Fatal(err)
		}
		if err := seed.ReviewItems(ctx, st, now); err != nil {
			log.Fatal(err)
		}
		log.Printf("Datenbank %s: %d Vorgänge in %s angelegt", *dbPath, *cases, time.Since(t).Round(time.Millisecond))
	} else if *seedOnly {
		log.Printf("Datenbank %s hat schon %d Vorgänge", *dbPath, n)
	}
	if *seedOnly {
		return
	}
	if *bench {
		// The office must be known at start, as on every day but the first.
		writePrefs(reg)
	}

	// As the real app does (ui/cli runGUI): the account's role from the
	// database (none assigned: the installation is being set up and the
	// account acts as administration), the store scoped to it, the
	// configuration's defaults, the backup folder next to the database.
	actor, setup, err := app.ResolveActor(ctx, st, "mmueller")
	if err != nil {
		log.Fatal(err)
	}
	cfg := &app.Config{}
	cfg.Defaults()
	runStart := time.Now()
	opts := ui.Options{
		Store: app.NewScoped(st, actor), Actor: actor, Setup: setup, BackupDir: filepath.Join(filepath.Dir(*dbPath), "sicherungen"),
		Registry: reg, Config: cfg, DBPath: *dbPath, Version: "screenshots",
		Log:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Paths:  app.Paths{DataDir: tmp, ConfigDir: tmp, CacheDir: tmp},
		Syncer: &demoSyncer{last: now.Add(-8 * time.Hour)},
		// The start-up check of the database, as the app runs it.
		Check: func(ctx context.Context) error {
			t := time.Now()
			err := st.QuickCheck(ctx, false, "")
			checkTook <- time.Since(t)
			return err
		},
		OnReady: func(s *ui.Session) {
			go func() {
				defer func() {
					if r := recover(); r != nil {
						log.Printf("panic: %v", r)
					}
					fyne.Do(func() { s.Window().Close() })
				}()
				if *bench {
					runBench(s, mainStart, openDur, runStart)
				} else {
					shoot(s, *out, !*useCapture)
				}
			}()
		},
	}
	if err := ui.Run(ctx, opts); err != nil {
		log.Fatal(err)
	}
}

// writePrefs sets office and clerk the way Einstellungen would.
func writePrefs(reg *app.Registry) {
	dir := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "fyne", ui.AppID)
	_ = os.MkdirAll(dir, 0o700)
	_ = os.WriteFile(filepath.Join(dir, "preferences.json"),
		[]byte(`{"office":"vg-cochem","clerk.sign":"mmueller","clerk.name":"Maria Müller"}`), 0o600)
}

func shoot(s *ui.Session, out string, useImport bool) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		log.Fatal(err)
	}
	n := 0
	snap := func(name string) {
		time.Sleep(400 * time.Millisecond) // let the frame be painted
		n++
		path := filepath.Join(out, fmt.Sprintf("%02d-%s.png", n, name))
		if useImport {
			if b, err := exec.Command("import", "-window", "root", path).CombinedOutput(); err != nil {
				log.Fatalf("import: %v %s", err, b)
			}
		} else if err := savePNG(path, s.Capture()); err != nil {
			log.Fatal(err)
		}
		log.Printf("%s", path)
	}
	// Fill the screen, so the root window is the window.
	fyne.DoAndWait(func() { s.Window().Resize(fyne.NewSize(1400, 900)) })
	s.Wait()
	snap("dienststelle-waehlen")
	s.SetClerk(app.OfficeCochem, "Maria Müller", "mmueller")
	// The default window size first: the important columns must fit.
	fyne.DoAndWait(func() { s.Window().Resize(fyne.NewSize(1280, 800)) })
	s.Wait()
	snap("arbeitsvorrat-1280x800")
	fyne.DoAndWait(func() { s.Window().Resize(fyne.NewSize(1400, 900)) })
	s.Wait()
	snap("arbeitsvorrat")
	s.SetQueueSearch("Müller")
	snap("arbeitsvorrat-suche")
	s.SetQueueSearch("")
	s.SetQueueFilter(app.CaseFilter{Flagged: true})
	snap("arbeitsvorrat-mit-hinweis")
	s.SetQueueFilter(app.CaseFilter{Offices: []app.OfficeKey{app.OfficeCochem}, Statuses: []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}})

	ref := firstRef(s, app.CaseFilter{Offices: []app.OfficeKey{app.OfficeCochem}, Service: "hund-anmelden", Statuses: []app.Status{app.StatusInProgress}})
	s.OpenCase(ref)
	snap("vorgang")
	s.Demo("status-dialog")
	snap("vorgang-status-aendern")
	s.Back()
	s.Back()

	s.Show(ui.ScreenIntake)
	snap("schalter-leer")
	s.FillIntake(app.IntakeInput{Service: "hund-anmelden", Salutation: "Frau", FirstName: "Anna", LastName: "Muster",
		BirthDate: "14.03.1985", Street: "Moselstraße", HouseNumber: "12a", Postcode: "56253", Place: "Treis-Karden",
		Email: "anna.muster@example.org", Fields: map[string]string{"hund.name": "Bello", "hund.rasse": "Dackel",
			"hund.chipnummer": "27609810654", "gefaehrlich": "nein", "weitereHunde": "0"}})
	s.Demo("intake-errors")
	snap("schalter-pruefung")
	s.Demo("intake-suggestions")
	snap("schalter-plz-vorschlaege")

	s.Show(ui.ScreenAppointments)
	s.Demo("appointment-first")
	snap("termine")
	s.Show(ui.ScreenReview)
	s.Demo("review-first")
	snap("zur-sichtung")
	s.Demo("review-to-intake")
	snap("schalter-aus-sichtung")
	s.Demo("discard-question")
	snap("eingaben-verwerfen")
	s.Back()
	s.Show(ui.ScreenSearch)
	snap("suche")
	s.Show(ui.ScreenSettings)
	snap("einstellungen")
}

func firstRef(s *ui.Session, f app.CaseFilter) string {
	f.Limit = 50
	rows, err := s.Store().ListCases(context.Background(), f)
	if err == nil && len(rows) == 0 && (len(f.Statuses) > 0 || f.Service != "") {
		// The seeded mix depends on the day; any case of the office will do.
		return firstRef(s, app.CaseFilter{Offices: f.Offices})
	}
	if err != nil || len(rows) == 0 {
		log.Fatalf("no case for the case screenshot: %v", err)
	}
	for _, r := range rows { // a portal case shows attachments and history
		if r.Channel == app.ChannelPortal && r.Assignee != "" {
			return r.Ref
		}
	}
	return rows[0].Ref
}

func savePNG(path string, img image.Image) error {
	if img == nil {
		return fmt.Errorf("capture: no image")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}

func runBench(s *ui.Session, mainStart time.Time, openDur time.Duration, runStart time.Time) {
	s.Wait() // the queue's first page is on screen
	shown := time.Since(runStart)
	total := time.Since(mainStart)
	all := s.SetQueueFilter(app.CaseFilter{})
	fmt.Printf("Vorgänge in der Datenbank: %s\n", fmtInt(all.Count))
	fmt.Printf("Fenster mit erster Seite des Arbeitsvorrats: %s ab Programmstart (davon Datenbank öffnen %s, Fenster bis Daten %s; die Prüfung der Datenbank läuft dabei mit)\n",
		total.Round(time.Millisecond), openDur.Round(time.Millisecond), shown.Round(time.Millisecond))

	type step struct {
		name string
		run  func() ui.QueueTiming
	}
	open := []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}
	filter := func(f app.CaseFilter) func() ui.QueueTiming {
		return func() ui.QueueTiming { return s.SetQueueFilter(f) }
	}
	search := func(q string) func() ui.QueueTiming { return func() ui.QueueTiming { return s.SetQueueSearch(q) } }
	steps := []step{
		{"Filter: eigene Dienststelle, offen (Standard)", filter(app.CaseFilter{Offices: []app.OfficeKey{app.OfficeCochem}, Statuses: open})},
		{"Filter: alle Dienststellen, alle Status", filter(app.CaseFilter{})},
		{"Filter: Status Erledigt", filter(app.CaseFilter{Statuses: []app.Status{app.StatusDone}})},
		{"Filter: Leistung Sperrmüll, offen", filter(app.CaseFilter{Service: "sperrmuell", Statuses: open})},
		{"Filter: mit Hinweis", filter(app.CaseFilter{Flagged: true})},
		{"Filter: Anlage fehlt, Kreisverwaltung", filter(app.CaseFilter{Offices: []app.OfficeKey{app.OfficeKreis}, Flag: app.FlagAttachmentMissing})},
		{"Filter: nur meine (mmueller)", filter(app.CaseFilter{Assignee: "mmueller"})},
		{"Filter: nicht übernommen, offen", filter(app.CaseFilter{Unassigned: true, Statuses: open})},
		{"Sortierung: Aktenzeichen aufsteigend", filter(app.CaseFilter{Sort: "+ref"})},
		{"Sortierung: Antragsteller", filter(app.CaseFilter{Sort: "+applicant"})},
		{"Suche: Müller (häufiger Name)", search("Müller")},
		{"Suche: Zender", search("Zender")},
		{"Suche: Treis-Karden", search("Treis-Karden")},
		{"Suche: Dackel", search("Dackel")},
		{"Suche: Aktenzeichen COC-2026-00042", search("COC-2026-00042")},
		{"Suche: Mül (Wortanfang beim Tippen)", search("Mül")},
		{"Suche: leer (zurück zur Liste)", search("")},
	}
	fmt.Printf("  %-46s %28s %28s\n", "", "erste Ausführung", "wiederholt (beste von 2)")
	fmt.Printf("  %-46s %14s %13s %14s %13s %9s\n", "", "Zeilen", "Anzahl", "Zeilen", "Anzahl", "Treffer")
	var worstFirst, worstCount, worstRep time.Duration
	for _, st := range steps {
		first := st.run()
		rep := st.run()
		if r := st.run(); r.Counted < rep.Counted {
			rep = r
		}
		fmt.Printf("  %-46s %14s %13s %14s %13s %9s\n", st.name, ms(first.FirstRows), ms(first.Counted), ms(rep.FirstRows), ms(rep.Counted), fmtInt(rep.Count))
		worstFirst = max(worstFirst, first.FirstRows)
		worstCount = max(worstCount, first.Counted)
		worstRep = max(worstRep, rep.Counted)
	}
	fmt.Printf("Langsamste: erste Zeilen %s, Anzahl %s (erste Ausführung); wiederholt %s\n", ms(worstFirst), ms(worstCount), ms(worstRep))

	// Scroll through the table: pages deep in the list are read on demand.
	s.SetQueueFilter(app.CaseFilter{})
	for _, row := range []int{1000, 20000, 50000, 99000} {
		t := time.Now()
		s.ScrollQueue(row)
		fmt.Printf("Blättern zu Zeile %s: %s\n", fmtInt(row), ms(time.Since(t)))
	}

	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Printf("Speicher: RSS %s, Spitze (VmHWM) %s; Go-Heap %d MB in Benutzung, %d MB vom System\n",
		procStatus("VmRSS"), procStatus("VmHWM"), m.HeapAlloc>>20, m.Sys>>20)
	fmt.Printf("Prüfung der Datenbank beim Start (quick_check, neben dem Fenster): %s\n", ms(<-checkTook))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func fmtInt(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "." + s[i:]
	}
	return s
}

func procStatus(key string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key+":") {
			return strings.TrimSpace(strings.TrimPrefix(l, key+":"))
		}
	}
	return "?"
}

// demoSyncer stands in for the portal sync: it reports a last run and
// pretends to work when asked.
type demoSyncer struct{ last time.Time }

func (d *demoSyncer) Run(ctx context.Context, progress func(done, total int)) (string, error) {
	for i := 0; i <= 20; i++ {
		progress(i, 20)
		time.Sleep(50 * time.Millisecond)
	}
	d.last = time.Now()
	return "keine neuen Sendungen", nil
}

func (d *demoSyncer) LastState(ctx context.Context) (*app.SyncState, error) {
	return &app.SyncState{Mailbox: "INBOX", LastRun: d.last, LastResult: "14 Anträge übernommen, 3 Termine, 2 Mails zur Sichtung"}, nil
}

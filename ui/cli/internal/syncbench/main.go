// Command bench measures the portal sync against a real Dovecot: it fills
// a private Dovecot with generated deliveries (default 10,000, a third with
// an attachment), lets mbsync (Debian isync) pull the same mailbox to a
// local maildir for comparison, then syncs everything into an empty
// database and runs a no-op sync after it. With -store postgres the
// database is a fresh one on a private PostgreSQL (durable commits).
//
//	go run -tags sqlite_fts5 ./ui/cli/internal/syncbench -n 10000                  (make bench-sync)
//	go run -tags sqlite_fts5 ./ui/cli/internal/syncbench -n 10000 -store postgres  (make bench-sync-postgres)
//
// It must run as root (the private Dovecot switches to nobody). It lives
// beside the wiring (ui/cli) because it wires real adapters: the sync on
// the SQLite storage, with the collector relaxed as the program does it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"amtstresen/app"
	"amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
	"amtstresen/ui/cli/internal/gctune"
)

func main() {
	n := flag.Int("n", 10000, "Anzahl Sendungen")
	batch := flag.Int("batch", 500, "Mails je Abruf/Transaktionsblock")
	cpuprofile := flag.String("cpuprofile", "", "CPU-Profil des vollen Abgleichs in diese Datei")
	store := flag.String("store", "sqlite", "Speicher: sqlite oder postgres")
	withMbsync := flag.Bool("mbsync", true, "zum Vergleich mbsync dasselbe Postfach holen lassen")
	flag.Parse()
	compare = *withMbsync
	profile, storeKind = *cpuprofile, *store
	if err := run(*n, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "Fehler:", err)
		os.Exit(1)
	}
}

var profile, storeKind string
var compare bool

func run(n, batch int) error {
	d, err := dovecottest.StartServer()
	if err != nil {
		return err
	}
	defer d.Stop()
	tmp, err := os.MkdirTemp("", "amtstresen-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	t0 := time.Now()
	g := portaltest.New(42)
	mails := g.Bulk(n)
	raws := make([][]byte, len(mails))
	var bytes, withFile int
	for i, m := range mails {
		raws[i] = m.Raw
		bytes += len(m.Raw)
		if m.Files > 0 {
			withFile++
		}
	}
	genDur := time.Since(t0)
	t0 = time.Now()
	if err := d.FillInbox(raws); err != nil {
		return err
	}
	fillDur := time.Since(t0)
	fmt.Printf("Dovecot %s: %d Sendungen (%d mit Anlage), %.1f MB; erzeugt in %v, eingelagert in %v\n",
		d.Addr, n, withFile, float64(bytes)/1e6, genDur.Round(time.Millisecond), fillDur.Round(time.Millisecond))

	var mb time.Duration
	if compare {
		if mb, err = mbsync(d, tmp); err != nil {
			fmt.Println("mbsync:", err)
		}
	}

	st, storeName, closeStore, err := openStore(storeKind, tmp)
	if err != nil {
		return err
	}
	defer closeStore()
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: d.Addr, TLS: mailbox.TLSNone, Username: d.User},
		Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
	cfg.Defaults()
	var logger *slog.Logger
	if os.Getenv("BENCH_DEBUG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := sync.New(cfg, st, app.Default(), logger)
	if err != nil {
		return err
	}
	s.BatchSize = batch
	s.OnRun = gctune.Relax
	pw := d.Password
	s.Password = func() (string, error) { return pw, nil }
	ctx := context.Background()
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	cpu0, self0, srv0 := systemCPU(), selfCPU(), serverCPU()
	t0 = time.Now()
	res, err := s.Sync(ctx, nil)
	full := time.Since(t0)
	cpuAll, cpuSelf, cpuServer := systemCPU()-cpu0, selfCPU()-self0, serverCPU()-srv0
	if profile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if res.Mails != n {
		return fmt.Errorf("nur %d von %d Mails abgeglichen", res.Mails, n)
	}
	t0 = time.Now()
	res2, err := s.Sync(ctx, nil)
	noop := time.Since(t0)
	if err != nil {
		return err
	}
	inbox, _ := d.Count("INBOX")
	processed, _ := d.Count("Übernommen")
	review, _ := d.Count("Zur Sichtung")
	rate := float64(n) / full.Seconds()
	fmt.Printf("Rechner: %d Kerne (GOMAXPROCS %d), %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), storeName)
	goal := 5000
	if storeKind == "postgres" {
		goal = 2000
	}
	fmt.Printf("Voller Abgleich:   %d Sendungen in %v = %.0f Sendungen/s (Ziel ≥ %d/s) – %s\n", n, full.Round(time.Millisecond), rate, goal, res.Summary())
	fmt.Printf("CPU beim vollen Abgleich: Amtstresen %v, übrige Prozesse (Dovecot, PostgreSQL) %v, von %v verfügbar\n",
		cpuSelf.Round(time.Millisecond), (cpuAll - cpuSelf).Round(time.Millisecond), (full * time.Duration(runtime.NumCPU())).Round(time.Millisecond))
	if cpuServer > 0 {
		fmt.Printf("CPU des PostgreSQL-Servers beim vollen Abgleich: %v (%.0f µs je Sendung)\n", cpuServer.Round(time.Millisecond), float64(cpuServer.Microseconds())/float64(n))
	}
	fmt.Printf("CPU von Amtstresen je Sendung: %.0f µs\n", float64(cpuSelf.Microseconds())/float64(n))
	fmt.Printf("Leerer Abgleich:   %v (Ziel < 100 ms) – %s\n", noop.Round(time.Microsecond), res2.Summary())
	fmt.Printf("Postfach danach:   INBOX %d, Übernommen %d, Zur Sichtung %d\n", inbox, processed, review)
	if mb > 0 {
		fmt.Printf("mbsync (isync):    %d Mails in %v = %.0f Mails/s; Amtstresen braucht das %.2f-fache der mbsync-Zeit\n",
			n, mb.Round(time.Millisecond), float64(n)/mb.Seconds(), full.Seconds()/mb.Seconds())
	}
	return nil
}

// systemCPU is the CPU time all processes used so far (from /proc/stat;
// 0 where there is none).
func systemCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}

// selfCPU is the CPU time this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if os.Getenv("BENCH_DEBUG") != "" {
		fmt.Printf("  (user %v, sys %v)\n", time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mbsync pulls INBOX into a local maildir and returns the time it took.
func mbsync(d *dovecottest.Server, tmp string) (time.Duration, error) {
	if _, err := exec.LookPath("mbsync"); err != nil {
		return 0, fmt.Errorf("mbsync fehlt (apt-get install -y isync)")
	}
	local := filepath.Join(tmp, "mbsync-maildir")
	os.MkdirAll(local, 0o700)
	host, port := d.Addr[:len("127.0.0.1")], d.Addr[len("127.0.0.1:"):]
	conf := fmt.Sprintf(`IMAPAccount bench
Host %s
Port %s
User %s
Pass %s
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path %s/
Inbox %s/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Sync Pull
Create Near
SyncState *
`, host, port, d.User, d.Password, local, local)
	cf := filepath.Join(tmp, "mbsyncrc")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		return 0, err
	}
	t0 := time.Now()
	out, err := exec.Command("mbsync", "-c", cf, "-q", "bench").CombinedOutput()
	dur := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	files, _ := os.ReadDir(filepath.Join(local, "INBOX", "new"))
	cur, _ := os.ReadDir(filepath.Join(local, "INBOX", "cur"))
	fmt.Printf("mbsync: %d Mails in %s\n", len(files)+len(cur), local)
	return dur, nil
}

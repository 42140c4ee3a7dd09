package cli

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	gosync "sync"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/storage/storetest"
	portalsync "amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/portalsim"
	"amtstresen/sync/portaltest"
	"amtstresen/sync/postfixtest"
	"amtstresen/sync/rueckkanal"
)

// BenchmarkReturnChannel1000 (make bench-rueckkanal-loop) measures the
// whole return channel with real parts on the SQLite store: 1,000 clerks'
// status changes (in Bearbeitung → abgeschlossen, each queuing its message
// in the change's transaction), while the program's sender (compose,
// store the bytes, submit) sends through a private Postfix into Dovecot,
// the test portal answers from that mailbox and the program's sync
// applies the quittungen from the functional mailbox, all running at
// once as in production. Reported: messages per second through Postfix
// (first change to the last relay acceptance), the time from a status
// change to its quittung applied (p50, p99, max; a quittung counts as
// applied when the sync run that took it in ends), and the whole run.
func BenchmarkReturnChannel1000(b *testing.B) { benchReturnChannel(b, true, 1000, 0) }

// BenchmarkReturnChannelSteady is the same loop at a steady pace: 200
// status changes, one every 100 ms (a busy office's day comes in minutes,
// not all at once). Reported as above: the time a citizen's message takes
// from the clerk's change to the quittung applied when nothing queues.
func BenchmarkReturnChannelSteady(b *testing.B) {
	benchReturnChannel(b, true, 200, 100*time.Millisecond)
}

// BenchmarkSender1000 is the sender alone on the same setup: the 1,000
// messages are queued first, then sent (no portal, no sync at the same
// time). Reported: messages per second to the last relay acceptance.
func BenchmarkSender1000(b *testing.B) { benchReturnChannel(b, false, 1000, 0) }

func benchReturnChannel(b *testing.B, loop bool, n int, every time.Duration) {
	ctx := context.Background()
	dc := dovecottest.StartWith(b, dovecottest.Options{LMTP: true})
	pf := postfixtest.Start(b, postfixtest.Options{LMTPAddr: dc.LMTPAddr})
	in := portalsim.Mailbox{Addr: dc.Addr, User: "rueckkanal", Password: dc.Password}
	out := portalsim.Mailbox{Addr: dc.Addr, User: dc.User, Password: dc.Password}
	reg := app.Default()
	var rate, p50, p99, pmax, total float64
	for iter := 0; iter < b.N; iter++ {
		b.StopTimer()
		dir := b.TempDir()
		dbPath := filepath.Join(dir, "a.db")
		db, err := storage.Open(ctx, dbPath, reg)
		if err != nil {
			b.Fatal(err)
		}
		keys := map[app.OfficeKey]*rueckkanal.OfficeKey{}
		pubs := map[app.OfficeKey]ed25519.PublicKey{}
		for _, o := range rueckkanal.Offices {
			k, _ := rueckkanal.GenerateOfficeKey(o, nil)
			keys[o], pubs[o] = k, k.Public()
		}
		portal := portalsim.New(portalsim.Config{PortalKey: portaltest.TestKey(), OfficeKeys: pubs})
		clerk := app.Actor{Clerk: "bench", Name: "Bench", Role: app.RoleAdmin}
		refs := make([]string, n)
		for i := range refs {
			c, _, err := db.CreateCase(ctx, storetest.DogCase(b, rueckkanal.NewUUID(), "Erika", fmt.Sprintf("Muster%d", i), app.OfficeCochem, time.Now()), nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.SetStatus(ctx, c.Ref, app.StatusInProgress, "", clerk); err != nil {
				b.Fatal(err)
			}
			refs[i] = c.Ref
		}
		// The "eingegangen" of the applications is not what is measured.
		raw, err := sql.Open("sqlite3", "file:"+dbPath+"?_busy_timeout=10000")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := raw.Exec(`UPDATE outbox SET state = 'servicekonto'`); err != nil {
			b.Fatal(err)
		}
		raw.Close()

		e := &env{ctx: ctx, reg: reg, stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler)}
		rc := rueckkanal.Config{SMTP: rueckkanal.SMTPConfig{Address: pf.Addr, TLS: "none", From: "VG Cochem <buergerportal@cochem.example>"},
			ReturnAddress: "rueckkanal@portal.test"}
		snd, err := buildSender(e, rc, "", db, func(o app.OfficeKey) (*rueckkanal.OfficeKey, error) { return keys[o], nil })
		if err != nil {
			b.Fatal(err)
		}
		var sentMu gosync.Mutex
		var lastSent time.Time
		sent := 0
		snd.AfterRelay = func(*rueckkanal.Outgoing) {
			sentMu.Lock()
			sent++
			lastSent = time.Now()
			sentMu.Unlock()
		}
		cfg := &app.Config{IMAP: app.IMAPConfig{Address: dc.Addr, TLS: "none", Username: dc.User},
			Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
		cfg.Defaults()
		syncer, err := portalsync.New(cfg, db, reg, nil)
		if err != nil {
			b.Fatal(err)
		}
		syncer.Password = func() (string, error) { return dc.Password, nil }
		syncer.Quittungen = db

		if !loop {
			for _, ref := range refs {
				if _, err := db.ChangeCase(ctx, ref, app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusDone, Reason: "Anmeldung erfasst"},
					&app.Tell{Text: "Sehr geehrte Frau Muster,\nIhr Antrag ist abgeschlossen."}, clerk); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			start := time.Now()
			r, err := snd.SendDue(ctx)
			if err != nil || r.Sent != n {
				b.Fatalf("%+v %v", r, err)
			}
			rate += float64(n) / time.Since(start).Seconds()
			b.StopTimer()
			db.Close()
			continue
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg gosync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); snd.Run(runCtx, 200*time.Millisecond) }()
		go func() { // the portal
			defer wg.Done()
			for runCtx.Err() == nil {
				portal.Poll(runCtx, in, out)
				time.Sleep(50 * time.Millisecond)
			}
		}()
		changed := map[string]time.Time{} // nachricht → status change
		var chMu gosync.Mutex
		applied := map[string]time.Duration{}
		doneAll := make(chan struct{})
		go func() { // the counter's sync
			defer wg.Done()
			for runCtx.Err() == nil {
				if _, err := syncer.Sync(runCtx, nil); err != nil && runCtx.Err() == nil {
					b.Error(err)
				}
				now := time.Now()
				msgs, err := db.OutboxMessages(ctx, app.OutboxFilter{States: []app.OutboxState{app.OutboxServicekonto}})
				if err != nil {
					b.Error(err)
					return
				}
				chMu.Lock()
				for _, m := range msgs {
					if t0, ok := changed[m.Nachricht]; ok {
						if _, seen := applied[m.Nachricht]; !seen {
							applied[m.Nachricht] = now.Sub(t0)
						}
					}
				}
				full := len(applied) == n
				chMu.Unlock()
				if full {
					close(doneAll)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()

		b.StartTimer()
		start := time.Now()
		for _, ref := range refs {
			t0 := time.Now()
			o, err := db.ChangeCase(ctx, ref, app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusDone, Reason: "Anmeldung erfasst"},
				&app.Tell{Text: "Sehr geehrte Frau Muster,\nIhr Antrag ist abgeschlossen."}, clerk)
			if err != nil || o == nil {
				b.Fatalf("change %s: %v, %v", ref, o, err)
			}
			chMu.Lock()
			changed[o.Nachricht] = t0
			chMu.Unlock()
			snd.Wake()
			if every > 0 {
				time.Sleep(time.Until(t0.Add(every)))
			}
		}
		select {
		case <-doneAll:
		case <-time.After(10 * time.Minute):
			b.Fatalf("%d of %d quittungen applied after 10 minutes", len(applied), n)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		stop()
		wg.Wait()
		db.Close()

		sentMu.Lock()
		if sent < n {
			b.Fatalf("%d sent", sent)
		}
		rate += float64(n) / lastSent.Sub(start).Seconds()
		sentMu.Unlock()
		lat := make([]time.Duration, 0, n)
		for _, d := range applied {
			lat = append(lat, d)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50 += lat[n/2].Seconds()
		p99 += lat[n*99/100].Seconds()
		pmax += lat[n-1].Seconds()
		total += elapsed.Seconds()
	}
	N := float64(b.N)
	b.ReportMetric(rate/N, "sent-msg/s")
	if !loop {
		return
	}
	b.ReportMetric(p50/N, "s-p50-change-to-quittung")
	b.ReportMetric(p99/N, "s-p99-change-to-quittung")
	b.ReportMetric(pmax/N, "s-max-change-to-quittung")
	b.ReportMetric(total/N, "s-total")
}

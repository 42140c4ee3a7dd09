package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"amtstresen/app"
	"amtstresen/storage"
	portaldemo "amtstresen/sync/demo"
)

// TestSyncersRelaxTheCollector: the program relaxes the garbage collector
// while a sync runs (GOGC 200); the sync library leaves the process's
// settings alone.
func TestSyncersRelaxTheCollector(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC set in the environment")
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "a.db"), app.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: "127.0.0.1:1", TLS: "none", Username: "eingang"},
		Portal: app.PortalConfig{PublicKey: portaldemo.PublicKeyBase64()}}
	cfg.Defaults()
	e := &env{ctx: ctx, cfg: cfg, reg: app.Default(), stdout: io.Discard, stderr: io.Discard}
	s, err := newSyncer(e, cfg, db, db)
	if err != nil {
		t.Fatal(err)
	}
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	for name, hook := range map[string]func() func(){"sync": s.OnRun} {
		if hook == nil {
			t.Fatalf("%s: no hook", name)
		}
		done := hook()
		if p := debug.SetGCPercent(200); p != 200 {
			t.Errorf("%s running: GOGC %d, want 200", name, p)
		}
		done()
		if p := debug.SetGCPercent(100); p != 100 {
			t.Errorf("%s ended: GOGC %d, want 100", name, p)
		}
	}
}

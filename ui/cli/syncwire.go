package cli

import (
	"amtstresen/app"
	"amtstresen/storage"
	portalsync "amtstresen/sync"
	"amtstresen/ui/cli/internal/gctune"
)

// newSyncer is the portal sync on db with cfg's mailbox. While it runs,
// the garbage collector is relaxed (gctune): a setting of the whole
// process, so the program makes it, not the sync.
func newSyncer(e *env, cfg *app.Config, db *storage.DB) (*portalsync.Syncer, error) {
	s, err := portalsync.New(cfg, db, e.reg, syncLogger(e))
	if err != nil {
		return nil, err
	}
	s.OnRun = gctune.Relax
	return s, nil
}

// newShared is the shared journal on db, with the collector relaxed
// while it syncs.
func newShared(e *env, db *storage.DB) (*portalsync.Shared, error) {
	sh, err := portalsync.NewShared(e.cfg, db, e.reg, syncLogger(e))
	if err != nil {
		return nil, err
	}
	sh.OnRun = gctune.Relax
	return sh, nil
}

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

package cli

import (
	"context"

	"amtstresen/app"
	portalsync "amtstresen/sync"
	"amtstresen/ui/cli/internal/gctune"
)

// newSyncer is the portal sync on db with cfg's mailbox; q applies the
// portal's receipts for status messages (nil: they go to the review
// list). While it runs, the garbage collector is relaxed (gctune): a
// setting of the whole process, so the program makes it, not the sync.
func newSyncer(e *env, cfg *app.Config, db portalsync.Store, q portalsync.QuittungStore) (*portalsync.Syncer, error) {
	s, err := portalsync.New(cfg, db, e.reg, e.log) // the sync adds component=sync
	if err != nil {
		return nil, err
	}
	s.OnRun = gctune.Relax
	s.Quittungen = q
	return s, nil
}

// wakingSyncer is the window's sync: after each run it wakes the sender,
// which may have new status messages ("eingegangen") to send.
type wakingSyncer struct {
	*portalsync.Syncer
	wake func()
}

func (w wakingSyncer) Run(ctx context.Context, progress func(done, total int)) (string, error) {
	defer w.wake()
	return w.Syncer.Run(ctx, progress)
}

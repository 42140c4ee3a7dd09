package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"amtstresen/app"
)

// PurgeMailbox carries the retention purge to the server: the mails the
// purge deleted in the database (app.IntakeStore.MailPurges: the
// deliveries and review mails of purged cases, handled review mails past
// their period) are removed from the processed and review folders, by
// UID STORE \Deleted and UID EXPUNGE of exactly their UIDs, never a plain
// EXPUNGE. A mail whose place was not recorded is found by its case id
// (header X-Buergerportal-Vorgang) in those two folders; the inbox is
// never touched (a new delivery waiting there must not go). It returns
// the number of mails removed. What fails stays queued for the next run.
func (s *Syncer) PurgeMailbox(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	jobs, err := s.store.MailPurges(ctx)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	unlock, err := s.store.LockSync(ctx, s.LockWait)
	if err != nil {
		return 0, err
	}
	defer unlock()
	pw := s.Password
	if pw == nil {
		pw = func() (string, error) { return password(&s.cfg) }
	}
	secret, err := pw()
	if err != nil {
		return 0, err
	}
	wd := newWatchdog(s.commandTimeout())
	defer wd.stop()
	cl, err := dialWatched(ctx, &s.cfg, secret, nil, wd)
	if err != nil {
		return 0, s.explainStop(ctx, wd, err)
	}
	defer cl.Close()
	s.wd = wd
	defer func() { s.wd = nil }()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	n, err := s.purgeMailbox(ctx, cl, jobs)
	if err == nil {
		done := wd.begin()
		cl.Logout().Wait()
		done()
	}
	return n, s.explainStop(ctx, wd, err)
}

func (s *Syncer) purgeMailbox(ctx context.Context, cl *imapclient.Client, jobs []app.MailPurge) (int, error) {
	if !cl.Caps().Has(imap.CapUIDPlus) {
		return 0, app.Errorf(app.EINVALID, "Der Mailserver %s kann kein UIDPLUS: die Mails gelöschter Vorgänge können nicht gezielt aus den Ordnern „%s“ und „%s“ entfernt werden (ein allgemeines EXPUNGE würde auch fremde gelöschte Mails entfernen). Bitte die IT bitten, sie von Hand zu löschen, oder einen Server mit UIDPLUS verwenden; die Liste bleibt gespeichert.",
			s.cfg.Address, s.cfg.ProcessedMailbox, s.cfg.ReviewMailbox)
	}
	boxes := []string{s.cfg.ProcessedMailbox, s.cfg.ReviewMailbox}
	for _, j := range jobs {
		if j.Mailbox != "" && !slices.Contains(boxes, j.Mailbox) && mailboxKey(j.Mailbox) != mailboxKey(s.cfg.Mailbox) {
			boxes = append(boxes, j.Mailbox)
		}
	}
	removed := 0
	var done []int64
	for _, box := range boxes {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		w := s.wd.begin()
		sel, err := cl.Select(box, nil).Wait()
		w()
		if err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) {
				continue // no such folder: nothing of ours in it
			}
			return removed, serverError(&s.cfg, "SELECT "+box, err)
		}
		var set imap.UIDSet
		for _, j := range jobs {
			if j.Mailbox == box && j.UIDValidity == sel.UIDValidity && j.UID > 0 {
				set.AddNum(imap.UID(j.UID))
			}
		}
		for _, j := range jobs {
			if j.PortalCase == "" || !validUUID(j.PortalCase) {
				continue
			}
			w := s.wd.begin()
			data, err := cl.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "X-Buergerportal-Vorgang", Value: j.PortalCase}}}, nil).Wait()
			w()
			if err != nil {
				return removed, serverError(&s.cfg, "UID SEARCH "+box, err)
			}
			set.AddNum(data.AllUIDs()...)
		}
		if len(set) > 0 && sel.NumMessages > 0 {
			w := s.wd.begin()
			err := cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
			if err == nil {
				var expunged []uint32
				cmd := cl.UIDExpunge(set)
				for {
					seq := cmd.Next()
					if seq == 0 {
						break
					}
					expunged = append(expunged, seq)
				}
				err = cmd.Close()
				removed += len(expunged)
			}
			w()
			if err != nil && !expungeIssued(err) {
				return removed, serverError(&s.cfg, "UID EXPUNGE "+box, err)
			}
		}
		s.log.Info("mailbox purged", "mailbox", box, "mails", countUIDs(set))
	}
	for _, j := range jobs {
		done = append(done, j.ID)
	}
	if err := s.store.MailPurged(ctx, done); err != nil {
		return removed, fmt.Errorf("mail purged: %w", err)
	}
	return removed, nil
}

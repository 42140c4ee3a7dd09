package sync

import (
	"context"
	"fmt"
	"slices"

	"amtstresen/app"
	"amtstresen/sync/mailbox"
)

// PurgeMailbox carries the retention purge to the server: the mails the
// purge deleted in the database (app.PortalStore.MailPurges: the
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
	var n int
	err = s.connected(ctx, func(conn *mailbox.Conn) error {
		var err error
		n, err = s.purgeMailbox(ctx, conn, jobs)
		return err
	})
	return n, err
}

func (s *Syncer) purgeMailbox(ctx context.Context, conn *mailbox.Conn, jobs []app.MailPurge) (int, error) {
	if !conn.CanUIDExpunge() {
		return 0, app.Errorf(app.EINVALID, "Der Mailserver %s kann kein UIDPLUS: die Mails gelöschter Vorgänge können nicht gezielt aus den Ordnern „%s“ und „%s“ entfernt werden (ein allgemeines EXPUNGE würde auch fremde gelöschte Mails entfernen). Bitte die IT bitten, sie von Hand zu löschen, oder einen Server mit UIDPLUS verwenden; die Liste bleibt gespeichert.",
			s.cfg.Address, s.cfg.ProcessedMailbox, s.cfg.ReviewMailbox)
	}
	boxes := []string{s.cfg.ProcessedMailbox, s.cfg.ReviewMailbox}
	for _, j := range jobs {
		if j.Mailbox != "" && !slices.Contains(boxes, j.Mailbox) && mailbox.Key(j.Mailbox) != mailbox.Key(s.cfg.Mailbox) {
			boxes = append(boxes, j.Mailbox)
		}
	}
	removed := 0
	var done []int64
	for _, box := range boxes {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		sel, err := conn.Select(box, false)
		if err != nil {
			if mailbox.Refused(err) {
				continue // no such folder: nothing of ours in it
			}
			return removed, err
		}
		var uids []uint32
		for _, j := range jobs {
			if j.Mailbox == box && j.UIDValidity == sel.UIDValidity && j.UID > 0 {
				uids = append(uids, j.UID)
			}
		}
		for _, j := range jobs {
			if j.PortalCase == "" || !app.IsUUID(j.PortalCase) {
				continue
			}
			found, err := conn.SearchHeader("X-Buergerportal-Vorgang", j.PortalCase)
			if err != nil {
				return removed, err
			}
			uids = append(uids, found...)
		}
		uids = distinct(uids)
		if len(uids) > 0 && sel.NumMessages > 0 {
			n, err := conn.Expunge(uids)
			removed += n
			if err != nil {
				return removed, err
			}
		}
		s.log.Info("mailbox purged", "mailbox", box, "mails", len(uids))
	}
	for _, j := range jobs {
		done = append(done, j.ID)
	}
	if err := s.store.MailPurged(ctx, done); err != nil {
		return removed, fmt.Errorf("mail purged: %w", err)
	}
	return removed, nil
}

// distinct is uids sorted, each once.
func distinct(uids []uint32) []uint32 {
	slices.Sort(uids)
	return slices.Compact(uids)
}

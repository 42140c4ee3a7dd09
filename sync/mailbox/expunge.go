package mailbox

import "github.com/emersion/go-imap/v2"

// Expunge removes exactly these mails from the selected folder: \Deleted,
// then UID EXPUNGE (UIDPLUS), never a plain EXPUNGE. Mails gone meanwhile
// are no error. It returns how many the server removed.
func (c *Conn) Expunge(uids []uint32) (int, error) {
	set := uidSet(uids)
	done := c.wd.begin()
	defer done()
	removed := 0
	err := c.cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	if err == nil {
		cmd := c.cl.UIDExpunge(set)
		for cmd.Next() != 0 {
			removed++
		}
		err = cmd.Close()
	}
	if err != nil && !expungeIssued(err) {
		return removed, ServerError(c.cfg, "UID EXPUNGE "+c.selected, err)
	}
	return removed, nil
}

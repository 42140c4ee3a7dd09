package mailbox

import (
	"errors"

	"github.com/emersion/go-imap/v2"
)

// ErrVanished: some mails of a MOVE were gone (another client moved or
// expunged them meanwhile). The rest is filed.
var ErrVanished = errors.New("mails vanished")

// Filed is where the server put filed mails (its COPYUID answer, RFC
// 4315): From[i] of the source folder is To[i] in the destination. Both
// are empty when the server did not say.
type Filed struct {
	UIDValidity uint32 // of the destination
	From, To    []uint32
}

// Move files the mails of the selected folder into dest with UID MOVE
// (RFC 6851). When some of them were gone meanwhile the error is
// ErrVanished and the rest is filed.
func (c *Conn) Move(uids []uint32, dest string) (*Filed, error) {
	done := c.wd.begin()
	defer done()
	data, err := c.cl.Move(uidSet(uids), dest).Wait()
	if err != nil {
		if expungeIssued(err) {
			return nil, ErrVanished
		}
		return nil, ServerError(c.cfg, "MOVE "+dest, err)
	}
	return filed(data.UIDValidity, data.SourceUIDs, data.DestUIDs), nil
}

// CopyDelete files the mails into dest where the server has no MOVE but
// UIDPLUS: COPY, then \Deleted and UID EXPUNGE of exactly these mails
// (never a plain EXPUNGE, which would remove other people's deleted mail
// too).
func (c *Conn) CopyDelete(uids []uint32, dest string) (*Filed, error) {
	done := c.wd.begin()
	defer done()
	set := uidSet(uids)
	data, err := c.cl.Copy(set, dest).Wait()
	if err != nil {
		return nil, ServerError(c.cfg, "COPY "+dest, err)
	}
	f := filed(data.UIDValidity, data.SourceUIDs, data.DestUIDs)
	if err := c.cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return f, ServerError(c.cfg, "STORE", err)
	}
	if err := c.cl.UIDExpunge(set).Close(); err != nil {
		return f, ServerError(c.cfg, "UID EXPUNGE", err)
	}
	return f, nil
}

// filed pairs the source and destination UIDs of a COPYUID answer (both
// sets in the same order).
func filed(uidValidity uint32, src, dst imap.NumSet) *Filed {
	f := &Filed{UIDValidity: uidValidity}
	s, ok1 := src.(imap.UIDSet)
	d, ok2 := dst.(imap.UIDSet)
	if !ok1 || !ok2 || uidValidity == 0 {
		return f
	}
	from, to := expandUIDs(s), expandUIDs(d)
	if len(from) != len(to) {
		return f
	}
	f.From, f.To = from, to
	return f
}

func expandUIDs(set imap.UIDSet) []uint32 {
	var out []uint32
	for _, r := range set {
		if r.Stop == 0 || r.Stop < r.Start || r.Stop-r.Start > 1<<20 {
			return nil // "*" or absurd: no pairing
		}
		for u := r.Start; u <= r.Stop; u++ {
			out = append(out, uint32(u))
		}
	}
	return out
}

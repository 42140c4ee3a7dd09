package mailbox

import (
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Mail is a downloaded mail.
type Mail struct {
	Ref
	Raw []byte
}

// fetchEach is the one FETCH loop: item is called with each data item as
// the server sends it (a literal must be read there), end after each
// mail. A server that answers for mails another client expunged meanwhile
// (NIL, or NO with EXPUNGEISSUED) is no error: they are simply not there.
func (c *Conn) fetchEach(set imap.UIDSet, opts *imap.FetchOptions, item func(imapclient.FetchItemData) error, end func()) error {
	done := c.wd.begin()
	defer done()
	cmd := c.cl.Fetch(set, opts)
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for d := msg.Next(); d != nil; d = msg.Next() {
			if err := item(d); err != nil {
				cmd.Close()
				return ServerError(c.cfg, "FETCH", err)
			}
		}
		end()
	}
	if err := cmd.Close(); err != nil && !expungeIssued(err) {
		return ServerError(c.cfg, "FETCH", err)
	}
	return nil
}

// Fetch downloads the mails (BODY.PEEK[]: the \Seen flag stays as it is),
// each cut at max bytes, in the order of refs. A mail that vanished
// meanwhile (another client moved or expunged it: the server answers
// without its body) is left out; the caller sees it missing.
func (c *Conn) Fetch(refs []Ref, max int64) ([]Mail, error) {
	var set imap.UIDSet
	byUID := make(map[imap.UID]*Mail, len(refs))
	mails := make([]Mail, len(refs))
	for i, r := range refs {
		set.AddNum(imap.UID(r.UID))
		mails[i].Ref = r
		byUID[imap.UID(r.UID)] = &mails[i]
	}
	var uid imap.UID
	var body []byte
	err := c.fetchEach(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}},
		func(d imapclient.FetchItemData) error {
			switch d := d.(type) {
			case imapclient.FetchItemDataUID:
				uid = d.UID
			case imapclient.FetchItemDataBodySection:
				if d.Literal == nil {
					return nil // NIL: expunged by another client meanwhile
				}
				b, err := readLiteral(d.Literal, max)
				body = b
				return err
			}
			return nil
		},
		func() {
			if m := byUID[uid]; m != nil && body != nil {
				m.Raw = body
			}
			uid, body = 0, nil
		})
	if err != nil {
		return nil, err
	}
	out := mails[:0]
	for _, m := range mails {
		if m.Raw != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// readLiteral reads a literal of known size in one allocation.
func readLiteral(l imap.LiteralReader, max int64) ([]byte, error) {
	n := l.Size()
	if n < 0 || n > max {
		n = max
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(l, buf)
	if err == io.ErrUnexpectedEOF {
		return buf[:k], nil
	}
	if err != nil {
		return nil, err
	}
	// Drain whatever is left beyond the limit.
	io.Copy(io.Discard, l)
	return buf, nil
}

// FetchTo streams one mail into w without holding it (a mail too large
// to download). found is false when the mail vanished meanwhile.
func (c *Conn) FetchTo(uid uint32, w io.Writer) (found bool, err error) {
	err = c.fetchEach(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}},
		func(d imapclient.FetchItemData) error {
			if b, ok := d.(imapclient.FetchItemDataBodySection); ok && b.Literal != nil {
				found = true
				if _, err := io.Copy(w, b.Literal); err != nil {
					return err
				}
			}
			return nil
		}, func() {})
	if err != nil {
		return false, err
	}
	return found, nil
}

// FetchHeaders fetches only the header of each mail (at most 1 MB each),
// by UID; a mail that vanished meanwhile is missing.
func (c *Conn) FetchHeaders(refs []Ref) (map[uint32][]byte, error) {
	var set imap.UIDSet
	for _, r := range refs {
		set.AddNum(imap.UID(r.UID))
	}
	hdrs := map[uint32][]byte{}
	var uid imap.UID
	var hdr []byte
	sec := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	err := c.fetchEach(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}},
		func(d imapclient.FetchItemData) error {
			switch d := d.(type) {
			case imapclient.FetchItemDataUID:
				uid = d.UID
			case imapclient.FetchItemDataBodySection:
				if d.Literal != nil {
					hdr, _ = io.ReadAll(io.LimitReader(d.Literal, 1<<20))
				}
			}
			return nil
		},
		func() {
			if hdr != nil {
				hdrs[uint32(uid)] = hdr
			}
			uid, hdr = 0, nil
		})
	if err != nil {
		return nil, err
	}
	return hdrs, nil
}

// expungeIssued reports the server's answer for a command on mails that
// another client expunged meanwhile (RFC 9051 EXPUNGEISSUED; Dovecot also
// says so in plain words): harmless, the mails are skipped.
func expungeIssued(err error) bool {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return false
	}
	return ie.Code == "EXPUNGEISSUED" || strings.Contains(strings.ToLower(ie.Text), "expunged") || strings.Contains(strings.ToLower(ie.Text), "no longer exist")
}

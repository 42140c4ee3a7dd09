package portalsim

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Mailbox is an IMAP mailbox on a loopback test server (no TLS).
type Mailbox struct {
	Addr, User, Password string
	Name                 string // default INBOX
}

func (m Mailbox) dial(ctx context.Context) (*imapclient.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return nil, err
	}
	c := imapclient.New(conn, nil)
	context.AfterFunc(ctx, func() { c.Close() })
	if err := c.Login(m.User, m.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login %s: %w", m.User, err)
	}
	return c, nil
}

func (m Mailbox) name() string {
	if m.Name == "" {
		return "INBOX"
	}
	return m.Name
}

// Result is what one Poll did.
type Result struct {
	Answered   int // quittungen appended
	Refused    int // of them, ergebnis abgelehnt
	Duplicates int // Message-IDs answered before: no quittung
	Unreadable int // no Message-ID, case or nachricht: no quittung possible
}

// Poll reads the status messages in `in` that are not flagged \Answered,
// answers each (its quittung appended to `out`, the functional mailbox),
// then flags it \Answered. Message-IDs of mails flagged before count as
// answered, so a new Portal on the same mailbox answers nothing twice.
// A crash between APPEND and the flag can give a quittung twice, which the
// contract allows (a quittung can arrive more than once).
func (p *Portal) Poll(ctx context.Context, in, out Mailbox) (Result, error) {
	var res Result
	ic, err := in.dial(ctx)
	if err != nil {
		return res, err
	}
	defer ic.Close()
	if _, err := ic.Select(in.name(), nil).Wait(); err != nil {
		return res, fmt.Errorf("select %s: %w", in.name(), err)
	}
	// Flags and Message-IDs of everything: what was answered before.
	all := imap.SeqSet{}
	all.AddRange(1, 0)
	msgs, err := ic.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
	if err != nil {
		return res, fmt.Errorf("fetch flags: %w", err)
	}
	var todo imap.UIDSet
	for _, m := range msgs {
		answered := false
		for _, f := range m.Flags {
			answered = answered || f == imap.FlagAnswered
		}
		switch {
		case answered && m.Envelope != nil:
			p.Seen(m.Envelope.MessageID)
		case !answered:
			todo.AddNum(m.UID)
		}
	}
	if len(todo) == 0 {
		return res, nil
	}
	oc, err := out.dial(ctx)
	if err != nil {
		return res, err
	}
	defer oc.Close()
	body := &imap.FetchItemBodySection{Peek: true}
	cmd := ic.Fetch(todo, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}})
	type mail struct {
		uid imap.UID
		raw []byte
	}
	var got []mail
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var m mail
		for it := msg.Next(); it != nil; it = msg.Next() {
			switch it := it.(type) {
			case imapclient.FetchItemDataUID:
				m.uid = it.UID
			case imapclient.FetchItemDataBodySection:
				m.raw, err = io.ReadAll(it.Literal)
				if err != nil {
					cmd.Close()
					return res, fmt.Errorf("fetch body: %w", err)
				}
			}
		}
		got = append(got, m)
	}
	if err := cmd.Close(); err != nil {
		return res, fmt.Errorf("fetch bodies: %w", err)
	}
	for _, m := range got {
		a, err := p.Answer(m.raw)
		switch {
		case err != nil:
			res.Unreadable++
		case a.Duplicate:
			res.Duplicates++
		default:
			if err := appendMail(oc, out.name(), a.Raw); err != nil {
				p.forget(a.MessageID) // not answered: the next Poll tries again
				return res, err
			}
			res.Answered++
			if a.Refusal != nil {
				res.Refused++
			}
		}
		var one imap.UIDSet
		one.AddNum(m.uid)
		if err := ic.Store(one, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagAnswered, imap.FlagSeen}}, nil).Close(); err != nil {
			return res, fmt.Errorf("store \\Answered: %w", err)
		}
	}
	return res, nil
}

func appendMail(c *imapclient.Client, mailbox string, raw []byte) error {
	ac := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := ac.Write(raw); err != nil {
		ac.Close()
		return fmt.Errorf("append quittung: %w", err)
	}
	if err := ac.Close(); err != nil {
		return fmt.Errorf("append quittung: %w", err)
	}
	if _, err := ac.Wait(); err != nil {
		return fmt.Errorf("append quittung: %w", err)
	}
	return nil
}

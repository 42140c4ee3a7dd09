package sync

import (
	"context"
	"errors"
	gosync "sync"

	"amtstresen/app"
	"amtstresen/sync/mailbox"
)

// mover files mails on the server after their commit: UID MOVE where the
// server has it, else COPY + \Deleted + UID EXPUNGE of exactly these UIDs
// (UIDPLUS). A server with neither gets no copies at all: the mail stays
// in the inbox (never a plain EXPUNGE, which would remove other people's
// deleted mail too), the UID cursor keeps it from being looked at again,
// and when the cursor starts over (a new database, a new UIDVALIDITY) the
// receipts recognise it without a second copy. Where the server answers
// with COPYUID, the place each mail was filed at is recorded (for the
// retention purge).
type mover struct {
	s          *Syncer
	conn       *mailbox.Conn
	move       bool
	uidExpunge bool
	res        *Result
	pending    map[string][]uint32 // UIDs by folder, in the order queued
	order      []string
	keys       map[uint32]string // the content of each queued mail
	queued     map[queued]bool
}

// queued is a mail queued for a folder.
type queued struct {
	dest string
	uid  uint32
}

func (m *mover) add(dest string, uid uint32, key string) {
	if m.pending == nil {
		m.pending = map[string][]uint32{}
		m.keys = map[uint32]string{}
		m.queued = map[queued]bool{}
	}
	if _, ok := m.pending[dest]; !ok {
		m.order = append(m.order, dest)
	}
	if q := (queued{dest, uid}); !m.queued[q] {
		m.queued[q] = true
		m.pending[dest] = append(m.pending[dest], uid)
	}
	if key != "" {
		m.keys[uid] = key
	}
}

func (m *mover) reset() { m.pending, m.order, m.keys, m.queued = nil, nil, nil, nil }

// takeOver queues what o has queued (o is a transaction's, committed now).
func (m *mover) takeOver(o *mover) {
	for _, dest := range o.order {
		for _, u := range o.pending[dest] {
			m.add(dest, u, o.keys[u])
		}
	}
}

// durable is what the sync waits for before it files mails: the store's
// commits on disk.
func (s *Syncer) durable() error { return s.store.Durable(context.Background()) }

// errVanished: some mails of a MOVE were gone (another client moved them
// meanwhile). The rest is filed; the batch is looked at again next time.
var errVanished = mailbox.ErrVanished

// flushAfter files the queued mails once ready returns nil and returns a
// function that waits for the server's answer. The queue is handed over
// at once; mails added afterwards go with the next flush.
func (m *mover) flushAfter(ready func() error) func() error {
	batch := &mover{s: m.s, conn: m.conn, move: m.move, uidExpunge: m.uidExpunge, res: m.res, pending: m.pending, order: m.order, keys: m.keys}
	m.reset()
	done := make(chan error, 1)
	go func() {
		if err := ready(); err != nil {
			done <- err
			return
		}
		done <- batch.flush()
	}()
	return func() error { return <-done }
}

// flush files the queued mails and returns when the server has answered.
// One MOVE after the other: go-imap gives an untagged COPYUID to the
// first MOVE still pending, so pipelined MOVEs could swap the places the
// server reports.
func (m *mover) flush() error {
	defer m.reset()
	if len(m.order) == 0 {
		return nil
	}
	if !m.move && !m.uidExpunge {
		for _, dest := range m.order {
			m.res.Kept += len(m.pending[dest])
		}
		return nil
	}
	var first error
	var locs []app.MailLocation
	defer func() { m.s.places.add(locs) }()
	for _, dest := range m.order {
		uids := m.pending[dest]
		if !m.move {
			f, err := m.conn.CopyDelete(uids, dest)
			if f != nil {
				locs = append(locs, filedAt(dest, f, m.keys)...)
			}
			if err != nil {
				return err
			}
			m.res.Moved += len(uids)
			continue
		}
		f, err := m.conn.Move(uids, dest)
		if err != nil {
			if errors.Is(err, errVanished) {
				m.s.log.Info("some mails were moved by another client meanwhile", "mailbox", dest)
				if first == nil {
					first = errVanished
				}
				continue
			}
			if first == nil || first == errVanished {
				first = err
			}
			continue
		}
		m.res.Moved += len(uids)
		locs = append(locs, filedAt(dest, f, m.keys)...)
	}
	return first
}

// filedAt is where the mails went, for those whose content is known.
func filedAt(dest string, f *mailbox.Filed, keys map[uint32]string) []app.MailLocation {
	var out []app.MailLocation
	for i, u := range f.From {
		if k := keys[u]; k != "" {
			out = append(out, app.MailLocation{SHA256: k, Mailbox: dest, UIDValidity: f.UIDValidity, UID: f.To[i]})
		}
	}
	return out
}

// placeQueue holds the places of filed mails until a transaction writes
// them: the next batch's transaction (a transaction of its own here would
// wait for the write lock the next batch holds). Lost in a crash, it only
// costs the retention purge its precise places: it also searches by case.
type placeQueue struct {
	mu   gosync.Mutex
	locs []app.MailLocation
}

func (q *placeQueue) add(locs []app.MailLocation) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.locs = append(q.locs, locs...)
}

func (q *placeQueue) take() []app.MailLocation {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.locs
	q.locs = nil
	return l
}

// writePlaces writes the queued places in a transaction of their own.
func (s *Syncer) writePlaces(ctx context.Context) {
	if locs := s.places.take(); len(locs) > 0 {
		if err := s.store.MailFiled(context.WithoutCancel(ctx), locs); err != nil {
			s.log.Warn("could not record where mails were filed", "err", err)
		}
	}
}

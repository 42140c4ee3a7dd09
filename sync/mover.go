package sync

import (
	"context"
	"errors"
	gosync "sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"amtstresen/app"
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
	cl         *imapclient.Client
	move       bool
	uidExpunge bool
	res        *Result
	pending    map[string]*imap.UIDSet
	order      []string
	keys       map[imap.UID]string // the content of each queued mail
}

func (m *mover) add(dest string, uid imap.UID, key string) {
	if m.pending == nil {
		m.pending = map[string]*imap.UIDSet{}
		m.keys = map[imap.UID]string{}
	}
	set := m.pending[dest]
	if set == nil {
		set = &imap.UIDSet{}
		m.pending[dest] = set
		m.order = append(m.order, dest)
	}
	set.AddNum(uid)
	if key != "" {
		m.keys[uid] = key
	}
}

func (m *mover) reset() { m.pending, m.order, m.keys = nil, nil, nil }

// takeOver queues what o has queued (o is a transaction's, committed now).
func (m *mover) takeOver(o *mover) {
	for _, dest := range o.order {
		for _, r := range *o.pending[dest] {
			for u := r.Start; u <= r.Stop; u++ {
				m.add(dest, u, o.keys[u])
			}
		}
	}
}

// durabler is a store whose commits reach the disk only when asked
// (storage.DB): Durable returns when all committed changes are on disk.
type durabler interface {
	Durable(ctx context.Context) error
}

// durable is what the sync waits for before it files mails: the store's
// Durable, or nothing for a store whose commits are durable at once.
func (s *Syncer) durable() func() error {
	d, ok := s.store.(durabler)
	if !ok {
		return nil
	}
	return func() error { return d.Durable(context.Background()) }
}

// errVanished: some mails of a MOVE were gone (another client moved them
// meanwhile). The rest is filed; the batch is looked at again next time.
var errVanished = errors.New("mails vanished")

// flushAfter files the queued mails once ready returns nil (nil ready:
// at once) and returns a function that waits for the server's answer.
// The queue is handed over at once; mails added afterwards go with the
// next flush.
func (m *mover) flushAfter(ready func() error) func() error {
	if ready == nil {
		return m.flush()
	}
	batch := &mover{s: m.s, cl: m.cl, move: m.move, uidExpunge: m.uidExpunge, res: m.res, pending: m.pending, order: m.order, keys: m.keys}
	m.reset()
	done := make(chan error, 1)
	go func() {
		if err := ready(); err != nil {
			done <- err
			return
		}
		done <- batch.flush()()
	}()
	return func() error { return <-done }
}

// flush starts filing the queued mails and returns a function that waits
// for the server's answer. With MOVE the commands are pipelined.
func (m *mover) flush() func() error {
	defer m.reset()
	if len(m.order) == 0 {
		return func() error { return nil }
	}
	if !m.move && !m.uidExpunge {
		for _, dest := range m.order {
			m.res.Kept += countUIDs(*m.pending[dest])
		}
		return func() error { return nil }
	}
	if m.move {
		// One MOVE after the other, on a goroutine of its own (the caller
		// goes on storing meanwhile): go-imap gives an untagged COPYUID
		// to the first MOVE still pending, so pipelined MOVEs could swap
		// the places the server reports.
		order, pending, keys := m.order, m.pending, m.keys
		done := make(chan error, 1)
		go func() { done <- m.moveAll(order, pending, keys) }()
		return func() error { return <-done }
	}
	err := m.copyFallback()
	return func() error { return err }
}

// moveAll files the queued mails with UID MOVE, one folder after the
// other, and records where the server put them.
func (m *mover) moveAll(order []string, pending map[string]*imap.UIDSet, keys map[imap.UID]string) error {
	done := m.s.wd.begin()
	defer done()
	var first error
	var locs []app.MailLocation
	for _, dest := range order {
		set := *pending[dest]
		data, err := m.cl.Move(set, dest).Wait()
		if err != nil {
			if expungeIssued(err) {
				m.s.log.Info("some mails were moved by another client meanwhile", "mailbox", dest)
				if first == nil {
					first = errVanished
				}
				continue
			}
			if first == nil || first == errVanished {
				first = serverError(&m.s.cfg, "MOVE "+dest, err)
			}
			continue
		}
		m.res.Moved += countUIDs(set)
		locs = append(locs, filedAt(dest, data.UIDValidity, data.SourceUIDs, data.DestUIDs, keys)...)
	}
	m.record(locs)
	return first
}

// record queues where the mails were filed; the next batch's transaction
// writes it (a transaction of its own here would wait for the write lock
// the next batch holds). Lost in a crash, it only costs the retention
// purge its precise places: it also searches by case.
func (m *mover) record(locs []app.MailLocation) { m.s.places.add(locs) }

// placeQueue holds the places of filed mails until a transaction writes
// them.
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

func (m *mover) copyFallback() error {
	done := m.s.wd.begin()
	defer done()
	var locs []app.MailLocation
	defer func() { m.record(locs) }()
	for _, dest := range m.order {
		set := *m.pending[dest]
		data, err := m.cl.Copy(set, dest).Wait()
		if err != nil {
			return serverError(&m.s.cfg, "COPY "+dest, err)
		}
		locs = append(locs, filedAt(dest, data.UIDValidity, data.SourceUIDs, data.DestUIDs, m.keys)...)
		if err := m.cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return serverError(&m.s.cfg, "STORE", err)
		}
		if err := m.cl.UIDExpunge(set).Close(); err != nil {
			return serverError(&m.s.cfg, "UID EXPUNGE", err)
		}
		m.res.Moved += countUIDs(set)
	}
	return nil
}

// filedAt pairs the source and destination UIDs of a COPYUID answer
// (RFC 4315: both sets in the same order) into the places the mails were
// filed at.
func filedAt(dest string, uidValidity uint32, src, dst imap.NumSet, keys map[imap.UID]string) []app.MailLocation {
	s, ok1 := src.(imap.UIDSet)
	d, ok2 := dst.(imap.UIDSet)
	if !ok1 || !ok2 || uidValidity == 0 {
		return nil
	}
	from, to := expandUIDs(s), expandUIDs(d)
	if len(from) != len(to) {
		return nil
	}
	var out []app.MailLocation
	for i, u := range from {
		if k := keys[u]; k != "" {
			out = append(out, app.MailLocation{SHA256: k, Mailbox: dest, UIDValidity: uidValidity, UID: uint32(to[i])})
		}
	}
	return out
}

func expandUIDs(set imap.UIDSet) []imap.UID {
	var out []imap.UID
	for _, r := range set {
		if r.Stop == 0 || r.Stop < r.Start || r.Stop-r.Start > 1<<20 {
			return nil // "*" or absurd: no pairing
		}
		for u := r.Start; u <= r.Stop; u++ {
			out = append(out, u)
		}
	}
	return out
}

func countUIDs(set imap.UIDSet) int {
	n := 0
	for _, r := range set {
		n += int(r.Stop-r.Start) + 1
	}
	return n
}

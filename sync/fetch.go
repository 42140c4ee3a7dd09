package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	gosync "sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"amtstresen/app"
)

// contentKey is a mail's identity: the hex SHA-256 of its raw bytes.
func contentKey(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// fetchBatch downloads the mails of one batch (BODY.PEEK[]: the \Seen flag
// stays as it is). A mail that vanished meanwhile (another client moved
// or expunged it: the server answers without its body) is left out; the
// caller sees it missing and does not move its cursor past it.
func (s *Syncer) fetchBatch(cl *imapclient.Client, refs []mailRef) ([]*item, error) {
	var set imap.UIDSet
	byUID := make(map[imap.UID]*item, len(refs))
	items := make([]*item, len(refs))
	for i, r := range refs {
		set.AddNum(r.uid)
		items[i] = &item{ref: r}
		byUID[r.uid] = items[i]
	}
	var uid imap.UID
	var body []byte
	max := s.limits.withDefaults().MaxBytes
	err := s.fetchEach(cl, set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}},
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
			if it := byUID[uid]; it != nil && body != nil {
				it.raw = body
			}
			uid, body = 0, nil
		})
	if err != nil {
		return nil, err
	}
	out := items[:0]
	for _, it := range items {
		if it.raw != nil {
			out = append(out, it)
		}
	}
	return out, nil
}

// fetchEach runs one FETCH: item is called with each data item as the
// server sends it (a literal must be read there), end after each mail. A
// server that answers for mails another client expunged meanwhile (NIL,
// or NO with EXPUNGEISSUED) is no error: they are simply not there.
func (s *Syncer) fetchEach(cl *imapclient.Client, set imap.UIDSet, opts *imap.FetchOptions, item func(imapclient.FetchItemData) error, end func()) error {
	done := s.wd.begin()
	defer done()
	cmd := cl.Fetch(set, opts)
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for d := msg.Next(); d != nil; d = msg.Next() {
			if err := item(d); err != nil {
				cmd.Close()
				return serverError(&s.cfg, "FETCH", err)
			}
		}
		end()
	}
	if err := cmd.Close(); err != nil && !expungeIssued(err) {
		return serverError(&s.cfg, "FETCH", err)
	}
	return nil
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

// parseAll parses the batch on all cores.
func (s *Syncer) parseAll(items []*item) {
	raws := make([][]byte, len(items))
	for i, it := range items {
		raws[i] = it.raw
	}
	var apps []*item
	for i, d := range ParseDeliveries(raws, s.verifier, s.limits) {
		items[i].d = d
		if d.Review == "" && d.Kind == KindAntrag {
			apps = append(apps, items[i])
		}
	}
	// The identity of each mail, routing (it reads the applicant and the
	// form) and the store's checks and encoding of a case: done here, on
	// all cores, not in the store's one goroutine.
	prep, _ := s.store.(casePreparer)
	onAllCores(items, func(it *item) { it.key = contentKey(it.raw) })
	onAllCores(apps, func(it *item) {
		it.nc = s.newCase(it.d, officeTime(it.ref.date, s.Now()))
		if prep != nil {
			prep.PrepareCase(it.nc)
		}
	})
}

// casePreparer is a store that can do the work of CreateCase that needs
// no database in advance (storage.DB).
type casePreparer interface {
	PrepareCase(nc *app.NewCase)
}

// officeTime is when the office received a mail: the server's internal
// date of it, unless that is missing or in the future (then now). It
// dates a new case and decides the year of its reference number; the
// citizen's own dates never do.
func officeTime(internal, now time.Time) time.Time {
	if internal.IsZero() || internal.After(now.Add(24*time.Hour)) {
		return now.UTC()
	}
	return internal.UTC()
}

// onAllCores calls fn for every item, on as many goroutines as there are
// cores, and returns when all are done.
func onAllCores[T any](items []T, fn func(T)) {
	var wg gosync.WaitGroup
	next := make(chan T)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range next {
				fn(it)
			}
		}()
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	wg.Wait()
}

// takeLarge puts mails over the size limit on the review list with their
// header; the whole mail is streamed once through SHA-256 (never held in
// memory) so that it has its identity like every other mail.
func (s *Syncer) takeLarge(ctx context.Context, cl *imapclient.Client, st *app.SyncState, refs []mailRef, mv *mover, res *Result) error {
	for _, r := range refs {
		hdr, key, err := s.fetchLarge(cl, r)
		if err != nil {
			return err
		}
		if key == "" {
			res.Vanished++
			continue
		}
		it := &item{ref: r, key: key, d: s.tooLarge(hdr, r)}
		err = s.store.Batch(ctx, func(tx app.IntakeStore) error {
			_, err := s.storeOne(ctx, tx, nil, st, it, mv, res)
			return err
		})
		if err != nil {
			mv.flushAfter(s.durable())()
			return err
		}
	}
	err := mv.flushAfter(s.durable())()
	s.writePlaces(ctx)
	return err
}

// fetchLarge streams one mail: it keeps the first 256 KB (for the header)
// and hashes the whole. An empty key: the mail vanished meanwhile.
func (s *Syncer) fetchLarge(cl *imapclient.Client, r mailRef) ([]byte, string, error) {
	var set imap.UIDSet
	set.AddNum(r.uid)
	var hdr []byte
	key := ""
	err := s.fetchEach(cl, set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}},
		func(d imapclient.FetchItemData) error {
			if b, ok := d.(imapclient.FetchItemDataBodySection); ok && b.Literal != nil {
				h := sha256.New()
				head := &limitedBuffer{max: 256 << 10}
				if _, err := io.Copy(io.MultiWriter(h, head), b.Literal); err != nil {
					return err
				}
				hdr, key = head.b, hex.EncodeToString(h.Sum(nil))
			}
			return nil
		}, func() {})
	if err != nil {
		return nil, "", err
	}
	return hdr, key, nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	b   []byte
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// fetchHeaders fetches only the header of each mail (the shared journal's
// mails over the size limit).
func (s *Syncer) fetchHeaders(cl *imapclient.Client, refs []mailRef) (map[imap.UID][]byte, error) {
	var set imap.UIDSet
	for _, r := range refs {
		set.AddNum(r.uid)
	}
	hdrs := map[imap.UID][]byte{}
	var uid imap.UID
	var hdr []byte
	sec := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	err := s.fetchEach(cl, set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}},
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
				hdrs[uid] = hdr
			}
			uid, hdr = 0, nil
		})
	if err != nil {
		return nil, err
	}
	return hdrs, nil
}

// tooLarge is the review entry of a mail over the size limit, read from
// its header.
func (s *Syncer) tooLarge(hdr []byte, r mailRef) *Delivery {
	d := ParseHeaderOnly(hdr, r.size)
	d.Detail = fmt.Sprintf("Größe %d Bytes über der Grenze von %d Bytes", r.size, s.limits.withDefaults().MaxBytes)
	return d
}

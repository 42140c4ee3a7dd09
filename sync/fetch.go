package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"amtstresen/app"
	"amtstresen/sync/delivery"
	"amtstresen/sync/internal/allcores"
	"amtstresen/sync/mailbox"
)

// contentKey is a mail's identity: the hex SHA-256 of its raw bytes.
func contentKey(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// fetchBatch downloads the mails of one batch. A mail that vanished
// meanwhile is left out; the caller sees it missing and does not move
// its cursor past it.
func (s *Syncer) fetchBatch(conn *mailbox.Conn, refs []mailbox.Ref) ([]*item, error) {
	mails, err := conn.Fetch(refs, s.limits.WithDefaults().MaxBytes)
	if err != nil {
		return nil, err
	}
	items := make([]*item, len(mails))
	for i, m := range mails {
		items[i] = &item{ref: m.Ref, raw: m.Raw}
	}
	return items, nil
}

// parseAll parses the batch on all cores.
func (s *Syncer) parseAll(items []*item) {
	raws := make([][]byte, len(items))
	for i, it := range items {
		raws[i] = it.raw
	}
	var apps []*item
	for i, d := range delivery.ParseDeliveries(raws, s.verifier, s.limits) {
		items[i].d = d
		if d.Review == "" && d.Kind == delivery.KindAntrag {
			apps = append(apps, items[i])
		}
	}
	// The identity of each mail, routing (it reads the applicant and the
	// form) and the store's checks and encoding of a case: done here, on
	// all cores, not in the store's one goroutine.
	allcores.Do(items, func(it *item) { it.key = contentKey(it.raw) })
	allcores.Do(apps, func(it *item) {
		it.prep = s.store.PrepareCase(s.newCase(it.d, officeTime(it.ref.Date, s.Now())))
	})
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

// takeLarge puts mails over the size limit on the review list with their
// header; the whole mail is streamed once through SHA-256 (never held in
// memory) so that it has its identity like every other mail.
func (s *Syncer) takeLarge(ctx context.Context, conn *mailbox.Conn, st *app.SyncState, refs []mailbox.Ref, mv *mover, res *Result) error {
	for _, r := range refs {
		hdr, key, err := fetchLarge(conn, r)
		if err != nil {
			return err
		}
		if key == "" {
			res.Vanished++
			continue
		}
		it := &item{ref: r, key: key, d: s.tooLarge(hdr, r)}
		err = s.store.Batch(ctx, func(tx app.PortalStore) error {
			_, err := s.storeOne(ctx, tx, nil, st, it, mv, res)
			return err
		})
		if err != nil {
			mv.flushAfter(s.durable)()
			return err
		}
	}
	err := mv.flushAfter(s.durable)()
	s.writePlaces(ctx)
	return err
}

// fetchLarge streams one mail: it keeps the first 256 KB (for the header)
// and hashes the whole. An empty key: the mail vanished meanwhile.
func fetchLarge(conn *mailbox.Conn, r mailbox.Ref) ([]byte, string, error) {
	h := sha256.New()
	head := &limitedBuffer{max: 256 << 10}
	found, err := conn.FetchTo(r.UID, io.MultiWriter(h, head))
	if err != nil || !found {
		return nil, "", err
	}
	return head.b, hex.EncodeToString(h.Sum(nil)), nil
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

// tooLarge is the review entry of a mail over the size limit, read from
// its header.
func (s *Syncer) tooLarge(hdr []byte, r mailbox.Ref) *delivery.Delivery {
	d := delivery.ParseHeaderOnly(hdr, r.Size)
	d.Detail = fmt.Sprintf("Größe %d Bytes über der Grenze von %d Bytes", r.Size, s.limits.WithDefaults().MaxBytes)
	return d
}

package sync

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync/delivery"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

// BenchmarkStoreDeliveries: the storage stage of the portal sync alone
// (the one goroutine that writes): 10,000 deliveries of the bench mix
// (make bench-sync), parsed and prepared beforehand, stored in batches of
// 500 into an empty database, without IMAP:
//
//	go test -tags sqlite_fts5 -run '^$' -bench StoreDeliveries -benchtime 3x ./sync/
func BenchmarkStoreDeliveries(b *testing.B) {
	const n = 10000
	g := portaltest.New(42)
	mails := g.Bulk(n)
	raws := make([][]byte, n)
	for i, m := range mails {
		raws[i] = m.Raw
	}
	s := &Syncer{cfg: app.IMAPConfig{Mailbox: "INBOX", ProcessedMailbox: "Übernommen", ReviewMailbox: "Zur Sichtung"},
		reg: app.Default(), log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	s.verifier, _ = delivery.NewVerifier(portaltest.TestPublicKey())
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		db, err := storage.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), app.Default())
		if err != nil {
			b.Fatal(err)
		}
		s.store = db
		st := &app.SyncState{Mailbox: "INBOX", UIDValidity: 1}
		res := &Result{}
		mv := &mover{}
		// Parsed (and prepared for the store) as in the sync, untimed.
		var batches [][]*item
		for lo := 0; lo < n; lo += 500 {
			items := make([]*item, 0, 500)
			for i := lo; i < lo+500; i++ {
				items = append(items, &item{ref: mailbox.Ref{UID: uint32(i + 1), Size: int64(len(raws[i]))}, raw: raws[i]})
			}
			s.parseAll(items)
			batches = append(batches, items)
		}
		b.StartTimer()
		for _, items := range batches {
			if _, err := s.storeBatch(ctx, st, items, mv, res, func() {}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if res.Cases+res.Messages+res.Appointments+res.Stale+res.Withdrawals < n-10 {
			b.Fatalf("only %s", res.Summary())
		}
		db.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/delivery")
}

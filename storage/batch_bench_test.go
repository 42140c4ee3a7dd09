package storage

import (
	"context"
	"fmt"
	"testing"

	"amtstresen/app"
)

// BenchmarkCreateCaseBatch: the storage side of the portal sync, portal
// applications taken in 500 per transaction as the sync does (a savepoint
// per operation inside):
//
//	go test -tags sqlite_fts5 -run '^$' -bench CreateCaseBatch -benchtime 10000x ./storage/
func BenchmarkCreateCaseBatch(b *testing.B) {
	t := &testing.T{}
	db := openTest(t)
	ctx := context.Background()
	ncs := make([]*app.NewCase, b.N)
	for i := range ncs {
		ncs[i] = newDogCase(t, fmt.Sprintf("p-%d", i), "Anna", fmt.Sprintf("Muster%d", i), app.OfficeZell, testNow)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += 500 {
		err := db.Batch(ctx, func(tx app.PortalStore) error {
			for j := i; j < i+500 && j < b.N; j++ {
				rc := &app.Receipt{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(j + 1), SHA256: fmt.Sprintf("<%d@x>", j), Kind: "antrag"}
				if _, _, err := tx.CreateCase(ctx, ncs[j], rc); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"amtstresen/app"
)

// BenchmarkOutboxCycle: the store's part of one message to the citizen,
// from the clerk's status change to the quittung: ChangeCase (status and
// message in one transaction), the sender's NextDue, StoreComposed and
// MarkSent, and ApplyQuittung (each its own transaction, as in the
// program; the SMTP time is the relay's, measured by make bench-rueckkanal):
//
//	go test -tags sqlite_fts5 -run '^$' -bench OutboxCycle -benchtime 1000x ./storage/
func BenchmarkOutboxCycle(b *testing.B) {
	t := &testing.T{}
	db := openTest(t)
	ctx := context.Background()
	by := app.Actor{Clerk: "mm", Office: app.OfficeZell}
	refs := make([]string, b.N)
	for i := range refs {
		c, _, err := db.CreateCase(ctx, newDogCase(t, fmt.Sprintf("p-%d", i), "Anna", "Muster", app.OfficeZell, testNow), nil)
		if err != nil {
			b.Fatal(err)
		}
		refs[i] = c.Ref
		// The "eingegangen" of the taking in is not part of the cycle.
		ms, _ := db.CaseMessages(ctx, c.Ref)
		if err := db.MarkSent(ctx, ms[0].Nachricht, testNow); err != nil {
			b.Fatal(err)
		}
	}
	raw := make([]byte, 6000) // a status message without PDF is a few kB
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o, err := db.ChangeCase(ctx, refs[i], app.CaseChange{Kind: app.ChangeStatus, Status: app.StatusInProgress},
			&app.Tell{Text: "Ihr Antrag ist in Bearbeitung."}, by)
		if err != nil {
			b.Fatal(err)
		}
		due, err := db.NextDue(ctx, time.Now().Add(time.Hour))
		if err != nil || due == nil || due.Nachricht != o.Nachricht {
			b.Fatalf("next due %+v %v", due, err)
		}
		if _, err := db.StoreComposed(ctx, due.Nachricht, "status."+due.Nachricht+"@vg-zell.de", raw); err != nil {
			b.Fatal(err)
		}
		if err := db.MarkSent(ctx, due.Nachricht, time.Now()); err != nil {
			b.Fatal(err)
		}
		q := &app.Quittung{Nachricht: due.Nachricht, PortalCase: due.PortalCase, Result: app.OutboxServicekonto, At: time.Now()}
		if err := db.ApplyQuittung(ctx, q, &app.Receipt{SHA256: fmt.Sprintf("q-%d", i), Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1), Kind: "quittung"}); err != nil {
			b.Fatal(err)
		}
	}
}

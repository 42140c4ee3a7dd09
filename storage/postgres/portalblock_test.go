package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage/storetest"
)

// The sync's messages and bookings are written as blocks, not one by
// one after a failed block (the contract suite checks that the results
// are the same either way): as the sync's service account, a block of
// messages with a case not here, a message here before and one twice,
// and a block of bookings with versions of one booking, write without
// falling back, and a block rolled back with its batch leaves nothing.
func TestPortalBlocks(t *testing.T) {
	tdb := newDB(t)
	ctx := context.Background()
	db := tdb.serviceLogin("abgleich", "sync").open(t)
	for _, p := range []string{"p-1", "p-2"} {
		if _, _, err := db.CreateCase(ctx, storetest.DogCase(t, p, "Anna", "Muster", app.OfficeZell, storetest.Start), nil); err != nil {
			t.Fatal(err)
		}
	}
	n := func(text string) *app.Note { return &app.Note{At: storetest.Start.Add(time.Hour), Text: text} }
	rc := func(sum string) *app.Receipt {
		return &app.Receipt{SHA256: sum, Mailbox: "INBOX", UID: 1, Kind: "nachricht"}
	}
	if err := db.AddMessage(ctx, "p-1", "k0", n("vorher"), nil, rc("m0")); err != nil {
		t.Fatal(err)
	}
	ms := []app.PortalMessage{
		{PortalCase: "p-1", Key: "k1", Note: n("eins"), Receipt: rc("m1"),
			Files: []app.NewAttachment{{Attachment: app.Attachment{Name: "a.pdf", Size: 3, SHA256: "1ab", Received: true}, Data: []byte("abc")}}},
		{PortalCase: "fehlt", Key: "k2", Note: n("zwei"), Receipt: rc("m2")},
		{PortalCase: "p-1", Key: "k0", Note: n("vorher"), Receipt: rc("m3")},
		{PortalCase: "p-2", Key: "k1", Note: n("eins"), Receipt: rc("m4")},
		{PortalCase: "p-2", Key: "k5", Note: n("fünf"), Receipt: rc("m5")},
	}
	as := []*app.Appointment{
		{UID: "b1", Sequence: 0, Status: app.AppointmentConfirmed, Office: app.OfficeZell, Start: storetest.Start, End: storetest.Start.Add(time.Hour)},
		{UID: "b1", Sequence: 1, Status: app.AppointmentCancelled},
		{UID: "b2", Sequence: 0, Status: app.AppointmentConfirmed},
		{UID: "b1", Sequence: 0, Status: app.AppointmentConfirmed},
	}
	arcs := []*app.Receipt{rc("t1"), rc("t2"), rc("t3"), rc("t4")}
	for _, keep := range []bool{false, true} {
		errBack := fmt.Errorf("zurück")
		err := db.Batch(ctx, func(tx app.PortalStore) error {
			errs, err := tx.(*DB).messageBlock(ctx, ms)
			if err != nil {
				t.Fatalf("message block: %v", err)
			}
			if got := fmt.Sprint(codes(errs)); got != fmt.Sprint([]string{"", app.ENOTFOUND, "", "", ""}) {
				t.Errorf("message errors %s", got)
			}
			applied, aerrs, err := tx.(*DB).appointmentBlock(ctx, as, arcs)
			if err != nil {
				t.Fatalf("booking block: %v", err)
			}
			if fmt.Sprint(applied) != "[true true true false]" || fmt.Sprint(codes(aerrs)) != "[   ]" {
				t.Errorf("bookings applied %v, errors %q", applied, codes(aerrs))
			}
			if !keep {
				return errBack
			}
			return nil
		})
		if keep && err != nil {
			t.Fatal(err)
		}
		super := tdb.super()
		notes := count(t, super, "SELECT count(*) FROM amtstresen.notes WHERE kind = 'message'")
		files := count(t, super, "SELECT count(*) FROM amtstresen.attachments WHERE note_id IS NOT NULL")
		receipts := count(t, super, "SELECT count(*) FROM amtstresen.mail_receipts")
		bookings := count(t, super, "SELECT count(*) FROM amtstresen.appointments WHERE uid = 'b1' AND sequence = 1 AND status = 'cancelled' AND start_at IS NOT NULL")
		want := [4]int{1, 0, 1, 0} // rolled back: the message from before and its receipt
		if keep {
			// k1 once (the second k1 is the same message), k5; m2 (no
			// case) has no receipt; b1 cancelled keeps its time.
			want = [4]int{3, 1, 1 + 4 + 4, 1}
		}
		if got := [4]int{notes, files, receipts, bookings}; got != want {
			t.Errorf("keep=%v: notes, files, receipts, bookings = %v, want %v", keep, got, want)
		}
	}
}

func codes(errs []error) []string {
	out := make([]string, len(errs))
	for i, err := range errs {
		if err != nil {
			out[i] = app.ErrorCode(err)
		}
	}
	return out
}

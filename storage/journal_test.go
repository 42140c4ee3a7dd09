package storage

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"amtstresen/app"
)

// jclock hands out entry times one minute apart.
var jclock = testNow.UTC()

func entry(op app.JournalOp, clerk, counter, key string) *app.JournalEntry {
	jclock = jclock.Add(time.Minute)
	return &app.JournalEntry{V: 1, ID: fmt.Sprintf("e-%s-%d", clerk, jclock.UnixNano()), Op: op, At: jclock, Counter: counter,
		Clerk: clerk, Office: app.OfficeZell, Case: key}
}

func walkIn(t *testing.T, clerk, counter, key string) *app.JournalEntry {
	e := entry(app.OpCreate, clerk, counter, "")
	nc := newDogCase(t, "", "Erika", "Tresen", app.OfficeZell, testNow)
	nc.IdempotencyKey, nc.PortalCase, nc.Channel, nc.Raw, nc.Clerk = key, "", app.ChannelCounter, nil, clerk
	e.NewCase = nc
	return e
}

// view is what must be equal on every counter that read the same journal.
type caseState struct {
	Ref, Prov, Status, Assignee, Office string
	Notes                               []string
}

func view(t *testing.T, db *DB) map[string]caseState {
	t.Helper()
	ctx := context.Background()
	cs, err := db.AllCases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]caseState{}
	for _, c := range cs {
		ns, err := db.Notes(ctx, c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		st := caseState{Ref: c.Ref, Prov: c.ProvisionalRef, Status: string(c.Status), Assignee: c.Assignee, Office: string(c.Office)}
		for _, n := range ns {
			st.Notes = append(st.Notes, n.At.Format(time.RFC3339)+" "+n.Author+" "+n.Kind+" "+n.Text)
		}
		out[c.Ref] = st
	}
	return out
}

func mustApply(t *testing.T, db *DB, uid uint32, e *app.JournalEntry) *app.JournalOutcome {
	t.Helper()
	o, err := db.ApplyEntry(context.Background(), uid, e)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Two counters apply the same journal: same queue, same refs, same notes,
// the later of two claims rejected with the winner's name.
func TestJournalDeterministic(t *testing.T) {
	a, b := openTest(t), openTest(t)
	portal := newDogCase(t, "p-1", "Anna", "Muster", app.OfficeZell, testNow)
	log := []*app.JournalEntry{
		walkIn(t, "mmueller", "tresen-1", "w-1"),
		entry(app.OpClaim, "mmueller", "tresen-1", "w-1"),
		entry(app.OpClaim, "kschmidt", "tresen-2", "w-1"),
		entry(app.OpNote, "kschmidt", "tresen-2", "w-1"),
		entry(app.OpStatus, "mmueller", "tresen-1", "w-1"),
		entry(app.OpStatus, "kschmidt", "tresen-2", "w-1"),
	}
	log[3].Text = "Rückruf erbeten"
	log[4].Status, log[4].Reason = app.StatusWithdrawn, "Bürger hat zurückgezogen"
	log[5].Status, log[5].Reason = app.StatusWaiting, "Unterlagen fehlen"
	ctx := context.Background()
	for _, db := range []*DB{a, b} {
		if _, _, err := db.CreateCase(app.WithTime(ctx, testNow), portal, nil); err != nil {
			t.Fatal(err)
		}
		for i, e := range log {
			o := mustApply(t, db, uint32(i+2), e)
			want := app.JournalApplied
			if i == 2 || i == 5 {
				want = app.JournalRejected
			}
			if o.State != want {
				t.Errorf("entry %d: %s (%s), want %s", i, o.State, o.Message, want)
			}
			if i == 2 && (o.Code != app.ECONFLICT || o.Message != "Der Vorgang ZEL-2026-00002 wird bereits von mmueller bearbeitet.") {
				t.Errorf("conflict: %s %q", o.Code, o.Message)
			}
		}
		// The same entry again (appended twice): no change.
		if o := mustApply(t, db, 99, log[3]); o.UID != 5 {
			t.Errorf("duplicate applied again at %d", o.UID)
		}
	}
	va, vb := view(t, a), view(t, b)
	if !reflect.DeepEqual(va, vb) {
		t.Errorf("views differ:\n%v\n%v", va, vb)
	}
	w := va["ZEL-2026-00002"]
	if w.Status != "withdrawn" || w.Assignee != "mmueller" || len(w.Notes) != 2 {
		t.Errorf("walk-in case %+v", w)
	}
	rej, _ := b.Rejections(ctx, "tresen-2", true)
	if len(rej) != 2 || rej[0].Code != app.EINVALID || rej[1].Code != app.ECONFLICT {
		t.Errorf("rejections %+v", rej)
	}
}

// Offline: the outbox is applied on top at once; when the journal brings
// an earlier claim, the pending one is taken out, rejected in order, and
// the view shows what the journal says.
func TestJournalPendingUndo(t *testing.T) {
	ctx := context.Background()
	a := openTest(t)
	create := walkIn(t, "mmueller", "tresen-1", "w-9")
	c, err := a.QueueChange(ctx, create)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Pending() || c.Ref != create.ProvisionalRef || c.Ref[:11] != "ZEL-2026-V-" {
		t.Fatalf("pending case %q prov %q", c.Ref, c.ProvisionalRef)
	}
	claim := entry(app.OpClaim, "mmueller", "tresen-1", "w-9")
	note := entry(app.OpNote, "mmueller", "tresen-1", "w-9")
	note.Text = "offline vermerkt"
	for _, e := range []*app.JournalEntry{claim, note} {
		if _, err := a.QueueChange(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// A change the view already refuses is not queued.
	bad := entry(app.OpClaim, "kschmidt", "tresen-1", "w-9")
	if _, err := a.QueueChange(ctx, bad); app.ErrorCode(err) != app.ECONFLICT {
		t.Errorf("claim of a held case queued: %v", err)
	}
	got, _ := a.CaseByRef(ctx, c.Ref)
	if got.Assignee != "mmueller" {
		t.Errorf("pending claim not visible: %+v", got)
	}
	// The journal: another portal case first (takes number 1), then our
	// create, then someone else's claim, then ours.
	other := entry(app.OpClaim, "kschmidt", "tresen-2", "w-9")
	if err := a.UndoPending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CreateCase(ctx, newDogCase(t, "p-2", "Paul", "Portal", app.OfficeZell, testNow), nil); err != nil {
		t.Fatal(err)
	}
	mustApply(t, a, 10, create)
	mustApply(t, a, 11, other)
	if err := a.RedoPending(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = a.CaseByRef(ctx, c.Ref) // the provisional number still finds it
	if err != nil {
		t.Fatal(err)
	}
	if got.Ref != "ZEL-2026-00002" || got.ProvisionalRef != create.ProvisionalRef || got.Assignee != "kschmidt" {
		t.Errorf("after journal: %+v", got)
	}
	ns, _ := a.Notes(ctx, got.Ref)
	if len(ns) != 1 || ns[0].Text != "offline vermerkt" {
		t.Errorf("pending note %+v", ns)
	}
	if err := a.UndoPending(ctx); err != nil {
		t.Fatal(err)
	}
	if o := mustApply(t, a, 12, claim); o.State != app.JournalRejected || o.Message != "Der Vorgang ZEL-2026-00002 wird bereits von kschmidt bearbeitet." {
		t.Errorf("own late claim %+v", o)
	}
	mustApply(t, a, 13, note)
	if err := a.RedoPending(ctx); err != nil {
		t.Fatal(err)
	}
	if ob, _ := a.Outbox(ctx); len(ob) != 0 {
		t.Errorf("outbox %d", len(ob))
	}
	// A fresh counter reading the same journal shows the same.
	b := openTest(t)
	if _, _, err := b.CreateCase(ctx, newDogCase(t, "p-2", "Paul", "Portal", app.OfficeZell, testNow), nil); err != nil {
		t.Fatal(err)
	}
	for i, e := range []*app.JournalEntry{create, other, claim, note} {
		mustApply(t, b, uint32(10+i), e)
	}
	va, vb := view(t, a), view(t, b)
	// The portal case was created with the local clock here; compare the walk-in case.
	if !reflect.DeepEqual(va["ZEL-2026-00002"], vb["ZEL-2026-00002"]) {
		t.Errorf("views differ:\n%+v\n%+v", va["ZEL-2026-00002"], vb["ZEL-2026-00002"])
	}
	rej, _ := a.Rejections(ctx, "tresen-1", true)
	if len(rej) != 1 || rej[0].Op != app.OpClaim {
		t.Errorf("rejections %+v", rej)
	}
	if err := a.MarkSeen(ctx, []string{rej[0].EntryID}); err != nil {
		t.Fatal(err)
	}
	if rej, _ := a.Rejections(ctx, "tresen-1", true); len(rej) != 0 {
		t.Errorf("seen rejection still unseen")
	}
}

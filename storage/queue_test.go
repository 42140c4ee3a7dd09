package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// seedPlans creates a few cases in every office and state the plans
// look at (the contract suite checks what the queue returns).
func seedPlans(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	offices := []app.OfficeKey{app.OfficeKreis, app.OfficeCochem, app.OfficeZell, ""}
	for i := range 20 {
		nc := newDogCase(t, fmt.Sprintf("p-%03d", i), "Anna", "Muster", offices[i%len(offices)], testNow.Add(-time.Duration(i)*time.Hour))
		if i%3 == 0 {
			nc.Flags = []app.Flag{app.FlagOutsideDistrict}
		}
		c := mustCreate(t, db, nc)
		if i%2 == 0 {
			if err := db.Claim(ctx, c.Ref, app.Actor{Clerk: "mm"}); err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 0 {
			if err := db.SetStatus(ctx, c.Ref, app.StatusInProgress, "", app.Actor{Clerk: "mm"}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The plans read index ranges in order: no sorting of the whole selection.
func TestQueuePlansUseIndexes(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	seedPlans(t, db)
	open := []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}
	for _, f := range []app.CaseFilter{
		{Offices: []app.OfficeKey{app.OfficeZell}, Statuses: open},
		{Offices: []app.OfficeKey{app.OfficeZell, app.OfficeCochem}, Statuses: open, Sort: "+ref"},
		{Statuses: open, Sort: "+applicant"},
		{Statuses: open, Sort: "+service"},
		{Statuses: open, Sort: "+status"},
		{Statuses: open, Service: "sperrmuell"},
		{Offices: []app.OfficeKey{app.OfficeZell}, Statuses: open, Assignee: "mm"},
		{Statuses: open, Unassigned: true},
		{Statuses: open, Flagged: true},
		{Flag: app.FlagOutsideDistrict},
	} {
		p, err := plan(f)
		if err != nil {
			t.Fatal(err)
		}
		if p.byStatus { // read status by status, by received
			f.Statuses, f.Sort = f.Statuses[:1], "+received"
			p, _ = plan(f)
		}
		vals, err := db.eqValues(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		q, args := p.queueSQL(vals)
		q += " ORDER BY " + p.order + " LIMIT 50 OFFSET 0"
		rows, err := db.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "SCAN cases") && !strings.Contains(text, "USING") {
			t.Errorf("%+v sorts or scans:\n%s", f, text)
		}
	}
}

func TestPresentOffices(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if got, err := db.presentOffices(ctx); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
	if got, _ := db.ListCases(ctx, app.CaseFilter{}); len(got) != 0 {
		t.Errorf("empty queue: %v", got)
	}
	for i, o := range []app.OfficeKey{app.OfficeZell, "", app.OfficeZell, app.OfficeKreis} {
		mustCreate(t, db, newDogCase(t, fmt.Sprint(i), "A", "B", o, testNow))
	}
	got, err := db.presentOffices(ctx)
	if err != nil || strings.Join(got, ",") != ",kreis,vg-zell" {
		t.Errorf("offices = %q, %v", got, err)
	}
}

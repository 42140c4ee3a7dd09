package storage

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

var testServices = []string{"hund-anmelden", "sperrmuell", "plakatierung", "eigentuemerwechsel"}

// seedQueue creates n cases spread over offices, statuses, services,
// clerks and flags, with some equal receive times (ties are broken by id).
func seedQueue(t *testing.T, db *DB, n int) {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	offices := []app.OfficeKey{app.OfficeKreis, app.OfficeCochem, app.OfficeKaisersesch, app.OfficeUlmen, app.OfficeZell, ""}
	names := []string{"Zöller", "Müller", "Schmitt", "Becker", "Özdemir", "Weber", "Wagner", "Fuchs"}
	for i := 0; i < n; i++ {
		o := offices[r.IntN(len(offices))]
		at := testNow.Add(-time.Duration(r.IntN(40)) * time.Hour) // many ties
		nc := newDogCase(t, fmt.Sprintf("p-%03d", i), "Vorname"+string(rune('A'+i%26)), names[r.IntN(len(names))], o, at)
		nc.Service = testServices[r.IntN(len(testServices))]
		switch r.IntN(6) {
		case 0:
			nc.Flags = []app.Flag{app.FlagAttachmentMissing}
		case 1:
			nc.Flags = []app.Flag{app.FlagOutsideDistrict, app.FlagRoutingUnclear}
		}
		c := mustCreate(t, db, nc)
		clerk := app.Actor{Clerk: []string{"mm", "ab", "xy"}[r.IntN(3)], Office: o}
		if r.IntN(2) == 0 {
			if err := db.Claim(ctx, c.Ref, clerk); err != nil {
				t.Fatal(err)
			}
		}
		var path []app.Status
		switch r.IntN(6) {
		case 1:
			path = []app.Status{app.StatusInProgress}
		case 2:
			path = []app.Status{app.StatusInProgress, app.StatusWaiting}
		case 3:
			path = []app.Status{app.StatusInProgress, app.StatusDone}
		case 4:
			path = []app.Status{app.StatusInProgress, app.StatusRejected}
		case 5:
			path = []app.Status{app.StatusWithdrawn}
		}
		for _, s := range path {
			if err := db.SetStatus(ctx, c.Ref, s, "Testgrund", clerk); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// oracle filters and sorts in Go what ListCases should return.
func oracle(all []*app.Case, f app.CaseFilter) []string {
	var sel []*app.Case
	for _, c := range all {
		if len(f.Offices) > 0 && !slices.Contains(f.Offices, c.Office) ||
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, c.Status) ||
			f.Service != "" && c.Service != f.Service ||
			f.Assignee != "" && c.Assignee != f.Assignee ||
			f.Unassigned && c.Assignee != "" ||
			f.Flag != "" && !c.HasFlag(f.Flag) ||
			f.Flagged && len(c.Flags) == 0 ||
			f.Query != "" && c.Applicant.LastName != "Zöller" { // the only query used below

			continue
		}
		sel = append(sel, c)
	}
	key, asc := strings.CutPrefix(f.Sort, "+")
	cmpCase := func(a, b *app.Case) int {
		var r int
		switch key {
		case "ref":
			r = cmp.Compare(a.Ref, b.Ref)
		case "service":
			r = cmp.Or(cmp.Compare(a.Service, b.Service), a.ReceivedAt.Compare(b.ReceivedAt))
		case "applicant":
			r = cmp.Compare(sortKey(a.Applicant), sortKey(b.Applicant))
		case "status":
			r = cmp.Or(cmp.Compare(statusRank(a.Status), statusRank(b.Status)), a.ReceivedAt.Compare(b.ReceivedAt))
		default:
			r = a.ReceivedAt.Compare(b.ReceivedAt)
		}
		r = cmp.Or(r, cmp.Compare(a.ID, b.ID))
		if !asc {
			r = -r
		}
		return r
	}
	slices.SortFunc(sel, cmpCase)
	var out []string
	for _, c := range sel {
		out = append(out, c.Ref)
	}
	return out
}

func TestListCasesMatchesOracle(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	seedQueue(t, db, 150)
	all, err := db.AllCases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	open := []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}
	filters := []app.CaseFilter{
		{},
		{Offices: []app.OfficeKey{app.OfficeZell}},
		{Offices: []app.OfficeKey{""}},
		{Offices: []app.OfficeKey{app.OfficeZell, app.OfficeCochem, app.OfficeZell}, Statuses: open},
		{Statuses: open},
		{Statuses: []app.Status{app.StatusDone}},
		{Offices: []app.OfficeKey{app.OfficeKreis}, Service: "sperrmuell"},
		{Service: "hund-anmelden", Statuses: open},
		{Assignee: "mm"},
		{Assignee: "mm", Statuses: open, Offices: []app.OfficeKey{app.OfficeUlmen, app.OfficeKaisersesch}},
		{Unassigned: true, Statuses: open},
		{Unassigned: true, Assignee: "mm"},
		{Flagged: true},
		{Flag: app.FlagOutsideDistrict, Statuses: open},
		{Flag: app.FlagAttachmentMissing, Offices: []app.OfficeKey{app.OfficeCochem}},
		{Flagged: true, Service: "plakatierung", Assignee: "ab"},
		{Offices: []app.OfficeKey{"vg-atlantis"}},
		{Query: "zoller"},
		{Query: "Zöl", Statuses: open, Offices: []app.OfficeKey{app.OfficeZell, ""}},
		{Query: "zoeller", Flagged: true, Assignee: "ab"},
	}
	sortKeys := []string{"", "received", "+received", "ref", "+ref", "service", "+service", "applicant", "+applicant", "status", "+status"}
	pages := [][2]int{{0, 0}, {7, 0}, {7, 7}, {10, 35}, {50, 1000}}
	checked := 0
	for _, f := range filters {
		for _, s := range sortKeys {
			f.Sort = s
			want := oracle(all, f)
			n, err := db.CountCases(ctx, f)
			if err != nil {
				t.Fatalf("count %+v: %v", f, err)
			}
			if n != len(want) {
				t.Errorf("CountCases(%+v) = %d, want %d", f, n, len(want))
			}
			for _, pg := range pages {
				f.Limit, f.Offset = pg[0], pg[1]
				got, err := db.ListCases(ctx, f)
				if err != nil {
					t.Fatalf("list %+v: %v", f, err)
				}
				lim := f.Limit
				if lim == 0 {
					lim = 50
				}
				w := want[min(f.Offset, len(want)):min(f.Offset+lim, len(want))]
				var g []string
				for _, c := range got {
					g = append(g, c.Ref)
				}
				if strings.Join(g, ",") != strings.Join(w, ",") {
					t.Errorf("ListCases(%+v):\n got  %v\n want %v", f, g, w)
				}
				checked++
			}
			f.Limit, f.Offset = 0, 0
		}
	}
	t.Logf("%d pages checked", checked)
	// Summary rows carry what the queue shows.
	got, _ := db.ListCases(ctx, app.CaseFilter{Flagged: true, Limit: 1})
	c, _ := db.CaseByRef(ctx, got[0].Ref)
	s := got[0]
	if s.ID != c.ID || !s.ReceivedAt.Equal(c.ReceivedAt) || s.Service != c.Service || s.ApplicantName != c.Applicant.Name() ||
		s.Municipality != c.Municipality || s.Office != c.Office || s.Status != c.Status || s.Assignee != c.Assignee ||
		!slices.Equal(s.Flags, c.Flags) || s.Channel != c.Channel {
		t.Errorf("summary %+v\n case %+v", s, c)
	}
	_, err = db.ListCases(ctx, app.CaseFilter{Sort: "colour"})
	wantCode(t, err, app.EINVALID)
}

// The plans read index ranges in order: no sorting of the whole selection.
func TestQueuePlansUseIndexes(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	seedQueue(t, db, 20)
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

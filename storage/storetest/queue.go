package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"amtstresen/app"
)

// queue: the work queue's filters, sorting and paging.
var queue = []test{
	{"ListCasesMatchesOracle", testListCasesMatchesOracle},
	{"EmptyQueue", testEmptyQueue},
	{"PatchedPageAsReread", testPatchedPageAsReread},
}

var testServices = []string{"hund-anmelden", "sperrmuell", "plakatierung", "eigentuemerwechsel"}

// seedQueue creates n cases spread over offices, statuses, services,
// clerks and flags, with many equal receive times (ties are broken by
// ID), and returns them as stored.
func (e *env) seedQueue(n int) []*app.Case {
	e.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	offices := []app.OfficeKey{app.OfficeKreis, app.OfficeCochem, app.OfficeKaisersesch, app.OfficeUlmen, app.OfficeZell, ""}
	names := []string{"Zöller", "Müller", "Schmitt", "Becker", "Özdemir", "Weber", "Wagner", "Fuchs"}
	var refs []string
	for i := 0; i < n; i++ {
		o := offices[r.IntN(len(offices))]
		at := Start.Add(-time.Duration(r.IntN(40)) * time.Hour) // many ties
		nc := e.dogCase(fmt.Sprintf("p-%03d", i), "Vorname"+string(rune('A'+i%26)), names[r.IntN(len(names))], o, at)
		nc.Service = testServices[r.IntN(len(testServices))]
		switch r.IntN(6) {
		case 0:
			nc.Flags = []app.Flag{app.FlagAttachmentMissing}
		case 1:
			nc.Flags = []app.Flag{app.FlagOutsideDistrict, app.FlagRoutingUnclear}
		}
		c := e.create(nc)
		refs = append(refs, c.Ref)
		clerk := app.Actor{Clerk: []string{"mm", "ab", "xy"}[r.IntN(3)], Office: o}
		if r.IntN(2) == 0 {
			e.ok(e.st.Claim(e.ctx, c.Ref, clerk))
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
			e.ok(e.st.SetStatus(e.ctx, c.Ref, s, "Testgrund", clerk))
		}
	}
	all := make([]*app.Case, len(refs))
	for i, ref := range refs {
		all[i] = e.mustCase(ref)
	}
	return all
}

// oracle filters and sorts in Go what ListCases should return, as
// app.CaseFilter's doc says.
func oracle(all []*app.Case, f app.CaseFilter) []string {
	var sel []*app.Case
	for _, c := range all {
		if len(f.IDs) > 0 && !slices.Contains(f.IDs, c.ID) ||
			len(f.Offices) > 0 && !slices.Contains(f.Offices, c.Office) ||
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
			r = cmp.Compare(a.Applicant.SortKey(), b.Applicant.SortKey())
		case "status":
			r = cmp.Or(cmp.Compare(app.StatusRank(a.Status), app.StatusRank(b.Status)), a.ReceivedAt.Compare(b.ReceivedAt))
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

// testListCasesMatchesOracle: every filter, sort and page of the queue
// gives what filtering and sorting all cases in Go gives.
func testListCasesMatchesOracle(e *env) {
	all := e.seedQueue(150)
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
	// The cases a window asks for after an announcement (CaseFilter.IDs).
	var some []int64
	for i, c := range all {
		if i%4 == 1 {
			some = append(some, c.ID)
		}
	}
	filters = append(filters,
		app.CaseFilter{IDs: some},
		app.CaseFilter{IDs: some, Offices: []app.OfficeKey{app.OfficeZell, app.OfficeCochem}, Statuses: open},
		app.CaseFilter{IDs: some, Unassigned: true, Flagged: true},
		app.CaseFilter{IDs: some, Query: "Zöl"},
		app.CaseFilter{IDs: []int64{all[0].ID, -1, all[0].ID}},
	)
	sortKeys := []string{"", "received", "+received", "ref", "+ref", "service", "+service", "applicant", "+applicant", "status", "+status"}
	pages := [][2]int{{0, 0}, {7, 0}, {7, 7}, {10, 35}, {50, 1000}}
	checked := 0
	for _, f := range filters {
		for _, s := range sortKeys {
			f.Sort = s
			want := oracle(all, f)
			n, err := e.st.CountCases(e.ctx, f)
			if err != nil {
				e.Fatalf("count %+v: %v", f, err)
			}
			if n != len(want) {
				e.Errorf("CountCases(%+v) = %d, want %d", f, n, len(want))
			}
			for _, pg := range pages {
				f.Limit, f.Offset = pg[0], pg[1]
				got, err := e.st.ListCases(e.ctx, f)
				if err != nil {
					e.Fatalf("list %+v: %v", f, err)
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
					e.Errorf("ListCases(%+v):\n got  %v\n want %v", f, g, w)
				}
				checked++
			}
			f.Limit, f.Offset = 0, 0
		}
	}
	e.Logf("%d pages checked", checked)
	// Summary rows carry what the queue shows.
	got, err := e.st.ListCases(e.ctx, app.CaseFilter{Flagged: true, Limit: 1})
	if err != nil || len(got) != 1 {
		e.Fatalf("flagged: %v %v", got, err)
	}
	c := e.mustCase(got[0].Ref)
	s := got[0]
	if s.ID != c.ID || !s.ReceivedAt.Equal(c.ReceivedAt) || s.Service != c.Service || s.ApplicantName != c.Applicant.Name() ||
		s.Municipality != c.Municipality || s.Office != c.Office || s.Status != c.Status || s.Assignee != c.Assignee ||
		!slices.Equal(s.Flags, c.Flags) || s.Channel != c.Channel {
		e.Errorf("summary %+v\n case %+v", s, c)
	}
	_, err = e.st.ListCases(e.ctx, app.CaseFilter{Sort: "colour"})
	e.wantCode(err, app.EINVALID)
	_, err = e.st.CountCases(e.ctx, app.CaseFilter{Sort: "colour"})
	if err != nil && app.ErrorCode(err) != app.EINVALID {
		e.Errorf("count with an unknown sort: %v", err)
	}
}

func testEmptyQueue(e *env) {
	got, err := e.st.ListCases(e.ctx, app.CaseFilter{})
	if err != nil || len(got) != 0 {
		e.Errorf("empty queue: %v %v", got, err)
	}
	for _, f := range []app.CaseFilter{{}, {Query: "Zöller"}, {Offices: []app.OfficeKey{app.OfficeZell}, Statuses: []app.Status{app.StatusReceived}}} {
		if n, err := e.st.CountCases(e.ctx, f); err != nil || n != 0 {
			e.Errorf("count %+v in an empty queue: %d %v", f, n, err)
		}
	}
}

// testPatchedPageAsReread: a window's first page, patched with the cases
// that changed (read by CaseFilter.IDs, app.PatchPage), is the page a
// re-read gives, for every sort a page can be patched in; when PatchPage
// cannot know the page it says so.
func testPatchedPageAsReread(e *env) {
	all := e.seedQueue(120)
	r := rand.New(rand.NewPCG(7, 8))
	open := []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}
	offices := []app.OfficeKey{app.OfficeKreis, app.OfficeCochem, app.OfficeKaisersesch, app.OfficeUlmen, app.OfficeZell}
	filters := []app.CaseFilter{
		{Statuses: open},
		{Offices: []app.OfficeKey{app.OfficeZell}, Statuses: open},
		{Offices: []app.OfficeKey{app.OfficeCochem, app.OfficeZell}},
		{Unassigned: true, Statuses: open},
		{Assignee: "mm"},
		{Flagged: true},
	}
	sorts := []string{"", "+received", "ref", "+ref", "service", "+service", "status", "+status"}
	refs := map[int64]string{}
	for _, c := range all {
		refs[c.ID] = c.Ref
	}
	ids := make([]int64, 0, len(all))
	for id := range refs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var patched, reread int
	for round := 0; round < 80; round++ {
		f := filters[round%len(filters)]
		f.Sort = sorts[r.IntN(len(sorts))]
		f.Limit = []int{3, 5, 12, 50, 500}[r.IntN(5)]
		before, err := e.st.ListCases(e.ctx, f)
		e.ok(err)
		// A few changes by other counters: claims, releases, status
		// changes, forwards and new cases.
		var changed []int64
		for k := 0; k < 1+r.IntN(6); k++ {
			id := ids[r.IntN(len(ids))]
			if len(before) > 0 && r.IntN(2) == 0 {
				id = before[r.IntN(len(before))].ID // what the clerks see
			}
			ref := refs[id]
			clerk := app.Actor{Clerk: []string{"mm", "ab"}[r.IntN(2)]}
			var err error
			switch r.IntN(5) {
			case 0:
				err = e.st.Claim(e.ctx, ref, clerk)
			case 1:
				c := e.mustCase(ref)
				err = e.st.Release(e.ctx, ref, app.Actor{Clerk: c.Assignee})
			case 2:
				c := e.mustCase(ref)
				next := map[app.Status]app.Status{app.StatusReceived: app.StatusInProgress, app.StatusInProgress: app.StatusWaiting,
					app.StatusWaiting: app.StatusDone}[c.Status]
				if next == "" {
					continue
				}
				err = e.st.SetStatus(e.ctx, ref, next, "Testgrund", clerk)
			case 3:
				err = e.st.Forward(e.ctx, ref, offices[r.IntN(len(offices))], "zuständig", clerk)
			case 4:
				at := Start.Add(-time.Duration(r.IntN(40)) * time.Hour)
				c := e.create(e.dogCase(fmt.Sprintf("q-%d-%d", round, k), "Neu", "Zöller", offices[r.IntN(len(offices))], at))
				refs[c.ID] = c.Ref
				ids = append(ids, c.ID)
				id = c.ID
			}
			if err != nil && app.ErrorCode(err) != app.ECONFLICT && app.ErrorCode(err) != app.EINVALID {
				e.Fatalf("change %s: %v", ref, err)
			}
			changed = append(changed, id)
		}
		g := f
		g.IDs, g.Limit = changed, len(changed)
		fresh, err := e.st.ListCases(e.ctx, g)
		e.ok(err)
		want, err := e.st.ListCases(e.ctx, f)
		e.ok(err)
		got, ok := app.PatchPage(f, before, changed, fresh)
		if !ok {
			reread++
			continue
		}
		patched++
		if !slices.EqualFunc(got, want, func(a, b app.CaseSummary) bool {
			return a.ID == b.ID && a.Status == b.Status && a.Assignee == b.Assignee && a.Office == b.Office
		}) {
			var gs, ws []string
			for _, c := range got {
				gs = append(gs, refs[c.ID]+"/"+string(c.Status)+"/"+c.Assignee)
			}
			for _, c := range want {
				ws = append(ws, refs[c.ID]+"/"+string(c.Status)+"/"+c.Assignee)
			}
			e.Errorf("round %d, filter %+v, changed %v:\n patched %v\n re-read %v", round, f, changed, gs, ws)
		}
	}
	e.Logf("%d pages patched, %d had to be re-read", patched, reread)
	if patched < 40 {
		e.Errorf("only %d of 80 pages could be patched", patched)
	}
}

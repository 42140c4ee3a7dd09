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

// statusRank orders statuses as app.AllStatuses does.
func statusRank(s app.Status) int {
	if i := slices.Index(app.AllStatuses, s); i >= 0 {
		return i
	}
	return len(app.AllStatuses)
}

// oracle filters and sorts in Go what ListCases should return, as
// app.CaseFilter's doc says.
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
			r = cmp.Compare(a.Applicant.SortKey(), b.Applicant.SortKey())
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

package app

import (
	"slices"
	"testing"
	"time"
)

func TestPlanPageUpdate(t *testing.T) {
	open := []Status{StatusReceived, StatusInProgress, StatusWaiting}
	zell := CaseFilter{Offices: []OfficeKey{OfficeZell}, Statuses: open}
	keys := func(o OfficeKey, s Status) CaseKeys { return CaseKeys{Exists: true, Office: o, Status: s} }
	ev := func(id int64, b, a CaseKeys) FeedEvent {
		return FeedEvent{Kind: FeedCase, CaseID: id, Office: a.Office, Known: true, Before: b, After: a}
	}
	rec, prog, done := keys(OfficeZell, StatusReceived), keys(OfficeZell, StatusInProgress), keys(OfficeZell, StatusDone)
	for _, tc := range []struct {
		name string
		f    CaseFilter
		evs  []FeedEvent
		want PageUpdate
	}{
		{"claim or note: patch, same count", zell, []FeedEvent{ev(1, rec, rec)}, PageUpdate{IDs: []int64{1}}},
		{"open to open", zell, []FeedEvent{ev(1, rec, prog)}, PageUpdate{IDs: []int64{1}}},
		{"closed: count again", zell, []FeedEvent{ev(1, prog, done)}, PageUpdate{IDs: []int64{1}, Recount: true}},
		{"created", zell, []FeedEvent{ev(2, CaseKeys{}, rec)}, PageUpdate{IDs: []int64{2}, Recount: true}},
		{"other office", zell, []FeedEvent{ev(3, keys(OfficeCochem, StatusReceived), keys(OfficeCochem, StatusDone))}, PageUpdate{IDs: []int64{3}}},
		{"forwarded here", zell, []FeedEvent{ev(4, keys(OfficeCochem, StatusReceived), rec)}, PageUpdate{IDs: []int64{4}, Recount: true}},
		{"several changes of one case: first before, last after", zell,
			[]FeedEvent{ev(5, rec, done), ev(5, done, rec), ev(6, rec, rec)}, PageUpdate{IDs: []int64{5, 6}}},
		{"routing question opened: who sees it changes", CaseFilter{Statuses: open},
			[]FeedEvent{ev(7, rec, CaseKeys{Exists: true, Office: OfficeZell, Status: StatusReceived, RoutingOpen: true})},
			PageUpdate{IDs: []int64{7}, Recount: true}},
		{"mine: a claim may change the count", CaseFilter{Assignee: "mm", Statuses: open}, []FeedEvent{ev(1, rec, rec)},
			PageUpdate{IDs: []int64{1}, Recount: true}},
		{"unknown keys", zell, []FeedEvent{{Kind: FeedCase, CaseID: 8, Office: OfficeZell}}, PageUpdate{IDs: []int64{8}, Recount: true}},
		{"something changed", zell, []FeedEvent{ev(1, rec, rec), {Kind: FeedAny}}, PageUpdate{Reread: true, Recount: true}},
		{"a search is read again", CaseFilter{Query: "Zöller"}, []FeedEvent{ev(1, rec, rec)}, PageUpdate{Reread: true, Recount: true}},
		{"a later page is read again", CaseFilter{Offset: 50}, []FeedEvent{ev(1, rec, rec)}, PageUpdate{Reread: true, Recount: true}},
		{"sorted by applicant: read again", CaseFilter{Sort: "+applicant"}, []FeedEvent{ev(1, rec, rec)}, PageUpdate{Reread: true, Recount: true}},
		{"no case", zell, []FeedEvent{{Kind: FeedReview, ReviewID: 3}}, PageUpdate{}},
	} {
		got := PlanPageUpdate(tc.f, tc.evs)
		if got.Reread != tc.want.Reread || got.Recount != tc.want.Recount || !slices.Equal(got.IDs, tc.want.IDs) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// PatchPage on rows sorted by received (newest first): only what a
// re-read would give, or "read it".
func TestPatchPage(t *testing.T) {
	row := func(id int64, status Status) CaseSummary {
		return CaseSummary{ID: id, ReceivedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(id)), Status: status}
	}
	page := func(ids ...int64) []CaseSummary {
		var out []CaseSummary
		for _, id := range ids {
			out = append(out, row(id, StatusReceived))
		}
		return out
	}
	f := CaseFilter{Statuses: []Status{StatusReceived, StatusInProgress}, Limit: 3}
	ids := func(rows []CaseSummary) []int64 {
		var out []int64
		for _, r := range rows {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		rows    []CaseSummary
		changed []int64
		fresh   []CaseSummary
		want    []int64 // nil: cannot be known
	}{
		{"a row changed in place", page(9, 8, 7), []int64{8}, []CaseSummary{row(8, StatusInProgress)}, []int64{9, 8, 7}},
		{"a newer case pushes the last out", page(9, 8, 7), []int64{10}, page(10), []int64{10, 9, 8}},
		{"an older case than the page's last stays out", page(9, 8, 7), []int64{2}, page(2), []int64{9, 8, 7}},
		{"a case left a full page: the next is unknown", page(9, 8, 7), []int64{8}, nil, nil},
		{"left and another came: known", page(9, 8, 7), []int64{8, 10}, page(10), []int64{10, 9, 7}},
		{"a short page holds every case", page(9, 8), []int64{8, 3}, page(3), []int64{9, 3}},
		{"every row changed, none left", page(9, 8, 7), []int64{9, 8, 7}, page(9, 8, 7), []int64{9, 8, 7}},
		{"the last row changed in place", page(9, 8, 7), []int64{7}, []CaseSummary{row(7, StatusInProgress)}, []int64{9, 8, 7}},
		{"the last row left", page(9, 8, 7), []int64{7}, nil, nil},
		{"the first left, a newer came", page(9, 8, 7), []int64{9, 11}, page(11), []int64{11, 8, 7}},
		{"not asked for: ignored", page(9, 8, 7), []int64{8}, page(8, 10), []int64{9, 8, 7}},
	} {
		got, ok := PatchPage(f, tc.rows, tc.changed, tc.fresh)
		if tc.want == nil {
			if ok {
				t.Errorf("%s: %v, want a re-read", tc.name, ids(got))
			}
			continue
		}
		if !ok || !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, ids(got), ok, tc.want)
		}
	}
	if _, ok := PatchPage(CaseFilter{Query: "x"}, page(1), []int64{1}, page(1)); ok {
		t.Error("a search page patched")
	}
}

package app

import (
	"cmp"
	"slices"
	"strings"
)

// A window that shows the first page of the queue keeps it up to date
// from the change feed. Re-reading the page and counting again for every
// announcement is what a single counter can afford; fifty counters of an
// office network, each re-reading four times a second, kept the database
// server busy with nothing but re-reads. Instead the window reads only the
// announced cases (CaseFilter.IDs) and patches its page (PatchPage), and
// counts again only when an announcement says that a case entered or left
// the filter (PlanPageUpdate). Both give exactly what a re-read would.

// CaseKeys is what a change feed tells of a case's place in the queue
// before or after a change: keys only, no personal data.
type CaseKeys struct {
	Exists      bool // false: not yet created, or deleted
	Office      OfficeKey
	Status      Status
	RoutingOpen bool // no office yet, or an open routing question
}

// PageUpdate says how to bring a window's first page of the queue up to
// date after announced changes.
type PageUpdate struct {
	// Reread: read the page again (the announcements do not say enough,
	// or the page is not one that PatchPage can patch).
	Reread bool
	// IDs: read these cases through the page's filter (CaseFilter.IDs)
	// and patch the page with them (PatchPage).
	IDs []int64
	// Recount: the number of cases in the filter may have changed.
	Recount bool
}

// Patchable reports whether PatchPage can patch f's page: the first page,
// no free-text search, a sort whose keys are in CaseSummary.
func Patchable(f CaseFilter) bool {
	key, _ := strings.CutPrefix(strings.TrimSpace(f.Sort), "+")
	return f.Offset == 0 && strings.TrimSpace(f.Query) == "" && len(f.IDs) == 0 &&
		(key == "" || key == "received" || key == "ref" || key == "service" || key == "status")
}

// PlanPageUpdate says what the announcements evs (in the order heard) mean
// for the first page of f. Only FeedCase and FeedAny concern the queue.
func PlanPageUpdate(f CaseFilter, evs []FeedEvent) PageUpdate {
	var u PageUpdate
	type span struct {
		known         bool
		before, after CaseKeys
	}
	cases := map[int64]*span{}
	for _, e := range evs {
		switch e.Kind {
		case FeedAny:
			return PageUpdate{Reread: true, Recount: true}
		case FeedCase:
		default:
			continue
		}
		s := cases[e.CaseID]
		if s == nil {
			s = &span{known: e.Known, before: e.Before}
			cases[e.CaseID] = s
			u.IDs = append(u.IDs, e.CaseID)
		}
		s.known = s.known && e.Known
		s.after = e.After
	}
	if len(u.IDs) == 0 {
		return PageUpdate{}
	}
	if !Patchable(f) {
		return PageUpdate{Reread: true, Recount: true}
	}
	// Only office and status are known from the announcement; any other
	// condition of the filter (assignee, flag, service) may have turned.
	others := f.Service != "" || f.Assignee != "" || f.Unassigned || f.Flag != "" || f.Flagged
	for _, id := range u.IDs {
		s := cases[id]
		b, a := inKeys(f, s.before), inKeys(f, s.after)
		switch {
		case !s.known:
			u.Recount = true
		case !b && !a:
			// Outside the filter before and after: neither the page nor
			// the count can hold it.
		case b != a || others:
			u.Recount = true
		case s.before.Office != s.after.Office || s.before.RoutingOpen != s.after.RoutingOpen:
			// Who may see it can have changed (a lead sees open routing
			// questions of every office).
			u.Recount = true
		}
	}
	return u
}

// inKeys reports whether a case with keys k may be in f's cases by its
// office and status.
func inKeys(f CaseFilter, k CaseKeys) bool {
	return k.Exists && (len(f.Offices) == 0 || slices.Contains(f.Offices, k.Office)) &&
		(len(f.Statuses) == 0 || slices.Contains(f.Statuses, k.Status))
}

// PatchPage brings rows, the first page of f as read before, up to date
// with the cases ids that changed since: fresh is what ListCases of f with
// IDs ids (and Limit len(ids)) returns now, the changed cases that still
// match. It returns the page a re-read would return, or ok false when that
// cannot be known without reading (a case left a full page and the next
// one is unknown). f must be Patchable.
func PatchPage(f CaseFilter, rows []CaseSummary, ids []int64, fresh []CaseSummary) (page []CaseSummary, ok bool) {
	if !Patchable(f) {
		return nil, false
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	order := summaryOrder(f.Sort)
	changed := make(map[int64]bool, len(ids))
	for _, id := range ids {
		changed[id] = true
	}
	page = make([]CaseSummary, 0, len(rows)+len(fresh))
	for _, r := range rows {
		if !changed[r.ID] {
			page = append(page, r)
		}
	}
	for _, r := range fresh {
		if !changed[r.ID] {
			continue // not asked for
		}
		i, _ := slices.BinarySearchFunc(page, r, order)
		page = slices.Insert(page, i, r)
	}
	// A page shorter than the limit held every case of the filter. A full
	// one held every case up to its last row, as that row was: every case
	// that sorts up to there now is known (the unchanged ones were on the
	// page, the changed ones are in fresh); what sorts after it may be on
	// the next page.
	if len(rows) >= limit {
		i, found := slices.BinarySearchFunc(page, rows[len(rows)-1], order)
		if found {
			i++
		}
		if i < limit {
			return nil, false
		}
	}
	if len(page) > limit {
		page = page[:limit]
	}
	return page, true
}

// summaryOrder compares two queue rows in the order of the sort (as the
// stores sort: keys bytewise, then the id, all in the sort's direction).
func summaryOrder(sort string) func(a, b CaseSummary) int {
	key, asc := strings.CutPrefix(strings.TrimSpace(sort), "+")
	by := func(a, b CaseSummary) int {
		switch key {
		case "ref":
			return strings.Compare(a.Ref, b.Ref)
		case "service":
			return cmp.Or(strings.Compare(a.Service, b.Service), a.ReceivedAt.Compare(b.ReceivedAt))
		case "status":
			return cmp.Or(cmp.Compare(StatusRank(a.Status), StatusRank(b.Status)), a.ReceivedAt.Compare(b.ReceivedAt))
		}
		return a.ReceivedAt.Compare(b.ReceivedAt)
	}
	return func(a, b CaseSummary) int {
		c := cmp.Or(by(a, b), cmp.Compare(a.ID, b.ID))
		if asc {
			return c
		}
		return -c
	}
}

// StatusRank is a status's place in the workflow (AllStatuses); an
// unknown status comes last.
func StatusRank(s Status) int {
	if i := slices.Index(AllStatuses, s); i >= 0 {
		return i
	}
	return len(AllStatuses)
}

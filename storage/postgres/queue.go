package postgres

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// How the queue is read
//
// A page of the queue is "the first N cases of these offices in these
// statuses (and maybe: of this service, of this clerk, with a flag), in
// this order". One query with office = ANY (…) AND status = ANY (…) would
// sort every matching case. Instead, as in the SQLite store, the query
// has one arm per (office, status) pair; each arm reads one range of an
// index (migration 0001: office, status, then the sort column) that is
// already in the requested order, and PostgreSQL merges the arms (Merge
// Append), stopping after OFFSET+LIMIT rows. The id breaks ties.
//
// The free-text search drives from the GIN index of case_search and
// sorts its matches; a reference or its beginning ("ZEL-2026-000") reads
// a range of the unique index on ref instead.

// sortCols are the result columns of each sort, most significant first;
// id is appended.
var sortCols = map[string][]string{
	"received":  {"received_at"},
	"ref":       {"ref"},
	"service":   {"service", "received_at"},
	"applicant": {"applicant_sort"},
	"status":    {"srank", "received_at"},
}

// refPrefixRE matches what a clerk types of a reference (app.FormatRef):
// office code, year, dash, some digits ("zel-2026-0004"), as the SQLite
// store does.
var refPrefixRE = regexp.MustCompile(`^(?i)[A-Z]{2,3}-[0-9]{4}-[0-9]{0,5}$`)

// summaryCols are the columns of a queue row.
const summaryCols = `id, ref, received_at, service, applicant_name, municipality, office, status, assignee, flags, channel, applicant_sort`

func parseSort(s string) (string, bool, error) {
	key, asc := strings.CutPrefix(strings.TrimSpace(s), "+")
	if key == "" {
		key = "received"
	}
	if _, ok := sortCols[key]; !ok {
		return "", false, app.Errorf(app.EINVALID, "Unbekannte Sortierung „%s“.", s)
	}
	return key, asc, nil
}

// srankSQL is the status rank computed in SQL (for search results).
var srankSQL = func() string {
	s := "CASE status"
	for i, st := range app.AllStatuses {
		s += fmt.Sprintf(" WHEN '%s' THEN %d", st, i)
	}
	return s + fmt.Sprintf(" ELSE %d END", len(app.AllStatuses))
}()

// query collects the SQL of a queue query and its arguments.
type query struct {
	args []any
}

// arg adds a value and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

// filterConds are the conditions of f other than office and status.
// words are the search words (nil: no free-text search).
func (q *query) filterConds(f app.CaseFilter) []string {
	var conds []string
	if f.Flagged || f.Flag != "" {
		conds = append(conds, "flags <> '{}'")
	}
	if f.Flag != "" {
		if slices.Contains(app.AllFlags, f.Flag) {
			// A known flag has its own partial index; the literal lets
			// the planner match the index's condition. Flags are a fixed
			// set of [a-z-] codes, safe to write into SQL.
			conds = append(conds, "'"+string(f.Flag)+"' = ANY (flags)")
		} else {
			conds = append(conds, q.arg(txt(string(f.Flag)))+" = ANY (flags)")
		}
	}
	if f.Service != "" {
		conds = append(conds, "service = "+q.arg(txt(f.Service)))
	}
	switch {
	case f.Assignee != "" && f.Unassigned:
		conds = append(conds, "false") // nobody's and someone's
	case f.Unassigned:
		conds = append(conds, "assignee = ''")
	case f.Assignee != "":
		conds = append(conds, "assignee = "+q.arg(txt(f.Assignee)))
	}
	return conds
}

// search is the free-text part of a filter.
type search struct {
	words        []string // words of the query ("" query: none)
	refLo, refHi string   // a reference or its beginning: a range of ref
	none         bool     // only separators typed: nothing matches
	offices      []string // the filter's offices; nil: any
	open         bool     // only open statuses asked for (migration 0013)
}

func parseSearch(f app.CaseFilter) *search {
	s := strings.TrimSpace(f.Query)
	if s == "" {
		return nil
	}
	out := &search{words: SearchWords(s), open: len(f.Statuses) > 0}
	for _, st := range f.Statuses {
		out.open = out.open && !st.Final()
	}
	for _, o := range uniq(f.Offices) {
		out.offices = append(out.offices, txt(string(o)))
	}
	if refPrefixRE.MatchString(s) {
		// Refs are ASCII: the next string after every one with this
		// prefix ends in the character after the last one typed.
		out.refLo = strings.ToUpper(s)
		out.refHi = out.refLo[:len(out.refLo)-1] + string(out.refLo[len(out.refLo)-1]+1)
	} else if len(out.words) == 0 {
		out.none = true
	}
	return out
}

// searchCond is the search's condition: a range of references, or the
// ids the GIN index finds (search_case_ids: under row-level security the
// index cannot be asked directly, migration 0003).
// since > 0: only cases received in that month (caseMonth) or later.
func (q *query) searchCond(s *search, since int32) string {
	if s.refLo != "" {
		return "ref >= " + q.arg(s.refLo) + " AND ref < " + q.arg(s.refHi)
	}
	month := "NULL::integer"
	if since > 0 {
		month = q.arg(since)
	}
	if s.open {
		// Only the search rows of open cases (their own GIN index).
		return "id IN (SELECT search_case_ids(" + q.arg(s.words) + ", " + q.arg(s.offices) + ", NULL, " + month + ", true))"
	}
	if since > 0 {
		return "id IN (SELECT search_case_ids(" + q.arg(s.words) + ", " + q.arg(s.offices) + ", NULL, " + month + "))"
	}
	return "id IN (SELECT search_case_ids(" + q.arg(s.words) + ", " + q.arg(s.offices) + ", NULL))"
}

// matches is the SELECT of the queue rows that meet the search condition
// cond and the filter's other conditions, as the role may see them.
func (q *query) matches(f app.CaseFilter, v viewer, cond string) string {
	conds := append(q.filterConds(f), cond)
	conds = append(conds, q.officeStatusConds(f)...)
	if c := q.visible(v); c != "" {
		conds = append(conds, c)
	}
	return "SELECT " + summaryCols + ", " + srankSQL + " AS srank FROM cases WHERE " + strings.Join(conds, " AND ")
}

// windowMonths are the windows of listNewestMatches: the matches of this
// month and the one before, then of the last 6 months, then 24 (and of
// any later month: a time set in the future is no reason to miss a case).
var windowMonths = []int{2, 6, 24}

// newestMatches turns search_newest_case_ids on (off: tests compare).
var newestMatches = true

// caseMonth is the month number of migration 0009 (case_month).
func caseMonth(t time.Time) int32 {
	t = t.UTC()
	return int32(t.Year()*12 + int(t.Month()) - 1)
}

// listNewestMatches is a search's page in the default order (newest
// first) from the matches of the last months alone (migration 0009): every
// case in a window is newer than every case outside it, so a window that
// holds the page's rows after all other conditions holds the page. ok is
// false when even the widest window holds too few (the caller asks every
// match then).
func (db *DB) listNewestMatches(ctx context.Context, f app.CaseFilter, s *search, v viewer, order string, limit, offset int) ([]app.CaseSummary, bool, error) {
	cur := caseMonth(db.now())
	for _, back := range windowMonths {
		var q query
		sql := q.matches(f, v, q.searchCond(s, cur-int32(back)+1)) + " ORDER BY " + order + " LIMIT " + q.arg(offset+limit)
		out, err := db.summaries(ctx, sql, q.args)
		if err != nil {
			return nil, false, err
		}
		if len(out) >= offset+limit {
			return out[offset:], true, nil
		}
	}
	return nil, false, nil
}

// rowMatch is the search tested on one row of the queue (a walk).
func (q *query) rowMatch(s *search) string {
	// The row's search text by its key, tested against the query computed
	// once (an InitPlan; a generic plan would call search_query for every
	// row walked). A correlated scalar subquery, not EXISTS: the planner
	// cannot estimate a query it has not seen and turned EXISTS into a
	// join over every search text (hash join, parallel scans: 0.6 s).
	return "(SELECT s.doc FROM case_search s WHERE s.case_id = cases.id) @@ (SELECT search_query(" + q.arg(s.words) + "))"
}

// scanMaxRows bounds how many rows a search may walk in display order: a
// search whose words match a large share of the cases ("M", the first
// letter typed, matches a third of them) walks the queue index in the
// page's order and tests each row, instead of fetching and sorting every
// match. Less common words (2 % for "Müll": Müller and the village
// Müllenbach) are asked from the GIN index, in the default order for the
// newest months first (listNewestMatches). 0 turns walking off (tests).
var scanMaxRows = 600

// sampleRows is how many of the newest cases sample reads.
const sampleRows = 200

// walkable reports whether the search's matches are dense enough to walk:
// the rows walked until every arm has its first match and the page is
// full stay within scanMaxRows, at matches among n sampled rows.
func walkable(n, matches, want, arms int) bool {
	return scanMaxRows > 0 && matches > 0 && (want+arms)*n <= scanMaxRows*matches
}

// sample counts, among the newest sampleRows cases the role sees, the
// search's matches, and those of them that pass the filter's other
// conditions too (the rows a page would show). Counting the matches in
// the index instead costs what walking or reading the newest months
// saves.
func (db *DB) sample(ctx context.Context, f app.CaseFilter, s *search) (n, matches, fitting int, err error) {
	var q query
	// OFFSET 0: m is computed once per row, not once per use.
	match := "(SELECT s.doc FROM case_search s WHERE s.case_id = w.id) @@ (SELECT search_query(" + q.arg(s.words) + "))"
	fits := "true"
	if conds := append(q.filterConds(f), q.officeStatusConds(f)...); len(conds) > 0 {
		fits = strings.Join(conds, " AND ")
	}
	err = db.q().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE m), count(*) FILTER (WHERE m AND `+fits+`)
		FROM (SELECT w.*, `+match+` AS m FROM (SELECT * FROM cases ORDER BY id DESC LIMIT `+q.arg(sampleRows)+`) w OFFSET 0) w`,
		q.args...).Scan(&n, &matches, &fitting)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("search: %w", err)
	}
	return n, matches, fitting, nil
}

// orderBy is the ORDER BY of a sort, with the id that breaks ties or not.
func orderBy(key string, asc, byID bool) string {
	dir := " DESC"
	if asc {
		dir = " ASC"
	}
	cols := sortCols[key]
	if byID {
		cols = append(append([]string(nil), cols...), "id")
	}
	var ord []string
	for _, c := range cols {
		ord = append(ord, c+dir)
	}
	return strings.Join(ord, ", ")
}

// ListCases implements app.CaseStore.
func (db *DB) ListCases(ctx context.Context, f app.CaseFilter) ([]app.CaseSummary, error) {
	key, asc, err := parseSort(f.Sort)
	if err != nil {
		return nil, err
	}
	limit, offset := f.Limit, f.Offset
	if limit <= 0 {
		limit = 50
	}
	if offset < 0 {
		offset = 0
	}
	s := parseSearch(f)
	if s != nil && s.none {
		return nil, nil
	}
	var out []app.CaseSummary
	switch {
	case len(f.IDs) > 0:
		out, err = db.listIDs(ctx, f, s, key, asc, limit, offset)
	case key == "status" && s == nil:
		out, err = db.listByStatus(ctx, f, asc, limit, offset)
	default:
		out, err = db.list(ctx, f, s, key, asc, limit, offset)
	}
	return out, explain(err)
}

// listIDs reads the cases of f.IDs that match the filter: a primary-key
// lookup each, then the filter's conditions (a window patching its page
// with the announced cases, app.PatchPage).
func (db *DB) listIDs(ctx context.Context, f app.CaseFilter, s *search, key string, asc bool, limit, offset int) ([]app.CaseSummary, error) {
	v, err := db.viewer(ctx)
	if err != nil {
		return nil, err
	}
	var q query
	conds := q.conds(f, v, s)
	sql := "SELECT " + summaryCols + ", " + srankSQL + " AS srank FROM cases WHERE " + strings.Join(conds, " AND ") +
		" ORDER BY " + orderBy(key, asc, true) + " LIMIT " + q.arg(limit) + " OFFSET " + q.arg(offset)
	return db.summaries(ctx, sql, q.args)
}

// conds are all conditions of f as a query on cases tests them row by row
// (the count, the announced cases).
func (q *query) conds(f app.CaseFilter, v viewer, s *search) []string {
	conds := append(q.filterConds(f), q.officeStatusConds(f)...)
	if len(f.IDs) > 0 {
		conds = append(conds, "id = ANY ("+q.arg(f.IDs)+")")
	}
	if c := q.visible(v); c != "" {
		conds = append(conds, c)
	}
	if s != nil {
		conds = append(conds, q.searchCond(s, 0))
	}
	return conds
}

// listByStatus pages through the statuses in workflow order (or reverse),
// one received-ordered query per status that the page touches
// (rules.ListByStatus).
func (db *DB) listByStatus(ctx context.Context, f app.CaseFilter, asc bool, limit, offset int) ([]app.CaseSummary, error) {
	return rules.ListByStatus(f, asc, limit, offset,
		func(g app.CaseFilter, limit, offset int) ([]app.CaseSummary, error) {
			return db.list(ctx, g, nil, "received", asc, limit, offset)
		},
		func(g app.CaseFilter, max int) (int, error) { return db.count(ctx, g, nil, max) })
}

// list runs one page.
func (db *DB) list(ctx context.Context, f app.CaseFilter, s *search, key string, asc bool, limit, offset int) ([]app.CaseSummary, error) {
	v, err := db.viewer(ctx)
	if err != nil {
		return nil, err
	}
	var q query
	var sql string
	order := orderBy(key, asc, true)
	// The arms of a walk: one per (office, status) the role reads.
	var offices []string
	statuses := uniq(f.Statuses)
	if len(statuses) == 0 {
		statuses = app.AllStatuses
	}
	armsOf := func() (int, error) {
		var err error
		if offices == nil {
			if offices, err = db.offices(ctx, f, v); err != nil {
				return 0, err
			}
		}
		n := 0
		for _, o := range offices {
			if read, _ := v.arm(o); read {
				n += len(statuses)
			}
		}
		return n, nil
	}
	// A search walks the queue when its matches are very common, reads
	// the newest months first when the page's rows are not rare among the
	// newest cases, and otherwise asks every match of the index.
	walk, newest := false, false
	if s != nil && s.refLo == "" && (scanMaxRows > 0 || windowMonths != nil) {
		arms, err := armsOf()
		if err != nil {
			return nil, err
		}
		n, matches, fitting, err := db.sample(ctx, f, s)
		if err != nil {
			return nil, err
		}
		walk = walkable(n, matches, offset+limit, arms)
		newest = !walk && fitting >= 2 && key == "received" && !asc
	}
	// Without other conditions the newest matches come from the search
	// rows' months alone (search_newest_case_ids, which asks the last
	// months first itself: migration 0015), whatever their number.
	plain := len(f.Statuses) == 0 && f.Service == "" && f.Assignee == "" && !f.Unassigned && !f.Flagged && f.Flag == ""
	// The open cases' search rows are few (their own index): reading all
	// their matches at once costs less than a query per window.
	if newest && !plain && !s.open {
		out, ok, err := db.listNewestMatches(ctx, f, s, v, order, limit, offset)
		if err != nil || ok {
			return out, err
		}
	}
	if s != nil && !walk {
		var cond string
		if s.refLo == "" && plain && key == "received" && !asc && newestMatches {
			cond = "id IN (SELECT search_newest_case_ids(" + q.arg(s.words) + ", " + q.arg(s.offices) + ", " + q.arg(offset+limit) + "))"
		} else {
			cond = q.searchCond(s, 0)
		}
		sql = q.matches(f, v, cond)
	} else {
		if _, err := armsOf(); err != nil {
			return nil, err
		}
		resid := q.filterConds(f)
		if walk {
			resid = append(resid, q.rowMatch(s))
		}
		lim := q.arg(offset + limit)
		var arms []string
		for _, o := range offices {
			read, routingOnly := v.arm(o)
			if !read {
				continue
			}
			for _, st := range statuses {
				conds := append([]string{"office = " + q.arg(o), "status = " + q.arg(string(st))}, resid...)
				if routingOnly {
					conds = append(conds, "'routing-unclear' = ANY (flags)")
				}
				if walk {
					// In the order of the arm's index alone, the ties all
					// kept: ordered by id as well, each arm would collect
					// a batch of matches before yielding its first row
					// (incremental sort), instead of one.
					arms = append(arms, fmt.Sprintf("(SELECT %s, %d AS srank FROM cases WHERE %s ORDER BY %s FETCH FIRST %s ROWS WITH TIES)",
						summaryCols, app.StatusRank(st), strings.Join(conds, " AND "), orderBy(key, asc, false), lim))
					continue
				}
				arms = append(arms, fmt.Sprintf("(SELECT %s, %d AS srank FROM cases WHERE %s ORDER BY %s LIMIT %s)",
					summaryCols, app.StatusRank(st), strings.Join(conds, " AND "), order, lim))
			}
		}
		if len(arms) == 0 {
			return nil, nil
		}
		sql = "SELECT * FROM (" + strings.Join(arms, " UNION ALL ") + ") arms"
	}
	sql += " ORDER BY " + order + " LIMIT " + q.arg(limit) + " OFFSET " + q.arg(offset)
	if walk {
		// Planning the walk's thirty arms with their values took 20-25
		// ms, its run 3 ms, and the server kept planning it anew for each
		// search (it rated the plan for any values as dearer). The arms
		// read their index ranges whatever the values: one plan for all.
		var out []app.CaseSummary
		err := db.tx(ctx, "list cases", func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, sql, q.args...)
			if err != nil {
				return err
			}
			out, err = pgx.CollectRows(rows, scanSummary)
			return err
		})
		return out, err
	}
	return db.summaries(ctx, sql, q.args)
}

// summaries runs a query of queue rows.
func (db *DB) summaries(ctx context.Context, sql string, args []any) ([]app.CaseSummary, error) {
	rows, err := db.q().Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanSummary)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

func scanSummary(row pgx.CollectableRow) (app.CaseSummary, error) {
	var s app.CaseSummary
	var office, status, channel, sortName string
	var flags []string
	var rank int
	err := row.Scan(&s.ID, &s.Ref, &s.ReceivedAt, &s.Service, &s.ApplicantName, &s.Municipality, &office, &status,
		&s.Assignee, &flags, &channel, &sortName, &rank)
	s.ReceivedAt = s.ReceivedAt.UTC()
	s.Office, s.Status, s.Channel, s.Flags = app.OfficeKey(office), app.Status(status), app.Channel(channel), toFlags(flags)
	return s, err
}

// officeStatusConds are the office and status sets of f as conditions
// (none for an empty set: every case has an office key and a status).
func (q *query) officeStatusConds(f app.CaseFilter) []string {
	var conds []string
	if len(f.Offices) > 0 {
		var os []string
		for _, o := range uniq(f.Offices) {
			os = append(os, txt(string(o)))
		}
		conds = append(conds, "office = ANY ("+q.arg(os)+")")
	}
	if len(f.Statuses) > 0 {
		var ss []string
		for _, st := range uniq(f.Statuses) {
			ss = append(ss, txt(string(st)))
		}
		conds = append(conds, "status = ANY ("+q.arg(ss)+")")
	}
	return conds
}

// offices are the filter's offices, or every office present in the queue
// (present_offices: by skipping through the index, one seek per office).
func (db *DB) offices(ctx context.Context, f app.CaseFilter, v viewer) ([]string, error) {
	if len(f.Offices) > 0 {
		var out []string
		for _, o := range uniq(f.Offices) {
			out = append(out, txt(string(o)))
		}
		return out, nil
	}
	if !v.all && !v.lead {
		// A clerk reads their own offices only (viewer.arm): no round
		// trip for the offices that have cases (an office of theirs
		// without any is an arm that finds nothing).
		return v.offices, nil
	}
	out, err := stringColumn(ctx, db.q(), `SELECT present_offices()`)
	if err != nil {
		return nil, fmt.Errorf("list offices: %w", err)
	}
	return out, nil
}

func uniq[T comparable](in []T) []T {
	var out []T
	seen := map[T]bool{}
	for _, x := range in {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// CountCases implements app.CaseStore: the number of cases ListCases
// would page through.
func (db *DB) CountCases(ctx context.Context, f app.CaseFilter) (int, error) {
	if _, _, err := parseSort(f.Sort); err != nil {
		return 0, err
	}
	s := parseSearch(f)
	if s != nil && s.none {
		return 0, nil
	}
	n, err := db.count(ctx, f, s, 0)
	return n, explain(err)
}

// count counts the matches, or at most max of them when max > 0.
func (db *DB) count(ctx context.Context, f app.CaseFilter, s *search, max int) (int, error) {
	v, err := db.viewer(ctx)
	if err != nil {
		return 0, err
	}
	var q query
	conds := q.conds(f, v, s)
	sql := "SELECT 1 FROM cases"
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	if max > 0 {
		sql += " LIMIT " + q.arg(max)
	}
	var n int
	if err := db.q().QueryRow(ctx, "SELECT count(*) FROM ("+sql+") m", q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count cases: %w", err)
	}
	return n, nil
}

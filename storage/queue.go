package storage

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// How the queue is read
//
// A page of the queue is "the first N cases of these offices in these
// statuses (and maybe: of this service, of this clerk, with a flag), in
// this order". A single query with office IN (…) AND status IN (…) ORDER
// BY … would have to sort every matching case — hundreds of thousands in
// a database of some years. Instead the query has one arm per (office,
// status) pair; each arm reads one index range that is already in the
// requested order, and SQLite merges the arms (compound SELECT with ORDER
// BY is a merge of co-routines), stopping after OFFSET+LIMIT rows. So a
// page costs a few index seeks and about OFFSET+LIMIT row reads, whatever
// the size of the database. The indexes (migration 0002) all start with
// the equality columns and end with the sort column; the rowid (id)
// breaks ties.
//
// The free-text search drives from the FTS index instead and sorts its
// matches, which are few for any query of two or more letters.

// sortSpec is one sort key of CaseFilter.Sort.
type sortSpec struct {
	cols  []string // result columns, most significant first; id is appended
	index string   // index whose order matches after the equality columns
}

var sorts = map[string]sortSpec{
	"received":  {[]string{"received_at"}, "cases_by_received"},
	"ref":       {[]string{"ref"}, "cases_by_ref"},
	"service":   {[]string{"service", "received_at"}, "cases_by_service"},
	"applicant": {[]string{"applicant_sort"}, "cases_by_applicant"},
	// Read status by status (listByStatus); srank orders search results.
	"status": {[]string{"srank", "received_at"}, "cases_by_received"},
}

// summaryCols are the columns of a queue row.
const summaryCols = `id, ref, received_at, service, applicant_name, municipality, office, status, assignee, flags, channel, applicant_sort`

// queuePlan is the query shape for a filter.
type queuePlan struct {
	index string
	eq    []string // equality columns per arm, in index order
	resid []string // other conditions (SQL with ?), the same in every arm
	rargs []any
	order string // ORDER BY clause over result columns
	// byStatus: sorted by status, then received; read status by status.
	byStatus bool
	search   string // FTS5 MATCH expression; "" for none
	// refLo, refHi: the search is a reference or its beginning
	// ("ZEL-2026-000"): a range of the unique index on ref, not FTS.
	refLo, refHi string
	// shortWords: every word of the search has at most 3 characters.
	shortWords bool
	// ids: only these cases (CaseFilter.IDs), looked up by rowid.
	ids []int64
}

// refPrefixRE matches what a clerk types of a reference (app.FormatRef):
// office code, year, dash, some digits ("zel-2026-0004"). Only with the
// year and its dash, so that "HS-4853" (a dog-tax tag) is still searched
// as text.
var refPrefixRE = regexp.MustCompile(`^(?i)[A-Z]{2,3}-[0-9]{4}-[0-9]{0,5}$`)

// parseSort returns the sort spec and direction.
func parseSort(s string) (sortSpec, bool, error) {
	key, asc := strings.CutPrefix(strings.TrimSpace(s), "+")
	if key == "" {
		key = "received"
	}
	spec, ok := sorts[key]
	if !ok {
		return sortSpec{}, false, app.Errorf(app.EINVALID, "Unbekannte Sortierung „%s“.", s)
	}
	return spec, asc, nil
}

func (p *queuePlan) residual(cond string, args ...any) {
	p.resid = append(p.resid, cond)
	p.rargs = append(p.rargs, args...)
}

// plan picks the index: the most selective equality filter first
// (assignee, then flags, then service), else the one matching the sort.
func plan(f app.CaseFilter) (*queuePlan, error) {
	spec, asc, err := parseSort(f.Sort)
	if err != nil {
		return nil, err
	}
	dir := " DESC"
	if asc {
		dir = " ASC"
	}
	var ord []string
	for _, c := range append(append([]string(nil), spec.cols...), "id") {
		ord = append(ord, c+dir)
	}
	p := &queuePlan{order: strings.Join(ord, ", "), index: spec.index, eq: []string{"office", "status"}, byStatus: spec.cols[0] == "srank",
		ids: f.IDs}
	if q := strings.TrimSpace(f.Query); q != "" {
		p.search = matchQuery(q)
		p.shortWords = true
		for _, w := range strings.FieldsFunc(q, notTokenRune) {
			if utf8.RuneCountInString(w) > 3 {
				p.shortWords = false
			}
		}
		if refPrefixRE.MatchString(q) {
			// Refs are ASCII: the next string after every one with this
			// prefix ends in the character after the last one typed.
			p.refLo = strings.ToUpper(q)
			p.refHi = p.refLo[:len(p.refLo)-1] + string(p.refLo[len(p.refLo)-1]+1)
		}
		if p.search == "" {
			// Only separators typed: nothing can match.
			p.search = `""`
		}
	}
	switch {
	case f.Assignee != "" || f.Unassigned:
		p.index, p.eq = "cases_by_assignee", []string{"assignee", "office", "status"}
	case f.Flag != "" || f.Flagged:
		p.index = "cases_flagged"
	case f.Service != "":
		p.index, p.eq = "cases_by_service", []string{"office", "status", "service"}
	}
	// Conditions the index does not take as equality.
	if f.Flag != "" || f.Flagged {
		p.residual("flags <> ''")
	}
	if f.Flag != "" {
		if slices.Contains(app.AllFlags, f.Flag) {
			// A known flag has its own partial index (migration 6); the
			// literal lets the planner match the index's condition. Flags
			// are a fixed set of [a-z-] codes, safe to write into SQL.
			if !has(p.eq, "assignee") && !has(p.eq, "service") {
				p.index = "cases_flag_" + strings.ReplaceAll(string(f.Flag), "-", "_")
			}
			p.residual("instr(flags, '," + string(f.Flag) + ",') > 0")
		} else {
			p.residual("instr(flags, ?) > 0", ","+string(f.Flag)+",")
		}
	}
	if f.Service != "" && !has(p.eq, "service") {
		p.residual("service = ?", f.Service)
	}
	if f.Assignee != "" && f.Unassigned {
		// Contradictory: nobody's and someone's.
		p.residual("0")
	}
	return p, nil
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// eqValues returns the values of each equality column: the filter's sets,
// or every value present (offices) / allowed (statuses).
func (db *DB) eqValues(ctx context.Context, f app.CaseFilter) (map[string][]any, error) {
	v := map[string][]any{}
	if len(f.Offices) > 0 {
		for _, o := range uniq(f.Offices) {
			v["office"] = append(v["office"], string(o))
		}
	} else {
		offices, err := db.presentOffices(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range offices {
			v["office"] = append(v["office"], o)
		}
	}
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = app.AllStatuses
	}
	for _, s := range uniq(statuses) {
		v["status"] = append(v["status"], string(s))
	}
	switch {
	case f.Unassigned:
		v["assignee"] = []any{""}
	case f.Assignee != "":
		v["assignee"] = []any{f.Assignee}
	}
	if f.Service != "" {
		v["service"] = []any{f.Service}
	}
	return v, nil
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

// presentOffices lists the distinct offices in the queue by skipping
// through the index (one seek per office), not by scanning it.
func (db *DB) presentOffices(ctx context.Context) ([]string, error) {
	rows, err := db.q().QueryContext(ctx, `WITH RECURSIVE o(v) AS (
			SELECT (SELECT office FROM cases INDEXED BY cases_by_received ORDER BY office LIMIT 1)
			UNION ALL
			SELECT (SELECT office FROM cases INDEXED BY cases_by_received WHERE office > o.v ORDER BY office LIMIT 1) FROM o WHERE o.v IS NOT NULL
		) SELECT v FROM o WHERE v IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("list offices: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("list offices: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// combos returns the cartesian product of the equality values, in the
// order of cols.
func combos(cols []string, vals map[string][]any) [][]any {
	out := [][]any{nil}
	for _, c := range cols {
		var next [][]any
		for _, prefix := range out {
			for _, v := range vals[c] {
				next = append(next, append(append([]any(nil), prefix...), v))
			}
		}
		out = next
	}
	return out
}

// ListCases implements app.CaseStore.
func (db *DB) ListCases(ctx context.Context, f app.CaseFilter) ([]app.CaseSummary, error) {
	p, err := plan(f)
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
	if p.byStatus && p.search == "" && len(p.ids) == 0 {
		return db.listByStatus(ctx, f, limit, offset)
	}
	return db.list(ctx, f, p, limit, offset)
}

// listByStatus pages through the statuses in workflow order (or reverse),
// one received-ordered query per status that the page touches
// (rules.ListByStatus).
func (db *DB) listByStatus(ctx context.Context, f app.CaseFilter, limit, offset int) ([]app.CaseSummary, error) {
	_, asc, _ := parseSort(f.Sort)
	return rules.ListByStatus(f, asc, limit, offset,
		func(g app.CaseFilter, limit, offset int) ([]app.CaseSummary, error) {
			p, err := plan(g)
			if err != nil {
				return nil, err
			}
			return db.list(ctx, g, p, limit, offset)
		},
		func(g app.CaseFilter, max int) (int, error) {
			p, err := plan(g)
			if err != nil {
				return 0, err
			}
			return db.count(ctx, g, p, max)
		})
}

// list runs the plan for one page.
func (db *DB) list(ctx context.Context, f app.CaseFilter, p *queuePlan, limit, offset int) ([]app.CaseSummary, error) {
	vals, err := db.eqValues(ctx, f)
	if err != nil {
		return nil, err
	}
	if p.search != "" && p.refLo == "" && p.shortWords {
		dense, err := db.denseMatches(ctx, p.search, offset+limit)
		if err != nil {
			return nil, err
		}
		if dense {
			p = p.scanning()
		}
	}
	var query string
	var args []any
	if p.search != "" || len(p.ids) > 0 {
		query, args = p.searchSQL(vals)
	} else {
		query, args = p.queueSQL(vals)
		if query == "" {
			return nil, nil
		}
	}
	query += " ORDER BY " + p.order + " LIMIT ? OFFSET ?"
	args = append(args, limit, offset)
	rows, err := db.q().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []app.CaseSummary
	for rows.Next() {
		var s app.CaseSummary
		var received, office, status, flags, channel, sortName string
		var rank int
		if err := rows.Scan(&s.ID, &s.Ref, &received, &s.Service, &s.ApplicantName, &s.Municipality, &office, &status,
			&s.Assignee, &flags, &channel, &sortName, &rank); err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		if s.ReceivedAt, err = parseTime(received); err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		s.Office, s.Status, s.Channel, s.Flags = app.OfficeKey(office), app.Status(status), app.Channel(channel), decodeFlags(flags)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// queueSQL builds the compound SELECT of one arm per equality combination.
func (p *queuePlan) queueSQL(vals map[string][]any) (string, []any) {
	var b strings.Builder
	var args []any
	for i, combo := range combos(p.eq, vals) {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		rank := len(app.AllStatuses)
		var conds []string
		for j, c := range p.eq {
			conds = append(conds, c+" = ?")
			if c == "status" {
				rank = app.StatusRank(app.Status(combo[j].(string)))
			}
		}
		conds = append(conds, p.resid...)
		fmt.Fprintf(&b, "SELECT %s, %d AS srank FROM cases INDEXED BY %s WHERE %s", summaryCols, rank, p.index, strings.Join(conds, " AND "))
		args = append(args, combo...)
		args = append(args, p.rargs...)
	}
	return b.String(), args
}

// scanMaxRows bounds how many rows a search may walk in display order.
// A search of short words that matches a large share of the cases (the
// first letter typed, "M", matches a third of a million cases) walks the
// queue index newest first and tests each row against the full-text index
// instead of fetching and sorting every match (1.2 s for "M" on a million
// cases; walking: 15 ms). The test by rowid costs 30–400 µs a row, so
// walking only pays where the matches are dense enough that a page is
// found within scanMaxRows rows, and only for words of up to 3 characters,
// which FTS5 keeps a prefix index for (prefix = '1 2 3'); longer words
// cost milliseconds a row. 0 turns walking off (tests).
var scanMaxRows = 600

// denseMatches reports whether the matches of the FTS5 query are dense
// enough to find want rows within scanMaxRows rows of the queue. It counts
// matches only up to the number that decides it.
func (db *DB) denseMatches(ctx context.Context, match string, want int) (bool, error) {
	if scanMaxRows <= 0 {
		return false, nil
	}
	var total int64
	if err := db.q().QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM cases`).Scan(&total); err != nil {
		return false, fmt.Errorf("search: %w", err)
	}
	need := max(total*int64(want)/int64(scanMaxRows), 1)
	var n int64
	err := db.q().QueryRowContext(ctx, `SELECT count(*) FROM (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ? LIMIT ?)`,
		match, need).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("search: %w", err)
	}
	return n >= need, nil
}

// scanning returns the plan that walks the queue index in the sort order
// and tests each row against the full-text index by rowid.
func (p *queuePlan) scanning() *queuePlan {
	q := *p
	q.resid = append([]string(nil), p.resid...)
	q.rargs = append([]any(nil), p.rargs...)
	q.residual("EXISTS (SELECT 1 FROM cases_fts WHERE cases_fts MATCH ? AND cases_fts.rowid = cases.id)", p.search)
	q.search = ""
	return &q
}

// searchSQL drives from the full-text index, or from the ids asked for:
// the matching ids are looked up by rowid (NOT INDEXED: never a scan of an
// office range), filtered, then sorted.
func (p *queuePlan) searchSQL(vals map[string][]any) (string, []any) {
	var conds []string
	var args []any
	if len(p.ids) > 0 {
		conds = append(conds, "id IN ("+placeholders(len(p.ids))+")")
		for _, id := range p.ids {
			args = append(args, id)
		}
	}
	switch {
	case p.refLo != "":
		conds = append(conds, "id IN (SELECT id FROM cases WHERE ref >= ? AND ref < ?)")
		args = append(args, p.refLo, p.refHi)
	case p.search != "":
		conds = append(conds, "id IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?)")
		args = append(args, p.search)
	}
	for _, c := range p.eq {
		conds = append(conds, c+" IN ("+placeholders(len(vals[c]))+")")
		args = append(args, vals[c]...)
	}
	conds = append(conds, p.resid...)
	args = append(args, p.rargs...)
	rank := "CASE status"
	for i, s := range app.AllStatuses {
		rank += fmt.Sprintf(" WHEN '%s' THEN %d", s, i)
	}
	rank += fmt.Sprintf(" ELSE %d END AS srank", len(app.AllStatuses))
	return "SELECT " + summaryCols + ", " + rank + " FROM cases NOT INDEXED WHERE " + strings.Join(conds, " AND "), args
}

func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// CountCases implements app.CaseStore: the number of cases ListCases would
// page through. It counts index entries of the same index.
func (db *DB) CountCases(ctx context.Context, f app.CaseFilter) (int, error) {
	p, err := plan(f)
	if err != nil {
		return 0, err
	}
	return db.count(ctx, f, p, 0)
}

// count counts the matches, or at most max of them when max > 0.
func (db *DB) count(ctx context.Context, f app.CaseFilter, p *queuePlan, max int) (int, error) {
	vals, err := db.eqValues(ctx, f)
	if err != nil {
		return 0, err
	}
	var query string
	var args []any
	if p.search != "" || len(p.ids) > 0 {
		query, args = p.searchSQL(vals)
	} else {
		conds := []string{}
		for _, c := range p.eq {
			conds = append(conds, c+" IN ("+placeholders(len(vals[c]))+")")
			args = append(args, vals[c]...)
		}
		conds = append(conds, p.resid...)
		args = append(args, p.rargs...)
		query = "SELECT 1 FROM cases INDEXED BY " + p.index + " WHERE " + strings.Join(conds, " AND ")
	}
	if max > 0 {
		query += " LIMIT ?"
		args = append(args, max)
	}
	var n int
	if err := db.q().QueryRowContext(ctx, "SELECT count(*) FROM ("+query+")", args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count cases: %w", err)
	}
	return n, nil
}

package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"golang.org/x/text/unicode/norm"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
)

// searchDocs are search texts as the SQLite adapter builds them
// (storage.newFTSDoc: reference, applicant, service, places, field values,
// then the spellings without umlauts and the number without zeros).
var searchDocs = []string{
	"ZEL-2026-00001 Anna Zöller hund-anmelden Hund anmelden Alf Moselstraße 12, 56859 Alf Bello 276098106543210 2024-05-01 1 Zoeller Moselstrasse",
	"COC-2026-00001 Jörg Weißgerber hund-anmelden Hund anmelden Cochem Große Straße 3, 56812 Cochem Bello 276098106543210 1 Joerg Weissgerber Grosse Strasse",
	"KAI-2026-00001 Karl Zender plakatierung Plakatierung Kaisersesch Moselstraße 5, 56759 Kaisersesch Weinfest Ediger-Eller 2026-08-01 40 07135001 Alf 1 Moselstrasse",
	`ULM-2026-00001 Foo* OR ( "Bar hund-anmelden Hund anmelden Alflen Moselstraße 1, 56766 Alflen Bello 276098106543210 1 Moselstrasse`,
	"ULM-2026-00042 Hans Mu\u0308ller muell-abfuhr Müllabfuhr Ulmen Dorfstrasse 2 Tonne 120l hans.mueller@example.de 42 Mueller Muellabfuhr",
	"KV-2026-00007 Ölfa Ünal-Özdemir gaststaette Gaststättenerlaubnis Cochem Ülmener Weg 1/2a Café Crème 7 Oelfa Uenal Oezdemir Gaststaettenerlaubnis Uelmener Cafe",
}

var searchQueries = []string{
	"Zöl", "zöller", "ZOLLER", "zoeller", "Zoe", "Anna Zö", "Zö Anna", "Anna Weiß", "weissgerber", "weißg",
	"Strasse", "Straße", "jorg", "JÖRG", "ZEL-2026-00001", "zel-2026-00001", "00001", "KAI-2026", "kai-2026-",
	"ZEL-2026-0000", "ZEL-2026-00002", "ZEL-2025-", "Weinfest", "ediger eller", "Plakatierung", "Alf", "Alflen",
	"Hund", "276098106543210", "27609", "Bello", "Moselstr", "chipnummer", "42", "4", "7",
	// Umlauts, decomposed input (NFD, as some keyboards and PDFs send it), common words.
	"Müll", "Mu\u0308ll", "Müller", "mueller", "Muell", "mull", "Mu\u0308ller", "hans.mueller@example.de", "example",
	"Ölfa", "oelfa", "Ö", "ü", "Ünal-Öz", "Ülmener", "cafe", "Café", "cre\u0300me", "120l", "1/2a", "2a",
	// Query syntax of either engine is plain text.
	`"foo* OR (`, `foo OR zender`, `"bar`, `applicant:zender`, `NEAR(zender anna)`, `*`, `"`, `(`, `AND`,
	`-zender`, `^zender`, `zender:*`, `zender & anna`, `!zender`, `'zender'`, `zen\der`, "nichtda",
}

// The PostgreSQL search gives the results of SQLite's FTS5 search (the
// configuration of storage/migrations/0001) for the same texts and input:
// the two engines are asked side by side.
func TestSearchSameAsFTS5(t *testing.T) {
	ctx := context.Background()
	lite, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	lite.SetMaxOpenConns(1)
	if _, err := lite.Exec(`CREATE VIRTUAL TABLE d USING fts5 (doc, content = '', tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3')`); err != nil {
		t.Fatalf("SQLite without FTS5 (build tag sqlite_fts5): %v", err)
	}
	db := newDB(t)
	sync := db.serviceLogin("abgleich", "sync").conn()
	for i, doc := range searchDocs {
		// The SQLite adapter composes the text (NFC) before indexing.
		if _, err := lite.Exec(`INSERT INTO d (rowid, doc) VALUES (?, ?)`, i+1, norm.NFC.String(doc)); err != nil {
			t.Fatal(err)
		}
		ref, _, _ := strings.Cut(doc, " ")
		id := insertCase(t, sync, testCase{Ref: ref, Office: "vg-ulmen", Name: "x", Author: "portal"})
		if _, err := sync.Exec(ctx, `UPDATE amtstresen.case_search SET doc = amtstresen.search_vector($2) WHERE case_id = $1`,
			id, strings.Join(SearchWords(doc), " ")); err != nil {
			t.Fatal(err)
		}
	}
	// Through the GIN index, as the queue will ask.
	if _, err := sync.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	matched := 0
	for _, q := range searchQueries {
		var want []string
		if m := ftsMatch(q); m != "" {
			rows, err := lite.Query(`SELECT rowid FROM d WHERE d MATCH ? ORDER BY rowid`, m)
			if err != nil {
				t.Fatalf("FTS5 %q: %v", m, err)
			}
			for rows.Next() {
				var id int
				rows.Scan(&id)
				ref, _, _ := strings.Cut(searchDocs[id-1], " ")
				want = append(want, ref)
			}
			rows.Close()
		}
		var got []string
		rows, err := sync.Query(ctx, `SELECT c.ref FROM amtstresen.cases c JOIN amtstresen.case_search s ON s.case_id = c.id
			WHERE s.doc @@ amtstresen.search_query($1)`, SearchWords(q))
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		for rows.Next() {
			var ref string
			rows.Scan(&ref)
			got = append(got, ref)
		}
		rows.Close()
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("search %q: PostgreSQL %v, FTS5 %v", q, got, want)
		}
		// The same through the search function, which writes each word
		// beginning out as the words that exist (migration 0007; the
		// texts came by UPDATE, so its trigger listed their words).
		refs, err := stringColumn(ctx, sync, `SELECT c.ref FROM amtstresen.cases c
			WHERE c.id IN (SELECT amtstresen.search_case_ids($1, NULL, NULL)) ORDER BY c.ref`, SearchWords(q))
		if err != nil {
			t.Fatalf("search_case_ids %q: %v", q, err)
		}
		if !slices.Equal(refs, want) && !(len(refs) == 0 && len(want) == 0) {
			t.Errorf("search_case_ids %q: %v, FTS5 %v", q, refs, want)
		}
		if len(want) > 0 {
			matched++
		}
	}
	// The comparison is about something: most queries find a case.
	if matched < len(searchQueries)/2 {
		t.Errorf("only %d of %d queries found anything", matched, len(searchQueries))
	}
	// No words, no query: the adapter leaves the search out then.
	var isNull bool
	if err := sync.QueryRow(ctx, "SELECT amtstresen.search_query($1) IS NULL", SearchWords(`*"()`)).Scan(&isNull); err != nil || !isNull {
		t.Errorf("empty query: %v, %v", isNull, err)
	}
}

// Where the engines differ: unaccent also folds ß to ss (and æ, ø, ł),
// which FTS5 keeps. A clerk who types "Dorfstraß" finds "Dorfstrasse" in
// PostgreSQL, not in SQLite. Typed the other way round both find it (the
// search text holds both spellings).
func TestSearchSharpS(t *testing.T) {
	db := newDB(t)
	conn := db.owner()
	for _, tc := range []struct {
		doc, q string
		want   bool
	}{
		{"Dorfstrasse", "Dorfstraß", true},
		{"Dorfstraße Dorfstrasse", "Dorfstrass", true},
		{"Dorfstraße Dorfstrasse", "Dorfstraß", true},
		{"Øre", "ore", true},
		{"Dorfstrasse", "Dorfstraße2", false},
	} {
		var got bool
		if err := conn.QueryRow(context.Background(), "SELECT amtstresen.search_vector($1) @@ amtstresen.search_query($2)",
			strings.Join(SearchWords(tc.doc), " "), SearchWords(tc.q)).Scan(&got); err != nil || got != tc.want {
			t.Errorf("%q in %q: %v, %v; want %v", tc.q, tc.doc, got, err, tc.want)
		}
	}
}

// ftsMatch is storage.matchQuery: every word a quoted prefix.
func ftsMatch(q string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(norm.NFC.String(q), notWordRune) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, `"%s"*`, strings.ReplaceAll(w, `"`, `""`))
	}
	return b.String()
}

func notWordRune(r rune) bool { return len(SearchWords(string(r))) == 0 }

// The word list behind the search (migration 0007): every word of every
// search text is in it, a beginning of up to 64 words is written out as
// those words, of more as a prefix; a clerk can neither read the list nor
// ask the function that expands (it would tell which words exist in other
// offices); the words only a purged case had leave it, shared ones stay.
func TestSearchWords(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	sync := tdb.serviceLogin("abgleich", "sync").open(t)
	super := tdb.super()
	mk := func(key, first, last string) *app.Case {
		c, _, err := sync.CreateCase(ctx, newDogCase(t, key, first, last, app.OfficeZell, storeNow), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i := range 70 {
		mk(fmt.Sprintf("q-%d", i), "Anna", fmt.Sprintf("Quxa%02d", i))
	}
	only := mk("only", "Zyxwortina", "Schmidt")
	mk("shared", "Berta", "Schmidt")
	expand := func(w string) string {
		var s string
		if err := super.QueryRow(ctx, "SELECT amtstresen.search_words_query($1)::text", SearchWords(w)).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := expand("quxa0"); !strings.HasPrefix(got, "'quxa00' | 'quxa01' |") || strings.Count(got, "|") != 9 {
		t.Errorf("quxa0 (10 words) = %s", got)
	}
	if got := expand("quxa"); got != "'quxa':*" {
		t.Errorf("quxa (70 words) = %s, want the prefix", got)
	}
	if got := expand("Zyxw Schmi"); got != "'zyxwortina' & 'schmidt'" {
		t.Errorf("Zyxw Schmi = %s", got)
	}
	if got := expand("nichtvorhanden"); got != "'nichtvorhanden':*" {
		t.Errorf("an unknown beginning = %s", got)
	}
	// Both forms find the same through the queue: all 70, and the ten.
	defer func(n int) { scanMaxRows = n }(scanMaxRows)
	scanMaxRows = 0
	for q, want := range map[string]int{"Quxa": 70, "quxa0": 10, "Anna Quxa6": 10, "Zyxw": 1, "Schmi": 2} {
		if n, err := sync.CountCases(ctx, app.CaseFilter{Query: q}); err != nil || n != want {
			t.Errorf("count %q = %d, %v; want %d", q, n, err, want)
		}
		got, err := sync.ListCases(ctx, app.CaseFilter{Query: q, Limit: 100})
		if err != nil || len(got) != want {
			t.Errorf("list %q = %d, %v; want %d", q, len(got), err, want)
		}
	}

	clerk := tdb.newLogin("zel", "clerk", "vg-zell").conn()
	for _, q := range []string{"SELECT count(*) FROM amtstresen.search_words", "SELECT amtstresen.search_words_query(ARRAY['a'])",
		"SELECT count(*) FROM amtstresen.search_words_gone", "SELECT amtstresen.prune_search_words()"} {
		if _, err := clerk.Exec(ctx, q); sqlState(err) != "42501" {
			t.Errorf("clerk: %s: %v, want permission denied", q, err)
		}
	}

	words := func(w string) int {
		return count(t, super, "SELECT count(*) FROM amtstresen.search_words WHERE lexeme = $1", w)
	}
	if words("zyxwortina") != 1 || words("schmidt") != 1 {
		t.Fatalf("before: zyxwortina %d, schmidt %d", words("zyxwortina"), words("schmidt"))
	}
	if _, err := super.Exec(ctx, "DELETE FROM amtstresen.cases WHERE id = $1", only.ID); err != nil {
		t.Fatal(err)
	}
	var pruned int
	if err := super.QueryRow(ctx, "SELECT amtstresen.prune_search_words()").Scan(&pruned); err != nil {
		t.Fatal(err)
	}
	if words("zyxwortina") != 0 || words("schmidt") != 1 || pruned < 1 {
		t.Errorf("after: zyxwortina %d, schmidt %d, pruned %d", words("zyxwortina"), words("schmidt"), pruned)
	}
	if n := count(t, super, "SELECT count(*) FROM amtstresen.search_words_gone"); n != 0 {
		t.Errorf("%d noted words left", n)
	}
}

// A search among open statuses reads only the search rows of open cases
// (migration 0013): every open case's row is marked, a closed one's row is
// unmarked when its case closes, and the search finds the same either way.
func TestSearchOpenRows(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	sync := tdb.serviceLogin("abgleich", "sync").open(t)
	zel := tdb.newLogin("zel", "clerk", "vg-zell")
	clerk := zel.open(t)
	by := app.Actor{Clerk: zel.Account, Office: app.OfficeZell}
	super := tdb.super()
	var refs []string
	for i := range 12 {
		c, _, err := sync.CreateCase(ctx, newDogCase(t, fmt.Sprintf("o-%d", i), "Olga", "Offenbach", app.OfficeZell, storeNow), nil)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, c.Ref)
	}
	// Two stay received, three in progress, three waiting, four closed.
	for i, ref := range refs[2:] {
		if err := clerk.SetStatus(ctx, ref, app.StatusInProgress, "", by); err != nil {
			t.Fatal(err)
		}
		to, reason := []app.Status{app.StatusInProgress, app.StatusWaiting, app.StatusDone, app.StatusRejected, app.StatusWithdrawn}[i%5], "Grund"
		if to != app.StatusInProgress {
			if err := clerk.SetStatus(ctx, ref, to, reason, by); err != nil {
				t.Fatal(err)
			}
		}
	}
	marked := count(t, super, `SELECT count(*) FROM amtstresen.case_search s JOIN amtstresen.cases c ON c.id = s.case_id
		WHERE s.open <> (c.status NOT IN ('done', 'rejected', 'withdrawn'))`)
	if marked != 0 {
		t.Errorf("%d search rows marked other than their case's status", marked)
	}
	open := []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}
	for _, f := range []app.CaseFilter{
		{Query: "Offenb", Statuses: open},
		{Query: "Olga Offenbach", Statuses: []app.Status{app.StatusWaiting}, Offices: []app.OfficeKey{app.OfficeZell}},
		{Query: "Offenbach", Statuses: []app.Status{app.StatusDone, app.StatusWaiting}},
		{Query: "Offenbach"},
	} {
		want := 0
		for _, ref := range refs {
			c, err := sync.CaseByRef(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Statuses) == 0 || slices.Contains(f.Statuses, c.Status) {
				want++
			}
		}
		for name, st := range map[string]*DB{"sync": sync, "clerk": clerk} {
			n, err := st.CountCases(ctx, f)
			got, lerr := st.ListCases(ctx, f)
			if err != nil || lerr != nil || n != want || len(got) != want {
				t.Errorf("%s %+v: count %d, list %d (%v %v), want %d", name, f, n, len(got), err, lerr, want)
			}
		}
	}
	// The open search reads the open rows' index.
	var plan string
	rows, err := super.Query(ctx, `EXPLAIN SELECT s.case_id FROM amtstresen.case_search s WHERE amtstresen.office_words(s.office, s.doc, s.month) @@ 'offenbach/vg-zell'::tsquery AND s.open`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var l string
		rows.Scan(&l)
		plan += l + "\n"
	}
	if !strings.Contains(plan, "case_search_open_words") {
		t.Errorf("plan without the open rows' index:\n%s", plan)
	}
}

// The search index keeps each word under its case's office (migration
// 0015). For every kind of login, every choice of offices and statuses and
// a month bound, search_case_ids finds exactly the cases the login may
// see whose words match (the plain query of version 7 on the row, under
// the login's row-level security): the cases of no office, those with an
// open routing question, closed ones, and a case forwarded to another
// office under its new office only.
func TestSearchUnderOffices(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	sync := tdb.serviceLogin("abgleich", "sync").conn()
	super := tdb.super()
	cases := map[string]int64{}
	for _, c := range []testCase{
		{Ref: "CZ-2026-00001", Office: "", Name: "Mara Musterfrau"},
		{Ref: "ZEL-2026-00001", Office: "vg-zell", Flags: []string{"routing-unclear"}, Name: "Mara Musterfrau"},
		{Ref: "ZEL-2026-00002", Office: "vg-zell", Name: "Mara Mustermann"},
		{Ref: "ZEL-2026-00003", Office: "vg-zell", Name: "Otto Musterfrau"},
		{Ref: "ULM-2026-00001", Office: "vg-ulmen", Name: "Mara Musterfrau"},
		{Ref: "ULM-2026-00002", Office: "vg-ulmen", Name: "Mara Musterfrau"},
		{Ref: "KV-2026-00001", Office: "kreis", Name: "Mara Muster"},
		{Ref: "COC-2026-00001", Office: "vg-cochem", Name: "Mara Musterfrau"},
	} {
		c.Author = "portal"
		cases[c.Ref] = insertCase(t, sync, c)
	}
	// One closed case, one of an earlier month, one without words.
	if _, err := super.Exec(ctx, "UPDATE amtstresen.cases SET status = 'done', closed_at = now() WHERE ref = 'ULM-2026-00002'"); err != nil {
		t.Fatal(err)
	}
	if _, err := super.Exec(ctx, "UPDATE amtstresen.cases SET received_at = received_at - interval '3 months' WHERE ref = 'ZEL-2026-00003'"); err != nil {
		t.Fatal(err)
	}
	insertCase(t, sync, testCase{Ref: "ZEL-2026-00004", Office: "vg-zell", Name: "", Author: "portal"})
	if _, err := super.Exec(ctx, "UPDATE amtstresen.case_search SET doc = ''::tsvector WHERE case_id = (SELECT id FROM amtstresen.cases WHERE ref = 'ZEL-2026-00004')"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, super, "SELECT count(*) FROM amtstresen.case_search WHERE open"); n != 8 {
		t.Fatalf("%d search rows marked open, want 8", n)
	}

	// "Ma" begins more than 64 words: it stays a prefix, which matches
	// the words of every office.
	if _, err := super.Exec(ctx, "INSERT INTO amtstresen.search_words (lexeme) SELECT 'maxx' || i FROM generate_series(1, 70) i"); err != nil {
		t.Fatal(err)
	}
	// The month of the cases, one that holds the case of three months
	// before too, and one after every case.
	month := caseMonth(testNow)
	earlier, later := month-4, month+1
	logins := map[string]*pgx.Conn{
		"sync":       sync,
		"admin":      tdb.newLogin("adm", "admin", "").conn(),
		"ulmen lead": tdb.newLogin("ulml", "lead", "vg-ulmen").conn(),
		"zell lead":  tdb.newLogin("zell", "lead", "vg-zell").conn(),
		"ulmen":      tdb.newLogin("ulm", "clerk", "vg-ulmen").conn(),
		"zell":       tdb.newLogin("zel", "clerk", "vg-zell").conn(),
		"kreis":      tdb.newLogin("kv", "clerk", "kreis").conn(),
	}
	ids := func(conn *pgx.Conn, sql string, args ...any) []int64 {
		t.Helper()
		rows, err := conn.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		slices.Sort(out)
		return out
	}
	check := func(stage string) int {
		t.Helper()
		found := 0
		for name, conn := range logins {
			for _, words := range []string{"Mara Muster", "musterfrau", "Muste", "ZEL 2026", "bello", "nichtda", "Ma", "Ma Musterfrau"} {
				w := SearchWords(words)
				for _, only := range [][]string{nil, {"vg-zell"}, {"vg-ulmen", ""}, {"vg-cochem", "kreis"}} {
					for _, open := range []bool{false, true} {
						for _, since := range []*int32{nil, &month, &earlier, &later} {
							got := ids(conn, "SELECT amtstresen.search_case_ids($1, $2, NULL, $3, $4)", w, only, since, open)
							want := ids(conn, `SELECT c.id FROM amtstresen.cases c JOIN amtstresen.case_search s ON s.case_id = c.id
								WHERE s.doc @@ amtstresen.search_query($1) AND ($2::text[] IS NULL OR c.office = ANY ($2))
								AND (NOT $4 OR c.status NOT IN ('done', 'rejected', 'withdrawn'))
								AND ($3::integer IS NULL OR amtstresen.case_month(c.received_at) >= $3)`, w, only, since, open)
							if !slices.Equal(got, want) {
								bound := "-"
								if since != nil {
									bound = fmt.Sprint(*since)
								}
								t.Errorf("%s: %s %q offices %v open %v since month %s: %v, want %v", stage, name, words, only, open, bound, got, want)
							}
							found += len(got)
						}
					}
				}
			}
		}
		return found
	}
	if check("before") == 0 {
		t.Fatal("no search found anything")
	}
	// The undecided case goes to Cochem: its words move with it.
	if _, err := super.Exec(ctx, "UPDATE amtstresen.cases SET office = 'vg-cochem' WHERE ref = 'CZ-2026-00001'"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, super, `SELECT count(*) FROM amtstresen.case_search s WHERE s.case_id = $1
		AND amtstresen.office_words(s.office, s.doc, s.month) @@ 'musterfrau/vg-cochem'::tsquery`, cases["CZ-2026-00001"]); n != 1 {
		t.Errorf("forwarded case under Cochem: %d rows", n)
	}
	check("after forwarding")

	// A word left only in a closed case of another office stays in the
	// word list after a purge elsewhere; one left nowhere goes.
	if _, err := super.Exec(ctx, "DELETE FROM amtstresen.cases WHERE ref IN ('ULM-2026-00001', 'KV-2026-00001')"); err != nil {
		t.Fatal(err)
	}
	if _, err := super.Exec(ctx, "SELECT amtstresen.prune_search_words()"); err != nil {
		t.Fatal(err)
	}
	for w, want := range map[string]int{"ulm": 1, "kv": 0, "musterfrau": 1, "muster": 0} {
		if n := count(t, super, "SELECT count(*) FROM amtstresen.search_words WHERE lexeme = $1", w); n != want {
			t.Errorf("word %q: %d in the list, want %d", w, n, want)
		}
	}

	// Both indexes are read where they should be.
	plan := func(sql string) string {
		rows, err := super.Query(ctx, "EXPLAIN "+sql)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	for idx, cond := range map[string]string{"case_search_open_words": "s.open", "case_search_closed_words": "NOT s.open"} {
		if p := plan(`SELECT s.case_id FROM amtstresen.case_search s WHERE amtstresen.office_words(s.office, s.doc, s.month) @@ 'mara/vg-zell'::tsquery AND ` + cond); !strings.Contains(p, idx) {
			t.Errorf("plan for %s without %s:\n%s", cond, idx, p)
		}
	}
}

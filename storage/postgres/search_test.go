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

package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"amtstresen/app"
	"amtstresen/storage/postgres/pgtest"
	"amtstresen/storage/storetest"
)

// vectorTexts are the texts the program's search vector is held to the
// server's with: as the store writes them (SearchWords joined by spaces)
// and as given.
func vectorTexts() []string {
	texts := []string{
		"", " ", "Anna Zöller", "ZÖLLER zoller Zoeller", "Müller-Lüdenscheid", "Dorfstraße 12a", "STRASSE Straße straße",
		"O'Neill d'Artagnan l’Hôpital", "François Ærø Łódź Dvořák Œuvre Ĳssel Þór ŉ ſ ĸ ı",
		norm.NFD.String("Zöller Dvořák Ångström ñandú"), "Ζωή Ελένη", "Иван Петров", "İstanbul IŞIK", "½ ² Ⅻ ３ ﬁ ǅ",
		"1e5abc 1e5 12a a12 0e0 1e 12ä ä12 1ß 3e2x 007 2026-11-01 276098106543210", "ZEL-2026-00042",
		"a\tb\nc  d", "tab\tonly", "émile@example.org www.amtstresen.de /etc/passwd 1.5 v1.2.3",
		"x" + strings.Repeat("ä", 1023), strings.Repeat("y", 2046) + " " + strings.Repeat("z", 2047) + " " + strings.Repeat("w", 2048) + " end",
		strings.Repeat("ü", 1023) + " " + strings.Repeat("ü", 1024) + " " + strings.Repeat("ß", 1023) + " after",
		strings.Repeat("anna ", 300) + "berta anna", strings.Repeat("ab ", 16400) + "c ab d", strings.Repeat("x ", 16390) + "a b c a",
		strings.Repeat("lang ", 20000),
	}
	// Random texts of letters the program knows, letters it does not,
	// digits, e (scientific numbers) and separators.
	alphabet := []rune("abcdeeeeexyzäöüßéèçñøłœĳ0123456789000 -'’.,@/ΩЖİ½²\u0301")
	rng := rand.New(rand.NewPCG(15, 2026))
	for i := 0; i < 400; i++ {
		n := 1 + rng.IntN(60)
		var b strings.Builder
		for j := 0; j < n; j++ {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	var out []string
	for _, t := range texts {
		out = append(out, strings.Join(SearchWords(t), " "), t)
	}
	return out
}

// compareVectors holds the program's vectors of texts to search_vector on
// conn, and returns how many the program built.
func compareVectors(t *testing.T, conn *pgx.Conn, fn string, texts []string) int {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT `+fn+`(t)::text FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n`, texts)
	if err != nil {
		t.Fatal(err)
	}
	server, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	built := 0
	for i, text := range texts {
		v, ok := searchVectorText(text)
		if !ok {
			continue
		}
		built++
		if v != server[i] {
			short := text
			if len(short) > 80 {
				short = short[:80] + "…"
			}
			t.Errorf("%q: program %.200q, server %.200q", short, v, server[i])
			continue
		}
		// The text form reads back as the same vector.
		var same bool
		if err := conn.QueryRow(context.Background(), `SELECT $1::tsvector = `+fn+`($2)`, v, text).Scan(&same); err != nil || !same {
			t.Errorf("%.80q: %v, %v", text, same, err)
		}
	}
	return built
}

// The program's search vector (searchVectorText) is the server's
// search_vector of the same text, for every text it builds one of:
// umlauts, ß, accents, NFD input, digits, hyphens, apostrophes, words of
// 2,047 bytes and more (left out), a word repeated beyond 255 positions,
// positions beyond 16,383, the empty text. Texts it does not know for
// sure (other scripts, ½, "1e5abc", tabs) it leaves to the server; it
// builds the German ones. Also in a database whose LC_CTYPE is not C
// (where the parser's letters are the C library's), with the search
// configuration of migration 1.
func TestSearchVectorSameAsServer(t *testing.T) {
	db := newDB(t)
	texts := vectorTexts()
	built := compareVectors(t, db.owner(), "amtstresen.search_vector", texts)
	if built < 100 {
		t.Errorf("the program built %d of %d vectors", built, len(texts))
	}
	for _, text := range []string{"anna zöller dorfstraße 12a", "", "müller lüdenscheid", strings.Repeat("ab ", 16400)} {
		if _, ok := searchVectorText(text); !ok {
			t.Errorf("%.40q left to the server", text)
		}
	}
	for _, text := range []string{"иван", "ζωή", "1e5abc", "a\tb", "½", "i\u0307stanbul", strings.Repeat("lang ", 20000)} {
		if _, ok := searchVectorText(text); ok {
			t.Errorf("%.40q built by the program", text)
		}
	}

	ctx := context.Background()
	name := fmt.Sprintf("%s_utf8", db.name)
	if err := cluster.Exec(ctx, "postgres", fmt.Sprintf(`CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_CTYPE 'C.UTF-8' LC_COLLATE 'C.UTF-8'`, name)); err != nil {
		t.Logf("no database with LC_CTYPE C.UTF-8: %v", err)
		return
	}
	t.Cleanup(func() { cluster.Exec(context.Background(), "postgres", "DROP DATABASE "+name) })
	conn := pgtest.Connect(t, cluster.SuperURL(name))
	if _, err := conn.Exec(ctx, `CREATE EXTENSION unaccent;
		CREATE TEXT SEARCH CONFIGURATION search (COPY = pg_catalog.simple);
		ALTER TEXT SEARCH CONFIGURATION search ALTER MAPPING FOR asciiword, word, numword,
			asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart WITH unaccent, simple;
		CREATE FUNCTION search_vector(words text) RETURNS tsvector LANGUAGE sql IMMUTABLE
			RETURN pg_catalog.to_tsvector('search'::regconfig, words)`); err != nil {
		t.Fatal(err)
	}
	compareVectors(t, conn, "search_vector", texts)
	var same bool
	if err := conn.QueryRow(ctx, "SELECT search_vector($1)::text = $2", vectorProbe, mustVector(t, vectorProbe)).Scan(&same); err != nil || !same {
		t.Errorf("probe under C.UTF-8: %v, %v", same, err)
	}
}

func mustVector(t *testing.T, text string) string {
	t.Helper()
	v, ok := searchVectorText(text)
	if !ok {
		t.Fatalf("%.40q left to the server", text)
	}
	return v
}

// The sync writes the search rows of a block with the program's vectors
// (the probe matched) and of texts it does not know with the server's:
// each row has the words of search_vector of its case's search text (the
// positions of the field values follow the order of a map, which varies;
// TestSearchVectorSameAsServer holds the positions). A server whose
// search_vector differs from the program's on the probe builds them all.
func TestSearchRowsWithProgramVectors(t *testing.T) {
	tdb := newDB(t)
	ctx := context.Background()
	l := tdb.serviceLogin("abgleich", "sync")
	db := l.open(t)
	if !db.goVectors(ctx, db.pool) {
		t.Fatal("the probe does not match the server")
	}
	names := [][2]string{{"Anna", "Zöller"}, {"Иван", "Петров"}, {"Łucja", "Dvořák"}, {"Ζωή", "Παπαδοπούλου"}, {"Jörg", "Straße"}}
	var ps []app.PreparedCase
	var rcs []*app.Receipt
	var ncs []*app.NewCase
	for i, n := range names {
		key := fmt.Sprintf("v-%d", i)
		nc := storetest.DogCase(t, key, n[0], n[1], app.OfficeZell, storetest.Start)
		ncs = append(ncs, nc)
		ps = append(ps, db.PrepareCase(nc))
		rcs = append(rcs, &app.Receipt{SHA256: "sum-" + key, Mailbox: "INBOX", UID: uint32(i + 1), Kind: "antrag", PortalCase: key})
	}
	if err := db.Batch(ctx, func(tx app.PortalStore) error {
		_, err := tx.CreatePreparedCases(ctx, ps, rcs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	super := tdb.super()
	for _, nc := range ncs {
		c, err := db.CaseByPortalID(ctx, nc.PortalCase)
		if err != nil {
			t.Fatal(err)
		}
		ref, text := c.Ref, SearchText(db.reg, c.Ref, c)
		var same bool
		if err := super.QueryRow(ctx, `SELECT strip(s.doc) = strip(amtstresen.search_vector($2)) FROM amtstresen.case_search s JOIN amtstresen.cases c ON c.id = s.case_id
			WHERE c.ref = $1`, ref, text).Scan(&same); err != nil || !same {
			var doc, want string
			super.QueryRow(ctx, `SELECT s.doc::text, amtstresen.search_vector($2)::text FROM amtstresen.case_search s JOIN amtstresen.cases c ON c.id = s.case_id
				WHERE c.ref = $1`, ref, text).Scan(&doc, &want)
			t.Errorf("%s (%s): search row %v, %v:\n%s\n%s", ref, nc.Applicant.LastName, same, err, doc, want)
		}
	}

	// Another unaccent: the server's vector of the probe differs.
	if _, err := super.Exec(ctx, `ALTER TEXT SEARCH CONFIGURATION amtstresen.search ALTER MAPPING FOR asciiword, word, numword,
		asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart WITH simple`); err != nil {
		t.Fatal(err)
	}
	other := l.open(t)
	if other.goVectors(ctx, other.pool) {
		t.Error("the program builds vectors although the server's differ")
	}
}

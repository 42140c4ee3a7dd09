package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

func TestMatchQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"  ", ""},
		{"Zöl", `"Zöl"*`},
		{"Anna Mus", `"Anna"* "Mus"*`},
		{"ZEL-2026-00042", `"ZEL"* "2026"* "00042"*`},
		{`"foo* OR (`, `"foo"* "OR"*`},
		{`applicant:x NEAR(a b) ^c -d +e`, `"applicant"* "x"* "NEAR"* "a"* "b"* "c"* "d"* "e"*`},
		{"Zo\u0308ller", `"Zöller"*`}, // decomposed umlaut
		{`*"()`, ""},
	} {
		if got := matchQuery(tc.in); got != tc.want {
			t.Errorf("matchQuery(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSearch(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	mk := func(key, first, last string, o app.OfficeKey, mod func(*app.NewCase)) *app.Case {
		nc := newDogCase(t, key, first, last, o, testNow)
		if mod != nil {
			mod(nc)
		}
		return mustCreate(t, db, nc)
	}
	zoeller := mk("p-1", "Anna", "Zöller", app.OfficeZell, nil)
	strasse := mk("p-2", "Jörg", "Weißgerber", app.OfficeCochem, func(nc *app.NewCase) {
		nc.Applicant.Address.Street = "Große Straße"
	})
	poster := mk("p-3", "Karl", "Zender", app.OfficeKaisersesch, func(nc *app.NewCase) {
		nc.Service = "plakatierung"
		nc.Fields, _ = json.Marshal(map[string]any{"veranstaltung": map[string]any{"titel": "Weinfest Ediger-Eller", "datum": "2026-08-01"},
			"anzahlPlakate": 40, "gemeinden": []string{"07135001"}})
	})
	injected := mk("p-4", `Foo* OR (`, `"Bar`, app.OfficeUlmen, nil)
	mosel := []string{zoeller.Ref, poster.Ref, injected.Ref} // Moselstraße

	for _, tc := range []struct {
		q    string
		want []string // refs; nil = none
	}{
		{"Zöl", []string{zoeller.Ref}},
		{"zöller", []string{zoeller.Ref}},
		{"ZOLLER", []string{zoeller.Ref}},
		{"zoeller", []string{zoeller.Ref}},
		{"Zoe", []string{zoeller.Ref}},
		{"Anna Zö", []string{zoeller.Ref}},
		{"Zö Anna", []string{zoeller.Ref}},
		{"Anna Weiß", nil},
		{"weissgerber", []string{strasse.Ref}},
		{"weißg", []string{strasse.Ref}},
		{"Strasse", []string{strasse.Ref}},
		{"Straße", []string{strasse.Ref}},
		{"jorg", []string{strasse.Ref}},
		{zoeller.Ref, []string{zoeller.Ref}},
		{strings.ToLower(poster.Ref), []string{poster.Ref}},
		{"00001", []string{zoeller.Ref, strasse.Ref, poster.Ref, injected.Ref}},
		{"KAI-2026", []string{poster.Ref}},
		// A reference as it is typed: its beginning, any case.
		{"kai-2026-", []string{poster.Ref}},
		{"ZEL-2026-0000", []string{zoeller.Ref}},
		{"zel-2026-00001", []string{zoeller.Ref}},
		{"ZEL-2026-00002", nil},
		{"ZEL-2025-", nil},
		{"Weinfest", []string{poster.Ref}},
		{"ediger eller", []string{poster.Ref}},
		{"Plakatierung", []string{poster.Ref}},
		{"Alf", []string{zoeller.Ref, poster.Ref, injected.Ref}}, // Alf (address; AGS in the fields), Alflen
		{"Alflen", []string{injected.Ref}},
		{"Hund", []string{zoeller.Ref, strasse.Ref, injected.Ref}},
		{"276098106543210", []string{zoeller.Ref, strasse.Ref, injected.Ref}},
		{"27609", []string{zoeller.Ref, strasse.Ref, injected.Ref}},
		{"Bello", []string{zoeller.Ref, strasse.Ref, injected.Ref}},
		{"Moselstr", []string{zoeller.Ref, poster.Ref, injected.Ref}},
		// Field names are not searchable, only values.
		{"chipnummer", nil},
		{"haltungsbeginn", nil},
		// FTS5 syntax is plain text.
		{`"foo* OR (`, []string{injected.Ref}},
		{`foo OR zender`, nil},
		{`"bar`, []string{injected.Ref}},
		{`applicant:zender`, nil},
		{`NEAR(zender anna)`, nil},
		{`*`, nil},
		{`"`, nil},
		{`(`, nil},
		{`AND`, nil},
		{`-zender`, []string{poster.Ref}},
		{`^zender`, []string{poster.Ref}},
		{"nichtda", nil},
	} {
		got, err := db.ListCases(ctx, app.CaseFilter{Query: tc.q, Sort: "+ref"})
		if err != nil {
			t.Errorf("search %q: %v", tc.q, err)
			continue
		}
		var refs []string
		for _, c := range got {
			refs = append(refs, c.Ref)
		}
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if strings.Join(refs, ",") != strings.Join(want, ",") {
			t.Errorf("search %q = %v, want %v", tc.q, refs, want)
		}
		n, err := db.CountCases(ctx, app.CaseFilter{Query: tc.q})
		if err != nil || n != len(want) {
			t.Errorf("count %q = %d, %v; want %d", tc.q, n, err, len(want))
		}
	}

	// Search combines with the filters.
	for _, tc := range []struct {
		f    app.CaseFilter
		want int
	}{
		{app.CaseFilter{Query: "Moselstr"}, len(mosel)},
		{app.CaseFilter{Query: "Moselstr", Offices: []app.OfficeKey{app.OfficeZell, app.OfficeUlmen}}, 2},
		{app.CaseFilter{Query: "Moselstr", Service: "plakatierung"}, 1},
		{app.CaseFilter{Query: "Moselstr", Statuses: []app.Status{app.StatusDone}}, 0},
		{app.CaseFilter{Query: "Moselstr", Limit: 2, Offset: 2}, 1},
		{app.CaseFilter{Query: "Moselstr", Sort: "+status"}, len(mosel)},
	} {
		got, err := db.ListCases(ctx, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("ListCases(%+v) = %d rows, %v; want %d", tc.f, len(got), err, tc.want)
		}
	}
}

// A search of short words with many matches walks the queue index and
// tests each row against the full-text index; it must give the same pages
// and the same order as sorting all matches.
func TestSearchScanSameAsSort(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	offices := []app.OfficeKey{app.OfficeZell, app.OfficeCochem, app.OfficeUlmen, app.OfficeKreis}
	names := []string{"Müller", "Mayer", "Zöller", "Schmidt", "Mai"}
	for i := 0; i < 60; i++ {
		nc := newDogCase(t, fmt.Sprintf("p-%d", i), "Anna", names[i%len(names)], offices[i%len(offices)], testNow.Add(time.Duration(i*37%60)*time.Hour))
		c := mustCreate(t, db, nc)
		if i%3 == 0 {
			if err := db.Claim(ctx, c.Ref, app.Actor{Clerk: "zel1", Office: c.Office}); err != nil {
				t.Fatal(err)
			}
			if err := db.SetStatus(ctx, c.Ref, app.StatusInProgress, "", app.Actor{Clerk: "zel1", Office: c.Office}); err != nil {
				t.Fatal(err)
			}
		}
	}
	pages := func(f app.CaseFilter) []string {
		var out []string
		for off := 0; ; off += 7 {
			f.Limit, f.Offset = 7, off
			got, err := db.ListCases(ctx, f)
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			for _, c := range got {
				out = append(out, c.Ref)
			}
			if len(got) < 7 {
				return out
			}
		}
	}
	defer func(n int) { scanMaxRows = n }(scanMaxRows)
	for _, f := range []app.CaseFilter{
		{Query: "M"},
		{Query: "mü"},
		{Query: "An M"},
		{Query: "M", Sort: "+applicant"},
		{Query: "M", Sort: "status"},
		{Query: "M", Sort: "+ref"},
		{Query: "Ma", Offices: []app.OfficeKey{app.OfficeZell}, Statuses: []app.Status{app.StatusInProgress}},
		{Query: "m", Assignee: "zel1"},
		{Query: "zö", Unassigned: true},
	} {
		scanMaxRows = 0 // never walk
		sorted := pages(f)
		scanMaxRows = 1 << 30 // always walk
		scanned := pages(f)
		if len(sorted) == 0 || strings.Join(sorted, ",") != strings.Join(scanned, ",") {
			t.Errorf("%+v:\nsorted  %v\nscanned %v", f, sorted, scanned)
		}
	}
}

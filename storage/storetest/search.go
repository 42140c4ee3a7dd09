package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"amtstresen/app"
)

// search: the queue's free-text search.
var search = []test{
	{"Search", testSearch},
	{"SearchCommonWordAndNFD", testSearchCommonWordAndNFD},
}

// searchRefs lists the references of what the filter finds.
func (e *env) searchRefs(f app.CaseFilter) []string {
	e.Helper()
	got, err := e.st.ListCases(e.ctx, f)
	if err != nil {
		e.Errorf("search %+v: %v", f, err)
		return nil
	}
	var refs []string
	for _, c := range got {
		refs = append(refs, c.Ref)
	}
	return refs
}

// wantSearch checks that query q finds exactly the cases want (in any
// order), listed and counted.
func (e *env) wantSearch(q string, want []string) {
	e.Helper()
	refs := e.searchRefs(app.CaseFilter{Query: q, Sort: "+ref", Limit: 1000})
	want = slices.Clone(want)
	slices.Sort(want)
	if strings.Join(refs, ",") != strings.Join(want, ",") {
		e.Errorf("search %q = %v, want %v", q, refs, want)
	}
	n, err := e.st.CountCases(e.ctx, app.CaseFilter{Query: q})
	if err != nil || n != len(want) {
		e.Errorf("count %q = %d, %v; want %d", q, n, err, len(want))
	}
}

func testSearch(e *env) {
	mk := func(key, first, last string, o app.OfficeKey, mod func(*app.NewCase)) *app.Case {
		nc := e.dogCase(key, first, last, o, Start)
		if mod != nil {
			mod(nc)
		}
		return e.create(nc)
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
		{"JÖRG", []string{strasse.Ref}},
		{zoeller.Ref, []string{zoeller.Ref}},
		{strings.ToLower(poster.Ref), []string{poster.Ref}},
		{"00001", []string{zoeller.Ref, strasse.Ref, poster.Ref, injected.Ref}},
		{"1", []string{zoeller.Ref, strasse.Ref, poster.Ref, injected.Ref}}, // the number without zeros
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
		// Decomposed input (NFD, as some keyboards and PDFs send it).
		{"Zo\u0308ller", []string{zoeller.Ref}},
		{"Wei\u00dfgerber Jo\u0308rg", []string{strasse.Ref}},
		// The query syntax of any engine is plain text.
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
		{`zender:*`, []string{poster.Ref}},
		{`zender & karl`, []string{poster.Ref}},
		{`!zender`, []string{poster.Ref}},
		{`'zender'`, []string{poster.Ref}},
		{`zender | anna`, nil},
		{`zen%`, []string{poster.Ref}},
		{`zen_er`, nil},
		{"nichtda", nil},
	} {
		e.wantSearch(tc.q, tc.want)
	}
	// No words at all: no search, the whole queue.
	if n, err := e.st.CountCases(e.ctx, app.CaseFilter{Query: " "}); err != nil || n != 4 {
		e.Errorf("blank query counts %d, %v; want 4", n, err)
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
		got, err := e.st.ListCases(e.ctx, tc.f)
		if err != nil || len(got) != tc.want {
			e.Errorf("ListCases(%+v) = %d rows, %v; want %d", tc.f, len(got), err, tc.want)
		}
	}
}

// testSearchCommonWordAndNFD: a common word ("Müll") finds every case it
// begins a word of, listed page by page and counted, whether the name or
// the query was typed composed or decomposed, with or without umlauts.
func testSearchCommonWordAndNFD(e *env) {
	offices := []app.OfficeKey{app.OfficeZell, app.OfficeCochem, app.OfficeUlmen, app.OfficeKreis, ""}
	var mueller []string // Müller, typed composed or decomposed
	for i := range 60 {
		last := "Müller"
		if i%2 == 1 {
			last = "Mu\u0308ller"
		}
		mueller = append(mueller, e.create(e.dogCase(fmt.Sprintf("m-%d", i), "Hans", last, offices[i%len(offices)], Start)).Ref)
	}
	for i := range 30 {
		e.create(e.dogCase(fmt.Sprintf("s-%d", i), "Eva", "Schmitt", offices[i%len(offices)], Start))
	}
	one := func(key, last string) string {
		return e.create(e.dogCase(key, "Otto", last, app.OfficeZell, Start)).Ref
	}
	bach := one("x-1", "Müllenbach")
	mueller2 := one("x-2", "Mueller")
	moeller := one("x-3", "Möller")
	muehlen := one("x-4", "Mühlen")
	all := func(refs ...string) []string { return append(slices.Clone(mueller), refs...) }

	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"Müll", all(bach)},
		{"Mu\u0308ll", all(bach)},
		{"mull", all(bach)},
		{"MÜLL", all(bach)},
		{"Muell", all(bach, mueller2)},
		{"Müller", all()},
		{"Mu\u0308ller Hans", all()},
		{"mueller", all(mueller2)},
		{"Müller Otto", nil},
		{"Mueller Otto", []string{mueller2}},
		{"Möl", []string{moeller}},
		{"Moel", []string{moeller}},
		{"Mühl", []string{muehlen}},
		{"Muehlen", []string{muehlen}},
	} {
		e.wantSearch(tc.q, tc.want)
	}
	// Page by page, newest first (the default) and by reference.
	for _, sort := range []string{"", "+ref", "applicant"} {
		var pages []string
		for off := 0; ; off += 25 {
			got := e.searchRefs(app.CaseFilter{Query: "Müll", Sort: sort, Limit: 25, Offset: off})
			pages = append(pages, got...)
			if len(got) < 25 {
				break
			}
		}
		want := all(bach)
		got := slices.Clone(pages)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			e.Errorf("sort %q: pages of 25 give %d cases %v, want %d", sort, len(pages), pages, len(want))
		}
	}
}

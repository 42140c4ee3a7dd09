package storage

import (
	"context"
	"fmt"
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

package pdf

import (
	"fmt"
	"io"
	"testing"
)

// Budgets (issue 4): one confirmation under 15 ms, 100 confirmations in
// one PDF under 300 ms. Run:
//
//	go test -run '^$' -bench . -benchmem ./ui/pdf/

func BenchmarkConfirmation(b *testing.B) {
	r := NewRenderer(testReg())
	c := dogCase()
	o := Options{Now: fixedNow, Clerk: "Maria Müller"}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Write(io.Discard, o, CaseItem(c)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppointment(b *testing.B) {
	r := NewRenderer(testReg())
	a := appointment()
	o := Options{Now: fixedNow}
	for b.Loop() {
		if err := r.Write(io.Discard, o, AppointmentItem(a, nil)); err != nil {
			b.Fatal(err)
		}
	}
}

// batch returns n different cases of all kinds.
func batch(n int) []Item {
	makers := []func() Item{
		func() Item { return CaseItem(dogCase()) },
		func() Item { return CaseItem(bulkyCase()) },
		func() Item { return CaseItem(applianceCase()) },
		func() Item { return CaseItem(posterCase()) },
		func() Item { return AppointmentItem(appointment(), nil) },
	}
	items := make([]Item, n)
	for i := range items {
		items[i] = makers[i%len(makers)]()
		if c := items[i].Case; c != nil {
			c.Ref = fmt.Sprintf("%s-%05d", c.Ref[:len(c.Ref)-6], i+1)
		}
	}
	return items
}

func BenchmarkBatch100(b *testing.B) {
	r := NewRenderer(testReg())
	items := batch(100)
	o := Options{Now: fixedNow}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Write(io.Discard, o, items...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConfirmationParsingFonts is BenchmarkConfirmation with the
// parsed-font cache off (gofpdf parses the cut fonts for each document),
// to show what the cache saves.
func BenchmarkConfirmationParsingFonts(b *testing.B) {
	fontCacheEnabled = false
	defer func() { fontCacheEnabled = true }()
	BenchmarkConfirmation(b)
}

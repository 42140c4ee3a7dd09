package app

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
)

// OfficeKey identifies a Dienststelle: "kreis" or "vg-…".
type OfficeKey string

const (
	OfficeKreis       OfficeKey = "kreis"
	OfficeCochem      OfficeKey = "vg-cochem"
	OfficeKaisersesch OfficeKey = "vg-kaisersesch"
	OfficeUlmen       OfficeKey = "vg-ulmen"
	OfficeZell        OfficeKey = "vg-zell"
)

// Office is a Dienststelle: the Kreisverwaltung or a Verbandsgemeindeverwaltung.
type Office struct {
	Key      OfficeKey
	Code     string // short code used in reference numbers, e.g. "ZEL"
	Name     string // "Verbandsgemeindeverwaltung Zell (Mosel)"
	VG       string // Verbandsgemeinde name as in the municipality list; "" for the Kreis
	Street   string
	Postcode string
	City     string
	Website  string
}

// Short returns the name a clerk uses: "VG Zell (Mosel)" or "Kreisverwaltung".
func (o *Office) Short() string {
	if o.VG == "" {
		return "Kreisverwaltung"
	}
	return "VG " + o.VG
}

// AddressLine returns "Schloßstraße 69, 56856 Zell (Mosel)".
func (o *Office) AddressLine() string {
	return fmt.Sprintf("%s, %s %s", o.Street, o.Postcode, o.City)
}

// parseOffices reads dienststellen.csv.
func parseOffices(r io.Reader) ([]*Office, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read offices: %w", err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("read offices: no rows")
	}
	var out []*Office
	for i, row := range rows[1:] {
		if len(row) < 8 {
			return nil, fmt.Errorf("read offices: row %d has %d columns", i+2, len(row))
		}
		out = append(out, &Office{
			Key: OfficeKey(strings.TrimSpace(row[0])), Code: row[1], Name: row[2], VG: row[3],
			Street: row[4], Postcode: row[5], City: row[6], Website: row[7],
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

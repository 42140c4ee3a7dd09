package app

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Municipality is an Ortsgemeinde of the Kreis.
type Municipality struct {
	AGS       string   // 8-digit Amtlicher Gemeindeschlüssel, e.g. "07135051"
	Name      string   // official name, e.g. "Zell (Mosel)"
	VG        string   // Verbandsgemeinde name, e.g. "Zell (Mosel)"
	Postcodes []string // one or more
	Office    OfficeKey
}

// KreisAGSPrefix is the AGS prefix of the Landkreis Cochem-Zell.
const KreisAGSPrefix = "07135"

func parseMunicipalities(r io.Reader, offices []*Office) ([]*Municipality, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read municipalities: %w", err)
	}
	byVG := map[string]OfficeKey{}
	for _, o := range offices {
		if o.VG != "" {
			byVG[o.VG] = o.Key
		}
	}
	var out []*Municipality
	for i, row := range rows[1:] {
		if len(row) < 4 {
			return nil, fmt.Errorf("read municipalities: row %d has %d columns", i+2, len(row))
		}
		off, ok := byVG[row[2]]
		if !ok {
			return nil, fmt.Errorf("read municipalities: row %d: unknown Verbandsgemeinde %q", i+2, row[2])
		}
		m := &Municipality{AGS: row[0], Name: row[1], VG: row[2], Office: off}
		for _, p := range strings.Split(row[3], ";") {
			if p = strings.TrimSpace(p); p != "" {
				m.Postcodes = append(m.Postcodes, p)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// HasPostcode reports whether p is one of m's postcodes.
func (m *Municipality) HasPostcode(p string) bool {
	for _, x := range m.Postcodes {
		if x == p {
			return true
		}
	}
	return false
}

// NormalizePlace folds a place name for matching: case, umlauts and ß,
// "St." for "Sankt", separators, and a trailing ", Stadt". The suffix in
// parentheses is kept; PlaceBase drops it.
func NormalizePlace(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSuffix(s, ", stadt")
	s = strings.TrimSuffix(s, " stadt")
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "é", "e",
		"st. ", "sankt ", "st.", "sankt ", "/", " ", "-", " ", "(", " (", ")", ") ")
	s = r.Replace(s)
	var b strings.Builder
	space := false
	for _, c := range s {
		if unicode.IsSpace(c) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(c)
	}
	return strings.ReplaceAll(b.String(), " )", ")")
}

// PlaceBase returns the normalized name without a suffix in parentheses:
// "Zell (Mosel)" → "zell", "Forst (Eifel)" → "forst".
func PlaceBase(s string) string {
	n := NormalizePlace(s)
	if i := strings.Index(n, " ("); i > 0 {
		return n[:i]
	}
	if i := strings.Index(n, "("); i > 0 {
		return strings.TrimSpace(n[:i])
	}
	return n
}

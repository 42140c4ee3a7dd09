package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"amtstresen/app"
)

// ftsDoc is the text a case is found by. It is computed here, not in SQL,
// because it needs the registry (service and municipality names).
type ftsDoc struct {
	ref, applicant, service, place, fields, alt string
}

// newFTSDoc builds the search text of a case. Values only: field names are
// not searchable, and nothing of this is ever logged.
func newFTSDoc(reg *app.Registry, ref string, c *app.Case) ftsDoc {
	d := ftsDoc{ref: ref, applicant: c.Applicant.Name()}
	var alt []string
	// "42" finds "ZEL-2026-00042": clerks hear the number without zeros.
	if i := strings.LastIndexByte(ref, '-'); i >= 0 {
		if n, err := strconv.Atoi(ref[i+1:]); err == nil {
			alt = append(alt, strconv.Itoa(n))
		}
	}
	d.service = c.Service
	if s := reg.Catalog.Service(c.Service); s != nil {
		d.service += " " + s.Name
	}
	var place []string
	if m := reg.Municipality(c.Municipality); m != nil {
		place = append(place, m.Name)
	}
	place = append(place, c.Applicant.Address.Line())
	d.place = strings.Join(place, " ")
	var vals []string
	flattenJSON(c.Fields, func(s string) {
		vals = append(vals, s)
		if m := reg.Municipality(s); m != nil {
			vals = append(vals, m.Name)
		}
	})
	d.fields = strings.Join(vals, " ")
	for _, s := range []string{d.applicant, d.service, d.place, d.fields} {
		alt = append(alt, germanSpellings(s)...)
	}
	d.alt = strings.Join(alt, " ")
	// Composed forms: "ö" typed on one keyboard equals "ö" from another.
	for _, p := range []*string{&d.ref, &d.applicant, &d.service, &d.place, &d.fields, &d.alt} {
		*p = norm.NFC.String(*p)
	}
	return d
}

// flattenJSON calls fn for every string and number value in b.
func flattenJSON(b []byte, fn func(string)) {
	if len(b) == 0 {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if x = strings.TrimSpace(x); x != "" {
				fn(x)
			}
		case json.Number:
			fn(x.String())
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

var umlautSpelling = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "ß", "ss", "ẞ", "SS")

// germanSpellings returns the words of s that contain umlauts or ß in the
// spelling without them ("Zöller" → "Zoeller", "Straße" → "Strasse").
// unicode61 already folds "Zöller" to "zoller"; this adds the other common
// way of typing it.
func germanSpellings(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(norm.NFC.String(s), notTokenRune) {
		if r := umlautSpelling.Replace(w); r != w {
			out = append(out, r)
		}
	}
	return out
}

// notTokenRune reports the separators of the unicode61 tokenizer: anything
// but letters, numbers and private-use characters.
func notTokenRune(r rune) bool {
	return !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r))
}

// matchQuery turns what a clerk typed into an FTS5 query that matches
// cases containing every word, each as a prefix (search as you type).
// Each word is a quoted string, so FTS5 syntax in the input (quotes, *,
// OR, NEAR, parentheses, column filters) is plain text. The result is ""
// when the input has no words.
func matchQuery(q string) string {
	words := strings.FieldsFunc(norm.NFC.String(q), notTokenRune)
	var b strings.Builder
	for _, w := range words {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		// Words hold no quotes (they are separators), but be strict.
		b.WriteString(`"` + strings.ReplaceAll(w, `"`, `""`) + `"*`)
	}
	return b.String()
}

// insertFTS writes the search row of a case.
func insertFTS(ctx context.Context, q queryer, id int64, d ftsDoc) error {
	_, err := q.ExecContext(ctx, `INSERT INTO cases_fts (rowid, ref, applicant, service, place, fields, alt) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, d.ref, d.applicant, d.service, d.place, d.fields, d.alt)
	if err != nil {
		return fmt.Errorf("index case: %w", err)
	}
	return nil
}

// Package casetext holds what both store adapters derive from a case the
// same way, so that SQLite and PostgreSQL find and name things alike: the
// search text of a case, the safe file name of an attachment, the cleaned
// list of flags and the content hashes of files.
package casetext

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"amtstresen/app"
)

// Doc is the text a case is found by, in the columns of SQLite's search
// table. It is computed in Go, not in SQL, because it needs the registry
// (service and municipality names).
type Doc struct {
	Ref, Applicant, Service, Place, Fields, Alt string
}

// Text is the whole search text, the columns one after the other (the
// PostgreSQL adapter indexes it as one document; a word may be in any
// column either way).
func (d Doc) Text() string {
	return strings.Join([]string{d.Ref, d.Applicant, d.Service, d.Place, d.Fields, d.Alt}, " ")
}

// NewDoc builds the search text of a case. Values only: field names are
// not searchable, and nothing of this is ever logged.
func NewDoc(reg *app.Registry, ref string, c *app.Case) Doc {
	return NewBody(reg, c).WithRef(ref)
}

// Body is the search text of a case without its reference: all of the
// work of NewDoc, which a sync does for a batch's cases on all cores
// before their references are drawn (WithRef adds the reference).
type Body struct {
	doc Doc  // Ref and the number in Alt left out
	alt bool // there are spellings in doc.Alt (after the number)
}

// NewBody builds the search text of c without its reference.
func NewBody(reg *app.Registry, c *app.Case) Body {
	d := Doc{Applicant: c.Applicant.Name()}
	d.Service = c.Service
	if s := reg.Catalog.Service(c.Service); s != nil {
		d.Service += " " + s.Name
	}
	var place []string
	if m := reg.Municipality(c.Municipality); m != nil {
		place = append(place, m.Name)
	}
	place = append(place, c.Applicant.Address.Line())
	d.Place = strings.Join(place, " ")
	var vals []string
	flattenJSON(c.Fields, func(s string) {
		vals = append(vals, s)
		if m := reg.Municipality(s); m != nil {
			vals = append(vals, m.Name)
		}
	})
	d.Fields = strings.Join(vals, " ")
	var alt []string
	for _, s := range []string{d.Applicant, d.Service, d.Place, d.Fields} {
		alt = append(alt, GermanSpellings(s)...)
	}
	d.Alt = strings.Join(alt, " ")
	// Composed forms: "ö" typed on one keyboard equals "ö" from another.
	for _, p := range []*string{&d.Applicant, &d.Service, &d.Place, &d.Fields, &d.Alt} {
		*p = norm.NFC.String(*p)
	}
	return Body{doc: d, alt: len(alt) > 0}
}

// WithRef is the search text of the case with the reference ref.
func (b Body) WithRef(ref string) Doc {
	d := b.doc
	d.Ref = norm.NFC.String(ref)
	// "42" finds "ZEL-2026-00042": clerks hear the number without zeros.
	// It comes first among the other spellings (a space between them:
	// NFC does not join across it).
	if i := strings.LastIndexByte(ref, '-'); i >= 0 {
		if n, err := strconv.Atoi(ref[i+1:]); err == nil {
			num := strconv.Itoa(n)
			if b.alt {
				num += " " + d.Alt
			}
			d.Alt = num
		}
	}
	return d
}

// flattenJSON calls fn for every string and number value in b.
func flattenJSON(b []byte, fn func(string)) {
	if len(b) == 0 {
		return
	}
	// In the document's order (a map would give another order each
	// time, and with it another search text for the same case), and
	// nothing when the first value is not valid JSON.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	const (
		inArray = iota
		wantKey
		wantValue
	)
	var stack []int
	var vals []string
	done := func() {
		if n := len(stack); n > 0 && stack[n-1] == wantValue {
			stack[n-1] = wantKey
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, wantKey)
				continue
			case '[':
				stack = append(stack, inArray)
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if n := len(stack); n > 0 && stack[n-1] == wantKey {
				stack[n-1] = wantValue
				continue
			}
			if t = strings.TrimSpace(t); t != "" {
				vals = append(vals, t)
			}
		case json.Number:
			vals = append(vals, t.String())
		}
		done()
		if len(stack) == 0 {
			break
		}
	}
	for _, v := range vals {
		fn(v)
	}
}

var umlautSpelling = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "ß", "ss", "ẞ", "SS")

// GermanSpellings returns the words of s that contain umlauts or ß in the
// spelling without them ("Zöller" → "Zoeller", "Straße" → "Strasse").
// The search folds "Zöller" to "zoller" already; this adds the other
// common way of typing it.
func GermanSpellings(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(norm.NFC.String(s), Separator) {
		if r := umlautSpelling.Replace(w); r != w {
			out = append(out, r)
		}
	}
	return out
}

// Separator reports the separators of SQLite's unicode61 tokenizer:
// anything but letters, numbers and private-use characters.
func Separator(r rune) bool {
	return !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r))
}

// SafeName keeps the last element of a sender's file name, without
// control characters; never a path.
func SafeName(s string) string {
	s = path.Base(strings.ReplaceAll(s, `\`, "/"))
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if s = strings.TrimSpace(s); s == "" || s == "." || s == "/" || s == ".." {
		return "Anlage"
	}
	return s
}

// Flags returns the flags as stored: trimmed, without empty ones, without
// duplicates and without commas (SQLite keeps them as ",a,b,"), in the
// order given.
func Flags(fs []app.Flag) []app.Flag {
	var out []app.Flag
	seen := map[app.Flag]bool{}
	for _, f := range fs {
		f = app.Flag(strings.TrimSpace(string(f)))
		if f == "" || seen[f] || strings.Contains(string(f), ",") {
			continue
		}
		seen[f] = true
		out = append(out, f)
	}
	return out
}

// Sums are the SHA-256 (hex) of the files' data, "" for a file without
// data.
func Sums(files []app.NewAttachment) []string {
	sums := make([]string, len(files))
	for i, f := range files {
		if f.Data != nil {
			sum := sha256.Sum256(f.Data)
			sums[i] = hex.EncodeToString(sum[:])
		}
	}
	return sums
}

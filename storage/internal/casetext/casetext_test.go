package casetext

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"amtstresen/app"
)

// oldNewDoc is NewDoc as it was before it was split into NewBody and
// WithRef: the oracle the split must equal.
func oldNewDoc(reg *app.Registry, ref string, c *app.Case) Doc {
	d := Doc{Ref: ref, Applicant: c.Applicant.Name()}
	var alt []string
	// "42" finds "ZEL-2026-00042": clerks hear the number without zeros.
	if i := strings.LastIndexByte(ref, '-'); i >= 0 {
		if n, err := strconv.Atoi(ref[i+1:]); err == nil {
			alt = append(alt, strconv.Itoa(n))
		}
	}
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
	for _, s := range []string{d.Applicant, d.Service, d.Place, d.Fields} {
		alt = append(alt, GermanSpellings(s)...)
	}
	d.Alt = strings.Join(alt, " ")
	// Composed forms: "ö" typed on one keyboard equals "ö" from another.
	for _, p := range []*string{&d.Ref, &d.Applicant, &d.Service, &d.Place, &d.Fields, &d.Alt} {
		*p = norm.NFC.String(*p)
	}
	return d
}

// The search text built in two steps (NewBody on all cores, WithRef when
// the reference is drawn) equals the one built at once, for references
// with and without a number, umlauts in composed and decomposed form,
// fields naming a municipality, and a case with nothing to spell.
func TestBodyWithRefIsNewDoc(t *testing.T) {
	reg := app.Default()
	var cases []*app.Case
	for i, name := range [][2]string{{"Jürgen", "Müller"}, {norm.NFD.String("Jörg"), norm.NFD.String("Öztürk-Weiß")}, {"", ""}, {"Anna", "Schmidt"}} {
		c := &app.Case{Service: []string{"hund-anmelden", "sperrmuell", "", "unbekannt"}[i], Municipality: "", Fields: json.RawMessage(`{}`)}
		c.Applicant.FirstName, c.Applicant.LastName = name[0], name[1]
		if i%2 == 0 {
			c.Applicant.Address.Street, c.Applicant.Address.Place = "Moselstraße 4", "Zell (Mosel)"
			c.Fields = json.RawMessage(fmt.Sprintf(`{"ort": %q, "anzahl": %d, "liste": ["Kühlschrank", "Straße"]}`, reg.Municipalities[i].Name, i))
			c.Municipality = reg.Municipalities[i].AGS
		}
		cases = append(cases, c)
	}
	refs := []string{"ZEL-2026-00042", "COC-2026-00001", "VORL-" + strconv.Itoa(7), "ohne", "", "ULM-2026-x"}
	n := 0
	for _, c := range cases {
		for _, ref := range refs {
			got, want := NewBody(reg, c).WithRef(ref), oldNewDoc(reg, ref, c)
			if got != want {
				t.Errorf("%q %+v:\n got %+v\nwant %+v", ref, c.Applicant, got, want)
			}
			// A number and spellings after it ("42 Moselstrasse …").
			if strings.HasPrefix(want.Alt, "42 ") && strings.Contains(want.Alt, "strasse") {
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no case had a number and other spellings: the test compares too little")
	}
}

// flattenJSON gives the values in the document's order, never the keys,
// and nothing for a document that is not JSON.
func TestFlattenJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"z": "letzter Schlüssel zuerst", "a": {"b": [1, "zwei", {"c": " drei "}], "d": true, "e": null}, "f": 4.5}`: "letzter Schlüssel zuerst|1|zwei|drei|4.5",
		`["x", ["y"], {}, []]`:  "x|y",
		`{"a": "b"} {"c": "d"}`: "b",
		`{"a": "b", "c": `:      "",
		`nicht JSON`:            "",
	} {
		var got []string
		flattenJSON([]byte(in), func(s string) { got = append(got, s) })
		if strings.Join(got, "|") != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

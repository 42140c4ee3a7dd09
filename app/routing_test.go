package app

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"
)

// sharedData finds ../shared/data from the repository (tests run in app/).
func readReferenceCSV(t *testing.T) [][]string {
	t.Helper()
	// The embedded copy must equal the reference data the customer gave us.
	b, err := os.ReadFile("../assets/data/gemeinden.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

var vgOffice = map[string]OfficeKey{"Cochem": OfficeCochem, "Kaisersesch": OfficeKaisersesch, "Ulmen": OfficeUlmen, "Zell (Mosel)": OfficeZell}

func TestRegistryLoadsAll89(t *testing.T) {
	r := Default()
	if got := len(r.Municipalities); got != 89 {
		t.Fatalf("municipalities: got %d, want 89", got)
	}
	count := map[OfficeKey]int{}
	for _, m := range r.Municipalities {
		count[m.Office]++
	}
	want := map[OfficeKey]int{OfficeCochem: 23, OfficeKaisersesch: 26, OfficeUlmen: 16, OfficeZell: 24}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: got %d municipalities, want %d", k, count[k], n)
		}
	}
	if len(r.Offices) != 5 {
		t.Fatalf("offices: got %d, want 5", len(r.Offices))
	}
	if o := r.Office(OfficeZell); o == nil || o.Street != "Schloßstraße 69" || o.Postcode != "56856" {
		t.Errorf("vg-zell address wrong: %+v", o)
	}
	if o := r.Office(OfficeKreis); o == nil || o.AddressLine() != "Endertplatz 2, 56812 Cochem" {
		t.Errorf("kreis address wrong: %+v", o)
	}
}

// Every one of the 89 municipalities routes a vg service to its VG, by AGS
// and — without AGS — by name plus postcode, with the reason naming both.
func TestRouteAll89Municipalities(t *testing.T) {
	r := Default()
	rows := readReferenceCSV(t)
	if len(rows) != 89 {
		t.Fatalf("reference rows: %d", len(rows))
	}
	for _, row := range rows {
		ags, name, vg, plz := row[0], row[1], row[2], strings.Split(row[3], ";")[0]
		want := vgOffice[vg]
		for _, tc := range []struct {
			how string
			a   Address
		}{
			{"ags", Address{AGS: ags}},
			{"name+plz", Address{Place: name, Postcode: plz}},
			{"name only", Address{Place: name}},
			{"ags+name+plz", Address{AGS: ags, Place: name, Postcode: plz}},
		} {
			d := r.Route(RouteInput{Service: "hund-anmelden", Applicant: Applicant{Address: tc.a}})
			if !d.Decided || d.Office != want {
				t.Errorf("%s (%s) by %s: got %q decided=%v (%s), want %s", name, ags, tc.how, d.Office, d.Decided, d.Reason, want)
				continue
			}
			wantReason := "Wohnanschrift liegt in " + name + ", VG " + vg
			if d.Reason != wantReason {
				t.Errorf("%s by %s: reason %q, want %q", name, tc.how, d.Reason, wantReason)
			}
			if d.Municipality != ags {
				t.Errorf("%s by %s: municipality %q, want %q", name, tc.how, d.Municipality, ags)
			}
		}
	}
}

func TestRouteAmbiguousAndUnknown(t *testing.T) {
	r := Default()
	tests := []struct {
		name        string
		svc         string
		a           Address
		fields      map[string]any
		wantOffice  OfficeKey
		wantDecided bool
		wantFlag    Flag
		reasonHas   string
	}{
		{"56814 alone spans two VGs", "hund-anmelden", Address{Postcode: "56814"}, nil, "", false, FlagRoutingUnclear, "VG Kaisersesch"},
		{"56829 alone spans two VGs", "hund-anmelden", Address{Postcode: "56829"}, nil, "", false, FlagRoutingUnclear, "Brieden, Kail in der VG Kaisersesch"},
		{"56814 Landkern is Kaisersesch", "hund-anmelden", Address{Postcode: "56814", Place: "Landkern"}, nil, OfficeKaisersesch, true, "", "Landkern, VG Kaisersesch"},
		{"56814 Bremm is Cochem", "hund-anmelden", Address{Postcode: "56814", Place: "Bremm"}, nil, OfficeCochem, true, "", "Bremm, VG Cochem"},
		{"56829 Pommern is Cochem", "hund-anmelden", Address{Postcode: "56829", Place: "Pommern"}, nil, OfficeCochem, true, "", "VG Cochem"},
		{"56829 Kail is Kaisersesch", "hund-anmelden", Address{Postcode: "56829", Place: "Kail"}, nil, OfficeKaisersesch, true, "", "VG Kaisersesch"},
		{"56290 Lieg is in the Kreis", "hund-anmelden", Address{Postcode: "56290", Place: "Lieg"}, nil, OfficeCochem, true, "", "Lieg, VG Cochem"},
		{"56290 other place crosses border", "hund-anmelden", Address{Postcode: "56290", Place: "Beltheim"}, nil, "", false, FlagRoutingUnclear, "keine Ortsgemeinde"},
		{"56290 alone", "hund-anmelden", Address{Postcode: "56290"}, nil, "", false, FlagRoutingUnclear, "Lieg"},
		{"56290 with AGS outside Kreis", "hund-anmelden", Address{Postcode: "56290", Place: "Beltheim", AGS: "07140010"}, nil, "", false, FlagOutsideDistrict, "außerhalb"},
		{"Zell without suffix", "hund-anmelden", Address{Place: "Zell", Postcode: "56856"}, nil, OfficeZell, true, "", "Zell (Mosel), VG Zell (Mosel)"},
		{"Zell, Mosel spelled differently", "hund-anmelden", Address{Place: "zell (mosel)"}, nil, OfficeZell, true, "", "VG Zell"},
		{"Forst alone is ambiguous", "hund-anmelden", Address{Place: "Forst"}, nil, "", false, FlagRoutingUnclear, "mehrdeutig"},
		{"Forst with Eifel postcode", "hund-anmelden", Address{Place: "Forst", Postcode: "56754"}, nil, OfficeKaisersesch, true, "", "Forst (Eifel)"},
		{"Forst (Hunsrück)", "hund-anmelden", Address{Place: "Forst (Hunsrück)"}, nil, OfficeZell, true, "", "VG Zell"},
		{"Forst (Hunsrueck) transliterated", "hund-anmelden", Address{Place: "Forst (Hunsrueck)"}, nil, OfficeZell, true, "", "VG Zell"},
		{"Müden without suffix", "hund-anmelden", Address{Place: "Mueden", Postcode: "56254"}, nil, OfficeCochem, true, "", "Müden (Mosel)"},
		{"Sankt Aldegund as St. Aldegund", "hund-anmelden", Address{Place: "St. Aldegund"}, nil, OfficeZell, true, "", "Sankt Aldegund"},
		{"Treis Karden without hyphen", "hund-anmelden", Address{Place: "Treis Karden", Postcode: "56253"}, nil, OfficeCochem, true, "", "Treis-Karden"},
		{"Cochem, Stadt", "hund-anmelden", Address{Place: "Cochem, Stadt"}, nil, OfficeCochem, true, "", "Cochem, VG Cochem"},
		{"place and postcode disagree", "hund-anmelden", Address{Place: "Landkern", Postcode: "56856"}, nil, "", false, FlagRoutingUnclear, "passt nicht"},
		{"Ortsteil is not a municipality", "hund-anmelden", Address{Place: "Karden", Postcode: "56253"}, nil, "", false, FlagRoutingUnclear, "Treis-Karden"},
		{"outside by postcode", "hund-anmelden", Address{Place: "Koblenz", Postcode: "56068"}, nil, "", false, FlagOutsideDistrict, "außerhalb"},
		{"outside by AGS", "hund-anmelden", Address{Place: "Koblenz", Postcode: "56068", AGS: "07111000"}, nil, "", false, FlagOutsideDistrict, "außerhalb"},
		{"unknown AGS in Kreis falls back on place", "hund-anmelden", Address{AGS: "07135999", Place: "Ulmen", Postcode: "56766"}, nil, OfficeUlmen, true, "", "Ulmen, VG Ulmen"},
		{"unknown AGS alone", "hund-anmelden", Address{AGS: "07135999"}, nil, "", false, FlagRoutingUnclear, "07135999"},
		{"no address", "hund-anmelden", Address{}, nil, "", false, FlagRoutingUnclear, "fehlt"},
		{"invalid postcode", "hund-anmelden", Address{Postcode: "5681", Place: "Irgendwo"}, nil, "", false, FlagRoutingUnclear, "ungültig"},
		{"Sperrmüll is Kreis", "sperrmuell", Address{Place: "Koblenz", Postcode: "56068"},
			map[string]any{"abholanschrift": map[string]any{"strasse": "Hauptstr. 1", "plz": "56818", "ort": "Büchel", "gemeindeschluessel": "07135018"}},
			OfficeKreis, true, "", "Sperrmüll ist Aufgabe des Kreises"},
		{"Sperrmüll outside is flagged", "sperrmuell", Address{},
			map[string]any{"abholanschrift": map[string]any{"strasse": "Hauptstr. 1", "plz": "56068", "ort": "Koblenz"}},
			OfficeKreis, true, FlagOutsideDistrict, "außerhalb"},
		{"Eigentümerwechsel: property decides, not the Koblenz applicant", "eigentuemerwechsel", Address{Place: "Koblenz", Postcode: "56068", AGS: "07111000"},
			map[string]any{"grundstueck": map[string]any{"gemeindeschluessel": "07135051", "gemarkung": "Landkern"}},
			OfficeKaisersesch, true, "", "Grundstück liegt in Landkern, VG Kaisersesch"},
		{"Eigentümerwechsel without property AGS", "eigentuemerwechsel", Address{Place: "Cochem", Postcode: "56812"},
			map[string]any{"grundstueck": map[string]any{"gemarkung": "Landkern"}},
			"", false, FlagRoutingUnclear, "Grundstück"},
		{"Plakatierung: first municipality", "plakatierung", Address{Place: "Koblenz", Postcode: "56068"},
			map[string]any{"gemeinden": []any{"07135092", "07135018"}},
			OfficeZell, true, "", "Plakatierung liegt in Zell (Mosel)"},
		{"Raum: facility decides", "raum-mieten", Address{Place: "Cochem", Postcode: "56812"},
			map[string]any{"gemeindeschluessel": "07135005"},
			OfficeUlmen, true, "", "Einrichtung liegt in Auderath, VG Ulmen"},
		{"appointment-only vg service uses booked office", "buergerbuero", Address{}, nil, OfficeUlmen, true, "", "VG Ulmen"},
		{"Kfz is Kreis", "kfz-zulassung", Address{}, nil, OfficeKreis, true, "", "Kfz-Zulassung ist Aufgabe des Kreises"},
		{"unknown service", "hund-kaufen", Address{Place: "Ulmen"}, nil, "", false, FlagServiceUnknown, "nicht im Leistungskatalog"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := RouteInput{Service: tc.svc, Applicant: Applicant{Address: tc.a}, Fields: tc.fields}
			if tc.svc == "buergerbuero" {
				in.Office = OfficeUlmen
			}
			d := r.Route(in)
			if d.Office != tc.wantOffice || d.Decided != tc.wantDecided {
				t.Fatalf("got office %q decided=%v (%s), want %q decided=%v", d.Office, d.Decided, d.Reason, tc.wantOffice, tc.wantDecided)
			}
			if !d.Decided && d.Office != "" {
				t.Fatalf("undecided decision names an office: %q", d.Office)
			}
			if tc.wantFlag != "" && !hasFlag(d.Flags, tc.wantFlag) {
				t.Errorf("flags %v, want %s", d.Flags, tc.wantFlag)
			}
			if tc.wantFlag == "" && len(d.Flags) > 0 {
				t.Errorf("unexpected flags %v", d.Flags)
			}
			if !strings.Contains(d.Reason, tc.reasonHas) {
				t.Errorf("reason %q does not contain %q", d.Reason, tc.reasonHas)
			}
		})
	}
}

func hasFlag(fs []Flag, f Flag) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// Issue 13, point 19: the postcode's places are named without doubled
// brackets ("Zell (Mosel) (VG Zell (Mosel))" before).
func TestPostcodePlacesReadable(t *testing.T) {
	reg := Default()
	_, _, why := reg.ResolvePlace("", "56856", "Irgendwo")
	if !strings.Contains(why, "zur Postleitzahl 56856 gehört im Kreis Zell (Mosel) in der VG Zell (Mosel)") || strings.Contains(why, ") (") {
		t.Errorf("reason = %q", why)
	}
	_, _, why = reg.ResolvePlace("", "56814", "")
	if !strings.Contains(why, "gehören im Kreis") || !strings.Contains(why, " sowie ") || strings.Contains(why, ") (") {
		t.Errorf("reason = %q", why)
	}
}

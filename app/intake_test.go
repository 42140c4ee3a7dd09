package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var intakeNow = time.Date(2026, 11, 27, 10, 0, 0, 0, Berlin)

func dogInput() IntakeInput {
	return IntakeInput{
		Service: "hund-anmelden", Salutation: "Frau", FirstName: "Anna", LastName: "Muster",
		BirthDate: "14.03.1985", Street: "Moselstraße", HouseNumber: "12a", Postcode: "56253", Place: "Treis-Karden",
		Fields: map[string]string{
			"hund.name": "Bello", "hund.rasse": "Dackel", "hund.chipnummer": "276098106543210",
			"haltungsbeginn": "01.11.2026", "gefaehrlich": "nein", "weitereHunde": "0",
		},
	}
}

func TestIntakeDog(t *testing.T) {
	reg := Default()
	it := reg.Intake(dogInput(), intakeNow)
	if !it.OK() {
		t.Fatalf("errors: %v", it.Errors)
	}
	if got, want := it.Applicant.Address.AGS, "07135082"; got != want {
		t.Errorf("AGS = %q, want %q", got, want)
	}
	if got, want := it.Applicant.BirthDate, "1985-03-14"; got != want {
		t.Errorf("birth date = %q, want %q", got, want)
	}
	if got, want := it.Decision.Office, OfficeCochem; got != want || !it.Decision.Decided {
		t.Errorf("office = %q (decided %v), want %q", got, it.Decision.Decided, want)
	}
	if !strings.Contains(it.Decision.Reason, "Treis-Karden") {
		t.Errorf("reason %q does not name the municipality", it.Decision.Reason)
	}
	nc, err := it.NewCase("k1", "mm", intakeNow)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(nc.Fields, &f); err != nil {
		t.Fatal(err)
	}
	if got := f["haltungsbeginn"]; got != "2026-11-01" {
		t.Errorf("haltungsbeginn = %v", got)
	}
	if got := f["hund"].(map[string]any)["chipnummer"]; got != "276098106543210" {
		t.Errorf("chip = %v", got)
	}
	if got := f["gefaehrlich"]; got != false {
		t.Errorf("gefaehrlich = %v", got)
	}
	if nc.Channel != ChannelCounter || nc.IdempotencyKey != "k1" || nc.Clerk != "mm" {
		t.Errorf("case meta: %+v", nc)
	}
}

func TestIntakeErrors(t *testing.T) {
	reg := Default()
	tests := []struct {
		name   string
		change func(*IntakeInput)
		path   string
		want   string
	}{
		{"no service", func(in *IntakeInput) { in.Service = "" }, PathService, "Bitte eine Leistung wählen."},
		{"appointment only", func(in *IntakeInput) { in.Service = "kfz-zulassung" }, PathService, "nur Termine"},
		{"no last name", func(in *IntakeInput) { in.LastName = " " }, PathLastName, "Bitte ausfüllen."},
		{"short postcode", func(in *IntakeInput) { in.Postcode = "5625" }, PathPostcode, "fünf Ziffern"},
		{"bad birth date", func(in *IntakeInput) { in.BirthDate = "31.02.1985" }, PathBirthDate, "TT.MM.JJJJ"},
		{"future birth date", func(in *IntakeInput) { in.BirthDate = "01.01.2030" }, PathBirthDate, "Zukunft"},
		{"bad email", func(in *IntakeInput) { in.Email = "anna@" }, PathEmail, "unvollständig"},
		{"short chip", func(in *IntakeInput) { in.Fields["hund.chipnummer"] = "12345" }, "hund.chipnummer", "genau 15 Ziffern"},
		{"missing breed", func(in *IntakeInput) { delete(in.Fields, "hund.rasse") }, "hund.rasse", "Bitte ausfüllen."},
		{"bad date", func(in *IntakeInput) { in.Fields["haltungsbeginn"] = "gestern" }, "haltungsbeginn", "TT.MM.JJJJ"},
		{"not a number", func(in *IntakeInput) { in.Fields["weitereHunde"] = "zwei" }, "weitereHunde", "Zahl"},
		{"too many dogs", func(in *IntakeInput) { in.Fields["weitereHunde"] = "21" }, "weitereHunde", "Höchstens 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := dogInput()
			tt.change(&in)
			it := reg.Intake(in, intakeNow)
			if got := it.ErrorsFor(tt.path); !strings.Contains(got, tt.want) {
				t.Errorf("ErrorsFor(%s) = %q, want it to contain %q (all: %v)", tt.path, got, tt.want, it.Errors)
			}
			if _, err := it.NewCase("k", "mm", intakeNow); ErrorCode(err) != EINVALID {
				t.Errorf("NewCase error = %v, want EINVALID", err)
			}
		})
	}
}

func TestIntakeRouting(t *testing.T) {
	reg := Default()
	tests := []struct {
		name    string
		change  func(*IntakeInput)
		office  OfficeKey
		decided bool
		reason  string
	}{
		{"ambiguous postcode needs the place", func(in *IntakeInput) { in.Postcode, in.Place = "56814", "" }, "", false, "Ort fehlt"},
		{"56814 with Landkern", func(in *IntakeInput) { in.Postcode, in.Place = "56814", "Landkern" }, OfficeKaisersesch, true, "Landkern"},
		{"56814 with Bremm", func(in *IntakeInput) { in.Postcode, in.Place = "56814", "Bremm" }, OfficeCochem, true, "Bremm"},
		{"picked AGS that does not fit is ignored", func(in *IntakeInput) { in.AGS = "07135092" }, OfficeCochem, true, "Treis-Karden"},
		{"outside the Kreis", func(in *IntakeInput) { in.Postcode, in.Place = "56068", "Koblenz" }, "", false, "außerhalb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := dogInput()
			tt.change(&in)
			it := reg.Intake(in, intakeNow)
			d := it.Decision
			if d.Office != tt.office || d.Decided != tt.decided || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("decision = %+v, want office %q decided %v reason ~%q", d, tt.office, tt.decided, tt.reason)
			}
		})
	}
}

func TestIntakeFieldTypes(t *testing.T) {
	reg := Default()
	in := dogInput()
	in.Service = "sperrmuell"
	in.Fields = map[string]string{
		"abholanschrift.strasse": "Marktstraße", "abholanschrift.hausnummer": "3",
		"abholanschrift.plz": "56856", "abholanschrift.ort": "Zell",
		"gegenstaende":      "2 Sessel\n1x Schrank\nTeppich",
		"volumenKubikmeter": "2,5",
	}
	it := reg.Intake(in, intakeNow)
	if !it.OK() {
		t.Fatalf("errors: %v", it.Errors)
	}
	addr := it.Angaben["abholanschrift"].(map[string]any)
	if got, want := addr["gemeindeschluessel"], "07135092"; got != want {
		t.Errorf("pickup AGS = %v, want %v", got, want)
	}
	items := it.Angaben["gegenstaende"].([]any)
	if len(items) != 3 || items[0].(map[string]any)["anzahl"] != 2.0 || items[2].(map[string]any)["bezeichnung"] != "Teppich" {
		t.Errorf("items = %v", items)
	}
	if got := it.Angaben["volumenKubikmeter"]; got != 2.5 {
		t.Errorf("volume = %v", got)
	}
	if it.Decision.Office != OfficeKreis {
		t.Errorf("office = %q", it.Decision.Office)
	}

	in.Service = "elektrogeraete"
	in.Fields = map[string]string{"abholanschrift.strasse": "A", "abholanschrift.plz": "56856", "abholanschrift.ort": "Zell (Mosel)",
		"geraete": "1 Kühlgerät\n2 Fernseher\n1 Toaster"}
	it = reg.Intake(in, intakeNow)
	if got := it.ErrorsFor("geraete"); !strings.Contains(got, "Eintrag 3") || strings.Contains(got, "Eintrag 1") {
		t.Errorf("geraete errors = %q", got)
	}
	if got := it.Angaben["geraete"].([]any)[0].(map[string]any)["art"]; got != "kuehlgeraet" {
		t.Errorf("art = %v", got)
	}

	in.Service = "plakatierung"
	in.Fields = map[string]string{"veranstaltung.titel": "Weinfest", "veranstaltung.datum": "05.12.2026", "veranstaltung.ort": "Briedel",
		"veranstalter": "Verein", "anzahlPlakate": "20", "format": "A1", "zeitraum.von": "28.11.2026", "zeitraum.bis": "05.12.2026",
		"gemeinden": "Briedel, Zell (Mosel) (07135092)"}
	it = reg.Intake(in, intakeNow)
	if !it.OK() {
		t.Fatalf("errors: %v", it.Errors)
	}
	if got := it.Angaben["gemeinden"].([]any); len(got) != 2 || got[0] != "07135013" || got[1] != "07135092" {
		t.Errorf("gemeinden = %v", got)
	}
	if it.Decision.Office != OfficeZell {
		t.Errorf("office = %q", it.Decision.Office)
	}

	in.Service = "raum-mieten"
	in.Fields = map[string]string{"einrichtung": "Bürgersaal", "gemeindeschluessel": "Forst", "datum": "12.12.2026",
		"von": "9", "bis": "18.30", "anlass": "Feier", "personen": "40"}
	it = reg.Intake(in, intakeNow)
	if got := it.ErrorsFor("gemeindeschluessel"); !strings.Contains(got, "keine Gemeinde") {
		t.Errorf("ambiguous Forst: %q", got)
	}
	if got := it.Angaben["von"]; got != "09:00" {
		t.Errorf("von = %v", got)
	}
	if got := it.Angaben["bis"]; got != "18:30" {
		t.Errorf("bis = %v", got)
	}
}

func TestDisplayFields(t *testing.T) {
	reg := Default()
	raw := json.RawMessage(`{"hund":{"name":"Bello","chipnummer":"276098106543210","neu":"x"},"haltungsbeginn":"2026-11-01","gefaehrlich":true,"extra":{"a":[1,2]}}`)
	got := reg.DisplayFields("hund-anmelden", raw)
	want := []FieldValue{
		{"hund.name", "Name des Hundes", "Bello", true},
		{"hund.chipnummer", "Chipnummer (15 Ziffern, ISO 11784)", "276098106543210", true},
		{"haltungsbeginn", "Beginn der Haltung", "01.11.2026", true},
		{"gefaehrlich", "Gefährlicher Hund", "ja", true},
		{"extra.a", "extra.a", "[1,2]", false},
		{"hund.neu", "hund.neu", `"x"`, false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// An unknown service shows everything raw.
	if got := reg.DisplayFields("gibt-es-nicht", raw); len(got) != 6 || got[0].Known {
		t.Errorf("unknown service: %v", got)
	}
}

// Issue 13, point 13: a date that does not exist is named as such, not
// taken for a wrong format.
func TestDateThatDoesNotExist(t *testing.T) {
	reg := Default()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, Berlin)
	in := IntakeInput{Service: "hund-anmelden", FirstName: "A", LastName: "B", BirthDate: "31.02.1980", Street: "S", Postcode: "56812", Place: "Cochem",
		Fields: map[string]string{"hund.name": "Bello", "hund.rasse": "Dackel", "hund.chipnummer": "276098106543210", "haltungsbeginn": "31.02.2026"}}
	it := reg.Intake(in, now)
	for _, p := range []string{PathBirthDate, "haltungsbeginn"} {
		if got := it.ErrorsFor(p); !strings.Contains(got, "gibt es nicht") {
			t.Errorf("%s: %q", p, got)
		}
	}
	if got := DateProblem("12.13.2026"); !strings.Contains(got, "Monat 13") {
		t.Errorf("month 13: %q", got)
	}
	if got := DateProblem("morgen"); got != "Bitte ein Datum angeben (TT.MM.JJJJ)." {
		t.Errorf("no date: %q", got)
	}
	// Appliances are named in German.
	in = IntakeInput{Service: "elektrogeraete", FirstName: "A", LastName: "B", Street: "S", Postcode: "56812", Place: "Cochem",
		Fields: map[string]string{"abholanschrift.strasse": "S", "abholanschrift.plz": "56812", "abholanschrift.ort": "Cochem",
			"geraete": "2 kuehlgeraet\n1 sonstiges: Mikrowelle"}}
	it = reg.Intake(in, now)
	if !it.OK() {
		t.Fatalf("errors %v", it.Errors)
	}
	b, _ := json.Marshal(it.Angaben)
	got := ""
	for _, f := range reg.DisplayFields("elektrogeraete", b) {
		if f.Path == "geraete" {
			got = f.Value
		}
	}
	if got != "2 × Kühl- oder Gefriergerät, 1 × sonstiges Gerät: Mikrowelle" {
		t.Errorf("appliances shown as %q", got)
	}
}

// The offices' working days: no weekends, no holidays of Rhineland-Palatinate.
func TestWorkingDays(t *testing.T) {
	for _, c := range []struct {
		day  string
		open bool
	}{{"2026-11-27", true}, {"2026-11-29", false}, {"2026-12-25", false}, {"2026-12-24", true}, {"2026-06-04", false}, {"2026-11-01", false}, {"2026-10-03", false}} {
		d, _ := time.ParseInLocation("2006-01-02", c.day, Berlin)
		if got := IsWorkingDay(d.Add(10 * time.Hour)); got != c.open {
			t.Errorf("%s: working day %v, want %v", c.day, got, c.open)
		}
	}
	sat, _ := time.ParseInLocation("2006-01-02", "2026-11-28", Berlin)
	if got := NextWorkingDay(sat).Format("2006-01-02"); got != "2026-11-30" {
		t.Errorf("next working day after Saturday: %s", got)
	}
}

package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCatalogHasLaunchServices(t *testing.T) {
	c := Default().Catalog
	want := map[string]Level{
		"hund-anmelden": LevelVG, "hund-abmelden": LevelVG, "plakatierung": LevelVG, "eigentuemerwechsel": LevelVG,
		"sperrmuell": LevelKreis, "elektrogeraete": LevelKreis, "raum-mieten": LevelVG,
		"kfz-zulassung": LevelKreis, "fuehrerschein": LevelKreis, "buergerbuero": LevelVG,
	}
	for k, lvl := range want {
		s := c.Service(k)
		if s == nil {
			t.Errorf("service %s missing", k)
			continue
		}
		if s.Level != lvl {
			t.Errorf("%s: level %s, want %s", k, s.Level, lvl)
		}
		if s.AppointmentOnly && len(s.Documents) == 0 {
			t.Errorf("%s: appointment service without documents to bring", k)
		}
		if s.RetentionMonths == 0 && s.RetentionDays == 0 {
			t.Errorf("%s: no retention period", k)
		}
	}
	if len(c.Services) != len(want) {
		t.Errorf("catalog has %d services, want %d", len(c.Services), len(want))
	}
}

func TestValidate(t *testing.T) {
	reg := Default()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, Berlin)
	tests := []struct {
		svc, angaben string
		wantPaths    []string // fields that must be reported
		msgHas       string
	}{
		{"hund-anmelden", `{"hund":{"name":"Luna","rasse":"Labrador","chipnummer":"276098134234785"},"haltungsbeginn":"2026-11-01","gefaehrlich":false,"weitereHunde":0}`, nil, ""},
		{"hund-anmelden", `{"hund":{"name":"Luna","rasse":"Labrador","chipnummer":"27609813423478"},"haltungsbeginn":"2026-11-01"}`, []string{"hund.chipnummer"}, "genau 15 Ziffern"},
		{"hund-anmelden", `{"hund":{"name":"Luna","rasse":"Labrador","chipnummer":"27609813423478X"},"haltungsbeginn":"2026-11-01"}`, []string{"hund.chipnummer"}, "15 Ziffern"},
		{"hund-anmelden", `{"hund":{"rasse":"Labrador","chipnummer":"276098134234785","geburtsdatum":"2027-01-01"},"haltungsbeginn":"01.11.2026","unbekannt":1}`, []string{"hund.name", "hund.geburtsdatum", "haltungsbeginn"}, "Bitte ausfüllen"},
		{"hund-anmelden", `{"hund":{"name":"Luna","rasse":"L","chipnummer":"276098134234785"},"haltungsbeginn":"2026-11-01","weitereHunde":2.5}`, []string{"weitereHunde"}, "ganze Zahl"},
		{"plakatierung", `{"veranstaltung":{"titel":"Weinfest","datum":"2027-08-20","ort":"Bremm"},"veranstalter":"Weinbauverein","anzahlPlakate":40,"format":"A1","zeitraum":{"von":"2027-08-01","bis":"2027-08-21"},"gemeinden":["07135012"]}`, nil, ""},
		{"plakatierung", `{"veranstaltung":{"titel":"Weinfest","datum":"2027-08-20","ort":"Bremm"},"veranstalter":"V","anzahlPlakate":40,"format":"A3","zeitraum":{"von":"2027-08-21","bis":"2027-08-01"},"gemeinden":["07135012","07111000"]}`, []string{"format", "zeitraum.bis", "gemeinden"}, "Darf nicht vor Plakatierung von liegen"},
		{"plakatierung", `{"veranstaltung":{"titel":"W","datum":"2027-08-20","ort":"B"},"veranstalter":"V","anzahlPlakate":40,"format":"A1","zeitraum":{"von":"2027-06-01","bis":"2027-08-21"},"gemeinden":["07135012"]}`, []string{"zeitraum.bis"}, "Höchstens 42 Tage"},
		{"sperrmuell", `{"abholanschrift":{"strasse":"Hauptstraße 1","plz":"56818","ort":"Büchel"},"gegenstaende":[{"bezeichnung":"Schrank","anzahl":1}],"volumenKubikmeter":2.5}`, nil, ""},
		{"sperrmuell", `{"abholanschrift":{"strasse":"","plz":"5681","ort":"Büchel"},"gegenstaende":[{"bezeichnung":"","anzahl":0}],"volumenKubikmeter":7}`, []string{"abholanschrift", "gegenstaende", "volumenKubikmeter"}, "höchstens 5 m³"},
		{"elektrogeraete", `{"abholanschrift":{"strasse":"A 1","plz":"56818","ort":"Büchel"},"geraete":[{"art":"kuehlgeraet","anzahl":1},{"art":"toaster","anzahl":1}]}`, []string{"geraete"}, "toaster"},
		{"raum-mieten", `{"einrichtung":"Bürgersaal","gemeindeschluessel":"07135005","datum":"2026-11-01","von":"18:00","bis":"17:00","anlass":"Geburtstag","personen":80}`, []string{"datum", "bis"}, "Vergangenheit"},
	}
	for i, tc := range tests {
		svc := reg.Catalog.Service(tc.svc)
		errs := svc.Validate(decode(t, tc.angaben), reg, now)
		got := map[string]bool{}
		var all []string
		for _, e := range errs {
			got[e.Path] = true
			all = append(all, e.Error())
		}
		for _, p := range tc.wantPaths {
			if !got[p] {
				t.Errorf("case %d (%s): no error for %s; got %v", i, tc.svc, p, all)
			}
		}
		if len(tc.wantPaths) == 0 && len(errs) > 0 {
			t.Errorf("case %d (%s): unexpected errors %v", i, tc.svc, all)
		}
		if tc.msgHas != "" && !strings.Contains(strings.Join(all, "|"), tc.msgHas) {
			t.Errorf("case %d (%s): messages %v lack %q", i, tc.svc, all, tc.msgHas)
		}
	}
}

func TestCatalogOverride(t *testing.T) {
	dir := t.TempDir()
	override := `{"version":2,"leistungen":[{"schluessel":"hund-anmelden","bezeichnung":"Hund anmelden","ebene":"kreis","unterlagen":[]}]}`
	if err := os.WriteFile(filepath.Join(dir, CatalogFileName), []byte(override), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := LoadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.CatalogSource != filepath.Join(dir, CatalogFileName) || len(r.Catalog.Services) != 1 {
		t.Fatalf("override not used: %s, %d services", r.CatalogSource, len(r.Catalog.Services))
	}
	// The admin moved dog tax to the Kreis: routing follows the data.
	if d := r.Route(RouteInput{Service: "hund-anmelden"}); d.Office != OfficeKreis {
		t.Errorf("routing ignores override: %+v", d)
	}
	for _, bad := range []string{
		`{"leistungen":[{"schluessel":"x","bezeichnung":"X","ebene":"land","unterlagen":[]}]}`,
		`{"leistungen":[{"schluessel":"x","bezeichnung":"X","ebene":"vg","unterlagen":[]}]}`,
		`{"leistungen":[{"schluessel":"x","bezeichnung":"X","ebene":"kreis","unterlagen":[],"felder":[{"feld":"a","typ":"zahl"}]}]}`,
		`{"leistungen":[{"schluessel":"x","bezeichnung":"X","ebene":"kreis","unterlagn":[]}]}`,
		`{"leistungen":[`,
	} {
		os.WriteFile(filepath.Join(dir, CatalogFileName), []byte(bad), 0o600)
		_, err := LoadRegistry(dir)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "Leistungskatalog") {
			t.Errorf("bad catalog %s: got %v", bad, err)
		}
	}
}

func TestStatusTransitions(t *testing.T) {
	allowed := map[[2]Status]bool{
		{StatusReceived, StatusInProgress}: true, {StatusReceived, StatusWithdrawn}: true,
		{StatusInProgress, StatusWaiting}: true, {StatusInProgress, StatusDone}: true, {StatusInProgress, StatusRejected}: true, {StatusInProgress, StatusWithdrawn}: true,
		{StatusWaiting, StatusInProgress}: true, {StatusWaiting, StatusDone}: true, {StatusWaiting, StatusRejected}: true, {StatusWaiting, StatusWithdrawn}: true,
	}
	for _, from := range AllStatuses {
		for _, to := range AllStatuses {
			err := CheckTransition(from, to)
			if allowed[[2]Status{from, to}] != (err == nil) {
				t.Errorf("%s → %s: err=%v", from, to, err)
			}
			if err != nil && (ErrorCode(err) != EINVALID || ErrorMessage(err) == "") {
				t.Errorf("%s → %s: error without German message: %v", from, to, err)
			}
		}
	}
}

func TestSupersedes(t *testing.T) {
	req := func(seq int) *Appointment { return &Appointment{Sequence: seq, Status: AppointmentConfirmed} }
	can := func(seq int) *Appointment { return &Appointment{Sequence: seq, Status: AppointmentCancelled} }
	tests := []struct {
		n, s *Appointment
		want bool
	}{
		{req(0), nil, true}, {req(1), req(0), true}, {req(0), req(1), false},
		{can(2), req(1), true}, {req(1), can(2), false}, {req(0), can(0), false}, {can(0), req(0), true},
		{req(0), req(0), false}, {can(1), can(1), false},
	}
	for i, tc := range tests {
		if got := Supersedes(tc.n, tc.s); got != tc.want {
			t.Errorf("%d: got %v want %v", i, got, tc.want)
		}
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	c, err := LoadConfig(p, false)
	if err != nil || c.IMAP.ProcessedMailbox != "Übernommen" || c.IMAP.ReviewMailbox != "Zur Sichtung" || c.Sync.Schedule == "" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	if _, err := LoadConfig(p, true); ErrorCode(err) != ENOTFOUND {
		t.Errorf("explicit missing config: %v", err)
	}
	os.WriteFile(p, []byte("[imap]\naddress = \"mail.example:993\"\npassword = \"geheim\"\n"), 0o600)
	if _, err := LoadConfig(p, true); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "Passwort") {
		t.Errorf("password in config accepted: %v", err)
	}
	os.WriteFile(p, []byte("[imap]\nadress = \"x\"\n"), 0o600)
	if _, err := LoadConfig(p, true); ErrorCode(err) != EINVALID {
		t.Errorf("typo accepted: %v", err)
	}
	os.WriteFile(p, []byte("[imap]\naddress = \"mail.example:993\"\ntls = \"starttls\"\nusername = \"eingang\"\npassword_env = \"PW\"\n[portal]\npublic_key = \"abc\"\n[sync]\nschedule = \"30 1 * * *\"\n"), 0o600)
	c, err = LoadConfig(p, true)
	if err != nil || c.IMAP.TLS != "starttls" || c.Sync.Schedule != "30 1 * * *" || c.IMAP.Mailbox != "INBOX" || c.Path != p {
		t.Errorf("config: %+v %v", c, err)
	}
}

func TestNormalizePlace(t *testing.T) {
	for in, want := range map[string]string{
		"Zell (Mosel)": "zell (mosel)", "  Zell(Mosel) ": "zell (mosel)", "Treis-Karden": "treis karden",
		"St. Aldegund": "sankt aldegund", "Müden (Mosel)": "mueden (mosel)", "Cochem, Stadt": "cochem",
	} {
		if got := NormalizePlace(in); got != want {
			t.Errorf("NormalizePlace(%q) = %q, want %q", in, got, want)
		}
	}
	if got := PlaceBase("Forst (Eifel)"); got != "forst" {
		t.Errorf("PlaceBase: %q", got)
	}
}

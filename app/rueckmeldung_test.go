package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPortalStatusFor(t *testing.T) {
	on, off := true, false
	quiet := &Service{Key: "a"}
	chatty := &Service{Key: "b", Answers: &Answers{InProgress: &on, Received: &off}}
	tests := []struct {
		svc  *Service
		to   Status
		want PortalStatus
		ok   bool
	}{
		{quiet, StatusInProgress, PortalInProgress, false},
		{chatty, StatusInProgress, PortalInProgress, true},
		{quiet, StatusWaiting, PortalDocsMissing, true},
		{quiet, StatusDone, PortalDone, true},
		{quiet, StatusRejected, PortalRejected, true},
		{quiet, StatusWithdrawn, PortalWithdrawn, true},
		{quiet, StatusReceived, "", false},
	}
	for _, tt := range tests {
		got, ok := PortalStatusFor(tt.svc, tt.to)
		if got != tt.want || ok != tt.ok {
			t.Errorf("PortalStatusFor(%s, %s) = %q, %v; want %q, %v", tt.svc.Key, tt.to, got, ok, tt.want, tt.ok)
		}
	}
	if !quiet.SendsReceived() || chatty.SendsReceived() {
		t.Errorf("SendsReceived: default must be on, an explicit false off")
	}
}

func TestAddWorkingDays(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.ParseInLocation("2006-01-02", s, Berlin)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-11-30", 10, "2026-12-14"}, // Monday + two weeks, no holiday
		{"2026-12-04", 1, "2026-12-07"},  // Friday → Monday
		{"2026-12-23", 3, "2026-12-29"},  // 24. counts, 25./26. Christmas and the weekend do not
		{"2026-12-30", 2, "2027-01-04"},  // 31. counts, New Year's Day does not
		{"2026-04-02", 1, "2026-04-07"},  // Good Friday and Easter Monday 2026
		{"2026-06-03", 1, "2026-06-05"},  // Fronleichnam (Corpus Christi) is a holiday in RP
		{"2026-12-07", 0, "2026-12-07"},
	}
	for _, tt := range tests {
		got := AddWorkingDays(day(tt.from).Add(15*time.Hour), tt.n)
		if got.Format("2006-01-02") != tt.want {
			t.Errorf("AddWorkingDays(%s, %d) = %s; want %s", tt.from, tt.n, got.Format("2006-01-02"), tt.want)
		}
	}
}

func TestStatusTextsEmbedded(t *testing.T) {
	reg := Default()
	texts := reg.StatusTexts
	if texts == nil || reg.StatusTextsSource != "eingebaut" {
		t.Fatalf("embedded status texts not loaded: %v %q", texts, reg.StatusTextsSource)
	}
	v := TextValues{
		Applicant: Applicant{Salutation: "Frau", FirstName: "Anna", LastName: "Muster"},
		Ref:       "COC-2026-00017", Service: "Hund anmelden (Hundesteuer)",
		Office:    "Verbandsgemeindeverwaltung Cochem",
		Received:  time.Date(2026, 11, 27, 17, 4, 0, 0, time.UTC),
		Documents: []string{"Impfpass", "Sachkundenachweis"},
		Deadline:  time.Date(2026, 12, 14, 0, 0, 0, 0, Berlin),
	}
	got := texts.Render("hund-anmelden", PortalDocsMissing, v)
	for _, want := range []string{"Sehr geehrte Frau Muster,", "COC-2026-00017", "– Impfpass\n– Sachkundenachweis", "bis zum 14.12.2026", "Verbandsgemeindeverwaltung Cochem"} {
		if !strings.Contains(got, want) {
			t.Errorf("unterlagen_fehlen text lacks %q:\n%s", want, got)
		}
	}
	if strings.ContainsAny(got, "{}") {
		t.Errorf("placeholder left in the text:\n%s", got)
	}
	// Every status has a text, and every text fills without leftovers.
	for _, st := range PortalStatuses {
		for _, svc := range reg.Catalog.Services {
			if s := texts.Render(svc.Key, st, v); strings.ContainsAny(s, "{}") || strings.TrimSpace(s) == "" {
				t.Errorf("%s/%s: %q", svc.Key, st, s)
			}
		}
	}
	// A service's own text replaces the general one.
	if a, b := texts.Render("sperrmuell", PortalDone, v), texts.Render("hund-anmelden", PortalDone, v); a == b || !strings.Contains(a, "Abholtermin") {
		t.Errorf("sperrmuell has no text of its own for abgeschlossen:\n%s", a)
	}
	if got := texts.RenderFree(v); !strings.HasPrefix(got, "Sehr geehrte Frau Muster,") {
		t.Errorf("free message starts %q", got)
	}
}

func TestGreeting(t *testing.T) {
	tests := []struct {
		a    Applicant
		want string
	}{
		{Applicant{Salutation: "Herr", FirstName: "Felix", LastName: "Hofmann"}, "Sehr geehrter Herr Hofmann,"},
		{Applicant{Salutation: "Frau", LastName: "Weißmüller"}, "Sehr geehrte Frau Weißmüller,"},
		{Applicant{Salutation: "divers", FirstName: "Alex", LastName: "Muster"}, "Guten Tag Alex Muster,"},
		{Applicant{}, "Guten Tag,"},
	}
	for _, tt := range tests {
		if got := tt.a.Greeting(); got != tt.want {
			t.Errorf("Greeting(%+v) = %q; want %q", tt.a, got, tt.want)
		}
	}
}

func TestStatusTextsRefused(t *testing.T) {
	cat := Default().Catalog
	base := func(extra string) string {
		return `{"version":1,"texte":{"eingegangen":"a","in_bearbeitung":"b","unterlagen_fehlen":"c {unterlagen}","weitergeleitet":"d","abgeschlossen":"e","abgelehnt":"f","zurueckgenommen":"g"},"nachricht":"h"` + extra + `}`
	}
	if _, err := ParseStatusTexts([]byte(base("")), cat); err != nil {
		t.Fatalf("minimal texts refused: %v", err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"unknown placeholder", strings.Replace(base(""), `"b"`, `"b {Aktenzeichen}"`, 1), "unbekannter Platzhalter {Aktenzeichen}"},
		{"missing status", strings.Replace(base(""), `"abgelehnt":"f",`, ``, 1), "texte.abgelehnt: der Text ist leer"},
		{"unknown status", strings.Replace(base(""), `"abgelehnt"`, `"abgelehnt":"x","genehmigt"`, 1), `unbekannter Status "genehmigt"`},
		{"unknown service", base(`,"leistungen":{"hundesteuer":{"abgeschlossen":"x"}}`), `"hundesteuer" steht nicht im Leistungskatalog`},
		{"typo in a key", base(`,"leistung":{}`), `unknown field "leistung"`},
	}
	for _, tt := range tests {
		_, err := ParseStatusTexts([]byte(tt.in), cat)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v; want it to say %q", tt.name, err, tt.want)
		}
	}
}

func TestStatusTextsOverride(t *testing.T) {
	dir := t.TempDir()
	embedded := Default().StatusTexts
	b, err := os.ReadFile(filepath.Join("..", "assets", "data", StatusTextsFileName))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), "ist erledigt.", "ist erledigt. Vielen Dank für Ihre Geduld.", 1)
	p := filepath.Join(dir, StatusTextsFileName)
	if err := os.WriteFile(p, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := LoadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	if reg.StatusTextsSource != p || !strings.Contains(reg.StatusTexts.Template("hund-anmelden", PortalDone), "Vielen Dank") {
		t.Errorf("override not used: source %q", reg.StatusTextsSource)
	}
	if embedded.Template("hund-anmelden", PortalDone) == reg.StatusTexts.Template("hund-anmelden", PortalDone) {
		t.Error("embedded and override texts are equal")
	}
	// A broken override stops the start with a message naming the file.
	if err := os.WriteFile(p, []byte(strings.Replace(changed, "lautet {aktenzeichen}", "lautet {az}", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadRegistry(dir)
	if msg := ErrorMessage(err); !strings.Contains(msg, p) || !strings.Contains(msg, "{az}") || !strings.Contains(msg, "Bitte korrigieren") {
		t.Errorf("broken override: %q", msg)
	}
}

// TestIsUUID: one check of the canonical form for every portal id; a
// message id the app makes is in lower case.
func TestIsUUID(t *testing.T) {
	for s, want := range map[string][2]bool{ // IsUUID, IsNachricht
		"5d1f0a9e-2c4b-4f0e-8f51-0c1e8a7b9d22": {true, true},
		"5D1F0A9E-2C4B-4F0E-8F51-0C1E8A7B9D22": {true, false},
		"5d1f0a9e2c4b-4f0e-8f51-0c1e8a7b9d22-": {false, false},
		"5d1f0a9e-2c4b-4f0e-8f51-0c1e8a7b9d2g": {false, false},
		"5d1f0a9e-2c4b-4f0e-8f51-0c1e8a7b9d2":  {false, false},
		"":                                     {false, false},
	} {
		if IsUUID(s) != want[0] || IsNachricht(s) != want[1] {
			t.Errorf("%q: IsUUID %v, IsNachricht %v, want %v", s, IsUUID(s), IsNachricht(s), want)
		}
	}
	if n := NewNachricht(); !IsNachricht(n) {
		t.Errorf("NewNachricht gave %q", n)
	}
}

package rueckkanal

import (
	"strings"
	"testing"
	"time"
)

// exampleQuittung is quittung.json of portal/examples/12-quittung.eml.
const exampleQuittung = `{
  "schema": "https://cochem-zell-online.de/schema/quittung/1",
  "art": "quittung",
  "vorgang": "cd613e30-d8f1-4adf-91b7-584a2265b1f5",
  "nachricht": "5d1f0a9e-2c4b-4f0e-8f51-0c1e8a7b9d22",
  "message_id": "<status-5d1f0a9e@vgcochem.example>",
  "ergebnis": "servicekonto",
  "grund": "",
  "zeitpunkt": "2026-11-30T10:12:41+01:00"
}`

func TestParseQuittung(t *testing.T) {
	q, err := ParseQuittung([]byte(exampleQuittung))
	if err != nil {
		t.Fatal(err)
	}
	if q.Vorgang != "cd613e30-d8f1-4adf-91b7-584a2265b1f5" || q.Nachricht != "5d1f0a9e-2c4b-4f0e-8f51-0c1e8a7b9d22" ||
		q.MessageIDKey() != "status-5d1f0a9e@vgcochem.example" || q.Ergebnis != ErgebnisServicekonto ||
		!q.Time.Equal(time.Date(2026, 11, 30, 9, 12, 41, 0, time.UTC)) || q.GrundText() != "" {
		t.Fatalf("%+v", q)
	}
	// A newer portal's extra field is no error.
	if _, err := ParseQuittung([]byte(strings.Replace(exampleQuittung, `"grund": ""`, `"grund": "", "kanal": "app"`, 1))); err != nil {
		t.Errorf("extra field: %v", err)
	}
	abgelehnt := strings.Replace(strings.Replace(exampleQuittung, `"servicekonto"`, `"abgelehnt"`, 1), `"grund": ""`, `"grund": "signatur"`, 1)
	q, err = ParseQuittung([]byte(abgelehnt))
	if err != nil || q.Ergebnis != ErgebnisAbgelehnt || !strings.Contains(q.GrundText(), "Signatur") {
		t.Fatalf("abgelehnt: %+v %v", q, err)
	}
	for _, e := range []Ergebnis{ErgebnisEmail, ErgebnisUnzustellbar} {
		if q, err := ParseQuittung([]byte(strings.Replace(exampleQuittung, `"servicekonto"`, `"`+string(e)+`"`, 1))); err != nil || q.Ergebnis != e {
			t.Errorf("%s: %v", e, err)
		}
	}
	bad := []struct {
		name, from, to, field string
	}{
		{"not json", `{`, `[`, ""},
		{"schema", `quittung/1"`, `quittung/2"`, "schema"},
		{"art", `"art": "quittung"`, `"art": "status"`, "art"},
		{"vorgang", `"cd613e30-d8f1-4adf-91b7-584a2265b1f5"`, `"cd613e30"`, "vorgang"},
		{"nachricht", `"5d1f0a9e-2c4b-4f0e-8f51-0c1e8a7b9d22"`, `""`, "nachricht"},
		{"message_id empty", `"<status-5d1f0a9e@vgcochem.example>"`, `"<>"`, "message_id"},
		{"message_id no domain", `"<status-5d1f0a9e@vgcochem.example>"`, `"status"`, "message_id"},
		{"ergebnis", `"servicekonto"`, `"zugestellt"`, "ergebnis"},
		{"abgelehnt without grund", `"servicekonto"`, `"abgelehnt"`, "grund"},
		{"zeitpunkt", `"2026-11-30T10:12:41+01:00"`, `"30.11.2026 10:12"`, "zeitpunkt"},
		{"number as text", `"grund": ""`, `"grund": 5`, ""},
	}
	for _, b := range bad {
		in := strings.Replace(exampleQuittung, b.from, b.to, 1)
		if in == exampleQuittung {
			t.Fatalf("%s: test does not change the input", b.name)
		}
		q, err := ParseQuittung([]byte(in))
		if err == nil {
			t.Errorf("%s: accepted %+v", b.name, q)
			continue
		}
		if fieldOf(err) != b.field || !strings.Contains(err.Error(), "Quittung") && !strings.Contains(err.Error(), "quittung.json") {
			t.Errorf("%s: %v (field %q), want field %q and a German message", b.name, err, fieldOf(err), b.field)
		}
	}
	// The JSON written by the portal simulator reads back the same.
	js, err := (&Quittung{Schema: QuittungSchema, Art: "quittung", Vorgang: testVorgang, Nachricht: NewUUID(),
		MessageID: "<status.x@cochem.example>", Ergebnis: ErgebnisEmail, Zeitpunkt: FormatTime(testTime)}).JSON()
	if err != nil {
		t.Fatal(err)
	}
	if q, err := ParseQuittung(js); err != nil || q.MessageIDKey() != "status.x@cochem.example" {
		t.Fatalf("round trip %s: %v", js, err)
	}
}

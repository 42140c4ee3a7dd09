package pdf

import (
	"encoding/json"
	"sync"
	"time"

	"amtstresen/app"
)

// Fixed moments so that every rendering is reproducible.
var (
	fixedNow = time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	testReg  = sync.OnceValue(app.Default)
)

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// dogCase is a portal case with a received, a missing and a damaged attachment.
func dogCase() *app.Case {
	return &app.Case{
		ID: 42, Ref: "ZEL-2026-00042", Office: app.OfficeZell, Channel: app.ChannelPortal,
		Service: "hund-anmelden", PortalCase: "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4a11",
		Applicant: app.Applicant{Salutation: "Frau", FirstName: "Jördis", LastName: "Weißmüller",
			Address: app.Address{Street: "Schloßstraße", HouseNumber: "12a", Postcode: "56856", Place: "Zell (Mosel)", AGS: "07135092"},
			Email:   "j.weissmueller@example.org"},
		Fields: mustJSON(map[string]any{
			"hund":           map[string]any{"name": "Bärbel", "rasse": "Großer Münsterländer", "geburtsdatum": "2025-04-02", "chipnummer": "276098100123456", "farbe": "weiß-braun"},
			"haltungsbeginn": "2026-11-01", "gefaehrlich": false, "weitereHunde": 1,
		}),
		Attachments: []app.Attachment{
			{Name: "impfpass.jpg", Type: "image/jpeg", Size: 48211, SHA256: "aa", Received: true},
			{Name: "heimtierausweis.pdf", Type: "application/pdf", Size: 120000, SHA256: "bb", Received: false, Problem: "Die Anlage fehlt in der Sendung."},
			{Name: "foto-hund.png", Type: "image/png", Size: 9000, SHA256: "cc", Received: true,
				Problem: "Die Anlage ist beschädigt: angekündigt 9000 Bytes, erhalten 1200 Bytes; Prüfsumme stimmt nicht."},
		},
		Status: app.StatusReceived, Assignee: "mmueller",
		ReceivedAt: time.Date(2026, 11, 27, 17, 4, 11, 0, time.UTC), // 18:04 in Berlin
	}
}

func bulkyCase() *app.Case {
	return &app.Case{
		ID: 7, Ref: "KV-2026-00007", Office: app.OfficeKreis, Channel: app.ChannelCounter,
		Service: "sperrmuell",
		Applicant: app.Applicant{Salutation: "Herr", FirstName: "Günther", LastName: "Straßburger",
			Address: app.Address{Street: "Moselstraße", HouseNumber: "3", Postcode: "56253", Place: "Treis-Karden"}},
		Fields: mustJSON(map[string]any{
			"abholanschrift":    map[string]any{"strasse": "Moselstraße", "hausnummer": "3", "plz": "56253", "ort": "Treis-Karden"},
			"gegenstaende":      []any{map[string]any{"bezeichnung": "Sessel", "anzahl": 2}, map[string]any{"bezeichnung": "Kleiderschrank (zerlegt)", "anzahl": 1}, map[string]any{"bezeichnung": "Matratze", "anzahl": 3}},
			"volumenKubikmeter": 2.5,
		}),
		Status: app.StatusReceived, Assignee: "skrause",
		ReceivedAt: time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC),
	}
}

func applianceCase() *app.Case {
	return &app.Case{
		ID: 8, Ref: "KV-2026-00008", Office: app.OfficeKreis, Channel: app.ChannelPortal,
		Service: "elektrogeraete",
		Applicant: app.Applicant{FirstName: "Łukasz", LastName: "Wiśniewski",
			Address: app.Address{Street: "Am Römerturm", HouseNumber: "7", Postcode: "56759", Place: "Kaisersesch"}},
		Fields: mustJSON(map[string]any{
			"abholanschrift": map[string]any{"strasse": "Am Römerturm", "hausnummer": "7", "plz": "56759", "ort": "Kaisersesch"},
			"geraete":        []any{map[string]any{"art": "kuehlgeraet", "anzahl": 1}, map[string]any{"art": "waschmaschine", "anzahl": 1}},
		}),
		Status:     app.StatusReceived,
		ReceivedAt: time.Date(2026, 11, 29, 20, 10, 0, 0, time.UTC),
	}
}

// posterCase is a generic receipt: no attachments, routing undecided.
func posterCase() *app.Case {
	return &app.Case{
		ID: 9, Ref: "CZ-2026-00009", Channel: app.ChannelPortal, Service: "plakatierung",
		Applicant: app.Applicant{Salutation: "Herr", FirstName: "Björn", LastName: "Öztürk",
			Address: app.Address{Street: "Ravenéstraße", HouseNumber: "1", Postcode: "56812", Place: "Cochem"}},
		Fields: mustJSON(map[string]any{
			"veranstaltung": map[string]any{"titel": "Weinfest „Zeller Schwarze Katz“", "datum": "2027-06-26", "ort": "Marktplatz Zell"},
			"veranstalter":  "Heimat- und Verkehrsverein e. V.", "anzahlPlakate": 40, "format": "A1",
			"zeitraum":  map[string]any{"von": "2027-06-05", "bis": "2027-06-27"},
			"gemeinden": []any{"07135092", "07135020"},
		}),
		Status:     app.StatusReceived,
		Flags:      []app.Flag{app.FlagRoutingUnclear},
		ReceivedAt: time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC),
	}
}

func appointment() *app.Appointment {
	return &app.Appointment{
		UID: "5d1c2f80-9a1e-4c57-8f0a-2b6f1f0c9e77@cochem-zell-online.de", Sequence: 1,
		Service: "kfz-zulassung", Office: app.OfficeKreis,
		Start:       time.Date(2026, 12, 4, 8, 30, 0, 0, time.UTC), // Friday 09:30 in Berlin
		End:         time.Date(2026, 12, 4, 8, 45, 0, 0, time.UTC),
		CitizenName: "Ömer Çelik", CitizenEmail: "oemer@example.org",
		Location: "Kreisverwaltung Cochem-Zell, Zulassungsstelle, Erdgeschoss",
		Status:   app.AppointmentConfirmed,
	}
}

// Package rueckkanal is the office's side of the portal's return channel
// („Rückkanal“, portal/README.md section 8): the status messages an office
// sends to the citizen through the portal, and the portal's receipts.
//
//   - Status and Compose: the status.json of section 8.1, checked, and the
//     complete signed MIME message (version 2) with a Message-ID chosen once.
//   - Verify: what the portal checks on a status message (the test portal
//     sync/portalsim uses it).
//   - ParseQuittung: the quittung.json of section 8.2.
//   - Submitter: SMTP submission through the office's relay, every failure
//     classified with a German reason and what to do.
//   - Sender and Outbox: the loop that sends what the outbox holds, retries
//     with backoff and re-sends the same bytes (same Message-ID) after a
//     crash; the portal applies a Message-ID once.
//   - Office keys: Ed25519 key pairs of the offices, from the OS keyring or
//     a 0600 file.
//
// The package imports no storage and no UI: storage implements Outbox.
package rueckkanal

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"amtstresen/app"
)

// Schemas of the two JSON documents.
const (
	StatusSchema   = "https://cochem-zell-online.de/schema/status/1"
	QuittungSchema = "https://cochem-zell-online.de/schema/quittung/1"
)

// StatusCode is the "status" of a status message.
type StatusCode string

// The status values of section 8.1.
const (
	StatusEingegangen      StatusCode = "eingegangen"
	StatusInBearbeitung    StatusCode = "in_bearbeitung"
	StatusUnterlagenFehlen StatusCode = "unterlagen_fehlen"
	StatusWeitergeleitet   StatusCode = "weitergeleitet"
	StatusAbgeschlossen    StatusCode = "abgeschlossen"
	StatusAbgelehnt        StatusCode = "abgelehnt"
	StatusZurueckgenommen  StatusCode = "zurueckgenommen"
)

// StatusCodes lists every status value in the contract's order.
var StatusCodes = []StatusCode{StatusEingegangen, StatusInBearbeitung, StatusUnterlagenFehlen, StatusWeitergeleitet, StatusAbgeschlossen, StatusAbgelehnt, StatusZurueckgenommen}

// Label is the status as a citizen reads it.
func (s StatusCode) Label() string {
	switch s {
	case StatusEingegangen:
		return "Eingegangen"
	case StatusInBearbeitung:
		return "In Bearbeitung"
	case StatusUnterlagenFehlen:
		return "Unterlagen fehlen"
	case StatusWeitergeleitet:
		return "Weitergeleitet"
	case StatusAbgeschlossen:
		return "Abgeschlossen"
	case StatusAbgelehnt:
		return "Abgelehnt"
	case StatusZurueckgenommen:
		return "Zurückgenommen"
	}
	return string(s)
}

func (s StatusCode) valid() bool {
	for _, c := range StatusCodes {
		if s == c {
			return true
		}
	}
	return false
}

// Offices are the office keys of section 3 (the portal knows no others).
var Offices = []app.OfficeKey{app.OfficeKreis, app.OfficeCochem, app.OfficeKaisersesch, app.OfficeUlmen, app.OfficeZell}

func validOffice(k app.OfficeKey) bool {
	for _, o := range Offices {
		if k == o {
			return true
		}
	}
	return false
}

// Dokument describes the PDF part of a status message.
type Dokument struct {
	Datei   string `json:"datei"`
	Typ     string `json:"typ"`
	Groesse int64  `json:"groesse"`
	SHA256  string `json:"sha256"`
}

// Status is status.json (section 8.1).
type Status struct {
	Schema             string        `json:"schema"`
	Art                string        `json:"art"` // always "status"
	Vorgang            string        `json:"vorgang"`
	Nachricht          string        `json:"nachricht"`
	Aktenzeichen       string        `json:"aktenzeichen"`
	Dienststelle       app.OfficeKey `json:"dienststelle"`
	Status             StatusCode    `json:"status"`
	Zeitpunkt          string        `json:"zeitpunkt"` // RFC 3339 with offset, Europe/Berlin
	Text               string        `json:"text"`
	FehlendeUnterlagen []string      `json:"fehlende_unterlagen,omitempty"`
	Frist              string        `json:"frist,omitempty"` // YYYY-MM-DD
	WeitergeleitetAn   app.OfficeKey `json:"weitergeleitet_an,omitempty"`
	Dokument           *Dokument     `json:"dokument,omitempty"`
}

// MaxTextRunes bounds the text shown to the citizen.
const MaxTextRunes = 20000

// NewStatus returns a status with schema, art, a fresh nachricht UUID and
// the time t (to the second, Europe/Berlin).
func NewStatus(vorgang, aktenzeichen string, office app.OfficeKey, code StatusCode, t time.Time, text string) *Status {
	return &Status{Schema: StatusSchema, Art: "status", Vorgang: vorgang, Nachricht: NewUUID(),
		Aktenzeichen: aktenzeichen, Dienststelle: office, Status: code, Zeitpunkt: FormatTime(t), Text: text}
}

// FormatTime writes t as the contract does: RFC 3339 in Europe/Berlin, to the second.
func FormatTime(t time.Time) string {
	return t.In(app.Berlin).Truncate(time.Second).Format(time.RFC3339)
}

// NewUUID returns a random version-4 UUID (app.NewNachricht, as the
// outbox gives its messages).
func NewUUID() string { return app.NewNachricht() }

// invalid returns the German error for a bad field.
func invalid(field, format string, args ...any) error {
	return &app.Error{Code: app.EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks every field against the contract. The error is an
// *app.Error whose Field names the JSON field and whose Message says in
// German what is wrong.
func (s *Status) Validate() error {
	if s.Schema != StatusSchema {
		return invalid("schema", "Die Statusmeldung hat ein unbekanntes Schema „%s“ (erwartet %s).", clip(s.Schema), StatusSchema)
	}
	if s.Art != "status" {
		return invalid("art", "Die Statusmeldung hat die Art „%s“ statt „status“.", clip(s.Art))
	}
	if !app.IsUUID(s.Vorgang) {
		return invalid("vorgang", "Die Portal-Vorgangsnummer „%s“ ist keine gültige Vorgangsnummer. Nur Vorgänge aus dem Portal bekommen eine Statusmeldung; Vorgänge vom Schalter werden per Brief beantwortet.", clip(s.Vorgang))
	}
	if !app.IsUUID(s.Nachricht) {
		return invalid("nachricht", "Die Kennung der Statusmeldung „%s“ ist keine UUID.", clip(s.Nachricht))
	}
	if a := strings.TrimSpace(s.Aktenzeichen); a == "" || a != s.Aktenzeichen || utf8.RuneCountInString(a) > 40 || hasControl(a, false) {
		return invalid("aktenzeichen", "Das Aktenzeichen fehlt oder ist ungültig (höchstens 40 Zeichen, ohne Leer- und Steuerzeichen am Rand).")
	}
	if !validOffice(s.Dienststelle) {
		return invalid("dienststelle", "Die Dienststelle „%s“ ist unbekannt (erlaubt: kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell).", clip(string(s.Dienststelle)))
	}
	if !s.Status.valid() {
		return invalid("status", "Der Status „%s“ ist unbekannt (erlaubt: eingegangen, in_bearbeitung, unterlagen_fehlen, weitergeleitet, abgeschlossen, abgelehnt, zurueckgenommen).", clip(string(s.Status)))
	}
	zp, err := time.Parse(time.RFC3339, s.Zeitpunkt)
	if err != nil {
		return invalid("zeitpunkt", "Der Zeitpunkt „%s“ ist kein Zeitpunkt im Format RFC 3339 (z. B. 2026-11-30T10:12:00+01:00).", clip(s.Zeitpunkt))
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(s.Text)); {
	case !utf8.ValidString(s.Text):
		return invalid("text", "Der Text an den Bürger enthält ungültige Zeichen (kein UTF-8).")
	case n == 0:
		return invalid("text", "Der Text an den Bürger ist leer. Bitte einen Text eingeben.")
	case n > MaxTextRunes:
		return invalid("text", "Der Text an den Bürger ist zu lang (%d Zeichen, höchstens %d).", n, MaxTextRunes)
	case hasControl(s.Text, true):
		return invalid("text", "Der Text an den Bürger enthält Steuerzeichen. Bitte nur Text, Zeilenumbrüche und Tabulatoren verwenden.")
	}
	if s.Status == StatusUnterlagenFehlen {
		if len(s.FehlendeUnterlagen) == 0 {
			return invalid("fehlende_unterlagen", "Bei „Unterlagen fehlen“ muss mindestens eine fehlende Unterlage genannt sein.")
		}
		for _, u := range s.FehlendeUnterlagen {
			if strings.TrimSpace(u) == "" || utf8.RuneCountInString(u) > 200 || hasControl(u, false) {
				return invalid("fehlende_unterlagen", "Eine fehlende Unterlage ist leer, zu lang (höchstens 200 Zeichen) oder enthält Steuerzeichen.")
			}
		}
		if s.Frist != "" {
			f, err := time.ParseInLocation("2006-01-02", s.Frist, app.Berlin)
			if err != nil {
				return invalid("frist", "Die Frist „%s“ ist kein Datum im Format JJJJ-MM-TT.", clip(s.Frist))
			}
			if day := zp.In(app.Berlin); f.Before(time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, app.Berlin)) {
				return invalid("frist", "Die Frist %s liegt vor dem Tag der Statusmeldung.", f.Format("02.01.2006"))
			}
		}
	} else if len(s.FehlendeUnterlagen) > 0 || s.Frist != "" {
		return invalid("fehlende_unterlagen", "Fehlende Unterlagen und eine Frist gehören nur zum Status „Unterlagen fehlen“.")
	}
	if s.Status == StatusWeitergeleitet {
		if !validOffice(s.WeitergeleitetAn) {
			return invalid("weitergeleitet_an", "Bei „Weitergeleitet“ muss die empfangende Dienststelle genannt sein (kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell).")
		}
		if s.WeitergeleitetAn == s.Dienststelle {
			return invalid("weitergeleitet_an", "Ein Vorgang kann nicht an die eigene Dienststelle weitergeleitet werden.")
		}
	} else if s.WeitergeleitetAn != "" {
		return invalid("weitergeleitet_an", "Eine empfangende Dienststelle gehört nur zum Status „Weitergeleitet“.")
	}
	if d := s.Dokument; d != nil {
		if d.Typ != "application/pdf" {
			return invalid("dokument", "Als Dokument ist nur ein PDF erlaubt.")
		}
		if !safeFileName(d.Datei) {
			return invalid("dokument", "Der Dateiname des Dokuments ist ungültig (nur ein Name ohne Ordner, höchstens 100 Zeichen, endet auf .pdf).")
		}
		if d.Groesse <= 0 || len(d.SHA256) != 64 {
			return invalid("dokument", "Größe oder Prüfsumme (SHA-256) des Dokuments fehlen.")
		}
		if _, err := hex.DecodeString(d.SHA256); err != nil {
			return invalid("dokument", "Die Prüfsumme des Dokuments ist kein SHA-256-Wert.")
		}
	}
	return nil
}

// JSON returns status.json as it is signed: compact, fields in the
// contract's order.
func (s *Status) JSON() ([]byte, error) { return marshal(s) }

// marshal writes compact JSON without escaping <, > and & (a Message-ID
// stays readable).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func hasControl(s string, allowBreaks bool) bool {
	for _, r := range s {
		if allowBreaks && (r == '\n' || r == '\t' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

func safeFileName(n string) bool {
	return n != "" && utf8.RuneCountInString(n) <= 100 && !strings.ContainsAny(n, `/\:"`) && !hasControl(n, false) &&
		!strings.HasPrefix(n, ".") && strings.HasSuffix(strings.ToLower(n), ".pdf")
}

// clip shortens a bad value quoted in a message.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > 60 {
		return string([]rune(s)[:60]) + "…"
	}
	return s
}

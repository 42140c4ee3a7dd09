package rueckkanal

import (
	"encoding/json"
	"strings"

	"amtstresen/app"
	"time"
)

// Ergebnis is what the portal did with a status message (8.2).
type Ergebnis string

// The results of section 8.2.
const (
	ErgebnisServicekonto Ergebnis = "servicekonto" // in the citizen's postbox
	ErgebnisEmail        Ergebnis = "email"        // forwarded to the citizen's address
	ErgebnisUnzustellbar Ergebnis = "unzustellbar" // neither: the office must write a letter
	ErgebnisAbgelehnt    Ergebnis = "abgelehnt"    // the portal refused it; Grund says why
)

// Label says in German what happened to the message.
func (e Ergebnis) Label() string {
	switch e {
	case ErgebnisServicekonto:
		return "im Servicekonto"
	case ErgebnisEmail:
		return "per E-Mail weitergeleitet"
	case ErgebnisUnzustellbar:
		return "unzustellbar"
	case ErgebnisAbgelehnt:
		return "vom Portal abgelehnt"
	}
	return string(e)
}

// Quittung is quittung.json (section 8.2): the portal's receipt for one
// status message.
type Quittung struct {
	Schema    string   `json:"schema"`
	Art       string   `json:"art"` // always "quittung"
	Vorgang   string   `json:"vorgang"`
	Nachricht string   `json:"nachricht"`
	MessageID string   `json:"message_id"` // as the portal wrote it, usually with angle brackets
	Ergebnis  Ergebnis `json:"ergebnis"`
	Grund     string   `json:"grund"`
	Zeitpunkt string   `json:"zeitpunkt"`

	// Time is Zeitpunkt, parsed.
	Time time.Time `json:"-"`
}

// MessageIDKey is the status message's Message-ID without angle brackets,
// as Message.MessageID holds it.
func (q *Quittung) MessageIDKey() string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(q.MessageID), "<"), ">")
}

// GrundText explains a refusal in German, with what the office can do.
func (q *Quittung) GrundText() string {
	switch q.Grund {
	case GrundSignatur:
		return "Das Portal hat die Statusmeldung abgelehnt: die Signatur passt nicht zum Schlüssel der Dienststelle. Bitte die IT verständigen: der öffentliche Schlüssel der Dienststelle muss beim Portalbetreiber hinterlegt sein."
	case GrundVorgangUnbekannt:
		return "Das Portal kennt diesen Vorgang nicht. Bitte die Portal-Vorgangsnummer prüfen; die Antwort an den Bürger geht per Brief."
	case GrundFormat:
		return "Das Portal konnte die Statusmeldung nicht lesen. Bitte die IT verständigen; die Antwort an den Bürger geht bis dahin per Brief."
	case GrundZuGross:
		return "Die Statusmeldung war dem Portal zu groß (mehr als 10 MB). Bitte ohne oder mit kleinerem Dokument erneut senden oder per Brief antworten."
	case "":
		return ""
	}
	return "Das Portal hat die Statusmeldung abgelehnt (Grund „" + clip(q.Grund) + "“). Bitte die IT verständigen."
}

// ParseQuittung reads quittung.json. The portal's signature is not checked
// here (the sync's delivery pipeline checks it as for every delivery).
// Unknown extra fields are ignored, not refused: the portal adds fields
// over time. A bad value is an *app.Error naming the field in German.
func ParseQuittung(b []byte) (*Quittung, error) {
	q := &Quittung{}
	if err := json.Unmarshal(b, q); err != nil {
		return nil, invalid("", "quittung.json ist kein gültiges JSON-Objekt der erwarteten Form.")
	}
	if q.Schema != QuittungSchema {
		return nil, invalid("schema", "Die Quittung hat ein unbekanntes Schema „%s“ (erwartet %s).", clip(q.Schema), QuittungSchema)
	}
	if q.Art != "quittung" {
		return nil, invalid("art", "Die Quittung hat die Art „%s“ statt „quittung“.", clip(q.Art))
	}
	if !app.IsUUID(q.Vorgang) {
		return nil, invalid("vorgang", "Die Portal-Vorgangsnummer der Quittung „%s“ ist ungültig.", clip(q.Vorgang))
	}
	if !app.IsUUID(q.Nachricht) {
		return nil, invalid("nachricht", "Die Kennung der Statusmeldung in der Quittung „%s“ ist keine UUID.", clip(q.Nachricht))
	}
	if id := q.MessageIDKey(); id == "" || strings.ContainsAny(id, " \t\r\n<>") || !strings.Contains(id, "@") {
		return nil, invalid("message_id", "Die Message-ID in der Quittung „%s“ ist ungültig.", clip(q.MessageID))
	}
	switch q.Ergebnis {
	case ErgebnisServicekonto, ErgebnisEmail, ErgebnisUnzustellbar:
	case ErgebnisAbgelehnt:
		if strings.TrimSpace(q.Grund) == "" {
			return nil, invalid("grund", "Die Quittung meldet „abgelehnt“, nennt aber keinen Grund.")
		}
	default:
		return nil, invalid("ergebnis", "Das Ergebnis „%s“ der Quittung ist unbekannt (erwartet servicekonto, email, unzustellbar oder abgelehnt).", clip(string(q.Ergebnis)))
	}
	t, err := time.Parse(time.RFC3339, q.Zeitpunkt)
	if err != nil {
		return nil, invalid("zeitpunkt", "Der Zeitpunkt der Quittung „%s“ ist kein Zeitpunkt im Format RFC 3339.", clip(q.Zeitpunkt))
	}
	q.Time = t.UTC()
	return q, nil
}

// JSON returns quittung.json as the portal writes it.
func (q *Quittung) JSON() ([]byte, error) { return marshal(q) }

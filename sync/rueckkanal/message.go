package rueckkanal

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"amtstresen/app"
	"amtstresen/sync/internal/signedmail"
)

// Portal header fields of a return-channel message.
const (
	HeaderVersion      = "X-Buergerportal-Version"
	HeaderArt          = "X-Buergerportal-Art"
	HeaderVorgang      = "X-Buergerportal-Vorgang"
	HeaderDienststelle = "X-Buergerportal-Dienststelle"
	HeaderSignatur     = signedmail.SignatureHeader
)

// MaxMessageBytes is the contract's limit for a whole status message
// ("at most 10 MB in all"), read as 10,000,000 bytes, the stricter reading.
const MaxMessageBytes = 10_000_000

// DefaultReturnAddress is the portal's return address in production.
const DefaultReturnAddress = "rueckkanal@cochem-zell-online.de"

// PDF is the optional document of a status message.
type PDF struct {
	Name string // file name shown to the citizen, e.g. "eingangsbestaetigung.pdf"
	Data []byte
}

// Message is a composed status message: what the outbox stores, in the
// same transaction as the status change that causes it. Raw is sent as is
// on every attempt, so a retry carries the same Message-ID.
type Message struct {
	Nachricht string // status.json "nachricht", the outbox key
	MessageID string // without angle brackets
	Vorgang   string
	Raw       []byte
}

// MessageIDFor returns the Message-ID of a status message: derived from
// its nachricht UUID and the sender's domain, so it is chosen once and the
// same on every composition of the same status.
func MessageIDFor(nachricht, from string) string {
	domain := "amtstresen.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i < len(a.Address)-1 {
			domain = strings.ToLower(a.Address[i+1:])
		}
	}
	return "status." + strings.ToLower(nachricht) + "@" + domain
}

// Compose checks s, describes pdf (if any) in s.Dokument, and writes the
// complete status message of section 8.1 (version 2), signed with the
// office's key over the exact bytes of status.json. from is the office's
// functional address (RFC 5322, a display name is allowed), to the portal's
// return address.
func Compose(s *Status, pdf *PDF, from, to string, key ed25519.PrivateKey) (*Message, error) {
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, invalid("from", "Die Absenderadresse „%s“ ([smtp] from) ist keine gültige E-Mail-Adresse.", clip(from))
	}
	toAddr, err := mail.ParseAddress(to)
	if err != nil {
		return nil, invalid("return_address", "Die Rückkanal-Adresse des Portals „%s“ ([portal] return_address) ist keine gültige E-Mail-Adresse.", clip(to))
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, invalid("key", "Der Signaturschlüssel der Dienststelle fehlt oder ist beschädigt.")
	}
	s.Dokument = nil
	var parts []signedmail.Part
	if pdf != nil {
		if len(pdf.Data) < 5 || string(pdf.Data[:5]) != "%PDF-" {
			return nil, invalid("dokument", "Das Dokument zur Statusmeldung ist kein PDF.")
		}
		sum := sha256.Sum256(pdf.Data)
		s.Dokument = &Dokument{Datei: pdf.Name, Typ: "application/pdf", Groesse: int64(len(pdf.Data)), SHA256: hex.EncodeToString(sum[:])}
		parts = append(parts, signedmail.Part{Type: "application/pdf", Name: pdf.Name, Data: pdf.Data})
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	date, _ := time.Parse(time.RFC3339, s.Zeitpunkt) // checked by Validate
	js, err := s.JSON()
	if err != nil {
		return nil, err
	}
	id := MessageIDFor(s.Nachricht, from)
	m := signedmail.Mail{
		From: fromAddr, To: toAddr, Date: date, MessageID: id,
		Subject: fmt.Sprintf("[Bürgerportal] Status zu Vorgang %s: %s", s.Aktenzeichen, s.Status.Label()),
		Fields: [][2]string{
			{"Auto-Submitted", "auto-generated"},
			{HeaderVersion, "2"},
			{HeaderArt, "status"},
			{HeaderVorgang, s.Vorgang},
			{HeaderDienststelle, string(s.Dienststelle)},
		},
		Summary:  summary(s),
		JSONName: "status.json",
		JSON:     js,
		Parts:    parts,
	}
	raw, err := m.Build(key)
	if err != nil {
		return nil, fmt.Errorf("compose status: %w", err)
	}
	if len(raw) > MaxMessageBytes {
		return nil, &app.Error{Code: app.EINVALID, Field: "dokument", Message: fmt.Sprintf(
			"Die Statusmeldung wäre %.1f MB groß; das Portal nimmt höchstens 10 MB an. Bitte ein kleineres PDF beifügen oder das Dokument per Brief senden.", float64(len(raw))/1e6)}
	}
	return &Message{Nachricht: s.Nachricht, MessageID: id, Vorgang: s.Vorgang, Raw: raw}, nil
}

// summary is the human-readable text part (never parsed by the portal).
func summary(s *Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Statusmeldung zu Ihrem Antrag (Aktenzeichen %s): %s\n\n%s\n", s.Aktenzeichen, s.Status.Label(), strings.TrimSpace(s.Text))
	if len(s.FehlendeUnterlagen) > 0 {
		b.WriteString("\nBitte reichen Sie nach:\n")
		for _, u := range s.FehlendeUnterlagen {
			b.WriteString("- " + u + "\n")
		}
		if s.Frist != "" {
			if f, err := time.Parse("2006-01-02", s.Frist); err == nil {
				fmt.Fprintf(&b, "bis zum %s.\n", f.Format("02.01.2006"))
			}
		}
	}
	if s.Dokument != nil {
		fmt.Fprintf(&b, "\nBeigefügt: %s\n", s.Dokument.Datei)
	}
	return b.String()
}

// Reasons (grund) with which the portal refuses a status message (8.2).
const (
	GrundSignatur         = "signatur"
	GrundVorgangUnbekannt = "vorgang-unbekannt"
	GrundFormat           = "format"
	GrundZuGross          = "zu-gross"
)

// Refusal is why a status message is refused: the grund of the portal's
// quittung and a German explanation.
type Refusal struct {
	Grund   string
	Message string
}

func (r *Refusal) Error() string { return "status refused (" + r.Grund + "): " + r.Message }

func refuse(grund, format string, args ...any) *Refusal {
	return &Refusal{Grund: grund, Message: fmt.Sprintf(format, args...)}
}

// Verified is a status message that passed Verify.
type Verified struct {
	Status    *Status
	MessageID string // without angle brackets
	JSON      []byte // the exact signed bytes
	PDF       *PDF
}

// Verify checks a status message as the portal does: size, version 2,
// kind, the signature of the office named in X-Buergerportal-Dienststelle
// over the exact decoded bytes of status.json, the JSON against the
// contract, the headers against the signed JSON, and the document against
// its description. keys holds the public keys of the offices the portal
// knows. Every failure is a *Refusal; whether the portal knows the case is
// the caller's question (GrundVorgangUnbekannt).
//
// When a *Refusal is returned, the *Verified may still carry what could be
// read (MessageID, and Status when the JSON was readable), so that the
// portal can name the message in its quittung.
func Verify(raw []byte, keys map[app.OfficeKey]ed25519.PublicKey) (*Verified, error) {
	v := &Verified{}
	if len(raw) > MaxMessageBytes {
		return v, refuse(GrundZuGross, "Die Statusmeldung ist %d Bytes groß, erlaubt sind %d.", len(raw), MaxMessageBytes)
	}
	p, err := signedmail.Parse(raw, "status.json")
	if err != nil {
		return v, refuse(GrundFormat, "Die Statusmeldung ist keine lesbare MIME-Nachricht.")
	}
	v.MessageID = p.MessageID
	if st := new(Status); p.JSON != nil && json.Unmarshal(p.JSON, st) == nil {
		v.Status = st
	}
	if v.MessageID == "" {
		return v, refuse(GrundFormat, "Der Statusmeldung fehlt die Message-ID.")
	}
	if p.Field(HeaderVersion) != "2" || p.Field(HeaderArt) != "status" {
		return v, refuse(GrundFormat, "Die Statusmeldung ist keine Sendung der Art „status“ in Version 2.")
	}
	office := app.OfficeKey(p.Field(HeaderDienststelle))
	key, ok := keys[office]
	if !ok {
		return v, refuse(GrundSignatur, "Für die Dienststelle „%s“ ist kein Schlüssel bekannt.", clip(string(office)))
	}
	if p.JSON == nil {
		return v, refuse(GrundFormat, "Der Statusmeldung fehlt der Teil status.json.")
	}
	if p.Signature == nil {
		return v, refuse(GrundSignatur, "Die Statusmeldung ist nicht signiert.")
	}
	if !p.Verify(key) {
		return v, refuse(GrundSignatur, "Die Signatur passt nicht zum Schlüssel der Dienststelle „%s“.", office)
	}
	v.JSON = p.JSON
	if v.Status == nil {
		return v, refuse(GrundFormat, "status.json ist kein gültiges JSON.")
	}
	st := v.Status
	if err := st.Validate(); err != nil {
		return v, refuse(GrundFormat, "%s", app.ErrorMessage(err))
	}
	if st.Vorgang != p.Field(HeaderVorgang) || st.Dienststelle != office {
		return v, refuse(GrundFormat, "Vorgang oder Dienststelle im Kopf der Mail weichen von status.json ab.")
	}
	var pdfs []signedmail.Part
	for _, part := range p.Parts {
		if part.Type == "application/pdf" {
			pdfs = append(pdfs, part)
		}
	}
	switch d := st.Dokument; {
	case d == nil && len(pdfs) == 0:
	case d == nil || len(pdfs) != 1:
		return v, refuse(GrundFormat, "Das beigefügte Dokument passt nicht zur Angabe in status.json.")
	default:
		sum := sha256.Sum256(pdfs[0].Data)
		if pdfs[0].Name != d.Datei || int64(len(pdfs[0].Data)) != d.Groesse || hex.EncodeToString(sum[:]) != strings.ToLower(d.SHA256) {
			return v, refuse(GrundFormat, "Name, Größe oder Prüfsumme des Dokuments stimmen nicht mit status.json überein.")
		}
		v.PDF = &PDF{Name: pdfs[0].Name, Data: pdfs[0].Data}
	}
	return v, nil
}

// IsRefusal returns the *Refusal in err's chain.
func IsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

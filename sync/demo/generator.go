package demo

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"mime"
	"strings"
	"time"

	"amtstresen/app"
)

// The generator builds realistic Bürgerportal deliveries (portal/README.md,
// format 1, or 2 with Version) of every kind, signed with Key, plus the
// mails that are not deliveries (a citizen's direct mail, bounces, spam)
// and broken variants: what the demo's mailbox holds (Mix) and what the
// load tests sync (Bulk).

// Mail is one generated mail and what the sync is expected to make of it.
type Mail struct {
	Raw       []byte
	MessageID string // without angle brackets
	Kind      string // antrag, nachricht, ruecknahme, termin, or "other"
	Vorgang   string
	// Review is the reason the sync must give, "" for a genuine delivery
	// (a nachricht/ruecknahme for an unknown case is genuine here but ends
	// up as case-unknown).
	Review app.ReviewReason
	// Flags the case must carry (antrag only).
	Flags []app.Flag
	// Files is the number of announced attachments.
	Files int
}

// File is an attachment.
type File struct {
	Name string
	Type string
	Data []byte
}

// Generator makes mails. It is deterministic for a seed.
type Generator struct {
	Key ed25519.PrivateKey
	Reg *app.Registry
	Now time.Time
	// Version is the format version of the deliveries: 1 (default) or 2,
	// where every signed JSON part names its kind ("art") and case
	// (portal/README.md section 9).
	Version int
	rnd     *rand.Rand
	n       int
}

// NewGenerator returns a generator with the demo's key, the embedded
// registry and a fixed clock (27.11.2026) so that output is reproducible.
func NewGenerator(seed int64) *Generator {
	return &Generator{Key: Key(), Reg: app.Default(),
		Now: time.Date(2026, 11, 27, 18, 4, 30, 0, app.Berlin), rnd: rand.New(rand.NewSource(seed))}
}

// UUID returns a random (version 4 style) UUID.
func (g *Generator) UUID() string {
	var b [16]byte
	g.rnd.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (g *Generator) messageID(domain string) string {
	g.n++
	var b [10]byte
	g.rnd.Read(b[:])
	return fmt.Sprintf("%s.%d@%s", hex.EncodeToString(b[:]), g.n, domain)
}

func (g *Generator) pick(list []string) string { return list[g.rnd.Intn(len(list))] }

var (
	// First names by the form of address they go with ("Herr Anna" is
	// not a person a clerk would believe).
	women      = []string{"Anna", "Özlem", "Sabine", "Käthe", "Marie", "Sophie", "Élodie", "Ursula", "Zoë", "Lena"}
	men        = []string{"Jürgen", "Matthias", "Björn", "Heinz", "Lukas", "Günter", "Jörg", "Hans-Peter", "Mehmet", "Paul"}
	firstNames = append(append([]string(nil), women...), men...)
	lastNames  = []string{"Muster", "Zöller", "Weißgerber", "Schäfer", "Müller", "Schmitt", "Becker", "Hoffmann", "Krämer", "Gööck", "Lenz", "Theisen", "Klöckner", "Bär", "Steffens", "Kaspari", "Oster", "Thömmes"}
	streets    = []string{"Moselstraße", "Hauptstraße", "Bergstraße", "Am Römerturm", "Kirchstraße", "Schulstraße", "Im Wingert", "Ravenéstraße", "Zum Sportplatz", "Weinbergsweg"}
	dogNames   = []string{"Luna", "Bello", "Rex", "Emma", "Balu", "Paula", "Sammy", "Nala"}
	breeds     = []string{"Labrador Retriever", "Mischling", "Deutscher Schäferhund", "Dackel", "Golden Retriever", "Beagle"}
)

// Applicant returns a random applicant living in a municipality of the Kreis.
func (g *Generator) Applicant() app.Applicant {
	m := g.Reg.Municipalities[g.rnd.Intn(len(g.Reg.Municipalities))]
	salutation := g.pick([]string{"Frau", "Herr", ""})
	names := firstNames
	switch salutation {
	case "Frau":
		names = women
	case "Herr":
		names = men
	}
	first, last := g.pick(names), g.pick(lastNames)
	return app.Applicant{Salutation: salutation, FirstName: first, LastName: last,
		BirthDate: fmt.Sprintf("%d-%02d-%02d", 1940+g.rnd.Intn(65), 1+g.rnd.Intn(12), 1+g.rnd.Intn(28)),
		Address: app.Address{Street: g.pick(streets), HouseNumber: fmt.Sprint(1 + g.rnd.Intn(120)),
			Postcode: m.Postcodes[0], Place: m.Name, AGS: m.AGS},
		Email: strings.ToLower(ascii(first)+"."+ascii(last)) + "@example.org",
		Phone: fmt.Sprintf("0267%d %05d", g.rnd.Intn(10), g.rnd.Intn(100000))}
}

func ascii(s string) string {
	return strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "é", "e", "É", "E", "ë", "e", " ", "", "-", "").Replace(s)
}

func (g *Generator) address() map[string]any {
	m := g.Reg.Municipalities[g.rnd.Intn(len(g.Reg.Municipalities))]
	return map[string]any{"strasse": g.pick(streets), "hausnummer": fmt.Sprint(1 + g.rnd.Intn(80)),
		"plz": m.Postcodes[0], "ort": m.Name, "gemeindeschluessel": m.AGS}
}

func (g *Generator) date(offsetDays int) string {
	return g.Now.AddDate(0, 0, offsetDays).Format("2006-01-02")
}

// Angaben returns realistic service fields for a service key.
func (g *Generator) Angaben(service string, who app.Applicant) map[string]any {
	ags := func() string { return g.Reg.Municipalities[g.rnd.Intn(len(g.Reg.Municipalities))].AGS }
	switch service {
	case "hund-anmelden":
		return map[string]any{"hund": map[string]any{"name": g.pick(dogNames), "rasse": g.pick(breeds),
			"geburtsdatum": g.date(-200 - g.rnd.Intn(2000)), "chipnummer": fmt.Sprintf("276%012d", g.rnd.Int63n(1e12)), "farbe": g.pick([]string{"schwarz", "braun", "weiß", "gescheckt"})},
			"haltungsbeginn": g.date(-g.rnd.Intn(30)), "gefaehrlich": false, "weitereHunde": g.rnd.Intn(2)}
	case "hund-abmelden":
		return map[string]any{"steuermarke": fmt.Sprintf("CZ-%04d", g.rnd.Intn(10000)),
			"grund": g.pick([]string{"verstorben", "abgegeben", "weggezogen"}), "abmeldedatum": g.date(-g.rnd.Intn(20))}
	case "plakatierung":
		first := g.Reg.Municipalities[g.rnd.Intn(len(g.Reg.Municipalities))]
		list := []any{first.AGS}
		for _, m := range g.Reg.Municipalities {
			if m.Office == first.Office && m.AGS != first.AGS && len(list) < 3 {
				list = append(list, m.AGS)
			}
		}
		return map[string]any{"veranstaltung": map[string]any{"titel": "Weinfest " + first.Name, "datum": g.date(60), "ort": first.Name + ", Festplatz"},
			"veranstalter": "Ortsgemeinde " + first.Name, "anzahlPlakate": 5 + g.rnd.Intn(40), "format": g.pick([]string{"A2", "A1", "A0"}),
			"zeitraum": map[string]any{"von": g.date(40), "bis": g.date(61)}, "gemeinden": list}
	case "eigentuemerwechsel":
		m := g.Reg.Municipalities[g.rnd.Intn(len(g.Reg.Municipalities))]
		return map[string]any{"grundstueck": map[string]any{"gemeindeschluessel": m.AGS, "gemarkung": m.Name,
			"flur": fmt.Sprint(1 + g.rnd.Intn(20)), "flurstueck": fmt.Sprintf("%d/%d", 1+g.rnd.Intn(300), 1+g.rnd.Intn(9))},
			"bisherigerEigentuemer": map[string]any{"name": "Erbengemeinschaft " + g.pick(lastNames)},
			"neuerEigentuemer":      map[string]any{"name": who.Name(), "anschrift": g.address()}, "uebergangsdatum": g.date(-g.rnd.Intn(60))}
	case "sperrmuell":
		return map[string]any{"abholanschrift": g.address(), "gegenstaende": []any{
			map[string]any{"bezeichnung": g.pick([]string{"Kleiderschrank", "Sofa", "Matratze", "Regal", "Teppich"}), "anzahl": 1 + g.rnd.Intn(3)}},
			"volumenKubikmeter": float64(1+g.rnd.Intn(8)) / 2}
	case "elektrogeraete":
		return map[string]any{"abholanschrift": g.address(), "geraete": []any{
			map[string]any{"art": g.pick([]string{"kuehlgeraet", "waschmaschine", "trockner", "herd", "spuelmaschine", "fernseher"}), "anzahl": 1}}}
	case "raum-mieten":
		return map[string]any{"einrichtung": "Bürgersaal", "gemeindeschluessel": ags(), "datum": g.date(30 + g.rnd.Intn(100)),
			"von": "18:00", "bis": "23:00", "anlass": g.pick([]string{"Geburtstagsfeier", "Vereinsversammlung", "Hochzeit"}), "personen": 20 + g.rnd.Intn(80)}
	}
	return map[string]any{}
}

// ApplicationServices are the services with an application (not appointment-only).
var ApplicationServices = []string{"hund-anmelden", "hund-abmelden", "plakatierung", "eigentuemerwechsel", "sperrmuell", "elektrogeraete", "raum-mieten"}

// AppointmentServices are the appointment-only services.
var AppointmentServices = []string{"kfz-zulassung", "fuehrerschein", "buergerbuero"}

// JPEG returns fake JPEG bytes of about n bytes.
func (g *Generator) JPEG(n int) []byte {
	if n < 4 {
		n = 4
	}
	b := make([]byte, n)
	g.rnd.Read(b)
	b[0], b[1], b[n-2], b[n-1] = 0xFF, 0xD8, 0xFF, 0xD9
	return b
}

// AntragSpec describes an application; zero fields are filled randomly.
type AntragSpec struct {
	Vorgang   string
	Service   string
	Applicant *app.Applicant
	Angaben   map[string]any
	Files     []File
	NoFiles   bool // no attachment even where one is usual
	// Broken attachments: the first file is announced but not attached,
	// or attached with other bytes.
	MissingFile bool
	CorruptFile bool
	WithPDF     bool
	Extra       map[string]any // unknown fields the portal may add
}

// Antrag builds an application delivery.
func (g *Generator) Antrag(s AntragSpec) *Mail {
	if s.Vorgang == "" {
		s.Vorgang = g.UUID()
	}
	if s.Service == "" {
		s.Service = g.pick(ApplicationServices)
	}
	who := g.Applicant()
	if s.Applicant != nil {
		who = *s.Applicant
	}
	if s.Angaben == nil {
		s.Angaben = g.Angaben(s.Service, who)
	}
	if s.Files == nil && !s.NoFiles && (s.Service == "hund-anmelden" || s.MissingFile || s.CorruptFile) {
		s.Files = []File{{Name: "impfpass.jpg", Type: "image/jpeg", Data: g.JPEG(2000 + g.rnd.Intn(30000))}}
	}
	svc := g.Reg.Catalog.Service(s.Service)
	leistung := map[string]any{"schluessel": s.Service}
	if svc != nil {
		leistung["bezeichnung"] = svc.Name
		if svc.LeiKa != "" {
			leistung["leika"] = svc.LeiKa
		}
	}
	anlagen := []any{}
	for _, f := range s.Files {
		sum := sha256.Sum256(f.Data)
		anlagen = append(anlagen, map[string]any{"datei": f.Name, "typ": f.Type, "groesse": len(f.Data), "sha256": hex.EncodeToString(sum[:])})
	}
	doc := map[string]any{"schema": "https://cochem-zell-online.de/schema/antrag/1", "vorgang": s.Vorgang,
		"eingereicht": g.Now.Add(-19 * time.Second).Format(time.RFC3339), "leistung": leistung,
		"antragsteller": who, "angaben": s.Angaben, "anlagen": anlagen}
	if g.rnd.Intn(2) == 0 {
		doc["servicekonto"] = fmt.Sprintf("sk-%06x", g.rnd.Intn(1<<24))
	}
	if g.Version >= 2 {
		doc["art"] = "antrag"
	}
	for k, v := range s.Extra {
		doc[k] = v
	}
	payload, _ := json.MarshalIndent(doc, "", "  ")
	name := s.Service
	if svc != nil {
		name = svc.Name
	}
	summary := fmt.Sprintf("Neuer Antrag über das Bürgerportal Cochem-Zell\n\nLeistung: %s\nAntragsteller: %s\nVorgang: %s\n", name, who.Name(), s.Vorgang)
	parts := []mpart{textPart(summary), attachPart("application/json", "antrag.json", payload)}
	if s.WithPDF || g.rnd.Intn(3) > 0 {
		parts = append(parts, attachPart("application/pdf", "antrag.pdf", []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")))
	}
	m := &Mail{Kind: "antrag", Vorgang: s.Vorgang, Files: len(s.Files)}
	for i, f := range s.Files {
		data := f.Data
		if i == 0 && s.MissingFile {
			m.Flags = append(m.Flags, app.FlagAttachmentMissing)
			continue
		}
		if i == 0 && s.CorruptFile {
			data = append(append([]byte{}, data...), 0, 1, 2)
			m.Flags = append(m.Flags, app.FlagAttachmentMismatch)
		}
		parts = append(parts, attachPart(f.Type, f.Name, data))
	}
	subject := fmt.Sprintf("[Bürgerportal] %s – Vorgang %s", name, s.Vorgang[:8])
	hdr := g.portalHeader("antrag", s.Vorgang, s.Service, subject, payload)
	m.Raw = buildMixed(hdr, parts)
	m.MessageID = headerValue(hdr, "Message-ID")
	return m
}

// Nachricht builds a citizen's message about a case.
func (g *Generator) Nachricht(vorgang, text string, files ...File) *Mail {
	return g.message("nachricht", vorgang, text, files)
}

// Ruecknahme builds a withdrawal.
func (g *Generator) Ruecknahme(vorgang, reason string) *Mail {
	return g.message("ruecknahme", vorgang, reason, nil)
}

func (g *Generator) message(kind, vorgang, text string, files []File) *Mail {
	anlagen := []any{}
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		anlagen = append(anlagen, map[string]any{"datei": f.Name, "typ": f.Type, "groesse": len(f.Data), "sha256": hex.EncodeToString(sum[:])})
	}
	doc := map[string]any{"vorgang": vorgang, "gesendet": g.Now.Add(15 * time.Hour).Format(time.RFC3339), "text": text, "anlagen": anlagen}
	if g.Version >= 2 {
		doc["art"] = kind
	}
	payload, _ := json.MarshalIndent(doc, "", "  ")
	parts := []mpart{textPart(text + "\n"), attachPart("application/json", "nachricht.json", payload)}
	for _, f := range files {
		parts = append(parts, attachPart(f.Type, f.Name, f.Data))
	}
	subject := "[Bürgerportal] Nachricht zu Vorgang " + vorgang[:min(8, len(vorgang))]
	if kind == "ruecknahme" {
		subject = "[Bürgerportal] Rücknahme zu Vorgang " + vorgang[:min(8, len(vorgang))]
	}
	hdr := g.portalHeader(kind, vorgang, "", subject, payload)
	return &Mail{Raw: buildMixed(hdr, parts), MessageID: headerValue(hdr, "Message-ID"), Kind: kind, Vorgang: vorgang, Files: len(files)}
}

// TerminSpec describes an appointment message.
type TerminSpec struct {
	UID      string // "" new booking
	Sequence int
	Cancel   bool
	Service  string
	Office   app.OfficeKey
	Vorgang  string
	Start    time.Time
	Minutes  int
	Name     string
	Email    string
	// For hostile tests: the TZID of DTSTART/DTEND (default
	// Europe/Berlin), an end of its own, SEQUENCE written as given.
	TZID         string
	End          time.Time
	SequenceText string
}

// Termin builds an appointment delivery. It returns the spec as used, so
// that a follow-up (moved, cancelled) can reuse UID and Vorgang.
func (g *Generator) Termin(s TerminSpec) (*Mail, TerminSpec) {
	if s.UID == "" {
		s.UID = g.UUID() + "@cochem-zell-online.de"
	}
	if s.Vorgang == "" {
		s.Vorgang = g.UUID()
	}
	if s.Service == "" {
		s.Service = g.pick(AppointmentServices)
	}
	if s.Office == "" {
		s.Office = app.OfficeKreis
		if s.Service == "buergerbuero" {
			s.Office = []app.OfficeKey{app.OfficeCochem, app.OfficeKaisersesch, app.OfficeUlmen, app.OfficeZell}[g.rnd.Intn(4)]
		}
	}
	if s.Start.IsZero() {
		// Offices are open on working days only (no weekends, no holidays
		// of Rhineland-Palatinate).
		d := app.NextWorkingDay(g.Now.AddDate(0, 0, 1+g.rnd.Intn(30)))
		s.Start = time.Date(d.Year(), d.Month(), d.Day(), 8+g.rnd.Intn(8), 10*g.rnd.Intn(6), 0, 0, app.Berlin)
	}
	if s.Minutes == 0 {
		s.Minutes = 20
	}
	if s.Name == "" {
		a := g.Applicant()
		s.Name, s.Email = a.Name(), a.Email
	}
	method, status := "REQUEST", "CONFIRMED"
	if s.Cancel {
		method, status = "CANCEL", "CANCELLED"
	}
	office := g.Reg.Office(s.Office)
	officeName, location := string(s.Office), string(s.Office)
	if office != nil {
		officeName = office.Name
		location = office.Name + ", " + office.AddressLine()
	}
	svcName := s.Service
	if svc := g.Reg.Catalog.Service(s.Service); svc != nil {
		svcName = svc.Name
	}
	start := s.Start.In(app.Berlin)
	end := start.Add(time.Duration(s.Minutes) * time.Minute)
	if !s.End.IsZero() {
		end = s.End.In(app.Berlin)
	}
	tzid, seq := "Europe/Berlin", fmt.Sprint(s.Sequence)
	if s.TZID != "" {
		tzid = s.TZID
	}
	if s.SequenceText != "" {
		seq = s.SequenceText
	}
	esc := strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\n", `\n`)
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Buergerportal Cochem-Zell//Terminvergabe//DE", "METHOD:" + method,
		"BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
		"BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
		"BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
		"END:VTIMEZONE", "BEGIN:VEVENT", "UID:" + s.UID, "SEQUENCE:" + seq,
		"DTSTAMP:" + g.Now.UTC().Format("20060102T150405Z"),
		"DTSTART;TZID=" + tzid + ":" + start.Format("20060102T150405"),
		"DTEND;TZID=" + tzid + ":" + end.Format("20060102T150405"),
		"SUMMARY:" + esc.Replace(svcName), "LOCATION:" + esc.Replace(location),
		"DESCRIPTION:Bitte bringen Sie Ihren Personalausweis mit.",
		fmt.Sprintf(`ORGANIZER;CN="%s":mailto:termine@cochem-zell-online.de`, officeName),
		fmt.Sprintf(`ATTENDEE;CN="%s";ROLE=REQ-PARTICIPANT:mailto:%s`, s.Name, s.Email),
		"STATUS:" + status, "X-BUERGERPORTAL-LEISTUNG:" + s.Service, "X-BUERGERPORTAL-DIENSTSTELLE:" + string(s.Office),
		"X-BUERGERPORTAL-VORGANG:" + s.Vorgang, "END:VEVENT", "END:VCALENDAR"}
	var ics bytes.Buffer
	for _, l := range lines {
		ics.WriteString(fold(l))
	}
	payload := ics.Bytes()
	word := "Terminbestätigung"
	if s.Cancel {
		word = "Terminabsage"
	} else if s.Sequence > 0 {
		word = "Terminänderung"
	}
	text := fmt.Sprintf("%s für %s\n%s\n%s Uhr\n", word, s.Name, svcName, start.Format("02.01.2006, 15:04"))
	cal := mpart{header: fmt.Sprintf("Content-Type: text/calendar; method=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n", method), body: b64(payload)}
	alt := buildMultipart("alternative", []mpart{textPart(text), cal})
	parts := []mpart{{header: alt.header, body: alt.body},
		{header: fmt.Sprintf("Content-Type: text/calendar; method=\"%s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"termin.ics\"\r\n", method), body: b64(payload)}}
	subject := fmt.Sprintf("[Bürgerportal] %s: %s am %s", word, svcName, start.Format("02.01.2006 15:04"))
	hdr := g.portalHeader("termin", s.Vorgang, s.Service, subject, payload)
	return &Mail{Raw: buildMixed(hdr, parts), MessageID: headerValue(hdr, "Message-ID"), Kind: "termin", Vorgang: s.Vorgang}, s
}

// fold folds a content line at 75 octets (RFC 5545 3.1), not inside a
// UTF-8 sequence.
func fold(l string) string {
	var b strings.Builder
	for len(l) > 75 {
		cut := 75
		for cut > 0 && l[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(l[:cut] + "\r\n ")
		l = l[cut:]
	}
	b.WriteString(l + "\r\n")
	return b.String()
}

// CitizenMail is a direct mail from a citizen (not a delivery).
func (g *Generator) CitizenMail() *Mail {
	a := g.Applicant()
	id := g.messageID("example.org")
	hdr := [][2]string{{"From", encodeAddr(a.Name(), a.Email)}, {"To", "Funktionspostfach <eingang@cochem-zell-online.example>"},
		{"Subject", mime.QEncoding.Encode("utf-8", g.pick([]string{"Frage zur Sperrmüllabholung", "Öffnungszeiten Bürgerbüro?", "Hundesteuer – Rückfrage", "Bitte um Rückruf"}))},
		{"Date", g.Now.Add(time.Duration(g.rnd.Intn(3600)) * time.Second).Format(time.RFC1123Z)}, {"Message-ID", "<" + id + ">"},
		{"MIME-Version", "1.0"}, {"Content-Type", `text/plain; charset="utf-8"`}, {"Content-Transfer-Encoding", "8bit"}}
	body := fmt.Sprintf("Guten Tag,\n\nich habe eine Frage zu meinem Anliegen in %s.\n\nMit freundlichen Grüßen\n%s\n", a.Address.Place, a.Name())
	return &Mail{Raw: append(writeHeader(hdr), crlf(body)...), MessageID: id, Kind: "other", Review: app.ReviewNotPortal}
}

// Bounce is a delivery status notification.
func (g *Generator) Bounce() *Mail {
	id := g.messageID("mx.cochem-zell-online.example")
	hdr := [][2]string{{"From", "Mail Delivery System <MAILER-DAEMON@mx.cochem-zell-online.example>"}, {"To", "eingang@cochem-zell-online.example"},
		{"Subject", "Undelivered Mail Returned to Sender"}, {"Date", g.Now.Format(time.RFC1123Z)}, {"Message-ID", "<" + id + ">"},
		{"Auto-Submitted", "auto-replied"}, {"MIME-Version", "1.0"}}
	parts := []mpart{textPart("This is the mail system at host mx.\n\nI'm sorry to have to inform you that your message could not be delivered.\n"),
		{header: "Content-Type: message/delivery-status\r\n", body: []byte("Reporting-MTA: dns; mx\r\nFinal-Recipient: rfc822; nobody@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n")},
		{header: "Content-Type: message/rfc822\r\n", body: []byte("From: eingang@cochem-zell-online.example\r\nTo: nobody@example.org\r\nSubject: Ihre Anfrage\r\n\r\nHallo\r\n")}}
	mp := buildMultipart("report; report-type=delivery-status", parts)
	hdr = append(hdr, [2]string{"Content-Type", strings.TrimPrefix(strings.TrimSuffix(mp.header, "\r\n"), "Content-Type: ")})
	return &Mail{Raw: append(writeHeader(hdr), mp.body...), MessageID: id, Kind: "other", Review: app.ReviewNotPortal}
}

// Spam is unsolicited advertising.
func (g *Generator) Spam() *Mail {
	id := g.messageID("angebote.example.com")
	hdr := [][2]string{{"From", "Top Angebote <news@angebote.example.com>"}, {"To", "eingang@cochem-zell-online.example"},
		{"Subject", mime.QEncoding.Encode("utf-8", "Nur heute: 90 % Rabatt auf Bürobedarf!")}, {"Date", g.Now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + id + ">"}, {"MIME-Version", "1.0"}, {"Content-Type", `text/html; charset="utf-8"`}, {"Content-Transfer-Encoding", "quoted-printable"}}
	return &Mail{Raw: append(writeHeader(hdr), crlf("<p>Jetzt zugreifen =E2=80=93 solange der Vorrat reicht!</p>\n")...), MessageID: id, Kind: "other", Review: app.ReviewNotPortal}
}

// Unsigned removes the signature header (a forged or misconfigured sender).
func Unsigned(m *Mail) *Mail {
	raw := removeHeader(m.Raw, "X-Buergerportal-Signatur")
	return &Mail{Raw: raw, MessageID: m.MessageID, Kind: m.Kind, Vorgang: m.Vorgang, Review: app.ReviewSignatureMissing}
}

// BadSignature replaces the signature with a valid-looking but wrong one.
func BadSignature(m *Mail) *Mail {
	raw := removeHeader(m.Raw, "X-Buergerportal-Signatur")
	sig := make([]byte, ed25519.SignatureSize)
	for i := range sig {
		sig[i] = byte(i * 7)
	}
	raw = insertHeader(raw, "X-Buergerportal-Signatur", "ed25519="+base64.StdEncoding.EncodeToString(sig))
	return &Mail{Raw: raw, MessageID: m.MessageID, Kind: m.Kind, Vorgang: m.Vorgang, Review: app.ReviewSignatureInvalid}
}

// Resend is the portal sending the same delivery again with a new Message-ID.
func (g *Generator) Resend(m *Mail) *Mail {
	id := g.messageID("mail.cochem-zell-online.de")
	raw := removeHeader(m.Raw, "Message-ID")
	raw = insertHeader(raw, "Message-ID", "<"+id+">")
	c := *m
	c.Raw, c.MessageID = raw, id
	return &c
}

// BrokenJSON is a correctly signed antrag whose JSON is not readable.
func (g *Generator) BrokenJSON() *Mail {
	v := g.UUID()
	payload := []byte(`{"schema": "https://cochem-zell-online.de/schema/antrag/1", "vorgang": "` + v + `", "leistung": {"schluessel": "sperrmuell"`)
	hdr := g.portalHeader("antrag", v, "sperrmuell", "[Bürgerportal] Sperrmüll – Vorgang "+v[:8], payload)
	raw := buildMixed(hdr, []mpart{textPart("Neuer Antrag\n"), attachPart("application/json", "antrag.json", payload)})
	return &Mail{Raw: raw, MessageID: headerValue(hdr, "Message-ID"), Kind: "antrag", Vorgang: v, Review: app.ReviewPayloadInvalid}
}

// Malformed is a mail whose MIME structure is broken (multipart without
// boundary).
func (g *Generator) Malformed() *Mail {
	id := g.messageID("example.net")
	hdr := [][2]string{{"From", "irgendwer@example.net"}, {"To", "eingang@cochem-zell-online.example"}, {"Subject", "Rechnung"},
		{"Date", g.Now.Format(time.RFC1123Z)}, {"Message-ID", "<" + id + ">"}, {"MIME-Version", "1.0"}, {"Content-Type", "multipart/mixed"}}
	return &Mail{Raw: append(writeHeader(hdr), crlf("--x\nkaputt\n")...), MessageID: id, Kind: "other", Review: app.ReviewMalformed}
}

// Large returns a citizen mail of about n bytes (for the size limit).
func (g *Generator) Large(n int) *Mail {
	m := g.CitizenMail()
	var b bytes.Buffer
	b.Write(m.Raw)
	line := strings.Repeat("x", 76) + "\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	m.Raw = b.Bytes()
	m.Review = app.ReviewTooLarge
	return m
}

// portalHeader returns the header fields of a portal delivery signed over payload.
func (g *Generator) portalHeader(kind, vorgang, service, subject string, payload []byte) [][2]string {
	id := g.messageID("mail.cochem-zell-online.de")
	h := [][2]string{
		{"From", mime.QEncoding.Encode("utf-8", "Bürgerportal") + " Cochem-Zell <noreply@cochem-zell-online.de>"},
		{"To", "Funktionspostfach " + mime.QEncoding.Encode("utf-8", "Bürgerportal") + " <eingang@cochem-zell-online.example>"},
		{"Date", g.Now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + id + ">"},
		{"Auto-Submitted", "auto-generated"},
		{"X-Buergerportal-Version", fmt.Sprint(max(g.Version, 1))},
		{"X-Buergerportal-Art", kind},
		{"X-Buergerportal-Vorgang", vorgang},
	}
	if service != "" {
		h = append(h, [2]string{"X-Buergerportal-Leistung", service})
	}
	h = append(h, [2]string{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		[2]string{"X-Buergerportal-Signatur", "ed25519=" + base64.StdEncoding.EncodeToString(ed25519.Sign(g.Key, payload))},
		[2]string{"MIME-Version", "1.0"})
	return h
}

func headerValue(h [][2]string, k string) string {
	for _, kv := range h {
		if kv[0] == k {
			return strings.Trim(kv[1], "<>")
		}
	}
	return ""
}

func encodeAddr(name, addr string) string {
	return mime.QEncoding.Encode("utf-8", name) + " <" + addr + ">"
}

type mpart struct {
	header string // complete header lines, each ending in CRLF
	body   []byte
}

func textPart(s string) mpart {
	return mpart{header: "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 8bit\r\n", body: crlf(s)}
}

func attachPart(ctype, name string, data []byte) mpart {
	return mpart{header: fmt.Sprintf("Content-Type: %s; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"%s\"\r\n", ctype, name, name), body: b64(data)}
}

func b64(data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
	return b.Bytes()
}

func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}

func buildMultipart(sub string, parts []mpart) mpart {
	boundary := fmt.Sprintf("===============%019d==", nextBoundary())
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		b.WriteString(p.header)
		b.WriteString("\r\n")
		b.Write(p.body)
		if !bytes.HasSuffix(p.body, []byte("\r\n")) {
			b.WriteString("\r\n")
		}
	}
	b.WriteString("--" + boundary + "--\r\n")
	return mpart{header: fmt.Sprintf("Content-Type: multipart/%s; boundary=\"%s\"\r\n", sub, boundary), body: b.Bytes()}
}

var boundarySeq uint64 = 1469387

func nextBoundary() uint64 {
	boundarySeq = boundarySeq*6364136223846793005 + 1442695040888963407
	return boundarySeq % 1e19
}

func buildMixed(hdr [][2]string, parts []mpart) []byte {
	mp := buildMultipart("mixed", parts)
	var b bytes.Buffer
	b.Write(writeHeader(hdr[:len(hdr):len(hdr)]))
	// writeHeader ended the block with an empty line; put Content-Type before it.
	out := bytes.TrimSuffix(b.Bytes(), []byte("\r\n"))
	out = append(out, mp.header...)
	out = append(out, "\r\n"...)
	return append(out, mp.body...)
}

func writeHeader(h [][2]string) []byte {
	var b bytes.Buffer
	for _, kv := range h {
		b.WriteString(kv[0] + ": " + kv[1] + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func removeHeader(raw []byte, name string) []byte {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		return raw
	}
	lines := strings.Split(string(raw[:end]), "\r\n")
	var keep []string
	skip := false
	for _, l := range lines {
		if skip && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) {
			continue
		}
		skip = len(l) > len(name) && strings.EqualFold(l[:len(name)+1], name+":")
		if !skip {
			keep = append(keep, l)
		}
	}
	return append([]byte(strings.Join(keep, "\r\n")), raw[end:]...)
}

func insertHeader(raw []byte, name, value string) []byte {
	return append([]byte(name+": "+value+"\r\n"), raw...)
}

// SetHeader replaces (or adds) a header field of a mail, leaving the rest
// (and so the signature) as it is.
func SetHeader(raw []byte, name, value string) []byte {
	return insertHeader(removeHeader(raw, name), name, value)
}

// Relabel re-sends a signed delivery under another kind, with a new
// Message-ID: what someone who can read a signed part and put a mail into
// the mailbox could do. The signed part is unchanged, and so is its
// signature.
func (g *Generator) Relabel(m *Mail, kind string) *Mail {
	raw := SetHeader(m.Raw, "X-Buergerportal-Art", kind)
	id := g.messageID("evil.example")
	raw = SetHeader(raw, "Message-ID", "<"+id+">")
	return &Mail{Raw: raw, MessageID: id, Kind: kind, Vorgang: m.Vorgang}
}

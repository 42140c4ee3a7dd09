package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// PersonQuery identifies one person for a request under Art. 15 DSGVO:
// name and birth date, or an e-mail address (or both).
type PersonQuery struct {
	Name      string // "Anna Muster" (first and last name, either order)
	BirthDate string // YYYY-MM-DD
	Email     string
}

// Check normalises the query and says what is missing.
func (q *PersonQuery) Check() error {
	q.Name = strings.Join(strings.Fields(q.Name), " ")
	q.Email = strings.TrimSpace(q.Email)
	q.BirthDate = strings.TrimSpace(q.BirthDate)
	if q.BirthDate != "" {
		iso, ok := ParseGermanDate(q.BirthDate)
		if !ok {
			return &Error{Code: EINVALID, Field: "birthdate", Message: "Das Geburtsdatum „" + q.BirthDate + "“ ist kein Datum (TT.MM.JJJJ)."}
		}
		q.BirthDate = iso
	}
	if q.Email != "" && !strings.Contains(q.Email, "@") {
		return &Error{Code: EINVALID, Field: "email", Message: "Die E-Mail-Adresse „" + q.Email + "“ ist ungültig."}
	}
	byName := q.Name != "" && q.BirthDate != ""
	if !byName && q.Email == "" {
		return &Error{Code: EINVALID, Field: "name", Message: "Bitte Name und Geburtsdatum oder die E-Mail-Adresse der Person angeben. Ein Name allein genügt nicht: er kann mehrere Personen bezeichnen."}
	}
	return nil
}

// FoldName folds a name for comparison: lower case, without accents,
// "ß" as "ss", words sorted (so "Muster Anna" matches "Anna Muster").
func FoldName(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "ß", "ss"), "ẞ", "SS")
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(' ')
		}
	}
	words := strings.Fields(b.String())
	for i := 1; i < len(words); i++ {
		for j := i; j > 0 && words[j] < words[j-1]; j-- {
			words[j], words[j-1] = words[j-1], words[j]
		}
	}
	return strings.Join(words, " ")
}

// PersonData is everything stored about one person.
type PersonData struct {
	Query PersonQuery
	Cases []*Case
	Notes map[string][]Note // by case reference: notes and the citizen's messages
	// Messages are the messages to the citizen, by case reference
	// (without the composed mail).
	Messages     map[string][]Outgoing
	Appointments []Appointment
	Mails        []ReviewItem // mails from the person's address on the review list (without the raw mail)
	At           time.Time    // when it was collected
}

// PersonFinder finds a person's data (implemented by storage).
type PersonFinder interface {
	FindPerson(ctx context.Context, q PersonQuery) (*PersonData, error)
}

// ExportPerson collects a person's data for an Art. 15 request and audits
// it: one "case.export" per case, "appointment.export" per appointment and
// a "person.export" summary (counts only, never the name).
func ExportPerson(ctx context.Context, f PersonFinder, log AuditLog, by Actor, q PersonQuery) (*PersonData, error) {
	if !by.Is(RoleLead) {
		return nil, Forbidden("Die Auskunft nach Art. 15 DSGVO")
	}
	if err := q.Check(); err != nil {
		return nil, err
	}
	d, err := f.FindPerson(ctx, q)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	for _, c := range d.Cases {
		if err := log.Audit(ctx, AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: ActionCaseExport, Ref: c.Ref, Detail: "art15"}); err != nil {
			return nil, err
		}
	}
	for _, a := range d.Appointments {
		if err := log.Audit(ctx, AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: ActionAppointmentExport, Ref: a.UID, Detail: "art15"}); err != nil {
			return nil, err
		}
	}
	detail := fmt.Sprintf("cases=%d appointments=%d mails=%d", len(d.Cases), len(d.Appointments), len(d.Mails))
	if err := log.Audit(ctx, AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: ActionPersonExport, Detail: detail}); err != nil {
		return nil, err
	}
	return d, nil
}

// PersonJSON is the machine-readable Art. 15 export.
type PersonJSON struct {
	Created      string                  `json:"erstellt"`
	Query        map[string]string       `json:"anfrage"`
	Cases        []PersonCaseJSON        `json:"vorgaenge"`
	Appointments []PersonAppointmentJSON `json:"termine"`
	Mails        []PersonMailJSON        `json:"mails"`
}

// PersonCaseJSON is one case with everything stored about it.
type PersonCaseJSON struct {
	Ref         string           `json:"aktenzeichen"`
	Service     string           `json:"leistung"`
	Office      string           `json:"dienststelle"`
	Channel     string           `json:"eingangsweg"`
	Status      string           `json:"status"`
	ReceivedAt  string           `json:"eingang"`
	ClosedAt    string           `json:"abgeschlossen,omitempty"`
	Applicant   Applicant        `json:"antragsteller"`
	Fields      json.RawMessage  `json:"angaben,omitempty"`
	Attachments []Attachment     `json:"anlagen"`
	Notes       []PersonNoteJSON `json:"verlauf"`
	Messages    []PersonTellJSON `json:"nachrichten_an_buerger"`
}

// PersonTellJSON is a message to the citizen.
type PersonTellJSON struct {
	At        string   `json:"zeit"`
	Status    string   `json:"status"`
	Text      string   `json:"text"`
	Documents []string `json:"fehlende_unterlagen,omitempty"`
	Deadline  string   `json:"frist,omitempty"`
	State     string   `json:"zustand"`
}

// PersonNoteJSON is a note or message.
type PersonNoteJSON struct {
	At          string       `json:"zeit"`
	Author      string       `json:"von"`
	Kind        string       `json:"art"`
	Text        string       `json:"text"`
	Attachments []Attachment `json:"anlagen,omitempty"`
}

// PersonAppointmentJSON is a booking with the citizen's data.
type PersonAppointmentJSON struct {
	AppointmentJSON
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	Location string `json:"ort,omitempty"`
}

// PersonMailJSON is a kept mail's metadata.
type PersonMailJSON struct {
	MessageID  string `json:"message_id"`
	Subject    string `json:"betreff"`
	From       string `json:"absender"`
	ReceivedAt string `json:"eingang"`
	Reason     string `json:"grund"`
}

// NewPersonJSON converts the export.
func NewPersonJSON(d *PersonData) PersonJSON {
	rfc := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(Berlin).Format(time.RFC3339)
	}
	j := PersonJSON{Created: rfc(d.At), Query: map[string]string{}, Cases: []PersonCaseJSON{},
		Appointments: []PersonAppointmentJSON{}, Mails: []PersonMailJSON{}}
	if d.Query.Name != "" {
		j.Query["name"] = d.Query.Name
	}
	if d.Query.BirthDate != "" {
		j.Query["geburtsdatum"] = d.Query.BirthDate
	}
	if d.Query.Email != "" {
		j.Query["email"] = d.Query.Email
	}
	for _, c := range d.Cases {
		pc := PersonCaseJSON{Ref: c.Ref, Service: c.Service, Office: string(c.Office), Channel: string(c.Channel),
			Status: string(c.Status), ReceivedAt: rfc(c.ReceivedAt), ClosedAt: rfc(c.ClosedAt), Applicant: c.Applicant,
			Attachments: append([]Attachment{}, c.Attachments...), Notes: []PersonNoteJSON{}, Messages: []PersonTellJSON{}}
		if len(c.Fields) > 0 && json.Valid(c.Fields) {
			pc.Fields = c.Fields
		}
		for _, n := range d.Notes[c.Ref] {
			pc.Notes = append(pc.Notes, PersonNoteJSON{At: rfc(n.At), Author: n.Author, Kind: n.Kind, Text: n.Text, Attachments: n.Attachments})
		}
		for _, m := range d.Messages[c.Ref] {
			t := PersonTellJSON{At: rfc(m.QueuedAt), Status: string(m.Status), Text: m.Text, Documents: m.Documents, State: string(m.State)}
			if !m.Deadline.IsZero() {
				t.Deadline = m.Deadline.In(Berlin).Format("2006-01-02")
			}
			pc.Messages = append(pc.Messages, t)
		}
		j.Cases = append(j.Cases, pc)
	}
	for i := range d.Appointments {
		a := &d.Appointments[i]
		j.Appointments = append(j.Appointments, PersonAppointmentJSON{AppointmentJSON: NewAppointmentJSON(a),
			Name: a.CitizenName, Email: a.CitizenEmail, Location: a.Location})
	}
	for _, m := range d.Mails {
		j.Mails = append(j.Mails, PersonMailJSON{MessageID: m.MessageID, Subject: m.Subject, From: m.From, ReceivedAt: rfc(m.ReceivedAt), Reason: string(m.Reason)})
	}
	return j
}

package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// PortalStatus is what a status message tells the citizen of a portal case
// (portal README section 8.1, field "status"). It is not the case's own
// Status: "unterlagen_fehlen" is Waiting with a list of documents,
// "weitergeleitet" is a forward, "eingegangen" the taking in of a portal application.
type PortalStatus string

// The status values of the return channel.
const (
	PortalReceived    PortalStatus = "eingegangen"
	PortalInProgress  PortalStatus = "in_bearbeitung"
	PortalDocsMissing PortalStatus = "unterlagen_fehlen"
	PortalForwarded   PortalStatus = "weitergeleitet"
	PortalDone        PortalStatus = "abgeschlossen"
	PortalRejected    PortalStatus = "abgelehnt"
	PortalWithdrawn   PortalStatus = "zurueckgenommen"
)

// PortalStatuses lists every status value in the contract's order.
var PortalStatuses = []PortalStatus{PortalReceived, PortalInProgress, PortalDocsMissing, PortalForwarded, PortalDone, PortalRejected, PortalWithdrawn}

// Valid reports whether s is one of the contract's values.
func (s PortalStatus) Valid() bool {
	for _, v := range PortalStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Label is the status as the citizen and the clerk read it.
func (s PortalStatus) Label() string {
	switch s {
	case PortalReceived:
		return "Eingegangen"
	case PortalInProgress:
		return "In Bearbeitung"
	case PortalDocsMissing:
		return "Unterlagen fehlen"
	case PortalForwarded:
		return "Weitergeleitet"
	case PortalDone:
		return "Abgeschlossen"
	case PortalRejected:
		return "Abgelehnt"
	case PortalWithdrawn:
		return "Zurückgenommen"
	}
	return string(s)
}

// Answers says which status messages of a service go to the citizen by
// themselves (catalog field "rueckmeldungen"). The others of a status
// change always go: a citizen must hear that documents are missing, that
// the case moved to another office, and how it ended.
type Answers struct {
	// Received: "eingegangen" with the Eingangsbestätigung when a portal
	// application is taken in. Default on.
	Received *bool `json:"eingegangen,omitempty"`
	// InProgress: "in_bearbeitung" when a clerk starts work. Default off:
	// for a quick service it is noise.
	InProgress *bool `json:"in_bearbeitung,omitempty"`
}

// SendsReceived reports whether an "eingegangen" message goes out when a
// portal application of the service is taken in.
func (s *Service) SendsReceived() bool {
	return s == nil || s.Answers == nil || s.Answers.Received == nil || *s.Answers.Received
}

// SendsInProgress reports whether "in_bearbeitung" goes out for the service.
func (s *Service) SendsInProgress() bool {
	return s != nil && s.Answers != nil && s.Answers.InProgress != nil && *s.Answers.InProgress
}

// PortalStatusFor returns the status message a clerk's change of a case of
// the service to the status to causes, and false when none goes out.
func PortalStatusFor(svc *Service, to Status) (PortalStatus, bool) {
	switch to {
	case StatusInProgress:
		return PortalInProgress, svc.SendsInProgress()
	case StatusWaiting:
		return PortalDocsMissing, true
	case StatusDone:
		return PortalDone, true
	case StatusRejected:
		return PortalRejected, true
	case StatusWithdrawn:
		return PortalWithdrawn, true
	}
	return "", false
}

// AddWorkingDays returns the day n working days after t's day (Europe/Berlin,
// midnight), counting only days the offices are open (Monday to Friday
// without the holidays of Rhineland-Palatinate). n <= 0 gives t's day.
func AddWorkingDays(t time.Time, n int) time.Time {
	y, m, d := t.In(Berlin).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, Berlin)
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if IsWorkingDay(day.Add(12 * time.Hour)) {
			n--
		}
	}
	return day
}

// StatusTextsFileName is the file in the data directory that replaces the
// embedded texts of the status messages.
const StatusTextsFileName = "statustexte.json"

// StatusTexts are the texts of the messages to the citizen, per status and,
// where a service needs its own words, per service and status. They are
// data an administrator changes (like the catalog): plain German with
// placeholders in braces, filled in when a clerk changes a case; the clerk
// sees the result and can edit it before it goes.
type StatusTexts struct {
	Version int    `json:"version"`
	Hinweis string `json:"hinweis,omitempty"`
	// Texts per status; every status needs one.
	Texts map[PortalStatus]string `json:"texte"`
	// Services: a service's own texts, replacing Texts for that status.
	Services map[string]map[PortalStatus]string `json:"leistungen,omitempty"`
	// Free is the start of a free message ("Nachricht an Bürger").
	Free string `json:"nachricht"`
}

// TextValues fill the placeholders of a status text.
type TextValues struct {
	Applicant   Applicant // {anrede}: "Sehr geehrte Frau Muster," and the like
	Ref         string    // {aktenzeichen}
	Service     string    // {leistung}: the service's name
	Office      string    // {dienststelle}: the office's name
	Received    time.Time // {eingang}: when the application arrived (date)
	Documents   []string  // {unterlagen}: one per line, with "– "
	Deadline    time.Time // {frist}: the date the citizen has until
	ForwardedTo string    // {weitergeleitet_an}: the receiving office's name
	Reason      string    // {grund}: the clerk's reason (rejection, withdrawal)
}

// placeholders are the names a text may use, with a German description for
// the error an administrator reads.
var placeholders = map[string]string{
	"anrede":            "Anrede mit Namen",
	"aktenzeichen":      "Aktenzeichen",
	"leistung":          "Bezeichnung der Leistung",
	"dienststelle":      "Name der Dienststelle",
	"eingang":           "Eingangsdatum",
	"unterlagen":        "fehlende Unterlagen, je eine Zeile",
	"frist":             "Frist (Datum)",
	"weitergeleitet_an": "Name der neuen Dienststelle",
	"grund":             "Begründung der Sachbearbeitung",
}

var placeholderRE = regexp.MustCompile(`\{([^{}]*)\}`)

// ParseStatusTexts reads and checks a texts file against the catalog: every
// status has a text, every placeholder is known, every service exists.
func ParseStatusTexts(b []byte, cat *Catalog) (*StatusTexts, error) {
	var t StatusTexts
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	check := func(where, text string) error {
		if strings.TrimSpace(text) == "" {
			return fmt.Errorf("%s: der Text ist leer", where)
		}
		for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
			if _, ok := placeholders[m[1]]; !ok {
				return fmt.Errorf("%s: unbekannter Platzhalter {%s} (erlaubt: %s)", where, m[1], placeholderList())
			}
		}
		return nil
	}
	for _, st := range PortalStatuses {
		if err := check(fmt.Sprintf("texte.%s", st), t.Texts[st]); err != nil {
			return nil, err
		}
	}
	for st := range t.Texts {
		if !st.Valid() {
			return nil, fmt.Errorf("texte: unbekannter Status %q", st)
		}
	}
	if err := check("nachricht", t.Free); err != nil {
		return nil, err
	}
	for key, m := range t.Services {
		if cat != nil && cat.Service(key) == nil {
			return nil, fmt.Errorf("leistungen: %q steht nicht im Leistungskatalog", key)
		}
		for st, text := range m {
			if !st.Valid() {
				return nil, fmt.Errorf("leistungen.%s: unbekannter Status %q", key, st)
			}
			if err := check(fmt.Sprintf("leistungen.%s.%s", key, st), text); err != nil {
				return nil, err
			}
		}
	}
	return &t, nil
}

func placeholderList() string {
	names := make([]string, 0, len(placeholders))
	for n := range placeholders {
		names = append(names, "{"+n+"}")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Template returns the unfilled text for the service and status.
func (t *StatusTexts) Template(service string, st PortalStatus) string {
	if s, ok := t.Services[service][st]; ok {
		return s
	}
	return t.Texts[st]
}

// Render fills the text of the service and status with v.
func (t *StatusTexts) Render(service string, st PortalStatus, v TextValues) string {
	return fill(t.Template(service, st), v)
}

// RenderFree fills the start of a free message.
func (t *StatusTexts) RenderFree(v TextValues) string { return fill(t.Free, v) }

func fill(text string, v TextValues) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		switch m[1 : len(m)-1] {
		case "anrede":
			return v.Applicant.Greeting()
		case "aktenzeichen":
			return v.Ref
		case "leistung":
			return v.Service
		case "dienststelle":
			return v.Office
		case "eingang":
			return dateOrBlank(v.Received)
		case "unterlagen":
			lines := make([]string, len(v.Documents))
			for i, d := range v.Documents {
				lines[i] = "– " + d
			}
			return strings.Join(lines, "\n")
		case "frist":
			return dateOrBlank(v.Deadline)
		case "weitergeleitet_an":
			return v.ForwardedTo
		case "grund":
			return v.Reason
		}
		return m
	})
}

func dateOrBlank(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return FormatDate(t)
}

// Greeting is the letter's opening line for the applicant: "Sehr geehrte
// Frau Muster," with a known Anrede, else "Guten Tag Alex Muster,".
func (a Applicant) Greeting() string {
	name := strings.TrimSpace(a.LastName)
	switch strings.TrimSpace(a.Salutation) {
	case "Frau":
		if name != "" {
			return "Sehr geehrte Frau " + name + ","
		}
	case "Herr":
		if name != "" {
			return "Sehr geehrter Herr " + name + ","
		}
	}
	full := strings.TrimSpace(strings.TrimSpace(a.FirstName) + " " + name)
	if full == "" {
		return "Guten Tag,"
	}
	return "Guten Tag " + full + ","
}

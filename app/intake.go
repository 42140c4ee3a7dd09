package app

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// IntakeInput is a walk-in application as the clerk typed it at the counter:
// every value is text. Service fields are keyed by their catalog path; the
// parts of an address field by path + ".strasse", ".hausnummer", ".plz",
// ".ort" and ".gemeindeschluessel"; a bool field is "ja" or "nein"; a list of
// municipalities is separated by commas; items are one per line ("2 Sessel").
type IntakeInput struct {
	Service     string
	Salutation  string
	FirstName   string
	LastName    string
	BirthDate   string // "14.03.1985" (ISO accepted too)
	Street      string
	HouseNumber string
	Postcode    string
	Place       string
	AGS         string // set when the clerk picked a municipality; checked again
	Email       string
	Phone       string
	Fields      map[string]string
}

// Paths of the applicant's form fields, used in FieldError.Path.
const (
	PathService     = "leistung"
	PathFirstName   = "antragsteller.vorname"
	PathLastName    = "antragsteller.nachname"
	PathBirthDate   = "antragsteller.geburtsdatum"
	PathStreet      = "antragsteller.anschrift.strasse"
	PathHouseNumber = "antragsteller.anschrift.hausnummer"
	PathPostcode    = "antragsteller.anschrift.plz"
	PathPlace       = "antragsteller.anschrift.ort"
	PathEmail       = "antragsteller.email"
)

// Intake is the outcome of checking an IntakeInput: the data converted to
// what a portal application would carry, the errors per field (German), and
// the routing decision, so the counter form can show all three live.
type Intake struct {
	Service      *Service // nil when none or unknown
	Applicant    Applicant
	Angaben      map[string]any
	Errors       []FieldError
	Decision     Decision
	Municipality *Municipality // the applicant's Ortsgemeinde, if found
}

// OK reports whether the intake can be saved.
func (it *Intake) OK() bool { return len(it.Errors) == 0 }

// ErrorsFor returns the messages for one field path (joined), or "".
func (it *Intake) ErrorsFor(path string) string {
	var msgs []string
	for _, e := range it.Errors {
		if e.Path == path {
			msgs = append(msgs, e.Message)
		}
	}
	return strings.Join(msgs, " ")
}

// NewCase turns a valid intake into the input for CaseStore.CreateCase.
// key makes saving idempotent (one key per form); clerk is the actor's sign.
func (it *Intake) NewCase(key, clerk string, now time.Time) (*NewCase, error) {
	if !it.OK() {
		e := it.Errors[0]
		return nil, &Error{Code: EINVALID, Field: e.Path, Message: fmt.Sprintf("Bitte „%s“ prüfen: %s", e.Label, e.Message)}
	}
	fields, err := json.Marshal(it.Angaben)
	if err != nil {
		return nil, fmt.Errorf("encode fields: %w", err)
	}
	return &NewCase{
		IdempotencyKey: key,
		Channel:        ChannelCounter,
		Service:        it.Service.Key,
		Applicant:      it.Applicant,
		Fields:         fields,
		Flags:          append([]Flag(nil), it.Decision.Flags...),
		Routing:        it.Decision,
		ReceivedAt:     now.UTC(),
		Clerk:          clerk,
	}, nil
}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// Intake checks and converts a walk-in application. It never fails: what
// is wrong is in Errors, what routing makes of it in Decision.
func (r *Registry) Intake(in IntakeInput, now time.Time) *Intake {
	it := &Intake{Angaben: map[string]any{}}
	add := func(path, label, msg string) {
		it.Errors = append(it.Errors, FieldError{Path: path, Label: label, Message: msg})
	}
	key := strings.TrimSpace(in.Service)
	switch svc := r.Catalog.Service(key); {
	case key == "":
		add(PathService, "Leistung", "Bitte eine Leistung wählen.")
	case svc == nil:
		add(PathService, "Leistung", fmt.Sprintf("Die Leistung „%s“ steht nicht im Leistungskatalog.", key))
	case svc.AppointmentOnly:
		add(PathService, "Leistung", "Für diese Leistung gibt es nur Termine, keinen Antrag.")
	default:
		it.Service = svc
	}

	// The applicant.
	a := Applicant{
		Salutation: strings.TrimSpace(in.Salutation),
		FirstName:  strings.TrimSpace(in.FirstName),
		LastName:   strings.TrimSpace(in.LastName),
		Email:      strings.TrimSpace(in.Email),
		Phone:      strings.TrimSpace(in.Phone),
		Address: Address{
			Street:      strings.TrimSpace(in.Street),
			HouseNumber: strings.TrimSpace(in.HouseNumber),
			Postcode:    strings.TrimSpace(in.Postcode),
			Place:       strings.TrimSpace(in.Place),
		},
	}
	required := func(path, label, v string) {
		if v == "" {
			add(path, label, "Bitte ausfüllen.")
		}
	}
	required(PathFirstName, "Vorname", a.FirstName)
	required(PathLastName, "Nachname", a.LastName)
	if b := strings.TrimSpace(in.BirthDate); b != "" {
		iso, ok := ParseGermanDate(b)
		switch {
		case !ok:
			add(PathBirthDate, "Geburtsdatum", DateProblem(b))
		case iso > now.In(Berlin).Format("2006-01-02"):
			add(PathBirthDate, "Geburtsdatum", "Das Datum darf nicht in der Zukunft liegen.")
		case iso < "1900-01-01":
			add(PathBirthDate, "Geburtsdatum", "Das Datum liegt zu weit zurück; bitte prüfen.")
		default:
			a.BirthDate = iso
		}
	}
	required(PathStreet, "Straße", a.Address.Street)
	switch {
	case a.Address.Postcode == "":
		add(PathPostcode, "Postleitzahl", "Bitte ausfüllen.")
	case !plzRE.MatchString(a.Address.Postcode):
		add(PathPostcode, "Postleitzahl", "Die Postleitzahl hat fünf Ziffern.")
	}
	required(PathPlace, "Ort", a.Address.Place)
	if a.Email != "" && !emailRE.MatchString(a.Email) {
		add(PathEmail, "E-Mail", "Die E-Mail-Adresse ist unvollständig (Beispiel: name@example.org).")
	}
	a.Address.AGS, it.Municipality = r.addressAGS(in.AGS, a.Address.Postcode, a.Address.Place)
	it.Applicant = a

	if it.Service != nil {
		for _, f := range it.Service.Fields {
			if v, ok := r.convertField(f, in.Fields); ok {
				setPath(it.Angaben, f.Path, v)
			}
		}
		it.Errors = append(it.Errors, it.Service.Validate(it.Angaben, r, now)...)
		it.Decision = r.Route(RouteInput{Service: it.Service.Key, Applicant: a, Fields: it.Angaben})
	} else {
		it.Decision = Decision{Reason: "Zuständigkeit: erst die Leistung wählen."}
	}
	return it
}

// addressAGS returns the AGS of the Ortsgemeinde for an address: the picked
// one when it still fits postcode and place, else what the place and
// postcode decide on their own; "" when they do not decide.
func (r *Registry) addressAGS(ags, plz, ort string) (string, *Municipality) {
	if m := r.Municipality(ags); m != nil && m.HasPostcode(plz) {
		for _, c := range r.MatchPlace(ort) {
			if c == m {
				return m.AGS, m
			}
		}
	}
	if plz == "" && ort == "" {
		return "", nil
	}
	if m, _, _ := r.ResolvePlace("", plz, ort); m != nil {
		return m.AGS, m
	}
	return "", nil
}

// convertField turns the typed text of one service field into the JSON
// value the catalog expects. Text that cannot be converted is kept as typed
// so that Validate names the problem.
func (r *Registry) convertField(f *FieldSpec, in map[string]string) (any, bool) {
	raw := strings.TrimSpace(in[f.Path])
	switch f.Type {
	case TypeAddress:
		m := map[string]any{}
		for _, k := range []string{"strasse", "hausnummer", "plz", "ort"} {
			if v := strings.TrimSpace(in[f.Path+"."+k]); v != "" {
				m[k] = v
			}
		}
		if len(m) == 0 {
			return nil, false
		}
		plz, _ := m["plz"].(string)
		ort, _ := m["ort"].(string)
		if ags, _ := r.addressAGS(strings.TrimSpace(in[f.Path+".gemeindeschluessel"]), plz, ort); ags != "" {
			m["gemeindeschluessel"] = ags
		}
		return m, true
	case TypeBool:
		switch strings.ToLower(raw) {
		case "":
			return nil, false
		case "ja", "j", "true", "1", "x", "yes":
			return true, true
		case "nein", "n", "false", "0", "no":
			return false, true
		}
		return raw, true
	}
	if raw == "" {
		return nil, false
	}
	switch f.Type {
	case TypeDate:
		if iso, ok := ParseGermanDate(raw); ok {
			return iso, true
		}
	case TypeTime:
		if t, ok := parseClock(raw); ok {
			return t, true
		}
	case TypeInt, TypeNumber:
		if n, err := strconv.ParseFloat(strings.Replace(raw, ",", ".", 1), 64); err == nil {
			return n, true
		}
	case TypeAGS:
		return r.placeToAGS(raw), true
	case TypeAGSList:
		var list []any
		for _, p := range strings.FieldsFunc(raw, func(c rune) bool { return c == ',' || c == ';' || c == '\n' }) {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, r.placeToAGS(p))
			}
		}
		return list, true
	case TypeItems:
		return parseItems(raw, f.Options), true
	}
	return raw, true
}

var agsInText = regexp.MustCompile(`\b[0-9]{8}\b`)

// placeToAGS accepts an AGS, "Name (AGS)" as the completion writes it, or a
// municipality's name that names exactly one; anything else is returned as
// typed.
func (r *Registry) placeToAGS(s string) string {
	if m := agsInText.FindString(s); m != "" {
		return m
	}
	if ms := r.MatchPlace(s); len(ms) == 1 {
		return ms[0].AGS
	}
	return s
}

var itemRE = regexp.MustCompile(`^\s*([0-9]+)\s*(?:x|×|\*|mal)?\s+(.*)$`)

// parseItems reads one item per line: "2 Sessel", "2x Sessel", or "Sessel"
// (one). With options (a fixed list of kinds) the kind is matched loosely:
// "Kühlgerät" finds "kuehlgeraet".
func parseItems(s string, options []string) []any {
	var out []any
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var n any = float64(1)
		name := line
		if m := itemRE.FindStringSubmatch(line); m != nil {
			c, _ := strconv.Atoi(m[1])
			n, name = float64(c), strings.TrimSpace(m[2])
		}
		it := map[string]any{"anzahl": n}
		if len(options) > 0 {
			kind, desc, _ := strings.Cut(name, ":")
			it["art"] = matchOption(strings.TrimSpace(kind), options)
			if desc = strings.TrimSpace(desc); desc != "" {
				it["bezeichnung"] = desc
			}
		} else {
			it["bezeichnung"] = name
		}
		out = append(out, it)
	}
	return out
}

func matchOption(s string, options []string) string {
	n := strings.ReplaceAll(NormalizePlace(s), " ", "")
	for _, o := range options {
		if n == o {
			return o
		}
	}
	for _, o := range options {
		if n != "" && strings.HasPrefix(o, n) {
			return o
		}
	}
	return s
}

var clockRE = regexp.MustCompile(`^([0-9]{1,2})(?:[:.]?([0-9]{2}))?$`)

func parseClock(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), " Uhr")
	m := clockRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	h, _ := strconv.Atoi(m[1])
	min := 0
	if m[2] != "" {
		min, _ = strconv.Atoi(m[2])
	}
	if h > 23 || min > 59 {
		return "", false
	}
	return fmt.Sprintf("%02d:%02d", h, min), true
}

// setPath sets a dotted path in nested maps, creating them as needed.
func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// FieldValue is one service field as a clerk reads it.
type FieldValue struct {
	Path  string
	Label string // German label from the catalog; the path for unknown fields
	Value string // formatted for reading; raw JSON for unknown fields
	Known bool   // false: not in the catalog, shown raw
}

// DisplayFields returns a case's service fields for reading: every field of
// the catalog that is present, with its German label and formatted value,
// then every other field the portal sent, raw, so nothing is hidden.
func (r *Registry) DisplayFields(service string, fields json.RawMessage) []FieldValue {
	var angaben map[string]any
	if len(fields) > 0 {
		if err := json.Unmarshal(fields, &angaben); err != nil {
			return []FieldValue{{Path: "", Label: "angaben", Value: string(fields)}}
		}
	}
	var out []FieldValue
	covered := map[string]bool{}
	if svc := r.Catalog.Service(service); svc != nil {
		for _, f := range svc.Fields {
			covered[f.Path] = true
			v, ok := Lookup(angaben, f.Path)
			if !ok {
				continue
			}
			out = append(out, FieldValue{Path: f.Path, Label: f.Label, Value: r.formatValue(f, v), Known: true})
		}
	}
	var unknown []FieldValue
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if covered[prefix] {
			return
		}
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, m[k])
			}
			return
		}
		if prefix == "" {
			return
		}
		b, _ := json.Marshal(v)
		unknown = append(unknown, FieldValue{Path: prefix, Label: prefix, Value: string(b)})
	}
	walk("", angaben)
	return append(out, unknown...)
}

func (r *Registry) formatValue(f *FieldSpec, v any) string {
	raw := func() string { b, _ := json.Marshal(v); return string(b) }
	switch f.Type {
	case TypeDate:
		if s, ok := v.(string); ok {
			return FormatISODate(s)
		}
	case TypeBool:
		if b, ok := v.(bool); ok {
			if b {
				return "ja"
			}
			return "nein"
		}
	case TypeInt, TypeNumber:
		if n, ok := number(v); ok {
			return fmtNum(n)
		}
	case TypeAGS:
		if s, ok := v.(string); ok {
			return r.agsName(s)
		}
	case TypeAGSList:
		if list, ok := v.([]any); ok {
			var names []string
			for _, x := range list {
				s, _ := x.(string)
				names = append(names, r.agsName(s))
			}
			return strings.Join(names, ", ")
		}
	case TypeAddress:
		if m, ok := v.(map[string]any); ok {
			str := func(k string) string { s, _ := m[k].(string); return s }
			line := Address{Street: str("strasse"), HouseNumber: str("hausnummer"), Postcode: str("plz"), Place: str("ort")}.Line()
			if ags := str("gemeindeschluessel"); ags != "" {
				line += " (" + r.agsName(ags) + ")"
			}
			return line
		}
	case TypeItems:
		if list, ok := v.([]any); ok {
			var parts []string
			for _, x := range list {
				m, _ := x.(map[string]any)
				name, _ := m["bezeichnung"].(string)
				if art, ok := m["art"].(string); ok {
					label := f.OptionLabel(art)
					if b, _ := m["bezeichnung"].(string); b != "" && b != art {
						label += ": " + b
					}
					name = label
				}
				n, _ := number(m["anzahl"])
				parts = append(parts, fmtNum(n)+" × "+name)
			}
			return strings.Join(parts, ", ")
		}
	default:
		if s, ok := v.(string); ok {
			return s
		}
	}
	return raw()
}

// agsName returns "Briedel (07135018)", or the AGS alone when unknown.
func (r *Registry) agsName(ags string) string {
	if m := r.Municipality(ags); m != nil {
		return m.Name + " (" + m.AGS + ")"
	}
	return ags
}

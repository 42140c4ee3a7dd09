package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Level says which authority handles a service.
type Level string

const (
	LevelKreis Level = "kreis" // always the Kreisverwaltung
	LevelVG    Level = "vg"    // the Verbandsgemeinde of the municipality concerned
)

// Catalog is the service catalog (Leistungskatalog). It is data: the
// embedded default can be replaced by a file the administrator edits.
type Catalog struct {
	Version  int        `json:"version"`
	Hinweis  string     `json:"hinweis,omitempty"`
	Services []*Service `json:"leistungen"`

	byKey map[string]*Service
}

// Service is one Leistung.
type Service struct {
	Key   string `json:"schluessel"`
	Name  string `json:"bezeichnung"`
	Short string `json:"kurz"` // subject for reasons: "Sperrmüll ist Aufgabe des Kreises"
	LeiKa string `json:"leika,omitempty"`
	Level Level  `json:"ebene"`
	// AppointmentOnly services have no application, only bookings.
	AppointmentOnly bool `json:"nur_termin,omitempty"`
	// Routing lists where the municipality that decides a vg case is found,
	// tried in order.
	Routing   []RoutingSource `json:"zustaendigkeit,omitempty"`
	Fields    []*FieldSpec    `json:"felder,omitempty"`
	Documents []string        `json:"unterlagen"`
	// Retention: months after a case is closed, days after an appointment.
	RetentionMonths int `json:"aufbewahrung_monate,omitempty"`
	RetentionDays   int `json:"aufbewahrung_tage,omitempty"`
	// Answers: which status messages go to the citizen by themselves.
	Answers *Answers `json:"rueckmeldungen,omitempty"`
}

// RoutingSource names a field that holds an AGS, a list of AGS or an
// address. A path starting with "antragsteller." reads the applicant;
// anything else reads the service fields (angaben).
type RoutingSource struct {
	Field string `json:"feld"`
	Label string `json:"bezeichnung"` // "Grundstück", "Wohnanschrift"
}

// Field types.
const (
	TypeText    = "text"
	TypeDate    = "date" // YYYY-MM-DD
	TypeTime    = "time" // HH:MM
	TypeBool    = "bool"
	TypeInt     = "int"
	TypeNumber  = "number"
	TypeEnum    = "enum"
	TypeAGS     = "ags"      // 8-digit AGS of a municipality in the Kreis
	TypeAGSList = "ags-list" // list of such
	TypeAddress = "address"  // {strasse, hausnummer, plz, ort, gemeindeschluessel}
	TypeItems   = "items"    // [{bezeichnung|art, anzahl}]
)

// FieldSpec describes one service field and its validation rules.
type FieldSpec struct {
	Path     string   `json:"feld"` // dotted path inside angaben, e.g. "hund.chipnummer"
	Label    string   `json:"label"`
	Type     string   `json:"typ"`
	Required bool     `json:"pflicht,omitempty"`
	Pattern  string   `json:"muster,omitempty"`
	Hint     string   `json:"muster_hinweis,omitempty"` // German sentence shown when the rule fails
	Min      *float64 `json:"min,omitempty"`            // value, or item count for lists
	Max      *float64 `json:"max,omitempty"`
	MaxLen   int      `json:"max_laenge,omitempty"`
	Options  []string `json:"werte,omitempty"`
	// OptionLabels are the German names of the Options ("kuehlgeraet" →
	// "Kühl- oder Gefriergerät"), for the clerk and the letters.
	OptionLabels map[string]string `json:"werte_bezeichnungen,omitempty"`
	NotBefore    string            `json:"nicht_vor,omitempty"` // another field's path
	MaxDaysAfter *struct {
		Field string `json:"feld"`
		Days  int    `json:"tage"`
	} `json:"max_tage_nach,omitempty"`
	NotFuture bool `json:"nicht_in_zukunft,omitempty"`
	NotPast   bool `json:"nicht_in_vergangenheit,omitempty"`

	re *regexp.Regexp
}

// ParseCatalog reads and checks a catalog file.
func ParseCatalog(b []byte) (*Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a typo in an admin's file must not pass silently
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	c.byKey = map[string]*Service{}
	for i, s := range c.Services {
		if s.Key == "" || s.Name == "" {
			return nil, fmt.Errorf("Leistung Nr. %d: schluessel und bezeichnung fehlen", i+1)
		}
		if _, dup := c.byKey[s.Key]; dup {
			return nil, fmt.Errorf("Leistung %q doppelt", s.Key)
		}
		if s.Level != LevelKreis && s.Level != LevelVG {
			return nil, fmt.Errorf("Leistung %q: ebene muss \"kreis\" oder \"vg\" sein", s.Key)
		}
		if s.Level == LevelVG && !s.AppointmentOnly && len(s.Routing) == 0 {
			return nil, fmt.Errorf("Leistung %q: ebene vg braucht zustaendigkeit", s.Key)
		}
		if s.Short == "" {
			s.Short = s.Name
		}
		for _, f := range s.Fields {
			switch f.Type {
			case TypeText, TypeDate, TypeTime, TypeBool, TypeInt, TypeNumber, TypeEnum, TypeAGS, TypeAGSList, TypeAddress, TypeItems:
			default:
				return nil, fmt.Errorf("Leistung %q, Feld %q: unbekannter typ %q", s.Key, f.Path, f.Type)
			}
			if f.Pattern != "" {
				re, err := regexp.Compile(f.Pattern)
				if err != nil {
					return nil, fmt.Errorf("Leistung %q, Feld %q: muster: %v", s.Key, f.Path, err)
				}
				f.re = re
			}
			if f.Label == "" {
				f.Label = f.Path
			}
		}
		c.byKey[s.Key] = s
	}
	return &c, nil
}

// Service returns the service with the key, or nil.
func (c *Catalog) Service(key string) *Service { return c.byKey[key] }

// Field returns the spec for the path, or nil.
func (s *Service) Field(path string) *FieldSpec {
	for _, f := range s.Fields {
		if f.Path == path {
			return f
		}
	}
	return nil
}

// FieldError points at one wrong field, in German.
type FieldError struct {
	Path    string
	Label   string
	Message string
}

func (e FieldError) Error() string { return e.Label + ": " + e.Message }

// Lookup returns the value at a dotted path ("hund.chipnummer") in decoded
// JSON, and whether it is present.
func Lookup(v any, path string) (any, bool) {
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, v != nil
}

// Validate checks service fields (angaben, decoded JSON) against the
// catalog. now is the reference for "not in the past/future". Unknown
// fields are never an error: they are kept.
func (s *Service) Validate(angaben map[string]any, reg *Registry, now time.Time) []FieldError {
	var errs []FieldError
	add := func(f *FieldSpec, format string, a ...any) {
		errs = append(errs, FieldError{Path: f.Path, Label: f.Label, Message: fmt.Sprintf(format, a...)})
	}
	today := now.In(Berlin).Format("2006-01-02")
	for _, f := range s.Fields {
		v, ok := Lookup(angaben, f.Path)
		if ok {
			if str, isStr := v.(string); isStr && strings.TrimSpace(str) == "" {
				ok = false
			}
		}
		if !ok {
			if f.Required {
				add(f, "Bitte ausfüllen.")
			}
			continue
		}
		switch f.Type {
		case TypeText, TypeEnum, TypeDate, TypeTime, TypeAGS:
			str, isStr := v.(string)
			if !isStr {
				add(f, "Erwartet wird ein Text.")
				continue
			}
			str = strings.TrimSpace(str)
			if f.MaxLen > 0 && len([]rune(str)) > f.MaxLen {
				add(f, "Höchstens %d Zeichen.", f.MaxLen)
			}
			if f.re != nil && !f.re.MatchString(str) {
				add(f, "%s", orDefault(f.Hint, "Das Format stimmt nicht."))
			}
			switch f.Type {
			case TypeEnum:
				if !contains(f.Options, str) {
					add(f, "Erlaubt sind: %s.", strings.Join(f.Options, ", "))
				}
			case TypeDate:
				d, err := time.Parse("2006-01-02", str)
				if err != nil {
					add(f, "%s", DateProblem(str))
					continue
				}
				if f.NotFuture && str > today {
					add(f, "Das Datum darf nicht in der Zukunft liegen.")
				}
				if f.NotPast && str < today {
					add(f, "Das Datum darf nicht in der Vergangenheit liegen.")
				}
				if f.MaxDaysAfter != nil {
					if o, ok := Lookup(angaben, f.MaxDaysAfter.Field); ok {
						if os, _ := o.(string); os != "" {
							if od, err := time.Parse("2006-01-02", os); err == nil && d.Sub(od) > time.Duration(f.MaxDaysAfter.Days)*24*time.Hour {
								add(f, "Höchstens %d Tage nach %s.", f.MaxDaysAfter.Days, labelOf(s, f.MaxDaysAfter.Field))
							}
						}
					}
				}
			case TypeTime:
				if _, err := time.Parse("15:04", str); err != nil {
					add(f, "Bitte eine Uhrzeit angeben (HH:MM).")
					continue
				}
			case TypeAGS:
				if reg != nil && reg.Municipality(str) == nil {
					add(f, "%q ist keine Gemeinde im Landkreis Cochem-Zell.", str)
				}
			}
			if f.NotBefore != "" {
				if o, ok := Lookup(angaben, f.NotBefore); ok {
					if os, _ := o.(string); os != "" && str < os {
						add(f, "Darf nicht vor %s liegen.", labelOf(s, f.NotBefore))
					}
				}
			}
		case TypeBool:
			if _, isBool := v.(bool); !isBool {
				add(f, "Erwartet wird ja oder nein.")
			}
		case TypeInt, TypeNumber:
			n, ok := number(v)
			if !ok {
				add(f, "Bitte eine Zahl angeben.")
				continue
			}
			if f.Type == TypeInt && n != math.Trunc(n) {
				add(f, "Bitte eine ganze Zahl angeben.")
				continue
			}
			if f.Min != nil && n < *f.Min {
				add(f, "Mindestens %s.", fmtNum(*f.Min))
			}
			if f.Max != nil && n > *f.Max {
				add(f, "%s", orDefault(f.Hint, "Höchstens "+fmtNum(*f.Max)+"."))
			}
		case TypeAGSList:
			list, isList := v.([]any)
			if !isList || len(list) == 0 {
				add(f, "Bitte mindestens eine Gemeinde angeben.")
				continue
			}
			for _, x := range list {
				str, _ := x.(string)
				if reg != nil && reg.Municipality(str) == nil {
					add(f, "%v ist keine Gemeinde im Landkreis Cochem-Zell.", x)
				}
			}
		case TypeAddress:
			m, isMap := v.(map[string]any)
			if !isMap {
				add(f, "Erwartet wird eine Anschrift.")
				continue
			}
			for _, k := range []string{"strasse", "plz", "ort"} {
				if str, _ := m[k].(string); strings.TrimSpace(str) == "" {
					add(f, "%s fehlt.", map[string]string{"strasse": "Straße", "plz": "Postleitzahl", "ort": "Ort"}[k])
				}
			}
			if p, _ := m["plz"].(string); p != "" && !plzRE.MatchString(p) {
				add(f, "Die Postleitzahl hat fünf Ziffern.")
			}
		case TypeItems:
			list, isList := v.([]any)
			if !isList {
				add(f, "Erwartet wird eine Liste.")
				continue
			}
			if f.Min != nil && float64(len(list)) < *f.Min {
				add(f, "Bitte mindestens %s Eintrag angeben.", fmtNum(*f.Min))
			}
			if f.Max != nil && float64(len(list)) > *f.Max {
				add(f, "Höchstens %s Einträge.", fmtNum(*f.Max))
			}
			for i, x := range list {
				m, _ := x.(map[string]any)
				name, _ := m["bezeichnung"].(string)
				if art, ok := m["art"].(string); ok {
					name = art
					if len(f.Options) > 0 && !contains(f.Options, art) {
						add(f, "Eintrag %d: Art %q ist nicht vorgesehen (erlaubt: %s).", i+1, art, strings.Join(f.Options, ", "))
					}
				}
				if strings.TrimSpace(name) == "" {
					add(f, "Eintrag %d: Bezeichnung fehlt.", i+1)
				}
				if n, ok := number(m["anzahl"]); !ok || n < 1 || n != math.Trunc(n) {
					add(f, "Eintrag %d: Anzahl muss eine ganze Zahl ab 1 sein.", i+1)
				}
			}
		}
	}
	return errs
}

var plzRE = regexp.MustCompile(`^[0-9]{5}$`)

// OptionLabel returns the German name of an option value, the value
// itself when the catalog names none.
func (f *FieldSpec) OptionLabel(v string) string {
	if l := f.OptionLabels[v]; l != "" {
		return l
	}
	return v
}

func labelOf(s *Service, path string) string {
	if f := s.Field(path); f != nil {
		return f.Label
	}
	return path
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case string:
		f, err := strconv.ParseFloat(strings.Replace(strings.TrimSpace(n), ",", ".", 1), 64)
		return f, err == nil
	}
	return 0, false
}

func fmtNum(f float64) string {
	return strings.Replace(strconv.FormatFloat(f, 'f', -1, 64), ".", ",", 1)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

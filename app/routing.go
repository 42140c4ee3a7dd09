package app

import (
	"fmt"
	"regexp"
	"strings"
)

// Decision is the outcome of routing: the responsible office and why.
// When Decided is false, Office is "" and Reason says what is missing; the
// router never guesses.
type Decision struct {
	Office       OfficeKey
	Decided      bool
	Reason       string // German, shown to the clerk
	Municipality string // AGS that decided, if any
	Flags        []Flag
}

// RouteInput is what routing looks at.
type RouteInput struct {
	Service   string
	Applicant Applicant
	Fields    map[string]any // decoded angaben
	// Office is the office the portal named (appointments only).
	Office OfficeKey
}

var agsRE = regexp.MustCompile(`^[0-9]{8}$`)

// Route decides the responsible office by the catalog's rules: kreis
// services go to the Kreisverwaltung; vg services to the Verbandsgemeinde of
// the municipality named by the service's first present routing source.
func (r *Registry) Route(in RouteInput) Decision {
	svc := r.Catalog.Service(in.Service)
	if svc == nil {
		return Decision{Flags: []Flag{FlagServiceUnknown},
			Reason: fmt.Sprintf("Die Leistung „%s“ steht nicht im Leistungskatalog; bitte die zuständige Stelle von Hand festlegen.", in.Service)}
	}
	if svc.Level == LevelKreis {
		d := Decision{Office: OfficeKreis, Decided: true, Reason: svc.Short + " ist Aufgabe des Kreises"}
		// The place still matters to the Kreis: a pickup outside the Kreis
		// cannot be served, so say so.
		if src, v, ok := r.firstSource(svc, in); ok {
			if p := r.resolve(src.Label, v); p.outside {
				d.Flags = append(d.Flags, FlagOutsideDistrict)
				d.Reason += "; " + p.reason
			} else if p.m != nil {
				d.Municipality = p.m.AGS
			}
		}
		return d
	}
	if svc.AppointmentOnly && in.Office != "" {
		if o := r.Office(in.Office); o != nil {
			return Decision{Office: o.Key, Decided: true, Reason: "Termin bei der " + o.Short() + " gebucht"}
		}
	}
	src, v, ok := r.firstSource(svc, in)
	if !ok {
		var labels []string
		for _, s := range svc.Routing {
			labels = append(labels, s.Label)
		}
		return Decision{Flags: []Flag{FlagRoutingUnclear},
			Reason: fmt.Sprintf("Zuständigkeit unklar: Angabe zu %s fehlt.", strings.Join(labels, " oder "))}
	}
	p := r.resolve(src.Label, v)
	switch {
	case p.m != nil:
		return Decision{Office: p.m.Office, Decided: true, Municipality: p.m.AGS, Reason: p.reason}
	case p.outside:
		return Decision{Flags: []Flag{FlagOutsideDistrict}, Reason: p.reason}
	}
	return Decision{Flags: []Flag{FlagRoutingUnclear}, Reason: p.reason}
}

// firstSource returns the first routing source whose value is present.
func (r *Registry) firstSource(svc *Service, in RouteInput) (RoutingSource, any, bool) {
	for _, s := range svc.Routing {
		var v any
		var ok bool
		if rest, isApplicant := strings.CutPrefix(s.Field, "antragsteller."); isApplicant {
			if rest == "anschrift" {
				a := in.Applicant.Address
				if a != (Address{}) {
					v, ok = map[string]any{"gemeindeschluessel": a.AGS, "plz": a.Postcode, "ort": a.Place}, true
				}
			}
		} else {
			v, ok = Lookup(in.Fields, s.Field)
		}
		if ok && !empty(v) {
			return s, v, true
		}
	}
	return RoutingSource{}, nil, false
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, k := range []string{"gemeindeschluessel", "plz", "ort"} {
			if s, _ := x[k].(string); strings.TrimSpace(s) != "" {
				return false
			}
		}
		return true
	}
	return false
}

type placeResult struct {
	m       *Municipality
	outside bool
	reason  string
}

// resolve finds the municipality a routing value names. label is the
// subject of the reason sentence ("Grundstück", "Wohnanschrift").
func (r *Registry) resolve(label string, v any) placeResult {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			break
		}
		return r.resolve(label, x[0])
	case string:
		return r.resolvePlace(label, x, "", "")
	case map[string]any:
		ags, _ := x["gemeindeschluessel"].(string)
		plz, _ := x["plz"].(string)
		ort, _ := x["ort"].(string)
		return r.resolvePlace(label, ags, plz, ort)
	}
	return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: %s ist nicht lesbar.", label)}
}

// ResolvePlace finds the Ortsgemeinde for an address. It decides only on
// evidence: a known AGS, or a place name that names exactly one
// municipality (consistent with the postcode when one is given).
func (r *Registry) ResolvePlace(ags, plz, ort string) (*Municipality, bool, string) {
	p := r.resolvePlace("Anschrift", ags, plz, ort)
	return p.m, p.outside, p.reason
}

func (r *Registry) resolvePlace(label, ags, plz, ort string) placeResult {
	ags, plz, ort = strings.TrimSpace(ags), strings.TrimSpace(plz), strings.TrimSpace(ort)
	found := func(m *Municipality) placeResult {
		return placeResult{m: m, reason: fmt.Sprintf("%s liegt in %s, %s", label, m.Name, r.Office(m.Office).Short())}
	}
	if ags != "" {
		if m := r.Municipality(ags); m != nil {
			return found(m)
		}
		if agsRE.MatchString(ags) && !strings.HasPrefix(ags, KreisAGSPrefix) {
			where := ort
			if where == "" {
				where = "Gemeindeschlüssel " + ags
			}
			return placeResult{outside: true, reason: fmt.Sprintf("%s liegt außerhalb des Landkreises Cochem-Zell (%s).", label, where)}
		}
		// An unknown key inside the Kreis or a malformed one: fall back on
		// the place name, and say so if that does not decide either.
	}
	cands := r.MatchPlace(ort)
	if len(cands) > 0 && plz != "" {
		var fit []*Municipality
		for _, m := range cands {
			if m.HasPostcode(plz) {
				fit = append(fit, m)
			}
		}
		if len(fit) == 0 {
			return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: Postleitzahl %s passt nicht zu %s (%s); bitte die Gemeinde prüfen.", plz, names(cands), postcodes(cands))}
		}
		cands = fit
	}
	switch {
	case len(cands) == 1:
		return found(cands[0])
	case len(cands) > 1:
		return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: „%s“ ist mehrdeutig (%s); bitte die Gemeinde wählen.", ort, names(cands))}
	}
	byPLZ := r.ByPostcode(plz)
	switch {
	case plz == "" && ort == "":
		if ags != "" {
			return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: Gemeindeschlüssel %s ist im Landkreis nicht bekannt.", ags)}
		}
		return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: %s ohne Ort und Postleitzahl.", label)}
	case len(byPLZ) == 0 && plz != "":
		if !plzRE.MatchString(plz) {
			return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: Postleitzahl „%s“ ist ungültig.", plz)}
		}
		return placeResult{outside: true, reason: fmt.Sprintf("%s liegt außerhalb des Landkreises Cochem-Zell (%s %s).", label, plz, ort)}
	case ort == "":
		return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: Ort fehlt; %s.", postcodePlaces(r, plz, byPLZ))}
	case plz == "":
		return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: „%s“ ist keine Ortsgemeinde des Landkreises und eine Postleitzahl fehlt.", ort)}
	}
	return placeResult{reason: fmt.Sprintf("Zuständigkeit unklar: „%s“ ist keine Ortsgemeinde des Landkreises; %s.", ort, postcodePlaces(r, plz, byPLZ))}
}

func names(ms []*Municipality) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name)
	}
	return strings.Join(s, ", ")
}

func postcodes(ms []*Municipality) string {
	var s []string
	for _, m := range ms {
		s = append(s, "PLZ "+strings.Join(m.Postcodes, "/"))
	}
	return strings.Join(s, ", ")
}

// postcodePlaces says which Ortsgemeinden of the Kreis have a postcode,
// grouped by Verbandsgemeinde: "zur Postleitzahl 56856 gehört im Kreis
// Zell (Mosel) in der VG Zell (Mosel)", "zur Postleitzahl 56814 gehören
// im Kreis Bremm, Ediger-Eller in der VG Cochem sowie Landkern in der VG
// Kaisersesch". (Names like "Zell (Mosel)" carry brackets already.)
func postcodePlaces(r *Registry, plz string, ms []*Municipality) string {
	var order []OfficeKey
	byOffice := map[OfficeKey][]string{}
	for _, m := range ms {
		if _, ok := byOffice[m.Office]; !ok {
			order = append(order, m.Office)
		}
		byOffice[m.Office] = append(byOffice[m.Office], m.Name)
	}
	var groups []string
	for _, o := range order {
		groups = append(groups, strings.Join(byOffice[o], ", ")+" in der "+r.Office(o).Short())
	}
	verb := "gehören"
	if len(ms) == 1 {
		verb = "gehört"
	}
	return fmt.Sprintf("zur Postleitzahl %s %s im Kreis %s", plz, verb, strings.Join(groups, " sowie "))
}

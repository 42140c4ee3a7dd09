package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"sort"
	"strings"

	"amtstresen/app"
)

// What a kept mail says about an application, for "Als Vorgang anlegen":
// a portal delivery's JSON part (antrag.json), read even when its
// signature failed (the form then says the values are unverified); for a
// citizen's own mail the sender and, from the subject, the service. Never
// the portal's sender address as applicant.

// mailIntake is what was read from a mail.
type mailIntake struct {
	in       app.IntakeInput
	fromJSON bool // the values come from the portal's JSON part
	portal   bool // the mail claims to come from the portal
}

// portalDomain is the portal's sender domain (portal/README.md).
const portalDomain = "cochem-zell-online.de"

func intakeFromMail(reg *app.Registry, it *app.ReviewItem) mailIntake {
	var out mailIntake
	out.in.Fields = map[string]string{}
	msg, err := mail.ReadMessage(bytes.NewReader(it.Raw))
	var hdr mail.Header
	if err == nil {
		hdr = msg.Header
	}
	from, _ := mail.ParseAddress(it.From)
	out.portal = hdr.Get("X-Buergerportal-Art") != "" || hdr.Get("X-Buergerportal-Version") != "" ||
		(from != nil && strings.HasSuffix(strings.ToLower(from.Address), "@"+portalDomain))
	if err == nil {
		if payload := jsonPart(msg); payload != nil {
			out.fromJSON = readAntrag(reg, payload, &out.in)
		}
	}
	if out.in.Service == "" && hdr != nil {
		if svc := reg.Catalog.Service(strings.TrimSpace(hdr.Get("X-Buergerportal-Leistung"))); svc != nil && !svc.AppointmentOnly {
			out.in.Service = svc.Key
		}
	}
	if out.in.Service == "" {
		out.in.Service = serviceInSubject(reg, it.Subject)
	}
	if !out.portal && !out.fromJSON && from != nil {
		// A citizen wrote directly: the sender is the applicant.
		out.in.Email = from.Address
		if parts := strings.Fields(decodeHeader(from.Name)); len(parts) > 1 {
			out.in.FirstName, out.in.LastName = strings.Join(parts[:len(parts)-1], " "), parts[len(parts)-1]
		} else if len(parts) == 1 {
			out.in.LastName = parts[0]
		}
	}
	return out
}

// serviceInSubject finds a service named in the subject ("[Bürgerportal]
// Hund anmelden (Hundesteuer) – Vorgang …"), the longest name first.
func serviceInSubject(reg *app.Registry, subject string) string {
	subj := app.NormalizePlace(subject)
	svcs := append([]*app.Service(nil), reg.Catalog.Services...)
	sort.SliceStable(svcs, func(i, j int) bool { return len(svcs[i].Name) > len(svcs[j].Name) })
	for _, s := range svcs {
		if !s.AppointmentOnly && subj != "" && strings.Contains(subj, app.NormalizePlace(s.Name)) {
			return s.Key
		}
	}
	return ""
}

// jsonPart returns the first application/json part of a mail (at most
// 1 MB), nil when there is none.
func jsonPart(msg *mail.Message) []byte {
	var found []byte
	walkParts(msg, func(mt string, _ map[string]string, body io.Reader) bool {
		if mt != "application/json" {
			return true
		}
		found, _ = io.ReadAll(io.LimitReader(body, 1<<20))
		return false
	})
	return found
}

// readAntrag fills in from the portal's application JSON; false when it is
// not readable.
func readAntrag(reg *app.Registry, payload []byte, in *app.IntakeInput) bool {
	var doc struct {
		Leistung struct {
			Key string `json:"schluessel"`
		} `json:"leistung"`
		Applicant *app.Applicant `json:"antragsteller"`
		Angaben   map[string]any `json:"angaben"`
	}
	if err := json.Unmarshal(payload, &doc); err != nil || (doc.Applicant == nil && doc.Angaben == nil) {
		return false
	}
	if svc := reg.Catalog.Service(doc.Leistung.Key); svc != nil && !svc.AppointmentOnly {
		in.Service = svc.Key
		for _, f := range svc.Fields {
			if v, ok := app.Lookup(doc.Angaben, f.Path); ok {
				formText(reg, f, v, in.Fields)
			}
		}
	}
	if a := doc.Applicant; a != nil {
		in.Salutation, in.FirstName, in.LastName = a.Salutation, a.FirstName, a.LastName
		in.BirthDate = app.FormatISODate(a.BirthDate)
		in.Street, in.HouseNumber, in.Postcode, in.Place, in.AGS = a.Address.Street, a.Address.HouseNumber, a.Address.Postcode, a.Address.Place, a.Address.AGS
		in.Email, in.Phone = a.Email, a.Phone
	}
	return true
}

// formText writes a field's JSON value as the counter form types it (the
// inverse of app.Registry.Intake's conversion).
func formText(reg *app.Registry, f *app.FieldSpec, v any, into map[string]string) {
	num := func(x any) string {
		if n, ok := x.(float64); ok {
			return strings.Replace(fmt.Sprint(n), ".", ",", 1)
		}
		return fmt.Sprint(x)
	}
	agsText := func(x any) string {
		s, _ := x.(string)
		if m := reg.Municipality(s); m != nil {
			return fmt.Sprintf("%s (%s)", m.Name, m.AGS)
		}
		return s
	}
	switch f.Type {
	case app.TypeDate:
		s, _ := v.(string)
		into[f.Path] = app.FormatISODate(s)
	case app.TypeBool:
		if b, ok := v.(bool); ok {
			into[f.Path] = map[bool]string{true: "ja", false: "nein"}[b]
		}
	case app.TypeInt, app.TypeNumber:
		into[f.Path] = num(v)
	case app.TypeAGS:
		into[f.Path] = agsText(v)
	case app.TypeAGSList:
		list, _ := v.([]any)
		var names []string
		for _, x := range list {
			names = append(names, agsText(x))
		}
		into[f.Path] = strings.Join(names, ", ")
	case app.TypeAddress:
		m, _ := v.(map[string]any)
		for _, k := range []string{"strasse", "hausnummer", "plz", "ort", "gemeindeschluessel"} {
			if s, ok := m[k].(string); ok {
				into[f.Path+"."+k] = s
			}
		}
	case app.TypeItems:
		list, _ := v.([]any)
		var lines []string
		for _, x := range list {
			m, _ := x.(map[string]any)
			name, _ := m["bezeichnung"].(string)
			if art, ok := m["art"].(string); ok {
				if name != "" && name != art {
					name = art + ": " + name
				} else {
					name = art
				}
			}
			lines = append(lines, num(m["anzahl"])+" "+name)
		}
		into[f.Path] = strings.Join(lines, "\n")
	default:
		if s, ok := v.(string); ok {
			into[f.Path] = s
		} else {
			into[f.Path] = fmt.Sprint(v)
		}
	}
}

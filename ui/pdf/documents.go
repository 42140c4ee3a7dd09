package pdf

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"amtstresen/app"
)

// letter builds the letter for one item.
func (r *Renderer) letter(it Item, o Options, now time.Time) (*letter, error) {
	if it.Appointment != nil {
		return r.appointmentLetter(it.Appointment, it.Case, o, now), nil
	}
	if it.Case == nil {
		return nil, errNoItem
	}
	kind := it.Resolved()
	c := it.Case
	switch {
	case kind == KindAppointment:
		return nil, app.Errorf(app.EINVALID, "Eine Terminbestätigung braucht einen Termin; der Vorgang %s allein genügt nicht.", c.Ref)
	case kind == KindDogTax && c.Service != "hund-anmelden":
		return nil, app.Errorf(app.EINVALID, "Die Bestätigung der Hundeanmeldung gibt es nur für „Hund anmelden“; %s ist „%s“.", c.Ref, r.serviceName(c.Service))
	case kind == KindPickup && c.Service != "sperrmuell" && c.Service != "elektrogeraete":
		return nil, app.Errorf(app.EINVALID, "Die Bestätigung der Abholanmeldung gibt es nur für Sperrmüll und Elektrogroßgeräte; %s ist „%s“.", c.Ref, r.serviceName(c.Service))
	}
	l := r.caseLetter(c, kind, o, now)
	var fields map[string]any
	if len(c.Fields) > 0 {
		_ = json.Unmarshal(c.Fields, &fields) // unreadable fields: the letter shows none
	}
	switch kind {
	case KindDogTax:
		l.body = func(fl *flow) { r.dogTaxBody(fl, c, fields) }
	case KindPickup:
		l.body = func(fl *flow) { r.pickupBody(fl, c, fields) }
	default:
		l.body = func(fl *flow) { r.receiptBody(fl, c, fields) }
	}
	return l, nil
}

// office returns the office, or the Kreisverwaltung while none is
// responsible yet (it is the authority the citizen wrote to).
func (r *Renderer) office(k app.OfficeKey) *app.Office {
	if o := r.reg.Office(k); o != nil {
		return o
	}
	if o := r.reg.Office(app.OfficeKreis); o != nil {
		return o
	}
	return &app.Office{Key: app.OfficeKreis, Code: "KV", Name: "Kreisverwaltung Cochem-Zell",
		Street: "Endertplatz 2", Postcode: "56812", City: "Cochem", Website: "www.cochem-zell.de"}
}

func (r *Renderer) service(key string) *app.Service {
	if r.reg.Catalog == nil {
		return nil
	}
	return r.reg.Catalog.Service(key)
}

func (r *Renderer) serviceName(key string) string {
	if s := r.service(key); s != nil {
		return s.Name
	}
	if key == "" {
		return "Antrag"
	}
	return key
}

func (r *Renderer) caseLetter(c *app.Case, kind Kind, o Options, now time.Time) *letter {
	off := r.office(c.Office)
	clerk := o.Clerk
	if clerk == "" {
		clerk = c.Assignee
	}
	channel := "Bürgerportal"
	if c.Channel == app.ChannelCounter {
		channel = "persönlich"
	}
	info := []kv{{label: "Aktenzeichen", value: c.Ref, strong: true}}
	if c.Pending() {
		// Taken while the counter was offline: the number comes when the
		// application reaches the shared database; this one stays valid.
		info = []kv{{label: "Aktenzeichen (vorläufig)", value: c.Ref, strong: true}}
	}
	if !c.ReceivedAt.IsZero() {
		info = append(info, kv{label: "Eingang", value: app.FormatDate(c.ReceivedAt)})
	}
	info = append(info, kv{label: "Eingangsweg", value: channel})
	if clerk != "" {
		info = append(info, kv{label: "Bearbeiter/in", value: clerk})
	}
	svc := r.serviceName(c.Service)
	l := &letter{
		office:     off,
		recipient:  recipient(c.Applicant),
		ref:        c.Ref,
		qr:         c.Ref,
		info:       info,
		date:       app.FormatDate(now),
		kind:       kind.Label(),
		service:    svc,
		salutation: salutation(c.Applicant.Salutation, c.Applicant.FirstName, c.Applicant.LastName),
		closing:    []string{"Ihre " + off.Name},
	}
	switch kind {
	case KindDogTax:
		l.subject = "Anmeldung zur Hundesteuer – Bestätigung"
	case KindPickup:
		if c.Service == "elektrogeraete" {
			l.subject = "Abholung von Elektrogroßgeräten – Bestätigung Ihrer Anmeldung"
		} else {
			l.subject = "Sperrmüllabholung – Bestätigung Ihrer Anmeldung"
		}
	default:
		l.subject = "Eingangsbestätigung – " + svc
	}
	return l
}

// received says when and how the case came in: "am 27.11.2026 um 18:04 Uhr".
func received(c *app.Case) string {
	if c.ReceivedAt.IsZero() {
		return ""
	}
	t := c.ReceivedAt.In(app.Berlin)
	return fmt.Sprintf("am %s um %s Uhr", app.FormatDate(t), t.Format("15:04"))
}

func (r *Renderer) openingParas(fl *flow, c *app.Case, what string) {
	when := received(c)
	var s string
	switch {
	case c.Channel == app.ChannelCounter && when != "":
		s = fmt.Sprintf("vielen Dank für %s, die Sie %s persönlich bei uns abgegeben haben.", what, when)
	case c.Channel == app.ChannelCounter:
		s = fmt.Sprintf("vielen Dank für %s, die Sie persönlich bei uns abgegeben haben.", what)
	case when != "":
		s = fmt.Sprintf("vielen Dank für %s. Sie ist %s über das Bürgerportal bei uns eingegangen.", what, when)
	default:
		s = fmt.Sprintf("vielen Dank für %s. Sie ist über das Bürgerportal bei uns eingegangen.", what)
	}
	fl.para(s)
	if c.ForwardedFrom != "" && c.ForwardedFrom != c.Office && c.Office != "" {
		fl.para(fmt.Sprintf("Zuständig ist die %s; Ihr Anliegen wurde von der %s an uns weitergeleitet. Sie müssen dafür nichts tun.",
			r.office(c.Office).Name, r.reg.OfficeName(c.ForwardedFrom)))
	}
	if c.Pending() {
		fl.para(fmt.Sprintf("Ihr Aktenzeichen %s ist vorläufig: Ihre Eingabe wurde aufgenommen, während die Verbindung zu unserer gemeinsamen Datenbank unterbrochen war, und wird dort eingetragen, sobald sie wieder besteht. Sie erhalten dann ein endgültiges Aktenzeichen; auch mit dem vorläufigen finden wir Ihre Eingabe jederzeit.", c.Ref))
	}
	if c.Office == "" || r.reg.Office(c.Office) == nil {
		fl.para("Wir prüfen zurzeit, welche Verwaltung für Ihr Anliegen zuständig ist, und geben es gegebenenfalls weiter. Sie müssen dafür nichts tun; Ihr Aktenzeichen bleibt gültig.")
	}
}

func (r *Renderer) receiptBody(fl *flow, c *app.Case, fields map[string]any) {
	r.openingParas(fl, c, "Ihre Eingabe „"+r.serviceName(c.Service)+"“")
	if rows := r.fieldRows(c.Service, fields); len(rows) > 0 {
		fl.heading("Ihre Angaben")
		fl.table(rows)
	}
	r.attachments(fl, c)
	fl.heading("Wie geht es weiter?")
	fl.para(nextSteps(c))
	r.referencePara(fl, c.Ref)
}

func nextSteps(c *app.Case) string {
	switch c.Status {
	case app.StatusWaiting:
		return "Für die weitere Bearbeitung benötigen wir noch Angaben oder Unterlagen von Ihnen. Bitte beachten Sie unsere Nachricht dazu; sobald alles vorliegt, bearbeiten wir Ihr Anliegen weiter."
	case app.StatusDone:
		return "Ihr Anliegen ist bereits abschließend bearbeitet. Das Ergebnis teilen wir Ihnen gesondert mit, soweit noch nicht geschehen."
	case app.StatusRejected:
		return "Ihr Anliegen ist abschließend bearbeitet. Die Entscheidung und ihre Begründung erhalten Sie gesondert."
	case app.StatusWithdrawn:
		return "Sie haben Ihr Anliegen zurückgenommen. Der Vorgang ist damit abgeschlossen."
	}
	return "Wir prüfen Ihr Anliegen. Wenn wir weitere Angaben oder Unterlagen benötigen, melden wir uns bei Ihnen. Über das Ergebnis erhalten Sie eine gesonderte Nachricht."
}

// attachments lists what came in and what is missing or unusable, and
// the documents the citizen showed at the counter. Problems are said in
// the citizen's words, never with byte counts or checksums.
func (r *Renderer) attachments(fl *flow, c *app.Case) {
	fl.heading("Eingereichte Unterlagen")
	if len(c.Attachments) == 0 && len(c.Presented) == 0 {
		fl.para("Mit Ihrem Antrag haben wir keine Unterlagen erhalten.")
		return
	}
	var rows [][]string
	var problems int
	for _, a := range c.Attachments {
		status := "eingegangen"
		switch {
		case !a.Received:
			status = "fehlt – nicht bei uns eingegangen"
			problems++
		case a.Problem != "":
			status = "nicht verwendbar – Die Datei ist beschädigt angekommen."
			problems++
		}
		rows = append(rows, []string{a.Name, status})
	}
	for _, d := range c.Presented {
		status := "vorgelegt"
		if d.Copy {
			status = "vorgelegt, Kopie genommen"
		}
		rows = append(rows, []string{d.Name, status})
	}
	fl.columns([]float64{62, textW - 62}, []bool{false, false}, []string{"Unterlage", "Stand"}, rows, nil)
	if problems > 0 {
		what, them := "die fehlenden oder nicht verwendbaren Unterlagen", "sie vorliegen"
		if problems == 1 {
			what, them = "die fehlende oder nicht verwendbare Unterlage", "sie vorliegt"
		}
		fl.para(fmt.Sprintf("Bitte reichen Sie %s nach – über das Bürgerportal als Nachricht zu Ihrem Antrag, per Post oder persönlich, jeweils mit dem Aktenzeichen %s. Erst wenn %s, können wir Ihr Anliegen abschließend bearbeiten.", what, c.Ref, them))
	}
}

func (r *Renderer) referencePara(fl *flow, ref string) {
	if ref == "" {
		return
	}
	fl.para(fmt.Sprintf("Bitte geben Sie bei Rückfragen immer das Aktenzeichen %s an. Bei einem Besuch genügt es, dieses Schreiben vorzuzeigen: Der QR-Code oben rechts enthält das Aktenzeichen.", ref))
}

func (r *Renderer) dogTaxBody(fl *flow, c *app.Case, fields map[string]any) {
	r.openingParas(fl, c, "die Anmeldung Ihres Hundes zur Hundesteuer")
	fl.para("Wir haben folgende Angaben aufgenommen:")
	str := func(path string) string { return fieldString(fields, path) }
	rows := []kv{
		{label: "Name des Hundes", value: str("hund.name")},
		{label: "Rasse", value: str("hund.rasse")},
	}
	if v := str("hund.farbe"); v != "" {
		rows = append(rows, kv{label: "Farbe", value: v})
	}
	if v := str("hund.geburtsdatum"); v != "" {
		rows = append(rows, kv{label: "Geburtsdatum", value: app.FormatISODate(v)})
	}
	rows = append(rows, kv{label: "Chipnummer", value: str("hund.chipnummer")})
	rows = append(rows, kv{label: "Beginn der Haltung", value: app.FormatISODate(str("haltungsbeginn"))})
	dangerous := false
	if v, ok := app.Lookup(fields, "gefaehrlich"); ok {
		dangerous, _ = v.(bool)
		rows = append(rows, kv{label: "Gefährlicher Hund", value: yesNo(dangerous)})
	}
	if v, ok := app.Lookup(fields, "weitereHunde"); ok {
		rows = append(rows, kv{label: "Weitere Hunde im Haushalt", value: formatNumber(v)})
	}
	start := app.FormatISODate(str("haltungsbeginn"))
	if start == "" {
		start = "wird noch festgestellt"
	}
	rows = append(rows, kv{label: "Beginn der Steuerpflicht", value: start, strong: true})
	for i := range rows {
		if rows[i].value == "" {
			rows[i].value = "—"
		}
	}
	fl.table(rows)
	fl.para("Die Steuerpflicht beginnt mit der Haltung des Hundes. Die Höhe der Steuer richtet sich nach der Hundesteuersatzung Ihrer Gemeinde. Den Steuerbescheid und die Hundesteuermarke erhalten Sie gesondert; bitte tragen Sie die Marke außerhalb Ihrer Wohnung sichtbar am Halsband des Hundes.")
	if dangerous {
		fl.para("Für gefährliche Hunde gelten besondere Vorschriften. Bitte weisen Sie uns die Sachkunde und die Haftpflichtversicherung nach, falls noch nicht geschehen.")
	}
	fl.para("Bitte teilen Sie uns Änderungen mit, etwa wenn Sie den Hund abgeben, er stirbt oder Sie umziehen.")
	r.attachments(fl, c)
	r.referencePara(fl, c.Ref)
}

// applianceLabels names the appliance kinds of the elektrogeraete service.
var applianceLabels = map[string]string{
	"kuehlgeraet":   "Kühl- oder Gefriergerät",
	"waschmaschine": "Waschmaschine",
	"trockner":      "Wäschetrockner",
	"herd":          "Herd",
	"spuelmaschine": "Spülmaschine",
	"fernseher":     "Fernseher",
	"sonstiges":     "sonstiges Gerät",
}

func (r *Renderer) pickupBody(fl *flow, c *app.Case, fields map[string]any) {
	what := "Ihre Anmeldung zur Sperrmüllabholung"
	list := "gegenstaende"
	if c.Service == "elektrogeraete" {
		what = "Ihre Anmeldung zur Abholung von Elektrogroßgeräten"
		list = "geraete"
	}
	r.openingParas(fl, c, what)
	rows := []kv{{label: "Abholanschrift", value: addressText(fields, "abholanschrift"), strong: true}}
	if rows[0].value == "" {
		rows[0].value = "wie Ihre Anschrift oben"
	}
	if v, ok := app.Lookup(fields, list); ok {
		for i, x := range asList(v) {
			m, _ := x.(map[string]any)
			name, _ := m["bezeichnung"].(string)
			if art, ok := m["art"].(string); ok {
				label := applianceLabels[art]
				if label == "" {
					label = art
				}
				if name != "" && name != art {
					label += ": " + name
				}
				name = label
			}
			label := ""
			if i == 0 {
				label = "Gegenstände"
			}
			rows = append(rows, kv{label: label, value: formatNumber(m["anzahl"]) + " × " + name})
		}
	}
	if len(rows) == 1 {
		rows = append(rows, kv{label: "Gegenstände", value: "keine angegeben"})
	}
	if v, ok := app.Lookup(fields, "volumenKubikmeter"); ok {
		rows = append(rows, kv{label: "Menge insgesamt", value: "etwa " + formatNumber(v) + " m³"})
	}
	fl.table(rows)
	fl.heading("Wie geht es weiter?")
	fl.para("Den Abholtermin teilen wir Ihnen gesondert mit. Bitte stellen Sie am Abholtag nur die angemeldeten Gegenstände gut zugänglich an der Abholanschrift bereit; andere Gegenstände können nicht mitgenommen werden.")
	if len(c.Attachments) > 0 || len(c.Presented) > 0 {
		r.attachments(fl, c)
	}
	r.referencePara(fl, c.Ref)
}

func (r *Renderer) appointmentLetter(a *app.Appointment, c *app.Case, o Options, now time.Time) *letter {
	off := r.office(a.Office)
	svc := r.serviceName(a.Service)
	var rec []string
	greet := salutation("", a.CitizenName, "")
	ref := ""
	if c != nil {
		rec = recipient(c.Applicant)
		greet = salutation(c.Applicant.Salutation, c.Applicant.FirstName, c.Applicant.LastName)
		ref = c.Ref
	} else {
		// No case, no postal address (a booking of its own): the name,
		// and where the booking confirmation went.
		if a.CitizenName != "" {
			rec = append(rec, a.CitizenName)
		}
		if a.CitizenEmail != "" {
			rec = append(rec, "E-Mail: "+a.CitizenEmail)
		}
	}
	clerk := o.Clerk
	if clerk == "" && c != nil {
		clerk = c.Assignee
	}
	var info []kv
	if ref != "" {
		info = append(info, kv{label: "Aktenzeichen", value: ref, strong: true})
	}
	if clerk != "" {
		info = append(info, kv{label: "Bearbeiter/in", value: clerk})
	}
	qr, caption := ref, ref
	if qr == "" {
		qr, caption = bookingNo(a.UID), BookingCode(a.UID) // the code holds the whole booking id
	}
	cancelled := a.Status == app.AppointmentCancelled
	l := &letter{
		office: off, recipient: rec, ref: ref, qr: qr, qrCaption: caption, info: info,
		date: app.FormatDate(now), kind: KindAppointment.Label(), service: svc,
		salutation: greet, closing: []string{"Ihre " + off.Name},
		subject: "Terminbestätigung – " + svc,
	}
	if cancelled {
		l.kind = "Terminabsage"
		l.subject = "Absage Ihres Termins – " + svc
	}
	l.body = func(fl *flow) {
		start := a.Start.In(app.Berlin)
		when := weekdays[start.Weekday()] + ", " + app.FormatDate(start)
		clock := start.Format("15:04") + " Uhr"
		if !a.End.IsZero() && a.End.After(a.Start) {
			clock = start.Format("15:04") + " bis " + a.End.In(app.Berlin).Format("15:04") + " Uhr"
		}
		place := off.Name + "\n" + off.Street + ", " + off.Postcode + " " + off.City
		if loc := strings.TrimSpace(a.Location); loc != "" {
			place = loc
			if !strings.Contains(loc, off.Street) {
				place += "\n" + off.Street + ", " + off.Postcode + " " + off.City
			}
		}
		rows := []kv{
			{label: "Anliegen", value: svc},
			{label: "Datum", value: when, strong: true},
			{label: "Uhrzeit", value: clock, strong: true},
			{label: "Ort", value: place},
			{label: "Buchungsnummer", value: BookingCode(a.UID)},
		}
		if cancelled {
			fl.para("Ihr folgender Termin ist abgesagt:")
			fl.table(rows)
			fl.para("Wenn Sie einen neuen Termin brauchen, buchen Sie ihn bitte über das Bürgerportal Cochem-Zell oder melden Sie sich bei uns.")
			return
		}
		fl.para("gern bestätigen wir Ihren Termin:")
		fl.table(rows)
		if s := r.service(a.Service); s != nil && len(s.Documents) > 0 {
			fl.heading("Bitte bringen Sie mit")
			fl.bullets(s.Documents)
		}
		fl.heading("Wenn Sie den Termin nicht wahrnehmen können")
		fl.para(fmt.Sprintf("Bitte sagen Sie ihn rechtzeitig ab, damit wir ihn anderen Bürgerinnen und Bürgern geben können: über den Link in Ihrer Buchungsbestätigung im Bürgerportal Cochem-Zell, persönlich oder schriftlich bei der %s, jeweils mit der Buchungsnummer %s.", off.Name, BookingCode(a.UID)))
		fl.para("Bitte kommen Sie einige Minuten vor Beginn, damit Ihr Anliegen pünktlich bearbeitet werden kann.")
		if ref != "" {
			r.referencePara(fl, ref)
		}
	}
	return l
}

var weekdays = [...]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}

// bookingNo is the portal's booking id without its domain.
func bookingNo(uid string) string {
	if i := strings.IndexByte(uid, '@'); i > 0 {
		return uid[:i]
	}
	return uid
}

// BookingCode is the booking number as people read and say it: the
// portal's 36-character id shortened to its first eight characters
// ("5D1C-2F80"); other ids as they are. The QR code carries the whole id.
func BookingCode(uid string) string {
	id := bookingNo(uid)
	if len(id) == 36 && strings.Count(id, "-") == 4 {
		h := strings.ToUpper(id[:8])
		return h[:4] + "-" + h[4:]
	}
	return id
}

// recipient returns the address lines after DIN 5008.
func recipient(a app.Applicant) []string {
	var lines []string
	switch strings.TrimSpace(a.Salutation) {
	case "Frau":
		lines = append(lines, "Frau")
	case "Herr", "Herrn":
		lines = append(lines, "Herrn")
	}
	if n := a.Name(); n != "" {
		lines = append(lines, n)
	}
	ad := a.Address
	if s := strings.TrimSpace(ad.Street + " " + ad.HouseNumber); s != "" {
		lines = append(lines, s)
	}
	if s := strings.TrimSpace(ad.Postcode + " " + ad.Place); s != "" {
		lines = append(lines, s)
	}
	return lines
}

// salutation returns "Sehr geehrte Frau Muster," or, without a known
// form of address, "Guten Tag Anna Muster,".
func salutation(form, first, last string) string {
	last = strings.TrimSpace(last)
	switch strings.TrimSpace(form) {
	case "Frau":
		if last != "" {
			return "Sehr geehrte Frau " + last + ","
		}
	case "Herr", "Herrn":
		if last != "" {
			return "Sehr geehrter Herr " + last + ","
		}
	}
	if n := strings.TrimSpace(first + " " + last); n != "" {
		return "Guten Tag " + n + ","
	}
	return "Sehr geehrte Damen und Herren,"
}

// fieldRows lists the service fields as the citizen gave them, in catalog
// order, formatted for reading.
func (r *Renderer) fieldRows(service string, fields map[string]any) []kv {
	s := r.service(service)
	if s == nil || fields == nil {
		return nil
	}
	var rows []kv
	for _, f := range s.Fields {
		v, ok := app.Lookup(fields, f.Path)
		if !ok {
			continue
		}
		if t := r.fieldText(f, v); t != "" {
			label := f.Label
			if f.Type == app.TypeAGS || f.Type == app.TypeAGSList {
				label = strings.TrimSuffix(label, " (AGS)") // shown as names
			}
			rows = append(rows, kv{label: label, value: t})
		}
	}
	return rows
}

func (r *Renderer) fieldText(f *app.FieldSpec, v any) string {
	switch f.Type {
	case app.TypeDate:
		s, _ := v.(string)
		return app.FormatISODate(s)
	case app.TypeTime:
		if s, _ := v.(string); s != "" {
			return s + " Uhr"
		}
		return ""
	case app.TypeBool:
		b, _ := v.(bool)
		return yesNo(b)
	case app.TypeInt, app.TypeNumber:
		return formatNumber(v)
	case app.TypeAGS:
		s, _ := v.(string)
		return r.municipality(s)
	case app.TypeAGSList:
		var names []string
		for _, x := range asList(v) {
			s, _ := x.(string)
			names = append(names, r.municipality(s))
		}
		return strings.Join(names, ", ")
	case app.TypeAddress:
		m, _ := v.(map[string]any)
		return addressOf(m)
	case app.TypeItems:
		var parts []string
		for _, x := range asList(v) {
			m, _ := x.(map[string]any)
			name, _ := m["bezeichnung"].(string)
			if art, ok := m["art"].(string); ok {
				name = art
				if l := applianceLabels[art]; l != "" {
					name = l
				}
			}
			parts = append(parts, formatNumber(m["anzahl"])+" × "+name)
		}
		return strings.Join(parts, "\n")
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func (r *Renderer) municipality(ags string) string {
	if m := r.reg.Municipality(ags); m != nil {
		return m.Name
	}
	return ags
}

func fieldString(fields map[string]any, path string) string {
	v, ok := app.Lookup(fields, path)
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return formatNumber(x)
	}
	return fmt.Sprint(v)
}

func addressText(fields map[string]any, path string) string {
	v, _ := app.Lookup(fields, path)
	m, _ := v.(map[string]any)
	return addressOf(m)
}

func addressOf(m map[string]any) string {
	if m == nil {
		return ""
	}
	get := func(k string) string { s, _ := m[k].(string); return strings.TrimSpace(s) }
	return app.Address{Street: get("strasse"), HouseNumber: get("hausnummer"), Postcode: get("plz"), Place: get("ort")}.Line()
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func yesNo(b bool) string {
	if b {
		return "ja"
	}
	return "nein"
}

// formatNumber prints 2.5 as "2,5" and 3 as "3".
func formatNumber(v any) string {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case json.Number:
		return strings.Replace(n.String(), ".", ",", 1)
	case string:
		return n
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strings.Replace(strconv.FormatFloat(f, 'f', -1, 64), ".", ",", 1)
}

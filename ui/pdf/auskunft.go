package pdf

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"amtstresen/app"
)

// Disclosure renders the answer to a request under Art. 15 DSGVO: every
// case, note, message, attachment (by name), booking and kept mail stored
// about the person, in a letter from office (the office that answers).
func (r *Renderer) Disclosure(w io.Writer, d *app.PersonData, office app.OfficeKey, o Options) error {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	l := r.disclosureLetter(d, office, o, now)
	f := newDoc()
	f.SetCreationDate(now)
	f.SetModificationDate(now)
	addFonts(f)
	f.SetTitle("Auskunft nach Art. 15 DSGVO", true)
	f.SetAuthor(clean(l.office.Name), true)
	f.SetSubject("Auskunft über gespeicherte personenbezogene Daten", true)
	f.SetCreator("Amtstresen", true)
	f.SetProducer("Amtstresen (gofpdf)", true)
	l.draw(f)
	if err := f.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

func (r *Renderer) disclosureLetter(d *app.PersonData, office app.OfficeKey, o Options, now time.Time) *letter {
	off := r.office(office)
	var applicant app.Applicant
	if len(d.Cases) > 0 {
		applicant = d.Cases[len(d.Cases)-1].Applicant // the newest address
	} else {
		applicant.LastName = d.Query.Name
	}
	info := []kv{}
	if o.Clerk != "" {
		info = append(info, kv{label: "Bearbeiter/in", value: o.Clerk})
	}
	l := &letter{
		office:     off,
		recipient:  recipient(applicant),
		info:       info,
		date:       app.FormatDate(now),
		kind:       "Auskunft nach Art. 15 DSGVO",
		service:    "Auskunft",
		subject:    "Auskunft über Ihre bei uns gespeicherten Daten (Art. 15 DSGVO)",
		salutation: salutation(applicant.Salutation, applicant.FirstName, applicant.LastName),
		closing:    []string{"Ihre " + off.Name},
	}
	l.body = func(fl *flow) { r.disclosureBody(fl, d) }
	return l
}

func (r *Renderer) disclosureBody(fl *flow, d *app.PersonData) {
	var who []string
	if d.Query.Name != "" {
		who = append(who, d.Query.Name)
	}
	if d.Query.BirthDate != "" {
		who = append(who, "geboren am "+app.FormatISODate(d.Query.BirthDate))
	}
	if d.Query.Email != "" {
		who = append(who, "E-Mail "+d.Query.Email)
	}
	fl.para(fmt.Sprintf("Sie haben Auskunft darüber verlangt, welche Daten wir über Sie verarbeiten. Gesucht haben wir nach: %s. Stand der Auskunft: %s. Gefunden haben wir %s, %s und %s.",
		strings.Join(who, ", "), app.FormatDateTime(d.At), count(len(d.Cases), "Vorgang", "Vorgänge"),
		count(len(d.Appointments), "Termin", "Termine"), count(len(d.Mails), "Mail", "Mails")))
	if len(d.Cases)+len(d.Appointments)+len(d.Mails) == 0 {
		fl.para("Zu diesen Angaben sind in unserer Anwendung Amtstresen keine Daten gespeichert.")
	}
	for _, c := range d.Cases {
		svc := r.service(c.Service)
		fl.heading(fmt.Sprintf("Vorgang %s – %s", c.Ref, r.serviceName(c.Service)))
		rows := []kv{
			{label: "Zuständig", value: r.office(c.Office).Name},
			{label: "Eingang", value: app.FormatDateTime(c.ReceivedAt)},
			{label: "Eingangsweg", value: map[app.Channel]string{app.ChannelPortal: "Bürgerportal", app.ChannelCounter: "persönlich"}[c.Channel]},
			{label: "Stand", value: c.Status.Label()},
		}
		if !c.ClosedAt.IsZero() {
			rows = append(rows, kv{label: "Abgeschlossen", value: app.FormatDate(c.ClosedAt)})
		}
		if exp := retentionText(svc, c.ClosedAt); exp != "" {
			rows = append(rows, kv{label: "Speicherdauer", value: exp})
		}
		a := c.Applicant
		rows = append(rows, kv{label: "Name", value: strings.TrimSpace(a.Salutation + " " + a.Name())})
		if a.BirthDate != "" {
			rows = append(rows, kv{label: "Geburtsdatum", value: app.FormatISODate(a.BirthDate)})
		}
		if s := a.Address.Line(); s != "" {
			rows = append(rows, kv{label: "Anschrift", value: s})
		}
		if a.Email != "" {
			rows = append(rows, kv{label: "E-Mail", value: a.Email})
		}
		if a.Phone != "" {
			rows = append(rows, kv{label: "Telefon", value: a.Phone})
		}
		fl.table(rows)
		var fields map[string]any
		if len(c.Fields) > 0 {
			_ = json.Unmarshal(c.Fields, &fields)
		}
		if fr := r.allFieldRows(c.Service, fields, c.Fields); len(fr) > 0 {
			fl.paraStyle("B", "Ihre Angaben")
			fl.table(fr)
		}
		if len(c.Attachments) > 0 || len(c.Presented) > 0 {
			var items []string
			for _, at := range c.Attachments {
				items = append(items, fmt.Sprintf("%s (%s)", at.Name, fileState(at)))
			}
			for _, p := range c.Presented {
				st := "am Schalter vorgelegt"
				if p.Copy {
					st += ", Kopie genommen"
				}
				items = append(items, fmt.Sprintf("%s (%s)", p.Name, st))
			}
			fl.paraStyle("B", "Unterlagen")
			fl.bullets(items)
		}
		if ns := d.Notes[c.Ref]; len(ns) > 0 {
			var items []string
			for _, n := range ns {
				s := fmt.Sprintf("%s, %s (%s): %s", app.FormatDateTime(n.At), n.Author, noteKind(n.Kind), n.Text)
				for _, at := range n.Attachments {
					s += fmt.Sprintf(" [Anlage: %s, %s]", at.Name, fileState(at))
				}
				items = append(items, s)
			}
			fl.paraStyle("B", "Verlauf und Nachrichten")
			fl.bullets(items)
		}
		if ms := d.Messages[c.Ref]; len(ms) > 0 {
			var items []string
			for _, m := range ms {
				s := fmt.Sprintf("%s, %s (%s): %s", app.FormatDateTime(m.QueuedAt), m.Status.Label(), m.State.Label(), m.Text)
				if len(m.Documents) > 0 {
					s += " [fehlende Unterlagen: " + strings.Join(m.Documents, ", ") + "]"
				}
				items = append(items, s)
			}
			fl.paraStyle("B", "Unsere Nachrichten an Sie")
			fl.bullets(items)
		}
	}
	if len(d.Appointments) > 0 {
		fl.heading("Termine")
		for _, a := range d.Appointments {
			rows := []kv{
				{label: "Termin", value: app.FormatDateTime(a.Start), strong: true},
				{label: "Leistung", value: r.serviceName(a.Service)},
				{label: "Dienststelle", value: r.office(a.Office).Name},
				{label: "Stand", value: a.Status.Label()},
				{label: "Buchungsnummer", value: BookingCode(a.UID)},
			}
			if a.CitizenName != "" {
				rows = append(rows, kv{label: "Name", value: a.CitizenName})
			}
			if a.CitizenEmail != "" {
				rows = append(rows, kv{label: "E-Mail", value: a.CitizenEmail})
			}
			if exp := retentionAppt(r.service(a.Service)); exp != "" {
				rows = append(rows, kv{label: "Speicherdauer", value: exp})
			}
			fl.table(rows)
		}
	}
	if len(d.Mails) > 0 {
		fl.heading("Mails zur Prüfung")
		var items []string
		for _, m := range d.Mails {
			items = append(items, fmt.Sprintf("%s, von %s: „%s“", app.FormatDateTime(m.ReceivedAt), m.From, m.Subject))
		}
		fl.bullets(items)
	}
	fl.heading("Zweck, Empfänger und Ihre Rechte")
	fl.para("Wir verarbeiten diese Daten, um Ihre Anliegen zu bearbeiten (Art. 6 Abs. 1 Buchst. c und e DSGVO). Sie stammen von Ihnen (Bürgerportal oder Schalter). Innerhalb der Verwaltung sehen sie nur die zuständige Dienststelle; wird ein Anliegen weitergeleitet, die Dienststelle, an die es geht. Jeder Zugriff wird protokolliert. Nach Ablauf der genannten Speicherdauer werden die Daten gelöscht; in Sicherungskopien bleiben sie bis zu deren planmäßiger Löschung erhalten.")
	fl.para("Sie haben das Recht auf Berichtigung (Art. 16), Löschung (Art. 17), Einschränkung der Verarbeitung (Art. 18) und Widerspruch (Art. 21 DSGVO) sowie das Recht, sich beim Landesbeauftragten für den Datenschutz und die Informationsfreiheit Rheinland-Pfalz zu beschweren. Eine maschinenlesbare Fassung dieser Auskunft (JSON) und Kopien Ihrer Unterlagen liegen bei.")
}

// allFieldRows lists the catalog fields, then every other stored value
// (unknown fields are kept and belong to the answer too), found as the
// case view finds them (app.Registry.DisplayFields).
func (r *Renderer) allFieldRows(service string, fields map[string]any, raw json.RawMessage) []kv {
	rows := r.fieldRows(service, fields)
	for _, fv := range r.reg.DisplayFields(service, raw) {
		if fv.Known {
			continue
		}
		// Raw JSON there; a letter shows a text without its quotes.
		if v := strings.Trim(fv.Value, `"`); v != "" && v != "null" {
			rows = append(rows, kv{label: fv.Label, value: v})
		}
	}
	return rows
}

func retentionText(svc *app.Service, closed time.Time) string {
	if svc == nil {
		return ""
	}
	var period string
	switch {
	case svc.RetentionMonths > 0:
		period = fmt.Sprintf("%d Monate", svc.RetentionMonths)
	case svc.RetentionDays > 0:
		period = fmt.Sprintf("%d Tage", svc.RetentionDays)
	default:
		return ""
	}
	if closed.IsZero() {
		return period + " nach Abschluss des Vorgangs"
	}
	until := closed.In(app.Berlin).AddDate(0, svc.RetentionMonths, 0)
	if svc.RetentionMonths == 0 {
		until = closed.In(app.Berlin).AddDate(0, 0, svc.RetentionDays)
	}
	return period + " nach Abschluss, also bis " + app.FormatDate(until)
}

func retentionAppt(svc *app.Service) string {
	if svc == nil || svc.RetentionDays == 0 {
		return ""
	}
	return fmt.Sprintf("%d Tage nach dem Termin", svc.RetentionDays)
}

// count is "1 Vorgang", "2 Vorgänge", "keine Vorgänge".
func count(n int, one, many string) string {
	switch n {
	case 0:
		return "keine " + many
	case 1:
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// fileState says how a file came in, for the citizen: no byte counts.
func fileState(a app.Attachment) string {
	switch {
	case !a.Received:
		return "nicht eingegangen"
	case a.Problem != "":
		return "beschädigt angekommen"
	}
	return "eingegangen"
}

func noteKind(k string) string {
	switch k {
	case "message":
		return "Nachricht"
	case "forward":
		return "Weiterleitung"
	case "status":
		return "Statusänderung"
	}
	return "Vermerk"
}

// DisclosureFiles writes the Art. 15 answer into dir (created with mode
// 0700): Auskunft.pdf to read, Auskunft.json to process, and the stored
// files in anlagen/ (named by reference and the sender's file name,
// never as given paths). Every file gets mode 0600. data fetches a file
// by its SHA-256.
func (r *Renderer) DisclosureFiles(dir string, d *app.PersonData, office app.OfficeKey, o Options, data func(sha string) ([]byte, error)) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf("Der Ordner %s kann nicht angelegt werden.", dir)}
	}
	var files []string
	write := func(name string, fn func(w io.Writer) error) error {
		p := filepath.Join(dir, name)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	if err := write("Auskunft.pdf", func(w io.Writer) error { return r.Disclosure(w, d, office, o) }); err != nil {
		return files, err
	}
	if err := write("Auskunft.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(app.NewPersonJSON(d))
	}); err != nil {
		return files, err
	}
	type att struct{ ref, name, sha string }
	var atts []att
	for _, c := range d.Cases {
		for _, a := range c.Attachments {
			atts = append(atts, att{c.Ref, a.Name, a.SHA256})
		}
		for _, n := range d.Notes[c.Ref] {
			for _, a := range n.Attachments {
				atts = append(atts, att{c.Ref, a.Name, a.SHA256})
			}
		}
	}
	seen := map[string]bool{}
	for _, a := range atts {
		if a.sha == "" {
			continue
		}
		b, err := data(a.sha)
		if app.ErrorCode(err) == app.ENOTFOUND {
			continue // announced, never received
		}
		if err != nil {
			return files, err
		}
		name := asciiName(a.ref) + "_" + safeBase(a.name)
		if seen[name] {
			name = asciiName(a.ref) + "_" + a.sha[:8] + "_" + safeBase(a.name)
		}
		seen[name] = true
		if err := os.MkdirAll(filepath.Join(dir, "anlagen"), 0o700); err != nil {
			return files, err
		}
		if err := write(filepath.Join("anlagen", name), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return files, err
		}
	}
	return files, nil
}

// safeBase makes a sender's file name safe as a file name of its own.
func safeBase(s string) string { return app.SafeFileName(s) }

package pdf

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"amtstresen/app"
)

// Message renders a message to the citizen as a letter on the office's
// letterhead: the answer to a walk-in case, or a portal message the portal
// could not deliver (print queue). The text is the one the clerk saw and
// confirmed; its greeting becomes the letter's salutation and its closing
// ("Mit freundlichen Grüßen …") the letter's own.
func (r *Renderer) Message(c *app.Case, m *app.Outgoing, o Options) ([]byte, error) {
	if c == nil || m == nil {
		return nil, errNoItem
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	off := r.office(c.Office)
	info := []kv{{label: "Aktenzeichen", value: c.Ref, strong: true}}
	if o.Clerk != "" {
		info = append(info, kv{label: "Bearbeiter/in", value: o.Clerk})
	}
	salutationLine, paras := splitMessage(m.Text)
	if salutationLine == "" {
		salutationLine = salutation(c.Applicant.Salutation, c.Applicant.FirstName, c.Applicant.LastName)
	}
	svc := r.serviceName(c.Service)
	l := &letter{
		office:     off,
		recipient:  recipient(c.Applicant),
		ref:        c.Ref,
		qr:         c.Ref,
		info:       info,
		date:       app.FormatDate(now),
		kind:       "Schreiben",
		service:    svc,
		subject:    messageSubject(svc, m),
		salutation: salutationLine,
		closing:    []string{"Ihre " + off.Name},
		body: func(fl *flow) {
			for _, p := range paras {
				if lines := strings.Split(p, "\n"); len(lines) > 1 && strings.HasPrefix(strings.TrimSpace(lines[1]), "– ") {
					fl.paraStyle("", lines[0])
					var items []string
					for _, it := range lines[1:] {
						items = append(items, strings.TrimPrefix(strings.TrimSpace(it), "– "))
					}
					fl.bullets(items)
					continue
				}
				fl.para(p)
			}
		},
	}
	f := newDoc()
	f.SetCreationDate(now)
	f.SetModificationDate(now)
	addFonts(f)
	f.SetTitle(c.Ref+" Schreiben", true)
	f.SetAuthor(clean(off.Name), true)
	f.SetSubject(clean(l.subject), true)
	f.SetCreator("Amtstresen", true)
	f.SetProducer("Amtstresen (gofpdf)", true)
	l.draw(f)
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("write pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// messageSubject is the letter's subject: the service and the status the
// message tells; a free message ("Nachricht an Bürger") tells no status,
// so its subject is the service alone.
func messageSubject(service string, m *app.Outgoing) string {
	if m.Free || m.Status == "" {
		return service
	}
	return service + " – " + m.Status.Label()
}

// splitMessage takes a message's text apart: its greeting line ("Guten Tag
// …," or "Sehr geehrte …,") and its paragraphs without the closing.
func splitMessage(text string) (greeting string, paras []string) {
	text = strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n")
	for _, p := range strings.Split(text, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			paras = append(paras, p)
		}
	}
	if len(paras) > 0 {
		first := paras[0]
		if line, rest, _ := strings.Cut(first, "\n"); strings.HasSuffix(strings.TrimSpace(line), ",") && len(line) < 120 {
			greeting = strings.TrimSpace(line)
			paras = paras[1:]
			if rest = strings.TrimSpace(rest); rest != "" {
				paras = append([]string{rest}, paras...)
			}
		}
	}
	if n := len(paras); n > 0 && strings.HasPrefix(paras[n-1], "Mit freundlichen Grüßen") {
		paras = paras[:n-1]
	}
	return greeting, paras
}

// MessageFileName is the suggested file name of a letter.
func MessageFileName(ref string) string { return app.SafeFileName(ref) + "_Schreiben.pdf" }

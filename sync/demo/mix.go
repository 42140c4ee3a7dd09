package demo

import (
	"time"

	"amtstresen/app"
)

// Mix returns about n mails in arrival order, covering every kind and every
// way a mail can go wrong: applications of every service (with and without
// attachments, one re-sent by the portal, one with a missing and one with a
// damaged attachment, one with fields the app does not know yet), messages
// and withdrawals for them, appointments booked, moved and cancelled (one
// CANCEL arriving before its REQUEST, one stale REQUEST arriving after a
// newer one), a message for an unknown case, and the mail that is no
// delivery: citizens' direct mail, a bounce, spam, unsigned and forged
// deliveries, unreadable JSON, broken MIME.
func (g *Generator) Mix(n int) []*Mail {
	var out []*Mail
	var antraege []*Mail
	add := func(m *Mail) { out = append(out, m) }
	for i, svc := range ApplicationServices {
		spec := AntragSpec{Service: svc}
		switch i {
		case 1:
			spec.Extra = map[string]any{"zahlungsart": "lastschrift", "portalVersion": "1.7.2"}
		case 3:
			spec.Files = []File{{Name: "kaufvertrag.pdf", Type: "application/pdf", Data: []byte("%PDF-1.4\n% Kaufvertrag (Auszug)\n%%EOF\n")}}
		}
		m := g.Antrag(spec)
		antraege = append(antraege, m)
		add(m)
	}
	add(g.Resend(antraege[0]))
	add(g.Antrag(AntragSpec{Service: "hund-anmelden", MissingFile: true}))
	add(g.Antrag(AntragSpec{Service: "hund-anmelden", CorruptFile: true}))
	// An applicant from outside the Kreis, a property inside it.
	outside := g.Applicant()
	outside.Address = app.Address{Street: "Löhrstraße", HouseNumber: "5", Postcode: "56068", Place: "Koblenz", AGS: "07111000"}
	add(g.Antrag(AntragSpec{Service: "eigentuemerwechsel", Applicant: &outside}))
	add(g.Nachricht(antraege[0].Vorgang, "Ich reiche den Heimtierausweis nach, anbei ein Foto.",
		File{Name: "heimtierausweis.jpg", Type: "image/jpeg", Data: g.JPEG(4000)}))
	add(g.Ruecknahme(antraege[4].Vorgang, "Hat sich erledigt, der Nachbar nimmt den Schrank."))
	add(g.Nachricht(g.UUID(), "Wie ist der Stand meines Antrags?"))
	// Appointments: booked, moved, cancelled.
	t0, spec := g.Termin(TerminSpec{Service: "kfz-zulassung"})
	add(t0)
	spec.Sequence, spec.Start = 1, app.NextWorkingDay(spec.Start.Add(24*time.Hour)).Add(time.Duration(spec.Start.In(app.Berlin).Hour())*time.Hour)
	t1, _ := g.Termin(spec)
	add(t1)
	spec.Sequence, spec.Cancel = 2, true
	t2, _ := g.Termin(spec)
	add(t2)
	// CANCEL before its REQUEST (same SEQUENCE).
	c0, cspec := g.Termin(TerminSpec{Service: "fuehrerschein", Cancel: true})
	cspec.Cancel = false
	r0, _ := g.Termin(cspec)
	add(c0)
	add(r0)
	// Appointments today (the next working day when today is none), at
	// the Kreis and a Verbandsgemeinde, so that the counter has its day.
	today := app.NextWorkingDay(g.Now)
	for i, ts := range []struct {
		service string
		office  app.OfficeKey
		h, m    int
	}{{"kfz-zulassung", app.OfficeKreis, 8, 30}, {"buergerbuero", app.OfficeCochem, 9, 10}, {"fuehrerschein", app.OfficeKreis, 10, 40},
		{"buergerbuero", app.OfficeZell, 11, 20}, {"kfz-zulassung", app.OfficeKreis, 14, 0}} {
		m, _ := g.Termin(TerminSpec{Service: ts.service, Office: ts.office,
			Start: time.Date(today.Year(), today.Month(), today.Day(), ts.h, ts.m+i, 0, 0, app.Berlin)})
		add(m)
	}
	// A stale REQUEST (SEQUENCE 0) after the move (SEQUENCE 1).
	_, sspec := g.Termin(TerminSpec{Service: "buergerbuero"})
	sspec.Sequence = 1
	s1, _ := g.Termin(sspec)
	sspec.Sequence = 0
	s0, _ := g.Termin(sspec)
	add(s1)
	add(s0)
	// Not deliveries.
	add(g.CitizenMail())
	add(g.Bounce())
	add(g.Spam())
	add(Unsigned(g.Antrag(AntragSpec{Service: "sperrmuell"})))
	add(BadSignature(g.Antrag(AntragSpec{Service: "hund-anmelden"})))
	add(g.BrokenJSON())
	add(g.Malformed())
	// Fill up with ordinary traffic.
	for len(out) < n {
		switch g.rnd.Intn(10) {
		case 0, 1, 2:
			m, _ := g.Termin(TerminSpec{})
			add(m)
		case 3:
			add(g.Nachricht(antraege[g.rnd.Intn(len(antraege))].Vorgang, "Gibt es schon Neuigkeiten zu meinem Antrag?"))
		case 4:
			add(g.CitizenMail())
		default:
			m := g.Antrag(AntragSpec{})
			antraege = append(antraege, m)
			add(m)
		}
	}
	return out
}

// Bulk returns n deliveries for load tests: 70 % applications, 20 %
// appointments, 10 % messages on earlier applications; every third mail
// carries an attachment of a few KB.
func (g *Generator) Bulk(n int) []*Mail {
	out := make([]*Mail, 0, n)
	var vorgaenge []string
	for i := 0; i < n; i++ {
		withFile := i%3 == 0
		var files []File
		if withFile {
			files = []File{{Name: "foto.jpg", Type: "image/jpeg", Data: g.JPEG(3000 + g.rnd.Intn(9000))}}
		}
		r := g.rnd.Intn(10)
		switch {
		case r < 2 && !withFile:
			m, _ := g.Termin(TerminSpec{})
			out = append(out, m)
		case r < 3 && len(vorgaenge) > 0:
			out = append(out, g.Nachricht(vorgaenge[g.rnd.Intn(len(vorgaenge))], "Anbei noch eine Unterlage.", files...))
		default:
			svc := ApplicationServices[g.rnd.Intn(len(ApplicationServices))]
			m := g.Antrag(AntragSpec{Service: svc, Files: files, NoFiles: !withFile})
			vorgaenge = append(vorgaenge, m.Vorgang)
			out = append(out, m)
		}
	}
	return out
}

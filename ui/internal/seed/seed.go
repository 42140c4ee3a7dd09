// Package seed makes realistic, reproducible test data for the window:
// cases of every service across the 89 municipalities, with claims and
// status changes, appointments and kept mails. Names and addresses are
// invented.
package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"amtstresen/app"
)

var (
	women      = []string{"Anna", "Maria", "Julia", "Sabine", "Petra", "Claudia", "Laura", "Lena", "Sophie", "Katharina", "Bärbel", "Özlem", "Élodie"}
	men        = []string{"Thomas", "Michael", "Andreas", "Stefan", "Markus", "Jörg", "Klaus", "Jürgen", "Lukas", "Felix", "Jonas", "Günter"}
	firstNames = append(append([]string(nil), women...), men...)
	lastNames  = []string{"Müller", "Schmitt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
		"Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann",
		"Lange", "Schmitz", "Krämer", "Thielen", "Theisen", "Pauly", "Zender", "Mertes", "Kaufmann", "Bauer", "Muster"}
	streets = []string{"Moselstraße", "Hauptstraße", "Kirchstraße", "Bahnhofstraße", "Schulstraße", "Am Weinberg", "Ravenéstraße",
		"Brückenstraße", "Gartenstraße", "Im Wiesengrund", "Burgstraße", "Lindenweg", "Zum Sportplatz", "Marktplatz", "Endertstraße"}
	dogNames  = []string{"Bello", "Luna", "Rex", "Balou", "Emma", "Paul", "Kira", "Sammy", "Lotte", "Charly"}
	breeds    = []string{"Dackel", "Labrador Retriever", "Mischling", "Deutscher Schäferhund", "Beagle", "Jack Russell Terrier", "Golden Retriever"}
	items     = []string{"Sofa", "Sessel", "Schrank", "Matratze", "Teppich", "Tisch", "Stühle", "Lattenrost", "Kommode", "Regal"}
	appliance = []string{"kuehlgeraet", "waschmaschine", "trockner", "herd", "spuelmaschine", "fernseher"}
	events    = []string{"Weinfest", "Pfarrfest", "Flohmarkt", "Konzert des Musikvereins", "Kirmes", "Adventsmarkt", "Sommerfest der Feuerwehr"}
	rooms     = []string{"Bürgersaal", "Gemeindehaus", "Schutzhütte", "Dorfgemeinschaftshaus"}
)

// Gen makes cases; the same seed gives the same data.
type Gen struct {
	reg *app.Registry
	r   *rand.Rand
	now time.Time
}

// New returns a generator; cases are received in the two years before now.
func New(reg *app.Registry, seed uint64, now time.Time) *Gen {
	return &Gen{reg: reg, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: now}
}

func (g *Gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *Gen) date(daysBefore, spread int) string {
	return g.now.AddDate(0, 0, -daysBefore-g.r.IntN(spread+1)).In(app.Berlin).Format("02.01.2006")
}

func (g *Gen) future(days, spread int) string {
	return g.now.AddDate(0, 0, days+g.r.IntN(spread+1)).In(app.Berlin).Format("02.01.2006")
}

// Input returns a valid counter form for the service.
func (g *Gen) Input(service string) app.IntakeInput {
	m := g.reg.Municipalities[g.r.IntN(len(g.reg.Municipalities))]
	salutation, first := "Frau", g.pick(women)
	if g.r.IntN(2) == 0 {
		salutation, first = "Herr", g.pick(men)
	}
	in := app.IntakeInput{
		Service: service, Salutation: salutation, FirstName: first, LastName: g.pick(lastNames),
		BirthDate: fmt.Sprintf("%02d.%02d.%d", 1+g.r.IntN(28), 1+g.r.IntN(12), 1940+g.r.IntN(65)),
		Street:    g.pick(streets), HouseNumber: fmt.Sprint(1 + g.r.IntN(80)), Postcode: m.Postcodes[0], Place: m.Name, AGS: m.AGS,
		Fields: map[string]string{},
	}
	if g.r.IntN(3) > 0 {
		in.Email = strings.ToLower(strings.NewReplacer("ü", "ue", "ö", "oe", "ä", "ae", "ß", "ss", "é", "e", "Ö", "oe", "É", "e").
			Replace(in.FirstName+"."+in.LastName)) + "@example.org"
	}
	f := in.Fields
	addr := func(p string) {
		f[p+".strasse"], f[p+".hausnummer"], f[p+".plz"], f[p+".ort"] = in.Street, in.HouseNumber, in.Postcode, in.Place
	}
	switch service {
	case "hund-anmelden":
		f["hund.name"], f["hund.rasse"] = g.pick(dogNames), g.pick(breeds)
		f["hund.chipnummer"] = fmt.Sprintf("276%012d", g.r.Int64N(1e12))
		f["hund.geburtsdatum"] = g.date(200, 3000)
		f["haltungsbeginn"] = g.date(0, 60)
		f["gefaehrlich"] = map[bool]string{true: "ja", false: "nein"}[g.r.IntN(30) == 0]
		f["weitereHunde"] = fmt.Sprint(g.r.IntN(3))
	case "hund-abmelden":
		f["steuermarke"] = fmt.Sprintf("HS-%04d", g.r.IntN(9999))
		f["grund"] = g.pick([]string{"verstorben", "abgegeben", "weggezogen"})
		f["abmeldedatum"] = g.date(0, 30)
	case "plakatierung":
		day := g.r.IntN(40)
		f["veranstaltung.titel"] = g.pick(events) + " " + m.Name
		f["veranstaltung.datum"] = g.future(day+14, 0)
		f["veranstaltung.ort"] = m.Name
		f["veranstalter"] = "Ortsverein " + m.Name
		f["anzahlPlakate"] = fmt.Sprint(5 + g.r.IntN(60))
		f["format"] = g.pick([]string{"A2", "A1", "A0"})
		f["zeitraum.von"] = g.future(day, 0)
		f["zeitraum.bis"] = g.future(day+14, 0)
		f["gemeinden"] = m.AGS
	case "eigentuemerwechsel":
		f["grundstueck.gemeindeschluessel"] = m.AGS
		f["grundstueck.gemarkung"] = m.Name
		f["grundstueck.flur"] = fmt.Sprint(1 + g.r.IntN(40))
		f["grundstueck.flurstueck"] = fmt.Sprintf("%d/%d", 1+g.r.IntN(900), 1+g.r.IntN(9))
		f["bisherigerEigentuemer.name"] = g.pick(firstNames) + " " + g.pick(lastNames)
		f["neuerEigentuemer.name"] = in.FirstName + " " + in.LastName
		f["uebergangsdatum"] = g.date(0, 90)
	case "sperrmuell":
		addr("abholanschrift")
		var lines []string
		for i := 0; i < 1+g.r.IntN(3); i++ {
			lines = append(lines, fmt.Sprintf("%d %s", 1+g.r.IntN(3), g.pick(items)))
		}
		f["gegenstaende"] = strings.Join(lines, "\n")
		f["volumenKubikmeter"] = fmt.Sprint(1 + g.r.IntN(4))
	case "elektrogeraete":
		addr("abholanschrift")
		f["geraete"] = fmt.Sprintf("1 %s", g.pick(appliance))
	case "raum-mieten":
		f["einrichtung"] = g.pick(rooms)
		f["gemeindeschluessel"] = m.AGS
		f["datum"] = g.future(10, 120)
		f["von"], f["bis"] = "14:00", "22:00"
		f["anlass"] = g.pick([]string{"Geburtstagsfeier", "Vereinsversammlung", "Hochzeit", "Kommunionfeier"})
		f["personen"] = fmt.Sprint(10 + g.r.IntN(120))
	}
	return in
}

var intakeServices = []string{"hund-anmelden", "hund-anmelden", "hund-abmelden", "plakatierung", "eigentuemerwechsel",
	"sperrmuell", "sperrmuell", "sperrmuell", "elektrogeraete", "elektrogeraete", "raum-mieten"}

// Case returns the i-th generated case: mostly portal applications, some
// counter cases, a few with a missing attachment or unclear routing.
func (g *Gen) Case(i int) *app.NewCase {
	svc := intakeServices[g.r.IntN(len(intakeServices))]
	in := g.Input(svc)
	unclear := g.r.IntN(100) == 0 && (svc == "hund-anmelden" || svc == "hund-abmelden")
	if unclear {
		in.Postcode, in.Place, in.AGS = "56814", "", ""
	}
	at := g.now.Add(-time.Duration(g.r.Int64N(int64(730 * 24 * time.Hour))))
	it := g.reg.Intake(in, at)
	fields, _ := json.Marshal(it.Angaben)
	nc := &app.NewCase{
		IdempotencyKey: fmt.Sprintf("seed-%d", i), Channel: app.ChannelCounter, Service: svc, Applicant: it.Applicant,
		Fields: fields, Routing: it.Decision, Flags: append([]app.Flag(nil), it.Decision.Flags...), ReceivedAt: at.UTC(), Clerk: "seed",
	}
	if g.r.IntN(10) < 7 {
		nc.Channel = app.ChannelPortal
		nc.Clerk = "portal"
		nc.PortalCase = fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", g.r.Uint32(), g.r.IntN(0xffff), g.r.IntN(0xfff), g.r.IntN(0xfff), g.r.Int64N(1<<48))
		nc.IdempotencyKey = nc.PortalCase
		data := []byte(fmt.Sprintf("Anlage %d", i))
		a := app.NewAttachment{Attachment: app.Attachment{Name: "personalausweis.pdf", Type: "application/pdf", Size: int64(len(data)), Received: true}, Data: data}
		if g.r.IntN(30) == 0 {
			a = app.NewAttachment{Attachment: app.Attachment{Name: "impfpass.jpg", Type: "image/jpeg", Size: 48211, Received: false,
				Problem: "Die Anlage fehlt in der Sendung."}}
			nc.Flags = append(nc.Flags, app.FlagAttachmentMissing)
		}
		nc.Attachments = []app.NewAttachment{a}
	}
	return nc
}

var clerks = []string{"mmueller", "aschmitt", "tweber", "kbecker", "jthielen"}

// Fill creates n cases in the store and moves some of them along:
// claimed, in progress, waiting, done. progress (optional) is called every
// 1,000 cases.
func Fill(ctx context.Context, st app.Store, reg *app.Registry, n int, now time.Time, progress func(done int)) error {
	g := New(reg, 42, now)
	for i := 0; i < n; i++ {
		nc := g.Case(i)
		c, _, err := st.CreateCase(ctx, nc, nil)
		if err != nil {
			return fmt.Errorf("seed case %d: %w", i, err)
		}
		// Older cases are further along.
		age := now.Sub(nc.ReceivedAt)
		by := app.Actor{Clerk: clerks[g.r.IntN(len(clerks))], Office: c.Office}
		switch x := g.r.IntN(100); {
		case age > 60*24*time.Hour && x < 85:
			err = moveAlong(ctx, st, c.Ref, by, []app.Status{app.StatusInProgress, app.StatusDone})
		case age > 14*24*time.Hour && x < 60:
			err = moveAlong(ctx, st, c.Ref, by, []app.Status{app.StatusInProgress, app.StatusWaiting})
		case x < 30:
			err = moveAlong(ctx, st, c.Ref, by, []app.Status{app.StatusInProgress})
		}
		if err != nil {
			return fmt.Errorf("seed case %d: %w", i, err)
		}
		if progress != nil && (i+1)%1000 == 0 {
			progress(i + 1)
		}
	}
	return nil
}

func moveAlong(ctx context.Context, st app.Store, ref string, by app.Actor, path []app.Status) error {
	if err := st.Claim(ctx, ref, by); err != nil {
		return err
	}
	for _, s := range path {
		reason := ""
		switch s {
		case app.StatusWaiting:
			reason = "Unterlagen beim Bürger angefordert"
		case app.StatusDone:
			reason = "Bescheid versandt"
		}
		if err := st.SetStatus(ctx, ref, s, reason, by); err != nil {
			return err
		}
	}
	return nil
}

// Appointments books a day of appointments per office around day, some
// moved, some cancelled.
func Appointments(ctx context.Context, st app.Store, reg *app.Registry, day time.Time) error {
	g := New(reg, 7, day)
	y, m, d := app.NextWorkingDay(day).Date() // offices are closed on weekends and holidays
	services := map[app.OfficeKey][]string{app.OfficeKreis: {"kfz-zulassung", "fuehrerschein"}}
	for _, o := range reg.Offices {
		list := services[o.Key]
		if list == nil {
			list = []string{"buergerbuero"}
		}
		for slot := 0; slot < 14; slot++ {
			start := time.Date(y, m, d, 8, 0, 0, 0, app.Berlin).Add(time.Duration(slot) * 20 * time.Minute)
			if slot >= 8 {
				start = start.Add(90 * time.Minute) // lunch
			}
			a := &app.Appointment{
				UID: fmt.Sprintf("%s-%s-%02d@buergerportal.cochem-zell.de", start.Format("20060102"), o.Key, slot), Service: g.pick(list), Office: o.Key,
				Start: start.UTC(), End: start.Add(20 * time.Minute).UTC(), CitizenName: g.pick(firstNames) + " " + g.pick(lastNames),
				CitizenEmail: "buerger@example.org", Location: o.Name + ", " + o.AddressLine(), Status: app.AppointmentConfirmed,
				PortalCase: fmt.Sprintf("termin-%s-%02d", o.Key, slot), UpdatedAt: day.UTC(),
			}
			switch slot % 7 {
			case 3:
				a.Sequence = 1 // moved
			case 5:
				a.Sequence, a.Status = 1, app.AppointmentCancelled
			}
			if _, err := st.ApplyAppointment(ctx, a, nil); err != nil {
				return fmt.Errorf("seed appointment: %w", err)
			}
		}
	}
	return nil
}

// ReviewItems keeps a few mails of every kind on the review list.
func ReviewItems(ctx context.Context, st app.Store, now time.Time) error {
	mails := []struct {
		reason  app.ReviewReason
		from    string
		subject string
		body    string
		detail  string
	}{
		{app.ReviewNotPortal, "Erika Mustermann <erika.mustermann@example.org>", "Frage zur Hundesteuer",
			"Sehr geehrte Damen und Herren,\r\n\r\nich habe meinen Hund im März angemeldet, aber noch keine Steuermarke erhalten.\r\nKönnen Sie bitte nachsehen?\r\n\r\nMit freundlichen Grüßen\r\nErika Mustermann\r\nMoselstraße 3, 56856 Zell (Mosel)\r\n", ""},
		{app.ReviewSignatureInvalid, "Bürgerportal Cochem-Zell <noreply@cochem-zell-online.de>", "Neuer Antrag: Sperrmüll zur Abholung anmelden",
			"Signierte Portalsendung (Inhalt siehe Anlage).\r\n", "ed25519: signature mismatch"},
		{app.ReviewCaseUnknown, "Bürgerportal Cochem-Zell <noreply@cochem-zell-online.de>", "Nachricht zu Ihrem Antrag",
			"Der Bürger hat eine Nachricht zu einem Vorgang geschickt.\r\n", "vorgang 5e1f0a77-0000-4000-8000-000000000000 unknown"},
		{app.ReviewNotPortal, "MAILER-DAEMON@mail.example.net", "Undelivered Mail Returned to Sender",
			"This is the mail system at host mail.example.net.\r\n\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n", ""},
		{app.ReviewTooLarge, "Karl Zender <k.zender@example.org>", "Bauantrag mit Plänen", "", "size 41943040 > 26214400"},
	}
	for i, ml := range mails {
		raw := []byte(fmt.Sprintf("From: %s\r\nTo: buergerportal@cochem-zell.de\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <seed-%d@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s",
			ml.from, ml.subject, now.Add(-time.Duration(i+1)*3*time.Hour).Format(time.RFC1123Z), i, ml.body))
		it := &app.ReviewItem{MessageID: fmt.Sprintf("<seed-%d@example.org>", i), Subject: ml.subject, From: ml.from, Reason: ml.reason,
			Detail: ml.detail, ReceivedAt: now.Add(-time.Duration(i+1) * 3 * time.Hour).UTC(), Size: int64(len(raw)), Raw: raw}
		if ml.reason == app.ReviewTooLarge {
			it.Raw, it.Size = nil, 41943040
		}
		if err := st.AddReview(ctx, it, nil); err != nil {
			return fmt.Errorf("seed review: %w", err)
		}
	}
	return nil
}

package pdf

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// A message becomes a letter: its greeting is the salutation, its closing
// is dropped for the letter's own, the rest are the paragraphs; the same
// input gives the same bytes.
func TestMessageLetter(t *testing.T) {
	text := "Guten Tag Eva Thal,\n\nfür Ihren Antrag fehlen uns noch folgende Unterlagen:\n– Impfpass\n– Personalausweis\n\nBitte bis 11.12.2026 nachreichen.\n\nMit freundlichen Grüßen\nIhre Verbandsgemeindeverwaltung Cochem"
	g, paras := splitMessage(text)
	if g != "Guten Tag Eva Thal," || len(paras) != 2 || !strings.HasPrefix(paras[1], "Bitte bis") {
		t.Fatalf("greeting %q paragraphs %q", g, paras)
	}
	r := NewRenderer(app.Default())
	c := &app.Case{Ref: "COC-2026-00007", Office: app.OfficeCochem, Service: "hund-anmelden",
		Applicant: app.Applicant{FirstName: "Eva", LastName: "Thal", Address: app.Address{Street: "Moselstraße", HouseNumber: "1", Postcode: "56812", Place: "Cochem"}}}
	m := &app.Outgoing{Ref: c.Ref, Status: app.PortalDocsMissing, Text: text}
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, app.Berlin)
	a, err := r.Message(c, m, Options{Now: at, Clerk: "Maria Müller"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Message(c, m, Options{Now: at, Clerk: "Maria Müller"})
	if !bytes.HasPrefix(a, []byte("%PDF-")) || len(a) < 1000 || !bytes.Equal(a, b) {
		t.Fatalf("pdf: %d bytes, deterministic %v", len(a), bytes.Equal(a, b))
	}
	if _, err := r.Message(nil, m, Options{}); err == nil {
		t.Error("a letter without a case")
	}
}

// A free message's letter names the service alone; a status message adds
// its status (before, a free message's letter read e.g. "– Eingegangen").
func TestMessageSubject(t *testing.T) {
	if got := messageSubject("Hund anmelden", &app.Outgoing{Status: app.PortalReceived, Free: true}); got != "Hund anmelden" {
		t.Errorf("free message: %q", got)
	}
	if got := messageSubject("Hund anmelden", &app.Outgoing{Status: app.PortalDocsMissing}); got != "Hund anmelden – Unterlagen fehlen" {
		t.Errorf("status message: %q", got)
	}
}

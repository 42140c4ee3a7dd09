package delivery

import (
	"crypto/ed25519"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/sync/portaltest"
)

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseExamples(t *testing.T) {
	pub := portaltest.TestPublicKey()
	tests := []struct {
		file    string
		kind    string
		review  app.ReviewReason
		vorgang string
		files   int
		flags   int
	}{
		{"01-antrag-hund-anmelden.eml", KindAntrag, "", "cd613e30-d8f1-4adf-91b7-584a2265b1f5", 1, 0},
		{"02-antrag-hund-anmelden-erneut.eml", KindAntrag, "", "cd613e30-d8f1-4adf-91b7-584a2265b1f5", 1, 0},
		{"03-antrag-sperrmuell.eml", KindAntrag, "", "21636369-8b52-4b4a-97b7-50923ceb3ffd", 0, 0},
		{"04-antrag-eigentuemerwechsel.eml", KindAntrag, "", "b8a1abcd-1a69-46c7-8da4-f9fc3c6da5d7", 0, 0},
		{"05-termin-kfz-zulassung.eml", KindTermin, "", "5bc8fbbc-bde5-4099-8164-d8399f767c45", 0, 0},
		{"06-termin-kfz-verschoben.eml", KindTermin, "", "5bc8fbbc-bde5-4099-8164-d8399f767c45", 0, 0},
		{"07-termin-kfz-abgesagt.eml", KindTermin, "", "5bc8fbbc-bde5-4099-8164-d8399f767c45", 0, 0},
		{"08-nachricht.eml", KindNachricht, "", "cd613e30-d8f1-4adf-91b7-584a2265b1f5", 1, 0},
		{"09-antrag-plakatierung.eml", KindAntrag, "", "4462ebfc-5f91-4ef0-9cfb-ac6e7687a66e", 0, 0},
		{"10-ruecknahme.eml", KindRuecknahme, "", "21636369-8b52-4b4a-97b7-50923ceb3ffd", 0, 0},
		{"11-buergeranfrage.eml", "", app.ReviewNotPortal, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d := ParseDelivery(readExample(t, tt.file), pub, Limits{})
			if d.Review != tt.review {
				t.Fatalf("review = %q (%s), want %q", d.Review, d.Detail, tt.review)
			}
			if d.Kind != tt.kind || d.Vorgang != tt.vorgang {
				t.Errorf("kind, vorgang = %q, %q; want %q, %q", d.Kind, d.Vorgang, tt.kind, tt.vorgang)
			}
			if len(d.Files) != tt.files || len(d.Flags) != tt.flags {
				t.Errorf("files, flags = %d, %v; want %d, %d", len(d.Files), d.Flags, tt.files, tt.flags)
			}
			for _, f := range d.Files {
				if !f.Received || f.Problem != "" {
					t.Errorf("file %s: received=%v problem=%q", f.Name, f.Received, f.Problem)
				}
			}
			if d.MessageID == "" || strings.ContainsAny(d.MessageID, "<> ") {
				t.Errorf("message id %q", d.MessageID)
			}
		})
	}
	// The appointment in detail: TZID=Europe/Berlin, folded ATTENDEE.
	d := ParseDelivery(readExample(t, "05-termin-kfz-zulassung.eml"), pub, Limits{})
	a := d.Appointment
	want := time.Date(2026, 12, 3, 9, 30, 0, 0, app.Berlin)
	if !a.Start.Equal(want) || !a.End.Equal(want.Add(20*time.Minute)) || a.Start.Location() != time.UTC {
		t.Errorf("start, end = %v, %v; want %v", a.Start, a.End, want)
	}
	if a.CitizenName != "Björn Weißgerber" || a.CitizenEmail != "bjoern.weissgerber@example.org" || a.Office != app.OfficeKreis ||
		a.Service != "kfz-zulassung" || a.Sequence != 0 || a.Status != app.AppointmentConfirmed || a.UID != "74b77472-1431-492a-8f9e-a47c4655af32@cochem-zell-online.de" {
		t.Errorf("appointment = %+v", a)
	}
	if a.Location != "Kreisverwaltung Cochem-Zell, Endertplatz 2, 56812 Cochem" {
		t.Errorf("location %q", a.Location)
	}
	d = ParseDelivery(readExample(t, "07-termin-kfz-abgesagt.eml"), pub, Limits{})
	if d.Appointment.Status != app.AppointmentCancelled || d.Appointment.Sequence != 2 {
		t.Errorf("cancel = %+v", d.Appointment)
	}
	// Same delivery re-sent: same payload key.
	d1 := ParseDelivery(readExample(t, "01-antrag-hund-anmelden.eml"), pub, Limits{})
	d2 := ParseDelivery(readExample(t, "02-antrag-hund-anmelden-erneut.eml"), pub, Limits{})
	if d1.Key() != d2.Key() || d1.MessageID == d2.MessageID {
		t.Errorf("re-delivery: keys %s %s ids %s %s", d1.Key(), d2.Key(), d1.MessageID, d2.MessageID)
	}
	if d1.Antrag.Antragsteller.FirstName != "Özlem" || d1.Antrag.Leistung.Schluessel != "hund-anmelden" {
		t.Errorf("antrag = %+v", d1.Antrag)
	}
}

func TestParseWrongKey(t *testing.T) {
	other := make([]byte, 32)
	d := ParseDelivery(readExample(t, "01-antrag-hund-anmelden.eml"), other, Limits{})
	if d.Review != app.ReviewSignatureInvalid {
		t.Fatalf("review = %q", d.Review)
	}
	if d.Antrag != nil || d.Files != nil {
		t.Fatal("untrusted content kept")
	}
}

func TestParseGenerated(t *testing.T) {
	g := portaltest.New(1)
	pub := portaltest.TestPublicKey()
	for i, m := range g.Mix(60) {
		d := ParseDelivery(m.Raw, pub, Limits{})
		if d.Review != m.Review && !(m.Review == "" && d.Review == "") {
			t.Errorf("%d %s: review = %q (%s), want %q", i, m.Kind, d.Review, d.Detail, m.Review)
			continue
		}
		if d.MessageID != m.MessageID {
			t.Errorf("%d: message id %q, want %q", i, d.MessageID, m.MessageID)
		}
		if m.Review == "" {
			if d.Kind != m.Kind || d.Vorgang != m.Vorgang {
				t.Errorf("%d: kind %q vorgang %q, want %q %q", i, d.Kind, d.Vorgang, m.Kind, m.Vorgang)
			}
			if len(d.Files) != m.Files {
				t.Errorf("%d: %d files, want %d", i, len(d.Files), m.Files)
			}
			if len(d.Flags) != len(m.Flags) || (len(m.Flags) > 0 && d.Flags[0] != m.Flags[0]) {
				t.Errorf("%d: flags %v, want %v", i, d.Flags, m.Flags)
			}
		}
	}
	big := g.Large(2000)
	if d := ParseDelivery(big.Raw, pub, Limits{MaxBytes: 1000}); d.Review != app.ReviewTooLarge {
		t.Errorf("large: %q", d.Review)
	}
}

func TestParseHostile(t *testing.T) {
	pub := portaltest.TestPublicKey()
	deep := "From: a@b\r\nX-Buergerportal-Art: antrag\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
	for i := 1; i < 20; i++ {
		deep += "--b" + string(rune('0'+i-1)) + "\r\nContent-Type: multipart/mixed; boundary=b" + string(rune('0'+i)) + "\r\n\r\n"
	}
	many := "From: a@b\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" + strings.Repeat("--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n", 511) + "--x--\r\n"
	for name, raw := range map[string]string{
		"deep":  deep,
		"empty": "",
		"junk":  "\x00\x01\x02",
	} {
		d := ParseDelivery([]byte(raw), pub, Limits{})
		if d.Review != app.ReviewMalformed {
			t.Errorf("%s: review %q (%s)", name, d.Review, d.Detail)
		}
	}
	// More parts than the portal's attachments can need: too large, with
	// the cap named.
	if d := ParseDelivery([]byte(many), pub, Limits{}); d.Review != app.ReviewTooLarge || !strings.Contains(d.Detail, "510 MIME-Teile") {
		t.Errorf("many: review %q (%s)", d.Review, d.Detail)
	}
	for in, want := range map[string]string{"../../etc/passwd": "passwd", `C:\x\bild.jpg`: "bild.jpg", "..": "anlage", "a\x00b.jpg": "ab.jpg", ".bashrc": "bashrc"} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseICSFolding(t *testing.T) {
	ics := "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:x@y\nSEQUENCE:3\nDTSTART;TZID=Europe/Berlin:20260329T013000\nDTEND;TZID=Europe/Berlin:20260329T033000\nATTENDEE;CN=\"Müller\\, Jörg\";ROLE=REQ-PARTICIPANT:mai\n lto:j@example.org\nSUMMARY:a\\, b\\nc\nEND:VEVENT\nEND:VCALENDAR\n"
	ev, err := ParseICS([]byte(ics))
	if err != nil {
		t.Fatal(err)
	}
	// 01:30 CET = 00:30 UTC; 03:30 CEST (after the switch) = 01:30 UTC.
	if ev.Start != time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) || ev.End != time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC) {
		t.Errorf("start %v end %v", ev.Start, ev.End)
	}
	if ev.CitizenEmail != "j@example.org" || ev.Sequence != 3 || ev.Summary != "a, b\nc" {
		t.Errorf("event %+v", ev)
	}
	for _, bad := range []string{"", "BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR\n", "BEGIN:VCALENDAR\nMETHOD:PUBLISH\nBEGIN:VEVENT\nUID:x\nDTSTART:20260101T100000Z\nEND:VEVENT\nEND:VCALENDAR\n"} {
		if _, err := ParseICS([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseDelivery(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("..", "testdata", "examples"))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".eml") {
			b, _ := os.ReadFile(filepath.Join("..", "testdata", "examples", e.Name()))
			f.Add(b)
		}
	}
	g := portaltest.New(7)
	for _, m := range g.Mix(30)[:30] {
		f.Add(m.Raw)
	}
	pub := portaltest.TestPublicKey()
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := ParseDelivery(raw, pub, Limits{MaxBytes: 1 << 20})
		if d.MessageID == "" {
			t.Fatal("no message id")
		}
		if d.Review == "" && d.Antrag == nil && d.Message == nil && d.Appointment == nil && (d.Kind != KindQuittung || d.Payload == nil) {
			t.Fatal("genuine delivery without content")
		}
		if d.Review != "" && (d.Antrag != nil || d.Payload != nil) {
			t.Fatal("review with content")
		}
	})
}

func BenchmarkParseDelivery(b *testing.B) {
	g := portaltest.New(1)
	mails := g.Bulk(300)
	pub := portaltest.TestPublicKey()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := mails[i%len(mails)]
		d := ParseDelivery(m.Raw, pub, Limits{})
		if d.Review != "" {
			b.Fatal(d.Review, d.Detail)
		}
	}
}

// TestParseDeliveriesSameAsOne: parsing a batch (signatures checked
// together) gives each mail exactly what ParseDelivery gives it, also
// with bad signatures, unsigned and foreign mail in the batch, and with
// no key at all.
func TestParseDeliveriesSameAsOne(t *testing.T) {
	g := portaltest.New(5)
	pub := portaltest.TestPublicKey()
	// Mails well signed, but with another key: they get past the checks of
	// the encoding and fail the batch equation.
	otherKey := ed25519.NewKeyFromSeed(make([]byte, 32))
	forger := portaltest.New(6)
	forger.Key = otherKey
	forged := forger.Mix(80)
	var raws [][]byte
	for i, m := range g.Mix(80) {
		raw := m.Raw
		switch i % 9 {
		case 2:
			raw = portaltest.BadSignature(m).Raw
		case 5:
			raw = portaltest.Unsigned(m).Raw
		case 7:
			raw = forged[i].Raw
		}
		raws = append(raws, raw)
	}
	ents, _ := os.ReadDir(filepath.Join("..", "testdata", "examples"))
	for _, e := range ents {
		raws = append(raws, readExample(t, e.Name()))
	}
	v, err := NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	otherPub := otherKey.Public().(ed25519.PublicKey)
	other, _ := NewVerifier(otherPub)
	invalid, valid := 0, 0
	for _, tc := range []struct {
		name string
		v    *Verifier
		pub  []byte
	}{{"portal key", v, pub}, {"other key", other, otherPub}, {"no key", nil, nil}} {
		got := ParseDeliveries(raws, tc.v, Limits{})
		for i, raw := range raws {
			want := ParseDelivery(raw, tc.pub, Limits{})
			if !reflect.DeepEqual(got[i], want) {
				t.Errorf("%s, mail %d: batch %+v\none %+v", tc.name, i, got[i], want)
			}
			if tc.name == "portal key" && want.Review == app.ReviewSignatureInvalid {
				invalid++
			}
			if tc.name == "portal key" && want.Review == "" {
				valid++
			}
		}
	}
	if invalid < 10 || valid < 40 {
		t.Errorf("%d bad and %d good signatures in the batch; the test needs both", invalid, valid)
	}
}

// TestParseMailDate: the quick path gives what mail.ParseDate gives, and
// every other form still goes through mail.ParseDate.
func TestParseMailDate(t *testing.T) {
	for _, v := range []string{
		"Fri, 27 Nov 2026 18:04:30 +0100",
		" Fri, 27 Nov 2026 18:04:30 +0000 ",
		"Fri, 7 Nov 2026 18:04:30 +0100",
		"27 Nov 2026 18:04:30 -0500",
		"Fri, 27 Nov 2026 18:04:30 +0100 (CET)",
		"Fri, 27 Nov 2026 18:04 GMT",
		"gestern",
		"",
	} {
		got, gerr := parseMailDate(v)
		want, werr := mail.ParseDate(v)
		if (gerr == nil) != (werr == nil) || !got.Equal(want) {
			t.Errorf("%q: %v %v, mail.ParseDate %v %v", v, got, gerr, want, werr)
		}
	}
}

// TestParseQuittung: the portal's receipt (12-quittung.eml) is a genuine
// delivery of kind quittung with its signed quittung.json as Payload; in
// format 1, with another portal key, or with a case in the header that the
// signed part does not name, it goes to review.
func TestParseQuittung(t *testing.T) {
	// portal/examples/12-quittung.eml, kept apart from the examples the
	// sync's tests take in as a whole.
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "rueckkanal", "12-quittung.eml"))
	if err != nil {
		t.Fatal(err)
	}
	pub := portaltest.TestPublicKey()
	d := ParseDelivery(raw, pub, Limits{})
	if d.Review != "" || d.Kind != KindQuittung || !strings.Contains(string(d.Payload), `"ergebnis": "servicekonto"`) {
		t.Fatalf("quittung: review %q (%s), kind %q, payload %q", d.Review, d.Detail, d.Kind, d.Payload)
	}
	for _, tc := range []struct {
		name   string
		raw    []byte
		pub    ed25519.PublicKey
		review app.ReviewReason
	}{
		{"format 1", []byte(strings.Replace(string(raw), "X-Buergerportal-Version: 2", "X-Buergerportal-Version: 1", 1)), pub, app.ReviewPayloadInvalid},
		{"forged", raw, ed25519.PublicKey(make([]byte, 32)), app.ReviewSignatureInvalid},
		{"other case in header", []byte(strings.Replace(string(raw), "X-Buergerportal-Vorgang: cd613e30-d8f1-4adf-91b7-584a2265b1f5", "X-Buergerportal-Vorgang: 21636369-8b52-4b4a-97b7-50923ceb3ffd", 1)), pub, app.ReviewPayloadInvalid},
	} {
		d := ParseDelivery(tc.raw, tc.pub, Limits{})
		if d.Review != tc.review || d.Payload != nil {
			t.Errorf("%s: review %q (%s), want %q", tc.name, d.Review, d.Detail, tc.review)
		}
	}
}

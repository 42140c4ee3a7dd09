package rueckkanal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"amtstresen/app"
	"amtstresen/sync/internal/signedmail"
)

const (
	testVorgang = "0b6f3c52-5a57-4a49-9d8e-3d0f3c1f4a11"
	testFrom    = "Verbandsgemeindeverwaltung Cochem <buergerportal@cochem.example>"
)

var testTime = time.Date(2026, 11, 30, 9, 12, 0, 0, time.UTC)

func testKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func validStatus(code StatusCode) *Status {
	s := NewStatus(testVorgang, "COC-2026-00017", app.OfficeCochem, code, testTime, "Ihr Antrag ist eingegangen.")
	switch code {
	case StatusUnterlagenFehlen:
		s.FehlendeUnterlagen, s.Frist = []string{"Impfpass", "Nachweis der Haftpflichtversicherung"}, "2026-12-14"
	case StatusWeitergeleitet:
		s.WeitergeleitetAn = app.OfficeKreis
	}
	return s
}

func TestStatusValidate(t *testing.T) {
	for _, c := range StatusCodes {
		if err := validStatus(c).Validate(); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	if got := validStatus(StatusEingegangen).Zeitpunkt; got != "2026-11-30T10:12:00+01:00" {
		t.Errorf("zeitpunkt %q, want Europe/Berlin to the second", got)
	}
	tests := []struct {
		name  string
		code  StatusCode
		edit  func(*Status)
		field string
	}{
		{"schema", StatusEingegangen, func(s *Status) { s.Schema = "https://example.org/x" }, "schema"},
		{"art", StatusEingegangen, func(s *Status) { s.Art = "quittung" }, "art"},
		{"walk-in case", StatusEingegangen, func(s *Status) { s.Vorgang = "" }, "vorgang"},
		{"vorgang no uuid", StatusEingegangen, func(s *Status) { s.Vorgang = "0b6f3c52-5a57-4a49-9d8e" }, "vorgang"},
		{"nachricht", StatusEingegangen, func(s *Status) { s.Nachricht = "x" }, "nachricht"},
		{"aktenzeichen empty", StatusEingegangen, func(s *Status) { s.Aktenzeichen = "" }, "aktenzeichen"},
		{"aktenzeichen padded", StatusEingegangen, func(s *Status) { s.Aktenzeichen = " COC-1" }, "aktenzeichen"},
		{"dienststelle", StatusEingegangen, func(s *Status) { s.Dienststelle = "vg-mayen" }, "dienststelle"},
		{"status", StatusEingegangen, func(s *Status) { s.Status = "erledigt" }, "status"},
		{"zeitpunkt", StatusEingegangen, func(s *Status) { s.Zeitpunkt = "30.11.2026" }, "zeitpunkt"},
		{"text empty", StatusEingegangen, func(s *Status) { s.Text = "  \n" }, "text"},
		{"text control", StatusEingegangen, func(s *Status) { s.Text = "a\x07b" }, "text"},
		{"text not utf-8", StatusEingegangen, func(s *Status) { s.Text = "M\xfcller" }, "text"},
		{"text too long", StatusEingegangen, func(s *Status) { s.Text = strings.Repeat("ä", MaxTextRunes+1) }, "text"},
		{"unterlagen missing", StatusUnterlagenFehlen, func(s *Status) { s.FehlendeUnterlagen = nil }, "fehlende_unterlagen"},
		{"unterlage empty", StatusUnterlagenFehlen, func(s *Status) { s.FehlendeUnterlagen = []string{" "} }, "fehlende_unterlagen"},
		{"frist format", StatusUnterlagenFehlen, func(s *Status) { s.Frist = "14.12.2026" }, "frist"},
		{"frist before", StatusUnterlagenFehlen, func(s *Status) { s.Frist = "2026-11-29" }, "frist"},
		{"unterlagen on other status", StatusAbgeschlossen, func(s *Status) { s.FehlendeUnterlagen = []string{"Impfpass"} }, "fehlende_unterlagen"},
		{"frist on other status", StatusInBearbeitung, func(s *Status) { s.Frist = "2026-12-14" }, "fehlende_unterlagen"},
		{"weitergeleitet without office", StatusWeitergeleitet, func(s *Status) { s.WeitergeleitetAn = "" }, "weitergeleitet_an"},
		{"weitergeleitet to itself", StatusWeitergeleitet, func(s *Status) { s.WeitergeleitetAn = app.OfficeCochem }, "weitergeleitet_an"},
		{"weitergeleitet_an on other status", StatusAbgelehnt, func(s *Status) { s.WeitergeleitetAn = app.OfficeKreis }, "weitergeleitet_an"},
		{"dokument not pdf", StatusEingegangen, func(s *Status) {
			s.Dokument = &Dokument{Datei: "a.pdf", Typ: "image/png", Groesse: 1, SHA256: strings.Repeat("0", 64)}
		}, "dokument"},
		{"dokument path", StatusEingegangen, func(s *Status) {
			s.Dokument = &Dokument{Datei: "../a.pdf", Typ: "application/pdf", Groesse: 1, SHA256: strings.Repeat("0", 64)}
		}, "dokument"},
		{"dokument hash", StatusEingegangen, func(s *Status) {
			s.Dokument = &Dokument{Datei: "a.pdf", Typ: "application/pdf", Groesse: 1, SHA256: strings.Repeat("x", 64)}
		}, "dokument"},
	}
	for _, tt := range tests {
		s := validStatus(tt.code)
		tt.edit(s)
		err := s.Validate()
		var ae *app.Error
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		if !asAppError(err, &ae) || ae.Field != tt.field || ae.Code != app.EINVALID || ae.Message == "" {
			t.Errorf("%s: got %v (field %q), want field %q", tt.name, err, fieldOf(err), tt.field)
		}
	}
}

func asAppError(err error, ae **app.Error) bool {
	e, ok := err.(*app.Error)
	*ae = e
	return ok
}

func fieldOf(err error) string {
	if e, ok := err.(*app.Error); ok {
		return e.Field
	}
	return ""
}

func TestComposeVerify(t *testing.T) {
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	keys := map[app.OfficeKey]ed25519.PublicKey{app.OfficeCochem: pub}
	pdf := &PDF{Name: "nachforderung.pdf", Data: append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 5000)...)}
	s := validStatus(StatusUnterlagenFehlen)
	m, err := Compose(s, pdf, testFrom, DefaultReturnAddress, key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "status." + s.Nachricht + "@cochem.example"; m.MessageID != want || m.Nachricht != s.Nachricht || m.Vorgang != testVorgang {
		t.Fatalf("message %+v, want Message-ID %s", m, want)
	}
	// The Message-ID is chosen once: composing the same status again gives
	// the same one.
	m2, err := Compose(s, pdf, testFrom, DefaultReturnAddress, key)
	if err != nil || m2.MessageID != m.MessageID {
		t.Fatalf("second compose: %v, Message-ID %s", err, m2.MessageID)
	}
	v, err := Verify(m.Raw, keys)
	if err != nil {
		t.Fatal(err)
	}
	if v.MessageID != m.MessageID || v.Status.Nachricht != s.Nachricht || !bytes.Equal(v.PDF.Data, pdf.Data) {
		t.Fatalf("verified %+v", v)
	}
	// The signature is over the exact decoded bytes of status.json.
	p, err := signedmail.Parse(m.Raw, "status.json")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.JSON()
	if !bytes.Equal(p.JSON, want) || !ed25519.Verify(pub, p.JSON, p.Signature) {
		t.Fatalf("status.json %s\nsigned over something else", p.JSON)
	}
	sum := sha256.Sum256(pdf.Data)
	if d := v.Status.Dokument; d == nil || d.Groesse != int64(len(pdf.Data)) || d.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("dokument %+v", d)
	}
	for k, want := range map[string]string{"X-Buergerportal-Version": "2", "X-Buergerportal-Art": "status",
		"X-Buergerportal-Vorgang": testVorgang, "X-Buergerportal-Dienststelle": "vg-cochem", "Auto-Submitted": "auto-generated"} {
		if got := p.Field(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if to, _ := p.Header.AddressList("To"); len(to) != 1 || to[0].Address != DefaultReturnAddress {
		t.Errorf("To %v", to)
	}
	if subj, _ := p.Header.Subject(); !strings.Contains(subj, "Bürgerportal") || !strings.Contains(subj, "Unterlagen fehlen") {
		t.Errorf("subject %q", subj)
	}
	// 7-bit clean: any relay takes it without 8BITMIME or SMTPUTF8.
	for i, c := range m.Raw {
		if c > 127 {
			t.Fatalf("byte %d is not ASCII", i)
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	key, other := testKey(t), testKey(t)
	keys := map[app.OfficeKey]ed25519.PublicKey{app.OfficeCochem: key.Public().(ed25519.PublicKey), app.OfficeKreis: other.Public().(ed25519.PublicKey)}
	good := func(edit func(*Status)) *Status {
		s := validStatus(StatusEingegangen)
		if edit != nil {
			edit(s)
		}
		return s
	}
	compose := func(s *Status, k ed25519.PrivateKey) []byte {
		m, err := Compose(s, nil, testFrom, DefaultReturnAddress, k)
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	// build writes a mail with any JSON and headers, signed by k.
	build := func(js []byte, fields [][2]string, k ed25519.PrivateKey, parts ...signedmail.Part) []byte {
		m := signedmail.Mail{From: mustAddr(testFrom), To: mustAddr(DefaultReturnAddress), Date: testTime, MessageID: "x@cochem.example",
			Subject: "s", Fields: fields, Summary: "t", JSONName: "status.json", JSON: js, Parts: parts}
		raw, err := m.Build(k)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	hdr := func(version, art, vorgang, office string) [][2]string {
		return [][2]string{{HeaderVersion, version}, {HeaderArt, art}, {HeaderVorgang, vorgang}, {HeaderDienststelle, office}}
	}
	st := good(nil)
	js, _ := st.JSON()
	pdf := signedmail.Part{Type: "application/pdf", Name: "a.pdf", Data: []byte("%PDF-1.4")}
	tampered := bytes.Replace(compose(good(nil), key), []byte("X-Buergerportal-Signatur: ed25519="), []byte("X-Buergerportal-Signatur: ed25519=AAAA"), 1)
	tests := []struct {
		name  string
		raw   []byte
		grund string
	}{
		{"wrong office key", compose(good(nil), other), GrundSignatur},
		{"office unknown to the portal", compose(good(func(s *Status) { s.Dienststelle = app.OfficeZell }), key), GrundSignatur},
		{"signature damaged", tampered, GrundSignatur},
		{"unsigned", bytes.Replace(compose(good(nil), key), []byte("X-Buergerportal-Signatur"), []byte("X-Buergerportal-Unsigned"), 1), GrundSignatur},
		{"version 1", build(js, hdr("1", "status", testVorgang, "vg-cochem"), key), GrundFormat},
		{"kind", build(js, hdr("2", "nachricht", testVorgang, "vg-cochem"), key), GrundFormat},
		{"header case differs from signed json", build(js, hdr("2", "status", "11111111-2222-4333-8444-555555555555", "vg-cochem"), key), GrundFormat},
		{"header office differs from signed json", build(js, hdr("2", "status", testVorgang, "kreis"), other), GrundFormat},
		{"json invalid", build([]byte(`{"schema":`), hdr("2", "status", testVorgang, "vg-cochem"), key), GrundFormat},
		{"json bad value", build(bytes.Replace(js, []byte(`"eingegangen"`), []byte(`"erledigt"`), 1), hdr("2", "status", testVorgang, "vg-cochem"), key), GrundFormat},
		{"pdf not announced", build(js, hdr("2", "status", testVorgang, "vg-cochem"), key, pdf), GrundFormat},
		{"not mime", []byte("Subject: hallo\r\n\r\nnur Text\r\n"), GrundFormat},
		{"too large", append(compose(good(nil), key), bytes.Repeat([]byte("x"), MaxMessageBytes)...), GrundZuGross},
	}
	for _, tt := range tests {
		_, err := Verify(tt.raw, keys)
		r, ok := IsRefusal(err)
		if !ok || r.Grund != tt.grund || r.Message == "" {
			t.Errorf("%s: got %v, want grund %s", tt.name, err, tt.grund)
		}
	}
	if _, err := Verify(build(js, hdr("2", "status", testVorgang, "vg-cochem"), key), keys); err != nil {
		t.Fatalf("control: a correct hand-built message is refused: %v", err)
	}
	// A changed signed part: sign one JSON, send another.
	raw := build(js, hdr("2", "status", testVorgang, "vg-cochem"), key)
	p, _ := signedmail.Parse(raw, "status.json")
	js2 := bytes.Replace(js, []byte("Ihr Antrag ist eingegangen."), []byte("Ihr Antrag ist abgelehnt!!!"), 1)
	forged := build(js2, hdr("2", "status", testVorgang, "vg-cochem"), other)
	forged = bytes.Replace(forged, []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(other, js2))), []byte(base64.StdEncoding.EncodeToString(p.Signature)), 1)
	if _, err := Verify(forged, keys); err == nil {
		t.Fatal("a changed status.json with the old signature was accepted")
	} else if r, _ := IsRefusal(err); r == nil || r.Grund != GrundSignatur {
		t.Fatalf("changed status.json: %v", err)
	}
}

func TestComposeRefuses(t *testing.T) {
	key := testKey(t)
	big := &PDF{Name: "gross.pdf", Data: append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 8_000_000)...)}
	_, err := Compose(validStatus(StatusAbgeschlossen), big, testFrom, DefaultReturnAddress, key)
	if fieldOf(err) != "dokument" || !strings.Contains(app.ErrorMessage(err), "10 MB") {
		t.Errorf("8 MB PDF (about 10.8 MB in base64): %v", err)
	}
	if _, err := Compose(validStatus(StatusAbgeschlossen), &PDF{Name: "a.pdf", Data: []byte("GIF89a")}, testFrom, DefaultReturnAddress, key); fieldOf(err) != "dokument" {
		t.Errorf("not a PDF: %v", err)
	}
	if _, err := Compose(validStatus(StatusAbgeschlossen), nil, "kein absender", DefaultReturnAddress, key); fieldOf(err) != "from" {
		t.Errorf("bad from: %v", err)
	}
	if _, err := Compose(validStatus(StatusAbgeschlossen), nil, testFrom, DefaultReturnAddress, key[:10]); fieldOf(err) != "key" {
		t.Errorf("short key: %v", err)
	}
	s := validStatus(StatusAbgeschlossen)
	s.Vorgang = ""
	if _, err := Compose(s, nil, testFrom, DefaultReturnAddress, key); fieldOf(err) != "vorgang" {
		t.Errorf("walk-in case: %v", err)
	}
}

func mustAddr(s string) *mail.Address {
	a, err := mail.ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

package signedmail

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

// portalTestPub is portal/examples/portal-signing.pub.
const portalTestPub = "yX9f7MqovIUH/GsDFe93gj/W8+WGJk4uOFFXr1EvURs="

// TestParseExample reads the portal's own quittung example: the JSON part
// by its file name, the signature over its exact decoded bytes.
func TestParseExample(t *testing.T) {
	raw, err := os.ReadFile("testdata/12-quittung.eml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(raw, "quittung.json")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := base64.StdEncoding.DecodeString(portalTestPub)
	if !p.Verify(pub) {
		t.Fatal("the example's signature does not verify")
	}
	if p.MessageID != "d811baf429e7dca85c92@mail.cochem-zell-online.de" || p.Field("X-Buergerportal-Art") != "quittung" ||
		!bytes.Contains(p.JSON, []byte(`"message_id": "<status-5d1f0a9e@vgcochem.example>"`)) || len(p.Parts) != 0 {
		t.Fatalf("%+v", p)
	}
	// One byte changed in the signed part: no longer valid.
	p.JSON[10] ^= 1
	if p.Verify(pub) {
		t.Fatal("a changed JSON part verifies")
	}
}

func TestBuildParse(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	js := []byte(`{"text":"Grüße <&> \n"}`)
	pdf := Part{Type: "application/pdf", Name: "bescheid.pdf", Data: []byte("%PDF-1.4\x00\xff")}
	m := Mail{From: &mail.Address{Name: "VG Zell (Mosel)", Address: "amt@zell.example"}, To: &mail.Address{Address: "r@portal.example"},
		Date: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), MessageID: "a.b@zell.example", Subject: "Prüfung",
		Fields: [][2]string{{"X-Buergerportal-Version", "2"}}, Summary: "Grüße\n", JSONName: "status.json", JSON: js, Parts: []Part{pdf}}
	raw, err := m.Build(key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(raw, "status.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.JSON, js) || !p.Verify(key.Public().(ed25519.PublicKey)) || p.MessageID != m.MessageID ||
		strings.TrimSpace(p.Summary) != "Grüße" || len(p.Parts) != 1 || !bytes.Equal(p.Parts[0].Data, pdf.Data) || p.Parts[0].Name != "bescheid.pdf" {
		t.Fatalf("%+v", p)
	}
	if s, _ := p.Header.Subject(); s != "Prüfung" || p.Field("X-Buergerportal-Version") != "2" {
		t.Fatalf("subject %q", s)
	}
	if _, err := m.Build(key[:5]); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := Parse([]byte("Subject: x\r\n\r\nplain\r\n"), "status.json"); err == nil {
		t.Fatal("a non-multipart mail parsed")
	}
}

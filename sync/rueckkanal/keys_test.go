package rueckkanal

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"amtstresen/app"
)

func TestOfficeKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vg-cochem.key")
	var out bytes.Buffer
	k, err := CreateOfficeKey(OfficeConfig{Dienststelle: app.OfficeCochem, KeyFile: p}, &out)
	if err != nil {
		t.Fatal(err)
	}
	priv := base64.StdEncoding.EncodeToString(k.Private)
	if !strings.Contains(out.String(), k.PublicBase64()) || strings.Contains(out.String(), priv) || strings.Contains(out.String(), priv[:20]) {
		t.Fatalf("output must show the public key and never the private one:\n%s", out.String())
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	got, err := LoadOfficeKey(OfficeConfig{Dienststelle: app.OfficeCochem, KeyFile: p})
	if err != nil || !bytes.Equal(got.Private, k.Private) || got.Office != app.OfficeCochem {
		t.Fatalf("load: %v", err)
	}
	// A status signed with the loaded key verifies with the printed public key.
	pub, err := ParsePublicKey(k.PublicBase64())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compose(validStatus(StatusEingegangen), nil, testFrom, DefaultReturnAddress, got.Private)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(m.Raw, map[app.OfficeKey]ed25519.PublicKey{app.OfficeCochem: pub}); err != nil {
		t.Fatal(err)
	}
	// Never overwritten.
	if err := WriteKeyFile(p, k); app.ErrorCode(err) != app.ECONFLICT {
		t.Fatalf("overwrite: %v", err)
	}
	// The key never shows in a log line.
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, priv[:20]) {
			t.Fatalf("private key printed: %s", s)
		}
	}
	// Readable by others: refused, and the message says how to fix it.
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		os.Chmod(p, mode)
		_, err := LoadOfficeKey(OfficeConfig{Dienststelle: app.OfficeCochem, KeyFile: p})
		if app.ErrorCode(err) != app.EFORBIDDEN || !strings.Contains(app.ErrorMessage(err), "chmod 600") {
			t.Fatalf("mode %o: %v", mode, err)
		}
		if strings.Contains(err.Error(), priv[:20]) {
			t.Fatal("the key appears in the error")
		}
	}
	os.Chmod(p, 0o400)
	if _, err := LoadOfficeKey(OfficeConfig{Dienststelle: app.OfficeCochem, KeyFile: p}); err != nil {
		t.Fatalf("mode 0400: %v", err)
	}
	// Damaged file: a German message without the content.
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("geheim-aber-kaputt"), 0o600)
	_, err = LoadOfficeKey(OfficeConfig{Dienststelle: app.OfficeCochem, KeyFile: bad})
	if err == nil || !strings.Contains(app.ErrorMessage(err), "beschädigt") || strings.Contains(err.Error(), "geheim-aber-kaputt") {
		t.Fatalf("damaged: %v", err)
	}
	// A 64-byte key whose public half belongs to another seed.
	other, _ := GenerateOfficeKey(app.OfficeKreis, nil)
	mixed := append(append([]byte{}, k.Private[:32]...), other.Private[32:]...)
	if _, err := ParsePrivateKey(base64.StdEncoding.EncodeToString(mixed)); err == nil {
		t.Fatal("a key with a foreign public half was accepted")
	}
	if _, err := LoadOfficeKey(OfficeConfig{Dienststelle: app.OfficeCochem, KeyFile: filepath.Join(dir, "fehlt.key")}); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := LoadOfficeKey(OfficeConfig{Dienststelle: "vg-mayen", KeyFile: p}); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("unknown office: %v", err)
	}
}

func TestOfficeKeyKeyring(t *testing.T) {
	keyring.MockInit() // go-keyring's in-memory keyring: no Secret Service in the test
	if _, err := LoadOfficeKey(OfficeConfig{Dienststelle: app.OfficeZell}); err == nil || !strings.Contains(app.ErrorMessage(err), KeyringServiceOffice) {
		t.Fatalf("nothing stored: %v", err)
	}
	var out bytes.Buffer
	k, err := CreateOfficeKey(OfficeConfig{Dienststelle: app.OfficeZell}, &out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadOfficeKey(OfficeConfig{Dienststelle: app.OfficeZell})
	if err != nil || !bytes.Equal(got.Private, k.Private) {
		t.Fatalf("keyring: %v", err)
	}
	if !strings.Contains(out.String(), "Schlüsselbund") {
		t.Fatalf("output: %s", out.String())
	}
	if _, err := GenerateOfficeKey("amt", nil); err == nil {
		t.Fatal("unknown office accepted")
	}
}

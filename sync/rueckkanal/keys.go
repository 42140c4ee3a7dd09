package rueckkanal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/zalando/go-keyring"

	"amtstresen/app"
)

// KeyringServiceOffice is the OS keyring service of the offices' private
// signing keys (account = office key, e.g. "vg-cochem").
const KeyringServiceOffice = "amtstresen-office"

// OfficeConfig names the office that sends and where its private key is.
// Without KeyFile the key comes from the OS keyring.
type OfficeConfig struct {
	Dienststelle app.OfficeKey `toml:"dienststelle"` // office key of section 3
	KeyFile      string        `toml:"key_file"`     // optional: a file with mode 0600 holding the base64 private key
}

// OfficeKey is an office's key pair.
type OfficeKey struct {
	Office  app.OfficeKey
	Private ed25519.PrivateKey
}

// Public returns the public half.
func (k *OfficeKey) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// PublicBase64 is the public key as the portal operator enters it.
func (k *OfficeKey) PublicBase64() string { return base64.StdEncoding.EncodeToString(k.Public()) }

// String never shows the private key (a %v in a log line stays harmless).
func (k *OfficeKey) String() string {
	return "OfficeKey(" + string(k.Office) + ", " + k.PublicBase64() + ")"
}

// GoString hides the private key from %#v too.
func (k *OfficeKey) GoString() string { return k.String() }

// GenerateOfficeKey makes a new key pair for an office (rand nil: crypto/rand).
func GenerateOfficeKey(office app.OfficeKey, r io.Reader) (*OfficeKey, error) {
	if !validOffice(office) {
		return nil, app.Errorf(app.EINVALID, "Die Dienststelle „%s“ ist unbekannt (erlaubt: kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell).", clip(string(office)))
	}
	if r == nil {
		r = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("generate office key: %w", err)
	}
	return &OfficeKey{Office: office, Private: priv}, nil
}

// encodePrivate is the file and keyring form: base64 of the 64-byte key,
// as in portal/examples/office-signing-test.key.
func encodePrivate(k ed25519.PrivateKey) string { return base64.StdEncoding.EncodeToString(k) }

// ParsePrivateKey reads the base64 form of a private key (64 bytes, or the
// 32-byte seed). A 64-byte key whose public half does not belong to its
// seed is refused.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	switch {
	case err != nil:
		return nil, errors.New("not base64")
	case len(b) == ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case len(b) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("%d bytes instead of 64", len(b))
	}
	k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
	if !bytes.Equal(k[ed25519.SeedSize:], b[ed25519.SeedSize:]) {
		return nil, errors.New("public half does not match the seed")
	}
	return k, nil
}

// ParsePublicKey reads a base64 Ed25519 public key (32 bytes).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, app.Errorf(app.EINVALID, "Der öffentliche Schlüssel ist kein Ed25519-Schlüssel (Base64, 32 Bytes).")
	}
	return ed25519.PublicKey(b), nil
}

// WriteKeyFile writes the private key to a new file with mode 0600. It
// never overwrites a file: a key in use must not be lost by mistake.
func WriteKeyFile(path string, k *OfficeKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return app.Errorf(app.ECONFLICT, "Die Schlüsseldatei %s gibt es schon; sie wird nicht überschrieben. Bitte einen anderen Namen wählen oder die alte Datei erst sichern und entfernen.", path)
	}
	if err != nil {
		return &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf("Die Schlüsseldatei %s kann nicht angelegt werden.", path)}
	}
	_, err = f.WriteString(encodePrivate(k.Private) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf("Die Schlüsseldatei %s konnte nicht geschrieben werden.", path)}
	}
	return nil
}

// StoreInKeyring puts the private key into the OS keyring (service
// KeyringServiceOffice, account = office key).
func StoreInKeyring(k *OfficeKey) error {
	if err := keyring.Set(KeyringServiceOffice, string(k.Office), encodePrivate(k.Private)); err != nil {
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: "Der Schlüssel konnte nicht im Schlüsselbund des Betriebssystems abgelegt werden. Bitte stattdessen eine Schlüsseldatei (Rechte 0600) verwenden."}
	}
	return nil
}

// LoadOfficeKey loads the office's private key: from KeyFile, which must
// be readable by its owner only (mode 0600 or stricter), else from the OS
// keyring. Neither the key nor the file's content ever appears in an error.
func LoadOfficeKey(c OfficeConfig) (*OfficeKey, error) {
	if !validOffice(c.Dienststelle) {
		return nil, app.Errorf(app.EINVALID, "[[office]] dienststelle „%s“ ist unbekannt (erlaubt: kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell).", clip(string(c.Dienststelle)))
	}
	var text string
	where := ""
	if c.KeyFile != "" {
		where = "in der Datei " + c.KeyFile
		fi, err := os.Stat(c.KeyFile)
		if err != nil {
			return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf(
				"Die Schlüsseldatei %s ([[office]] key_file) ist nicht lesbar. Bitte Pfad prüfen.", c.KeyFile)}
		}
		if !fi.Mode().IsRegular() {
			return nil, app.Errorf(app.EINVALID, "Die Schlüsseldatei %s ist keine gewöhnliche Datei.", c.KeyFile)
		}
		// Windows has no such mode bits; there the folder's ACL protects it.
		if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			return nil, app.Errorf(app.EFORBIDDEN,
				"Die Schlüsseldatei %s ist für andere lesbar (Rechte %04o). Der Schlüssel wird nicht benutzt. Bitte die Rechte auf 0600 setzen (chmod 600 %s) und, falls andere ihn gelesen haben könnten, einen neuen Schlüssel erzeugen.",
				c.KeyFile, fi.Mode().Perm(), c.KeyFile)
		}
		b, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf("Die Schlüsseldatei %s ist nicht lesbar.", c.KeyFile)}
		}
		text = string(b)
	} else {
		where = "im Schlüsselbund (Dienst „" + KeyringServiceOffice + "“, Konto „" + string(c.Dienststelle) + "“)"
		v, err := keyring.Get(KeyringServiceOffice, string(c.Dienststelle))
		if err != nil || v == "" {
			return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf(
				"Kein Signaturschlüssel für die Dienststelle %s gefunden: weder [[office]] key_file noch ein Eintrag %s. Bitte mit „amtstresen office-key“ einen Schlüssel erzeugen.", c.Dienststelle, where)}
		}
		text = v
	}
	k, err := ParsePrivateKey(text)
	if err != nil {
		return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf(
			"Der Signaturschlüssel %s ist beschädigt (erwartet: ein Ed25519-Schlüssel in Base64). Bitte die Datei aus der Sicherung holen oder einen neuen Schlüssel erzeugen und dem Portalbetreiber melden.", where)}
	}
	return &OfficeKey{Office: c.Dienststelle, Private: k}, nil
}

// CreateOfficeKey is the admin command behind „amtstresen office-key“: it
// makes a new key pair for c.Dienststelle, keeps the private key in
// c.KeyFile (new file, mode 0600) or else in the OS keyring, and writes the
// public key for the portal operator to w. The private key is never
// written to w.
func CreateOfficeKey(c OfficeConfig, w io.Writer) (*OfficeKey, error) {
	k, err := GenerateOfficeKey(c.Dienststelle, nil)
	if err != nil {
		return nil, err
	}
	where := ""
	if c.KeyFile != "" {
		if err := WriteKeyFile(c.KeyFile, k); err != nil {
			return nil, err
		}
		where = "in der Datei " + c.KeyFile + " (Rechte 0600; nicht in Sicherungen im Klartext aufnehmen)"
	} else {
		if err := StoreInKeyring(k); err != nil {
			return nil, err
		}
		where = "im Schlüsselbund des Betriebssystems (Dienst „" + KeyringServiceOffice + "“, Konto „" + string(k.Office) + "“)"
	}
	fmt.Fprintf(w, "Neuer Signaturschlüssel der Dienststelle %s.\nDer private Schlüssel liegt %s.\n\nÖffentlicher Schlüssel für den Portalbetreiber (Base64, Ed25519):\n\n%s\n\nErst wenn das Portal diesen Schlüssel kennt, nimmt es Statusmeldungen der Dienststelle an.\n",
		k.Office, where, k.PublicBase64())
	return k, nil
}

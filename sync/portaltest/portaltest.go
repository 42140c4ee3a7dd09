// Package portaltest is for tests and benchmarks only: the demo's
// generator of realistic Bürgerportal deliveries (sync/demo) with the
// portal's public TEST key pair instead of the demo's, so that tests sign
// deliveries the way the portal's documented examples are signed. The
// product never imports it (`go list -deps .` of the main package lists
// no portaltest).
package portaltest

import (
	"crypto/ed25519"
	_ "embed"
	"encoding/base64"

	"amtstresen/app"
	"amtstresen/sync/demo"
	"amtstresen/sync/rueckkanal"
)

// portal-signing-test.key is the public TEST key pair from the portal
// documentation (portal/examples/portal-signing.key): it is published on
// purpose so that tests can sign their own deliveries. It is never a
// production key.
//
//go:embed portal-signing-test.key
var testKeyB64 string

// office-signing-test.key is the published TEST key pair of an office
// (portal/examples/office-signing-test.key): tests sign their status
// messages with it. It is never a production key, and not the demo's.
//
//go:embed office-signing-test.key
var officeKeyB64 string

// TestOfficeKey returns the documented office test key for an office.
func TestOfficeKey(office app.OfficeKey) *rueckkanal.OfficeKey {
	k, err := rueckkanal.ParsePrivateKey(officeKeyB64)
	if err != nil {
		panic("portaltest: broken office test key")
	}
	return &rueckkanal.OfficeKey{Office: office, Private: k}
}

// TestKey returns the documented test private key.
func TestKey() ed25519.PrivateKey { return demo.MustKey(testKeyB64) }

// TestPublicKey returns the public half of the test key.
func TestPublicKey() ed25519.PublicKey { return TestKey().Public().(ed25519.PublicKey) }

// TestPublicKeyBase64 is the public key as it goes into [portal] public_key.
func TestPublicKeyBase64() string { return base64.StdEncoding.EncodeToString(TestPublicKey()) }

// The demo's generator and server under the names the tests know.
type (
	Generator  = demo.Generator
	Mail       = demo.Mail
	File       = demo.File
	AntragSpec = demo.AntragSpec
	TerminSpec = demo.TerminSpec
	MemServer  = demo.Server
	MemOptions = demo.ServerOptions
)

// New returns the demo's generator signing with the test key,
// deterministic for a seed.
func New(seed int64) *Generator {
	g := demo.NewGenerator(seed)
	g.Key = TestKey()
	return g
}

// StartMemServer starts an in-process IMAP server (demo.StartServer).
func StartMemServer(user, password string, o *MemOptions) (*MemServer, error) {
	return demo.StartServer(user, password, o)
}

// Unsigned removes the signature header (demo.Unsigned).
func Unsigned(m *Mail) *Mail { return demo.Unsigned(m) }

// BadSignature replaces the signature with a wrong one (demo.BadSignature).
func BadSignature(m *Mail) *Mail { return demo.BadSignature(m) }

// SetHeader replaces (or adds) a header field (demo.SetHeader).
func SetHeader(raw []byte, name, value string) []byte { return demo.SetHeader(raw, name, value) }

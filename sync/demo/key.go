package demo

import (
	"crypto/ed25519"
	_ "embed"
	"encoding/base64"
	"strings"
)

// demo-signing.key is the demo's own portal key pair (base64 of the
// Ed25519 private key), made for the demo and used nowhere else: not the
// portal's, not the documented test key of the portal's examples. A
// counter configured for the real portal rejects every demo mail.
//
//go:embed demo-signing.key
var keyB64 string

// Key returns the demo's private key, which signs its deliveries.
func Key() ed25519.PrivateKey { return MustKey(keyB64) }

// MustKey decodes an embedded private key (base64 of the 64 bytes of an
// Ed25519 private key); a broken one is a broken build: it panics.
func MustKey(b64 string) ed25519.PrivateKey {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(b) != ed25519.PrivateKeySize {
		panic("broken embedded key")
	}
	return ed25519.PrivateKey(b)
}

// PublicKeyBase64 is the demo's public key as it goes into [portal]
// public_key.
func PublicKeyBase64() string {
	return base64.StdEncoding.EncodeToString(Key().Public().(ed25519.PublicKey))
}

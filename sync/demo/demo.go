// Package demo is the demo of Amtstresen (`amtstresen demo`, and `make
// run` without a configuration): an in-process IMAP server on loopback
// (go-imap's imapmemserver) holding about fifty realistic deliveries of
// every kind, dated around today, signed with the demo's own key, and a
// configuration that syncs them. It is a product feature, not test
// machinery: the generator (generator.go, mix.go) and the server
// (server.go) are what the demo shows; the sync's tests borrow them
// through sync/portaltest, which signs with the portal's documented test
// key instead.
//
// It imports app and sync/internal/mailconn (the TLS mode); never storage,
// never a test package.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"amtstresen/app"
	"amtstresen/sync/internal/mailconn"
)

// PasswordEnv is the environment variable Start puts the demo mailbox's
// password in (a random one per start, valid for this process).
const PasswordEnv = "AMTSTRESEN_DEMO_PASSWORD"

// MailCount is the number of mails the demo mailbox starts with.
const MailCount = 50

// Mailbox is the demo's portal mailbox: an in-process IMAP server on
// loopback filled with realistic deliveries of every kind, signed with
// the demo's key.
type Mailbox struct {
	Addr      string
	User      string
	Password  string
	PublicKey string // base64, goes into [portal] public_key
	Mails     int
	// Config is a complete configuration for the demo mailbox; use it
	// where no config file exists.
	Config *app.Config

	srv *Server
}

// Start starts the demo mailbox; it stops when ctx ends or on Close.
func Start(ctx context.Context) (*Mailbox, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	pw := hex.EncodeToString(b[:])
	srv, err := StartServer("portal-demo", pw, nil)
	if err != nil {
		return nil, fmt.Errorf("start demo server: %w", err)
	}
	// The demo's mails and appointments are dated around now, so that the
	// counter shows today's appointments.
	g := NewGenerator(2026)
	g.Now = time.Now().In(app.Berlin)
	mails := g.Mix(MailCount)
	for _, m := range mails {
		if err := srv.Append("INBOX", m.Raw); err != nil {
			srv.Close()
			return nil, err
		}
	}
	os.Setenv(PasswordEnv, pw)
	cfg := &app.Config{
		IMAP:   app.IMAPConfig{Address: srv.Addr, TLS: mailconn.TLSNone, Username: srv.User, PasswordEnv: PasswordEnv},
		Portal: app.PortalConfig{PublicKey: PublicKeyBase64()},
	}
	cfg.Defaults()
	d := &Mailbox{Addr: srv.Addr, User: srv.User, Password: pw, PublicKey: cfg.Portal.PublicKey, Mails: len(mails), Config: cfg, srv: srv}
	context.AfterFunc(ctx, func() { d.Close() })
	return d, nil
}

// Close stops the server.
func (d *Mailbox) Close() error { return d.srv.Close() }

// Deliver puts a mail into the demo mailbox's INBOX, as the portal does:
// the demo's portal (sync/portalsim in ui/cli) delivers its quittungen
// with it.
func (d *Mailbox) Deliver(raw []byte) error { return d.srv.Append("INBOX", raw) }

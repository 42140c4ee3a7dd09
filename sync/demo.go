package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"amtstresen/app"
	"amtstresen/sync/portaltest"
)

// DemoPasswordEnv is the environment variable StartDemo puts the demo
// mailbox's password in (a random one per start, valid for this process).
const DemoPasswordEnv = "AMTSTRESEN_DEMO_PASSWORD"

// Demo is an in-process IMAP server on loopback filled with realistic
// deliveries of every kind, signed with the portal's documented test key.
type Demo struct {
	Addr      string
	User      string
	Password  string
	PublicKey string // base64, goes into [portal] public_key
	Mails     int
	// Config is a complete configuration for the demo mailbox; use it
	// where no config file exists.
	Config *app.Config

	srv *portaltest.MemServer
}

// DemoMails is the number of mails the demo mailbox starts with.
const DemoMails = 50

// StartDemo starts the demo server; it stops when ctx ends or on Close.
func StartDemo(ctx context.Context) (*Demo, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	pw := hex.EncodeToString(b[:])
	srv, err := portaltest.StartMemServer("portal-demo", pw, nil)
	if err != nil {
		return nil, fmt.Errorf("start demo server: %w", err)
	}
	// The demo's mails and appointments are dated around now, so that the
	// counter shows today's appointments.
	g := portaltest.New(2026)
	g.Now = time.Now().In(app.Berlin)
	mails := g.Mix(DemoMails)
	for _, m := range mails {
		if err := srv.Append("INBOX", m.Raw); err != nil {
			srv.Close()
			return nil, err
		}
	}
	os.Setenv(DemoPasswordEnv, pw)
	cfg := &app.Config{
		IMAP:   app.IMAPConfig{Address: srv.Addr, TLS: TLSNone, Username: srv.User, PasswordEnv: DemoPasswordEnv},
		Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()},
	}
	cfg.Defaults()
	d := &Demo{Addr: srv.Addr, User: srv.User, Password: pw, PublicKey: cfg.Portal.PublicKey, Mails: len(mails), Config: cfg, srv: srv}
	context.AfterFunc(ctx, func() { d.Close() })
	return d, nil
}

// Close stops the server.
func (d *Demo) Close() error { return d.srv.Close() }

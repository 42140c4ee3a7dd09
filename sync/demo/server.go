package demo

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Server is the demo's mailbox: an in-process IMAP server (go-imap's
// imapmemserver) on a free loopback port. The sync's unit tests use it
// too, with the options below.
type Server struct {
	Addr     string // 127.0.0.1:port
	User     string
	Password string

	user *imapmemserver.User
	srv  *imapserver.Server
	ln   net.Listener
}

// ServerOptions configure StartServer.
type ServerOptions struct {
	// TLS, if set, makes the server speak implicit TLS with this config.
	TLS *tls.Config
	// StartTLS, if set, offers STARTTLS with this config on a plain port.
	StartTLS *tls.Config
	// Caps replaces the advertised capabilities (default IMAP4rev1 and
	// IMAP4rev2, which include MOVE and UIDPLUS).
	Caps imap.CapSet
}

// StartServer starts the server with one user and an empty INBOX.
func StartServer(user, password string, o *ServerOptions) (*Server, error) {
	if o == nil {
		o = &ServerOptions{}
	}
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, password)
	if err := u.Create("INBOX", nil); err != nil {
		return nil, err
	}
	mem.AddUser(u)
	caps := o.Caps
	if caps == nil {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		TLSConfig:    o.StartTLS,
		InsecureAuth: o.StartTLS == nil,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		ln = tls.NewListener(ln, o.TLS)
	}
	go srv.Serve(ln)
	return &Server{Addr: ln.Addr().String(), User: user, Password: password, user: u, srv: srv, ln: ln}, nil
}

// Append puts a mail into a mailbox (created if missing).
func (m *Server) Append(mailbox string, raw []byte) error {
	if mailbox != "INBOX" {
		m.user.Create(mailbox, nil) // exists already: fine
	}
	_, err := m.user.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{Time: time.Now()})
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// Count returns the number of mails in a mailbox (0 if it does not exist).
func (m *Server) Count(mailbox string) int {
	st, err := m.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil || st.NumMessages == nil {
		return 0
	}
	return int(*st.NumMessages)
}

// Close stops the server.
func (m *Server) Close() error {
	m.ln.Close()
	return m.srv.Close()
}

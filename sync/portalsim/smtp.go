package portalsim

import (
	"bytes"
	"io"
	"net"
	gosync "sync"
	"time"

	"github.com/emersion/go-smtp"

	"amtstresen/sync/rueckkanal"
)

// SMTPServer is the portal's return address as an in-process SMTP server
// on loopback (no TLS, no login), for the demo and fast tests: every
// status message it takes is answered at once, and the quittung handed to
// deliver (the demo appends it to its functional mailbox).
type SMTPServer struct {
	Addr string

	srv      *smtp.Server
	p        *Portal
	deliver  func(quittung []byte) error
	mu       gosync.Mutex
	received []string
}

// ListenSMTP starts the server on 127.0.0.1 (a free port).
func (p *Portal) ListenSMTP(deliver func(quittung []byte) error) (*SMTPServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &SMTPServer{Addr: ln.Addr().String(), p: p, deliver: deliver}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "rueckkanal.portal.test"
	s.srv.MaxMessageBytes = rueckkanal.MaxMessageBytes + 64<<10
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	go s.srv.Serve(ln)
	return s, nil
}

// Received lists the Message-IDs of every status message taken, in order,
// repeats included.
func (s *SMTPServer) Received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.received...)
}

// Close stops the server.
func (s *SMTPServer) Close() error { return s.srv.Close() }

type session struct{ s *SMTPServer }

func (*session) Reset()                                    {}
func (*session) Logout() error                             { return nil }
func (*session) Mail(string, *smtp.MailOptions) error      { return nil }
func (*session) Rcpt(to string, _ *smtp.RcptOptions) error { return nil }

func (ss *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	a, err := ss.s.p.Answer(b.Bytes())
	ss.s.mu.Lock()
	ss.s.received = append(ss.s.received, a.MessageID)
	ss.s.mu.Unlock()
	if err != nil || a.Duplicate || ss.s.deliver == nil {
		return nil // taken; an unreadable message gets no quittung
	}
	if err := ss.s.deliver(a.Raw); err != nil {
		ss.s.p.forget(a.MessageID)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "quittung not stored, try again later"}
	}
	return nil
}

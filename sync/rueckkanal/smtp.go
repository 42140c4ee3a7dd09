package rueckkanal

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"amtstresen/app"
	"amtstresen/sync/internal/mailconn"
)

// SMTPConfig is the [smtp] section of the configuration: the office's own
// mail server, through which status messages are submitted. The password
// never lives here: it comes from the environment variable named by
// PasswordEnv or from the OS keyring (service KeyringServiceSMTP, account
// Username).
type SMTPConfig struct {
	Address     string `toml:"address"`      // host:port of the relay, e.g. "mail.cochem.de:587"
	TLS         string `toml:"tls"`          // "tls" (implicit, port 465), "starttls" (port 587) or "none" (loopback only)
	CAFile      string `toml:"ca_file"`      // optional extra CA certificate (PEM); verification cannot be switched off
	Username    string `toml:"username"`     // "" = no login (a relay that accepts this PC by its address)
	PasswordEnv string `toml:"password_env"` // name of the environment variable with the password
	From        string `toml:"from"`         // the office's functional address, e.g. "VG Cochem <buergerportal@cochem.de>"
}

// Config is what the return channel needs from the configuration: [smtp]
// and [portal] return_address.
type Config struct {
	SMTP          SMTPConfig
	ReturnAddress string // the portal's return address; DefaultReturnAddress when empty
}

// KeyringServiceSMTP is the OS keyring service of the SMTP password
// (account = [smtp] username).
const KeyringServiceSMTP = "amtstresen-smtp"

// TLS modes of [smtp] tls.
const (
	TLSImplicit = mailconn.TLSImplicit
	TLSStart    = mailconn.TLSStart
	TLSNone     = mailconn.TLSNone
)

// Defaults fills unset values.
func (c *Config) Defaults() {
	if c.SMTP.TLS == "" {
		c.SMTP.TLS = TLSImplicit
	}
	if c.ReturnAddress == "" {
		c.ReturnAddress = DefaultReturnAddress
	}
}

// Check validates the configuration; messages are German and for the admin.
func (c *Config) Check() error {
	s := &c.SMTP
	if strings.TrimSpace(s.Address) == "" {
		return app.Errorf(app.EINVALID, "Der Versand von Statusmeldungen ist nicht eingerichtet: in der Konfiguration fehlt [smtp] address (Mailserver und Port, z. B. „mail.example.de:587“).")
	}
	host, port, err := net.SplitHostPort(s.Address)
	if err != nil || host == "" || port == "" {
		return app.Errorf(app.EINVALID, "[smtp] address „%s“ ist ungültig: erwartet wird Mailserver und Port, z. B. „mail.example.de:587“.", clip(s.Address))
	}
	if err := mailconn.CheckTLSMode("[smtp]", s.TLS, host); err != nil {
		return err
	}
	if a, err := mail.ParseAddress(s.From); err != nil || !strings.Contains(a.Address, "@") {
		return app.Errorf(app.EINVALID, "[smtp] from fehlt oder ist keine gültige E-Mail-Adresse: eingetragen wird die Funktionsadresse der Dienststelle, z. B. „VG Cochem <buergerportal@cochem.de>“.")
	}
	if a, err := mail.ParseAddress(c.ReturnAddress); err != nil || !strings.Contains(a.Address, "@") {
		return app.Errorf(app.EINVALID, "[portal] return_address „%s“ ist keine gültige E-Mail-Adresse (Standard: %s).", clip(c.ReturnAddress), DefaultReturnAddress)
	}
	return nil
}

var isLoopback = mailconn.IsLoopback

// Password returns the SMTP password: from the environment variable named
// by password_env, else from the OS keyring. Without a username no password
// is needed. The password is never logged and never read from a file.
func Password(c SMTPConfig) (string, error) {
	if c.Username == "" {
		return "", nil
	}
	pw, where, err := mailconn.Secret(c.PasswordEnv, KeyringServiceSMTP, c.Username)
	if err != nil {
		return "", &app.Error{Code: app.EINVALID, Err: err,
			Message: "Kein Passwort für den Versand von Statusmeldungen ([smtp] username) gefunden. Bitte " + where + " hinterlegen."}
	}
	return pw, nil
}

// Class sorts a failed submission by what happens next.
type Class string

const (
	// ClassTemporary: the relay answered 4xx or the connection broke off
	// during the session. Retried with backoff.
	ClassTemporary Class = "temporary"
	// ClassUnreachable: no connection to the relay (refused, timeout, name
	// unknown, no greeting). Retried with backoff; shown with its reason.
	ClassUnreachable Class = "unreachable"
	// ClassLogin: the relay refused the login (535) or demands one. No
	// message can go out until an admin fixes it; retried at the longest
	// interval.
	ClassLogin Class = "login"
	// ClassTLS: the certificate is not trusted or TLS failed. Like ClassLogin.
	ClassTLS Class = "tls"
	// ClassPermanent: the relay refused this message for good (5xx). Not
	// retried; a clerk must act.
	ClassPermanent Class = "permanent"
)

// Failure is a failed submission: its class, the SMTP reply code (0 when
// there was none), a German reason that says what to do, and the technical
// cause for the log (no password, no message content).
type Failure struct {
	Class  Class
	Code   int
	Reason string
	Err    error
	// Broken is true when the SMTP session cannot be used any more.
	Broken bool
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return fmt.Sprintf("smtp %s: %v", f.Class, f.Err)
	}
	return "smtp " + string(f.Class)
}

func (f *Failure) Unwrap() error { return f.Err }

// Retry reports whether the message is sent again by itself.
func (f *Failure) Retry() bool { return f.Class != ClassPermanent }

// RelayWide reports whether the failure concerns the relay, not this one
// message: every message waiting is held back with the same reason.
func (f *Failure) RelayWide() bool {
	return f.Class == ClassUnreachable || f.Class == ClassLogin || f.Class == ClassTLS
}

// AsFailure returns the *Failure in err's chain.
func AsFailure(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}

// Submitter submits status messages to the office's relay. It is safe for
// use by one goroutine at a time per Session; Open may be called from
// several.
type Submitter struct {
	cfg      Config
	password string
	tls      *tls.Config
	from, to string // envelope addresses

	// DialTimeout bounds connecting (and the TLS handshake); CommandTimeout
	// each command's reply; DataTimeout writing a message and the relay's
	// reply to it.
	DialTimeout, CommandTimeout, DataTimeout time.Duration
}

// NewSubmitter checks the configuration and prepares TLS. password is
// what Password returned ("" without a username).
func NewSubmitter(c Config, password string) (*Submitter, error) {
	c.Defaults()
	if err := c.Check(); err != nil {
		return nil, err
	}
	if c.SMTP.Username != "" && password == "" {
		return nil, app.Errorf(app.EINVALID, "Für [smtp] username „%s“ fehlt das Passwort (Schlüsselbund oder [smtp] password_env).", c.SMTP.Username)
	}
	tc, err := mailconn.TLSConfig(c.SMTP.Address, c.SMTP.CAFile, "[smtp] ca_file")
	if err != nil {
		return nil, err
	}
	from, _ := mail.ParseAddress(c.SMTP.From)
	to, _ := mail.ParseAddress(c.ReturnAddress)
	return &Submitter{cfg: c, password: password, tls: tc, from: from.Address, to: to.Address,
		DialTimeout: 20 * time.Second, CommandTimeout: 60 * time.Second, DataTimeout: 2 * time.Minute}, nil
}

// From is the envelope sender; To the portal's return address.
func (s *Submitter) From() string { return s.from }

// To is the portal's return address the messages go to.
func (s *Submitter) To() string { return s.to }

// Session is one SMTP connection to the relay, for one or more messages.
type Session struct {
	s    *Submitter
	conn net.Conn // the TCP connection under any TLS
	c    *smtp.Client
	stop func() bool
}

// Open connects to the relay, says hello, starts TLS and logs in. Every
// error is a *Failure.
func (s *Submitter) Open(ctx context.Context) (*Session, error) {
	addr := s.cfg.SMTP.Address
	d := &net.Dialer{Timeout: s.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, s.classify("connect", err)
	}
	if s.cfg.SMTP.TLS == TLSNone && !isLoopback(conn.RemoteAddr().(*net.TCPAddr).IP.String()) {
		conn.Close()
		return nil, &Failure{Class: ClassTLS, Broken: true, Err: errors.New("tls none to a non-loopback address"),
			Reason: "[smtp] tls = \"none\" ist nur für einen Mailserver auf diesem Rechner erlaubt. Bitte \"tls\" oder \"starttls\" eintragen."}
	}
	ss := &Session{s: s, conn: conn}
	ss.stop = context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(op string, err error) (*Session, error) {
		ss.stop()
		conn.Close()
		if f, ok := AsFailure(err); ok {
			return nil, f
		}
		f := s.classify(op, err)
		f.Broken = true
		return nil, f
	}
	var c *smtp.Client
	switch s.cfg.SMTP.TLS {
	case TLSImplicit:
		tconn := tls.Client(conn, s.tls)
		hctx, cancel := context.WithTimeout(ctx, s.DialTimeout)
		err := tconn.HandshakeContext(hctx)
		cancel()
		if err != nil {
			return fail("TLS", err)
		}
		c = smtp.NewClient(tconn)
	case TLSStart:
		// The client reads the greeting and says EHLO and STARTTLS with its
		// own five-minute timeouts; this bounds them.
		t := time.AfterFunc(s.DialTimeout+s.CommandTimeout, func() { conn.Close() })
		c, err = smtp.NewClientStartTLS(conn, s.tls)
		t.Stop()
		if err != nil {
			return fail("STARTTLS", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout, c.SubmissionTimeout = s.CommandTimeout, s.DataTimeout
	ss.c = c
	// EHLO (again after STARTTLS, which also completes the handshake).
	if err := c.Hello("localhost"); err != nil {
		return fail("EHLO", err)
	}
	if s.cfg.SMTP.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fail("AUTH", &Failure{Class: ClassLogin, Broken: true, Err: errors.New("no AUTH"), Reason: fmt.Sprintf(
				"Der Mailserver %s bietet keine Anmeldung an, obwohl [smtp] username eingetragen ist. Bitte [smtp] tls und Port prüfen (die Anmeldung gibt es oft erst nach STARTTLS) oder den Benutzernamen entfernen, wenn der Server diesen PC ohne Anmeldung annimmt.", addr)})
		}
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.SMTP.Username, s.password)); err != nil {
			return fail("AUTH", err)
		}
	}
	return ss, nil
}

// Send submits one message: MAIL FROM the office, RCPT TO the portal's
// return address, DATA raw unchanged. Every error is a *Failure.
func (ss *Session) Send(ctx context.Context, raw []byte) error {
	if err := ctx.Err(); err != nil {
		return &Failure{Class: ClassTemporary, Broken: true, Err: err, Reason: "Der Versand wurde abgebrochen; die Statusmeldung wird später gesendet."}
	}
	s, c := ss.s, ss.c
	if len(raw) > MaxMessageBytes {
		return &Failure{Class: ClassPermanent, Err: fmt.Errorf("message has %d bytes", len(raw)), Reason: fmt.Sprintf(
			"Die Statusmeldung ist %.1f MB groß; das Portal nimmt höchstens 10 MB an. Sie wird nicht gesendet: bitte ohne oder mit kleinerem Dokument neu erstellen oder per Brief antworten.", float64(len(raw))/1e6)}
	}
	opts := &smtp.MailOptions{}
	if ok, _ := c.Extension("SIZE"); ok {
		opts.Size = int64(len(raw))
	}
	if err := c.Mail(s.from, opts); err != nil {
		return ss.reset(s.classify("MAIL FROM", err))
	}
	if err := c.Rcpt(s.to, nil); err != nil {
		return ss.reset(s.classify("RCPT TO", err))
	}
	w, err := c.Data()
	if err != nil {
		return ss.reset(s.classify("DATA", err))
	}
	// The client sets deadlines only around replies; writing the message
	// gets its own.
	ss.conn.SetDeadline(time.Now().Add(s.DataTimeout))
	_, err = io.Copy(w, bytes.NewReader(raw))
	if err == nil {
		err = w.Close()
	}
	ss.conn.SetDeadline(time.Time{})
	if err != nil {
		return ss.reset(s.classify("DATA", err))
	}
	return nil
}

// reset makes the session usable for the next message after a refusal.
func (ss *Session) reset(f *Failure) error {
	if !f.Broken {
		ss.conn.SetDeadline(time.Now().Add(ss.s.CommandTimeout))
		if err := ss.c.Reset(); err != nil {
			f.Broken = true
		}
		ss.conn.SetDeadline(time.Time{})
	}
	return f
}

// Close says QUIT (bounded by the command timeout) and closes the connection.
func (ss *Session) Close() error {
	defer ss.stop()
	ss.conn.SetDeadline(time.Now().Add(ss.s.CommandTimeout))
	err := ss.c.Quit()
	ss.c.Close()
	return err
}

// classify turns an error of operation op into a *Failure with a German
// reason that says what happened and what to do.
func (s *Submitter) classify(op string, err error) *Failure {
	addr := s.cfg.SMTP.Address
	var se *smtp.SMTPError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	var dnsErr *net.DNSError
	var netErr net.Error
	connecting := op == "connect" || op == "EHLO" || op == "TLS" || op == "STARTTLS"
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return &Failure{Class: ClassTemporary, Broken: true, Err: err,
			Reason: "Der Versand wurde abgebrochen; die Statusmeldung bleibt in der Warteschlange und wird später gesendet."}
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalidCert):
		return &Failure{Class: ClassTLS, Broken: true, Err: err, Reason: fmt.Sprintf(
			"Das Zertifikat des Mailservers %s ist nicht vertrauenswürdig oder passt nicht zum Namen; es wurde nichts gesendet. Die Statusmeldungen bleiben in der Warteschlange. Bitte die IT verständigen (ggf. [smtp] ca_file eintragen).", addr)}
	case errors.As(err, &recErr), errors.As(err, &alert), strings.Contains(err.Error(), "tls:"), strings.Contains(err.Error(), "STARTTLS"):
		return &Failure{Class: ClassTLS, Broken: true, Err: err, Reason: fmt.Sprintf(
			"Die verschlüsselte Verbindung (TLS) zum Mailserver %s ist fehlgeschlagen; es wurde nichts gesendet. Bitte [smtp] tls und den Port prüfen (\"tls\" meist Port 465, \"starttls\" meist Port 587) oder die IT verständigen.", addr)}
	case errors.As(err, &se):
		return s.replyFailure(op, se)
	case op == "connect" && errors.As(err, &dnsErr):
		return &Failure{Class: ClassUnreachable, Broken: true, Err: err, Reason: fmt.Sprintf(
			"Der Mailserver „%s“ ist unbekannt (Name nicht auflösbar). Die Statusmeldungen bleiben in der Warteschlange; bitte [smtp] address und die Netzwerkverbindung prüfen.", addr)}
	case op == "connect" && errors.Is(err, syscall.ECONNREFUSED):
		return &Failure{Class: ClassUnreachable, Broken: true, Err: err, Reason: fmt.Sprintf(
			"Der Mailserver %s ist nicht erreichbar (Verbindung abgelehnt). Die Statusmeldungen bleiben in der Warteschlange und werden automatisch erneut gesendet. Hält das an, bitte die IT verständigen.", addr)}
	case connecting:
		why := "ist nicht erreichbar"
		if errors.As(err, &netErr) && netErr.Timeout() {
			why = "antwortet nicht"
		}
		return &Failure{Class: ClassUnreachable, Broken: true, Err: fmt.Errorf("%s: %w", op, err), Reason: fmt.Sprintf(
			"Der Mailserver %s %s. Die Statusmeldungen bleiben in der Warteschlange und werden automatisch erneut gesendet. Hält das an, bitte Netzwerk und [smtp] address prüfen oder die IT verständigen.", addr, why)}
	}
	return &Failure{Class: ClassTemporary, Broken: true, Err: fmt.Errorf("%s: %w", op, err), Reason: fmt.Sprintf(
		"Die Verbindung zum Mailserver %s ist abgebrochen. Die Statusmeldung wird automatisch erneut gesendet; nichts zu tun.", addr)}
}

// replyFailure classifies an SMTP reply.
func (s *Submitter) replyFailure(op string, se *smtp.SMTPError) *Failure {
	addr := s.cfg.SMTP.Address
	code := fmt.Sprintf("%d", se.Code)
	if se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode != (smtp.EnhancedCode{}) {
		code += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	err := fmt.Errorf("%s: %w", op, se)
	f := &Failure{Code: se.Code, Err: err}
	switch {
	case op == "AUTH" && se.Code >= 500, se.Code == 530, se.EnhancedCode == smtp.EnhancedCode{5, 7, 0} && op != "DATA":
		f.Class, f.Broken = ClassLogin, true
		if op == "AUTH" {
			f.Reason = fmt.Sprintf("Der Mailserver %s hat die Anmeldung als „%s“ abgelehnt (%s). Bitte Benutzername und Passwort für den Versand prüfen (Schlüsselbund, Dienst „%s“, oder [smtp] password_env). Die Statusmeldungen bleiben in der Warteschlange und gehen danach hinaus.", addr, s.cfg.SMTP.Username, code, KeyringServiceSMTP)
		} else {
			f.Reason = fmt.Sprintf("Der Mailserver %s verlangt eine Anmeldung (%s). Bitte [smtp] username und das Passwort (Schlüsselbund oder [smtp] password_env) eintragen. Die Statusmeldungen bleiben in der Warteschlange.", addr, code)
		}
	case op == "connect" || op == "EHLO" || op == "STARTTLS":
		f.Class, f.Broken = ClassUnreachable, true
		f.Reason = fmt.Sprintf("Der Mailserver %s nimmt gerade keine Verbindung an (%s). Die Statusmeldungen bleiben in der Warteschlange und werden automatisch erneut gesendet. Hält das an, bitte die IT verständigen.", addr, code)
	case se.Code >= 400 && se.Code < 500:
		f.Class, f.Broken = ClassTemporary, se.Code == 421
		f.Reason = fmt.Sprintf("Der Mailserver %s hat die Statusmeldung vorübergehend nicht angenommen (%s). Sie wird automatisch erneut gesendet; nichts zu tun.", addr, code)
	case se.Code == 552 || se.EnhancedCode == smtp.EnhancedCode{5, 3, 4}:
		f.Class = ClassPermanent
		f.Reason = fmt.Sprintf("Der Mailserver %s hat die Statusmeldung als zu groß abgelehnt (%s). Sie wird nicht erneut gesendet: bitte ohne oder mit kleinerem Dokument neu erstellen oder per Brief antworten.", addr, code)
	case op == "RCPT TO":
		f.Class = ClassPermanent
		f.Reason = fmt.Sprintf("Der Mailserver %s hat die Rückkanal-Adresse des Portals „%s“ endgültig abgelehnt (%s). Die Statusmeldung wird nicht erneut gesendet. Bitte die IT verständigen ([portal] return_address prüfen) und den Bürger bis dahin per Brief informieren.", addr, s.to, code)
	case op == "MAIL FROM":
		f.Class = ClassPermanent
		f.Reason = fmt.Sprintf("Der Mailserver %s hat den Absender „%s“ endgültig abgelehnt (%s). Die Statusmeldung wird nicht erneut gesendet. Bitte die IT verständigen ([smtp] from prüfen) und den Bürger bis dahin per Brief informieren.", addr, s.from, code)
	default:
		f.Class = ClassPermanent
		f.Reason = fmt.Sprintf("Der Mailserver %s hat die Statusmeldung endgültig abgelehnt (%s). Sie wird nicht erneut gesendet. Bitte die IT verständigen und den Bürger bis dahin per Brief informieren.", addr, code)
	}
	return f
}

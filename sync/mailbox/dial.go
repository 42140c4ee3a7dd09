package mailbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"amtstresen/app"
	"amtstresen/sync/internal/cleantext"
	"amtstresen/sync/internal/mailconn"
)

// DialOptions configure Dial; nil is the zero value.
type DialOptions struct {
	// CommandTimeout puts the connection under a watchdog: when the
	// server stays silent this long while a command waits for it, the
	// connection is ended (TimedOut reports it). 0: no watchdog.
	CommandTimeout time.Duration
	// Handler receives what the server sends unasked (IDLE).
	Handler *imapclient.UnilateralDataHandler
}

// Dial connects and logs in: with TLS as [imap] tls says, the server's
// certificate always verified, and without TLS only on loopback. Every
// error is an *app.Error with a German message that says what to do.
func Dial(ctx context.Context, c *app.IMAPConfig, pw string, o *DialOptions) (*Conn, error) {
	if o == nil {
		o = &DialOptions{}
	}
	var wd *watchdog
	if o.CommandTimeout > 0 {
		wd = newWatchdog(o.CommandTimeout)
	}
	cl, err := dial(ctx, c, pw, o.Handler, wd)
	if err != nil {
		wd.stop()
		return nil, err
	}
	return &Conn{cl: cl, cfg: c, wd: wd}, nil
}

// dial connects and logs in, the connection under the watchdog wd (nil:
// none).
func dial(ctx context.Context, c *app.IMAPConfig, pw string, handler *imapclient.UnilateralDataHandler, wd *watchdog) (*imapclient.Client, error) {
	tc, err := mailconn.TLSConfig(c.Address, c.CAFile, "[imap] ca_file")
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 20 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", c.Address)
	if err != nil {
		return nil, connectError(c, err)
	}
	conn = wd.watch(conn)
	opts := &imapclient.Options{TLSConfig: tc, UnilateralDataHandler: handler}
	var cl *imapclient.Client
	switch c.TLS {
	case TLSImplicit:
		tconn := tls.Client(conn, tc)
		hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err = tconn.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, connectError(c, err)
		}
		cl = imapclient.New(tconn, opts)
	case TLSStart:
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		cl, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
			var ie *imap.Error
			if errors.As(err, &ie) {
				// The server answered STARTTLS with NO or BAD: it offers
				// no encryption on this port.
				return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf(
					"Der Mailserver %s bietet auf diesem Port keine Verschlüsselung per STARTTLS an. Ohne Verschlüsselung meldet sich Amtstresen nicht an. Bitte in der Konfiguration [imap] tls = \"tls\" mit Port 993 eintragen, oder die IT bitten, STARTTLS einzuschalten.", c.Address)}
			}
			return nil, connectError(c, err)
		}
		conn.SetDeadline(time.Time{})
	default:
		cl = imapclient.New(conn, opts)
	}
	// The whole login must finish in time even if the server stalls.
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	timer := time.AfterFunc(30*time.Second, func() { cl.Close() })
	defer timer.Stop()
	if err := cl.WaitGreeting(); err != nil {
		cl.Close()
		return nil, connectError(c, err)
	}
	if c.TLS == TLSNone && !mailconn.IsLoopback(conn.RemoteAddr().(*net.TCPAddr).IP.String()) {
		cl.Close()
		return nil, app.Errorf(app.EINVALID, "[imap] tls = \"none\" ist nur für einen Server auf diesem Rechner erlaubt.")
	}
	if err := cl.Login(c.Username, pw).Wait(); err != nil {
		cl.Close()
		var ie *imap.Error
		if errors.As(err, &ie) {
			return nil, &app.Error{Code: app.EFORBIDDEN, Err: errors.New(string(ie.Code) + " " + ie.Text),
				Message: fmt.Sprintf("Der Mailserver %s hat die Anmeldung als „%s“ abgelehnt. Bitte Benutzername und Passwort des Portal-Postfachs prüfen.", c.Address, c.Username)}
		}
		return nil, connectError(c, err)
	}
	return cl, nil
}

// connectError turns a network or TLS failure into a German message.
func connectError(c *app.IMAPConfig, err error) error {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalid):
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Die sichere Verbindung zum Mailserver %s ist fehlgeschlagen: sein Zertifikat ist nicht vertrauenswürdig oder passt nicht zum Namen. Die Verbindung wurde nicht aufgebaut; bitte die IT verständigen (ggf. [imap] ca_file eintragen).", c.Address)}
	case errors.As(err, &recErr), errors.As(err, &alert), strings.Contains(err.Error(), "tls:"), strings.Contains(err.Error(), "STARTTLS"):
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Die verschlüsselte Verbindung (TLS) zum Mailserver %s ist fehlgeschlagen. Bitte [imap] tls und den Port prüfen (\"tls\" meist Port 993, \"starttls\" meist Port 143) oder die IT verständigen.", c.Address)}
	case errors.As(err, &dnsErr):
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Der Mailserver „%s“ ist unbekannt (Name nicht auflösbar). Bitte [imap] address und die Netzwerkverbindung prüfen.", c.Address)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
			"Der Mailserver %s ist nicht erreichbar (Verbindung abgelehnt). Vermutlich ist er gerade außer Betrieb; bitte später erneut versuchen oder die IT verständigen.", c.Address)}
	case errors.Is(err, context.Canceled):
		return &app.Error{Code: app.EINTERNAL, Err: err, Message: "Der Portal-Abgleich wurde abgebrochen."}
	}
	return &app.Error{Code: app.EINTERNAL, Err: err, Message: fmt.Sprintf(
		"Die Verbindung zum Mailserver %s ist fehlgeschlagen oder abgebrochen. Bitte Netzwerk prüfen und später erneut versuchen; bleibt der Fehler, die IT verständigen.", c.Address)}
}

// ServerError wraps an error of the command op during the session (after
// login) into a German message; an *app.Error passes as it is.
func ServerError(c *app.IMAPConfig, op string, err error) error {
	var ae *app.Error
	if errors.As(err, &ae) {
		return err
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return &app.Error{Code: app.EINTERNAL, Err: fmt.Errorf("%s: %w", op, err), Message: fmt.Sprintf(
			"Der Mailserver %s hat „%s“ verweigert: %s. Bitte die IT verständigen.", c.Address, op, cleantext.Line(ie.Text, 200))}
	}
	return connectError(c, fmt.Errorf("%s: %w", op, err))
}

package sync

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/zalando/go-keyring"

	"amtstresen/app"
)

// KeyringService is the OS keyring service under which the IMAP password
// is kept (account = IMAP user name).
const KeyringService = "amtstresen"

// TLS modes of [imap] tls.
const (
	TLSImplicit = "tls"
	TLSStart    = "starttls"
	TLSNone     = "none"
)

// checkIMAPConfig validates the [imap] section; messages are for the admin.
func checkIMAPConfig(c *app.IMAPConfig) error {
	if strings.TrimSpace(c.Address) == "" {
		return app.Errorf(app.EINVALID, "Der Portal-Abgleich ist nicht eingerichtet: in der Konfiguration fehlt [imap] address (Server und Port, z. B. „imap.example.de:993“).")
	}
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil || host == "" || port == "" {
		return app.Errorf(app.EINVALID, "[imap] address „%s“ ist ungültig: erwartet wird Server und Port, z. B. „imap.example.de:993“.", c.Address)
	}
	if strings.TrimSpace(c.Username) == "" {
		return app.Errorf(app.EINVALID, "In der Konfiguration fehlt [imap] username (das Konto des Portal-Postfachs).")
	}
	switch c.TLS {
	case TLSImplicit, TLSStart:
	case TLSNone:
		if !isLoopback(host) {
			return app.Errorf(app.EINVALID, "[imap] tls = \"none\" ist nur für einen Server auf diesem Rechner (127.0.0.1, ::1, localhost) erlaubt. Für %s bitte \"tls\" oder \"starttls\" eintragen.", host)
		}
	default:
		return app.Errorf(app.EINVALID, "[imap] tls = „%s“ ist unbekannt: erlaubt sind \"tls\", \"starttls\" und \"none\" (nur lokal).", c.TLS)
	}
	m, p, r := mailboxKey(c.Mailbox), mailboxKey(c.ProcessedMailbox), mailboxKey(c.ReviewMailbox)
	if m == p || m == r || (p == r && r != "") {
		return app.Errorf(app.EINVALID, "[imap] mailbox, processed_mailbox und review_mailbox müssen drei verschiedene Ordner sein (INBOX gilt in jeder Schreibweise als derselbe Ordner).")
	}
	return nil
}

// mailboxKey is a folder name as the server compares it: INBOX in any
// case is the inbox (RFC 3501 5.1); other names are compared as written.
func mailboxKey(name string) string {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

// isLoopback reports whether host is a loopback address. A name other than
// "localhost" is not resolved: DNS must not decide whether TLS is skipped.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// password returns the IMAP password: from the environment variable named
// by password_env, else from the OS keyring. It is never logged.
func password(c *app.IMAPConfig) (string, error) {
	if c.PasswordEnv != "" {
		if v, ok := os.LookupEnv(c.PasswordEnv); ok && v != "" {
			return v, nil
		}
	}
	pw, err := keyring.Get(KeyringService, c.Username)
	if err == nil && pw != "" {
		return pw, nil
	}
	where := "im Schlüsselbund des Betriebssystems (Dienst „amtstresen“, Konto „" + c.Username + "“)"
	if c.PasswordEnv != "" {
		where = "in der Umgebungsvariable " + c.PasswordEnv + " oder " + where
	}
	return "", &app.Error{Code: app.EINVALID, Err: err,
		Message: "Kein Passwort für das Portal-Postfach gefunden. Bitte " + where + " hinterlegen."}
}

// tlsConfig verifies the server certificate always: the system roots plus
// the optional CA file.
func tlsConfig(c *app.IMAPConfig) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(c.Address)
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf("Die CA-Datei %s ([imap] ca_file) ist nicht lesbar.", c.CAFile)}
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, app.Errorf(app.EINVALID, "Die CA-Datei %s ([imap] ca_file) enthält kein Zertifikat im PEM-Format.", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// dial connects and logs in. Every error is an *app.Error with a German
// message that says what to do.
func dial(ctx context.Context, c *app.IMAPConfig, pw string, handler *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
	return dialWatched(ctx, c, pw, handler, nil)
}

// dialWatched is dial with the connection under the watchdog wd (nil:
// none).
func dialWatched(ctx context.Context, c *app.IMAPConfig, pw string, handler *imapclient.UnilateralDataHandler, wd *watchdog) (*imapclient.Client, error) {
	tc, err := tlsConfig(c)
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
	if c.TLS == TLSNone && !isLoopback(conn.RemoteAddr().(*net.TCPAddr).IP.String()) {
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

// serverError wraps an error during the session (after login).
func serverError(c *app.IMAPConfig, op string, err error) error {
	var ae *app.Error
	if errors.As(err, &ae) {
		return err
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return &app.Error{Code: app.EINTERNAL, Err: fmt.Errorf("%s: %w", op, err), Message: fmt.Sprintf(
			"Der Mailserver %s hat „%s“ verweigert: %s. Bitte die IT verständigen.", c.Address, op, cleanText(ie.Text, 200))}
	}
	return connectError(c, fmt.Errorf("%s: %w", op, err))
}

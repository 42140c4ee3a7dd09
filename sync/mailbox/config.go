package mailbox

import (
	"net"
	"strings"

	"amtstresen/app"
	"amtstresen/sync/internal/mailconn"
)

// KeyringService is the OS keyring service under which the IMAP password
// is kept (account = IMAP user name).
const KeyringService = "amtstresen"

// TLS modes of [imap] tls.
const (
	TLSImplicit = mailconn.TLSImplicit
	TLSStart    = mailconn.TLSStart
	TLSNone     = mailconn.TLSNone
)

// CheckConfig validates the [imap] section; messages are for the admin.
func CheckConfig(c *app.IMAPConfig) error {
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
	if err := mailconn.CheckTLSMode("[imap]", c.TLS, host); err != nil {
		return err
	}
	m, p, r := Key(c.Mailbox), Key(c.ProcessedMailbox), Key(c.ReviewMailbox)
	if m == p || m == r || (p == r && r != "") {
		return app.Errorf(app.EINVALID, "[imap] mailbox, processed_mailbox und review_mailbox müssen drei verschiedene Ordner sein (INBOX gilt in jeder Schreibweise als derselbe Ordner).")
	}
	return nil
}

// Key is a folder name as the server compares it: INBOX in any case is
// the inbox (RFC 3501 5.1); other names are compared as written.
func Key(name string) string {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

// Password returns the IMAP password: from the environment variable named
// by password_env, else from the OS keyring. It is never logged.
func Password(c *app.IMAPConfig) (string, error) {
	pw, where, err := mailconn.Secret(c.PasswordEnv, KeyringService, c.Username)
	if err != nil {
		return "", &app.Error{Code: app.EINVALID, Err: err,
			Message: "Kein Passwort für das Portal-Postfach gefunden. Bitte " + where + " hinterlegen."}
	}
	return pw, nil
}

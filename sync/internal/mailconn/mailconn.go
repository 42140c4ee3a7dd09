// Package mailconn holds what every mail connection of the app checks the
// same way: whether a host is loopback (the only place TLS may be off) and
// the TLS configuration with the system roots plus an optional CA file,
// and where a password comes from (environment variable or OS keyring,
// never a file).
// sync/rueckkanal (SMTP) and sync/mailbox (IMAP) use it.
package mailconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/zalando/go-keyring"

	"amtstresen/app"
)

// TLS modes of a connection's tls key.
const (
	TLSImplicit = "tls"      // TLS from the first byte
	TLSStart    = "starttls" // plain, then STARTTLS before anything else
	TLSNone     = "none"     // no TLS: loopback only
)

// CheckTLSMode checks a tls key of section (e.g. "[smtp]") for a server on
// host: "none" only on loopback.
func CheckTLSMode(section, mode, host string) error {
	switch mode {
	case TLSImplicit, TLSStart:
		return nil
	case TLSNone:
		if !IsLoopback(host) {
			return app.Errorf(app.EINVALID, "%s tls = \"none\" ist nur für einen Server auf diesem Rechner (127.0.0.1, ::1, localhost) erlaubt. Für %s bitte \"tls\" oder \"starttls\" eintragen.", section, host)
		}
		return nil
	}
	return app.Errorf(app.EINVALID, "%s tls = „%s“ ist unbekannt: erlaubt sind \"tls\", \"starttls\" und \"none\" (nur lokal).", section, mode)
}

// Secret returns a secret from the environment variable env (when set and
// not empty), else from the OS keyring (service, account). When neither
// has it, where says in German where it belongs ("in der
// Umgebungsvariable X oder im Schlüsselbund …"). It is never logged.
func Secret(env, service, account string) (secret, where string, err error) {
	if env != "" {
		if v, ok := os.LookupEnv(env); ok && v != "" {
			return v, "", nil
		}
	}
	v, err := keyring.Get(service, account)
	if err == nil && v != "" {
		return v, "", nil
	}
	if err == nil {
		err = keyring.ErrNotFound
	}
	where = "im Schlüsselbund des Betriebssystems (Dienst „" + service + "“, Konto „" + account + "“)"
	if env != "" {
		where = "in der Umgebungsvariable " + env + " oder " + where
	}
	return "", where, err
}

// IsLoopback reports whether host is a loopback address. A name other than
// "localhost" is not resolved: DNS must not decide whether TLS is skipped.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// TLSConfig verifies the server certificate always, for the host of
// address: the system roots plus the PEM certificates in caFile (if any).
// section names the config key in German messages, e.g. "[smtp] ca_file".
func TLSConfig(address, caFile, section string) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(address)
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, &app.Error{Code: app.EINVALID, Err: err, Message: fmt.Sprintf("Die CA-Datei %s (%s) ist nicht lesbar.", caFile, section)}
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, app.Errorf(app.EINVALID, "Die CA-Datei %s (%s) enthält kein Zertifikat im PEM-Format.", caFile, section)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the TOML configuration file. Every key is documented in the
// README. Secrets never live here: the IMAP password comes from the OS
// keyring or from the environment variable named by PasswordEnv.
type Config struct {
	IMAP   IMAPConfig   `toml:"imap"`
	Portal PortalConfig `toml:"portal"`
	Sync   SyncConfig   `toml:"sync"`
	Print  PrintConfig  `toml:"print"`
	Backup BackupConfig `toml:"backup"`
	Audit  AuditConfig  `toml:"audit"`
	// SMTP is the office's mail server for status messages to the
	// portal's return channel; Office the offices' signing keys.
	SMTP   SMTPConfig        `toml:"smtp"`
	Office []OfficeKeyConfig `toml:"office"`
	// Database is the shared PostgreSQL of an office network; without a
	// URL the program works on its SQLite file.
	Database DatabaseConfig `toml:"database"`

	// Path is where the config was read from ("" for defaults).
	Path string `toml:"-"`
}

// IMAPConfig is the portal's shared mailbox.
type IMAPConfig struct {
	Address          string `toml:"address"` // host:port
	TLS              string `toml:"tls"`     // "tls", "starttls" or "none" (loopback only)
	CAFile           string `toml:"ca_file"` // optional extra CA certificate (PEM)
	Username         string `toml:"username"`
	PasswordEnv      string `toml:"password_env"`      // name of the environment variable with the password
	Mailbox          string `toml:"mailbox"`           // default "INBOX"
	ProcessedMailbox string `toml:"processed_mailbox"` // default "Übernommen"
	ReviewMailbox    string `toml:"review_mailbox"`    // default "Zur Sichtung"
	MaxMessageBytes  int64  `toml:"max_message_bytes"` // default 25 MB
	// TimeoutSeconds is how long the server may stay silent while the
	// sync waits for an answer; default 60.
	TimeoutSeconds int `toml:"timeout_seconds"`
	// ReviewRetentionMonths: handled mails of the review list are deleted
	// (here and on the server) this long after they were handled; default 12.
	ReviewRetentionMonths int `toml:"review_retention_months"`
}

// PortalConfig holds the portal's signing key and its return address.
type PortalConfig struct {
	PublicKey string `toml:"public_key"` // base64 Ed25519 public key
	// ReturnAddress is where status messages go (section 8.1); default
	// DefaultReturnAddress.
	ReturnAddress string `toml:"return_address"`
}

// DefaultReturnAddress is the portal's return address in production.
const DefaultReturnAddress = "rueckkanal@cochem-zell-online.de"

// SMTPConfig is the office's own mail server, through which status
// messages are submitted. The password never lives here: it comes from
// the environment variable named by PasswordEnv or from the OS keyring
// (service "amtstresen-smtp", account Username). Certificates are always
// verified; there is no key to switch that off.
type SMTPConfig struct {
	Address     string `toml:"address"`      // host:port, e.g. "mail.cochem.de:587"
	TLS         string `toml:"tls"`          // "tls" (default, port 465), "starttls" (587) or "none" (loopback only)
	CAFile      string `toml:"ca_file"`      // optional extra CA certificate (PEM)
	Username    string `toml:"username"`     // "" = no login
	PasswordEnv string `toml:"password_env"` // name of the environment variable with the password
	From        string `toml:"from"`         // the office's functional address
}

// OfficeKeyConfig is one [[office]] entry: where the signing key of an
// office that sends status messages lives. Without KeyFile it is in the
// OS keyring (service "amtstresen-office", account = the office key).
type OfficeKeyConfig struct {
	Dienststelle OfficeKey `toml:"dienststelle"`
	KeyFile      string    `toml:"key_file"` // a file with mode 0600; relative to the config file
}

// OfficeKeyFile returns the key file configured for office ("" = keyring).
func (c *Config) OfficeKeyFile(office OfficeKey) string {
	for _, o := range c.Office {
		if o.Dienststelle == office {
			return o.KeyFile
		}
	}
	return ""
}

// SyncConfig is the schedule of the headless job.
type SyncConfig struct {
	Schedule   string `toml:"schedule"`    // cron expression, default "0 2 * * *"
	MaxMinutes int    `toml:"max_minutes"` // a run ends after this long; default 60
}

// PrintConfig chooses the printer.
type PrintConfig struct {
	Printer string `toml:"printer"` // "" = system default
}

// BackupConfig says where backups go, how many are kept and when the
// nightly job (retention purge, then backup) runs.
type BackupConfig struct {
	Dir      string `toml:"dir"`      // "" = folder "sicherungen" next to the database
	Daily    int    `toml:"daily"`    // newest backup of each of the last N days, default 7
	Weekly   int    `toml:"weekly"`   // newest backup of each of the last N weeks, default 4
	Schedule string `toml:"schedule"` // cron, default "30 2 * * *", for `amtstresen nightly`
}

// AuditConfig is the audit log's own retention period.
type AuditConfig struct {
	RetentionMonths int `toml:"retention_months"` // default 12; entries older than this are purged
}

// DatabaseConfig is the shared PostgreSQL database of several counters.
// The URL names no password (one in it is refused): it comes from the
// environment variable named by PasswordEnv, else from the OS keyring
// (service "amtstresen-db", account: the login role). A URL without a
// user connects as the OS account, so that each clerk works as their own
// database role.
type DatabaseConfig struct {
	URL         string `toml:"url"`          // postgres://[KONTO@]host[,host2]/amtstresen?sslmode=verify-full…
	PasswordEnv string `toml:"password_env"` // name of the environment variable with the password
}

// Defaults fills unset values.
func (c *Config) Defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.IMAP.TLS, "tls")
	def(&c.IMAP.Mailbox, "INBOX")
	def(&c.IMAP.ProcessedMailbox, "Übernommen")
	def(&c.IMAP.ReviewMailbox, "Zur Sichtung")
	def(&c.Sync.Schedule, "0 2 * * *")
	if c.IMAP.MaxMessageBytes == 0 {
		c.IMAP.MaxMessageBytes = 25 << 20
	}
	if c.IMAP.TimeoutSeconds <= 0 {
		c.IMAP.TimeoutSeconds = 60
	}
	if c.IMAP.ReviewRetentionMonths == 0 {
		c.IMAP.ReviewRetentionMonths = 12
	}
	if c.Sync.MaxMinutes <= 0 {
		c.Sync.MaxMinutes = 60
	}
	if c.Backup.Daily == 0 {
		c.Backup.Daily = 7
	}
	if c.Backup.Weekly == 0 {
		c.Backup.Weekly = 4
	}
	def(&c.Backup.Schedule, "30 2 * * *")
	def(&c.SMTP.TLS, "tls")
	def(&c.Portal.ReturnAddress, DefaultReturnAddress)
	if c.Audit.RetentionMonths == 0 {
		c.Audit.RetentionMonths = 12
	}
}

// LoadConfig reads the TOML file at path. A missing file at the default
// path gives the defaults; a missing file the user named is an error.
func LoadConfig(path string, explicit bool) (*Config, error) {
	c := &Config{}
	md, err := toml.DecodeFile(path, c)
	switch {
	case err == nil:
		c.Path = path
		for _, k := range md.Keys() {
			if secretKey(k[len(k)-1]) {
				return nil, Errorf(EINVALID, "Die Konfiguration %s enthält ein Passwort (%s). Passwörter gehören nicht in die Datei: bitte entfernen und password_env oder den Schlüsselbund verwenden.", path, k.String())
			}
		}
		if md.IsDefined("journal") {
			// The IMAP journal of several counters is retired (issue 15).
			return nil, Errorf(EINVALID, "Die Konfiguration %s enthält noch [journal]. Das gemeinsame Journal im Postfach gibt es nicht mehr: mehrere Tresen teilen sich eine PostgreSQL-Datenbank ([database] url), eine bisherige SQLite-Datei zieht „amtstresen migrate-db --to URL“ um. Bitte den Abschnitt [journal] entfernen.", path)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return nil, Errorf(EINVALID, "Unbekannter Eintrag %q in der Konfiguration %s. Bitte Schreibweise prüfen (siehe README).", und[0].String(), path)
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	case errors.Is(err, fs.ErrNotExist):
		return nil, Errorf(ENOTFOUND, "Die Konfigurationsdatei %s gibt es nicht.", path)
	default:
		// The parser's message can quote the line; it may hold a secret
		// typed by mistake, so only the position is shown.
		where := ""
		var pe toml.ParseError
		if errors.As(err, &pe) {
			where = fmt.Sprintf(" (Zeile %d)", pe.Position.Line)
		}
		return nil, &Error{Code: EINVALID, Message: fmt.Sprintf("Die Konfiguration %s ist kein gültiges TOML%s. Bitte die Stelle prüfen (siehe README).", path, where)}
	}
	if c.Backup.Daily < 0 || c.Backup.Weekly < 0 || c.Audit.RetentionMonths < 0 {
		return nil, Errorf(EINVALID, "In der Konfiguration %s sind daily, weekly und retention_months Zahlen ab 1.", path)
	}
	c.Defaults()
	if err := c.checkReturnChannel(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkReturnChannel checks [smtp], [portal] return_address and the
// [[office]] entries when they are given: what can be told without the
// network. A config without [smtp] is fine (no status messages are sent
// then; `amtstresen send` says so).
func (c *Config) checkReturnChannel() error {
	where := c.Path
	if where == "" {
		where = "(Standard)"
	}
	bad := func(format string, a ...any) error {
		return Errorf(EINVALID, "Konfiguration %s: "+format, append([]any{where}, a...)...)
	}
	s := &c.SMTP
	switch s.TLS {
	case "tls", "starttls", "none":
	default:
		return bad("[smtp] tls = „%s“ ist unbekannt: erlaubt sind \"tls\", \"starttls\" und \"none\" (nur für einen Server auf diesem Rechner).", clipValue(s.TLS))
	}
	if s.Address != "" {
		host, port, err := net.SplitHostPort(s.Address)
		if err != nil || host == "" || port == "" {
			return bad("[smtp] address „%s“ ist ungültig: erwartet wird Mailserver und Port, z. B. „mail.example.de:587“.", clipValue(s.Address))
		}
		if s.TLS == "none" && !loopbackHost(host) {
			return bad("[smtp] tls = \"none\" ist nur für einen Server auf diesem Rechner (127.0.0.1, ::1, localhost) erlaubt. Für %s bitte \"tls\" oder \"starttls\" eintragen; die Zertifikatsprüfung lässt sich nicht abschalten.", clipValue(host))
		}
		if a, err := mail.ParseAddress(s.From); err != nil || !strings.Contains(a.Address, "@") {
			return bad("[smtp] from fehlt oder ist keine gültige E-Mail-Adresse: eingetragen wird die Funktionsadresse der Dienststelle, z. B. „VG Cochem <buergerportal@cochem.de>“.")
		}
	}
	if a, err := mail.ParseAddress(c.Portal.ReturnAddress); err != nil || !strings.Contains(a.Address, "@") {
		return bad("[portal] return_address „%s“ ist keine gültige E-Mail-Adresse (Standard: %s).", clipValue(c.Portal.ReturnAddress), DefaultReturnAddress)
	}
	seen := map[OfficeKey]bool{}
	for i := range c.Office {
		o := &c.Office[i]
		if !knownOffice(o.Dienststelle) {
			return bad("[[office]] dienststelle „%s“ ist unbekannt (erlaubt: kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell).", clipValue(string(o.Dienststelle)))
		}
		if seen[o.Dienststelle] {
			return bad("[[office]] dienststelle „%s“ steht zweimal in der Datei.", o.Dienststelle)
		}
		seen[o.Dienststelle] = true
		if o.KeyFile != "" && !filepath.IsAbs(o.KeyFile) && c.Path != "" {
			o.KeyFile = filepath.Join(filepath.Dir(c.Path), o.KeyFile)
		}
	}
	return nil
}

func knownOffice(k OfficeKey) bool {
	switch k {
	case OfficeKreis, OfficeCochem, OfficeKaisersesch, OfficeUlmen, OfficeZell:
		return true
	}
	return false
}

// loopbackHost reports whether host is this computer. A name other than
// "localhost" is not resolved: DNS must not decide whether TLS is skipped.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// clipValue shortens a value quoted in a message about the config.
func clipValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// secretKey reports whether a key names a secret ("password", "passwort",
// "kennwort", "secret", "token", "private" as in an office's private_key),
// which never belongs in the file.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	if strings.HasSuffix(k, "_env") {
		return false // the name of an environment variable, not the secret
	}
	for _, s := range []string{"password", "passwort", "kennwort", "secret", "token", "private"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// Paths are the per-user locations of the app's files.
type Paths struct {
	DataDir   string // database, attachments, catalog override
	ConfigDir string // config.toml
	CacheDir  string // PDFs not yet printed, temporary files
}

// DefaultPaths returns the OS's usual per-user places; the environment
// variables AMTSTRESEN_DATA_DIR and AMTSTRESEN_CONFIG_DIR override them for
// a shared installation.
func DefaultPaths() Paths {
	var p Paths
	cfg, err := os.UserConfigDir()
	if err != nil {
		cfg = "."
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	p.ConfigDir = filepath.Join(cfg, "amtstresen")
	p.CacheDir = filepath.Join(cache, "amtstresen")
	switch runtime.GOOS {
	case "windows", "darwin":
		p.DataDir = p.ConfigDir
	default:
		data := os.Getenv("XDG_DATA_HOME")
		if data == "" {
			if home, err := os.UserHomeDir(); err == nil {
				data = filepath.Join(home, ".local", "share")
			} else {
				data = "."
			}
		}
		p.DataDir = filepath.Join(data, "amtstresen")
	}
	if v := os.Getenv("AMTSTRESEN_DATA_DIR"); v != "" {
		p.DataDir = v
	}
	if v := os.Getenv("AMTSTRESEN_CONFIG_DIR"); v != "" {
		p.ConfigDir = v
	}
	return p
}

// DefaultDBPath is the database file: AMTSTRESEN_DB, else amtstresen.db in DataDir.
func (p Paths) DefaultDBPath() string {
	if v := os.Getenv("AMTSTRESEN_DB"); v != "" {
		return v
	}
	return filepath.Join(p.DataDir, "amtstresen.db")
}

// DefaultConfigPath is config.toml in ConfigDir.
func (p Paths) DefaultConfigPath() string { return filepath.Join(p.ConfigDir, "config.toml") }

package cli

// The program's store: the SQLite file (the default: one counter, the
// demo, the tests) or, with [database] url (or --db postgres://…), the
// office network's PostgreSQL, connected as the clerk's own database
// role. The window, every command and the sync take it through the same
// interfaces; what only one engine has (the file's backup and check, a
// login's password) is named on opened, not asked of the store by type
// assertion.

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/zalando/go-keyring"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/storage/postgres"
	portalsync "amtstresen/sync"
)

// store is what the window and the commands use of a store adapter.
type store interface {
	app.ClerkStore
	app.OutboxStore
	app.OutboxSender // the sender of status messages and the sync's quittungen
	app.RoleStore
	app.Purger
	app.MaintenanceLog
	portalsync.Store
	app.ChangeFeed
	Close() error
}

// OfflineFile is the counter's outbox for walk-in applications taken while
// the PostgreSQL server is unreachable (storage/offline), in the data folder.
const OfflineFile = "offline-ausgang.db"

var (
	_ store = (*storage.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// opened is the store the program opened, with its engine's own parts.
type opened struct {
	store
	file  *storage.DB  // the SQLite file; nil on PostgreSQL
	pg    *postgres.DB // the shared database; nil on SQLite
	login string       // the account whose role counts: the OS account, on PostgreSQL the login role
	where string       // for messages: the file, or the database address (no password in it)
}

// DBKeyringService is the OS keyring service of the database password
// (account: the login role).
const DBKeyringService = "amtstresen-db"

// isPostgresURL reports whether s names a PostgreSQL database.
func isPostgresURL(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// databaseURL is the PostgreSQL database the program works on, "" for the
// SQLite file: --db (or AMTSTRESEN_DB) with a postgres:// address, else
// [database] url unless --db or AMTSTRESEN_DB names a file.
func (e *env) databaseURL() string {
	if isPostgresURL(e.dbPath) {
		return strings.TrimSpace(e.dbPath)
	}
	if e.dbExplicit || e.cfg == nil {
		return ""
	}
	return strings.TrimSpace(e.cfg.Database.URL)
}

// open opens the configured store: PostgreSQL when an address is set,
// else the SQLite file (a damaged file gives ECORRUPT with the restore
// hint naming the newest backup).
func (e *env) open() (*opened, error) {
	if u := e.databaseURL(); u != "" {
		return e.openPostgres(u)
	}
	db, err := e.openChecked()
	if err != nil {
		return nil, err
	}
	return &opened{store: db, file: db, login: accountName(), where: e.dbPath}, nil
}

// openPostgres connects to the database at u as the login role it names,
// else as the OS account: each clerk works as their own database role,
// whose rights the server enforces (row-level security).
func (e *env) openPostgres(u string) (*opened, error) {
	u, login := withLogin(u, accountName())
	env := ""
	if e.cfg != nil {
		env = e.cfg.Database.PasswordEnv
	}
	pw, where := dbPassword(env, login)
	db, err := postgres.Open(e.ctx, u, pw, e.reg)
	if err != nil {
		var pe *pgconn.PgError
		if pw == "" && errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000") {
			return nil, &app.Error{Code: app.EFORBIDDEN, Err: err, Message: fmt.Sprintf(
				"Der Datenbankserver hat die Anmeldung als „%s“ abgelehnt, und es ist kein Kennwort hinterlegt. Bitte das Kennwort %s hinterlegen.", login, where)}
		}
		return nil, err
	}
	return &opened{store: db, pg: db, login: db.User(), where: redactURL(u)}, nil
}

// withLogin returns the address with the user it names, or with account
// added when it names none (pgx would take the OS user unnormalised).
func withLogin(conn, account string) (string, string) {
	scheme, rest, ok := strings.Cut(conn, "://")
	if !ok {
		return conn, account
	}
	auth := rest
	if i := strings.IndexAny(auth, "/?"); i >= 0 {
		auth = auth[:i]
	}
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		if name, err := url.PathUnescape(auth[:at]); err == nil && name != "" {
			return conn, name
		}
	}
	if q, err := url.Parse(conn); err == nil && q.Query().Get("user") != "" {
		return conn, q.Query().Get("user")
	}
	if strings.Contains(auth, "@") { // "@host": an empty user
		rest = rest[strings.IndexByte(rest, '@')+1:]
	}
	return scheme + "://" + url.User(account).String() + "@" + rest, account
}

// redactURL is the address for messages and the settings screen: it holds
// no password (ParseURL refuses one), only the query is dropped.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// dbPassword returns the database password of login: from the environment
// variable env, else from the OS keyring; "" when neither has one (the
// server may authenticate otherwise: Kerberos, a certificate, or pgx's
// PGPASSWORD and ~/.pgpass). where says in German where it belongs.
func dbPassword(env, login string) (pw, where string) {
	if env != "" {
		if v, ok := os.LookupEnv(env); ok && v != "" {
			return v, ""
		}
	}
	where = "im Schlüsselbund des Betriebssystems (Dienst „" + DBKeyringService + "“, Konto „" + login + "“)"
	if env != "" {
		where = "in der Umgebungsvariable " + env + " ([database] password_env) oder " + where
	}
	if v, err := keyring.Get(DBKeyringService, login); err == nil && v != "" {
		return v, ""
	}
	return "", where
}

// actorOf is who works with o, with the role from the database: on
// PostgreSQL the login role.
func (e *env) actorOf(o *opened) (app.Actor, bool, error) {
	return app.ResolveActor(e.ctx, o, o.login)
}

// where is the database for messages: the file, or the address.
func (e *env) where() string {
	if u := e.databaseURL(); u != "" {
		return redactURL(u)
	}
	return e.dbPath
}

// pgBackupNote is what the settings show as the backup folder on
// PostgreSQL.
const pgBackupNote = "auf dem Datenbankserver (pg_dump durch die IT)"

// errSyncService is why the window does not sync on PostgreSQL.
var errSyncService = app.Errorf(app.EINVALID, "Auf der gemeinsamen Datenbank holt der Abgleichsdienst (amtstresen sync mit dem Dienstkonto des Abgleichs) die Portal-Sendungen ab; neue Vorgänge erscheinen hier von selbst.")

// needFile refuses what only the SQLite file can do (backup, restore,
// check) on PostgreSQL, with the way it is done there.
func needFile(o *opened, what string) error {
	if o.file != nil {
		return nil
	}
	return app.Errorf(app.EINVALID, "%s gilt für die SQLite-Datei eines einzelnen Tresens. Die gemeinsame PostgreSQL-Datenbank sichert und prüft die IT auf dem Server (pg_dump, pg_restore; siehe README, „Gemeinsame Datenbank mehrerer Tresen“).", what)
}

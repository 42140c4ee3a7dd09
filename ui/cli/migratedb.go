package cli

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/migratedb"
	"amtstresen/storage/postgres"
)

// runMigrateDB copies the SQLite queue (--db, or the default file) into
// an empty PostgreSQL database as its migration role, checks the copy and
// says what to put into the configuration next. Run again it does nothing.
func runMigrateDB(e *env, args []string) error {
	fs := newFlags("migrate-db", e)
	to := fs.String("to", "", "Zieldatenbank: postgres://MIGRATIONSROLLE@SERVER/DATENBANK?sslmode=verify-full (ohne Kennwort)")
	pwEnv := fs.String("password-env", "", "Name der Umgebungsvariable mit dem Kennwort der Migrationsrolle (sonst Schlüsselbund amtstresen-db, PGPASSWORD oder ~/.pgpass)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" || !isPostgresURL(*to) {
		return usageError("Aufruf: amtstresen migrate-db --to postgres://MIGRATIONSROLLE@SERVER/DATENBANK?sslmode=verify-full [--db DATEI] [--password-env VAR]")
	}
	if isPostgresURL(e.dbPath) {
		return usageError("migrate-db liest eine SQLite-Datei: --db DATEI nennt sie (ohne --db die des Arbeitsplatzes).")
	}
	// Only the administration of the file moves it (or anyone while no
	// role is given yet).
	src, err := e.openChecked()
	if err != nil {
		return err
	}
	a, err := e.actor(src)
	src.Close()
	if err == nil && !a.Is(app.RoleAdmin) {
		err = app.Forbidden("Das Übernehmen der Datenbank nach PostgreSQL")
	}
	if err != nil {
		return err
	}
	conn, err := connectMigrationRole(e, *to, *pwEnv)
	if err != nil {
		return err
	}
	defer conn.Close(e.ctx)
	rep, err := migratedb.Copy(e.ctx, e.dbPath, e.reg, conn)
	if err != nil {
		return err
	}
	if rep.Already {
		fmt.Fprintf(e.stdout, "Die Datenbank %s ist schon in %s übernommen worden; es gibt nichts zu tun.\n", e.dbPath, redactURL(*to))
		return nil
	}
	fmt.Fprintf(e.stdout, "Übernommen aus %s nach %s, geprüft nach Anzahl und Inhalt (SHA-256 je Zeile):\n", e.dbPath, redactURL(*to))
	for _, t := range rep.Tables {
		fmt.Fprintf(e.stdout, "  %-18s %8d Zeilen  %s\n", t.Name, t.Rows, t.SHA256[:16])
	}
	fmt.Fprintf(e.stdout, "  Suchindex: %d Vorgänge\n", rep.Search)
	if len(rep.Roles) > 0 {
		fmt.Fprintf(e.stdout, "Datenbankrollen angelegt (ohne Kennwort; vergeben mit amtstresen roles set KONTO … --password-env VAR): %v\n", rep.Roles)
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(e.stderr, "Rolle nicht angelegt: %s\n", f)
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(e.stdout, "Nicht übernommen (nur für den einzelnen Tresen oder das frühere Journal): %v\n", rep.Skipped)
	}
	fmt.Fprintf(e.stdout, "Nächster Schritt: in config.toml jedes Tresens [database] url = \"%s\" (ohne Benutzer: jede Person meldet sich mit ihrer eigenen Datenbankrolle an).\n", redactURL(*to))
	return nil
}

// connectMigrationRole connects to the PostgreSQL database at url (no
// password in it) as the role it names, the migration role, with the
// password from pwEnv, the keyring, PGPASSWORD or ~/.pgpass.
func connectMigrationRole(e *env, url, pwEnv string) (*pgx.Conn, error) {
	cfg, err := postgres.ParseURL(url)
	if err != nil {
		return nil, err
	}
	if pw, _ := dbPassword(pwEnv, cfg.ConnConfig.User); pw != "" {
		cfg.ConnConfig.Password = pw
	}
	conn, err := pgx.ConnectConfig(e.ctx, cfg.ConnConfig)
	if err != nil {
		return nil, app.Errorf(app.EINVALID, "Keine Verbindung zur Datenbank %s als „%s“ (%v). Bitte Adresse, Kennwort der Migrationsrolle und Netzwerk prüfen.", redactURL(url), cfg.ConnConfig.User, err)
	}
	return conn, nil
}

package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"amtstresen/app"
	"amtstresen/storage/postgres"
)

// runUpgradeDB brings the PostgreSQL schema to this program's version, as
// the migration role: the IT's step after installing a new version (the
// counters refuse an older schema and say so). Run again it does nothing.
func runUpgradeDB(e *env, args []string) error {
	fs := newFlags("upgrade-db", e)
	pwEnv := fs.String("password-env", "", "Name der Umgebungsvariable mit dem Kennwort der Migrationsrolle (sonst Schlüsselbund amtstresen-db, PGPASSWORD oder ~/.pgpass)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !isPostgresURL(e.dbPath) {
		return usageError("Aufruf: amtstresen --db postgres://MIGRATIONSROLLE@SERVER/DATENBANK?sslmode=verify-full upgrade-db [--password-env VAR]")
	}
	cfg, err := postgres.ParseURL(e.dbPath)
	if err != nil {
		return err
	}
	if pw, _ := dbPassword(*pwEnv, cfg.ConnConfig.User); pw != "" {
		cfg.ConnConfig.Password = pw
	}
	conn, err := pgx.ConnectConfig(e.ctx, cfg.ConnConfig)
	if err != nil {
		return app.Errorf(app.EINVALID, "Keine Verbindung zur Datenbank als „%s“ (%v). Bitte Adresse, Kennwort der Migrationsrolle und Netzwerk prüfen.", cfg.ConnConfig.User, err)
	}
	defer conn.Close(e.ctx)
	before, err := schemaVersion(e, conn)
	if err != nil {
		return err
	}
	if before == postgres.SchemaVersion {
		fmt.Fprintf(e.stdout, "Die Datenbank %s hat schon Schema %d, den Stand dieses Programms; es gibt nichts zu tun.\n", redactURL(e.dbPath), before)
		return nil
	}
	start := time.Now()
	if err := postgres.Migrate(e.ctx, conn); err != nil {
		return err
	}
	after, err := schemaVersion(e, conn)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Die Datenbank %s hat jetzt Schema %d (vorher %d), in %s. Die Tresen können wieder arbeiten.\n",
		redactURL(e.dbPath), after, before, time.Since(start).Round(time.Second/10))
	return nil
}

// schemaVersion is the database's schema version: 0 without the schema.
func schemaVersion(e *env, conn *pgx.Conn) (int, error) {
	var v int
	err := conn.QueryRow(e.ctx, "SELECT coalesce(max(version), 0) FROM amtstresen.schema_version").Scan(&v)
	// No schema or no table yet: an empty database.
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("upgrade-db: schema version: %w", err)
	}
	return v, nil
}

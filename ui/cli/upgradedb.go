package cli

import (
	"fmt"
	"time"

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
	conn, err := connectMigrationRole(e, e.dbPath, *pwEnv)
	if err != nil {
		return err
	}
	defer conn.Close(e.ctx)
	before, err := postgres.SchemaVersionOf(e.ctx, conn)
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
	after, err := postgres.SchemaVersionOf(e.ctx, conn)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Die Datenbank %s hat jetzt Schema %d (vorher %d), in %s. Die Tresen können wieder arbeiten.\n",
		redactURL(e.dbPath), after, before, time.Since(start).Round(time.Second/10))
	return nil
}

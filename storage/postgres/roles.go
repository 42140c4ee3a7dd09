package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// RoleAssignments implements app.RoleStore, ordered by account: the
// record of the login roles that set_clerk_role made.
func (db *DB) RoleAssignments(ctx context.Context) ([]app.RoleAssignment, error) {
	rows, err := db.q().Query(ctx, `SELECT clerk, role, office, name, updated_at, updated_by FROM roles ORDER BY clerk`)
	if err != nil {
		return nil, explain(fmt.Errorf("roles: %w", err))
	}
	defer rows.Close()
	var out []app.RoleAssignment
	for rows.Next() {
		ra, err := scanRole(rows)
		if err != nil {
			return nil, fmt.Errorf("roles: %w", err)
		}
		out = append(out, *ra)
	}
	return out, explain(rows.Err())
}

func scanRole(sc pgx.Row) (*app.RoleAssignment, error) {
	var ra app.RoleAssignment
	var role, office string
	var at time.Time
	if err := sc.Scan(&ra.Clerk, &role, &office, &ra.Name, &at, &ra.UpdatedBy); err != nil {
		return nil, err
	}
	ra.Role, ra.Office, ra.UpdatedAt = app.Role(role), app.OfficeKey(office), at.UTC()
	return &ra, nil
}

// RoleAssignment implements app.RoleStore.
func (db *DB) RoleAssignment(ctx context.Context, clerk string) (*app.RoleAssignment, error) {
	clerk = app.NormalizeClerk(clerk)
	ra, err := scanRole(db.q().QueryRow(ctx, `SELECT clerk, role, office, name, updated_at, updated_by FROM roles WHERE clerk = $1`, txt(clerk)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, rules.RoleNotFound(clerk)
	}
	if err != nil {
		return nil, explain(fmt.Errorf("role: %w", err))
	}
	return ra, nil
}

// SetRole implements app.RoleStore: creates or changes the clerk's login
// role through amtstresen.set_clerk_role (a member of the kind's and the
// office's group role; the password stays as it is, see
// SetRoleWithPassword) and its record, audited as "role.set" with the
// previous assignment after "<-", in by's name (only administrators may
// call it, and the database trusts their audit entries). The first
// assignment must be an administrator's.
func (db *DB) SetRole(ctx context.Context, ra app.RoleAssignment, by app.Actor) error {
	return db.SetRoleWithPassword(ctx, ra, "", by)
}

// SetRoleWithPassword is SetRole that also sets the login's password
// ("" keeps it). The password leaves this program only as a SCRAM
// verifier (ScramVerifier), never in plain text.
func (db *DB) SetRoleWithPassword(ctx context.Context, ra app.RoleAssignment, password string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	if err := app.CheckAssignment(db.reg, &ra); err != nil {
		return err
	}
	var verifier any
	if password != "" {
		v, err := ScramVerifier(password)
		if err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		verifier = v
	}
	return db.tx(ctx, "set role", func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM roles`).Scan(&n); err != nil {
			return err
		}
		if err := rules.FirstRole(n, ra); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT set_clerk_role($1, $2, $3, $4, $5, $6, $7, $8)`, ra.Clerk, string(ra.Role), string(ra.Office), txt(ra.Name), verifier,
			txt(by.Clerk), string(by.Office), micro(db.now()))
		return roleError(err)
	})
}

// RemoveRole implements app.RoleStore ("role.remove") through
// amtstresen.remove_clerk_role: the login loses its kind, office, login
// and password at once, also in open sessions. The last administrator
// cannot be removed while other assignments exist.
func (db *DB) RemoveRole(ctx context.Context, clerk string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	clerk = app.NormalizeClerk(clerk)
	return db.tx(ctx, "remove role", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT remove_clerk_role($1, $2, $3, $4)`, txt(clerk), txt(by.Clerk), string(by.Office), micro(db.now()))
		return roleError(err)
	})
}

// roleError passes the German reasons of set_clerk_role and
// remove_clerk_role on with their codes.
func roleError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	code := ""
	switch pe.Code {
	case "42501":
		code = app.EFORBIDDEN
	case "22023":
		code = app.EINVALID
	case "42710", "23514":
		code = app.ECONFLICT
	case "P0002":
		code = app.ENOTFOUND
	default:
		return err
	}
	return &app.Error{Code: code, Message: pe.Message, Err: err}
}

// ServiceAccount reports whether the login is the service account of
// kind, made by the IT by hand, without an entry in the role list: "sync"
// or "purge" (a member of amtstresen_sync or amtstresen_purge; the
// nightly purge runs as amtstresen_purge's login), or "migration" (the
// owner of the database, which enters the first administration).
func (db *DB) ServiceAccount(ctx context.Context, kind string) (bool, error) {
	var q string
	switch kind {
	case "sync", "purge":
		q = `SELECT pg_has_role(session_user, 'amtstresen_` + kind + `', 'MEMBER')`
	case "migration":
		q = `SELECT session_user = pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()`
	default:
		return false, fmt.Errorf("service account: unknown kind %q", kind)
	}
	var ok bool
	err := db.q().QueryRow(ctx, q).Scan(&ok)
	return ok, explain(err)
}

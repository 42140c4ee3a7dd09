package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

var _ app.RoleStore = (*DB)(nil)

// RoleAssignments implements app.RoleStore, ordered by account.
func (db *DB) RoleAssignments(ctx context.Context) ([]app.RoleAssignment, error) {
	rows, err := db.q().QueryContext(ctx, `SELECT clerk, role, office, name, updated_at, updated_by FROM roles ORDER BY clerk`)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	defer rows.Close()
	var out []app.RoleAssignment
	for rows.Next() {
		var ra app.RoleAssignment
		var role, office, at string
		if err := rows.Scan(&ra.Clerk, &role, &office, &ra.Name, &at, &ra.UpdatedBy); err != nil {
			return nil, fmt.Errorf("roles: %w", err)
		}
		ra.Role, ra.Office = app.Role(role), app.OfficeKey(office)
		if ra.UpdatedAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("roles: %w", err)
		}
		out = append(out, ra)
	}
	return out, rows.Err()
}

// RoleAssignment implements app.RoleStore.
func (db *DB) RoleAssignment(ctx context.Context, clerk string) (*app.RoleAssignment, error) {
	clerk = app.NormalizeClerk(clerk)
	var ra app.RoleAssignment
	var role, office, at string
	err := db.q().QueryRowContext(ctx, `SELECT clerk, role, office, name, updated_at, updated_by FROM roles WHERE clerk = ?`, clerk).
		Scan(&ra.Clerk, &role, &office, &ra.Name, &at, &ra.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, rules.RoleNotFound(clerk)
	}
	if err != nil {
		return nil, fmt.Errorf("role: %w", err)
	}
	ra.Role, ra.Office = app.Role(role), app.OfficeKey(office)
	if ra.UpdatedAt, err = parseTime(at); err != nil {
		return nil, fmt.Errorf("role: %w", err)
	}
	return &ra, nil
}

// SetRole implements app.RoleStore: creates or changes the assignment and
// audits it ("role.set", reference = account, detail "role@office", the
// previous one after "<-").
func (db *DB) SetRole(ctx context.Context, ra app.RoleAssignment, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	if err := app.CheckAssignment(db.reg, &ra); err != nil {
		return err
	}
	return db.tx(ctx, "set role", func(tx *txn) error {
		now := db.now()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM roles`).Scan(&n); err != nil {
			return err
		}
		if err := rules.FirstRole(n, ra); err != nil {
			return err
		}
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT role || '@' || office FROM roles WHERE clerk = ?`, ra.Clerk).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO roles (clerk, role, office, name, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (clerk) DO UPDATE SET role = excluded.role, office = excluded.office, name = excluded.name,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			ra.Clerk, string(ra.Role), string(ra.Office), ra.Name, fmtTime(now), by.Clerk); err != nil {
			return err
		}
		detail := string(ra.Role) + "@" + string(ra.Office)
		if prev != "" {
			detail += "<-" + prev
		}
		return audit(ctx, tx, app.AuditEntry{At: now, Clerk: by.Clerk, Office: by.Office, Action: app.ActionRoleSet, Ref: ra.Clerk, Detail: detail})
	})
}

// RemoveRole implements app.RoleStore ("role.remove"). The last
// administrator cannot be removed while other assignments exist: nobody
// could change roles any more.
func (db *DB) RemoveRole(ctx context.Context, clerk string, by app.Actor) error {
	if err := needClerk(by); err != nil {
		return err
	}
	clerk = app.NormalizeClerk(clerk)
	return db.tx(ctx, "remove role", func(tx *txn) error {
		var role, office string
		err := tx.QueryRowContext(ctx, `SELECT role, office FROM roles WHERE clerk = ?`, clerk).Scan(&role, &office)
		if errors.Is(err, sql.ErrNoRows) {
			return rules.RoleNotFound(clerk)
		}
		if err != nil {
			return err
		}
		if role == string(app.RoleAdmin) {
			var admins, others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE role = 'admin'), count(*) FILTER (WHERE role <> 'admin') FROM roles`).Scan(&admins, &others); err != nil {
				return err
			}
			if admins == 1 && others > 0 {
				return app.Errorf(app.ECONFLICT, "„%s“ ist die letzte Administration. Bitte erst eine andere Person als admin eintragen.", clerk)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE clerk = ?`, clerk); err != nil {
			return err
		}
		return audit(ctx, tx, app.AuditEntry{At: db.now(), Clerk: by.Clerk, Office: by.Office, Action: app.ActionRoleRemove, Ref: clerk, Detail: role + "@" + office})
	})
}

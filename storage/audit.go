package storage

import (
	"context"
	"fmt"
	"strings"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// Audit implements app.AuditLog: it appends e (At defaults to now). The
// table refuses UPDATE and DELETE (triggers in migration 0001).
func (db *DB) Audit(ctx context.Context, e app.AuditEntry) error {
	e, err := rules.AuditInput(e, db.clock(ctx))
	if err != nil {
		return err
	}
	return wrap("audit", audit(ctx, db.q(), e))
}

// AuditEntries implements app.AuditLog: oldest first; with a Limit, the
// newest Limit entries (still oldest first). From is inclusive, To
// exclusive.
func (db *DB) AuditEntries(ctx context.Context, f app.AuditFilter) ([]app.AuditEntry, error) {
	var conds []string
	var args []any
	if !f.From.IsZero() {
		conds, args = append(conds, "at >= ?"), append(args, fmtTime(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "at < ?"), append(args, fmtTime(f.To))
	}
	if f.Clerk != "" {
		conds, args = append(conds, "clerk = ?"), append(args, f.Clerk)
	}
	if f.Ref != "" {
		conds, args = append(conds, "ref = ?"), append(args, f.Ref)
	}
	if f.Office != "" {
		conds, args = append(conds, "office = ?"), append(args, string(f.Office))
	}
	if a, ok := strings.CutSuffix(f.Action, "."); ok {
		conds, args = append(conds, "substr(action, 1, ?) = ?"), append(args, len(a)+1, a+".")
	} else if f.Action != "" {
		conds, args = append(conds, "action = ?"), append(args, f.Action)
	}
	q := `SELECT id, at, clerk, clerk_name, office, action, ref, detail FROM audit_log`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := db.q().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	defer rows.Close()
	var out []app.AuditEntry
	for rows.Next() {
		var e app.AuditEntry
		var at, office string
		if err := rows.Scan(&e.ID, &at, &e.Clerk, &e.Name, &office, &e.Action, &e.Ref, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit entries: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("audit entries: %w", err)
		}
		e.Office = app.OfficeKey(office)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

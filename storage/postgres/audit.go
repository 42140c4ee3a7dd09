package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// Audit implements app.AuditLog: it appends e (At defaults to now). The
// log refuses UPDATE, DELETE and TRUNCATE to every role but the purge's
// (migration 0001); a clerk writes entries in their own name only.
func (db *DB) Audit(ctx context.Context, e app.AuditEntry) error {
	e, err := rules.AuditInput(e, db.clock(ctx))
	if err != nil {
		return err
	}
	return explain(wrap("audit", audit(ctx, db.q(), e)))
}

// AuditEntries implements app.AuditLog: oldest first; with a Limit, the
// newest Limit entries (still oldest first). From is inclusive, To
// exclusive. A clerk reads the history of the cases they see, a lead also
// the entries of their office (row-level security).
func (db *DB) AuditEntries(ctx context.Context, f app.AuditFilter) ([]app.AuditEntry, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if !f.From.IsZero() {
		add("at >= $%d", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("at < $%d", f.To.UTC())
	}
	if f.Clerk != "" {
		add("clerk = $%d", txt(f.Clerk))
	}
	if f.Ref != "" {
		add("ref = $%d", txt(f.Ref))
	}
	if f.Office != "" {
		add("office = $%d", string(f.Office))
	}
	if a, ok := strings.CutSuffix(f.Action, "."); ok {
		add("starts_with(action, $%d)", txt(a+"."))
	} else if f.Action != "" {
		add("action = $%d", txt(f.Action))
	}
	q := `SELECT id, at, clerk, clerk_name, office, action, ref, detail FROM audit_log`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	rows, err := db.q().Query(ctx, q, args...)
	if err != nil {
		return nil, explain(fmt.Errorf("audit entries: %w", err))
	}
	defer rows.Close()
	var out []app.AuditEntry
	for rows.Next() {
		var e app.AuditEntry
		var at time.Time
		var office string
		if err := rows.Scan(&e.ID, &at, &e.Clerk, &e.Name, &office, &e.Action, &e.Ref, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit entries: %w", err)
		}
		e.At, e.Office = at.UTC(), app.OfficeKey(office)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, explain(fmt.Errorf("audit entries: %w", err))
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

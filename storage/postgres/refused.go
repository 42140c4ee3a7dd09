package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
)

// A case or an appointment the role may not see does not exist for its
// queries (row-level security). The store still tells "belongs to another
// office" (EFORBIDDEN) from "does not exist" (ENOTFOUND), and logs the
// refused access in the clerk's name (action ".denied", the office of the
// case in the detail), as app.Scoped does over the SQLite store: the
// functions amtstresen.case_office and appointment_office answer with
// reference and office only.

// caseRefused returns missing when no case has the reference (or portal
// id), else audits the refused action and returns EFORBIDDEN.
func (db *DB) caseRefused(ctx context.Context, action, ref, portal string, missing error) error {
	var caseRef, office string
	err := db.q().QueryRow(ctx, `SELECT case_ref, case_office FROM case_office($1, $2)`, nullString(ref), nullString(portal)).Scan(&caseRef, &office)
	if errors.Is(err, pgx.ErrNoRows) {
		return missing
	}
	if err != nil {
		return explain(fmt.Errorf("%s: %w", action, err))
	}
	if err := db.auditDenied(ctx, action, caseRef, office); err != nil {
		return err
	}
	return app.Errorf(app.EFORBIDDEN, "Der Vorgang %s gehört nicht zu Ihrer Dienststelle. Einsehen und bearbeiten kann ihn nur die zuständige Dienststelle; bei Bedarf kann sie ihn an Sie weiterleiten.", caseRef)
}

// appointmentRefused is caseRefused for a booking.
func (db *DB) appointmentRefused(ctx context.Context, action, uid string) error {
	var office string
	err := db.q().QueryRow(ctx, `SELECT appointment_office FROM appointment_office($1)`, txt(uid)).Scan(&office)
	if errors.Is(err, pgx.ErrNoRows) {
		return apptNotFound()
	}
	if err != nil {
		return explain(fmt.Errorf("%s: %w", action, err))
	}
	if err := db.auditDenied(ctx, action, uid, office); err != nil {
		return err
	}
	return app.Errorf(app.EFORBIDDEN, "Der Termin gehört nicht zu Ihrer Dienststelle.")
}

// auditDenied logs a refused access in the name of the session's login
// role and the office of its assignment.
func (db *DB) auditDenied(ctx context.Context, action, ref, office string) error {
	_, err := db.q().Exec(ctx, `INSERT INTO audit_log (at, clerk, office, action, ref, detail)
		VALUES ($1, session_user, coalesce((SELECT r.office FROM roles r WHERE r.clerk = session_user), ''), $2, $3, $4)`,
		db.clock(ctx), action+".denied", ref, office)
	if err != nil {
		return explain(fmt.Errorf("audit %s.denied: %w", action, err))
	}
	return nil
}

// errMissing marks a change whose case the transaction did not find.
var errMissing = errors.New("case not visible")

// onCase runs a change of the case ref in one transaction, with the case
// locked. A case the role does not see is refused as caseRefused says.
func (db *DB) onCase(ctx context.Context, op, action, ref string, fn func(tx pgx.Tx, r *caseRow, now time.Time) error) error {
	ref = normRef(ref)
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		r, err := caseByRefTx(ctx, tx, ref)
		if app.ErrorCode(err) == app.ENOTFOUND {
			return errMissing
		}
		if err != nil {
			return err
		}
		// The writes go to the server together, in one round trip (pipeTx):
		// a claim waited for five round trips, a status change for seven,
		// all the while holding the case's lock.
		p := newPipe(tx)
		if err := fn(p, r, db.clock(ctx)); err != nil {
			return err
		}
		return p.flush(ctx)
	})
	if errors.Is(err, errMissing) {
		return db.caseRefused(ctx, action, ref, "", notFound(ref))
	}
	return err
}

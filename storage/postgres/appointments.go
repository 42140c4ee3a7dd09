package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

const apptCols = `uid, sequence, status, service, office, start_at, end_at, citizen_name, citizen_email, location, portal_case, attendance, updated_at, attendance_note`

func scanAppointment(sc pgx.Row) (*app.Appointment, error) {
	var a app.Appointment
	var status, office, att string
	var start, end, updated *time.Time
	if err := sc.Scan(&a.UID, &a.Sequence, &status, &a.Service, &office, &start, &end, &a.CitizenName, &a.CitizenEmail,
		&a.Location, &a.PortalCase, &att, &updated, &a.AttendanceNote); err != nil {
		return nil, err
	}
	a.Status, a.Office, a.Attendance = app.AppointmentStatus(status), app.OfficeKey(office), app.Attendance(att)
	a.Start, a.End, a.UpdatedAt = utc(start), utc(end), utc(updated)
	return &a, nil
}

func getAppointment(ctx context.Context, q querier, uid string, lock bool) (*app.Appointment, error) {
	query := `SELECT ` + apptCols + ` FROM appointments WHERE uid = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	a, err := scanAppointment(q.QueryRow(ctx, query, txt(uid)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return a, err
}

func apptNotFound() error { return rules.AppointmentNotFound() }

// ApplyAppointment implements app.AppointmentStore. The incoming version
// is stored when it supersedes the stored one (app.Supersedes), so that
// any arrival order ends in the same state. Details the incoming version
// lacks are kept from the stored one, and so is the attendance the clerk
// recorded. A stale version is ignored (applied=false); its receipt is
// recorded either way.
func (db *DB) ApplyAppointment(ctx context.Context, a *app.Appointment, rc *app.Receipt) (bool, error) {
	if err := rules.CheckAppointment(a); err != nil {
		return false, err
	}
	applied := false
	err := db.pipedTx(ctx, "apply appointment", func(tx pgx.Tx) error {
		applied = false
		now := db.clock(ctx)
		// Two versions of one booking arriving at once: the second waits
		// for the first (the row lock, or the key of a new row).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, txt(a.UID)); err != nil {
			return err
		}
		old, err := getAppointment(ctx, tx, a.UID, true)
		if err != nil {
			return err
		}
		if err := recordReceipt(ctx, tx, rc, now, ""); err != nil {
			return err
		}
		n, entry := rules.ApplyAppointment(a, old, now)
		if n == nil {
			return audit(ctx, tx, entry)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO appointments (`+apptCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (uid) DO UPDATE SET sequence = excluded.sequence, status = excluded.status, service = excluded.service,
			office = excluded.office, start_at = excluded.start_at, end_at = excluded.end_at, citizen_name = excluded.citizen_name,
			citizen_email = excluded.citizen_email, location = excluded.location, portal_case = excluded.portal_case,
			attendance = excluded.attendance, updated_at = excluded.updated_at, attendance_note = excluded.attendance_note`,
			txt(n.UID), n.Sequence, string(n.Status), txt(n.Service), txt(string(n.Office)), ts(n.Start), ts(n.End), txt(n.CitizenName),
			txt(n.CitizenEmail), txt(n.Location), txt(n.PortalCase), string(n.Attendance), n.UpdatedAt.UTC(), txt(n.AttendanceNote)); err != nil {
			return err
		}
		applied = true
		return audit(ctx, tx, entry)
	})
	return applied, err
}

// Appointment implements app.AppointmentStore.
func (db *DB) Appointment(ctx context.Context, uid string) (*app.Appointment, error) {
	a, err := getAppointment(ctx, db.q(), uid, false)
	if err != nil {
		return nil, explain(fmt.Errorf("appointment: %w", err))
	}
	if a == nil {
		return nil, db.appointmentRefused(ctx, app.ActionAppointmentRead, uid)
	}
	return a, nil
}

// Appointments implements app.AppointmentStore: those starting in
// [from, to), cancelled ones included, ordered by start. A zero from is
// no lower bound; a zero to selects nothing (as in the SQLite store).
func (db *DB) Appointments(ctx context.Context, office app.OfficeKey, from, to time.Time) ([]app.Appointment, error) {
	if to.IsZero() {
		return nil, nil
	}
	q := `SELECT ` + apptCols + ` FROM appointments WHERE start_at < $1`
	args := []any{to.UTC()}
	if !from.IsZero() {
		q += ` AND start_at >= $2`
		args = append(args, from.UTC())
	}
	if office != "" {
		args = append(args, string(office))
		q += fmt.Sprintf(` AND office = $%d`, len(args))
	}
	rows, err := db.q().Query(ctx, q+` ORDER BY start_at, uid`, args...)
	if err != nil {
		return nil, explain(fmt.Errorf("appointments: %w", err))
	}
	defer rows.Close()
	var out []app.Appointment
	for rows.Next() {
		a, err := scanAppointment(rows)
		if err != nil {
			return nil, fmt.Errorf("appointments: %w", err)
		}
		out = append(out, *a)
	}
	return out, explain(rows.Err())
}

// SetAttendance implements app.AppointmentStore under the rules of
// app.CheckAttendance ("now" is the store's clock or app.WithTime).
func (db *DB) SetAttendance(ctx context.Context, uid string, att app.Attendance, by app.Actor) error {
	return db.setAttendance(ctx, uid, att, "", by)
}

// OverrideAttendance implements app.AttendanceOverrider: the attendance
// is recorded whatever the day, with the reason kept on the appointment
// and the override in the audit log. A cancelled appointment still gets
// none. The role is checked by app.Scoped.
func (db *DB) OverrideAttendance(ctx context.Context, uid string, att app.Attendance, reason string, by app.Actor) error {
	reason, err := rules.OverrideReason(reason)
	if err != nil {
		return err
	}
	return db.setAttendance(ctx, uid, att, reason, by)
}

func (db *DB) setAttendance(ctx context.Context, uid string, att app.Attendance, override string, by app.Actor) error {
	if err := rules.AttendanceInput(att, by); err != nil {
		return err
	}
	err := db.tx(ctx, "set attendance", func(tx pgx.Tx) error {
		a, err := getAppointment(ctx, tx, uid, true)
		if err != nil {
			return err
		}
		if a == nil {
			return errMissing
		}
		note, entry, err := rules.Attendance(a, att, override, by, db.clock(ctx))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE appointments SET attendance = $1, attendance_note = $2 WHERE uid = $3`, string(att), txt(note), txt(uid)); err != nil {
			return err
		}
		return audit(ctx, tx, entry)
	})
	if errors.Is(err, errMissing) {
		return db.appointmentRefused(ctx, app.ActionAppointmentAttendance, uid)
	}
	return err
}

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

const apptCols = `uid, sequence, status, service, office, start_at, end_at, citizen_name, citizen_email, location, portal_case, attendance, updated_at, attendance_note`

func scanAppointment(sc interface{ Scan(...any) error }) (*app.Appointment, error) {
	var a app.Appointment
	var status, office, start, end, att, updated string
	if err := sc.Scan(&a.UID, &a.Sequence, &status, &a.Service, &office, &start, &end, &a.CitizenName, &a.CitizenEmail,
		&a.Location, &a.PortalCase, &att, &updated, &a.AttendanceNote); err != nil {
		return nil, err
	}
	a.Status, a.Office, a.Attendance = app.AppointmentStatus(status), app.OfficeKey(office), app.Attendance(att)
	var err error
	if a.Start, err = parseTime(start); err != nil {
		return nil, err
	}
	if a.End, err = parseTime(end); err != nil {
		return nil, err
	}
	if a.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &a, nil
}

func getAppointment(ctx context.Context, q queryer, uid string) (*app.Appointment, error) {
	a, err := scanAppointment(q.QueryRowContext(ctx, `SELECT `+apptCols+` FROM appointments WHERE uid = ?`, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return a, err
}

func apptNotFound() error { return rules.AppointmentNotFound() }

// ApplyAppointment implements app.AppointmentStore. The incoming version
// is stored when it supersedes the stored one (app.Supersedes: higher
// SEQUENCE, or a CANCEL at equal SEQUENCE), so that any arrival order ends
// in the same state. Details the incoming version lacks (a CANCEL often
// carries no time or name) are kept from the stored one, and so is the
// attendance the clerk recorded. A stale version is ignored
// (applied=false); its receipt is recorded either way.
func (db *DB) ApplyAppointment(ctx context.Context, a *app.Appointment, rc *app.Receipt) (bool, error) {
	if err := rules.CheckAppointment(a); err != nil {
		return false, err
	}
	applied := false
	err := db.tx(ctx, "apply appointment", func(tx *txn) error {
		now := db.clock(ctx)
		old, err := getAppointment(ctx, tx, a.UID)
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO appointments (`+apptCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (uid) DO UPDATE SET sequence = excluded.sequence, status = excluded.status, service = excluded.service,
			office = excluded.office, start_at = excluded.start_at, end_at = excluded.end_at, citizen_name = excluded.citizen_name,
			citizen_email = excluded.citizen_email, location = excluded.location, portal_case = excluded.portal_case,
			attendance = excluded.attendance, updated_at = excluded.updated_at, attendance_note = excluded.attendance_note`,
			n.UID, n.Sequence, string(n.Status), n.Service, string(n.Office), fmtTime(n.Start), fmtTime(n.End), n.CitizenName,
			n.CitizenEmail, n.Location, n.PortalCase, string(n.Attendance), fmtTime(n.UpdatedAt), n.AttendanceNote); err != nil {
			return err
		}
		applied = true
		return audit(ctx, tx, entry)
	})
	return applied, err
}

// Appointment implements app.AppointmentStore.
func (db *DB) Appointment(ctx context.Context, uid string) (*app.Appointment, error) {
	a, err := getAppointment(ctx, db.q(), uid)
	if err != nil {
		return nil, fmt.Errorf("appointment: %w", err)
	}
	if a == nil {
		return nil, apptNotFound()
	}
	return a, nil
}

// Appointments implements app.AppointmentStore: those starting in
// [from, to), cancelled ones included, ordered by start.
func (db *DB) Appointments(ctx context.Context, office app.OfficeKey, from, to time.Time) ([]app.Appointment, error) {
	q := `SELECT ` + apptCols + ` FROM appointments WHERE start_at >= ? AND start_at < ? AND start_at <> ''`
	args := []any{fmtTime(from), fmtTime(to)}
	if office != "" {
		q += ` AND office = ?`
		args = append(args, string(office))
	}
	rows, err := db.q().QueryContext(ctx, q+` ORDER BY start_at, uid`, args...)
	if err != nil {
		return nil, fmt.Errorf("appointments: %w", err)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("appointments: %w", err)
	}
	return out, nil
}

// SetAttendance implements app.AppointmentStore under the rules of
// app.CheckAttendance (check-in on the appointment's day, no-show after
// its start; "now" is the store's clock or app.WithTime).
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

var _ app.AttendanceOverrider = (*DB)(nil)

func (db *DB) setAttendance(ctx context.Context, uid string, att app.Attendance, override string, by app.Actor) error {
	if err := rules.AttendanceInput(att, by); err != nil {
		return err
	}
	return db.tx(ctx, "set attendance", func(tx *txn) error {
		a, err := getAppointment(ctx, tx, uid)
		if err != nil {
			return err
		}
		if a == nil {
			return apptNotFound()
		}
		note, entry, err := rules.Attendance(a, att, override, by, db.clock(ctx))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE appointments SET attendance = ?, attendance_note = ? WHERE uid = ?`, string(att), note, uid); err != nil {
			return err
		}
		return audit(ctx, tx, entry)
	})
}

// ApplyAppointments implements app.PortalStore: one booking after the
// other.
func (db *DB) ApplyAppointments(ctx context.Context, as []*app.Appointment, rcs []*app.Receipt) ([]bool, []error, error) {
	return app.ApplyEach(ctx, db.ApplyAppointment, as, rcs)
}

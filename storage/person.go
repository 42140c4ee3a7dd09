package storage

import (
	"context"
	"fmt"
	"strings"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

var _ app.PersonFinder = (*DB)(nil)

// FindPerson implements app.PersonFinder for an Art. 15 request
// (rules.FindPerson puts the person's data together from what the
// queries below find).
func (db *DB) FindPerson(ctx context.Context, q app.PersonQuery) (*app.PersonData, error) {
	return rules.FindPerson(ctx, q, db.now(), personSource{db})
}

// personSource is the SQLite store as the Art. 15 search asks it.
type personSource struct{ db *DB }

func (s personSource) CasesBorn(ctx context.Context, birthDate string) (refs, names []string, err error) {
	rows, err := s.db.q().QueryContext(ctx, `SELECT ref, applicant_name FROM cases WHERE birthdate = ?`, birthDate)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ref, name string
		if err := rows.Scan(&ref, &name); err != nil {
			return nil, nil, err
		}
		refs, names = append(refs, ref), append(names, name)
	}
	return refs, names, rows.Err()
}

func (s personSource) RefsByEmail(ctx context.Context, email string) ([]string, error) {
	return stringColumn(ctx, s.db.q(), `SELECT ref FROM cases WHERE lower(email) = ? AND email <> ''`, email)
}

func (s personSource) CaseAndNotes(ctx context.Context, ref string) (*app.Case, []app.Note, error) {
	c, err := getCase(ctx, s.db.q(), "WHERE c.ref = ?", ref)
	if err != nil || c == nil {
		return nil, nil, err
	}
	ns, err := s.db.Notes(ctx, ref)
	return c, ns, err
}

func (s personSource) CaseMessages(ctx context.Context, ref string) ([]app.Outgoing, error) {
	return s.db.CaseMessages(ctx, ref)
}

func (s personSource) appointments(ctx context.Context, where string, arg any) ([]app.Appointment, error) {
	rows, err := s.db.q().QueryContext(ctx, `SELECT `+apptCols+` FROM appointments WHERE `+where, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []app.Appointment
	for rows.Next() {
		a, err := scanAppointment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

func (s personSource) AppointmentsByEmail(ctx context.Context, email string) ([]app.Appointment, error) {
	return s.appointments(ctx, `lower(citizen_email) = ? AND citizen_email <> ''`, email)
}

func (s personSource) AppointmentsByPortalCase(ctx context.Context, portalCase string) ([]app.Appointment, error) {
	return s.appointments(ctx, `portal_case = ?`, portalCase)
}

func (s personSource) MailsFrom(ctx context.Context, email string) ([]app.ReviewItem, error) {
	rows, err := s.db.q().QueryContext(ctx, `SELECT `+reviewCols+` FROM review_items WHERE instr(lower(sender), ?) > 0 ORDER BY received_at`, strings.ToLower(email))
	if err != nil {
		return nil, fmt.Errorf("mails: %w", err)
	}
	defer rows.Close()
	var out []app.ReviewItem
	for rows.Next() {
		it, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	return out, rows.Err()
}

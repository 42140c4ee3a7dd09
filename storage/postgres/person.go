package postgres

import (
	"context"

	"amtstresen/app"
	"amtstresen/storage/internal/rules"
)

// FindPerson implements app.PersonFinder for an Art. 15 request
// (rules.FindPerson puts the person's data together from what the
// queries below find). What the role does not see is not found.
func (db *DB) FindPerson(ctx context.Context, q app.PersonQuery) (*app.PersonData, error) {
	d, err := rules.FindPerson(ctx, q, db.now(), personSource{db})
	return d, explain(err)
}

// personSource is the PostgreSQL store as the Art. 15 search asks it.
type personSource struct{ db *DB }

func (s personSource) CasesBorn(ctx context.Context, birthDate string) (refs, names []string, err error) {
	rows, err := s.db.q().Query(ctx, `SELECT ref, applicant_name FROM cases WHERE birthdate = $1`, txt(birthDate))
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
	return stringColumn(ctx, s.db.q(), `SELECT ref FROM cases WHERE lower(email) = $1 AND email <> ''`, txt(email))
}

func (s personSource) CaseAndNotes(ctx context.Context, ref string) (*app.Case, []app.Note, error) {
	c, err := getCase(ctx, s.db.q(), "WHERE c.ref = $1", ref)
	if err != nil || c == nil {
		return nil, nil, err
	}
	ns, err := notesOf(ctx, s.db.q(), c.ID)
	return c, ns, err
}

func (s personSource) CaseMessages(ctx context.Context, ref string) ([]app.Outgoing, error) {
	return s.db.CaseMessages(ctx, ref)
}

func (s personSource) appointments(ctx context.Context, where string, arg any) ([]app.Appointment, error) {
	rows, err := s.db.q().Query(ctx, `SELECT `+apptCols+` FROM appointments WHERE `+where, arg)
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
	return s.appointments(ctx, `lower(citizen_email) = $1 AND citizen_email <> ''`, txt(email))
}

func (s personSource) AppointmentsByPortalCase(ctx context.Context, portalCase string) ([]app.Appointment, error) {
	return s.appointments(ctx, `portal_case = $1`, txt(portalCase))
}

func (s personSource) MailsFrom(ctx context.Context, email string) ([]app.ReviewItem, error) {
	rows, err := s.db.q().Query(ctx, `SELECT `+reviewCols+` FROM review_items WHERE strpos(lower(sender), $1) > 0 ORDER BY received_at`, txt(email))
	if err != nil {
		return nil, err
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

package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"amtstresen/app"
)

var _ app.PersonFinder = (*DB)(nil)

// FindPerson implements app.PersonFinder for an Art. 15 request: the cases
// whose applicant has the name and birth date, or the e-mail address; the
// appointments booked with one of those addresses or for one of those
// portal cases; the notes and messages of the cases; and the mails from
// those addresses on the review list (metadata only). A name alone never
// matches appointments: two people can share it.
func (db *DB) FindPerson(ctx context.Context, q app.PersonQuery) (*app.PersonData, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	d := &app.PersonData{Query: q, Notes: map[string][]app.Note{}, At: db.now()}
	refs := map[string]bool{}
	if q.Name != "" && q.BirthDate != "" {
		want := app.FoldName(q.Name)
		rows, err := db.q().QueryContext(ctx, `SELECT ref, applicant_name FROM cases WHERE birthdate = ?`, q.BirthDate)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		for rows.Next() {
			var ref, name string
			if err := rows.Scan(&ref, &name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find person: %w", err)
			}
			if app.FoldName(name) == want {
				refs[ref] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
	}
	if q.Email != "" {
		if err := db.collect(ctx, refs, `SELECT ref FROM cases WHERE lower(email) = ? AND email <> ''`, strings.ToLower(q.Email)); err != nil {
			return nil, err
		}
	}
	emails := map[string]bool{}
	if q.Email != "" {
		emails[strings.ToLower(q.Email)] = true
	}
	portal := map[string]bool{}
	sorted := make([]string, 0, len(refs))
	for r := range refs {
		sorted = append(sorted, r)
	}
	sort.Strings(sorted)
	for _, ref := range sorted {
		c, err := getCase(ctx, db.q(), "WHERE c.ref = ?", ref)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		if c == nil {
			continue
		}
		d.Cases = append(d.Cases, c)
		if e := strings.ToLower(strings.TrimSpace(c.Applicant.Email)); e != "" {
			emails[e] = true
		}
		if c.PortalCase != "" {
			portal[c.PortalCase] = true
		}
		ns, err := db.Notes(ctx, ref)
		if err != nil {
			return nil, err
		}
		d.Notes[ref] = ns
	}
	seen := map[string]bool{}
	addAppts := func(query string, arg any) error {
		rows, err := db.q().QueryContext(ctx, `SELECT `+apptCols+` FROM appointments WHERE `+query, arg)
		if err != nil {
			return fmt.Errorf("find person: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAppointment(rows)
			if err != nil {
				return fmt.Errorf("find person: %w", err)
			}
			if !seen[a.UID] {
				seen[a.UID] = true
				d.Appointments = append(d.Appointments, *a)
			}
		}
		return rows.Err()
	}
	for e := range emails {
		if err := addAppts(`lower(citizen_email) = ? AND citizen_email <> ''`, e); err != nil {
			return nil, err
		}
		rows, err := db.q().QueryContext(ctx, `SELECT `+reviewCols+` FROM review_items WHERE instr(lower(sender), ?) > 0 ORDER BY received_at`, e)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		for rows.Next() {
			it, err := scanReview(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("find person: %w", err)
			}
			d.Mails = append(d.Mails, *it)
		}
		rows.Close()
	}
	for p := range portal {
		if err := addAppts(`portal_case = ?`, p); err != nil {
			return nil, err
		}
	}
	sort.Slice(d.Appointments, func(i, j int) bool { return d.Appointments[i].Start.Before(d.Appointments[j].Start) })
	return d, nil
}

func (db *DB) collect(ctx context.Context, into map[string]bool, query string, args ...any) error {
	rows, err := db.q().QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("find person: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("find person: %w", err)
		}
		into[s] = true
	}
	return rows.Err()
}

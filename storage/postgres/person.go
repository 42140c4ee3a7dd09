package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"amtstresen/app"
)

// FindPerson implements app.PersonFinder for an Art. 15 request: the cases
// whose applicant has the name and birth date, or the e-mail address; the
// appointments booked with one of those addresses or for one of those
// portal cases; the notes and messages of the cases; and the mails from
// those addresses on the review list (metadata only). A name alone never
// matches appointments: two people can share it. What the role does not
// see is not found.
func (db *DB) FindPerson(ctx context.Context, q app.PersonQuery) (*app.PersonData, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	d, err := db.findPerson(ctx, q)
	return d, explain(err)
}

func (db *DB) findPerson(ctx context.Context, q app.PersonQuery) (*app.PersonData, error) {
	d := &app.PersonData{Query: q, Notes: map[string][]app.Note{}, At: db.now()}
	refs := map[string]bool{}
	if q.Name != "" && q.BirthDate != "" {
		want := app.FoldName(q.Name)
		rows, err := db.q().Query(ctx, `SELECT ref, applicant_name FROM cases WHERE birthdate = $1`, txt(q.BirthDate))
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
		more, err := stringColumn(ctx, db.q(), `SELECT ref FROM cases WHERE lower(email) = $1 AND email <> ''`, txt(strings.ToLower(q.Email)))
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		for _, r := range more {
			refs[r] = true
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
		c, err := getCase(ctx, db.q(), "WHERE c.ref = $1", ref)
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
		ns, err := notesOf(ctx, db.q(), c.ID)
		if err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
		d.Notes[ref] = ns
	}
	seen := map[string]bool{}
	addAppts := func(query string, arg any) error {
		rows, err := db.q().Query(ctx, `SELECT `+apptCols+` FROM appointments WHERE `+query, arg)
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
		if err := addAppts(`lower(citizen_email) = $1 AND citizen_email <> ''`, txt(e)); err != nil {
			return nil, err
		}
		rows, err := db.q().Query(ctx, `SELECT `+reviewCols+` FROM review_items WHERE strpos(lower(sender), $1) > 0 ORDER BY received_at`, txt(e))
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
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find person: %w", err)
		}
	}
	for p := range portal {
		if err := addAppts(`portal_case = $1`, txt(p)); err != nil {
			return nil, err
		}
	}
	sort.Slice(d.Appointments, func(i, j int) bool { return d.Appointments[i].Start.Before(d.Appointments[j].Start) })
	return d, nil
}

package postgres

import (
	"context"
	"fmt"
	"slices"
	gosync "sync"
	"time"
)

// viewer is what the session's login role may see of the queue by the
// rules of the policies on cases (migration 0001), read once per query.
// The queue names the visible offices in its own conditions, so that
// PostgreSQL reads their index ranges only: the policies are tested row
// by row after the index, and a range of an office the role cannot see
// would be read to its end with every row refused (half a second on a
// million cases). The policies still decide; these conditions only say
// the same where the planner can use them.
type viewer struct {
	all     bool     // administrators and the service accounts
	lead    bool     // also every case with an open routing question
	offices []string // the login's offices; "" (undecided) with the Kreisverwaltung
}

// viewerTTL is how long a DB keeps the viewer it read. Every page,
// count and search needs it, and reading it was a round trip of its own
// (10,600 of 34,000 statements of 50 clerks in a minute; on an office
// network each costs the line's latency too). A grant shows in the
// queue's conditions after at most this long; a revocation at once, as
// the policies decide every row whatever the conditions say.
var viewerTTL = 15 * time.Second

// viewerCache is the viewer a DB read last (shared by its batch views).
type viewerCache struct {
	mu   gosync.Mutex
	v    viewer
	read time.Time
}

func (db *DB) viewer(ctx context.Context) (viewer, error) {
	c := db.viewers
	c.mu.Lock()
	v, fresh := c.v, time.Since(c.read) < viewerTTL // never read: the zero time, long ago
	c.mu.Unlock()
	if fresh {
		return v, nil
	}
	v = viewer{} // not the stale one's slice
	err := db.q().QueryRow(ctx, `SELECT pg_has_role('amtstresen_admin', 'MEMBER') OR pg_has_role('amtstresen_sync', 'MEMBER')
		OR pg_has_role('amtstresen_purge', 'MEMBER'), pg_has_role('amtstresen_lead', 'MEMBER'), my_offices()`).Scan(&v.all, &v.lead, &v.offices)
	if err != nil {
		return v, fmt.Errorf("role: %w", err)
	}
	if slices.Contains(v.offices, "kreis") {
		v.offices = append(v.offices, "")
	}
	c.mu.Lock()
	c.v, c.read = v, time.Now()
	c.mu.Unlock()
	return v, nil
}

// arm says how the queue reads the range of office o: whole, only its
// cases with an open routing question (a lead's view of another office),
// or not at all.
func (v viewer) arm(o string) (read bool, routingOnly bool) {
	switch {
	case v.all || slices.Contains(v.offices, o):
		return true, false
	case v.lead && o == "":
		return true, false
	case v.lead:
		return true, true
	}
	return false, false
}

// cond is the visibility as a condition on cases ("" for all).
func (q *query) visible(v viewer) string {
	if v.all {
		return ""
	}
	c := "office = ANY (" + q.arg(v.offices) + ")"
	if v.lead {
		c += " OR office = '' OR 'routing-unclear' = ANY (flags)"
	}
	return "(" + c + ")"
}

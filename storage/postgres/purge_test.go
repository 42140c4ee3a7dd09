package postgres

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"amtstresen/storage/storetest"
)

// TestPurgeLeavesNoRow: the contract's purge of a case that keeps a
// unique marker in every place a case keeps personal data
// (storetest.PurgeCase), run as a login with the purge's rights; then the
// cluster's superuser, who sees past every policy, finds the marker in no
// row of any table (as text, and hex-encoded in the attachments' files).
// Before the purge it is in the cases, the documents, the search rows and
// the files: the search would otherwise prove nothing.
func TestPurgeLeavesNoRow(t *testing.T) {
	ctx := context.Background()
	tdb := newDB(t)
	st := tdb.allLogin().open(t)
	super := tdb.super()
	marker := "Zqxpgpurge" + hex.EncodeToString([]byte(tdb.name))
	forms := []string{strings.ToLower(marker), hex.EncodeToString([]byte(marker))}
	tables := func() []string {
		rows, err := super.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'amtstresen' AND c.relkind = 'r' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}()
	holding := func() []string {
		var hits []string
		for _, tb := range tables {
			for _, f := range forms {
				if n := count(t, super, "SELECT count(*) FROM amtstresen."+tb+" x WHERE lower(x::text) LIKE '%' || $1 || '%'", f); n > 0 {
					hits = append(hits, tb+": "+f)
				}
			}
		}
		return hits
	}
	storetest.PurgeCase(t, st, marker, func(before bool) {
		hits := holding()
		if before {
			for _, want := range []string{"cases: " + forms[0], "case_docs: " + forms[0], "case_search: " + forms[0], "search_words: " + forms[0], "blobs: " + forms[1]} {
				if !strings.Contains(strings.Join(hits, "\n"), want) {
					t.Fatalf("before the purge the marker is not where expected (%s); found: %v", want, hits)
				}
			}
			return
		}
		if len(hits) > 0 {
			t.Fatalf("after the purge the marker is still in: %v", hits)
		}
	})
}

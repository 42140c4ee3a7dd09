package storage

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"

	"amtstresen/storage/internal/casetext"
)

// ftsDoc is the text a case is found by (casetext.Doc, shared with
// the PostgreSQL adapter; rules.NewCase.SearchDoc builds it).
type ftsDoc = casetext.Doc

// notTokenRune reports the separators of the unicode61 tokenizer.
func notTokenRune(r rune) bool { return casetext.Separator(r) }

// matchQuery turns what a clerk typed into an FTS5 query that matches
// cases containing every word, each as a prefix (search as you type).
// Each word is a quoted string, so FTS5 syntax in the input (quotes, *,
// OR, NEAR, parentheses, column filters) is plain text. The result is ""
// when the input has no words.
func matchQuery(q string) string {
	words := strings.FieldsFunc(norm.NFC.String(q), notTokenRune)
	var b strings.Builder
	for _, w := range words {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		// Words hold no quotes (they are separators), but be strict.
		b.WriteString(`"` + strings.ReplaceAll(w, `"`, `""`) + `"*`)
	}
	return b.String()
}

// insertFTS writes the search row of a case.
func insertFTS(ctx context.Context, q queryer, id int64, d ftsDoc) error {
	_, err := q.ExecContext(ctx, `INSERT INTO cases_fts (rowid, ref, applicant, service, place, fields, alt) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, d.Ref, d.Applicant, d.Service, d.Place, d.Fields, d.Alt)
	if err != nil {
		return fmt.Errorf("index case: %w", err)
	}
	return nil
}

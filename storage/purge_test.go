package storage

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amtstresen/storage/storetest"
)

// markerForms are the byte strings under which a marker can sit in the
// files: as written, folded to lower case (the search index keeps folded
// tokens), and the lower-case tail (index pages store a term as the suffix
// after the prefix it shares with the term before it).
func markerForms(m string) []string {
	l := strings.ToLower(m)
	return []string{m, l, l[len(l)-12:]}
}

// filesContaining returns the files under dir that contain one of the forms.
func filesContaining(t *testing.T, dir string, forms []string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, f := range forms {
			if bytes.Contains(b, []byte(f)) {
				hits = append(hits, filepath.Base(p)+": "+f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func uniqueMarker(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "Zqxmarker" + hex.EncodeToString(b)
}

// TestPurgeLeavesNoByte: the contract's purge of a case that keeps a
// unique marker in every place a case keeps personal data
// (storetest.PurgeCase), and then the marker is in no byte of any file of
// the database folder: the main file, the WAL, the shared-memory file,
// with the database open and after it is closed. Attachments are stored
// inside the database (by SHA-256), so those are the attachment files.
func TestPurgeLeavesNoByte(t *testing.T) {
	db := openTest(t)
	dir := filepath.Dir(db.Path())
	marker := uniqueMarker(t)
	forms := markerForms(marker)
	storetest.PurgeCase(t, db, marker, func(before bool) {
		hits := filesContaining(t, dir, forms)
		if before {
			// The control: before the purge the marker is in the
			// files, in every form the search looks for.
			for _, f := range forms {
				if !strings.Contains(strings.Join(hits, "\n"), ": "+f) {
					t.Fatalf("before the purge %q is in no file (found: %v); the search would prove nothing", f, hits)
				}
			}
			return
		}
		if len(hits) > 0 {
			t.Fatalf("after the purge, with the database open, the marker is still in: %v", hits)
		}
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, dir, forms); len(hits) > 0 {
		t.Fatalf("after the purge and close the marker is still in: %v", hits)
	}
}

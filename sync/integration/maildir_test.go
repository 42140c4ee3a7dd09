package integration

import (
	"os"
	"path/filepath"
	"strings"
)

// removeIndexes deletes Dovecot's index and UID list of the INBOX maildir
// and moves its mails back to new/, as after a rebuilt server.
func removeIndexes(maildir string) error {
	ents, err := os.ReadDir(maildir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "dovecot") {
			if err := os.RemoveAll(filepath.Join(maildir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

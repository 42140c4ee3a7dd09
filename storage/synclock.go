package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"amtstresen/app"
)

// errLockHeld is what tryLock returns while another process holds the lock.
var errLockHeld = errors.New("lock held")

// SyncLockPath is the lock file of the one sync per database, next to it.
func (db *DB) SyncLockPath() string { return db.path + ".sync-lock" }

// LockSync implements app.PortalStore with a lock file next to the
// database (flock on Linux, an exclusive open on Windows): the operating
// system releases it when the process ends, also when it is killed, so a
// crashed sync never blocks the next one. A second sync waits up to wait
// and then gets ECONFLICT with a German message.
func (db *DB) LockSync(ctx context.Context, wait time.Duration) (func(), error) {
	path := db.SyncLockPath()
	deadline := time.Now().Add(wait)
	for {
		f, err := tryLock(path)
		if err == nil {
			return func() { unlockFile(f) }, nil
		}
		if !errors.Is(err, errLockHeld) {
			return nil, &app.Error{Code: app.EINTERNAL, Err: fmt.Errorf("sync lock: %w", err), Message: fmt.Sprintf(
				"Die Sperrdatei %s neben der Datenbank kann nicht angelegt werden. Bitte prüfen, ob der Ordner der Datenbank beschreibbar ist.", path)}
		}
		if !time.Now().Before(deadline) {
			return nil, app.Errorf(app.ECONFLICT, "Der Portal-Abgleich läuft bereits (ein anderes Programm gleicht gerade dieselbe Datenbank ab). Dieser Lauf wurde übersprungen; es geht nichts verloren, der laufende Abgleich übernimmt alles.")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(100*time.Millisecond, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// lockFileMode: the lock file holds nothing, but lives beside personal data.
const lockFileMode os.FileMode = 0o600

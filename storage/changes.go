package storage

import (
	"context"
	"database/sql"
	"time"

	"amtstresen/app"
)

var _ app.ChangeFeed = (*DB)(nil)

// changePoll is how often Watch asks SQLite whether the file changed.
var changePoll = 200 * time.Millisecond

// Watch implements app.ChangeFeed for the SQLite file: every changePoll
// it asks, on a connection of its own, whether any other connection
// committed since (PRAGMA data_version changes then: another program on
// the same file, such as the nightly sync, or this program's own writes
// on its other connections), and announces app.FeedAny. SQLite does not
// say what changed; the window re-reads what it shows.
func (db *DB) Watch(ctx context.Context, fn func([]app.FeedEvent)) {
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var last int64 = -1
	t := time.NewTicker(changePoll)
	defer t.Stop()
	for {
		if conn == nil {
			c, err := db.db.Conn(ctx)
			if err == nil {
				conn = c
			}
		}
		if conn != nil {
			var v int64
			if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
				// The file was closed or is busy being replaced
				// (restore): try again with a new connection.
				conn.Close()
				conn, last = nil, -1
			} else {
				// data_version is per connection: a new connection
				// starts a new count, and only changes seen on the same
				// one are compared.
				if last >= 0 && v != last {
					fn([]app.FeedEvent{{Kind: app.FeedAny}})
				}
				last = v
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Package mailbox is the sync's access to the portal's IMAP mailbox
// (emersion/go-imap v2), one concern per file: config.go checks [imap]
// and finds the password, dial.go connects and logs in under the TLS
// rules, caps.go says what the server can, select.go opens a folder,
// list.go lists what is new, fetch.go holds the one FETCH loop (whole
// mails, a mail streamed, headers), move.go files mails (MOVE, or COPY
// and UID EXPUNGE), create.go creates folders, expunge.go removes exactly
// named mails, search.go searches, and watchdog.go ends a connection
// whose server has gone silent.
//
// Every error is an *app.Error with a German message that says what to
// do. It imports app and sync/internal/mailconn (the rules every mail
// connection of the app shares), nothing of the store or of deliveries.
package mailbox

import (
	"errors"
	gosync "sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"amtstresen/app"
)

// Conn is a logged-in connection to the mailbox. Its commands may run
// from several goroutines at once (go-imap pipelines them).
type Conn struct {
	cl   *imapclient.Client
	cfg  *app.IMAPConfig
	wd   *watchdog // nil: none
	stop gosync.Once
	// selected is the folder opened last (named in messages).
	selected string
}

// Ref is a mail in a folder as listed before download.
type Ref struct {
	UID  uint32
	Size int64
	Date time.Time // the server's internal date: when it received the mail
}

// Client is the go-imap client, for what this package has no method for
// (tests change a mailbox behind the sync's back with it).
func (c *Conn) Client() *imapclient.Client { return c.cl }

// Close ends the connection (at once, also while commands wait). It may
// be called more than once.
func (c *Conn) Close() error {
	c.stop.Do(c.wd.stop)
	return c.cl.Close()
}

// Logout says goodbye to the server.
func (c *Conn) Logout() {
	done := c.wd.begin()
	c.cl.Logout().Wait()
	done()
}

// TimedOut reports whether the watchdog ended the connection because the
// server stayed silent longer than the command timeout.
func (c *Conn) TimedOut() bool { return c.wd.fired() }

// Refused reports whether err is the server's refusal (NO or BAD) of a
// command, rather than a broken connection.
func Refused(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie)
}

func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}

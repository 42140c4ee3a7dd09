package mailbox

import (
	"errors"

	"github.com/emersion/go-imap/v2"
)

// Ensure creates the folders that are missing and returns their names.
func (c *Conn) Ensure(names ...string) (created []string, err error) {
	for _, name := range names {
		done := c.wd.begin()
		list, err := c.cl.List("", name, nil).Collect()
		done()
		if err != nil {
			return created, ServerError(c.cfg, "LIST", err)
		}
		found := false
		for _, l := range list {
			if l.Mailbox == name {
				found = true
			}
		}
		if found {
			continue
		}
		done = c.wd.begin()
		err = c.cl.Create(name, nil).Wait()
		done()
		if err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
				continue
			}
			return created, ServerError(c.cfg, "CREATE "+name, err)
		}
		created = append(created, name)
	}
	return created, nil
}

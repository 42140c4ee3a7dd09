package mailbox

import "github.com/emersion/go-imap/v2"

// SearchHeader returns the UIDs of the mails of the selected folder whose
// header field key contains value.
func (c *Conn) SearchHeader(key, value string) ([]uint32, error) {
	return c.search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: key, Value: value}}}, "UID SEARCH "+c.selected)
}

// SearchAll returns the UIDs of all mails of the selected folder, named
// one by one.
func (c *Conn) SearchAll() ([]uint32, error) {
	return c.search(&imap.SearchCriteria{}, "UID SEARCH")
}

func (c *Conn) search(crit *imap.SearchCriteria, op string) ([]uint32, error) {
	done := c.wd.begin()
	data, err := c.cl.UIDSearch(crit, nil).Wait()
	done()
	if err != nil {
		return nil, ServerError(c.cfg, op, err)
	}
	uids := data.AllUIDs()
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out, nil
}

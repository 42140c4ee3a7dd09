package mailbox

import (
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// List returns UID, size and internal date of every mail of the selected
// folder above the UID after, in UID order.
func (c *Conn) List(after uint32) ([]Ref, error) {
	var set imap.UIDSet
	set.AddRange(imap.UID(after+1), 0)
	var refs []Ref
	var r Ref
	err := c.fetchEach(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true},
		func(d imapclient.FetchItemData) error {
			switch d := d.(type) {
			case imapclient.FetchItemDataUID:
				r.UID = uint32(d.UID)
			case imapclient.FetchItemDataRFC822Size:
				r.Size = d.Size
			case imapclient.FetchItemDataInternalDate:
				r.Date = d.Time
			}
			return nil
		},
		func() {
			// "n:*" also returns the last mail when n is above every UID.
			if r.UID > after {
				refs = append(refs, r)
			}
			r = Ref{}
		})
	if err != nil {
		return nil, err
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].UID < refs[j].UID })
	return refs, nil
}

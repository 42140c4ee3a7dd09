package mailbox

import "github.com/emersion/go-imap/v2"

// Selected is what SELECT tells about a folder.
type Selected struct {
	UIDValidity uint32
	NumMessages uint32
}

// Select opens a folder (read-only: no flag changes, no expunge).
func (c *Conn) Select(name string, readOnly bool) (*Selected, error) {
	done := c.wd.begin()
	sel, err := c.cl.Select(name, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	done()
	if err != nil {
		return nil, ServerError(c.cfg, "SELECT "+name, err)
	}
	c.selected = name
	return &Selected{UIDValidity: sel.UIDValidity, NumMessages: sel.NumMessages}, nil
}

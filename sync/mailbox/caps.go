package mailbox

import "github.com/emersion/go-imap/v2"

// CanMove reports whether the server has MOVE (RFC 6851).
func (c *Conn) CanMove() bool { return c.cl.Caps().Has(imap.CapMove) }

// CanUIDExpunge reports whether the server has UIDPLUS (RFC 4315): UID
// EXPUNGE of exactly named mails, COPYUID.
func (c *Conn) CanUIDExpunge() bool { return c.cl.Caps().Has(imap.CapUIDPlus) }

// CanIdle reports whether the server has IDLE (RFC 2177).
func (c *Conn) CanIdle() bool { return c.cl.Caps().Has(imap.CapIdle) }

package sync

import (
	"context"

	"amtstresen/app"
)

// Store is everything the portal sync needs of a store, handed in at
// construction (New). An adapter that implements it gets every guarantee
// the sync gives; nothing is asked of a store by a type assertion.
// storage.DB implements it (checked in storage's tests).
type Store interface {
	// app.Store plus the portal sync's own: batches in one transaction,
	// receipts by content, unconfirmed withdrawals, messages waiting for
	// their case, where mails were filed and what the purge left to do on
	// the server, the one-sync lock, cases prepared on all cores.
	app.PortalStore
	// Durable returns when every change committed so far is on disk. The
	// sync files mails on the server only after it: a power cut must not
	// take back what the mailbox already shows as taken in. A store whose
	// commits are on disk when they return returns nil at once.
	Durable(ctx context.Context) error
}

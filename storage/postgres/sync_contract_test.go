package postgres

import portalsync "amtstresen/sync"

// The portal sync takes what it names (sync.Store) at construction; DB is
// written for it, as the SQLite store is.
var _ portalsync.Store = (*DB)(nil)

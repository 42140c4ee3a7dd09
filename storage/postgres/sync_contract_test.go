package postgres

import portalsync "amtstresen/sync"

// The portal sync takes what it names (sync.Store) at construction; DB is
// written for it, as the SQLite store is. The shared journal
// (sync.SharedStore) is SQLite's only: an office network on PostgreSQL
// shares the database instead.
var _ portalsync.Store = (*DB)(nil)

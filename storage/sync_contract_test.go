package storage

import portalsync "amtstresen/sync"

// The sync names what it needs of a store (sync.Store) and takes it at
// construction. DB is the adapter written for it: were a method renamed or
// its signature changed, this stops compiling instead of the sync doing
// without.
var _ portalsync.Store = (*DB)(nil)

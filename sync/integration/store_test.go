package integration

import (
	"testing"

	"amtstresen/app"
	"amtstresen/sync/internal/memstore"
)

// openStore opens the store the integration tests run against.
func openStore(t testing.TB, path string) app.Store {
	t.Helper()
	return memstore.New()
}

//go:build screenshots

package main

import (
	"context"

	"amtstresen/app"
	"amtstresen/storage"
)

// openStore opens the SQLite database the window shows.
func openStore(ctx context.Context, path string, reg *app.Registry) (*storage.DB, error) {
	return storage.Open(ctx, path, reg)
}

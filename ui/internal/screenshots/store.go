//go:build screenshots

package main

import (
	"context"

	"amtstresen/app"
	"amtstresen/ui/internal/memstore"
)

// openStore opens the store the window shows.
func openStore(ctx context.Context, path string, reg *app.Registry) (app.Store, error) {
	return memstore.New(reg), nil
}

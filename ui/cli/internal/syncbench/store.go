package main

import (
	"context"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/sync"
)

const storeName = "Speicher: SQLite (storage, WAL)"

func openStore(path string) (sync.Store, func(), error) {
	db, err := storage.Open(context.Background(), path, app.Default())
	if err != nil {
		return nil, nil, err
	}
	return db, func() { db.Close() }, nil
}

package main

import (
	"context"

	"amtstresen/app"
	"amtstresen/storage"
)

const storeName = "Speicher: SQLite (storage, WAL)"

func openStore(path string) (app.IntakeStore, func(), error) {
	db, err := storage.Open(context.Background(), path, app.Default())
	if err != nil {
		return nil, nil, err
	}
	return db, func() { db.Close() }, nil
}

package app

import (
	"context"
	"errors"
	"time"
)

// Offline at the counter: when the shared store (PostgreSQL) cannot be
// reached, a walk-in application is kept on this PC (OfflineOutbox, a
// local SQLite file) under a provisional reference printed on the
// citizen's receipt, and written to the shared store when it is back
// (ReplayOffline). The case's idempotency key makes the replay safe to
// repeat: nothing is lost, nothing written twice.

// EUNAVAILABLE: the database server cannot be reached (network, server
// down or restarting); nothing was changed. A counter may keep a walk-in
// application in its OfflineOutbox meanwhile.
const EUNAVAILABLE = "unavailable"

// Unavailable reports whether err says the server is unreachable.
func Unavailable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == EUNAVAILABLE
}

// OfflineState is where a kept application stands.
type OfflineState string

const (
	OfflineWaiting  OfflineState = "waiting"  // not yet written to the shared store
	OfflineWritten  OfflineState = "written"  // written; FinalRef is its reference
	OfflineConflict OfflineState = "conflict" // the shared store refused it; Message says why
)

// OfflineEntry is a walk-in application kept on this PC.
type OfflineEntry struct {
	Key            string // the case's idempotency key
	ProvisionalRef string // on the receipt ("ZEL-2026-V-3F9A1C")
	Case           *NewCase
	Office         OfficeKey
	Clerk          string
	HeldAt         time.Time
	State          OfflineState
	FinalRef       string    // OfflineWritten
	Message        string    // OfflineConflict: German, for the clerk
	DoneAt         time.Time // written or refused
}

// OfflineOutbox keeps walk-in applications while the shared store is
// unreachable. ui/cli hands it to the window (ui.Options.Offline).
type OfflineOutbox interface {
	// Hold keeps nc (its IdempotencyKey set) and returns the entry with
	// its provisional reference; holding the same key again returns the
	// entry already kept.
	Hold(ctx context.Context, nc *NewCase, office OfficeKey, clerk string) (*OfflineEntry, error)
	// Entries lists the entries in the state ("" all), oldest first.
	Entries(ctx context.Context, state OfflineState) ([]OfflineEntry, error)
	// Written records the reference the shared store gave the entry.
	Written(ctx context.Context, key, finalRef string) error
	// Refused records why the shared store refused the entry.
	Refused(ctx context.Context, key, message string) error
}

// OfflineResult is what ReplayOffline did with one entry.
type OfflineResult struct {
	Entry   OfflineEntry
	Case    *Case // written (also when the store had it already)
	Created bool  // false: the store had it from an earlier, interrupted replay
	Err     error // refused (OfflineConflict)
}

// ReplayOffline writes the waiting entries to st (the clerk's scoped
// store), oldest first, each with its idempotency key and provisional
// reference (which then still finds the case). It stops at the first
// EUNAVAILABLE (the server went away again; the rest stays waiting) and
// returns that error with the results so far. A refusal (invalid, not
// allowed, a conflict) is recorded on the entry with its German message
// and the replay goes on.
func ReplayOffline(ctx context.Context, ob OfflineOutbox, st CaseStore) ([]OfflineResult, error) {
	es, err := ob.Entries(ctx, OfflineWaiting)
	if err != nil {
		return nil, err
	}
	var out []OfflineResult
	for _, e := range es {
		nc := *e.Case
		nc.ProvisionalRef = e.ProvisionalRef
		c, created, err := st.CreateCase(ctx, &nc, nil)
		if err != nil {
			if Unavailable(err) || ctx.Err() != nil {
				return out, err
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Code == EINTERNAL {
				// Not a refusal the clerk can act on (a bug, a full
				// disk on the server): the entry waits for the next try.
				return out, err
			}
			if rerr := ob.Refused(ctx, e.Key, ErrorMessage(err)); rerr != nil {
				return out, rerr
			}
			e.State, e.Message = OfflineConflict, ErrorMessage(err)
			out = append(out, OfflineResult{Entry: e, Err: err})
			continue
		}
		if err := ob.Written(ctx, e.Key, c.Ref); err != nil {
			return out, err
		}
		e.State, e.FinalRef = OfflineWritten, c.Ref
		out = append(out, OfflineResult{Entry: e, Case: c, Created: created})
	}
	return out, nil
}

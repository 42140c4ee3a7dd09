// Package gctune holds the process-wide setting of the garbage collector
// while a portal sync runs. It belongs to the program (ui/cli and the
// benchmark programs beside it), not to the sync library: the sync only
// calls the hook it is given (sync.Syncer.OnRun).
package gctune

import (
	"os"
	"runtime/debug"
	gosync "sync"
)

// Relax lets the heap grow to three times its live size (GOGC=200) while
// a sync runs, until the last one ends. A sync allocates fast (the mails,
// their parts); at the default of 100 the collector ran every few
// megabytes, and its assist work fell on the one goroutine that writes
// too: the full sync of make bench-sync took 5–15 % longer. An explicit
// GOGC in the environment is left alone.
func Relax() (restore func()) {
	mu.Lock()
	defer mu.Unlock()
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	if users == 0 {
		prev = debug.SetGCPercent(200)
	}
	users++
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if users--; users == 0 {
			debug.SetGCPercent(prev)
		}
	}
}

var (
	mu    gosync.Mutex
	users int
	prev  int
)

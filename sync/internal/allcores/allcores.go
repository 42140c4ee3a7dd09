// Package allcores runs a function over a slice on every core: the sync
// parses, hashes and prepares a batch of mails this way, so that the one
// goroutine that writes to the store only writes.
package allcores

import (
	"runtime"
	gosync "sync"
)

// Do calls fn for every item, on as many goroutines as there are cores,
// and returns when all are done.
func Do[T any](items []T, fn func(T)) {
	var wg gosync.WaitGroup
	next := make(chan T)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range next {
				fn(it)
			}
		}()
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	wg.Wait()
}

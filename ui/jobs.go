package ui

import (
	gosync "sync"
	"time"
)

// background runs work off the UI goroutine and knows when all of it is
// done (tests and the screenshot tool wait for it). Work reaches widgets
// only through fyne.Do.
type background struct {
	wg gosync.WaitGroup
}

// run starts fn on its own goroutine.
func (b *background) run(fn func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn()
	}()
}

// wait blocks until all started work (and pending debounced calls) finished.
func (b *background) wait() { b.wg.Wait() }

// debouncer calls a function once input has been quiet for a while, so a
// search runs once per pause in typing and not once per key.
type debouncer struct {
	bg    *background
	delay time.Duration
	mu    gosync.Mutex
	t     *time.Timer
}

func newDebouncer(bg *background, delay time.Duration) *debouncer {
	return &debouncer{bg: bg, delay: delay}
}

// call schedules fn, replacing a pending call. fn runs on a timer goroutine.
func (d *debouncer) call(fn func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.t != nil && d.t.Stop() {
		d.bg.wg.Done()
	}
	d.bg.wg.Add(1)
	d.t = time.AfterFunc(d.delay, func() {
		defer d.bg.wg.Done()
		fn()
	})
}

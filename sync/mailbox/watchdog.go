package mailbox

import (
	"net"
	"sync/atomic"
	"time"
)

// watchdog ends a connection whose server has gone silent while a command
// waits for it: a frozen server (SIGSTOP, a dead link without a reset)
// would otherwise hold the sync for minutes (go-imap waits up to five
// minutes inside a literal) or, between responses, for ever. Every byte
// from the server counts as life; the time runs only while a command is
// outstanding (begin … done), never while the sync works on its own. The
// zero and nil watchdog watch nothing.
type watchdog struct {
	limit time.Duration
	last  atomic.Int64 // unix nanoseconds of the last sign of life
	busy  atomic.Int32 // commands waiting for the server
	hit   atomic.Bool
	conn  atomic.Pointer[net.Conn]
	quit  chan struct{}
}

func newWatchdog(limit time.Duration) *watchdog {
	w := &watchdog{limit: limit, quit: make(chan struct{})}
	w.last.Store(time.Now().UnixNano())
	tick := max(limit/4, 10*time.Millisecond)
	go func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				return
			case now := <-t.C:
				if w.busy.Load() > 0 && now.UnixNano()-w.last.Load() > int64(w.limit) {
					if c := w.conn.Load(); c != nil && w.hit.CompareAndSwap(false, true) {
						(*c).Close()
					}
				}
			}
		}
	}()
	return w
}

// watch wraps the connection: reads are signs of life, and it is what
// the watchdog closes.
func (w *watchdog) watch(c net.Conn) net.Conn {
	if w == nil {
		return c
	}
	wc := &watchedConn{Conn: c, w: w}
	var nc net.Conn = wc
	w.conn.Store(&nc)
	return wc
}

// begin marks a command as waiting for the server; done ends that.
func (w *watchdog) begin() (done func()) {
	if w == nil {
		return func() {}
	}
	if w.busy.Add(1) == 1 {
		w.last.Store(time.Now().UnixNano())
	}
	return func() { w.busy.Add(-1) }
}

// fired reports whether the watchdog ended the connection.
func (w *watchdog) fired() bool { return w != nil && w.hit.Load() }

func (w *watchdog) stop() {
	if w != nil {
		close(w.quit)
	}
}

type watchedConn struct {
	net.Conn
	w *watchdog
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.w.last.Store(time.Now().UnixNano())
	}
	return n, err
}

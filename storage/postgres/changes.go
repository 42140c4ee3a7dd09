package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"amtstresen/app"
)

var _ app.ChangeFeed = (*DB)(nil)

// Timings of the change feed (tests shorten them).
var (
	// feedPing: how long a listening connection may stay silent before it
	// is checked; a server that went away without a word (cable, crash of
	// the machine) is noticed within feedPing+feedPingTimeout.
	feedPing        = 2 * time.Second
	feedPingTimeout = 2 * time.Second
	// Reconnecting waits feedBackoffMin, doubling up to feedBackoffMax
	// (±20 %, so that dozens of counters do not knock all at once).
	feedBackoffMin = 250 * time.Millisecond
	feedBackoffMax = 5 * time.Second
	// feedGather: notifications arriving this close after one go into the
	// same batch (a forward announces two offices, a sync block hundreds
	// of cases).
	feedGather = 5 * time.Millisecond
	// feedBatchMax bounds a batch.
	feedBatchMax = 1000
)

// Watch implements app.ChangeFeed with LISTEN on a connection of its own
// (outside the pool, as the session's login role), held while ctx lives.
// The server's announcements carry ids and office keys only (0002_notify):
// what the window shows it re-reads through its own, row-level-secured
// queries. A lost connection is announced as app.FeedOffline and retried
// with backoff; when it is back, app.FeedOnline and app.FeedAny (the
// announcements in between are lost with the connection).
func (db *DB) Watch(ctx context.Context, fn func([]app.FeedEvent)) {
	cfg := db.pool.Config().ConnConfig.Copy()
	online := true // a window starts as connected: Open has just succeeded
	delay := feedBackoffMin
	for ctx.Err() == nil {
		conn, err := listenConn(ctx, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if online {
				db.log.Warn("change feed: server unreachable", "err", err)
				fn([]app.FeedEvent{{Kind: app.FeedOffline, Err: explainConnect(db.pool.Config(), err)}})
				online = false
			}
			jitter := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
			select {
			case <-ctx.Done():
				return
			case <-time.After(jitter):
			}
			delay = min(2*delay, feedBackoffMax)
			continue
		}
		delay = feedBackoffMin
		if !online {
			db.log.Info("change feed: server back")
			fn([]app.FeedEvent{{Kind: app.FeedOnline}, {Kind: app.FeedAny}})
			online = true
		}
		err = listen(ctx, conn, fn)
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		// Told at once; the first reconnect follows without a pause (a
		// restart of the server may take only a moment).
		db.log.Warn("change feed: connection lost", "err", err)
		fn([]app.FeedEvent{{Kind: app.FeedOffline, Err: unreachable(err)}})
		online = false
	}
}

// listenConn connects and listens on the channels of 0002_notify.
func listenConn(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, ch := range []string{ChannelCase, ChannelAppointment, ChannelReview, ChannelOutbox} {
		if _, err := conn.Exec(cctx, "LISTEN "+ch); err != nil {
			conn.Close(context.Background())
			return nil, err
		}
	}
	return conn, nil
}

// listen hands the notifications to fn in batches until the connection
// fails (returned) or ctx ends.
func listen(ctx context.Context, conn *pgx.Conn, fn func([]app.FeedEvent)) error {
	for {
		n, timedOut, err := wait(ctx, conn, feedPing)
		if err != nil {
			return err
		}
		if timedOut {
			pctx, cancel := context.WithTimeout(ctx, feedPingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			continue
		}
		batch := []app.FeedEvent{decodeChange(n)}
		for len(batch) < feedBatchMax {
			n, timedOut, err = wait(ctx, conn, feedGather)
			if err != nil || timedOut {
				break
			}
			batch = append(batch, decodeChange(n))
		}
		fn(dedupe(batch))
		if err != nil {
			return err
		}
	}
}

// wait waits up to d for a notification; timedOut when none came (the
// connection stays usable: pgx only sets a deadline on the socket).
func wait(ctx context.Context, conn *pgx.Conn, d time.Duration) (n *pgconn.Notification, timedOut bool, err error) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	n, err = conn.WaitForNotification(wctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if (errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)) && !conn.IsClosed() {
			return nil, true, nil
		}
		return nil, false, err
	}
	return n, false, nil
}

// decodeChange reads a notification's payload; one it cannot read (a
// newer server version's) still says that something changed.
func decodeChange(n *pgconn.Notification) app.FeedEvent {
	switch n.Channel {
	case ChannelCase:
		var c CaseChange
		if json.Unmarshal([]byte(n.Payload), &c) == nil && c.ID != 0 {
			return app.FeedEvent{Kind: app.FeedCase, CaseID: c.ID, Office: app.OfficeKey(c.Office), RoutingOpen: c.RoutingOpen,
				Known: c.Before != nil || c.After != nil, Before: c.Before.app(), After: c.After.app()}
		}
	case ChannelAppointment:
		var a struct {
			UID    string `json:"uid"`
			Office string `json:"office"`
		}
		if json.Unmarshal([]byte(n.Payload), &a) == nil && a.UID != "" {
			return app.FeedEvent{Kind: app.FeedAppointment, UID: a.UID, Office: app.OfficeKey(a.Office)}
		}
	case ChannelOutbox:
		var o OutboxChange
		if json.Unmarshal([]byte(n.Payload), &o) == nil && o.Case != 0 {
			return app.FeedEvent{Kind: app.FeedMessage, CaseID: o.Case, Office: app.OfficeKey(o.Office)}
		}
	case ChannelReview:
		var r struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal([]byte(n.Payload), &r) == nil && r.ID != 0 {
			return app.FeedEvent{Kind: app.FeedReview, ReviewID: r.ID}
		}
	}
	return app.FeedEvent{Kind: app.FeedAny}
}

// dedupe drops repeated announcements of a batch (a case written by
// several statements of one transaction), keeping the first's place and
// Before and the last's After.
func dedupe(batch []app.FeedEvent) []app.FeedEvent {
	type key struct {
		kind   app.FeedKind
		id     int64
		office app.OfficeKey
		uid    string
	}
	seen := make(map[key]int, len(batch))
	out := batch[:0]
	for _, c := range batch {
		k := key{c.Kind, c.CaseID + c.ReviewID, c.Office, c.UID}
		if i, ok := seen[k]; ok {
			out[i].Known = out[i].Known && c.Known
			out[i].After, out[i].RoutingOpen = c.After, out[i].RoutingOpen || c.RoutingOpen
			continue
		}
		seen[k] = len(out)
		out = append(out, c)
	}
	return out
}

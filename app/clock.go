package app

import (
	"context"
	"time"
)

type ctxTimeKey struct{}

// WithTime makes storage use t as "now" for the changes made with ctx: the
// window passes the time the clerk acted (a check-in is judged against
// the day rule at that moment, not when the write happens).
func WithTime(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, ctxTimeKey{}, t.UTC())
}

// TimeFrom returns the time set by WithTime.
func TimeFrom(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(ctxTimeKey{}).(time.Time)
	return t, ok && !t.IsZero()
}

package sync

import (
	"context"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/robfig/cron/v3"

	"amtstresen/app"
)

// ParseSchedule reads [sync] schedule (standard five-field cron, or
// descriptors like "@daily"), evaluated in Europe/Berlin.
func ParseSchedule(spec string) (cron.Schedule, error) {
	sch, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, &app.Error{Code: app.EINVALID, Err: err, Message: "Der Zeitplan „" + spec + "“ ist kein gültiger Cron-Ausdruck (z. B. \"0 2 * * *\" für jede Nacht um 2 Uhr)."}
	}
	return sch, nil
}

// PrevActivation returns the latest activation of sch at or before now,
// zero when there is none in the last five years.
func PrevActivation(sch cron.Schedule, now time.Time) time.Time {
	for back := time.Minute; back <= 5*366*24*time.Hour; back *= 2 {
		t := sch.Next(now.Add(-back))
		if t.IsZero() || t.After(now) {
			continue
		}
		for {
			n := sch.Next(t)
			if n.IsZero() || n.After(now) {
				return t
			}
			t = n
		}
	}
	return time.Time{}
}

// Missed reports whether the last run (lastRun, zero for never) is older
// than the schedule's previous activation: the PC was off or the program
// not running when it was due.
func Missed(sch cron.Schedule, lastRun, now time.Time) bool {
	prev := PrevActivation(sch, now.In(app.Berlin))
	return !prev.IsZero() && lastRun.Before(prev)
}

// RunScheduled runs the sync on the schedule until ctx ends. Runs never
// overlap (a run still going when the next is due is skipped), and a run
// missed while the PC was off is caught up at start.
func (s *Syncer) RunScheduled(ctx context.Context, spec string, onRun func(*Result, error)) error {
	if onRun == nil {
		onRun = func(*Result, error) {}
	}
	st, err := s.LastState(ctx)
	var last time.Time
	if err == nil && st != nil {
		last = st.LastRun
	}
	return RunJob(ctx, spec, last, s.Now(), s.log, func() {
		res, err := s.Sync(ctx, nil)
		onRun(res, err)
	})
}

// RunJob runs job on the cron schedule spec (Europe/Berlin) until ctx
// ends: the portal sync, and the nightly retention purge and backup. Runs
// never overlap (a run still going when the next is due is skipped), and
// when lastRun is older than the schedule's previous activation (the PC
// was off) the job is caught up at start.
func RunJob(ctx context.Context, spec string, lastRun, now time.Time, log *slog.Logger, job func()) error {
	sch, err := ParseSchedule(spec)
	if err != nil {
		return err
	}
	logger := cronLogger{log}
	// One wrapped job for the schedule and the catch-up, so that
	// SkipIfStillRunning sees both.
	wrapped := cron.NewChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)).Then(cron.FuncJob(func() {
		if ctx.Err() != nil {
			return
		}
		job()
	}))
	c := cron.New(cron.WithLocation(app.Berlin), cron.WithLogger(logger))
	c.Schedule(sch, wrapped)
	var catchUp gosync.WaitGroup
	c.Start()
	if Missed(sch, lastRun, now) {
		log.Info("catching up a missed run", "last_run", lastRun)
		catchUp.Add(1)
		go func() { defer catchUp.Done(); wrapped.Run() }()
	}
	<-ctx.Done()
	<-c.Stop().Done()
	catchUp.Wait()
	return nil
}

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

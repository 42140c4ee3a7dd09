package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/sync/internal/memstore"
	"amtstresen/sync/portaltest"
)

func TestPrevActivationAndMissed(t *testing.T) {
	sch, err := ParseSchedule("0 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, app.Berlin)
	prev := PrevActivation(sch, now)
	if want := time.Date(2026, 11, 28, 2, 0, 0, 0, app.Berlin); !prev.Equal(want) {
		t.Fatalf("prev = %v, want %v", prev, want)
	}
	for _, c := range []struct {
		last time.Time
		want bool
	}{
		{time.Time{}, true},
		{time.Date(2026, 11, 27, 2, 0, 5, 0, app.Berlin), true}, // PC was off last night
		{time.Date(2026, 11, 28, 2, 0, 3, 0, app.Berlin), false},
	} {
		if got := Missed(sch, c.last, now); got != c.want {
			t.Errorf("Missed(last=%v) = %v", c.last, got)
		}
	}
	if _, err := ParseSchedule("jede Nacht"); err == nil || !strings.Contains(app.ErrorMessage(err), "Cron") {
		t.Errorf("bad schedule: %v", err)
	}
	every, _ := ParseSchedule("*/5 * * * *")
	if p := PrevActivation(every, time.Date(2026, 1, 1, 10, 7, 0, 0, app.Berlin)); p.Minute() != 5 {
		t.Errorf("every 5: %v", p)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

func TestRunScheduledCatchesUp(t *testing.T) {
	srv := startMem(t, nil)
	appendAll(t, srv, portaltest.New(11).Antrag(portaltest.AntragSpec{}).Raw)
	st := memstore.New()
	s := newMemSyncer(t, srv, st, nil)
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan error, 10)
	done := make(chan error)
	// Nightly at 2:00 and never run before: the missed run happens at start.
	go func() { done <- s.RunScheduled(ctx, "0 2 * * *", func(r *Result, err error) { runs <- err }) }()
	select {
	case err := <-runs:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no catch-up run")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(st.Cases) != 1 {
		t.Errorf("%d cases", len(st.Cases))
	}
	// Now the last run is recent: no catch-up.
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- s.RunScheduled(ctx, "0 2 * * *", func(r *Result, err error) { runs <- err }) }()
	select {
	case <-runs:
		t.Error("caught up although not missed")
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	<-done
}

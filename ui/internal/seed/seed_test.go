package seed

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
)

// Every generated counter form is valid by the catalog's rules (except
// the few with deliberately unclear routing, which still validate).
func TestInputsValid(t *testing.T) {
	reg := app.Default()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, app.Berlin)
	g := New(reg, 1, now)
	for _, svc := range intakeServices {
		for i := 0; i < 50; i++ {
			in := g.Input(svc)
			if it := reg.Intake(in, now); !it.OK() || !it.Decision.Decided {
				t.Fatalf("%s: %v %+v (input %+v)", svc, it.Errors, it.Decision, in)
			}
		}
	}
}

// Fill, Appointments and ReviewItems go into the real SQLite store (what
// the screenshot and benchmark program seeds).
func TestFill(t *testing.T) {
	reg := app.Default()
	now := time.Now()
	ctx := context.Background()
	st, err := storage.Open(ctx, filepath.Join(t.TempDir(), "seed.db"), reg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := Fill(ctx, st, reg, 300, now, nil); err != nil {
		t.Fatal(err)
	}
	if err := Appointments(ctx, st, reg, now); err != nil {
		t.Fatal(err)
	}
	if err := ReviewItems(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	n, _ := st.CountCases(ctx, app.CaseFilter{})
	if n != 300 {
		t.Fatalf("count = %d", n)
	}
}

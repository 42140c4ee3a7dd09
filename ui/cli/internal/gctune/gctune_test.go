package gctune

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestRelaxGC: the collector is relaxed while syncs run and restored when
// the last one ends; an explicit GOGC is left alone.
func TestRelaxGC(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC set in the environment")
	}
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	r1 := Relax()
	r2 := Relax()
	if p := debug.SetGCPercent(-2); p != 200 {
		t.Errorf("during two syncs: GOGC %d", p)
	}
	debug.SetGCPercent(200)
	r1()
	if p := debug.SetGCPercent(200); p != 200 {
		t.Errorf("one sync still running: GOGC %d", p)
	}
	r2()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("after the syncs: GOGC %d, want 100", p)
	}
	t.Setenv("GOGC", "50")
	Relax()()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("with GOGC set: changed to %d", p)
	}
}

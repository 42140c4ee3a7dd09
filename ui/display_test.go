package ui

import (
	"runtime"
	"strings"
	"testing"

	"amtstresen/app"
)

func TestHaveDisplay(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("a desktop is always there")
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if err := haveDisplay(env(map[string]string{"DISPLAY": ":99"})); err != nil {
		t.Errorf("X11: %v", err)
	}
	if err := haveDisplay(env(map[string]string{"WAYLAND_DISPLAY": "wayland-0"})); err != nil {
		t.Errorf("Wayland: %v", err)
	}
	err := haveDisplay(env(nil))
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "Kein Bildschirm") || !strings.Contains(msg, "amtstresen help") {
		t.Errorf("no display: %q", msg)
	}
}

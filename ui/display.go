package ui

import (
	"os"
	"runtime"

	"amtstresen/app"
)

// haveDisplay says whether a window can open. On Linux and the BSDs the
// window needs an X11 or Wayland session; without one GLFW panics deep in
// Fyne, so the window is not even tried (an admin on an SSH session gets
// a German sentence instead of a stack trace). Windows and macOS always
// have their desktop.
func haveDisplay(getenv func(string) string) error {
	switch runtime.GOOS {
	case "windows", "darwin":
		return nil
	}
	if getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != "" {
		return nil
	}
	return app.Errorf(app.EINVALID, "Kein Bildschirm: das Fenster braucht eine grafische Sitzung (DISPLAY oder WAYLAND_DISPLAY ist nicht gesetzt). Ohne Bildschirm laufen die Befehle, z. B. „amtstresen sync --once“ oder „amtstresen cases“; alle Befehle: „amtstresen help“.")
}

// CheckDisplay says, in German, why no window can open here; nil when one can.
func CheckDisplay() error { return haveDisplay(os.Getenv) }

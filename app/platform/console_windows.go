//go:build windows

package platform

import (
	"os"
	"syscall"
)

// AttachConsole connects a GUI-subsystem executable (as fyne package builds
// it) to the console it was started from, so that headless commands such as
// `amtstresen version` or `amtstresen sync --once` print their output there.
// Started from the Task Scheduler or a shortcut there is no console and
// nothing changes.
func AttachConsole() {
	const attachParentProcess = ^uint32(0) // ATTACH_PARENT_PROCESS = (DWORD)-1
	k := syscall.NewLazyDLL("kernel32.dll")
	r, _, _ := k.NewProc("AttachConsole").Call(uintptr(attachParentProcess))
	if r == 0 {
		return
	}
	if f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
		os.Stdout, os.Stderr = f, f
	}
}

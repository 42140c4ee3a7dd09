//go:build !windows

package platform

// AttachConsole does nothing outside Windows: stdout is always connected.
func AttachConsole() {}

package app

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// VersionString is what `amtstresen version` and the About dialog show.
func VersionString(version, build string) string {
	return fmt.Sprintf("Amtstresen %s (Build %s, %s, %s/%s)", version, build, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// ParseFyneAppVersion reads Version and Build from FyneApp.toml. The build
// number gets the VCS revision appended when the Go toolchain recorded one.
func ParseFyneAppVersion(toml string) (version, build string) {
	version, build = "0.0.0", "0"
	for _, line := range strings.Split(toml, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.TrimSpace(k) {
		case "Version":
			version = v
		case "Build":
			build = v
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				build += "-" + s.Value[:7]
			}
		}
	}
	return version, build
}

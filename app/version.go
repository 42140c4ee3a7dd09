package app

import (
	"fmt"
	"runtime"
)

// VersionString is what `amtstresen version` and the About dialog show.
func VersionString(version, build string) string {
	return fmt.Sprintf("Amtstresen %s (Build %s, %s, %s/%s)", version, build, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Package assets holds the data embedded in the binary: municipalities,
// offices, the default service catalog, translations and icons.
package assets

import "embed"

// FS is the embedded asset tree.
//
//go:embed data
var FS embed.FS

// Read returns an embedded file below data/.
func Read(name string) ([]byte, error) { return FS.ReadFile("data/" + name) }

// Command amtstresen is the counter application of the Kreisverwaltung
// Cochem-Zell and its Verbandsgemeinden. Without a command it opens the
// window; the commands run headless (nightly jobs, scripts). All of it is
// in ui/cli; this file only embeds FyneApp.toml, which must stay here.
package main

import (
	_ "embed"
	"os"

	"amtstresen/ui/cli"
)

// FyneApp.toml holds name, ID, version and build number; `fyne package`
// reads it too.
//
//go:embed FyneApp.toml
var fyneAppTOML string

// revision is set by the Makefile through the linker (-X main.revision=…).
var revision string

func main() {
	cli.SetVersion(fyneAppTOML, revision)
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}

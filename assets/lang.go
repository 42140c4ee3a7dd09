package assets

import "embed"

// Lang holds the translations of the window texts: de.json and en.json
// for Amtstresen's own texts (German is the source language), and
// fyne.de.json / fyne.en.json for Fyne's widget texts (copied from Fyne's
// own translations), so that the chosen language wins over the system's.
//
//go:embed lang
var Lang embed.FS

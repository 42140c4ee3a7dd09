package ui

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// Fyne logs an error for every translation load when the system
	// locale is "C.UTF-8" (as on CI machines); a language keeps the test
	// output readable. TestLanguage checks other system languages.
	os.Setenv("LANGUAGE", "de")
	os.Exit(m.Run())
}

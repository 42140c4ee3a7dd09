package app

import (
	"os"
	"strings"
	"testing"
)

func TestParseFyneAppVersion(t *testing.T) {
	b, err := os.ReadFile("../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	v, build := ParseFyneAppVersion(string(b))
	if v == "0.0.0" || !strings.Contains(string(b), `Version = "`+v+`"`) {
		t.Errorf("version %q not read from FyneApp.toml", v)
	}
	if build == "0" || build == "" {
		t.Errorf("build %q not read", build)
	}
	if s := VersionString(v, build); !strings.HasPrefix(s, "Amtstresen "+v+" (Build "+build) {
		t.Errorf("VersionString = %q", s)
	}
}

package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/lang"

	"amtstresen/app"
	"amtstresen/assets"
)

// Every text the window shows through lang has a German and an English
// entry.
func TestTranslationsComplete(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	keys := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok || len(c.Args) == 0 {
				return true
			}
			sel, ok := c.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "lang" {
				return true
			}
			if lit, ok := c.Args[0].(*ast.BasicLit); ok {
				k, _ := strconv.Unquote(lit.Value)
				keys[k] = fset.Position(c.Pos()).String()
			}
			return true
		})
	}
	// Keys built at run time.
	for _, s := range app.AllStatuses {
		keys["status."+string(s)] = "statusLabel"
	}
	for _, f := range app.AllFlags {
		keys["flag."+string(f)] = "flagLabel"
	}
	for _, r := range []app.ReviewReason{app.ReviewSignatureMissing, app.ReviewSignatureInvalid, app.ReviewPayloadInvalid,
		app.ReviewCaseUnknown, app.ReviewNotPortal, app.ReviewTooLarge, app.ReviewMalformed, app.ReviewJournalInvalid} {
		keys["review."+string(r)] = "reviewReasonLabel"
	}
	for _, d := range weekdays {
		keys[d] = "weekdays"
	}
	for _, k := range sentencePatterns {
		keys[k] = "sentencePatterns"
	}
	for _, k := range sentenceWords {
		keys[k] = "sentenceWords"
	}
	if len(keys) < 200 {
		t.Fatalf("found only %d keys; is the parser looking at the right files?", len(keys))
	}
	for _, name := range []string{"de", "en"} {
		b, err := assets.Lang.ReadFile("lang/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s.json: %v", name, err)
		}
		for k, where := range keys {
			v, ok := m[k]
			if !ok {
				t.Errorf("%s.json lacks %q (%s)", name, k, where)
				continue
			}
			if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
				t.Errorf("%s.json: %q is empty", name, k)
			}
		}
	}
}

// German is the default even on an English system; English only when the
// clerk chose it, even on a German system. Fyne's own texts follow.
func TestLanguageChoiceWinsOverSystem(t *testing.T) {
	t.Cleanup(func() {
		os.Setenv("LANGUAGE", "de")
		_ = setupLanguage(LangGerman)
	})
	os.Setenv("LANGUAGE", "en-US")
	if err := setupLanguage(LangGerman); err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		lang.L("Arbeitsvorrat"):                                 "Arbeitsvorrat",
		lang.L("Cancel"):                                        "Abbrechen", // Fyne's dialog button
		statusLabel(app.StatusInProgress):                       "In Bearbeitung",
		lang.XN("queue.count", "", 1, map[string]any{"N": "1"}): "1 Vorgang",
		lang.XN("queue.count", "", 2, map[string]any{"N": "2"}): "2 Vorgänge",
	} {
		if got != want {
			t.Errorf("German on an English system: got %q, want %q", got, want)
		}
	}

	os.Setenv("LANGUAGE", "de-DE")
	if err := setupLanguage(LangEnglish); err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		lang.L("Arbeitsvorrat"):           "Work queue",
		lang.L("Cancel"):                  "Cancel",
		statusLabel(app.StatusInProgress): "In progress",
		lang.L("{{.Booked}} gebucht, {{.Cancelled}} abgesagt", map[string]any{"Booked": 3, "Cancelled": 1}): "3 booked, 1 cancelled",
	} {
		if got != want {
			t.Errorf("English on a German system: got %q, want %q", got, want)
		}
	}
}

package pdf

import (
	"bytes"
	"sync"
	"testing"
)

// TestFontCacheSameBytes: the parsed-font cache must be invisible in the
// output: the same letters with and without it are byte-identical.
func TestFontCacheSameBytes(t *testing.T) {
	items := []Item{CaseItem(dogCase()), AppointmentItem(appointment(), nil), CaseItem(applianceCase())}
	cached := render(t, items...)
	fontCacheEnabled = false
	parsed := render(t, items...)
	fontCacheEnabled = true
	if !bytes.Equal(cached, parsed) {
		t.Fatalf("cached fonts give %d bytes, parsed fonts %d bytes: not identical", len(cached), len(parsed))
	}
	f := newDoc()
	if !copyParsedFonts(f) {
		t.Fatal("the font cache fell back to parsing: gofpdf's internals are not what fontcache.go expects")
	}
}

// TestConcurrentRender: documents rendered at the same time share the
// cached fonts without interfering (run with -race).
func TestConcurrentRender(t *testing.T) {
	want := render(t, CaseItem(dogCase()))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := NewRenderer(testReg()).Bytes(Options{Now: fixedNow, Clerk: "Maria Müller"}, CaseItem(dogCase()))
			if err != nil {
				errs <- err.Error()
			} else if !bytes.Equal(b, want) {
				errs <- "concurrent rendering changed the output"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

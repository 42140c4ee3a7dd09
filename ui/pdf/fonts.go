package pdf

import (
	"bytes"
	"strings"
	"sync"
	"unicode"

	"fyne.io/fyne/v2/theme"
	"github.com/jung-kurt/gofpdf"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// The letters use Noto Sans, the font Fyne embeds in its theme (SIL Open
// Font License). Importing fyne.io/fyne/v2/theme needs neither cgo nor a
// display, so headless commands can render too, and the binary carries the
// font once.
//
// gofpdf parses a UTF-8 TrueType font for every document and subsets it
// again when writing. Both costs grow with the size of the font, so the
// full Noto Sans (about 3,700 glyphs) is cut once per process to the
// scripts a citizen's name or address can plausibly use (Latin with all
// extensions, Greek, Cyrillic, typographic punctuation). The cut fonts are
// kept and reused by every document.

const fontFamily = "noto"

// covered lists the rune ranges kept in the cut fonts.
var covered = []struct{ lo, hi rune }{
	{0x0020, 0x007E}, // ASCII
	{0x00A0, 0x024F}, // Latin-1, Latin Extended-A and -B (ä ö ü ß, ł ğ ş ț …)
	{0x0259, 0x0259}, // ə
	{0x02BB, 0x02BC}, // ʻ ʼ
	{0x02C6, 0x02DD}, // spacing accents
	{0x0370, 0x03FF}, // Greek
	{0x0400, 0x052F}, // Cyrillic and supplement
	{0x1E00, 0x1EFF}, // Latin Extended Additional (Vietnamese …)
	{0x2010, 0x2027}, // dashes, quotes „“ ‚‘, bullet, ellipsis
	{0x2030, 0x203A}, // ‰ ′ ″ ‹ ›
	{0x20AC, 0x20AC}, // €
	{0x2116, 0x2116}, // №
}

type fontSet struct {
	regular, bold []byte
	has           map[rune]bool
}

var (
	fontsOnce sync.Once
	fonts     fontSet
)

// loadFonts returns the cut fonts, cutting them on first use.
func loadFonts() *fontSet {
	fontsOnce.Do(func() {
		// Only runes the font has a glyph for: a rune without one would
		// print as an empty box (Noto Sans in Fyne has no arrows, for one).
		regular, _ := sfnt.Parse(theme.DefaultTextFont().Content())
		var buf sfnt.Buffer
		var b strings.Builder
		for _, r := range covered {
			for c := r.lo; c <= r.hi; c++ {
				if regular != nil {
					if i, err := regular.GlyphIndex(&buf, c); err != nil || i == 0 {
						continue
					}
				}
				b.WriteRune(c)
			}
		}
		cut := b.String()
		fonts.regular = gofpdf.UTF8CutFont(theme.DefaultTextFont().Content(), cut)
		fonts.bold = gofpdf.UTF8CutFont(theme.DefaultTextBoldFont().Content(), cut)
		fonts.has = make(map[rune]bool, len(cut))
		for _, c := range cut {
			fonts.has[c] = true
		}
	})
	return &fonts
}

// addFonts registers the fonts with a document: from the parsed cache
// when it works, else the documented way.
func addFonts(f *gofpdf.Fpdf) {
	if fontCacheEnabled && copyParsedFonts(f) {
		return
	}
	addFontsParsing(f)
}

// addFontsParsing lets gofpdf parse the (cut) fonts.
func addFontsParsing(f *gofpdf.Fpdf) {
	// Copies: gofpdf writes padding into the bytes it was given while it
	// subsets the font, and documents may be made concurrently.
	fs := loadFonts()
	f.AddUTF8FontFromBytes(fontFamily, "", bytes.Clone(fs.regular))
	f.AddUTF8FontFromBytes(fontFamily, "B", bytes.Clone(fs.bold))
}

// clean makes a single line safe to print: composed (a name typed on a
// Mac arrives as "u" + combining diaeresis), line breaks and tabs turned
// into spaces, control characters removed, and a rune the font does not
// have replaced by "?" rather than printed as an empty box (gofpdf would
// even panic on runes beyond the Basic Multilingual Plane).
func clean(s string) string { return cleanKeep(s, false) }

// cleanText is clean for text that wraps: line breaks are kept.
func cleanText(s string) string { return cleanKeep(s, true) }

// arrows are said in words: the font has no arrows ("Eingegangen →
// In Bearbeitung" in a status note).
var arrows = strings.NewReplacer("→", "nach", "←", "von", "⇒", "nach")

func cleanKeep(s string, keepNL bool) string {
	fs := loadFonts()
	s = arrows.Replace(norm.NFC.String(s))
	ok := true
	for _, c := range s {
		if !fs.has[c] && !(keepNL && c == '\n') {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case fs.has[c]:
			b.WriteRune(c)
		case c == '\n' && keepNL:
			b.WriteByte('\n')
		case unicode.IsSpace(c):
			b.WriteByte(' ')
		case unicode.IsControl(c) || unicode.Is(unicode.Mn, c) || unicode.Is(unicode.Cf, c):
			// drop
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

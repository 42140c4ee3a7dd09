package app

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNeutral(t *testing.T) {
	for _, c := range []struct {
		in, line, text string
	}{
		{"Anna Müller", "Anna Müller", "Anna Müller"},
		{"\u202egpj.exe", "<U+202E>gpj.exe", "<U+202E>gpj.exe"},
		{"Ali\u2066\u2067\u2068x\u2069", "Ali<U+2066><U+2067><U+2068>x<U+2069>", "Ali<U+2066><U+2067><U+2068>x<U+2069>"},
		{"\x1b[31mrot\x1b[0m", "␛[31mrot␛[0m", "␛[31mrot␛[0m"},
		{"a\x00b\x07c\x7f", "a␀b␇c␡", "a␀b␇c␡"},
		{"Zeile 1\r\nZeile 2\nZ3\rZ4\tx", "Zeile 1␍␊Zeile 2␊Z3␍Z4␉x", "Zeile 1\nZeile 2\nZ3␍Z4\tx"},
		{"\u009b31m", "<U+009B>31m", "<U+009B>31m"},
		{"a\u2028b", "a<U+2028>b", "a<U+2028>b"},
		{"weich\u00adtrennen\u200b\ufeff", "weich<U+00AD>trennen<U+200B><U+FEFF>", "weich<U+00AD>trennen<U+200B><U+FEFF>"},
		{"tag\U000E0041", "tag<U+E0041>", "tag<U+E0041>"},
		{"👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧"},
		{"kaputt\xff\xfe", "kaputt\uFFFD\uFFFD", "kaputt\uFFFD\uFFFD"},
		{"مرحبا", "مرحبا", "مرحبا"},
	} {
		if got := Safe(c.in); got != c.line {
			t.Errorf("Safe(%q) = %q, want %q", c.in, got, c.line)
		}
		if got := SafeText(c.in); got != c.text {
			t.Errorf("SafeText(%q) = %q, want %q", c.in, got, c.text)
		}
		// Nothing the function returns needs neutralising again, and
		// nothing in it can steer a terminal or the direction of text.
		for _, out := range []string{Safe(c.in), SafeText(c.in)} {
			if !utf8.ValidString(out) || Safe(out) != out && !strings.ContainsAny(out, "\n\t") {
				t.Errorf("%q is not neutral", out)
			}
			for _, r := range out {
				if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
					t.Errorf("%q keeps %U", out, r)
				}
			}
		}
	}
}

func TestSafeFileName(t *testing.T) {
	long := strings.Repeat("ä", 150) + ".jpg"
	for _, c := range []struct{ in, want string }{
		{"impfpass.jpg", "impfpass.jpg"},
		{"\u202egpj.exe", "gpj.exe"},
		{"../../etc/passwd", "passwd"},
		{`C:\Windows\system32\evil.dll`, "evil.dll"},
		{"a\x00b\x1b[2Jc.pdf", "ab[2Jc.pdf"},
		{`wer?was*wie<>|:"x.png`, "wer_was_wie_____x.png"},
		{" .versteckt. ", "versteckt"},
		{"...", "anlage"},
		{"", "anlage"},
		{"CON", "_CON"},
		{"nul.txt", "_nul.txt"},
		{"com3.tar.gz", "_com3.tar.gz"},
		{"console.txt", "console.txt"},
		{"kaputt\xff.pdf", "kaputt_.pdf"},
		{long, strings.Repeat("ä", 98) + ".jpg"},
	} {
		got := SafeFileName(c.in)
		if got != c.want {
			t.Errorf("SafeFileName(%q) = %q, want %q", c.in, got, c.want)
		}
		if len(got) > 200 || !utf8.ValidString(got) || strings.ContainsAny(got, `/\`) {
			t.Errorf("SafeFileName(%q) = %q is not safe", c.in, got)
		}
	}
}

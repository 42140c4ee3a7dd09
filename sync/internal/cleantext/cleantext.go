// Package cleantext makes text from outside (a mail's header, a mail
// server's answer) fit to keep and show as one line.
package cleantext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line drops control characters and invalid UTF-8 (tabs and line breaks
// become spaces) and caps the length at max bytes.
func Line(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		s = s[:max]
		s = strings.ToValidUTF8(s, "")
	}
	return s
}

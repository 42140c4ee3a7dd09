package app

import (
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text from outside (a citizen's form, a portal delivery, a mail header)
// is stored as it arrived and neutralised only where it is shown: on the
// screen, in a terminal table, in print. Neutral is that one place.
//
//   - invalid UTF-8 becomes U+FFFD;
//   - control characters (C0, DEL) become their visible Unicode pictures
//     (␀ ␇ ␛ ␍ ␊ …), so that an ANSI escape sequence, a bell or a line
//     break cannot act on a terminal or break a table row; C1 controls
//     (U+0080–U+009F, one of them is a terminal's CSI) become "<U+009B>";
//   - format characters that are invisible or change the direction of the
//     text around them (bidi overrides and isolates such as U+202E, zero
//     width space, soft hyphen, byte order mark, tag characters) and the
//     line and paragraph separators become "<U+202E>": "‮gpj.exe" is
//     shown as "<U+202E>gpj.exe", never as "exe.jpg". With every
//     direction control visible, a field cannot reorder its neighbours;
//     that is what isolating it means on a screen that draws no bidi.
//     Zero width (non-)joiners stay: scripts and emoji need them.
//
// multiline keeps line feeds (a CR LF pair counts as one) and tabs, for
// text shown in a box of several lines; a table cell passes false.
func Neutral(s string, multiline bool) string {
	if s == "" {
		return s
	}
	clean := true
	for _, r := range s {
		if needsEscape(r, multiline) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
			i++
			continue
		}
		if multiline && r == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++ // CR LF: the LF below stands for both
			continue
		}
		i += n
		switch {
		case !needsEscape(r, multiline):
			b.WriteRune(r)
		case r < 0x20:
			b.WriteRune(0x2400 + r) // ␀ … ␟
		case r == 0x7f:
			b.WriteRune('␡')
		default:
			fmt.Fprintf(&b, "<U+%04X>", r)
		}
	}
	return b.String()
}

// Safe is Neutral for one line (a table cell, a label, a title).
func Safe(s string) string { return Neutral(s, false) }

// SafeText is Neutral for text of several lines (a citizen's message).
func SafeText(s string) string { return Neutral(s, true) }

func needsEscape(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !multiline
	case r < 0x20 || r == 0x7f:
		return true
	case r < 0x80:
		return false
	case r <= 0x9f:
		return true
	case r == 0x200c || r == 0x200d:
		return false // zero width non-joiner and joiner
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// SafeFileName turns a sender's attachment name into one that is safe to
// show and to save under on Windows and Linux: the last element of a path
// only, without control and format characters (a bidi override is
// dropped, so "‮gpj.exe" becomes "gpj.exe" and shows what it is), with
// the characters Windows forbids replaced by "_", no leading or trailing
// dots and spaces, no reserved device name (CON, NUL, COM1 …), at most
// 200 bytes with the extension kept; "anlage" when nothing is left.
func SafeFileName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		switch {
		case needsEscape(r, false):
			return -1
		case strings.ContainsRune(`<>:"/\|?*`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	if name == "" {
		return "anlage"
	}
	stem, ext := name, path.Ext(name)
	if len(ext) > 20 || ext == name {
		ext = ""
	}
	stem = strings.TrimSuffix(name, ext)
	if reservedDevice(stem) {
		stem = "_" + stem
	}
	const max = 200
	if len(stem)+len(ext) > max {
		stem = stem[:max-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		stem = strings.TrimRight(stem, " .")
	}
	return stem + ext
}

// reservedDevice reports Windows device names, which cannot be files
// (with any extension): CON, PRN, AUX, NUL, COM1–9, LPT1–9.
func reservedDevice(stem string) bool {
	s := strings.ToUpper(strings.TrimRight(stem, " ."))
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(s) == 4 && (strings.HasPrefix(s, "COM") || strings.HasPrefix(s, "LPT")) && s[3] >= '1' && s[3] <= '9'
}

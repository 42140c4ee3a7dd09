package postgres

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"unicode/utf8"
)

// Issue 15: to_tsvector with the unaccent dictionary cost the server
// about 60 µs per case of the sync, in series behind its one writer. The
// words of a search text are split and lower-cased in Go already
// (SearchWords), so the vector is built here when the text holds only
// characters whose parsing and unaccent rule are known for sure: ASCII
// lower-case letters and digits and the lower-case letters of Latin-1
// and Latin Extended-A (German names, French and Polish accents, ß).
// Anything else, and a very long text, goes to the server's
// search_vector as before. Before the first use the program compares its
// vector of every such character with the server's (goVectors): a server
// with other unaccent rules, or another version of the parser, keeps
// building every vector itself.

// unaccentLatin is the server's unaccent.rules (PostgreSQL 15) for the
// lower-case letters from U+00DF to U+017F; every one of them has a rule.
var unaccentLatin = map[rune]string{
	'ß': "ss", 'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ç': "c", 'è': "e",
	'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ð': "d", 'ñ': "n", 'ò': "o",
	'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y",
	'þ': "th", 'ÿ': "y", 'ā': "a", 'ă': "a", 'ą': "a", 'ć': "c", 'ĉ': "c", 'ċ': "c", 'č': "c", 'ď': "d",
	'đ': "d", 'ē': "e", 'ĕ': "e", 'ė': "e", 'ę': "e", 'ě': "e", 'ĝ': "g", 'ğ': "g", 'ġ': "g", 'ģ': "g",
	'ĥ': "h", 'ħ': "h", 'ĩ': "i", 'ī': "i", 'ĭ': "i", 'į': "i", 'ı': "i", 'ĳ': "ij", 'ĵ': "j", 'ķ': "k",
	'ĸ': "q", 'ĺ': "l", 'ļ': "l", 'ľ': "l", 'ŀ': "l", 'ł': "l", 'ń': "n", 'ņ': "n", 'ň': "n", 'ŉ': "'n",
	'ŋ': "n", 'ō': "o", 'ŏ': "o", 'ő': "o", 'œ': "oe", 'ŕ': "r", 'ŗ': "r", 'ř': "r", 'ś': "s", 'ŝ': "s",
	'ş': "s", 'š': "s", 'ţ': "t", 'ť': "t", 'ŧ': "t", 'ũ': "u", 'ū': "u", 'ŭ': "u", 'ů': "u", 'ű': "u",
	'ų': "u", 'ŵ': "w", 'ŷ': "y", 'ź': "z", 'ż': "z", 'ž': "z", 'ſ': "s",
}

// Limits of to_tsvector (PostgreSQL's tsearch): a word of maxWordBytes
// bytes or more is left out (and takes no position), a position beyond
// maxPos counts as maxPos, a word keeps at most maxPositions positions.
const (
	maxWordBytes = 2047
	maxPos       = 16383
	maxPositions = 255
	// A longer text is left to the server (its vector may exceed the
	// size a tsvector can have; the server says so as before).
	maxGoVectorText = 64 << 10
)

// latinFold is unaccentLatin as a table from U+00DF (unaccent is then a
// look-up per letter, no map).
var latinFold = func() (t [0x180 - 0xDF]string) {
	for r, s := range unaccentLatin {
		t[r-0xDF] = s
	}
	return t
}()

// fold returns the unaccent rule of r, "" when there is none here.
func fold(r rune) string {
	if r < 0xDF || r >= 0x180 {
		return ""
	}
	return latinFold[r-0xDF]
}

// lexPos is a word of a text (after unaccent) and its position.
type lexPos struct {
	lex string
	pos int
}

// searchVectorText returns amtstresen.search_vector(text) in the text form
// of a tsvector (its input), and ok false when the text is not one that
// is built here for sure (see above): the server builds it then.
func searchVectorText(text string) (vec string, ok bool) {
	if len(text) > maxGoVectorText {
		return "", false
	}
	words := make([]lexPos, 0, 32)
	pos := 0
	for rest := text; rest != ""; {
		w := rest
		if i := strings.IndexByte(rest, ' '); i >= 0 {
			w, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if w == "" {
			continue
		}
		ascii, plain := plainWord(w)
		if !plain {
			return "", false
		}
		if len(w) >= maxWordBytes {
			continue
		}
		l := w
		if !ascii {
			var b strings.Builder
			b.Grow(len(w) + 4)
			for _, r := range w {
				if r < utf8.RuneSelf {
					b.WriteByte(byte(r))
				} else {
					b.WriteString(fold(r))
				}
			}
			l = b.String()
		}
		pos++
		words = append(words, lexPos{l, min(pos, maxPos)})
	}
	// By word, each word's positions in order (they were added so).
	slices.SortStableFunc(words, func(a, b lexPos) int { return strings.Compare(a.lex, b.lex) })
	out := make([]byte, 0, len(text)+4*len(words))
	for i := 0; i < len(words); {
		l := words[i].lex
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, '\'')
		for k := 0; k < len(l); k++ {
			if l[k] == '\'' {
				out = append(out, '\'')
			}
			out = append(out, l[k])
		}
		out = append(out, '\'')
		n, last := 0, 0
		for ; i < len(words) && words[i].lex == l; i++ {
			p := words[i].pos
			if n == maxPositions || p == last {
				continue
			}
			if n == 0 {
				out = append(out, ':')
			} else {
				out = append(out, ',')
			}
			out = strconv.AppendInt(out, int64(p), 10)
			n, last = n+1, p
		}
	}
	return string(out), true
}

// plainWord reports whether the server's parser takes w as one word and
// the unaccent rules of its letters are known (plain): lower-case ASCII
// letters, digits and the letters of unaccentLatin, and not a number in
// scientific notation followed by more ("1e5abc" is the number 1e5 and
// the word abc to the parser; "1e5" alone is one word). ascii: w is
// ASCII only (unaccent leaves it as it is).
func plainWord(w string) (ascii, plain bool) {
	digits := 0
	for digits < len(w) && w[digits] >= '0' && w[digits] <= '9' {
		digits++
	}
	if digits > 0 && digits+1 < len(w) && w[digits] == 'e' {
		exp := digits + 1
		for exp < len(w) && w[exp] >= '0' && w[exp] <= '9' {
			exp++
		}
		if exp > digits+1 && exp < len(w) {
			return false, false
		}
	}
	ascii = true
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= utf8.RuneSelf:
			ascii = false
		default:
			return false, false
		}
	}
	if !ascii {
		for _, r := range w {
			if r >= utf8.RuneSelf && fold(r) == "" {
				return false, false
			}
		}
	}
	return ascii, true
}

// vectorProbe holds every character searchVectorText builds a vector of,
// and the words the parser might split: the server's search_vector of it
// must equal the program's before the program builds any.
var vectorProbe = func() string {
	var b strings.Builder
	for r := 'a'; r <= 'z'; r++ {
		b.WriteRune(r)
		b.WriteByte(' ')
	}
	rs := make([]rune, 0, len(unaccentLatin))
	for r := range unaccentLatin {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
	for _, r := range rs {
		b.WriteRune(r)
		b.WriteString(" x")
		b.WriteRune(r)
		b.WriteString("1 ")
	}
	b.WriteString("0123456789 12a a12 1e5 0e0 12ä ä12 1ß zöller müller straße ĳssel")
	return b.String()
}()

// vectorCheck remembers whether the server's search_vector equals the
// program's on vectorProbe (shared by the views of a DB).
type vectorCheck struct {
	mu      gosync.Mutex
	checked bool
	same    bool
}

// goVectors reports whether the search vectors are built in the program
// (searchVectorText), asking the server once through q (the writer's
// transaction: no second connection). An error is no answer: the server
// builds the vectors until a later call can ask.
func (db *DB) goVectors(ctx context.Context, q querier) bool {
	c := db.vectors
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checked {
		return c.same
	}
	want, ok := searchVectorText(vectorProbe)
	var got string
	if err := q.QueryRow(ctx, `SELECT search_vector($1)::text`, vectorProbe).Scan(&got); err != nil {
		return false
	}
	c.checked, c.same = true, ok && got == want
	if !c.same && db.log != nil {
		db.log.Warn("search vectors are built by the server: its search_vector differs from the program's", "server", got, "program", want)
	}
	return c.same
}

package delivery

import (
	"bytes"
	"fmt"
	"strings"
)

// checkJSON measures a signed JSON part against the caps before anything
// decodes it: nesting, the number of values, the entries of each list or
// object, and the length of every name and text (longKey, a top-level
// field such as a message's "text", may be MaxText long). It reads the
// bytes once and allocates only its stack, so a hostile part (23 MB of
// nested empty objects, say) costs no more memory than its size; decoding
// afterwards is bounded by the caps. On a cap it returns a German detail
// naming the field (never its content) and false. Invalid JSON passes:
// the decoder reports it.
func checkJSON(b []byte, lim Limits, longKey string) (string, bool) {
	type frame struct {
		obj bool
		n   int
		key []byte
	}
	var stack []frame
	expectKey := false
	values := 0
	path := func() string {
		var p strings.Builder
		for i, f := range stack {
			if !f.obj {
				p.WriteString("[]")
				continue
			}
			if i > 0 {
				p.WriteByte('.')
			}
			p.Write(f.key[:min(len(f.key), 60)])
		}
		if p.Len() == 0 {
			return "oberste Ebene"
		}
		return p.String()
	}
	value := func() (string, bool) {
		values++
		if values > lim.MaxValues {
			return fmt.Sprintf("mehr als %d Werte (Grenze)", lim.MaxValues), false
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			top.n++
			if top.n > lim.MaxList {
				return fmt.Sprintf("%s hat mehr als %d Einträge (Grenze)", path(), lim.MaxList), false
			}
		}
		return "", true
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r', ':':
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1].obj
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			expectKey = false
		case '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			s := b[i+1 : min(j, len(b))]
			i = j
			if expectKey && len(stack) > 0 {
				expectKey = false
				stack[len(stack)-1].key = s
				if len(s) > lim.MaxField {
					return fmt.Sprintf("ein Feldname unter %s ist %d Bytes lang (Grenze %d)", path(), len(s), lim.MaxField), false
				}
				continue
			}
			if detail, ok := value(); !ok {
				return detail, false
			}
			max := lim.MaxField
			if len(stack) == 1 && stack[0].obj && string(stack[0].key) == longKey {
				max = lim.MaxText
			}
			if len(s) > max {
				return fmt.Sprintf("%s ist %d Bytes lang (Grenze %d)", path(), len(s), max), false
			}
		case '{', '[':
			if detail, ok := value(); !ok {
				return detail, false
			}
			if len(stack) >= lim.MaxJSONDepth {
				return fmt.Sprintf("mehr als %d Ebenen verschachtelt (Grenze)", lim.MaxJSONDepth), false
			}
			stack = append(stack, frame{obj: c == '{'})
			expectKey = c == '{'
		default: // a number, true, false, null
			if detail, ok := value(); !ok {
				return detail, false
			}
			for i+1 < len(b) && bytes.IndexByte([]byte(",]} \t\r\n"), b[i+1]) < 0 {
				i++
			}
		}
	}
	return "", true
}

// checkICSSize caps a signed calendar: at most 1,000 lines, none longer
// than MaxText once unfolded (a long value is folded into many short
// lines; the calendar parser handles the rest).
func checkICSSize(b []byte, lim Limits) (string, bool) {
	lines, cur := 0, 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			cur += len(line) - 1 // a folded continuation
		} else {
			lines, cur = lines+1, len(line)
		}
		if lines > 1000 {
			return "mehr als 1000 Zeilen (Grenze)", false
		}
		if cur > lim.MaxText {
			return fmt.Sprintf("eine Zeile ist länger als %d Bytes (Grenze)", lim.MaxText), false
		}
	}
	return "", true
}

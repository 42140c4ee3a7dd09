package ui

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"

	"fyne.io/fyne/v2/lang"

	"amtstresen/app"
)

// Limits for reading a kept mail: it may be hostile.
const (
	maxMIMEDepth = 5
	maxMIMEParts = 50
	maxTextBytes = 200 << 10
)

var headerDecoder = &mime.WordDecoder{}

func decodeHeader(s string) string {
	if d, err := headerDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// mailPreview renders a mail for reading: the main headers, the text parts
// (decoded), and a list of the other parts. Never executes or opens
// anything; a mail that cannot be parsed is shown as it is.
func mailPreview(raw []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return lang.L("Die Mail ist nicht lesbar aufgebaut; hier der Quelltext:") + "\n\n" + string(raw)
	}
	var b strings.Builder
	for _, h := range []struct{ key, label string }{
		{"From", lang.L("Von")}, {"To", lang.L("An")}, {"Date", lang.L("Datum")}, {"Subject", lang.L("Betreff")},
	} {
		v := msg.Header.Get(h.key)
		if v == "" {
			continue
		}
		if h.key == "Date" {
			if t, err := mail.ParseDate(v); err == nil {
				v = app.FormatDateTime(t)
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", h.label, decodeHeader(v))
	}
	b.WriteString("\n")
	var others []string
	walkParts(msg, func(mt string, params map[string]string, body io.Reader) bool {
		data, _ := io.ReadAll(io.LimitReader(body, maxTextBytes))
		if mt == "text/plain" {
			b.Write(data)
			b.WriteString("\n")
			return true
		}
		name := params["name"]
		if name == "" {
			name = mt
		}
		others = append(others, fmt.Sprintf("%s (%s, %s)", decodeHeader(name), mt, formatSize(int64(len(data)))))
		return true
	})
	if len(others) > 0 {
		b.WriteString("\n" + lang.L("Weitere Teile (nicht geöffnet):") + "\n")
		for _, o := range others {
			b.WriteString("• " + o + "\n")
		}
	}
	return b.String()
}

// walkParts calls leaf with every part of a mail that is not multipart,
// its body decoded, at most maxMIMEParts parts and maxMIMEDepth levels deep
// (a kept mail may be hostile); leaf returns false to stop. A part whose
// type cannot be read counts as text/plain.
func walkParts(msg *mail.Message, leaf func(mt string, params map[string]string, body io.Reader) bool) {
	parts, stop := 0, false
	var walk func(ctype, cte string, body io.Reader, depth int)
	walk = func(ctype, cte string, body io.Reader, depth int) {
		parts++
		if stop || parts > maxMIMEParts || depth > maxMIMEDepth {
			return
		}
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			mt = "text/plain"
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for !stop {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			}
			return
		}
		switch strings.ToLower(strings.TrimSpace(cte)) {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body) // ignores line breaks
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		}
		stop = !leaf(mt, params, body)
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
}

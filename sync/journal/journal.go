// Package journal is the message format of the shared journal: one small
// mail per change a counter makes, appended to the journal folder of the
// office's mailbox (default "Amtstresen/Journal").
//
// A journal message is multipart/mixed with a German plain-text line (what
// a person reading the folder with any mail client sees) and the entry as
// application/json ("eintrag.json", base64). The header
// "X-Amtstresen-Journal: 1" marks it; "X-Amtstresen-Signatur:
// hmac-sha256=<base64>" authenticates the exact JSON bytes with the
// office-shared secret. A message that carries the mark but fails the
// check is never applied (Decode returns an *Invalid error).
package journal

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"amtstresen/app"
)

// Header names.
const (
	HeaderMark      = "X-Amtstresen-Journal"
	HeaderSignature = "X-Amtstresen-Signatur"
	sigPrefix       = "hmac-sha256="
	// MinSecretLen is the shortest shared secret accepted.
	MinSecretLen = 16
	// MaxEntryBytes bounds the JSON of one entry.
	MaxEntryBytes = 1 << 20
)

// ErrNotJournal says the message is no journal entry (a portal delivery or
// any other mail in the folder).
var ErrNotJournal = errors.New("not a journal entry")

// Invalid is a message that claims to be a journal entry but cannot be
// applied: missing or wrong signature, unreadable JSON, unknown version.
type Invalid struct {
	Reason    string // German, for the review list
	MessageID string
	Subject   string
	From      string
}

func (e *Invalid) Error() string { return "journal entry invalid: " + e.Reason }

// NewID returns a random UUID (version 4) for an entry.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Sign returns the signature header value for the JSON bytes.
func Sign(secret, payload []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(payload)
	return sigPrefix + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func verify(secret, payload []byte, header string) bool {
	v, ok := strings.CutPrefix(strings.TrimSpace(header), sigPrefix)
	if !ok {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(payload)
	return hmac.Equal(got, m.Sum(nil))
}

// MessageID is the Message-ID of the entry's mail (without brackets).
func MessageID(e *app.JournalEntry) string { return e.ID + "@journal.amtstresen" }

// Encode builds the mail for an entry.
func Encode(e *app.JournalEntry, secret []byte) ([]byte, error) {
	if e.ID == "" {
		return nil, errors.New("encode journal entry: no id")
	}
	if e.V == 0 {
		e.V = app.JournalVersion
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode journal entry: %w", err)
	}
	line := e.Describe()
	subject := line
	if r := []rune(subject); len(r) > 120 {
		subject = string(r[:120]) + "…"
	}
	boundary := "amtstresen-" + strings.ReplaceAll(e.ID, "-", "")
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", "Amtstresen <journal@amtstresen.invalid>")
	h("To", "Amtstresen-Journal <journal@amtstresen.invalid>")
	h("Date", e.At.In(app.Berlin).Format(time.RFC1123Z))
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Message-ID", "<"+MessageID(e)+">")
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	h(HeaderMark, fmt.Sprint(app.JournalVersion))
	h(HeaderSignature, Sign(secret, payload))
	h("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	text := e.At.In(app.Berlin).Format("02.01.2006 15:04:05") + " " + line + "\r\n\r\n" +
		"Eintrag im gemeinsamen Journal von Amtstresen. Bitte nicht verschieben, ändern oder löschen.\r\n"
	writeBase64(&b, []byte(text))
	b.WriteString("--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/json; name=\"eintrag.json\"\r\nContent-Disposition: attachment; filename=\"eintrag.json\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	writeBase64(&b, payload)
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

func writeBase64(b *bytes.Buffer, data []byte) {
	s := base64.StdEncoding.EncodeToString(data)
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
}

// IsJournal reports whether a raw mail carries the journal mark (only the
// header is looked at).
func IsJournal(raw []byte) bool {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(raw)
	}
	hdr := raw[:end]
	i := bytes.Index(bytes.ToLower(hdr), []byte(strings.ToLower(HeaderMark)+":"))
	return i == 0 || (i > 0 && hdr[i-1] == '\n')
}

// Decode reads and authenticates a journal mail. ErrNotJournal for a mail
// without the mark; *Invalid for one that has it but cannot be trusted or
// read. It reads only what it needs (a rebuild decodes 100,000 of them):
// the header fields, the JSON part, its base64.
func Decode(raw []byte, secret []byte) (*app.JournalEntry, error) {
	if !IsJournal(raw) {
		return nil, ErrNotJournal
	}
	head, body := splitHeader(raw)
	h := headerFields(head)
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(h["subject"])
	inv := func(reason string) error {
		return &Invalid{Reason: reason, MessageID: strings.Trim(strings.TrimSpace(h["message-id"]), "<>"), Subject: subject, From: h["from"]}
	}
	if v := strings.TrimSpace(h[strings.ToLower(HeaderMark)]); v != fmt.Sprint(app.JournalVersion) {
		return nil, inv(fmt.Sprintf("Journalformat %q unbekannt (neuere Programmversion?)", v))
	}
	sig := h[strings.ToLower(HeaderSignature)]
	if sig == "" {
		return nil, inv("Signatur fehlt")
	}
	mt, params, err := mime.ParseMediaType(h["content-type"])
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, inv("kein multipart/mixed")
	}
	var payload []byte
	delim := []byte("--" + params["boundary"])
	parts := bytes.Split(body, delim)
	for i := 1; i < len(parts) && i <= 8; i++ {
		p := parts[i]
		if bytes.HasPrefix(p, []byte("--")) {
			break // closing delimiter
		}
		ph, pb := splitHeader(bytes.TrimLeft(p, "\r\n"))
		pf := headerFields(ph)
		if ct, _, _ := mime.ParseMediaType(pf["content-type"]); ct != "application/json" {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(pf["content-transfer-encoding"]), "base64") {
			clean := make([]byte, 0, len(pb))
			for _, c := range pb {
				if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
					clean = append(clean, c)
				}
			}
			payload = make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
			n, err := base64.StdEncoding.Decode(payload, clean)
			if err != nil {
				return nil, inv("Eintrag unlesbar")
			}
			payload = payload[:n]
		} else {
			payload = bytes.TrimSuffix(bytes.TrimSuffix(pb, []byte("\n")), []byte("\r"))
		}
		if len(payload) > MaxEntryBytes {
			return nil, inv("Eintrag zu groß")
		}
		break
	}
	if payload == nil {
		return nil, inv("Eintrag (eintrag.json) fehlt")
	}
	if !verify(secret, payload, sig) {
		return nil, inv("Signatur ungültig: nicht mit dem Schlüssel des Amts signiert oder verändert")
	}
	var e app.JournalEntry
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, inv("Eintrag kein gültiges JSON")
	}
	if e.V != app.JournalVersion || e.ID == "" || e.Op == "" {
		return nil, inv(fmt.Sprintf("Eintrag unvollständig oder Version %d unbekannt", e.V))
	}
	return &e, nil
}

// splitHeader splits a message (or body part) at the first empty line.
func splitHeader(b []byte) (head, body []byte) {
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return b[:i+2], b[i+4:]
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[:i+1], b[i+2:]
	}
	return b, nil
}

// headerFields returns the header's fields by lower-case name (unfolded;
// the first of repeated fields).
func headerFields(head []byte) map[string]string {
	out := make(map[string]string, 12)
	var name string
	for _, line := range strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && name != "" {
			out[name] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			name = ""
			continue
		}
		name = strings.ToLower(strings.TrimSpace(k))
		if _, seen := out[name]; seen {
			name = ""
			continue
		}
		out[name] = strings.TrimSpace(v)
	}
	return out
}

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
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
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
// read.
func Decode(raw []byte, secret []byte) (*app.JournalEntry, error) {
	if !IsJournal(raw) {
		return nil, ErrNotJournal
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, &Invalid{Reason: "Kopf unlesbar"}
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	inv := func(reason string) error {
		return &Invalid{Reason: reason, MessageID: strings.Trim(strings.TrimSpace(msg.Header.Get("Message-ID")), "<>"),
			Subject: subject, From: msg.Header.Get("From")}
	}
	if v := strings.TrimSpace(msg.Header.Get(HeaderMark)); v != fmt.Sprint(app.JournalVersion) {
		return nil, inv(fmt.Sprintf("Journalformat %q unbekannt (neuere Programmversion?)", v))
	}
	sig := msg.Header.Get(HeaderSignature)
	if sig == "" {
		return nil, inv("Signatur fehlt")
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, inv("kein multipart/mixed")
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var payload []byte
	for i := 0; i < 8; i++ {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if ct != "application/json" {
			continue
		}
		var r io.Reader = p
		if strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, p) // line breaks are ignored
		}
		payload, err = io.ReadAll(io.LimitReader(r, MaxEntryBytes+1))
		if err != nil || len(payload) > MaxEntryBytes {
			return nil, inv("Eintrag unlesbar")
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
